//! Unattended operation (SPEC §8): the `run` scheduler fires on time, never
//! overlaps, catches up once and stops cleanly on SIGTERM; `status` exit
//! codes; one alert per incident; `backup` under a writer; `export`.
//!
//! Every test drives the real binary against the simulator and reads the
//! SQLite file directly. Every wait is bounded, and a scheduler still running
//! when a test fails is killed by its guard.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use air_demand::sim::{Fault, SimOptions, Target};
use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use common::{Sandbox, binary, sim_options};
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
    started: Instant,
}

impl Scheduler {
    /// Starts `run` in the sandbox with JSON logs (info level, as under
    /// systemd) captured in `run.log`.
    fn start(s: &Sandbox) -> Scheduler {
        let log = s.path().join("run.log");
        let stderr = File::create(&log).unwrap();
        let stdout = File::create(s.path().join("run.stdout")).unwrap();
        let child = Command::new(binary())
            .current_dir(s.path())
            .args(["--log-format", "json", "run"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", s.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("starting air-demand run");
        Scheduler {
            child,
            log,
            started: Instant::now(),
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `done` every 100 ms for up to `within`; fails with the logs if
    /// it never holds or if the scheduler exits meanwhile.
    fn wait_for(&mut self, within: Duration, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + within;
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
                "timed out after {within:?} waiting for {what}\n--- log\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits up to `within` for the exit; returns the
    /// status and how long the exit took.
    fn terminate(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "sending SIGTERM failed");
        let signalled = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, signalled.elapsed());
            }
            assert!(
                signalled.elapsed() < within,
                "the scheduler did not exit within {within:?} of SIGTERM\n--- log\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then asserts a clean exit (status 0) within `within`.
    fn stop(&mut self, within: Duration) -> Duration {
        let (status, took) = self.terminate(within);
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
        took
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

fn finished_with(runs: &[RunRow], status: &str) -> usize {
    runs.iter()
        .filter(|r| r.trigger == "schedule" && r.status == status)
        .count()
}

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

#[test]
fn scheduled_scrapes_and_a_digest_happen_on_time() {
    let s = Sandbox::new();
    configure(&s, "", &["*/4 * * * * *"], &["2-59/10 * * * * *"], "");
    let mut run = Scheduler::start(&s);
    // A catch-up scrape at once (none ever ran), then one per slot.
    run.wait_for(Duration::from_secs(15), "three scheduled scrapes", || {
        finished_with(&runs(&s), "ok") >= 3
    });
    let elapsed = run.started.elapsed();
    assert!(
        s.path().join("site/index.html").exists(),
        "the site was not built"
    );
    run.wait_for(Duration::from_secs(5), "a sent digest", || {
        try_count(&s, "select count(*) from digests where status = 'sent'") == Some(1)
    });
    let took = run.stop(Duration::from_secs(10));

    let all = runs(&s);
    let ok: Vec<RunRow> = scheduled(&all)
        .into_iter()
        .filter(|r| r.status == "ok")
        .collect();
    assert!(ok.len() >= 3, "{}", describe(&all));
    assert_eq!(
        all.len(),
        ok.len(),
        "a run that was not ok\n{}",
        describe(&all)
    );
    // After the catch-up, each run starts on a */4 slot, one slot apart.
    for pair in ok[1..].windows(2) {
        let gap = (pair[1].started - pair[0].started).num_seconds();
        assert!(
            (3..=5).contains(&gap),
            "runs {gap}s apart\n{}",
            describe(&all)
        );
    }
    for r in &ok[1..] {
        assert_eq!(
            r.started.second() % 4,
            0,
            "off-slot start\n{}",
            describe(&all)
        );
    }
    // One digest for today, sent after the first scrape, and its .eml.
    assert_eq!(s.count("select count(*) from digests"), 1);
    let subject = s.strings("select subject from digests").remove(0);
    assert!(subject.starts_with("Air Demand: "), "{subject}");
    let created = parse_time(&s.strings("select created_at from digests").remove(0));
    assert!(
        created >= ok[0].finished.unwrap(),
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
        logs.contains("scheduler started; next scrape 20") && logs.contains("next digest 20"),
        "the log does not name the next fire times\n{logs}"
    );
    eprintln!("3 scheduled scrapes after {elapsed:?}; exit {took:?} after SIGTERM");
}

#[test]
fn a_slow_scrape_delays_the_next_without_overlapping_it() {
    let s = Sandbox::new();
    configure(&s, "timeout_secs = 20", &["*/2 * * * * *"], &[], "");
    s.sim.inject(Target::List, Fault::Slow { millis: 6000 }, 1);
    let mut run = Scheduler::start(&s);
    run.wait_for(
        Duration::from_secs(25),
        "three runs after the slow one",
        || {
            let all = runs(&s);
            let slow = all.iter().position(|r| r.duration_ms.unwrap_or(0) >= 6000);
            slow.is_some_and(|at| finished_with(&all[at + 1..], "ok") >= 3)
        },
    );
    run.stop(Duration::from_secs(10));

    let all = runs(&s);
    let text = describe(&all);
    assert!(all.iter().all(|r| r.status == "ok"), "{text}");
    for pair in all.windows(2) {
        let previous_end = pair[0].finished.expect("a finished run");
        assert!(
            pair[1].started >= previous_end,
            "run #{} started before #{} finished\n{text}",
            pair[1].id,
            pair[0].id
        );
    }
    // The slots missed while it ran fire once, right after it, not as a
    // burst: the next run starts at once, later ones each on its own slot.
    let slow = all
        .iter()
        .position(|r| r.duration_ms.unwrap_or(0) >= 6000)
        .unwrap();
    let end = all[slow].finished.unwrap();
    let next = &all[slow + 1];
    assert!((next.started - end).num_seconds() <= 1, "{text}");
    for r in &all[slow + 2..] {
        assert_eq!(r.started.second() % 2, 0, "off-slot start\n{text}");
    }
    let mut starts: Vec<_> = all.iter().map(|r| r.started).collect();
    starts.dedup();
    assert_eq!(starts.len(), all.len(), "two runs in one second\n{text}");
}

#[test]
fn sigterm_mid_scrape_leaves_the_database_consistent() {
    let s = Sandbox::new();
    configure(&s, "timeout_secs = 20", &["*/2 * * * * *"], &[], "");
    s.run(&["scrape", "--no-site"]).expect(0);
    // The interrupted run would have stored new roles and changes.
    s.sim.advance(chrono::Duration::hours(12));
    let tables = ["roles", "role_versions", "changes"];
    let before: Vec<i64> = tables
        .iter()
        .map(|t| s.count(&format!("select count(*) from {t}")))
        .collect();
    s.sim.inject(Target::List, Fault::Slow { millis: 8000 }, 1);
    let mut run = Scheduler::start(&s);
    run.wait_for(
        Duration::from_secs(10),
        "a scheduled run in progress",
        || {
            try_count(
                &s,
                "select count(*) from runs where trigger = 'schedule' and status = 'running'",
            ) == Some(1)
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let took = run.stop(Duration::from_secs(5));

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
    eprintln!("exited {took:?} after SIGTERM");
}

#[test]
fn a_missed_slot_is_caught_up_exactly_once() {
    let s = Sandbox::new();
    configure(&s, "", &["* * * * *"], &[], "");
    s.run(&["scrape", "--no-site"]).expect(0);
    // Leave room before the next minute's slot for the whole check.
    let second = Utc::now().second();
    if second > 35 {
        std::thread::sleep(Duration::from_millis(u64::from(61 - second) * 1000));
    }
    let minute = Utc::now().minute();
    // The last scrape looks two minutes old: two slots were missed.
    let two_minutes_ago = stamp(Utc::now() - chrono::Duration::minutes(2));
    s.db()
        .execute(
            "update runs set started_at = ?1, finished_at = ?1",
            [&two_minutes_ago],
        )
        .unwrap();
    let mut run = Scheduler::start(&s);
    run.wait_for(Duration::from_secs(10), "the catch-up scrape", || {
        let all = runs(&s);
        finished_with(&all, "ok") >= 1
    });
    let caught_up_after = run.started.elapsed();
    // Nothing else may fire before the next minute's slot.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        Utc::now().minute(),
        minute,
        "the test ran into the next minute's slot"
    );
    run.stop(Duration::from_secs(10));

    let all = runs(&s);
    let text = describe(&all);
    assert_eq!(all.len(), 2, "{text}");
    assert_eq!(scheduled(&all).len(), 1, "{text}");
    assert_eq!(finished_with(&all, "ok"), 1, "{text}");
    assert!(
        caught_up_after < Duration::from_secs(5),
        "the catch-up took {caught_up_after:?}"
    );
    assert!(
        run.logs().contains("catching up"),
        "no catch-up in the log\n{}",
        run.logs()
    );
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
    configure(&s, "max_retries = 0", &["*/2 * * * * *"], &[], "");
    // Five failing list calls: five failed runs, then the queue is empty.
    s.sim.inject(Target::List, Fault::ServerError, 5);
    let mut run = Scheduler::start(&s);
    run.wait_for(Duration::from_secs(15), "three failed runs", || {
        finished_with(&runs(&s), "failed") >= 3
    });
    assert_eq!(
        mails_with_subject(&s, ALERT),
        1,
        "{:?}\n{}",
        outbox(&s),
        describe(&runs(&s))
    );
    assert_eq!(mails_with_subject(&s, RECOVERED), 0);

    run.wait_for(Duration::from_secs(20), "the recovery message", || {
        mails_with_subject(&s, RECOVERED) >= 1
    });
    let ok_at_recovery = finished_with(&runs(&s), "ok");
    run.wait_for(Duration::from_secs(10), "two more good runs", || {
        finished_with(&runs(&s), "ok") >= ok_at_recovery + 2
    });
    run.stop(Duration::from_secs(10));

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
    // One incident, from opening through recovery.
    assert_eq!(s.count("select count(*) from alerts"), 1);
    assert_eq!(
        s.count(
            "select count(*) from alerts where incident = 'scrapes-failing' and alerted_at is not null
             and resolved_at is not null and recovery_sent_at is not null"
        ),
        1
    );
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

#[test]
fn backup_while_a_scrape_is_writing_is_consistent() {
    let s = Sandbox::with(SimOptions {
        roles: 3000,
        ..sim_options()
    });
    configure(&s, "", &["0 5 * * *"], &[], "");
    s.scrape().expect(0);
    let before = s.count("select count(*) from roles");
    s.sim.advance(chrono::Duration::hours(12));
    s.sim.advance(chrono::Duration::hours(12));

    let started = Instant::now();
    let child = Command::new(binary())
        .current_dir(s.path())
        .args(["scrape", "--no-site"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", s.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Guard(Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Ok(None) = self.0.try_wait() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
    let mut child = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while try_count(&s, "select count(*) from runs where status = 'running'") != Some(1) {
        assert!(Instant::now() < deadline, "the scrape never started");
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the scrape ended before it was seen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // One backup while it fetches, one while its transaction is open, then
    // more until it ends.
    let backup = |name: &str| {
        s.run(&["backup", name])
            .expect(0)
            .stdout_has("integrity ok");
    };
    backup("copy.sqlite");
    let mut copies = vec!["copy.sqlite".to_string()];
    while !(wal_writer_active(&s.db_path()) && {
        std::thread::sleep(Duration::from_millis(20));
        wal_writer_active(&s.db_path())
    }) {
        assert!(
            Instant::now() < deadline,
            "the scrape never started writing"
        );
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the scrape ended before its transaction was seen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    backup("copy-writing.sqlite");
    // Still uncommitted when the copy was done: it must hold the old state.
    let spanned = wal_writer_active(&s.db_path());
    copies.push("copy-writing.sqlite".into());
    while child.0.try_wait().unwrap().is_none() && copies.len() < 40 {
        assert!(Instant::now() < deadline, "the scrape took too long");
        let name = format!("copy-{}.sqlite", copies.len());
        backup(&name);
        copies.push(name);
    }
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the scrape failed");
    let scrape_took = started.elapsed();
    let after = s.count("select count(*) from roles");
    assert!(after > before, "the second scrape added no roles");
    let mut seen = Vec::new();
    for name in &copies {
        let roles = check_copy(&s.path().join(name));
        assert!(
            roles == before || roles == after,
            "{name} has {roles} roles, neither {before} nor {after}"
        );
        seen.push(roles);
    }
    if spanned {
        assert_eq!(seen[1], before, "a copy taken mid-transaction");
    }
    assert!(!s.path().join("copy.sqlite.partial").exists());

    s.run(&["backup", "copy.sqlite"])
        .expect(1)
        .stderr_has("already exists");
    s.run(&["backup", "copy.sqlite", "--force"]).expect(0);
    assert_eq!(check_copy(&s.path().join("copy.sqlite")), after);
    eprintln!(
        "{} backups of {before}/{after} roles: {seen:?} (the 2nd inside the write transaction{}); scrape {scrape_took:?}",
        copies.len(),
        if spanned { " from start to end" } else { "" }
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
