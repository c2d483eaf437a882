//! Every message helps (issue 10): each subcommand given extreme values, and
//! run with its stdout closed, ends with no panic and no backtrace, and a
//! failure is one line on stderr that says what failed and what to do. Then
//! one test per message the issue names.
//!
//! Nothing here waits on a clock: a closed stdout is closed before the
//! program starts writing (the read end is dropped as soon as it is spawned).

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use common::{Run, Sandbox, command_in, run_in};

const U64_MAX: &str = "18446744073709551615";
const I64_MAX: &str = "9223372036854775807";
const I64_MIN: &str = "-9223372036854775808";

/// Runs the binary like `run_in`, but with stdout a pipe whose reader has
/// already gone: every write to it fails with EPIPE.
fn run_with_stdout_closed(dir: &Path, args: &[&str]) -> Run {
    let mut command = command_in(dir, args);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("running air-demand");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("waiting for air-demand");
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        output: Output {
            stdout: Vec::new(),
            ..output
        },
    }
}

/// No panic, no backtrace hint; a failure says so in one `error:` line.
fn assert_composed(run: &Run) {
    let stderr = run.stderr();
    let shown = format!(
        "air-demand {}\nexit: {}\n--- stdout\n{}\n--- stderr\n{stderr}",
        run.args.join(" "),
        run.code(),
        run.stdout()
    );
    assert!(!stderr.contains("panicked"), "a panic\n{shown}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "a backtrace hint\n{shown}"
    );
    assert!(run.code() >= 0, "ended by a signal\n{shown}");
    // `status` answers 1 and 2 with its report on stdout; any other
    // non-zero exit is a failure, told in one line.
    let reported = stderr.is_empty() && !run.stdout().is_empty();
    if run.code() != 0 && !reported {
        let lines: Vec<&str> = stderr.trim().lines().collect();
        assert_eq!(lines.len(), 1, "not one line on stderr\n{shown}");
        assert!(
            lines[0].starts_with("error: "),
            "not an error line\n{shown}"
        );
    }
}

/// The one `error:` line of a failed run.
fn error_line(run: &Run) -> String {
    assert_composed(run);
    assert_ne!(run.code(), 0, "expected a failure: {}", run.stdout());
    run.stderr().trim().to_string()
}

/// A sandbox with one scrape stored (so every command gets past "no database").
fn scraped() -> Sandbox {
    let s = Sandbox::new();
    s.scrape().expect(0);
    s
}

#[test]
fn every_subcommand_survives_extreme_values() {
    let s = scraped();
    let long = "x".repeat(10_000);
    let many_v = format!("-{}", "v".repeat(300));
    let cases: Vec<Vec<&str>> = vec![
        vec!["init", "--force", "--config", ""],
        vec!["scrape", "--no-site", "--config", "nowhere.toml"],
        vec!["site", "--config", ""],
        vec!["run", "--config", "nowhere.toml"],
        vec!["status", "--json", "--config", "nowhere.toml"],
        vec!["backup", ""],
        vec!["backup", "no/such/dir/copy.sqlite"],
        vec!["backup", &long],
        vec!["export", "--format", ""],
        vec!["export", "--format", "xml"],
        vec!["export", "--format", "csv", "--out", ""],
        vec!["digest", "--out", ""],
        vec!["digest", "--out", "no/such/dir/d.eml"],
        vec!["roles", "--limit", U64_MAX],
        vec!["roles", "--limit", "0"],
        vec!["roles", "--limit", "-1"],
        vec!["roles", "--limit", ""],
        vec!["roles", "--limit", "99999999999999999999999"],
        vec!["roles", "--tier", ""],
        vec!["roles", "--tier", &long],
        vec!["roles", "--explain", ""],
        vec!["roles", "--explain", &long],
        vec!["brief", ""],
        vec!["brief", &long],
        vec!["brief", "nope", "--regenerate"],
        vec!["brief"],
        vec!["requalify", "--config", ""],
        vec!["changes", "--since", "99999999d"],
        vec!["changes", "--since", "99999999999999999999w"],
        vec!["changes", "--since", I64_MAX],
        vec!["changes", "--since", "-1d"],
        vec!["changes", "--since", "0m"],
        vec!["changes", "--since", ""],
        vec!["changes", "--since", "+262144-01-01"],
        vec!["session", "import", ""],
        vec!["session", "import", "no-such-export.json"],
        vec!["session", "status", "--config", "nowhere.toml"],
        vec!["session"],
        vec!["session", "export"],
        vec!["session", "export", "--base64", "--config", "nowhere.toml"],
        vec!["session", "import", "--cookie", "-"],
        vec!["session", "import", "--cookie", "-", "--expires", U64_MAX],
        vec!["session", "import", "--cookie", "-", "--expires", "-1d"],
        vec!["session", "import", "--cookie", &long],
        vec!["session", "import", "--from-firefox", ""],
        vec!["session", "import", "--from-firefox", &long],
        vec!["session", "import", &long],
        vec!["demo", "--rounds", U64_MAX],
        vec!["demo", "--rounds", "0"],
        vec!["demo", "--rounds", "-1"],
        vec!["demo", "--seed", "-1"],
        vec!["simulate", "--roles", U64_MAX],
        vec!["simulate", "--roles", "-1"],
        vec!["simulate", "--port", "0"],
        vec!["simulate", "--port", "65536"],
        vec!["simulate", "--seed", ""],
        vec!["--log-format", "xml", "status"],
        vec![
            "-vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
            "status",
        ],
        vec![&many_v, "run", "--config", "nowhere.toml"],
        vec!["no-such-command"],
        vec![],
        vec![""],
    ];
    for args in &cases {
        assert_composed(&s.run(args));
    }
    // The database and the session came through all of that.
    s.run(&["roles", "--limit", "1"])
        .expect(0)
        .stdout_has("1 role");
    s.run(&["session", "status"]).expect(0);
}

