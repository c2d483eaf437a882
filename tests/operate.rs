//! Unattended operation (SPEC §8): the `run` process catches up a missed
//! slot once, builds the site, sends the digest and stops cleanly on
//! SIGTERM; `status` exit codes; one alert per incident; `backup` under a
//! writer; `export`. When each job fires (on time, no overlap, no burst) is
//! unit-tested in `src/schedule.rs` on a simulated clock.
//!
//! Every test drives the real binary against the simulator and reads the
//! SQLite file directly. Tests wait for conditions, never for a time: the
//! only time limits are hang guards of minutes, and nothing asserts how long
//! something took. A scheduler still running when a test fails is killed by
//! its guard.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long any wait may last before the test is declared hung: a guard,
/// not a speed requirement (a loaded machine is slow, not wrong).
const HANG_GUARD: Duration = Duration::from_secs(300);

use air_demand::sim::{Fault, LIST_PROCEDURE, SimOptions, Target};
use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use common::{Sandbox, command_in, sim_options};
use rusqlite::Connection;

// ---------------------------------------------------------------- harness

/// Writes the sandbox config with a `[schedule]` and a file-transport
/// `[digest]` (so digests and alerts land in `outbox/`), plus `more`.
fn configure(s: &Sandbox, paraform: &str, scrape: &[&str], digest: &[&str], more: &str) {
    s.write_config(paraform);
    let base = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    let list = |items: &[&str]| serde_json::to_string(items).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!(
            "{base}\n[schedule]\ntimezone = \"UTC\"\nscrape = {}\ndigest = {}\n\n\
             [digest]\nto = [\"ops@example.com\"]\nfrom = \"Air Demand <digest@example.com>\"\n\
             transport = \"file\"\noutbox = \"outbox\"\n\n{more}\n",
            list(scrape),
            list(digest)
        ),
    );
}

/// `air-demand run` as a child process, killed if still alive when dropped.
struct Scheduler {
    child: Child,
    log: PathBuf,
}

