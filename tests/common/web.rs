//! Real nginx and headless Chromium for the site tests: nginx serves a
//! directory on a loopback port from a config of our own, Chromium
//! prints the DOM after the page's scripts ran, and "probe" pages written
//! next to the site drive the real pages in a same-origin iframe (click,
//! type) and print what they saw as JSON. Every process runs under a
//! generous hang guard (minutes: a loaded machine is slow, not wrong) and is
//! killed on drop; failures print its output.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kuchikiki::NodeRef;
use kuchikiki::traits::TendrilSink;

use super::{Tool, require};

/// How long Chromium may take for one page before it is killed: a guard
/// against a hung browser, not a speed requirement.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

/// How long nginx may take to answer after it started, and a Python helper
/// to finish: hang guards too.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const PYTHON_TIMEOUT: Duration = Duration::from_secs(300);

/// What a bounded external process did.
pub struct Finished {
    pub command: String,
    /// `None` when it was killed for running too long.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn describe(&self) -> String {
        let status = match self.status {
            Some(status) => status.to_string(),
            None => "killed after the timeout".to_string(),
        };
        format!(
            "{}\nstatus: {status}\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.stdout,
            tail(&self.stderr, 4000)
        )
    }

    /// Asserts a zero exit, printing everything otherwise.
    pub fn expect_success(self) -> Finished {
        assert!(self.success(), "command failed\n{}", self.describe());
        self
    }
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Runs `command` in its own process group with stdout and stderr in files
/// (helpers that inherit pipes cannot block us), killing the whole group
/// when it exceeds `timeout` and once it has ended.
pub fn run_bounded(command: &mut Command, timeout: Duration) -> Finished {
    let described = format!("{command:?}");
    let logs = tempfile::tempdir().expect("temp dir for process output");
    let out_path = logs.path().join("stdout");
    let err_path = logs.path().join("stderr");
    command
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .process_group(0);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {described}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("waiting for a child") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => break None,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    kill_group(&child);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    Finished {
        command: described,
        status,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned(),
    }
}

/// SIGKILL to the process group led by `child` (started with `process_group(0)`).
fn kill_group(child: &Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals only that process group, ours.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// A free loopback port, released for the caller to bind. Only for nginx,
/// which must be given its port: anything that can bind port 0 itself does.
fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binding port 0");
    listener.local_addr().expect("local address").port()
}

/// A plain HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// nginx serving one directory on 127.0.0.1; stopped on drop.
pub struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Nginx {
    pub fn serve(root: &Path) -> Nginx {
        let nginx = require(Tool::Nginx);
        let root = root.canonicalize().expect("the served directory exists");
        let mut failures = Vec::new();
        // nginx must be given a port: the free one may be taken before it
        // binds it, so "address in use" means another port; any other
        // failure is the test's.
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir for nginx");
            let port = free_port();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, nginx_conf(dir.path(), &root, port)).expect("writing nginx.conf");
            let log = File::create(dir.path().join("stderr.log")).expect("nginx stderr file");
            let child = Command::new(nginx)
                .arg("-c")
                .arg(&conf)
                .arg("-p")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {nginx}: {e}"));
            let mut server = Nginx {
                child,
                port,
                dir,
                root: root.clone(),
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(failure) if failure.contains("Address already in use") => {
                    failures.push(failure)
                }
                Err(failure) => panic!("could not start nginx\n{failure}"),
            }
        }
        panic!("could not start nginx\n{}", failures.join("\n"));
    }

    /// Waits until nginx answers on its port, or has exited (the error
    /// names why, e.g. "Address already in use").
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("nginx exited with {status}\n{}", self.logs()));
            }
            // Connected while nginx still runs: it is the one listening
            // (had another process held the port, nginx would have exited).
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && matches!(self.child.try_wait(), Ok(None))
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "nginx did not answer on port {}\n{}",
                    self.port,
                    self.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The absolute URL of `path` (relative to the served root).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path.trim_start_matches('/'))
    }

    /// nginx's error and access logs and its output, for failure messages.
    pub fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- nginx stderr\n{}--- nginx error.log\n{}--- nginx access.log\n{}",
            read("stderr.log"),
            read("error.log"),
            tail(&read("access.log"), 3000)
        )
    }

    /// A GET over HTTP/1.0 with a plain socket.
    pub fn get(&self, path: &str) -> Response {
        let path = format!("/{}", path.trim_start_matches('/'));
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("connecting to nginx: {e}\n{}", self.logs()));
        stream
            .set_read_timeout(Some(START_TIMEOUT))
            .expect("read timeout");
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("sending a request");
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("reading the answer to GET {path}: {e}\n{}", self.logs()));
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!("no header end in the answer to GET {path}\n{}", self.logs())
            });
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line in {head:?}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Response {
            status,
            headers,
            body,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_conf(dir: &Path, root: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    types {{
        text/html html;
        text/css css;
        application/javascript js;
        application/json json;
        application/atom+xml atom;
        text/csv csv;
        text/plain txt;
        image/svg+xml svg;
    }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/css application/javascript application/json text/csv text/plain;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
    }}
}}
"#,
        root = root.display()
    )
}

