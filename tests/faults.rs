//! Bad timing, as a fault matrix: digests started together, and a digest
//! killed while sending. Each case waits on conditions (a row, a lock, a
//! process's exit), never on the clock. `AIR_DEMAND_FAULT_ROUNDS` asks for
//! more rounds (CI asks); the counts are printed.

mod common;

use std::process::{Child, Command, Stdio};

use common::Sandbox;

fn rounds() -> usize {
    std::env::var("AIR_DEMAND_FAULT_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

/// The test config plus a digest section with this transport.
fn configure(s: &Sandbox, transport: &str) {
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    let config = config.split("\n[digest]").next().unwrap_or_default();
    s.write_file(
        "air-demand.toml",
        &format!(
            "{config}\n[digest]\nto = [\"head@hunter.example\"]\nfrom = \"Air Demand <digest@demand.example.com>\"\ntransport = \"{transport}\"\noutbox = \"outbox\"\n"
        ),
    );
}

fn spawn(s: &Sandbox, args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut command = common::command_in(s.path(), args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    command.spawn().expect("starting air-demand")
}

fn emails(s: &Sandbox) -> Vec<String> {
    match std::fs::read_dir(s.path().join("outbox")) {
        Err(_) => Vec::new(),
        Ok(entries) => entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect(),
    }
}

fn message_id(eml: &str) -> String {
    eml.lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn digests_started_together_send_once() {
    let s = Sandbox::new();
    configure(&s, "file");
    s.scrape().expect(0);
    let (rounds, at_once) = (rounds(), 4);
    let mut duplicates = 0;
    for round in 0..rounds {
        // Each round starts with the period unsent.
        s.db().execute("DELETE FROM digests", []).unwrap();
        let _ = std::fs::remove_dir_all(s.path().join("outbox"));
        let children: Vec<Child> = (0..at_once).map(|_| spawn(&s, &["digest"], &[])).collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
        let sent = emails(&s).len();
        duplicates += sent.saturating_sub(1);
        assert_eq!(sent, 1, "round {round}: {sent} digests written");
        assert_eq!(
            s.count("select count(*) from digests where status = 'sent'"),
            1
        );
    }
    println!(
        "fault matrix: concurrent digests: {rounds} rounds × {at_once} processes, {duplicates} duplicates"
    );
}

#[test]
fn a_digest_killed_while_sending_is_resent_as_the_same_message() {
    let s = Sandbox::new();
    configure(&s, "smtp");
    s.scrape().expect(0);
    let rounds = rounds();
    let mut same_id = 0;
    for round in 0..rounds {
        // An SMTP server that accepts and never answers: the send hangs.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://127.0.0.1:{}", silent.local_addr().unwrap().port());
        let args: &[&str] = if round == 0 {
            &["digest"]
        } else {
            &["digest", "--force"]
        };
        let mut child = spawn(&s, args, &[("SMTP_URL", &url)]);
        // Wait until the claim is recorded and the connection is open.
        let (_connection, _) = silent.accept().unwrap();
        let claimed = loop {
            let rows = s.strings("select message_id from digests where status = 'sending'");
            if let Some(id) = rows.into_iter().next() {
                break id;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the digest ended early"
            );
            std::thread::yield_now();
        };
        child.kill().unwrap();
        child.wait().unwrap();
        // The next sender (to files now) takes the period over with the same id.
        configure(&s, "file");
        s.run(args).expect(0);
        let written: Vec<String> = emails(&s).iter().map(|e| message_id(e)).collect();
        assert!(written.contains(&claimed), "{claimed} not in {written:?}");
        same_id += 1;
        configure(&s, "smtp");
    }
    assert_eq!(
        s.count("select count(*) from digests where status = 'sending'"),
        0
    );
    println!(
        "fault matrix: digest killed while sending: {rounds} kills, {same_id} resent with the same Message-ID"
    );
}

#[test]
fn status_notices_a_damaged_database() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    s.run(&["status"]).expect(0);
    // Everything into the main file, then scribble over a page in the middle
    // of a table's data (not the header: the file still opens).
    s.db()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let path = s.db_path();
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    assert!(pages > 4, "{pages} pages");
    let at = page * (pages / 2) + 8;
    for b in &mut bytes[at..at + 64] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let run = s.run(&["status"]).expect(2);
    // The queries status makes still work; only a check of every page sees it.
    assert!(
        run.stdout().contains("the database is damaged"),
        "{}",
        run.stdout()
    );
    println!(
        "fault matrix: damaged page: status exit 2: {}",
        run.stdout().lines().nth(1).unwrap_or("")
    );
}

#[test]
fn status_calls_an_unusable_config_unhealthy() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!("{config}\n[schedule]\nscrape = [\"0 25 * * *\"]\n"),
    );
    let run = s.run(&["status"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stdout().starts_with("unhealthy"), "{}", run.stdout());
    assert!(
        run.stderr().contains("[schedule] scrape"),
        "{}",
        run.stderr()
    );
}

/// A tmpfs of `size` mounted at `dir` (the tests run as root: tests/run and
/// CI do), unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root: run the tests as root (`bash tests/run` does in CI)"
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the file system at `dir` with a file of zeros; returns its path.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    while file.write_all(&chunk).is_ok() {}
    // Smaller writes take the last bytes.
    while file.write_all(&[0u8; 512]).is_ok() {}
    path
}

#[test]
fn a_full_disk_is_one_clear_line_and_loses_nothing() {
    let s = Sandbox::new();
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &config.replace("path = \"data/test.sqlite\"", "path = \"db/test.sqlite\""),
    );
    let disk = Tmpfs::mount(&s.path().join("db"), "16m");
    let db_path = disk.0.join("test.sqlite");
    let active = || -> i64 {
        rusqlite::Connection::open_with_flags(&db_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
            .query_row(
                "select count(*) from roles where status = 'active'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    s.scrape().expect(0);
    let before = active();
    let filler = fill(&disk.0);
    let (mut runs, mut refused, mut corrupt) = (0, 0, 0);
    for _ in 0..rounds().max(3) {
        s.sim.advance(chrono::Duration::hours(12));
        let run = s.run(&["scrape", "--no-site"]);
        runs += 1;
        let stderr = run.stderr();
        assert!(!stderr.contains("panicked"), "{stderr}");
        if run.code() != 0 {
            refused += 1;
            let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
            assert_eq!(errors.len(), 1, "{stderr}");
            assert!(errors[0].contains("free space on the disk"), "{stderr}");
            if refused == 1 {
                println!("full disk says: {}", errors[0]);
            }
        }
        let check = rusqlite::Connection::open_with_flags(
            &db_path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)));
        if check.as_deref() != Ok("ok") {
            corrupt += 1;
        }
    }
    assert!(refused > 0, "the disk never filled up");
    assert_eq!(corrupt, 0);
    // Nobody was marked gone by a run that could not write.
    assert!(active() >= before - 5, "{} of {before} active", active());
    // A backup onto the full disk fails in one line and leaves nothing.
    let backup = s.run(&["backup", "db/copy.sqlite"]);
    assert_eq!(backup.code(), 1, "{}", backup.stderr());
    assert_eq!(
        backup.stderr().trim().lines().count(),
        1,
        "{}",
        backup.stderr()
    );
    let left: Vec<_> = std::fs::read_dir(&disk.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("copy"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Room again: the next scrape works.
    std::fs::remove_file(filler).unwrap();
    s.sim.advance(chrono::Duration::hours(12));
    s.scrape().expect(0);
    println!(
        "fault matrix: full disk: {runs} scrapes, {refused} refused in one line, {corrupt} corrupt"
    );
}

/// Kills a scrape at a point it is sure to be at (an answer that never comes
/// in time), then checks the database and that the next scrape recovers.
#[test]
fn scrapes_killed_at_each_point_leave_a_whole_database() {
    use air_demand::sim::{Fault, LIST_PROCEDURE, SIMPLE_PROCEDURE, Target};
    let s = Sandbox::new();
    s.write_config("timeout_secs = 3600");
    let hang = Fault::Slow { millis: 3_600_000 };
    let (rounds, mut corrupt, mut left_running, mut kills) = (rounds().max(4), 0, 0, 0);
    for round in 0..rounds {
        s.sim.advance(chrono::Duration::hours(12));
        // 0: waiting for the list; 1..3: waiting for the n-th detail.
        let point = round % 4;
        let (procedure, before) = if point == 0 {
            s.sim.inject(Target::List, hang, 1);
            (LIST_PROCEDURE, s.sim.requests(LIST_PROCEDURE))
        } else {
            for _ in 1..point {
                s.sim.inject(Target::Detail, Fault::Skip, 1);
            }
            s.sim.inject(Target::Detail, hang, 1);
            (SIMPLE_PROCEDURE, s.sim.requests(SIMPLE_PROCEDURE))
        };
        let wanted = before + if point == 0 { 1 } else { point };
        let mut child = spawn(&s, &["scrape", "--no-site"], &[]);
        let mut finished = false;
        while s.sim.requests(procedure) < wanted {
            // A round with fewer detail calls than the point finishes whole.
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::yield_now();
        }
        if !finished {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        let check = rusqlite::Connection::open_with_flags(
            s.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)));
        if check.as_deref() != Ok("ok") {
            corrupt += 1;
        }
        // Faults left unused (a round with fewer details) must not hang the next run.
        s.sim.clear_faults();
        let next = s.run(&["scrape", "--no-site"]);
        assert!(matches!(next.code(), 0 | 3), "{}", next.stderr());
        left_running += s.count("select count(*) from runs where status = 'running'");
    }
    assert_eq!((corrupt, left_running), (0, 0));
    assert!(kills > 0);
    println!(
        "fault matrix: scrapes killed at list/detail points: {rounds} rounds, {kills} kills, {corrupt} corrupt, {left_running} left running"
    );
}

/// A companyTip nested 80,000 deep once aborted the scrape (stack overflow)
/// and then every site build: a crash loop under systemd.
#[test]
fn a_deeply_nested_detail_is_stored_and_published() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let id = s
        .strings("select external_id from roles where tier = 'QUALIFIED' limit 1")
        .remove(0);
    let deep = "<b>".repeat(80_000) + "Backed by Sequoia";
    s.sim
        .set_detail(&id, serde_json::json!({"id": id, "companyTip": deep}));
    // A content change makes the role a detail candidate again.
    s.sim
        .edit_role(&id, |r| r["salaryUpperBound"] = serde_json::json!(331_000));
    s.scrape().expect(0);
    let notes = s.strings(&format!(
        "select company_notes from roles where external_id = '{id}'"
    ));
    assert_eq!(notes, vec!["Backed by Sequoia"]);
    s.run(&["site"]).expect(0);
    s.run(&["roles", "--explain", &id]).expect(0);
}

#[test]
fn another_programs_database_is_refused_in_one_line() {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.db_path().parent().unwrap()).unwrap();
    let other = rusqlite::Connection::open(s.db_path()).unwrap();
    other
        .execute_batch("CREATE TABLE invoices (id INTEGER, total REAL);")
        .unwrap();
    drop(other);
    let run = s.run(&["roles"]);
    assert_eq!(run.code(), 1);
    assert_eq!(run.stderr().trim().lines().count(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("another program"), "{}", run.stderr());
    // Nothing of ours was written into it.
    let tables: i64 = rusqlite::Connection::open(s.db_path())
        .unwrap()
        .query_row(
            "select count(*) from sqlite_schema where type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

/// Runs the binary in `s` to its end; its exit code and peak resident
/// memory in MB (the kernel's count, `wait4`'s `ru_maxrss`).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also measures it
fn run_measured(s: &Sandbox, args: &[&str]) -> (i32, f64, String) {
    // stderr into a file: a pipe nobody reads while waiting could fill up.
    let log = s.path().join("measured.stderr");
    let child = common::command_in(s.path(), args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting air-demand");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet waited for; both pointers are live.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss as f64 / 1024.0, stderr)
}

#[test]
fn a_flood_of_unreadable_roles_costs_bounded_memory_and_a_few_error_lines() {
    // 1.5 million `{}` items (4.5 MB of JSON): once 1.5 million error lines
    // (95 MB) and a 961 MB peak.
    let s = Sandbox::new();
    s.scrape().expect(0);
    let active = s.count("select count(*) from roles where status = 'active'");
    for round in 0..rounds().min(3) {
        s.sim.inject(
            air_demand::sim::Target::List,
            air_demand::sim::Fault::Flood { items: 1_500_000 },
            1,
        );
        let (code, peak_mb, stderr) = run_measured(&s, &["scrape", "--no-site"]);
        // Suspicious (far fewer readable roles than before): partial, and
        // nobody is gone.
        assert_eq!(code, 3, "round {round}: {stderr}");
        assert!(peak_mb < 200.0, "round {round}: peak {peak_mb:.0} MB");
        let errors: Vec<String> =
            serde_json::from_str(&s.strings("select errors from runs order by id desc limit 1")[0])
                .unwrap();
        assert!(errors.len() < 100, "{} error lines", errors.len());
        assert!(
            errors
                .iter()
                .any(|e| e.contains("1499990 more roles that could not be read")),
            "{errors:?}"
        );
        assert!(
            stderr.lines().count() < 100,
            "{} stderr lines",
            stderr.lines().count()
        );
        assert_eq!(
            s.count("select count(*) from roles where status = 'active'"),
            active
        );
        println!(
            "flood round {round}: peak {peak_mb:.0} MB, {} error lines",
            errors.len()
        );
    }
    let health = s.run(&["status", "--json"]).stdout();
    assert!(
        health.len() < 64 * 1024,
        "health.json is {} bytes",
        health.len()
    );
}

#[test]
fn a_model_answering_429_forever_cannot_hold_the_run() {
    // Each round: every model call hears 429 with a day's Retry-After.
    for round in 0..rounds() {
        let s = Sandbox::with(air_demand::sim::SimOptions {
            roles: 12,
            ..common::sim_options()
        });
        s.enable_llm("concurrency = 2\nmax_retries = 4\nmax_run_secs = 60");
        s.sim.inject(
            air_demand::sim::Target::Llm,
            air_demand::sim::Fault::RateLimited {
                retry_after_secs: 86_400,
            },
            10_000,
        );
        s.scrape().expect(0);
        let error = s.strings("select coalesce(llm_error, '-') from runs order by id desc limit 1");
        assert!(
            error[0].contains("in a row failed"),
            "round {round}: {error:?}"
        );
        s.run(&["status"])
            .expect(1)
            .stdout_has("model calls are failing");
    }
}

#[test]
fn a_board_repeating_one_job_id_costs_a_few_error_lines() {
    use air_demand::fetch::boards::Kind;
    let s = Sandbox::new();
    s.follow("[[companies]]\nname = \"Echo Co\"\nlever = \"echo\"\n");
    let job = air_demand::sim::board_job(Kind::Lever, "same-id", "Engineer", "London", None);
    s.sim.set_board(Kind::Lever, "echo", vec![job; 19_999]);
    s.scrape().expect(0);
    let errors: Vec<String> =
        serde_json::from_str(&s.strings("select errors from runs order by id desc limit 1")[0])
            .unwrap();
    assert!(
        errors.len() <= 21,
        "{} error lines: {errors:?}",
        errors.len()
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("and 19978 more like this (19978 repeated ids)")),
        "{errors:?}"
    );
    assert_eq!(
        s.count("select count(*) from roles where source = 'lever' and status = 'active'"),
        1
    );
}