impl Scheduler {
    /// Starts `run` in the sandbox with JSON logs (info level, as under
    /// systemd) captured in `run.log`.
    fn start(s: &Sandbox) -> Scheduler {
        let log = s.path().join("run.log");
        let stderr = File::create(&log).unwrap();
        let stdout = File::create(s.path().join("run.stdout")).unwrap();
        let child = command_in(s.path(), &["--log-format", "json", "run"])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("starting air-demand run");
        Scheduler { child, log }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `done` until it holds; fails with the logs if the scheduler
    /// exits meanwhile (or after the hang guard).
    fn wait_for(&mut self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if done() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the scheduler exited ({status}) while waiting for {what}\n--- log\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "hung: still waiting for {what} after {HANG_GUARD:?}\n--- log\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits for the exit (with the hang guard).
    fn terminate(&mut self) -> ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "sending SIGTERM failed");
        let signalled = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                signalled.elapsed() < HANG_GUARD,
                "hung: the scheduler did not exit within {HANG_GUARD:?} of SIGTERM\n--- log\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then asserts a clean exit (status 0).
    fn stop(&mut self) {
        let status = self.terminate();
        assert_eq!(
            status.code(),
            Some(0),
            "the scheduler did not exit 0 on SIGTERM ({status})\n--- log\n{}",
            self.logs()
        );
        let logs = self.logs();
        assert!(
            !logs.contains("panicked"),
            "a panic in the scheduler\n{logs}"
        );
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One row of `runs`.
#[derive(Debug, Clone)]
struct RunRow {
    id: i64,
    started: DateTime<Utc>,
    finished: Option<DateTime<Utc>>,
    status: String,
    trigger: String,
    duration_ms: Option<i64>,
    errors: String,
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Opens the database without creating it; `None` while it does not exist.
fn open(path: &Path) -> Option<Connection> {
    if !path.exists() {
        return None;
    }
    let conn = Connection::open(path).ok()?;
    conn.busy_timeout(Duration::from_secs(5)).ok()?;
    Some(conn)
}

/// Every run, oldest first; empty while the database or its tables are not there yet.
fn runs_at(path: &Path) -> Vec<RunRow> {
    let Some(conn) = open(path) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "select id, started_at, finished_at, status, trigger, duration_ms, errors from runs order by id",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |r| {
        Ok(RunRow {
            id: r.get(0)?,
            started: parse_time(&r.get::<_, String>(1)?),
            finished: r.get::<_, Option<String>>(2)?.map(|t| parse_time(&t)),
            status: r.get(3)?,
            trigger: r.get(4)?,
            duration_ms: r.get(5)?,
            errors: r.get(6)?,
        })
    })
    .map(|rows| rows.filter_map(Result::ok).collect())
    .unwrap_or_default()
}

fn runs(s: &Sandbox) -> Vec<RunRow> {
    runs_at(&s.db_path())
}

/// A number from the database; `None` while it is not readable yet.
fn try_count(s: &Sandbox, sql: &str) -> Option<i64> {
    open(&s.db_path())?.query_row(sql, [], |r| r.get(0)).ok()
}

fn scheduled(runs: &[RunRow]) -> Vec<RunRow> {
    runs.iter()
        .filter(|r| r.trigger == "schedule")
        .cloned()
        .collect()
}

/// Scheduled runs that ended with `status`. A run that the test's own
/// SIGTERM cut short (only ever the last one) is not counted: when the stop
/// lands is up to the machine's speed, not to what is tested.
fn finished_with(runs: &[RunRow], status: &str) -> usize {
    let last = runs.iter().map(|r| r.id).max();
    runs.iter()
        .filter(|r| r.trigger == "schedule" && r.status == status)
        .filter(|r| !(Some(r.id) == last && r.errors.contains(STOPPED_MID_RUN)))
        .count()
}

/// What a run stopped by SIGTERM says (`Db::fail_abandoned_runs`).
const STOPPED_MID_RUN: &str = "the process stopped before the run finished";

/// Every .eml in the outbox as (file name, text).
fn outbox(s: &Sandbox) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(s.path().join("outbox")) else {
        return Vec::new();
    };
    let mut mails: Vec<(String, String)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    mails.sort();
    mails
}

fn mails_with_subject(s: &Sandbox, subject: &str) -> usize {
    let header = format!("Subject: {subject}");
    outbox(s)
        .iter()
        .filter(|(_, text)| text.contains(&header))
        .count()
}

fn describe(runs: &[RunRow]) -> String {
    runs.iter()
        .map(|r| {
            format!(
                "#{} {} {} {} -> {} ({:?} ms) {}",
                r.id,
                r.trigger,
                r.status,
                stamp(r.started),
                r.finished.map(stamp).unwrap_or_default(),
                r.duration_ms,
                r.errors
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------- run

/// A daily cron slot twelve hours from now: its last slot passed long ago
/// (so a scheduler starting now catches it up) and its next is far off (so
/// nothing else fires during the test, whatever the time of day).
fn far_daily_slot() -> String {
    format!("0 {} * * *", (Utc::now().hour() + 12) % 24)
}

/// Makes every run look `days` old, as if the scheduler had been down.
fn age_runs(s: &Sandbox, days: i64) {
    let at = stamp(Utc::now() - chrono::Duration::days(days));
    s.db()
        .execute("update runs set started_at = ?1, finished_at = ?1", [&at])
        .unwrap();
}

#[test]
fn run_catches_up_once_builds_the_site_sends_the_digest_and_stops_on_sigterm() {
    let s = Sandbox::new();
    let slot = far_daily_slot();
    configure(&s, "", &[&slot], &[&slot], "");
    s.scrape().expect(0);
    // Three days down: three scrape slots missed, one catch-up.
    age_runs(&s, 3);
    let mut run = Scheduler::start(&s);
    // The catch-up runs the scrape, then the digest (which reports it).
    run.wait_for("the caught-up digest", || {
        try_count(&s, "select count(*) from digests where status = 'sent'") == Some(1)
    });
    // The site built after the scrape is told of the digest, not at the next scrape.
    run.wait_for("the site's health files to tell of the digest", || {
        let json = std::fs::read_to_string(s.path().join("site/health.json")).unwrap_or_default();
        let html = std::fs::read_to_string(s.path().join("site/health.html")).unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(&json)
            .is_ok_and(|health| health["last_digest"]["status"] == "sent")
            && html.contains("status-sent")
    });
    run.stop();

    let all = runs(&s);
    let text = describe(&all);
    assert_eq!(all.len(), 2, "{text}");
    let caught_up = scheduled(&all);
    assert_eq!(caught_up.len(), 1, "one catch-up scrape\n{text}");
    assert_eq!(caught_up[0].status, "ok", "{text}");
    assert!(
        s.path().join("site/index.html").exists(),
        "the site was not built"
    );
    // One digest for today, sent after the scrape, and its .eml.
    assert_eq!(s.count("select count(*) from digests"), 1);
    let subject = s.strings("select subject from digests").remove(0);
    assert!(subject.starts_with("Air Demand: "), "{subject}");
    let created = parse_time(&s.strings("select created_at from digests").remove(0));
    assert!(
        created >= caught_up[0].finished.unwrap(),
        "digest before the scrape"
    );
    let digests: Vec<_> = outbox(&s)
        .into_iter()
        .filter(|(name, _)| name.starts_with("digest-"))
        .collect();
    assert_eq!(digests.len(), 1, "{:?}", outbox(&s));
    assert!(digests[0].1.contains("multipart/alternative"));
    let logs = run.logs();
    assert!(
        logs.contains("catching up"),
        "no catch-up in the log\n{logs}"
    );
    assert!(
        logs.contains("scheduler started; next scrape 20") && logs.contains("next digest 20"),
        "the log does not name the next fire times\n{logs}"
    );
}

#[test]
fn sigterm_mid_scrape_leaves_the_database_consistent() {
    let s = Sandbox::new();
    let slot = far_daily_slot();
    configure(&s, "timeout_secs = 3600", &[&slot], &[], "");
    s.run(&["scrape", "--no-site"]).expect(0);
    age_runs(&s, 1);
    // The interrupted run would have stored new roles and changes.
    s.sim.advance(chrono::Duration::hours(12));
    let tables = ["roles", "role_versions", "changes"];
    let before: Vec<i64> = tables
        .iter()
        .map(|t| s.count(&format!("select count(*) from {t}")))
        .collect();
    // The caught-up scrape's list call answers only after the test is over:
    // the signal is sure to land while it fetches.
    s.sim
        .inject(Target::List, Fault::Slow { millis: 3_600_000 }, 1);
    let lists = s.sim.requests(LIST_PROCEDURE);
    let mut run = Scheduler::start(&s);
    // Its list call reached the simulator: the slow answer is used up (not
    // left for the scrape below) and the scrape is fetching.
    run.wait_for("a scheduled run fetching", || {
        try_count(
            &s,
            "select count(*) from runs where trigger = 'schedule' and status = 'running'",
        ) == Some(1)
            && s.sim.requests(LIST_PROCEDURE) > lists
    });
    run.stop();

    assert_eq!(s.strings("pragma integrity_check"), vec!["ok"]);
    let all = runs(&s);
    let text = describe(&all);
    assert!(all.iter().all(|r| r.status != "running"), "{text}");
    let stopped = scheduled(&all);
    assert_eq!(stopped.len(), 1, "{text}");
    assert_eq!(stopped[0].status, "failed", "{text}");
    assert!(stopped[0].finished.is_some(), "{text}");
    assert!(stopped[0].errors.contains("stopped"), "{text}");
    let after: Vec<i64> = tables
        .iter()
        .map(|t| s.count(&format!("select count(*) from {t}")))
        .collect();
    assert_eq!(
        after, before,
        "rows written by the stopped run ({tables:?})"
    );
    assert_eq!(
        s.count(&format!(
            "select count(*) from role_versions where run_id = {}",
            stopped[0].id
        )),
        0
    );
    // The lock went with the process: the next scrape runs.
    s.run(&["scrape", "--no-site"]).expect(0);
    assert!(s.count("select count(*) from roles") > before[0]);
}

// ---------------------------------------------------------------- status

/// `status --json`: the exit code and the report.
fn status(s: &Sandbox) -> (i32, serde_json::Value) {
    let run = s.run(&["status", "--json"]);
    let code = run.code();
    let json = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("status --json printed no JSON ({e})\n{}", run.stdout()));
    (code, json)
}

fn assert_status(s: &Sandbox, code: i32, level: &str, problem: &str) {
    let (actual, json) = status(s);
    assert_eq!(actual, code, "{json:#}");
    assert_eq!(json["status"], level, "{json:#}");
    let problems = json["problems"].to_string();
    assert!(problems.contains(problem), "no {problem:?} in {json:#}");
    // The text report agrees.
    s.run(&["status"]).expect(code).stdout_has(level);
}

fn scrape_age(s: &Sandbox, hours: i64) {
    let at = stamp(Utc::now() - chrono::Duration::hours(hours));
    s.db()
        .execute("update runs set started_at = ?1, finished_at = ?1", [&at])
        .unwrap();
}

fn session_expiring_in(s: &Sandbox, span: chrono::Duration) {
    let expires = (Utc::now() + span).timestamp();
    // Installed by hand: `session import` refuses a cookie that has expired.
    s.write_file(
        "data/paraform_session.json",
        &s.sim.storage_state_json(expires),
    );
}

#[test]
fn status_exit_codes_for_each_state() {
    let s = Sandbox::new();
    assert!(!s.db_path().exists());
    assert_status(&s, 2, "unhealthy", "no database");

    s.scrape().expect(0);
    let (code, json) = status(&s);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["status"], "healthy", "{json:#}");
    assert_eq!(json["problems"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["consecutive_failed_scrapes"], 0);
    assert_eq!(json["session"]["state"], "ok");
    assert!(json["database"]["schema_version"].as_i64().unwrap() >= 1);
    assert!(json["database"]["active_roles"].as_i64().unwrap() > 0);
    s.run(&["status"]).expect(0).stdout_has("healthy");

    // The age of the last good scrape.
    scrape_age(&s, 14);
    assert_status(&s, 1, "degraded", "hours old");
    scrape_age(&s, 25);
    assert_status(&s, 2, "unhealthy", "no successful scrape for 25 hours");
    scrape_age(&s, 0);
    assert_eq!(status(&s).0, 0);

    // The session's expiry.
    session_expiring_in(&s, chrono::Duration::days(3));
    assert_status(&s, 1, "degraded", "");
    assert_eq!(status(&s).1["session"]["state"], "expiring");
    session_expiring_in(&s, -chrono::Duration::days(1));
    assert_status(&s, 2, "unhealthy", "expired");
    assert_eq!(status(&s).1["session"]["state"], "expired");
    session_expiring_in(&s, chrono::Duration::days(30));
    assert_eq!(status(&s).0, 0);

    // A failed digest, then one that went out.
    s.db()
        .execute(
            "insert into digests (created_at, status, transport, recipients, subject, role_count, error)
             values (?1, 'failed', 'smtp', '[]', 'Air Demand: test', 0, 'connection refused')",
            [stamp(Utc::now())],
        )
        .unwrap();
    assert_status(
        &s,
        1,
        "degraded",
        "the last digest failed: connection refused",
    );
    s.db()
        .execute(
            "update digests set status = 'sent', sent_at = created_at, error = null",
            [],
        )
        .unwrap();
    assert_eq!(status(&s).0, 0);

    // Thresholds come from [health].
    scrape_age(&s, 2);
    assert_eq!(status(&s).0, 0);
    configure(
        &s,
        "",
        &["0 5 * * *"],
        &[],
        "[health]\nstale_after_hours = 1\n",
    );
    assert_status(&s, 1, "degraded", "2 hours old");
    configure(
        &s,
        "",
        &["0 5 * * *"],
        &[],
        "[health]\nstale_after_hours = 1\nunhealthy_after_hours = 1.5\n",
    );
    assert_status(&s, 2, "unhealthy", "no successful scrape for 2 hours");
}

// ---------------------------------------------------------------- alerts

#[test]
fn failing_scrapes_alert_once_and_recovery_is_announced_once() {
    const ALERT: &str = "Air Demand alert: scrapes are failing";
    const RECOVERED: &str = "Air Demand recovered: scrapes are failing";
    let s = Sandbox::new();
    // A scrape every second: this test counts messages over a series of
    // runs, so it needs runs in quick succession, not at any given time (a
    // slow run only delays the next one).
    configure(&s, "max_retries = 0", &["* * * * * *"], &[], "");
    // Five failing list calls: five failed runs, then the queue is empty.
    s.sim.inject(Target::List, Fault::ServerError, 5);
    let mut run = Scheduler::start(&s);
    run.wait_for("the recovery message", || {
        mails_with_subject(&s, RECOVERED) >= 1
    });
    // More good runs bring no more messages.
    let ok_at_recovery = finished_with(&runs(&s), "ok");
    run.wait_for("two more good runs", || {
        finished_with(&runs(&s), "ok") >= ok_at_recovery + 2
    });
    run.stop();

    let all = runs(&s);
    let text = describe(&all);
    assert_eq!(finished_with(&all, "failed"), 5, "{text}");
    assert_eq!(mails_with_subject(&s, ALERT), 1, "{:?}", outbox(&s));
    assert_eq!(mails_with_subject(&s, RECOVERED), 1, "{:?}", outbox(&s));
    assert_eq!(outbox(&s).len(), 2, "{:?}", outbox(&s));
    let alert = outbox(&s)
        .into_iter()
        .find(|(_, text)| text.contains(ALERT))
        .unwrap()
        .1;
    assert!(alert.contains("scrapes in a row failed"), "{alert}");
    assert!(alert.contains("To: ops@example.com"), "{alert}");
    // One incident, from opening through recovery, announced in that order.
    assert_eq!(s.count("select count(*) from alerts"), 1);
    assert_eq!(
        s.count("select count(*) from alerts where alerted_at <= recovery_sent_at"),
        1
    );
    assert_eq!(
        s.count(
            "select count(*) from alerts where incident = 'scrapes-failing' and alerted_at is not null
             and resolved_at is not null and recovery_sent_at is not null"
        ),
        1
    );
}

#[test]
fn a_model_without_credits_alerts_once_and_the_scrapes_go_on() {
    const ALERT: &str = "Air Demand alert: model calls are failing";
    const RECOVERED: &str = "Air Demand recovered: model calls are failing";
    let s = Sandbox::new();
    configure(&s, "", &["* * * * * *"], &[], "");
    s.enable_llm("concurrency = 1");
    // Three runs in a row hear 402 at their first model call.
    s.sim.inject(Target::Llm, Fault::PaymentRequired, 3);
    let mut run = Scheduler::start(&s);
    run.wait_for("the recovery message", || {
        mails_with_subject(&s, RECOVERED) >= 1
    });
    run.stop();
    let all = runs(&s);
    let text = describe(&all);
    assert_eq!(finished_with(&all, "failed"), 0, "{text}");
    assert_eq!(mails_with_subject(&s, ALERT), 1, "{:?}", outbox(&s));
    assert_eq!(mails_with_subject(&s, RECOVERED), 1, "{:?}", outbox(&s));
    let alert = outbox(&s)
        .into_iter()
        .find(|(_, text)| text.contains(ALERT))
        .unwrap()
        .1;
    assert!(alert.contains("no credits (HTTP 402"), "{alert}");
    assert_eq!(
        s.count("select count(*) from alerts where incident = 'llm-failing'"),
        1
    );
}

#[test]
fn paraform_asking_for_a_browser_alerts_once_and_clears_when_it_stops() {
    const ALERT: &str = "Air Demand alert: Paraform asks for a browser";
    const RECOVERED: &str = "Air Demand recovered: Paraform asks for a browser";
    common::require(common::Tool::Chromium);
    let s = Sandbox::new();
    configure(&s, "fetch = \"auto\"", &["* * * * * *"], &[], "");
    s.sim.require_browser(true);
    let mut run = Scheduler::start(&s);
    run.wait_for("two runs through the browser", || {
        try_count(
            &s,
            "select count(*) from runs where paraform_fetch = 'browser-after-challenge' and status = 'ok'",
        )
        .unwrap_or(0)
            >= 2
    });
    run.wait_for("the alert", || mails_with_subject(&s, ALERT) >= 1);
    s.sim.require_browser(false);
    run.wait_for("the recovery message", || {
        mails_with_subject(&s, RECOVERED) >= 1
    });
    run.stop();
    assert_eq!(mails_with_subject(&s, ALERT), 1, "{:?}", outbox(&s));
    assert_eq!(mails_with_subject(&s, RECOVERED), 1, "{:?}", outbox(&s));
    let alert = outbox(&s)
        .into_iter()
        .find(|(_, text)| text.contains(ALERT))
        .unwrap()
        .1;
    assert!(alert.contains("Paraform asked for a browser"), "{alert}");
    assert_eq!(
        s.count("select count(*) from alerts where incident = 'browser-required'"),
        1
    );
    // (The scheduler's stop may cut the last run short; that one aside.)
    assert_eq!(finished_with(&runs(&s), "failed"), 0);
}

// ---------------------------------------------------------------- backup and export

/// A copy that is a state some transaction left: integrity ok, every role
/// with its current version, and no row from a run still `running`.
fn check_copy(path: &Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("pragma integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "{}", path.display());
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count(
            "select count(*) from roles r where not exists (select 1 from role_versions v
             where v.role_id = r.id and v.content_hash = r.content_hash)"
        ),
        0,
        "a role without its version in {}",
        path.display()
    );
    assert_eq!(
        count(
            "select (select count(*) from role_versions v join runs r on r.id = v.run_id where r.status = 'running')
                  + (select count(*) from changes c join runs r on r.id = c.run_id where r.status = 'running')"
        ),
        0,
        "rows of an unfinished run in {}",
        path.display()
    );
    count("select count(*) from roles")
}

/// Whether another process holds SQLite's WAL write lock on the database
/// (byte 120 of the `-shm` file): a write transaction is open. F_GETLK only
/// asks; it takes nothing.
fn wal_writer_active(db: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(shm) = File::open(format!("{}-shm", db.display())) else {
        return false;
    };
    // SAFETY: a zeroed flock is a valid value; fcntl(F_GETLK) only writes into it.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = 120;
    lock.l_len = 1;
    // SAFETY: a valid open descriptor and a pointer to a live flock.
    let asked = unsafe { libc::fcntl(shm.as_raw_fd(), libc::F_GETLK, &mut lock) };
    asked == 0 && lock.l_type != libc::F_UNLCK as libc::c_short
}

/// One scrape watched from outside, with backups taken as it goes.
struct Round {
    before: i64,
    after: i64,
    /// (file name, whether the scrape's write transaction was open both
    /// before and after the copy).
    copies: Vec<(String, bool)>,
    /// Whether a copy was taken while the write transaction was open.
    caught_writing: bool,
}

/// Starts a scrape after a day of marketplace changes and backs the
/// database up while it fetches, while its write transaction is open, and
/// until it ends. Whether a phase is caught depends on the scheduler of the
/// machine; a phase missed is reported, never a failure.
fn backup_round(s: &Sandbox, round: usize) -> Round {
    s.sim.advance(chrono::Duration::hours(12));
    s.sim.advance(chrono::Duration::hours(12));
    let before = s.count("select count(*) from roles");
    struct Guard(Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Ok(None) = self.0.try_wait() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
    let mut child = Guard(
        command_in(s.path(), &["scrape", "--no-site"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut running = || child.0.try_wait().unwrap().is_none();
    let mut copies = Vec::new();
    let backup = |copies: &mut Vec<(String, bool)>, writing: bool| {
        let name = format!("copy-{round}-{}.sqlite", copies.len());
        s.run(&["backup", &name])
            .expect(0)
            .stdout_has("integrity ok");
        let spanned = writing && wal_writer_active(&s.db_path());
        copies.push((name, spanned));
    };
    // Hang guard only: every wait below is for something the scrape does.
    let deadline = Instant::now() + HANG_GUARD;
    // While it fetches (its run row is there, its transaction not yet).
    while running() && try_count(s, "select count(*) from runs where status = 'running'") != Some(1)
    {
        assert!(Instant::now() < deadline, "hung: the scrape never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    if running() {
        backup(&mut copies, false);
    }
    // While its write transaction is open.
    while running() && !wal_writer_active(&s.db_path()) {
        assert!(Instant::now() < deadline, "hung: the scrape never wrote");
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut caught_writing = false;
    if running() && wal_writer_active(&s.db_path()) {
        backup(&mut copies, true);
        caught_writing = true;
    }
    // Until it ends.
    while running() && copies.len() < 40 {
        assert!(Instant::now() < deadline, "hung: the scrape never ended");
        backup(&mut copies, false);
    }
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the scrape failed");
    let after = s.count("select count(*) from roles");
    assert!(after > before, "the scrape added no roles");
    Round {
        before,
        after,
        copies,
        caught_writing,
    }
}

#[test]
fn backup_while_a_scrape_is_writing_is_consistent() {
    let s = Sandbox::with(SimOptions {
        roles: 3000,
        ..sim_options()
    });
    configure(&s, "", &["0 5 * * *"], &[], "");
    s.scrape().expect(0);
    // Scrapes until one was caught with its write transaction open (a
    // loaded machine can run a whole scrape between two looks).
    let mut rounds = Vec::new();
    for round in 0..10 {
        let caught = backup_round(&s, round);
        rounds.push(caught);
        if rounds.last().is_some_and(|r| r.caught_writing) {
            break;
        }
    }
    let mut seen = Vec::new();
    for round in &rounds {
        let (before, after) = (round.before, round.after);
        for (name, spanned) in &round.copies {
            let roles = check_copy(&s.path().join(name));
            assert!(
                roles == before || roles == after,
                "{name} has {roles} roles, neither {before} nor {after}"
            );
            if *spanned {
                // Uncommitted from before the copy to after it: the old state.
                assert_eq!(roles, before, "{name}, a copy taken mid-transaction");
            }
            seen.push((name.clone(), roles, *spanned));
        }
    }
    assert!(
        rounds.iter().any(|r| r.caught_writing),
        "no backup landed inside a write transaction in {} scrapes: {seen:?}",
        rounds.len()
    );
    assert!(!s.path().join("copy-0-0.sqlite.partial").exists());

    let last = rounds.last().unwrap().after;
    s.run(&["backup", "copy.sqlite"]).expect(0);
    s.run(&["backup", "copy.sqlite"])
        .expect(1)
        .stderr_has("already exists");
    s.run(&["backup", "copy.sqlite", "--force"]).expect(0);
    assert_eq!(check_copy(&s.path().join("copy.sqlite")), last);
    eprintln!(
        "{} scrapes, backups (name, roles, inside a write transaction): {seen:?}",
        rounds.len()
    );
}

/// Splits CSV text into records of fields (RFC 4180 quoting).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[test]
fn export_writes_the_active_roles_as_csv_and_json() {
    let s = Sandbox::new();
    s.run(&["export", "--format", "csv"])
        .expect(1)
        .stderr_has("no database");
    s.scrape().expect(0);
    let gone = s.sim.active_ids()[0].clone();
    s.sim.remove_role(&gone);
    s.scrape().expect(0);
    let mut active = s.strings("select id from roles where status = 'active' order by id");
    assert_eq!(active.len(), s.sim.active_ids().len());
    assert!(s.count("select count(*) from roles where status = 'gone'") == 1);

    let csv = s.run(&["export", "--format", "csv"]).expect(0).stdout();
    let records = csv_records(&csv);
    assert_eq!(records[0][0], "id", "{csv}");
    assert_eq!(records.len(), active.len() + 1, "{csv}");
    assert!(records.iter().all(|r| r.len() == records[0].len()));
    let mut ids: Vec<String> = records[1..].iter().map(|r| r[0].clone()).collect();
    ids.sort();
    active.sort();
    assert_eq!(ids, active);
    assert!(
        !ids.iter().any(|id| id.ends_with(&gone)),
        "the gone role was exported"
    );

    s.run(&["export", "--format", "json", "--out", "roles.json"])
        .expect(0)
        .stderr_has(&format!("exported {} roles", active.len()));
    let text = std::fs::read_to_string(s.path().join("roles.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let list = json.as_array().expect("a JSON array");
    assert_eq!(list.len(), active.len());
    assert!(list.iter().all(|r| r["id"].is_string()), "{text}");
    s.run(&["export", "--format", "json", "--out", "roles.json"])
        .expect(1)
        .stderr_has("already exists");
    assert_eq!(
        std::fs::read_to_string(s.path().join("roles.json")).unwrap(),
        text
    );
    s.run(&[
        "export",
        "--format",
        "csv",
        "--out",
        "roles.json",
        "--force",
    ])
    .expect(0);
    assert!(
        std::fs::read_to_string(s.path().join("roles.json"))
            .unwrap()
            .starts_with("id,")
    );
}
