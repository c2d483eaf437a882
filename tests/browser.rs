//! The browser paths through the binary, with the Chromium the site tests
//! already drive: `session login` against the simulator's login page, and
//! `[paraform] fetch` in the simulator's "browser required" mode (API calls
//! without the clearance cookie its home page's script sets get a 403
//! challenge page).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use air_demand::sim::{CHALLENGED, Fault, LIST_PROCEDURE, SimOptions, Target};
use common::{Run, Sandbox, Tool, command_in, require, run_in, sim_options};

const SESSION_FILE: &str = "data/paraform_session.json";

/// The sandbox's own temporary directory, where the binary makes its
/// browser profiles (TMPDIR), so a test can see that none is left.
fn tmp(s: &Sandbox) -> PathBuf {
    let dir = s.path().join("tmp");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with TMPDIR in the sandbox.
fn run(s: &Sandbox, args: &[&str]) -> Run {
    let tmp = tmp(s);
    run_in(s.path(), args, &[("TMPDIR", tmp.to_str().unwrap())])
}

fn leftover_profiles(s: &Sandbox) -> Vec<String> {
    std::fs::read_dir(tmp(s))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("air-demand-browser-"))
        .collect()
}

/// Browser processes started for this sandbox (their profile is under its
/// TMPDIR), as (pid, command line). A killed process whose parent has not
/// reaped it yet has an empty command line and is not listed.
fn browsers_of(s: &Sandbox) -> Vec<(i32, String)> {
    let marker = tmp(s).display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&marker) && cmdline.contains("air-demand-browser-") {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Waits until `done` holds, checking every 50 ms; fails the test after
/// `limit`, a bound for a hung test, not a timing assumption.
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "still waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the sandbox's browser (its main process, as a crash or a person
/// closing it would end it); returns the processes there were.
fn kill_the_browser(s: &Sandbox) -> Vec<(i32, String)> {
    let browsers = browsers_of(s);
    let main = browsers
        .iter()
        .find(|(_, cmdline)| cmdline.contains("--remote-debugging-port"))
        .unwrap_or_else(|| panic!("no browser process among {browsers:?}"));
    // SAFETY: a signal to a process this test found by its command line.
    unsafe {
        libc::kill(main.0, libc::SIGKILL);
    }
    browsers
}

/// The `active` roles are all still active, and none is gone.
fn assert_nobody_gone(s: &Sandbox, active: i64) {
    assert_eq!(
        s.count("select count(*) from roles where status = 'active'"),
        active
    );
    assert_eq!(
        s.count("select count(*) from roles where status = 'gone'"),
        0
    );
}

fn chromium() -> &'static str {
    require(Tool::Chromium)
}

fn session_file(s: &Sandbox) -> PathBuf {
    s.path().join(SESSION_FILE)
}