#[test]
fn extreme_config_values_are_refused_or_survived() {
    let s = scraped();
    for (extra, refused) in [
        (format!("request_delay_ms = {U64_MAX}"), true),
        (format!("timeout_secs = {U64_MAX}"), true),
        (format!("retry_base_ms = {U64_MAX}"), true),
        ("max_retries = 4294967295".to_string(), true),
        ("max_retries = -1".to_string(), true),
        ("request_delay_ms = 0".to_string(), false),
        (
            format!("\n[health]\nsession_warning_days = {I64_MAX}"),
            false,
        ),
        (
            format!("\n[health]\nsession_warning_days = {I64_MIN}"),
            false,
        ),
        ("\n[health]\nsession_warning_days = 0".to_string(), false),
        (
            "\n[health]\nstale_after_hours = 1e308\nunhealthy_after_hours = -1e308".to_string(),
            false,
        ),
        (
            "\n[health]\nalert_after_failed_scrapes = 0".to_string(),
            false,
        ),
    ] {
        s.write_config(&format!(
            "{extra}\n[digest]\ntransport = \"file\"\noutbox = \"outbox\""
        ));
        for args in [
            &["status"][..],
            &["status", "--json"],
            &["site"],
            &["digest", "--dry-run"],
            &["digest", "--force"],
            &["scrape", "--no-site"],
            &["session", "status"],
        ] {
            let run = s.run(args);
            assert_composed(&run);
            if refused {
                assert!(
                    run.stderr().contains("[paraform] "),
                    "{extra}: {args:?}: {}",
                    run.stderr()
                );
            }
        }
    }
}

#[test]
fn every_printing_command_ends_quietly_when_stdout_closes() {
    let s = scraped();
    let id = s.strings("select id from roles limit 1").remove(0);
    let cases: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["--version"],
        vec!["roles", "--help"],
        vec!["scrape"],
        vec!["scrape", "--no-site"],
        vec!["site"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["backup", "--force", "copy.sqlite"],
        vec!["export", "--format", "csv"],
        vec!["export", "--format", "json"],
        vec!["digest", "--dry-run"],
        vec!["roles"],
        vec!["roles", "--all", "--json"],
        vec!["roles", "--explain", &id],
        vec!["roles", "--explain", &id, "--json"],
        vec!["requalify"],
        vec!["changes", "--since", "2020-01-01"],
        vec!["changes", "--json"],
        vec!["session", "status"],
        vec!["session", "import", "export.json"],
        vec!["simulate", "--roles", "0"],
    ];
    for args in &cases {
        let run = run_with_stdout_closed(s.path(), args);
        assert_composed(&run);
        assert_eq!(run.stderr(), "", "{args:?} said something");
        assert!(
            [0, 1, 2, 3].contains(&run.code()),
            "{args:?} exit {}",
            run.code()
        );
    }
    // Work done before the output still counts: the scrape stored its runs.
    assert!(s.count("select count(*) from runs where status = 'ok'") >= 3);
    // Commands that start from nothing, too.
    let dir = tempfile::tempdir().unwrap();
    for args in [&["init"][..], &["demo", "--dir", "out", "--rounds", "1"]] {
        let run = run_with_stdout_closed(dir.path(), args);
        assert_composed(&run);
        assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr());
    }
    assert!(dir.path().join("air-demand.toml").exists());
}

// ------------------------------------------------------------ one per item

