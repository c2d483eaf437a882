//! The shipped deployment files are usable: nginx accepts the example server
//! block (TLS lines swapped for a loopback port, since the test has no
//! certificate) and serves a generated site with it.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Tool, require};

/// nginx started with the test's config, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts nginx with the config `conf(port)` written in `dir`, on a free
/// loopback port. nginx must be given its port, which another process may
/// take first: "address in use" means another port (a few times); any
/// other failure is the test's. Waits (with a generous hang guard) until
/// it answers.
fn start_nginx(dir: &Path, conf: impl Fn(u16) -> String) -> (Server, u16, String) {
    let nginx = require(Tool::Nginx);
    let path = dir.join("nginx.conf");
    let mut failures = Vec::new();
    for _attempt in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let text = conf(port);
        std::fs::write(&path, &text).unwrap();
        let check = Command::new(nginx)
            .args(["-t", "-c"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "nginx -t:\n{}\n{text}",
            String::from_utf8_lossy(&check.stderr)
        );
        let stderr = dir.join("stderr.log");
        let mut server = Server(
            Command::new(nginx)
                .arg("-c")
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {nginx}: {e}")),
        );
        let guard = Instant::now() + Duration::from_secs(120);
        let exited = loop {
            if let Ok(Some(status)) = server.0.try_wait() {
                break status;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && matches!(server.0.try_wait(), Ok(None))
            {
                return (server, port, text);
            }
            assert!(
                Instant::now() < guard,
                "nginx did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let log = std::fs::read_to_string(&stderr).unwrap_or_default()
            + &std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        assert!(
            log.contains("Address already in use"),
            "nginx exited with {exited}\n{log}\n{text}"
        );
        failures.push(log);
    }
    panic!("no free port for nginx\n{}", failures.join("\n"));
}

#[test]
fn the_example_nginx_config_parses_and_serves_the_site_with_basic_auth() {
    require(Tool::Nginx);
    let s = common::Sandbox::new();
    s.scrape().expect(0);
    s.run(&["site"]).expect(0);
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf")).unwrap();
    // user "me", password "secret" (htpasswd -b -s).
    std::fs::write(
        dir.path().join("htpasswd"),
        "me:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n",
    )
    .unwrap();
    let site = s.path().join("site");
    let conf = |port: u16| -> String {
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
        format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include /etc/nginx/mime.types;\n{first}\n}}\n",
            d = dir.path().display()
        )
    };
    let (nginx, port, _conf) = start_nginx(dir.path(), conf);
    let get = |path: &str, auth: bool| -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connecting to nginx on port {port}: {e}"));
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
        String::from_utf8_lossy(&response).into_owned()
    };
    let denied = get("/", false);
    let page = get("/", true);
    let health = get("/health.json", false);
    let csv = get("/roles.csv", true);
    let script = get("/assets/table.js", true);
    drop(nginx);
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
