//! The shipped deployment files are usable: nginx accepts the example server
//! block (TLS lines swapped for a loopback port, since the test has no
//! certificate) and serves a generated site with it.

mod common;

use std::process::Command;

#[test]
fn the_example_nginx_config_parses_and_serves_the_site_with_basic_auth() {
    let s = common::Sandbox::new();
    s.scrape().expect(0);
    s.run(&["site"]).expect(0);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf")).unwrap();
    // user "me", password "secret" (htpasswd -b -s).
    std::fs::write(
        dir.path().join("htpasswd"),
        "me:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n",
    )
    .unwrap();
    let site = s.path().join("site");
    let server: String = example
        .lines()
        .filter(|l| {
            !l.contains("ssl_certificate")
                && !l.contains("[::]")
                && !l.trim_start().starts_with("return 301")
        })
        .map(|l| {
            l.replace(
                "listen 443 ssl http2;",
                &format!("listen 127.0.0.1:{port};"),
            )
            .replace("listen 80;", "listen 127.0.0.1:1;")
            .replace("/var/www/air-demand/site", site.to_str().unwrap())
            .replace(
                "/etc/nginx/air-demand.htpasswd",
                dir.path().join("htpasswd").to_str().unwrap(),
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Keep the map and the first server block (the port-80 redirect needs root's port).
    let first = server
        .split("\nserver {")
        .take(2)
        .collect::<Vec<_>>()
        .join("\nserver {");
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include /etc/nginx/mime.types;\n{first}\n}}\n",
        d = dir.path().display()
    );
    std::fs::write(dir.path().join("nginx.conf"), &conf).unwrap();
    let check = Command::new("nginx")
        .args(["-t", "-c"])
        .arg(dir.path().join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t:\n{}\n{conf}",
        String::from_utf8_lossy(&check.stderr)
    );

    let mut nginx = Command::new("nginx")
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .spawn()
        .unwrap();
    let get = |path: &str, auth: bool| -> String {
        use std::io::{Read, Write};
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let auth = if auth {
                    "Authorization: Basic bWU6c2VjcmV0\r\n"
                } else {
                    ""
                };
                write!(
                    stream,
                    "GET {path} HTTP/1.1\r\nHost: demand.example.com\r\nAccept-Encoding: gzip\r\nConnection: close\r\n{auth}\r\n"
                )
                .unwrap();
                let mut response = Vec::new();
                stream.read_to_end(&mut response).unwrap();
                return String::from_utf8_lossy(&response).into_owned();
            }
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let denied = get("/", false);
    let page = get("/", true);
    let health = get("/health.json", false);
    let csv = get("/roles.csv", true);
    let script = get("/assets/table.js", true);
    let _ = nginx.kill();
    let _ = nginx.wait();
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    assert!(
        page.starts_with("HTTP/1.1 200"),
        "{}",
        &page[..page.len().min(400)]
    );
    let head = |response: &str| response.split("\r\n\r\n").next().unwrap_or("").to_string();
    let page = head(&page);
    assert!(
        page.contains("Content-Type: text/html; charset=utf-8"),
        "{page}"
    );
    assert!(
        page.contains("Cache-Control: public, max-age=300, must-revalidate"),
        "{page}"
    );
    assert!(page.contains("Content-Encoding: gzip"), "{page}");
    assert!(page.contains("X-Robots-Tag: noindex"), "{page}");
    assert!(
        page.contains("Content-Security-Policy: default-src 'none'"),
        "{page}"
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        head(&health).contains("application/json")
            && head(&health).contains("Cache-Control: no-cache"),
        "{health}"
    );
    assert!(
        head(&csv).contains("Content-Type: text/csv"),
        "{}",
        head(&csv)
    );
    assert!(
        head(&script).contains("max-age=86400") && head(&script).contains("javascript"),
        "{}",
        head(&script)
    );
}