/// The axe-core release the accessibility test runs in the pages (npm,
/// pinned). `tests/run` reads this line and installs exactly this version.
pub const AXE_CORE_VERSION: &str = "4.14.1";

/// `axe.min.js` where `tests/run` installs it: under the target directory
/// (`$CARGO_TARGET_DIR`, else `target/`), in `tools/axe-core`. Missing, or
/// another version, is a failure that says how to install it, never a skip.
pub fn axe_core() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let prefix = target.join("tools/axe-core");
    let package = prefix.join("node_modules/axe-core");
    let installed = std::fs::read_to_string(package.join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json["version"].as_str().map(String::from));
    let script = package.join("axe.min.js");
    assert!(
        installed.as_deref() == Some(AXE_CORE_VERSION) && script.is_file(),
        "axe-core {AXE_CORE_VERSION} is not installed in {} (found {installed:?}): run `bash tests/run`, which installs it, or `npm install --prefix {} --no-save axe-core@{AXE_CORE_VERSION}`",
        package.display(),
        prefix.display()
    );
    script
}

/// Headless Chromium, one fresh profile per page.
pub struct Chromium;

/// How Chromium loads a page for [`Chromium::dump_dom_with`].
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// `--window-size`: a probe's frames laid out within the window, so
    /// that nothing it checks lies outside what the browser draws.
    pub window: Option<(u32, u32)>,
    /// `--virtual-time-budget` in milliseconds: how much page time (timers,
    /// not the wall clock) passes before the DOM is printed.
    pub budget_ms: u32,
}

impl Default for Load {
    fn default() -> Load {
        Load {
            window: None,
            budget_ms: 5000,
        }
    }
}

impl Chromium {
    /// The DOM of `url` after its scripts ran, as Chromium serialises it.
    pub fn dump_dom(url: &str) -> String {
        Chromium::dump_dom_with(url, Load::default())
    }

    /// [`Chromium::dump_dom`] with the window and time budget of `load`.
    pub fn dump_dom_with(url: &str, load: Load) -> String {
        let profile = tempfile::tempdir().expect("temp dir for the Chromium profile");
        let finished = run_bounded(
            Command::new(require(Tool::Chromium))
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                ])
                .arg(format!("--virtual-time-budget={}", load.budget_ms))
                .args(
                    load.window
                        .map(|(width, height)| format!("--window-size={width},{height}")),
                )
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg("--dump-dom")
                .arg(url)
                .env("HOME", profile.path()),
            BROWSER_TIMEOUT,
        );
        assert!(
            finished.success() && finished.stdout.contains("<html"),
            "Chromium did not dump {url} (a timeout can mean a blocking alert() ran)\n{}",
            finished.describe()
        );
        finished.stdout
    }
}

/// Script prepended to instrumented copies: dialogs are recorded in the
/// probe page instead of blocking the headless browser.
const HOOK: &str = r#"<script id="__probe_hook">(function () { var seen = (parent && parent !== window && parent.__dialogs) || (window.__dialogs = []); ["alert", "confirm", "prompt", "print"].forEach(function (name) { window[name] = function (message) { seen.push(name + ": " + String(message)); }; }); })();</script>"#;

/// Writes `<dir>/__probe-<file>` beside `target` (relative to `root`): the
/// same bytes with [`HOOK`] as the first element of `<head>`, so relative
/// links resolve exactly as for the real page. Returns its relative path.
pub fn instrumented_copy(root: &Path, target: &str) -> String {
    let html = std::fs::read_to_string(root.join(target))
        .unwrap_or_else(|e| panic!("reading {target} to instrument it: {e}"));
    let at = html
        .find("<head>")
        .map(|i| i + "<head>".len())
        .unwrap_or_else(|| panic!("{target} has no <head>"));
    let copy = format!("{}{HOOK}{}", &html[..at], &html[at..]);
    let (dir, file) = match target.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file),
        None => (String::new(), target),
    };
    let name = format!("{dir}__probe-{file}");
    std::fs::write(root.join(&name), copy).expect("writing an instrumented copy");
    name
}