#[test]
fn item_1_huge_spans_and_counts_are_refused_in_one_line() {
    let s = scraped();
    let line = error_line(&s.run(&["changes", "--since", "99999999d"]));
    assert!(line.contains("--since \"99999999d\""), "{line}");
    assert!(line.contains("give a shorter span"), "{line}");
    let line = error_line(&s.run(&["simulate", "--roles", U64_MAX]));
    assert!(line.contains(&format!("--roles {U64_MAX}")), "{line}");
    assert!(line.contains("from 0 to 100000"), "{line}");
    // A warning window past the end of time: the session is "expiring", no overflow.
    s.write_config(&format!("\n[health]\nsession_warning_days = {I64_MAX}"));
    let run = s.run(&["status", "--json"]);
    assert_composed(&run);
    let health: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(health["session"]["state"], "expiring", "{health}");
}

#[test]
fn item_2_status_into_a_closed_pipe_is_quiet() {
    let s = scraped();
    let run = run_with_stdout_closed(s.path(), &["status"]);
    assert_composed(&run);
    assert_eq!(run.stderr(), "");
    assert_eq!(run.code(), 0);
}

#[test]
fn item_3_a_named_config_must_exist() {
    let s = scraped();
    let line = error_line(&s.run(&["--config", "air-demnad.toml", "roles"]));
    assert!(
        line.contains("config file air-demnad.toml does not exist"),
        "{line}"
    );
    assert!(
        line.contains("`air-demand init --config air-demnad.toml`"),
        "{line}"
    );
    let run = run_in(
        s.path(),
        &["status"],
        &[("AIR_DEMAND_CONFIG", "elsewhere/air-demand.toml")],
    );
    let line = error_line(&run);
    assert!(
        line.contains("elsewhere/air-demand.toml does not exist"),
        "{line}"
    );
    // The implicit default may be absent: built-in defaults.
    let empty = tempfile::tempdir().unwrap();
    run_in(empty.path(), &["session", "status"], &[])
        .expect(1)
        .stderr_has("no Paraform session");
}

