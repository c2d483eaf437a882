// refinery embeds migrations at compile time but cannot tell cargo about new
// files on its own; without this a new `migrations/V*.sql` is silently ignored.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
