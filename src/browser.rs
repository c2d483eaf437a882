//! The machine's own Chromium or Chrome, driven over the DevTools protocol
//! (chromiumoxide): found (`find`), started with a fresh temporary profile
//! in a process group of its own (`Chromium::launch`), and killed, group and
//! all, on every way out (`Drop`). `session login` shows it to a person;
//! `[paraform] fetch = "browser"`/`"auto"` runs it headless
//! (`fetch::browser`). Nothing here does HTTP.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chromiumoxide::Browser;
use chromiumoxide::handler::HandlerConfig;
use futures_util::StreamExt;

/// Names the browser to start (spelled here too, so that this module needs
/// nothing of `fetch`; a test keeps the two equal).
const BROWSER_ENV: &str = "AIR_DEMAND_BROWSER";
/// Looked up on `PATH`, in this order, when neither names one.
pub const CANDIDATES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];
/// How long a starting browser may take to open its DevTools port.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a browser could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "no Chromium or Chrome found ({looked}): install one (`sudo apt-get install chromium`), or name it with --browser PATH or {BROWSER_ENV}"
    )]
    NotFound { looked: String },
    /// It would not start, or not far enough to be driven.
    #[error("{0}")]
    Start(String),
    /// It was running and is not any more, or stopped answering.
    #[error("the browser stopped ({0})")]
    Gone(String),
}

/// The browser to start: `explicit` (`--browser`), else `env_value`
/// (`AIR_DEMAND_BROWSER`), else the first of [`CANDIDATES`] on `path_var`.
/// A name without a slash is looked up on `path_var` too.
pub fn find(
    explicit: Option<&Path>,
    env_value: Option<String>,
    path_var: Option<OsString>,
) -> Result<PathBuf, BrowserError> {
    let named = explicit.map(Path::to_path_buf).or_else(|| {
        env_value
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
    });
    if let Some(named) = named {
        let found = if named.components().count() > 1 {
            Some(named.clone()).filter(|p| is_executable(p))
        } else {
            on_path(&named, path_var.as_ref())
        };
        return found.ok_or_else(|| BrowserError::NotFound {
            looked: format!("{} is not an executable file", named.display()),
        });
    }
    CANDIDATES
        .iter()
        .find_map(|name| on_path(Path::new(name), path_var.as_ref()))
        .ok_or_else(|| BrowserError::NotFound {
            looked: format!("looked for {} on PATH", CANDIDATES.join(", ")),
        })
}

fn on_path(name: &Path, path_var: Option<&OsString>) -> Option<PathBuf> {
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A visible window for a person, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Visible,
    Headless,
}

/// A running browser with its own temporary profile. Dropping it kills the
/// browser's whole process group and removes the profile, whatever path
/// the caller leaves by; the browser also dies with this process
/// (`PR_SET_PDEATHSIG`), should this process be killed outright.
pub struct Chromium {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    child: Child,
    /// Holds the profile and the browser's stderr log; removed on drop.
    home: Option<tempfile::TempDir>,
}

impl Chromium {
    /// Starts `executable` on `about:blank` and connects to it.
    /// `request_timeout` bounds every DevTools command (a page's `fetch()`
    /// included).
    pub async fn launch(
        executable: &Path,
        window: Window,
        request_timeout: Duration,
    ) -> Result<Chromium, BrowserError> {
        if window == Window::Visible && !has_display() {
            return Err(BrowserError::Start(
                "there is no display here for a browser window (no DISPLAY or WAYLAND_DISPLAY): sign in on a computer with a desktop and copy the session over with `air-demand session export --base64`, or pass --headless for a scripted login".into(),
            ));
        }
        let home = tempfile::Builder::new()
            .prefix("air-demand-browser-")
            .tempdir()
            .map_err(|err| {
                BrowserError::Start(format!("cannot create a temporary browser profile: {err}"))
            })?;
        let profile = home.path().join("profile");
        let log_path = home.path().join("stderr.log");
        let log = std::fs::File::create(&log_path).map_err(|err| {
            BrowserError::Start(format!("cannot create a temporary browser profile: {err}"))
        })?;
        let mut command = Command::new(executable);
        command
            .args(arguments(&profile, window))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        die_with_this_process(&mut command);
        let child = command.spawn().map_err(|err| {
            BrowserError::Start(format!("cannot start {}: {err}", executable.display()))
        })?;
        // From here on, `Starting` kills the group if anything fails.
        let mut starting = Starting {
            child: Some(child),
            home: Some(home),
        };
        let ws_url = starting
            .devtools_url(&profile, &log_path, executable)
            .await?;
        let config = HandlerConfig {
            request_timeout,
            ..HandlerConfig::default()
        };
        let (browser, mut handler) =
            Browser::connect_with_config(ws_url, config)
                .await
                .map_err(|err| {
                    BrowserError::Start(format!(
                        "cannot connect to {}'s DevTools port: {err}",
                        executable.display()
                    ))
                })?;
        let handler = tokio::spawn(async move {
            // The handler drives the connection; it ends with the browser.
            while let Some(event) = handler.next().await {
                if event.is_err() {
                    break;
                }
            }
        });
        let (child, home) = starting.into_parts();
        Ok(Chromium {
            browser,
            handler,
            child,
            home: Some(home),
        })
    }