#[test]
fn session_login_headless_installs_a_working_session() {
    let browser = chromium();
    let s = Sandbox::new();
    std::fs::remove_file(session_file(&s)).unwrap();
    let login = run(
        &s,
        &[
            "session",
            "login",
            "--headless",
            "--browser",
            browser,
            "--timeout",
            "2m",
        ],
    )
    .expect(0)
    .stdout_has("installed the Paraform session")
    .stdout_has("expires on");
    // The cookie value is a secret: never printed.
    assert!(!login.stdout().contains("sim-session-token"));
    assert!(!login.stderr().contains("sim-session-token"));
    let mode = std::fs::metadata(session_file(&s)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    // A Playwright storage_state with the simulator's host cookies and origin.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(session_file(&s)).unwrap()).unwrap();
    let cookies = state["cookies"].as_array().unwrap();
    assert!(
        cookies
            .iter()
            .any(|c| c["name"] == "__Secure-next-auth.session-token"
                && c["domain"] == "127.0.0.1"
                && c["expires"].as_f64().unwrap() > 0.0)
    );
    assert_eq!(state["origins"][0]["origin"], s.sim.base_url());
    assert!(leftover_profiles(&s).is_empty());
    assert!(browsers_of(&s).is_empty());
    // And it works.
    s.scrape().expect(0);
    assert!(s.count("select count(*) from roles") > 0);
    run(&s, &["session", "status"])
        .expect(0)
        .stdout_has("expires on");
}

#[test]
fn session_login_failures_keep_the_installed_session() {
    let browser = chromium();
    let s = Sandbox::new();
    let installed = std::fs::read(session_file(&s)).unwrap();

    // No display for a visible window: one line that says what to do.
    run(&s, &["session", "login", "--browser", browser])
        .expect(1)
        .stderr_has("no display")
        .stderr_has("session export --base64")
        .stderr_has("--headless");

    // No browser at all.
    let empty = s.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let tmp = tmp(&s);
    run_in(
        s.path(),
        &["session", "login", "--headless"],
        &[
            ("PATH", empty.to_str().unwrap()),
            ("TMPDIR", tmp.to_str().unwrap()),
        ],
    )
    .expect(1)
    .stderr_has("no Chromium or Chrome found")
    .stderr_has("apt-get install chromium");

    // A login page that never signs in: the timeout runs out.
    s.write_config(&format!("base_url = \"{}/nowhere\"", s.sim.base_url()));
    run(
        &s,
        &[
            "session",
            "login",
            "--headless",
            "--browser",
            browser,
            "--timeout",
            "2s",
        ],
    )
    .expect(1)
    .stderr_has("did not finish within 2 s")
    .stderr_has("the installed session was kept");

    // A bad timeout is a usage error.
    run(&s, &["session", "login", "--headless", "--timeout", "soon"])
        .expect(2)
        .stderr_has("is not a duration");

    assert_eq!(std::fs::read(session_file(&s)).unwrap(), installed);
    assert!(leftover_profiles(&s).is_empty());
    assert!(browsers_of(&s).is_empty());
}

/// A sandbox whose market starts at a fixed time, so two sandboxes with the
/// same seed hold the same roles to the byte.
fn fixed_sandbox(fetch: &str, browser_required: bool) -> Sandbox {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let s = Sandbox::with(SimOptions {
        now,
        roles: 25,
        ..sim_options()
    });
    s.write_config(&format!("fetch = \"{fetch}\""));
    s.sim.require_browser(browser_required);
    s
}

/// What a run stored, without its clock: roles and their change rows.
fn stored(s: &Sandbox) -> (Vec<String>, Vec<String>) {
    (
        s.strings(
            "select id || ' ' || status || ' ' || content_hash || ' ' || coalesce(tier, '-')
             from roles order by id",
        ),
        s.strings(
            "select role_id || ' ' || kind || ' ' || coalesce(field, '-') || ' '
                    || coalesce(old_value, '-') || ' ' || coalesce(new_value, '-')
             from changes order by role_id, kind, field",
        ),
    )
}

fn paraform_fetch(s: &Sandbox) -> Vec<String> {
    s.strings("select coalesce(paraform_fetch, '-') from runs order by id")
}

#[test]
fn a_challenge_fails_a_direct_run_and_marks_nobody_gone() {
    let s = fixed_sandbox("direct", false);
    s.scrape().expect(0);
    let active = s.count("select count(*) from roles where status = 'active'");
    s.sim.require_browser(true);
    run(&s, &["scrape", "--no-site"])
        .expect(1)
        .stderr_has("browser challenge")
        .stderr_has("fetch = \"auto\"");
    assert_nobody_gone(&s, active);
    assert_eq!(
        s.strings("select status from runs order by id"),
        vec!["ok", "failed"]
    );
    assert_eq!(paraform_fetch(&s), vec!["direct", "direct"]);
    // Never read as "session expired" either.
    run(&s, &["session", "status"]).expect(0);
}

#[test]
fn auto_without_a_browser_fails_with_what_to_install() {
    let s = fixed_sandbox("auto", true);
    let bin = s.path().join("no-browser-bin");
    std::fs::create_dir_all(&bin).unwrap();
    run_in(
        s.path(),
        &["scrape", "--no-site"],
        &[("PATH", bin.to_str().unwrap())],
    )
    .expect(1)
    .stderr_has("no Chromium or Chrome was found")
    .stderr_has("apt-get install chromium");
    assert_eq!(s.count("select count(*) from roles"), 0);
}

#[test]
fn auto_and_browser_store_what_a_direct_run_stores() {
    chromium();
    let direct = fixed_sandbox("direct", false);
    let auto = fixed_sandbox("auto", true);
    let browser = fixed_sandbox("browser", true);
    for s in [&direct, &auto, &browser] {
        run(s, &["scrape", "--no-site"]).expect(0);
        s.sim.advance(chrono::Duration::hours(12));
        run(s, &["scrape", "--no-site"]).expect(0);
        assert!(leftover_profiles(s).is_empty());
        assert!(browsers_of(s).is_empty());
    }
    let expected = stored(&direct);
    assert!(!expected.0.is_empty() && !expected.1.is_empty());
    assert_eq!(stored(&auto), expected, "auto");
    assert_eq!(stored(&browser), expected, "browser");
    assert_eq!(direct.sim.requests(CHALLENGED), 0);
    // auto met one challenge per run, then went through the browser.
    assert_eq!(auto.sim.requests(CHALLENGED), 2);
    assert_eq!(browser.sim.requests(CHALLENGED), 0);
    assert_eq!(paraform_fetch(&direct), vec!["direct", "direct"]);
    assert_eq!(
        paraform_fetch(&auto),
        vec!["browser-after-challenge", "browser-after-challenge"]
    );
    assert_eq!(paraform_fetch(&browser), vec!["browser", "browser"]);
    // The run's notes and `status` say so.
    let errors = auto.strings("select errors from runs order by id desc limit 1");
    assert!(errors[0].contains("browser challenge"), "{errors:?}");
    run(&auto, &["status"]).stdout_has("Paraform asked for a browser");
    let (_, health) = status_json(&auto);
    assert_eq!(health["paraform_fetch"], "browser-after-challenge");
}

fn status_json(s: &Sandbox) -> (i32, serde_json::Value) {
    let run = run(s, &["status", "--json"]);
    let json = serde_json::from_str(&run.stdout()).unwrap();
    (run.code(), json)
}

#[test]
fn a_browser_killed_mid_run_fails_the_source_and_leaves_nothing_behind() {
    chromium();
    let s = fixed_sandbox("browser", false);
    s.scrape().expect(0);
    let active = s.count("select count(*) from roles where status = 'active'");
    s.write_config("fetch = \"browser\"\ntimeout_secs = 120");
    // The listing takes its time: long enough to kill the browser meanwhile.
    s.sim
        .inject(Target::List, Fault::Slow { millis: 60_000 }, 1);
    let tmp = tmp(&s);
    let scrape = command_in(s.path(), &["scrape", "--no-site"])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let before = s.sim.requests(LIST_PROCEDURE);
    wait_until("the listing request", Duration::from_secs(120), || {
        s.sim.requests(LIST_PROCEDURE) > before
    });
    let browsers = kill_the_browser(&s);
    let output = scrape.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr} {browsers:?}");
    assert!(stderr.contains("browser"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_nobody_gone(&s, active);
    assert_eq!(
        s.strings("select status from runs order by id desc limit 1"),
        vec!["failed"]
    );
    wait_until(
        "every browser process to end",
        Duration::from_secs(30),
        || browsers_of(&s).is_empty(),
    );
    assert!(leftover_profiles(&s).is_empty());
}

#[test]
fn a_browser_closed_during_login_keeps_the_installed_session() {
    let browser = chromium();
    let s = Sandbox::new();
    let installed = std::fs::read(session_file(&s)).unwrap();
    // A login page that never signs in, so the login waits for a person.
    s.write_config(&format!("base_url = \"{}/nowhere\"", s.sim.base_url()));
    let tmp = tmp(&s);
    let login = command_in(
        s.path(),
        &[
            "session",
            "login",
            "--headless",
            "--browser",
            browser,
            "--timeout",
            "5m",
        ],
    )
    .env("TMPDIR", &tmp)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Once the login page is open, the person closes the browser: here,
    // its main process goes away.
    wait_until(
        "the login page in the browser",
        Duration::from_secs(120),
        || s.sim.requests("/nowhere/login") > 0,
    );
    kill_the_browser(&s);
    let output = login.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the browser window was closed before the login finished"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the installed session was kept"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read(session_file(&s)).unwrap(), installed);
    wait_until(
        "every browser process to end",
        Duration::from_secs(30),
        || browsers_of(&s).is_empty(),
    );
    assert!(leftover_profiles(&s).is_empty());
}