#[test]
fn item_4_a_wrong_type_names_file_line_key_and_type() {
    let s = Sandbox::new();
    s.write_config("request_delay_ms = \"fast\"");
    let line = error_line(&s.run(&["roles"]));
    let key_line = std::fs::read_to_string(s.path().join("air-demand.toml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("request_delay_ms"))
        .unwrap()
        + 1;
    assert!(
        line.contains(&format!("air-demand.toml line {key_line}: ")),
        "{line}"
    );
    assert!(
        line.contains("[paraform] request_delay_ms must be a whole number"),
        "{line}"
    );
    assert!(line.contains("not the string \"fast\""), "{line}");
}

#[test]
fn item_5_expired_or_foreign_sessions_are_refused_and_named() {
    let s = Sandbox::new();
    let installed = std::fs::read(s.path().join("data/paraform_session.json")).unwrap();
    s.write_file("old.json", &s.sim.storage_state_json(1_000_000_000));
    let line = error_line(&s.run(&["session", "import", "old.json"]));
    assert!(line.contains("expired on 2001-09-09 01:46 UTC"), "{line}");
    assert!(line.contains("the installed session was kept"), "{line}");
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
    let foreign = s
        .sim
        .storage_state_json(expires)
        .replace("\"127.0.0.1\"", "\"www.paraform.com\"");
    s.write_file("foreign.json", &foreign);
    let line = error_line(&s.run(&["session", "import", "foreign.json"]));
    assert!(line.contains("is for www.paraform.com"), "{line}");
    assert!(line.contains("base_url is on 127.0.0.1"), "{line}");
    assert_eq!(
        std::fs::read(s.path().join("data/paraform_session.json")).unwrap(),
        installed,
        "a refused import replaced the session"
    );
    // Installed behind our back, a foreign cookie is named at scrape time.
    s.write_file("data/paraform_session.json", &foreign);
    let run = s.scrape();
    assert_composed(&run);
    assert!(
        run.stderr().contains("is for www.paraform.com"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("logged out"), "{}", run.stderr());
}

#[test]
fn item_6_an_unreachable_server_says_what_to_check() {
    let s = Sandbox::new();
    // A port nobody listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.write_config(&format!(
        "base_url = \"http://127.0.0.1:{port}\"\nmax_retries = 0"
    ));
    let run = s.scrape();
    let line = error_line(&run);
    assert!(line.contains("connection failed"), "{line}");
    assert!(
        line.contains("check the network, [paraform] base_url and any proxy"),
        "{line}"
    );
    assert!(!line.contains("?input="), "a query string: {line}");
}

#[test]
fn item_7_a_dry_run_digest_reads_as_a_message() {
    let s = scraped();
    let run = s.run(&["digest", "--dry-run"]).expect(0);
    let out = run.stdout();
    let mut lines = out.lines();
    assert!(
        lines.next().unwrap().starts_with("Subject: Air Demand:"),
        "{out}"
    );
    assert!(lines.next().unwrap().starts_with("From: "), "{out}");
    assert!(lines.next().unwrap().starts_with("To: "), "{out}");
    for wire in [
        "Content-Transfer-Encoding",
        "=3D",
        "=\r\n",
        "MIME-Version",
        "boundary=",
    ] {
        assert!(!out.contains(wire), "{wire:?} in\n{out}");
    }
}

#[test]
fn item_8_a_backup_leaves_only_the_copy() {
    let s = scraped();
    std::fs::create_dir(s.path().join("backups")).unwrap();
    s.run(&["backup", "backups/copy.sqlite"])
        .expect(0)
        .stdout_has("integrity ok");
    // Refused (exists), then replaced: still only the copy.
    s.run(&["backup", "backups/copy.sqlite"])
        .expect(1)
        .stderr_has("--force");
    s.run(&["backup", "--force", "backups/copy.sqlite"])
        .expect(0);
    let names: Vec<String> = std::fs::read_dir(s.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["copy.sqlite".to_string()]);
    let roles: i64 = rusqlite::Connection::open(s.path().join("backups/copy.sqlite"))
        .unwrap()
        .query_row("select count(*) from roles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(roles, s.count("select count(*) from roles"));
}

#[test]
fn item_9_every_roles_column_has_an_aligned_header() {
    let s = scraped();
    let out = s.run(&["roles"]).expect(0).stdout();
    let json: serde_json::Value =
        serde_json::from_str(&s.run(&["roles", "--json"]).expect(0).stdout()).unwrap();
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    let column = |name: &str| {
        header
            .find(name)
            .unwrap_or_else(|| panic!("{name}: {header}"))
    };
    for name in [
        "TIER", "SCORE", "FEE", "SALARY", "TREND", "COMPANY", "TITLE", "ID",
    ] {
        column(name);
    }
    for (line, role) in lines.zip(json.as_array().unwrap()) {
        let chars: Vec<char> = line.chars().collect();
        let at = |name: &str| -> String {
            chars[header[..column(name)].chars().count()..]
                .iter()
                .collect()
        };
        let company = role["company"].as_str().unwrap_or("-");
        let title = role["title"].as_str().unwrap_or("-");
        assert!(
            at("COMPANY").starts_with(&company.chars().take(20).collect::<String>()),
            "{header}\n{line}"
        );
        assert!(
            at("TITLE").starts_with(&title.chars().take(20).collect::<String>()),
            "{header}\n{line}"
        );
        assert!(
            at("ID").starts_with(role["id"].as_str().unwrap()),
            "{header}\n{line}"
        );
    }
}

#[test]
fn item_10_every_subcommand_and_flag_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for (command, flags) in [
        (&["status"][..], &["--json"][..]),
        (
            &["roles"],
            &["--limit", "--json", "--tier", "--all", "--explain"],
        ),
        (&["export"], &["--format", "--out", "--force"]),
        (&["backup"], &["<PATH>", "--force"]),
        (
            &["session", "import"],
            &["[FILE]", "--from-firefox", "--cookie", "--expires"],
        ),
        (&["session", "export"], &["--base64"]),
        (&["simulate"], &["--port", "--seed", "--roles"]),
        (&["changes"], &["--since", "--json"]),
        (&["demo"], &["--dir", "--rounds", "--seed"]),
    ] {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let out = run_in(dir.path(), &args, &[]).expect(0).stdout();
        let lines: Vec<&str> = out.lines().collect();
        for flag in flags {
            let at = lines
                .iter()
                .position(|l| l.trim_start().starts_with(flag))
                .unwrap_or_else(|| panic!("{flag} missing from\n{out}"));
            // `  --json  Print ...`, or the help indented on the next line.
            let same_line = lines[at]
                .split("  ")
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .count()
                >= 2;
            let indent = |l: &str| l.len() - l.trim_start().len();
            let next_line = lines.get(at + 1).is_some_and(|next| {
                !next.trim().is_empty()
                    && indent(next) > indent(lines[at])
                    && !next.trim_start().starts_with('-')
            });
            assert!(same_line || next_line, "{flag} has no help in\n{out}");
        }
    }
}

#[test]
fn usage_mistakes_are_one_line_with_where_to_look() {
    let dir = tempfile::tempdir().unwrap();
    let line = error_line(&run_in(dir.path(), &["roles", "--limit", "-1"], &[]));
    assert!(line.contains("'-1'") && line.contains("--limit"), "{line}");
    assert!(
        line.ends_with("`air-demand roles --help` lists what it takes"),
        "{line}"
    );
    let line = error_line(&run_in(dir.path(), &["export"], &[]));
    assert!(line.contains("--format"), "{line}");
    let line = error_line(&run_in(dir.path(), &["session"], &[]));
    assert!(
        line.contains("one of: import, login, export, status"),
        "{line}"
    );
}