    /// Closes the browser politely, then makes sure of it.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.close()).await;
        // Dropping kills whatever is left of the group.
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.handler.abort();
        kill_group(&mut self.child);
        if let Some(home) = self.home.take() {
            remove_profile(home);
        }
    }
}

/// A browser between spawn and connection: killed if it never gets there.
struct Starting {
    child: Option<Child>,
    home: Option<tempfile::TempDir>,
}

impl Starting {
    /// Waits for the browser to write `DevToolsActivePort` into its profile
    /// (it does once its port is open) and returns the browser's websocket.
    async fn devtools_url(
        &mut self,
        profile: &Path,
        log_path: &Path,
        executable: &Path,
    ) -> Result<String, BrowserError> {
        let port_file = profile.join("DevToolsActivePort");
        let started = std::time::Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next())
                    && let Ok(port) = port.trim().parse::<u16>()
                {
                    return Ok(format!("ws://127.0.0.1:{port}{}", path.trim()));
                }
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(BrowserError::Start(format!(
                    "{} stopped as it started ({status}){}",
                    executable.display(),
                    last_line(log_path)
                        .map(|line| format!(": {line}"))
                        .unwrap_or_default()
                )));
            }
            if started.elapsed() > LAUNCH_TIMEOUT {
                return Err(BrowserError::Start(format!(
                    "{} did not open its DevTools port within {} s",
                    executable.display(),
                    LAUNCH_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn into_parts(mut self) -> (Child, tempfile::TempDir) {
        match (self.child.take(), self.home.take()) {
            (Some(child), Some(home)) => (child, home),
            // Both are set from construction until here.
            _ => unreachable!("a starting browser has its process and profile"),
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            kill_group(child);
        }
        if let Some(home) = self.home.take() {
            remove_profile(home);
        }
    }
}

/// The browser's command line: a fresh profile, a DevTools port of the
/// system's choosing, and nothing that calls home (this machine, like many
/// servers, has no way out, and would stall on each attempt).
fn arguments(profile: &Path, window: Window) -> Vec<String> {
    let mut args: Vec<String> = [
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-quic",
        "--disable-breakpad",
        "--password-store=basic",
        "--use-mock-keychain",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    if window == Window::Headless {
        args.extend(
            ["--headless=new", "--disable-gpu", "--mute-audio"]
                .iter()
                .map(|a| a.to_string()),
        );
    }
    // Chromium refuses to run as root with its sandbox on.
    if is_root() {
        args.push("--no-sandbox".into());
    }
    args.push("about:blank".into());
    args
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// A process group of its own, so that the browser and every helper process
/// it starts are killed together; and death with this process.
fn die_with_this_process(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only prctl, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Kills the child's process group and reaps the child.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill has no memory preconditions; the group is the child's
        // own (process_group(0)), so nothing else is signalled.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Removes the temporary profile. Helper processes of the browser may
/// still be letting go of files in it for a moment after the kill.
fn remove_profile(home: tempfile::TempDir) {
    let path = home.path().to_path_buf();
    for _ in 0..50 {
        if std::fs::remove_dir_all(&path).is_ok() || !path.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Whatever is left, TempDir tries once more.
    drop(home);
}

/// The last non-empty line the browser wrote to stderr, bounded.
fn last_line(log_path: &Path) -> Option<String> {
    let text = std::fs::read(log_path).ok()?;
    let tail = &text[text.len().saturating_sub(4096)..];
    String::from_utf8_lossy(tail)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| crate::text::cut(&crate::text::one_line(line), 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_variable_has_one_name() {
        assert_eq!(BROWSER_ENV, crate::fetch::BROWSER_ENV);
    }

    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn find_prefers_the_flag_then_the_variable_then_path_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path_var = Some(OsString::from(dir.path()));
        let chrome = executable(dir.path(), "google-chrome");
        assert_eq!(find(None, None, path_var.clone()).unwrap(), chrome);
        let chromium = executable(dir.path(), "chromium");
        assert_eq!(find(None, None, path_var.clone()).unwrap(), chromium);
        assert_eq!(
            find(None, Some("google-chrome".into()), path_var.clone()).unwrap(),
            chrome
        );
        let own = executable(dir.path(), "my-browser");
        assert_eq!(
            find(Some(&own), Some("google-chrome".into()), path_var.clone()).unwrap(),
            own
        );
    }

    #[test]
    fn find_says_what_it_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let err = find(None, None, Some(OsString::from(dir.path())))
            .unwrap_err()
            .to_string();
        assert!(err.contains("chromium, chromium-browser"), "{err}");
        assert!(err.contains("apt-get install chromium"), "{err}");
        let missing = dir.path().join("nope");
        let err = find(Some(&missing), None, None).unwrap_err().to_string();
        assert!(err.contains("nope is not an executable file"), "{err}");
        std::fs::write(&missing, "not executable").unwrap();
        assert!(find(Some(&missing), None, None).is_err());
    }
}
