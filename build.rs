use std::path::{Path, PathBuf};

// refinery embeds migrations at compile time but cannot tell cargo about new
// files on its own; without this a new `migrations/V*.sql` is silently ignored.
//
// `AIR_DEMAND_BUILD_ID` names what this program was built from: a hash of
// its sources, templates, migrations and locked dependencies. The site keeps
// pages and views from build to build only under the same id, so a rebuilt
// program renders everything again, and a copy of the same one (installed
// elsewhere, or run by the bench) does not.
fn main() {
    const INPUTS: [&str; 6] = [
        "src",
        "templates",
        "migrations",
        "askama.toml",
        "Cargo.toml",
        "Cargo.lock",
    ];
    let mut files = Vec::new();
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
        collect(Path::new(input), &mut files);
    }
    files.sort();
    // FNV-1a, 64 bits: a name for the inputs, not a security boundary.
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        }
    };
    for file in &files {
        eat(file.to_string_lossy().as_bytes());
        eat(&std::fs::read(file).unwrap_or_default());
    }
    let features: Vec<String> = std::env::vars()
        .filter(|(name, _)| name.starts_with("CARGO_FEATURE_"))
        .map(|(name, _)| name)
        .collect();
    eat(features.join(",").as_bytes());
    println!("cargo:rustc-env=AIR_DEMAND_BUILD_ID={hash:016x}");
}

/// Every file under `path` (or `path` itself).
fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            for entry in entries.flatten() {
                collect(&entry.path(), out);
            }
        }
        Err(_) if path.is_file() => out.push(path.to_path_buf()),
        Err(_) => {}
    }
}