/// Writes a probe page `name` into `root`. For each target in turn it loads
/// an instrumented copy in a same-origin iframe, then runs `script`, the
/// body of `async function (doc, win, sleep, dialogs)` whose result is
/// collected; the JSON array of results ends up in `<pre id="result">`.
pub fn write_probe(root: &Path, name: &str, targets: &[&str], script: &str) {
    write_probe_sized(root, name, targets, script, (1200, 800));
}

/// [`write_probe`] with frames of `(width, height)` CSS pixels: the
/// viewport the targets are laid out in (their media queries see it).
pub fn write_probe_sized(
    root: &Path,
    name: &str,
    targets: &[&str],
    script: &str,
    (width, height): (u32, u32),
) {
    let copies: Vec<String> = targets.iter().map(|t| instrumented_copy(root, t)).collect();
    let page = format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>probe</title></head>
<body><pre id="result">pending</pre>
<script>
window.__dialogs = [];
(function () {{
  var targets = {targets};
  var results = [];
  var out = document.getElementById("result");
  function sleep(ms) {{ return new Promise(function (done) {{ setTimeout(done, ms); }}); }}
  var probe = async function (doc, win, sleep, dialogs) {{
{script}
  }};
  function load(src) {{
    return new Promise(function (done, fail) {{
      var frame = document.createElement("iframe");
      frame.style.width = "{width}px";
      frame.style.height = "{height}px";
      frame.style.border = "0";
      frame.onload = function () {{ done(frame); }};
      frame.onerror = fail;
      frame.src = src;
      document.body.appendChild(frame);
    }});
  }}
  (async function () {{
    for (var i = 0; i < targets.length; i++) {{
      var frame = await load(targets[i]);
      await sleep(100);
      var result = await probe(frame.contentDocument, frame.contentWindow, sleep, window.__dialogs);
      results.push({{ target: targets[i], dialogs: window.__dialogs.slice(), result: result }});
      window.__dialogs.length = 0;
      frame.remove();
    }}
    out.textContent = JSON.stringify(results);
    out.setAttribute("data-done", "yes");
  }})().catch(function (error) {{
    out.textContent = JSON.stringify({{ probe_error: String(error && error.stack || error) }});
    out.setAttribute("data-done", "error");
  }});
}})();
</script>
</body></html>
"#,
        targets = js_value(&serde_json::json!(copies)),
    );
    std::fs::write(root.join(name), page).expect("writing a probe page");
}

/// Loads the probe page `name` through `nginx` and returns its results,
/// one per target (`{target, dialogs, result}`).
pub fn run_probe(nginx: &Nginx, name: &str) -> Vec<serde_json::Value> {
    run_probe_with(nginx, name, Load::default())
}

/// [`run_probe`] with the window and time budget of `load`.
pub fn run_probe_with(nginx: &Nginx, name: &str, load: Load) -> Vec<serde_json::Value> {
    let dom = Chromium::dump_dom_with(&nginx.url(name), load);
    let doc = parse_html(&dom);
    let pre = doc
        .select_first("#result")
        .unwrap_or_else(|_| panic!("no #result in the probe's DOM\n{dom}"));
    let done = pre.attributes.borrow().get("data-done").map(String::from);
    let text = pre.text_contents();
    assert_eq!(
        done.as_deref(),
        Some("yes"),
        "probe {name} did not finish: {text}\n{}",
        nginx.logs()
    );
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("probe {name} printed bad JSON ({e}): {text}"))
}

/// A value as a JavaScript literal safe inside a `<script>` element.
pub fn js_value(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

pub fn parse_html(html: &str) -> NodeRef {
    kuchikiki::parse_html().one(html).document_node
}

/// One element of a parsed document: tag name and attributes in order.
pub struct Element {
    pub tag: String,
    pub attrs: Vec<(String, String)>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every element of a document, in document order (SVG and MathML included).
pub fn elements(doc: &NodeRef) -> Vec<Element> {
    doc.descendants()
        .filter_map(|node| {
            let element = node.as_element()?;
            let attrs = element
                .attributes
                .borrow()
                .map
                .iter()
                .map(|(name, attr)| (name.local.to_string(), attr.value.clone()))
                .collect();
            Some(Element {
                tag: element.name.local.to_string(),
                attrs,
            })
        })
        .collect()
}

/// Runs `/usr/bin/python3 -c CODE ARGS...` under a hang guard. A script
/// that imports a module beyond the standard library names it with
/// `require` first (e.g. `Tool::Feedparser`).
pub fn python(code: &str, args: &[&str]) -> Finished {
    run_bounded(
        Command::new(require(Tool::Python3))
            .arg("-c")
            .arg(code)
            .args(args),
        PYTHON_TIMEOUT,
    )
}
