//! The shipped deployment works as docs/operating.md says: `deploy/install.sh`
//! on this machine with a real system user, the site built as that user
//! under the units' umask and served by nginx running as `www-data`; both
//! nginx files pass `nginx -t` (the HTTP one before any certificate exists)
//! and serve what they promise; every unit passes `systemd-analyze verify`
//! and is exposed at most 2.0 by `systemd-analyze security --offline`.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Tool, require};

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file)
}

fn read_deploy(file: &str) -> String {
    std::fs::read_to_string(deploy(file)).unwrap_or_else(|e| panic!("reading deploy/{file}: {e}"))
}

/// Asserts that `output` is a success, showing what the command printed.
#[track_caller]
fn expect_success(what: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what}: {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// nginx started with the test's config, stopped on drop: SIGTERM, which
/// a master also passes on to its workers, then a wait.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill has no preconditions; the pid is our child's, not yet reaped.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// The main config around a site file: logs, pid and temp files in `dir`,
/// `head` for the main context (`user www-data;` or `master_process off;`).
fn main_config(dir: &Path, head: &str, site: &Path) -> String {
    format!(
        "{head}\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include /etc/nginx/mime.types;\n  include {site};\n}}\n",
        d = dir.display(),
        site = site.display()
    )
}

/// `nginx -t` on the main config at `path`.
fn nginx_t(dir: &Path, path: &Path) -> Output {
    Command::new(require(Tool::Nginx))
        .arg("-e")
        .arg(dir.join("error.log"))
        .args(["-t", "-c"])
        .arg(path)
        .output()
        .unwrap()
}

/// A free loopback port (another process may take it before nginx does:
/// `start_nginx` then tries again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts nginx with the main config `conf(port)` written in `dir`, where
/// `port` is free and must be one nginx listens on. "Address in use" means
/// another port (a few times); any other failure is the test's. Waits
/// (with a generous hang guard) until it answers.
fn start_nginx(dir: &Path, conf: impl Fn(u16) -> String) -> (Server, u16) {
    let nginx = require(Tool::Nginx);
    let path = dir.join("nginx.conf");
    let mut failures = Vec::new();
    for _attempt in 0..5 {
        let port = free_port();
        let text = conf(port);
        std::fs::write(&path, &text).unwrap();
        let check = nginx_t(dir, &path);
        assert!(
            check.status.success(),
            "nginx -t:\n{}\n{text}",
            String::from_utf8_lossy(&check.stderr)
        );
        let stderr = dir.join("stderr.log");
        let mut server = Server(
            Command::new(nginx)
                .arg("-e")
                .arg(dir.join("error.log"))
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
                return (server, port);
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

/// The request line and headers of a GET, as me:secret when `auth`.
fn request(path: &str, auth: bool) -> String {
    // user "me", password "secret".
    let auth = if auth {
        "Authorization: Basic bWU6c2VjcmV0\r\n"
    } else {
        ""
    };
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n{auth}\r\n"
    )
}

/// A plain HTTP GET on the loopback `port`: the whole response as text.
fn get(port: u16, path: &str, auth: bool) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connecting to nginx on port {port}: {e}"));
    stream.write_all(request(path, auth).as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The same over TLS, through `openssl s_client` (the certificate is ours).
fn get_tls(port: u16, path: &str, auth: bool) -> String {
    use std::io::Write;
    let mut client = Command::new(require(Tool::Openssl))
        .args(["s_client", "-quiet", "-servername", "localhost", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    stdin.write_all(request(path, auth).as_bytes()).unwrap();
    drop(stdin);
    let output = client.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn head(response: &str) -> String {
    response.split("\r\n\r\n").next().unwrap_or("").to_string()
}

/// Asserts the status line of `response`, showing its head otherwise.
#[track_caller]
fn expect_status(response: &str, status: u16, what: &str) {
    assert!(
        response.starts_with(&format!("HTTP/1.1 {status} ")),
        "{what}: expected {status}\n{}",
        head(response)
    );
}

/// The version of the nginx that runs the tests, as (major, minor, patch).
fn nginx_version() -> (u32, u32, u32) {
    let output = Command::new(require(Tool::Nginx))
        .arg("-v")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    let version = text
        .split("nginx/")
        .nth(1)
        .unwrap_or_else(|| panic!("nginx -v said {text:?}"));
    let mut parts = version
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// nginx-tls.conf for the nginx at hand: before 1.25.1 there is no `http2`
/// directive and HTTP/2 is a flag of `listen` (what install.sh writes).
fn tls_conf_for_this_nginx(text: &str) -> String {
    if nginx_version() >= (1, 25, 1) {
        return text.to_string();
    }
    text.lines()
        .filter(|l| l.trim() != "http2 on;")
        .map(|l| {
            if l.trim_start().starts_with("listen ") && l.ends_with(" ssl;") {
                l.replace(" ssl;", " ssl http2;")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A self-signed certificate for localhost in `dir`: (fullchain, privkey).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    let output = Command::new(require(Tool::Openssl))
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    expect_success("openssl req", &output);
    (cert, key)
}

/// The ports and paths of a shipped nginx file moved into the test's:
/// `listen 80` to `http`, `listen 443` to `https`, the IPv6 lines dropped
/// (the machine may have no IPv6), `replace` pairs applied.
fn localise(text: &str, http: u16, https: u16, replace: &[(&str, &str)]) -> String {
    let mut text: String = text
        .lines()
        .filter(|l| !(l.trim_start().starts_with("listen [::]")))
        .map(|l| {
            l.replace("listen 80;", &format!("listen 127.0.0.1:{http};"))
                .replace("listen 443 ", &format!("listen 127.0.0.1:{https} "))
        })
        .collect::<Vec<_>>()
        .join("\n");
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    text
}

#[test]
fn the_http_config_passes_nginx_t_as_shipped_before_any_certificate_exists() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = read_deploy("nginx.conf");
    assert!(!shipped.contains("ssl_certificate"), "{shipped}");
    let main = dir.path().join("main.conf");
    std::fs::write(&main, main_config(dir.path(), "", &deploy("nginx.conf"))).unwrap();
    expect_success("nginx -t on deploy/nginx.conf", &nginx_t(dir.path(), &main));
}

#[test]
fn the_tls_config_passes_nginx_t_once_its_certificate_exists() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(&dir.path().join("live/demand.example.com"));
    let shipped = read_deploy("nginx-tls.conf");
    for line in [
        "listen 443 ssl;",
        "http2 on;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "add_header Strict-Transport-Security",
    ] {
        assert!(shipped.contains(line), "nginx-tls.conf lacks {line}");
    }
    let site = dir.path().join("site.conf");
    std::fs::write(
        &site,
        tls_conf_for_this_nginx(&shipped).replace(
            "/etc/letsencrypt/live",
            dir.path().join("live").to_str().unwrap(),
        ),
    )
    .unwrap();
    assert!(
        std::fs::read_to_string(&site)
            .unwrap()
            .contains(cert.to_str().unwrap())
    );
    assert!(
        std::fs::read_to_string(&site)
            .unwrap()
            .contains(key.to_str().unwrap())
    );
    let main = dir.path().join("main.conf");
    std::fs::write(&main, main_config(dir.path(), "", &site)).unwrap();
    expect_success(
        "nginx -t on deploy/nginx-tls.conf",
        &nginx_t(dir.path(), &main),
    );
}

/// The part of an nginx file between the site markers, and its map.
fn site_part(text: &str) -> String {
    let start = text.find("map $uri").expect("the cache map");
    let map_end = start + text[start..].find("\n}\n").unwrap();
    let begin = text.find("# --- the site").expect("the site marker");
    let end = text
        .find("# --- end of the site ---")
        .expect("the end marker");
    let site = &text[begin..end];
    format!(
        "{}\n{}",
        &text[start..map_end],
        &site[site.find('\n').unwrap()..]
    )
}

#[test]
fn both_nginx_configs_serve_the_site_alike() {
    assert_eq!(
        site_part(&read_deploy("nginx.conf")),
        site_part(&read_deploy("nginx-tls.conf")),
        "the site's part of deploy/nginx.conf and deploy/nginx-tls.conf differ"
    );
}

/// A site built into a sandbox, and an htpasswd for me:secret, in `dir`.
fn site_and_password(dir: &Path) -> (common::Sandbox, PathBuf) {
    let s = common::Sandbox::new();
    s.scrape().expect(0);
    s.run(&["site"]).expect(0);
    // user "me", password "secret" (htpasswd -b -s).
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, "me:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
    (s, htpasswd)
}

#[test]
fn the_http_config_serves_the_site_with_basic_auth_and_no_dotfiles() {
    require(Tool::Nginx);
    let dir = tempfile::tempdir().unwrap();
    let (s, htpasswd) = site_and_password(dir.path());
    let acme = dir.path().join("acme");
    std::fs::create_dir_all(acme.join(".well-known/acme-challenge")).unwrap();
    std::fs::write(acme.join(".well-known/acme-challenge/token"), "proof").unwrap();
    let site_conf = dir.path().join("site.conf");
    let shipped = read_deploy("nginx.conf");
    let (nginx, port) = start_nginx(dir.path(), |port| {
        let text = localise(
            &shipped,
            port,
            0,
            &[
                (
                    "/var/www/air-demand/site",
                    s.path().join("site").to_str().unwrap(),
                ),
                ("/var/www/letsencrypt", acme.to_str().unwrap()),
                ("/etc/nginx/air-demand.htpasswd", htpasswd.to_str().unwrap()),
            ],
        );
        std::fs::write(&site_conf, text).unwrap();
        main_config(dir.path(), "master_process off;", &site_conf)
    });
    let denied = get(port, "/", false);
    let page = get(port, "/", true);
    let health = get(port, "/health.json", false);
    let csv = get(port, "/roles.csv", true);
    let script = get(port, "/assets/table.js", true);
    let marker = get(port, "/.air-demand-site", true);
    let marker_without_password = get(port, "/.air-demand-site", false);
    let challenge = get(port, "/.well-known/acme-challenge/token", false);
    drop(nginx);
    expect_status(&denied, 401, "/ without the password");
    expect_status(&page, 200, "/ with the password");
    let page = head(&page);
    assert!(
        page.contains("Content-Type: text/html; charset=utf-8"),
        "{page}"
    );
    assert!(
        page.contains("Cache-Control: private, max-age=300, must-revalidate"),
        "{page}"
    );
    assert!(page.contains("Content-Encoding: gzip"), "{page}");
    assert!(page.contains("X-Robots-Tag: noindex"), "{page}");
    assert!(
        page.contains("Content-Security-Policy: default-src 'none'"),
        "{page}"
    );
    expect_status(&health, 200, "/health.json without the password");
    let health = head(&health);
    assert!(
        health.contains("application/json") && health.contains("Cache-Control: no-cache"),
        "{health}"
    );
    assert!(
        head(&csv).contains("Content-Type: text/csv"),
        "{}",
        head(&csv)
    );
    assert!(
        head(&script).contains("Cache-Control: private, max-age=86400")
            && head(&script).contains("javascript"),
        "{}",
        head(&script)
    );
    assert!(
        s.path()
            .join("site")
            .join(air_demand::site::MARKER)
            .exists(),
        "the marker file is where the test asks for it"
    );
    expect_status(&marker, 404, "the marker file");
    expect_status(&marker_without_password, 404, "the marker file");
    expect_status(&challenge, 200, "an ACME challenge without the password");
    assert!(challenge.ends_with("proof"), "{challenge}");
}

#[test]
fn the_tls_config_serves_the_site_over_https_with_hsts_and_redirects_http() {
    require(Tool::Nginx);
    let dir = tempfile::tempdir().unwrap();
    let (s, htpasswd) = site_and_password(dir.path());
    let live = dir.path().join("live");
    self_signed(&live.join("demand.example.com"));
    let acme = dir.path().join("acme");
    std::fs::create_dir_all(acme.join(".well-known/acme-challenge")).unwrap();
    std::fs::write(acme.join(".well-known/acme-challenge/token"), "proof").unwrap();
    let site_conf = dir.path().join("site.conf");
    let shipped = tls_conf_for_this_nginx(&read_deploy("nginx-tls.conf"));
    let http = std::cell::Cell::new(0);
    let (nginx, https) = start_nginx(dir.path(), |https| {
        http.set(free_port());
        let text = localise(
            &shipped,
            http.get(),
            https,
            &[
                (
                    "/var/www/air-demand/site",
                    s.path().join("site").to_str().unwrap(),
                ),
                ("/var/www/letsencrypt", acme.to_str().unwrap()),
                ("/etc/nginx/air-demand.htpasswd", htpasswd.to_str().unwrap()),
                ("/etc/letsencrypt/live", live.to_str().unwrap()),
            ],
        );
        std::fs::write(&site_conf, text).unwrap();
        main_config(dir.path(), "master_process off;", &site_conf)
    });
    let page = get_tls(https, "/", true);
    let denied = get_tls(https, "/", false);
    let health = get_tls(https, "/health.json", false);
    let marker = get_tls(https, "/.air-demand-site", true);
    let redirect = get(http.get(), "/all.html?x=1", false);
    let challenge = get(http.get(), "/.well-known/acme-challenge/token", false);
    let alpn = Command::new(require(Tool::Openssl))
        .args(["s_client", "-alpn", "h2", "-connect"])
        .arg(format!("127.0.0.1:{https}"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    drop(nginx);
    expect_status(&page, 200, "/ over HTTPS with the password");
    let page = head(&page);
    assert!(
        page.contains("Strict-Transport-Security: max-age=31536000"),
        "{page}"
    );
    assert!(
        page.contains("Cache-Control: private, max-age=300, must-revalidate"),
        "{page}"
    );
    assert!(
        page.contains("Content-Security-Policy: default-src 'none'"),
        "{page}"
    );
    expect_status(&denied, 401, "/ over HTTPS without the password");
    assert!(
        head(&denied).contains("Strict-Transport-Security"),
        "{denied}"
    );
    expect_status(&health, 200, "/health.json over HTTPS without the password");
    assert!(
        head(&health).contains("Cache-Control: no-cache"),
        "{health}"
    );
    expect_status(&marker, 404, "the marker file over HTTPS");
    expect_status(&redirect, 301, "plain HTTP");
    assert!(
        head(&redirect).contains("Location: https://localhost/all.html?x=1"),
        "{redirect}"
    );
    expect_status(&challenge, 200, "an ACME challenge on port 80");
    let alpn = String::from_utf8_lossy(&alpn.stdout);
    assert!(
        alpn.contains("ALPN protocol: h2"),
        "HTTP/2 is not offered:\n{alpn}"
    );
}

/// Every shipped unit.
const SERVICES: [&str; 3] = [
    "air-demand.service",
    "air-demand-scrape.service",
    "air-demand-digest.service",
];
const TIMERS: [&str; 2] = ["air-demand-scrape.timer", "air-demand-digest.timer"];

/// `systemd-analyze verify` on the units in `dir`, together (a timer needs
/// its service).
fn verify_units(dir: &Path) {
    let output = Command::new(require(Tool::SystemdAnalyze))
        .args(["verify", "--man=no"])
        .args(SERVICES.iter().chain(&TIMERS).map(|u| dir.join(u)))
        .output()
        .unwrap();
    expect_success("systemd-analyze verify", &output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze verify warned:\n{stderr}"
    );
}

/// `systemd-analyze security --offline=true` of the unit at `path`: its
/// overall exposure, 0.0 to 10.0.
fn exposure(path: &Path) -> f64 {
    let output = Command::new(require(Tool::SystemdAnalyze))
        .args(["security", "--offline=true", "--no-pager"])
        .arg(path)
        .output()
        .unwrap();
    let stdout = expect_success("systemd-analyze security --offline=true", &output);
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall exposure in:\n{stdout}"));
    line.split(": ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable exposure line {line:?}"))
}

#[test]
fn every_unit_verifies_and_each_service_is_exposed_at_most_2_0() {
    let dir = tempfile::tempdir().unwrap();
    // verify wants ExecStart= to exist: the test's binary stands in.
    let binary = common::binary();
    for unit in SERVICES.iter().chain(&TIMERS) {
        let text = read_deploy(unit).replace("/usr/local/bin/air-demand", binary.to_str().unwrap());
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    verify_units(dir.path());
    let mut measured = Vec::new();
    for service in SERVICES {
        let level = exposure(&deploy(service));
        measured.push(format!("{service}: {level}"));
        assert!(level <= 2.0, "{service} is exposed {level} (> 2.0)");
        let text = read_deploy(service);
        for line in [
            "UMask=0027",
            "SystemCallFilter=@system-service",
            "SystemCallArchitectures=native",
            "RestrictNamespaces=yes",
            "ProtectProc=invisible",
            "CapabilityBoundingSet=\n",
        ] {
            assert!(text.contains(line), "{service} lacks {line}");
        }
        assert!(
            text.contains("Type=simple") || text.contains("TimeoutStartSec="),
            "the one-shot {service} has no TimeoutStartSec="
        );
    }
    eprintln!("exposure: {}", measured.join(", "));
}

/// "HH:MM" of each `M H * * *` cron line (hours may be a list).
fn cron_times(lines: &[&str]) -> Vec<String> {
    let mut times: Vec<String> = lines
        .iter()
        .flat_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                fields[2..],
                ["*", "*", "*"],
                "{line}: not a daily cron line"
            );
            let minute: u32 = fields[0].parse().unwrap();
            fields[1]
                .split(',')
                .map(move |h| format!("{:02}:{minute:02}", h.parse::<u32>().unwrap()))
        })
        .collect();
    times.sort();
    times
}

/// "HH:MM" of a timer's `OnCalendar=*-*-* H[,H]:MM:00 ZONE` line, and the zone.
fn calendar_times(line: &str) -> (Vec<String>, String) {
    let spec = line.strip_prefix("OnCalendar=*-*-* ").expect(line);
    let (time, zone) = spec
        .split_once(' ')
        .unwrap_or_else(|| panic!("{line}: no time zone"));
    let mut parts = time.split(':');
    let (hours, minute) = (parts.next().unwrap(), parts.next().unwrap());
    let mut times: Vec<String> = hours.split(',').map(|h| format!("{h}:{minute}")).collect();
    times.sort();
    (times, zone.to_string())
}

#[test]
fn the_timers_follow_the_default_schedule_in_its_time_zone() {
    let config: toml::Table = toml::from_str(air_demand::config::DEFAULT_CONFIG_TOML).unwrap();
    let schedule = config["schedule"].as_table().unwrap();
    let list = |key: &str| -> Vec<String> {
        schedule[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let zone = schedule["timezone"].as_str().unwrap();
    for (timer, key) in [
        ("air-demand-scrape.timer", "scrape"),
        ("air-demand-digest.timer", "digest"),
    ] {
        let text = read_deploy(timer);
        let calendars: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("OnCalendar="))
            .collect();
        for line in &calendars {
            assert_eq!(calendar_times(line).1, zone, "{timer}: {line}");
        }
        // The first line is the schedule; the digest's later ones are retries.
        let cron = list(key);
        let cron: Vec<&str> = cron.iter().map(String::as_str).collect();
        assert_eq!(
            calendar_times(calendars[0]).0,
            cron_times(&cron),
            "{timer} and [schedule] {key}"
        );
    }
}

#[test]
fn a_site_built_under_a_strict_umask_in_a_setgid_directory_is_readable_by_its_group() {
    use std::os::unix::process::CommandExt;
    let s = common::Sandbox::new();
    s.scrape().expect(0);
    let www = s.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::set_permissions(&www, std::fs::Permissions::from_mode(0o2750)).unwrap();
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &config.replace("dir = \"site\"", "dir = \"www/site\""),
    );
    for _build in 0..2 {
        let mut command = common::command_in(s.path(), &["site"]);
        // SAFETY: umask is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0o077);
                Ok(())
            })
        };
        let output = command.output().unwrap();
        expect_success("air-demand site under umask 077", &output);
    }
    let group = std::fs::metadata(&www).unwrap().gid();
    let mut seen = 0;
    let mut dirs = vec![www.join("site")];
    while let Some(dir) = dirs.pop() {
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!(meta.gid(), group, "{}", dir.display());
        assert_eq!(
            meta.mode() & 0o2050,
            0o2050,
            "{}: {:o}",
            dir.display(),
            meta.mode()
        );
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                dirs.push(path);
            } else {
                seen += 1;
                assert_eq!(meta.gid(), group, "{}", path.display());
                assert_eq!(
                    meta.mode() & 0o047,
                    0o040,
                    "{}: {:o}",
                    path.display(),
                    meta.mode()
                );
            }
        }
    }
    assert!(seen > 50, "only {seen} files");
}

/// The system user the install test creates, removed (with its group) on drop.
struct SystemUser(&'static str);

impl Drop for SystemUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(self.0).status();
        let _ = Command::new("groupdel")
            .arg(self.0)
            .stderr(Stdio::null())
            .status();
    }
}

/// deploy/install.sh into `root` as `user`, without systemctl or nginx reloads.
fn install(root: &Path, user: &str, args: &[&str]) -> String {
    let output = Command::new("bash")
        .arg(deploy("install.sh"))
        .args(args)
        .arg("--no-reload")
        .arg(common::binary())
        .env("AIR_DEMAND_ROOT", root)
        .env("AIR_DEMAND_USER", user)
        .env("AIR_DEMAND_WEB_PASSWORD", "secret")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    expect_success("deploy/install.sh", &output)
}

/// The installed binary run as `user` under the units' umask, as a shell
/// would run it for `sudo -u air-demand`, in the service's working directory.
fn run_as(user: &str, root: &Path, args: &[&str]) -> Output {
    let bin = root.join("usr/local/bin/air-demand");
    let config = root.join("etc/air-demand/air-demand.toml");
    Command::new("runuser")
        .args([
            "-u",
            user,
            "--",
            "sh",
            "-c",
            "umask 0027 && exec \"$0\" \"$@\"",
        ])
        .arg(bin)
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(root.join("var/lib/air-demand"))
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", root.join("var/lib/air-demand"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The real uids of the processes whose parent is `pid` (from /proc).
fn children_uids(pid: u32) -> Vec<u32> {
    let mut uids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| -> Option<u32> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        };
        if field("PPid:") == Some(pid) {
            uids.extend(field("Uid:"));
        }
    }
    uids
}

fn uid_of(user: &str) -> u32 {
    let output = Command::new("getent")
        .args(["passwd", user])
        .output()
        .unwrap();
    let line = expect_success("getent passwd", &output);
    line.split(':')
        .nth(2)
        .and_then(|u| u.trim().parse().ok())
        .expect(&line)
}

fn gid_of(group: &str) -> u32 {
    let output = Command::new("getent")
        .args(["group", group])
        .output()
        .unwrap();
    let line = expect_success("getent group", &output);
    line.split(':')
        .nth(2)
        .and_then(|g| g.trim().parse().ok())
        .expect(&line)
}

/// Follows docs/operating.md's install path on this machine, as root like
/// the fault matrix's tmpfs test (CI runs the tests as root; elsewhere this
/// test fails and says so): install.sh with a real system user, the site
/// built by that user under the units' umask, served by nginx whose workers
/// run as www-data; then the certificate step.
#[test]
fn the_install_path_serves_the_site_to_nginx_running_as_www_data() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the install test creates a system user and runs nginx as www-data: run the tests as root (`bash tests/run` does in CI)"
    );
    require(Tool::Nginx);
    let sim = air_demand::sim::Simulator::start_in_thread(common::sim_options()).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    // The service user and www-data walk down to their directories.
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let user = SystemUser("air-demand-test");

    let said = install(
        &root,
        user.0,
        &["--domain", "localhost", "--web-user", "me"],
    );
    assert!(said.contains("from deploy/nginx.conf"), "{said}");
    let etc = root.join("etc/air-demand");
    let config_path = etc.join("air-demand.toml");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().mode() & 0o7777;
    let owner = |path: &Path| std::fs::metadata(path).unwrap().uid();
    assert_eq!(mode(&etc.join("env")), 0o600);
    assert_ne!(
        owner(&etc.join("env")),
        0,
        "the env file belongs to the service user"
    );
    assert_eq!(mode(&config_path), 0o640);
    let www = root.join("var/www/air-demand");
    assert_eq!(mode(&www), 0o2750);
    let www_data = gid_of("www-data");
    assert_eq!(std::fs::metadata(&www).unwrap().gid(), www_data);

    // The operator's edits: the simulated marketplace, no politeness delay.
    let config = std::fs::read_to_string(&config_path).unwrap();
    if air_demand::config::DEFAULT_CONFIG_TOML.contains("env_file = ") {
        let line = format!("\nenv_file = \"{}\"", etc.join("env").display());
        assert!(config.contains(&line), "no {line:?} in\n{config}");
    }
    let edited = config
        .replace(
            "base_url = \"https://www.paraform.com\"",
            &format!("base_url = \"{}\"", sim.base_url()),
        )
        .replace("request_delay_ms = 2000", "request_delay_ms = 0");
    assert_ne!(edited, config, "the template's paraform lines moved");
    std::fs::write(&config_path, &edited).unwrap();
    // Again: nothing is lost, the config and its mode stay.
    let said = install(&root, user.0, &["--web-user", "me"]);
    assert!(said.contains("keeping"), "{said}");
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), edited);
    assert_eq!(mode(&etc.join("env")), 0o600);

    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
    let state = temp.path().join("state.json");
    std::fs::write(&state, sim.storage_state_json(expires)).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    expect_success(
        "session import as the service user",
        &run_as(
            user.0,
            &root,
            &["session", "import", state.to_str().unwrap()],
        ),
    );
    expect_success(
        "scrape as the service user",
        &run_as(user.0, &root, &["scrape"]),
    );
    expect_success(
        "site as the service user",
        &run_as(user.0, &root, &["site"]),
    );
    let site = www.join("site");
    let roles = site.join("roles");
    let role_page = std::fs::read_dir(&roles)
        .unwrap()
        .next()
        .expect("a role page")
        .unwrap()
        .file_name();
    for path in [
        &site,
        &roles,
        &site.join("index.html"),
        &roles.join(&role_page),
    ] {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(
            meta.gid(),
            www_data,
            "{} is not group www-data",
            path.display()
        );
        let (mask, wanted) = if meta.is_dir() {
            (0o2057, 0o2050)
        } else {
            (0o047, 0o040)
        };
        assert_eq!(
            meta.mode() & mask,
            wanted,
            "{}: {:o}",
            path.display(),
            meta.mode()
        );
    }

    // nginx as the package runs it: a root master, workers as www-data.
    let nginx_dir = temp.path().join("nginx");
    std::fs::create_dir(&nginx_dir).unwrap();
    let installed =
        std::fs::read_to_string(root.join("etc/nginx/sites-enabled/air-demand")).unwrap();
    let site_conf = nginx_dir.join("site.conf");
    let (nginx, port) = start_nginx(&nginx_dir, |port| {
        std::fs::write(&site_conf, localise(&installed, port, 0, &[])).unwrap();
        main_config(&nginx_dir, "user www-data;", &site_conf)
    });
    let page = get(port, "/", true);
    let role = get(
        port,
        &format!("/roles/{}", role_page.to_string_lossy()),
        true,
    );
    let denied = get(port, "/", false);
    let health = get(port, "/health.json", false);
    let marker = get(port, "/.air-demand-site", true);
    let workers = children_uids(nginx.0.id());
    drop(nginx);
    let www_data_uid = uid_of("www-data");
    assert!(
        !workers.is_empty() && workers.iter().all(|&uid| uid == www_data_uid),
        "nginx workers run as uids {workers:?}, not www-data ({www_data_uid})"
    );
    expect_status(&page, 200, "/ with the password");
    assert!(page.contains("Cache-Control: private"), "{}", head(&page));
    expect_status(&role, 200, "a role page with the password");
    expect_status(&denied, 401, "/ without the password");
    expect_status(&health, 200, "/health.json without the password");
    expect_status(&marker, 404, "the marker file");

    // The certificate step: certbot's files appear, install.sh again
    // switches the site to HTTPS, and nginx accepts it.
    self_signed(&root.join("etc/letsencrypt/live/localhost"));
    let said = install(&root, user.0, &[]);
    assert!(said.contains("from deploy/nginx-tls.conf"), "{said}");
    let installed =
        std::fs::read_to_string(root.join("etc/nginx/sites-enabled/air-demand")).unwrap();
    assert!(
        installed.contains(&format!(
            "ssl_certificate     {}/etc/letsencrypt/live/localhost/fullchain.pem;",
            root.display()
        )),
        "{installed}"
    );
    let tls_conf = nginx_dir.join("tls.conf");
    std::fs::write(
        &tls_conf,
        localise(&installed, free_port(), free_port(), &[]),
    )
    .unwrap();
    let main = nginx_dir.join("tls-main.conf");
    std::fs::write(&main, main_config(&nginx_dir, "user www-data;", &tls_conf)).unwrap();
    expect_success(
        "nginx -t on the installed HTTPS site",
        &nginx_t(&nginx_dir, &main),
    );

    // The installed units name the installed binary: verify them as they are.
    verify_units(&root.join("etc/systemd/system"));
    drop(user);
}
