//! The command line as a user meets it: init, configuration errors, listings,
//! the demo, exit code 2 for every command-line mistake, the service's
//! environment file, and stderr as JSON lines and with journald priorities.

mod common;

use std::path::Path;
use std::process::Stdio;

use air_demand::sim::{Fault, Target};
use common::{Run, Sandbox, command_in, run_in};

#[test]
fn init_writes_a_config_and_database_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &["init"], &[])
        .expect(0)
        .stdout_has("wrote air-demand.toml");
    assert!(dir.path().join("data/air-demand.sqlite").exists());
    let text = std::fs::read_to_string(dir.path().join("air-demand.toml")).unwrap();
    assert!(text.contains("request_delay_ms = 2000"));
    run_in(dir.path(), &["init"], &[])
        .expect(1)
        .stderr_has("already exists; use --force");
    run_in(dir.path(), &["init", "--force"], &[]).expect(0);
    // The config is found through the environment too.
    std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
    run_in(dir.path(), &["--config", "elsewhere/x.toml", "init"], &[]).expect(0);
    assert!(dir.path().join("elsewhere/data/air-demand.sqlite").exists());
    run_in(
        dir.path(),
        &["roles"],
        &[("AIR_DEMAND_CONFIG", "elsewhere/x.toml")],
    )
    .expect(0)
    .stdout_has("0 roles");
}

#[test]
fn config_mistakes_are_one_line_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("air-demand.toml"),
        "[paraform]\nenabled = true\nrequest_delay = 5\n",
    )
    .unwrap();
    let run = run_in(dir.path(), &["roles"], &[])
        .expect(1)
        .stderr_has("air-demand.toml line 3")
        .stderr_has("request_delay");
    assert_eq!(run.stderr().trim().lines().count(), 1, "{}", run.stderr());
    std::fs::write(dir.path().join("air-demand.toml"), "[paraform\n").unwrap();
    run_in(dir.path(), &["roles"], &[])
        .expect(1)
        .stderr_has("air-demand.toml line 1");
    std::fs::write(
        dir.path().join("air-demand.toml"),
        "[digest]\ntransport = \"fax\"\n",
    )
    .unwrap();
    run_in(dir.path(), &["roles"], &[])
        .expect(1)
        .stderr_has("transport");
}

#[test]
fn listings_show_roles_and_changes() {
    let s = Sandbox::new();
    s.run(&["roles"]).expect(1).stderr_has("no database");
    s.scrape().expect(0);
    let n = s.sim.active_ids().len();
    s.run(&["roles"])
        .expect(0)
        .stdout_has(&format!("{n} roles"));
    s.run(&["roles", "--limit", "3"])
        .expect(0)
        .stdout_has("3 roles");
    let json: serde_json::Value =
        serde_json::from_str(&s.run(&["roles", "--json"]).expect(0).stdout()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), n);
    s.sim.remove_role(&s.sim.active_ids()[0]);
    s.scrape().expect(0);
    s.run(&["roles"])
        .expect(0)
        .stdout_has(&format!("{} roles", n - 1));
    s.run(&["roles", "--all"])
        .expect(0)
        .stdout_has(&format!("{n} roles"))
        .stdout_has("gone");
    s.run(&["changes", "--since", "1h"])
        .expect(0)
        .stdout_has("DISAPPEARED")
        .stdout_has(&format!("{} changes", n + 1));
    let json: serde_json::Value = serde_json::from_str(
        &s.run(&["changes", "--json", "--since", "2020-01-01"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), n + 1);
    s.run(&["changes", "--since", "soon"])
        .expect(2)
        .stderr_has("is not a span");
}

#[test]
fn demo_runs_rounds_of_changes_offline() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["demo", "--dir", "out", "--rounds", "5"], &[]).expect(0);
    for round in 1..=5 {
        assert!(
            run.stdout().contains(&format!("Round {round} ")),
            "{}",
            run.stdout()
        );
    }
    let run = run
        .stdout_has("Digest:")
        .stdout_has("Site:")
        .stdout_has("429")
        .stdout_has("empty list")
        .stdout_has("sqlite3 out/demo.sqlite");
    let s = rusqlite::Connection::open(dir.path().join("out/demo.sqlite")).unwrap();
    let kinds: Vec<String> = s
        .prepare("select distinct kind from changes order by 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for kind in [
        "NEW",
        "DISAPPEARED",
        "SALARY_INCREASE",
        "FEE_CHANGE",
        "INTERVIEW_INCREASE",
    ] {
        assert!(
            kinds.contains(&kind.to_string()),
            "{kind} missing from {kinds:?}\n{}",
            run.stdout()
        );
    }
    let statuses: Vec<String> = s
        .prepare("select status from runs order by id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(statuses, vec!["ok", "ok", "ok", "partial", "ok"]);
    // The site and the digest are where it says.
    assert!(dir.path().join("out/demo-site/index.html").exists());
    let outbox: Vec<_> = std::fs::read_dir(dir.path().join("out/demo-outbox"))
        .unwrap()
        .collect();
    assert_eq!(outbox.len(), 1);
    // Every link works after the demo exits: none points at the simulator's
    // loopback port; role links name paraform.com with made-up `clsim` ids,
    // and the digest links to role pages of the generated site.
    let dead: i64 = s
        .query_row(
            "select count(*) from roles where (source = 'paraform' and url not like 'https://www.paraform.com/company/%/clsim%') or url like '%127.0.0.1%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dead, 0);
    let eml = std::fs::read_to_string(outbox[0].as_ref().unwrap().path()).unwrap();
    let eml = eml
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(!eml.contains("127.0.0.1"), "{eml}");
    let site = std::path::absolute(dir.path().join("out/demo-site")).unwrap();
    let link = format!("file://{}/roles/", site.display());
    let start = eml
        .find(&link)
        .unwrap_or_else(|| panic!("no {link} in\n{eml}"));
    let page = &eml[start + "file://".len()..];
    let page = &page[..page.find(".html").unwrap() + ".html".len()];
    assert!(std::path::Path::new(page).exists(), "{page}");
    for entry in walk(&dir.path().join("out/demo-site")) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(!text.contains("127.0.0.1"), "{}", entry.display());
    }
    // Its config lets the other commands look at the result.
    run_in(
        dir.path(),
        &["--config", "out/demo.toml", "roles", "--limit", "2"],
        &[],
    )
    .expect(0)
    .stdout_has("2 roles");
    // Running it again starts afresh.
    run_in(dir.path(), &["demo", "--dir", "out", "--rounds", "1"], &[]).expect(0);
    let runs: i64 = rusqlite::Connection::open(dir.path().join("out/demo.sqlite"))
        .unwrap()
        .query_row("select count(*) from runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 1);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A mistake on the command line exits 2 with one line saying what was
/// wrong and which `--help` to read, whether clap or the command found it.
#[test]
fn every_command_line_mistake_exits_2_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["roles", "--tier", "BEST"],
        vec!["roles", "--tier", ""],
        vec!["roles", "--limit", "abc"],
        vec!["roles", "--limit", "-1"],
        vec!["roles", "--limit", "1.5"],
        vec!["roles", "--limit", "99999999999999999999999"],
        vec!["changes", "--since", "soon"],
        vec!["changes", "--since", "-1d"],
        vec!["changes", "--since", "99999999d"],
        vec!["changes", "--since", ""],
        vec!["companies", "discover", "--limit", "many"],
        vec!["companies", "discover", "--limit", "-3"],
        vec!["demo", "--rounds", "0"],
        vec!["simulate", "--roles", "100001"],
        vec!["simulate", "--port", "70000"],
        vec!["session", "import", "--cookie", "the-token-itself"],
        vec!["session", "import", "--cookie", "-", "--expires", "someday"],
        vec!["export", "--format", "xml"],
        vec!["export"],
        vec!["backup", ""],
        vec!["--log-format", "xml", "status"],
        vec!["rols"],
        vec!["session"],
    ];
    if cfg!(feature = "browser") {
        cases.push(vec!["session", "login", "--headless", "--timeout", "soon"]);
    }
    for args in &cases {
        let run = run_in(dir.path(), args, &[]).expect(2);
        let stderr = run.stderr();
        let lines: Vec<&str> = stderr.trim().lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(lines[0].starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            lines[0].ends_with("lists what it takes") || lines[0].ends_with("describes them"),
            "{args:?}: no --help named: {stderr}"
        );
        assert!(
            !stderr.contains("the-token-itself"),
            "a cookie on the command line was repeated: {stderr}"
        );
    }
    // A file that is not there, a role that does not exist: not a mistake
    // in how the command was written, exit 1.
    run_in(dir.path(), &["--config", "nowhere.toml", "roles"], &[]).expect(1);
    run_in(dir.path(), &["init"], &[]).expect(0);
    run_in(dir.path(), &["roles", "--explain", "paraform:nope"], &[]).expect(1);
    // `status` keeps 2 for unhealthy: its report, not a usage line.
    run_in(dir.path(), &["status"], &[])
        .expect(2)
        .stdout_has("unhealthy");
}

/// Each stderr line parsed as a JSON object in tracing's shape; panics with
/// the whole of stderr otherwise.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n--- stderr\n{stderr}"));
            for key in ["timestamp", "level", "fields", "target"] {
                assert!(value.get(key).is_some(), "no {key} in {line}");
            }
            let at = value["timestamp"].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(at).is_ok(),
                "timestamp {at:?}"
            );
            assert!(value["fields"]["message"].is_string(), "{line}");
            value
        })
        .collect()
}

#[test]
fn with_log_format_json_fatal_errors_are_json_lines_too() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let json = |args: &[&str]| -> Run {
        let all: Vec<&str> = ["--log-format", "json"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        s.run(&all)
    };
    // A usage mistake clap finds, one the command finds, and a failure.
    for (args, code, words) in [
        (&["roles", "--limt", "3"][..], 2, "'--limt'"),
        (&["roles", "--tier", "BEST"], 2, "--tier \"BEST\""),
        (&["changes", "--since", "soon"], 2, "--since \"soon\""),
        (
            &["--config", "nowhere.toml", "roles"],
            1,
            "nowhere.toml does not exist",
        ),
        (
            &["roles", "--explain", "paraform:nope"],
            1,
            "no role with id",
        ),
        (&["backup", "no/such/dir/copy.sqlite"], 1, "no/such/dir"),
    ] {
        let run = json(args).expect(code);
        let lines = json_lines(&run.stderr());
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr());
        assert_eq!(lines[0]["level"], "ERROR", "{args:?}");
        let message = lines[0]["fields"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{args:?}: {message}");
        assert!(!message.starts_with("error:"), "{message}");
    }
    // `--log-format=json` is read even when clap refuses the rest.
    let run = s
        .run(&["roles", "--log-format=json", "--limit", "x"])
        .expect(2);
    assert_eq!(json_lines(&run.stderr()).len(), 1);
    // `status` on a config it cannot use: its report on stdout, the error as JSON.
    let run = json(&["--config", "nowhere.toml", "status"]).expect(2);
    assert_eq!(json_lines(&run.stderr())[0]["level"], "ERROR");
    // A partial scrape's warnings and the client's retries, all JSON.
    s.sim.inject(Target::List, Fault::ServerError, 1);
    s.sim.inject(Target::List, Fault::EmptyList, 1);
    let run = json(&["scrape", "--no-site"]).expect(3);
    let lines = json_lines(&run.stderr());
    let warnings: Vec<&str> = lines
        .iter()
        .filter(|l| l["level"] == "WARN")
        .map(|l| l["fields"]["message"].as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("retrying")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("zero roles")),
        "{warnings:?}"
    );
}

/// Runs the binary in `dir` with stderr going to a file, and `JOURNAL_STREAM`
/// naming that file (as systemd names the journal's socket) when `journal`,
/// or naming something else; returns the exit code and stderr.
fn run_under_systemd(dir: &Path, args: &[&str], journal: bool) -> (i32, String) {
    use std::os::unix::fs::MetadataExt;
    let path = dir.join("stderr.log");
    let file = std::fs::File::create(&path).unwrap();
    let meta = file.metadata().unwrap();
    let stream = if journal {
        format!("{}:{}", meta.dev(), meta.ino())
    } else {
        format!("{}:{}", meta.dev(), meta.ino() + 1)
    };
    let status = command_in(dir, args)
        .env("JOURNAL_STREAM", stream)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .status()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(&path).unwrap(),
    )
}

#[test]
fn under_systemd_each_line_carries_its_journald_priority() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    // Retries (tracing's warnings) and a partial run's warning, as JSON.
    s.sim.inject(Target::List, Fault::ServerError, 1);
    s.sim.inject(Target::List, Fault::EmptyList, 1);
    let (code, stderr) = run_under_systemd(
        s.path(),
        &["--log-format", "json", "scrape", "--no-site"],
        true,
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(!stderr.is_empty());
    for line in stderr.lines() {
        let (priority, rest) = line.split_at(3);
        let value: serde_json::Value =
            serde_json::from_str(rest).unwrap_or_else(|e| panic!("{e}: {line}"));
        let expected = match value["level"].as_str().unwrap() {
            "ERROR" => "<3>",
            "WARN" => "<4>",
            "INFO" => "<6>",
            _ => "<7>",
        };
        assert_eq!(priority, expected, "{line}");
    }
    assert!(stderr.lines().any(|l| l.starts_with("<4>")), "{stderr}");
    // A notice for people is info.
    let (code, stderr) = run_under_systemd(
        s.path(),
        &[
            "--log-format",
            "json",
            "export",
            "--format",
            "csv",
            "--out",
            "roles.csv",
        ],
        true,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with("<6>{")
            && stderr.contains("\"level\":\"INFO\"")
            && stderr.contains("exported"),
        "{stderr}"
    );
    // A fatal error, in both formats.
    let (code, stderr) = run_under_systemd(
        s.path(),
        &["--log-format", "json", "roles", "--tier", "BEST"],
        true,
    );
    assert_eq!(code, 2);
    assert!(stderr.starts_with("<3>{"), "{stderr}");
    let (code, stderr) = run_under_systemd(s.path(), &["roles", "--explain", "x"], true);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("<3>error: no role"), "{stderr}");
    // A text warning: the scrape's, and the client's retry through tracing.
    s.sim.inject(Target::List, Fault::ServerError, 1);
    s.sim.inject(Target::List, Fault::EmptyList, 1);
    let (code, stderr) = run_under_systemd(s.path(), &["scrape", "--no-site"], true);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.lines().any(|l| l.starts_with("<4>warning: ")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("<4>") && l.contains("retrying")),
        "{stderr}"
    );
    // JOURNAL_STREAM inherited by a process whose stderr went elsewhere: no prefixes.
    let (code, stderr) = run_under_systemd(s.path(), &["roles", "--explain", "x"], false);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("error: no role"), "{stderr}");
}

/// Writes `text` to `dir/name` with `mode`.
fn write_with_mode(dir: &Path, name: &str, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_services_env_file_is_read_by_every_command_and_must_be_private() {
    use base64::Engine;
    let s = Sandbox::new();
    let encoded = |days: i64| {
        let expires = (chrono::Utc::now() + chrono::Duration::days(days)).timestamp();
        base64::engine::general_purpose::STANDARD.encode(s.sim.storage_state_json(expires))
    };
    let (in_file, in_dotenv, in_process) = (encoded(20), encoded(40), encoded(10));
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    std::fs::create_dir(s.path().join("etc")).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!("{config}\n[secrets]\nenv_file = \"etc/env\"\n"),
    );
    // "expires on … (in 19 days)": which of the three sessions is in force.
    let days_left = |run: &Run| -> i64 {
        let out = run.stdout();
        let at = out.find("(in ").unwrap_or_else(|| panic!("{out}"));
        out[at + 4..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{out}"))
    };
    // Named but missing: what to do, exit 1.
    s.run(&["session", "status"])
        .expect(1)
        .stderr_has("[secrets] env_file")
        .stderr_has("does not exist");
    // Open to its group: refused, and how to fix it.
    write_with_mode(
        &s.path().join("etc"),
        "env",
        &format!("# the service's\nPARAFORM_SESSION_JSON={in_file}\n"),
        0o640,
    );
    let run = s.run(&["session", "status"]).expect(1);
    let run = run.stderr_has("mode 0640").stderr_has("chmod 600");
    assert_eq!(run.stderr().trim().lines().count(), 1, "{}", run.stderr());
    // Private: read, relative to the config's directory, over `.env`.
    write_with_mode(
        &s.path().join("etc"),
        "env",
        &format!("PARAFORM_SESSION_JSON={in_file}\n"),
        0o600,
    );
    s.write_file(".env", &format!("PARAFORM_SESSION_JSON={in_dotenv}\n"));
    let run = s
        .run(&["session", "status"])
        .expect(0)
        .stdout_has("PARAFORM_SESSION_JSON");
    assert!((19..=20).contains(&days_left(&run)), "{}", run.stdout());
    // The process environment wins over the file.
    let run = run_in(
        s.path(),
        &["session", "status"],
        &[("PARAFORM_SESSION_JSON", &in_process)],
    )
    .expect(0);
    assert!((9..=10).contains(&days_left(&run)), "{}", run.stdout());
    // The secret itself never shows.
    for run in [s.run(&["session", "status"]), s.run(&["status"])] {
        for secret in [&in_file, &in_dotenv] {
            assert!(
                !run.stdout().contains(secret.as_str()) && !run.stderr().contains(secret.as_str())
            );
        }
    }
    // A scrape uses it (the session file is gone: only the env file has one).
    std::fs::remove_file(s.path().join("data/paraform_session.json")).unwrap();
    std::fs::remove_file(s.path().join(".env")).unwrap();
    s.scrape().expect(0);
}

#[test]
fn init_names_the_env_file_of_the_deployment_commented() {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &["init"], &[]).expect(0);
    let text = std::fs::read_to_string(dir.path().join("air-demand.toml")).unwrap();
    assert!(
        text.contains("[secrets]\n") && text.contains("\n# env_file = \"/etc/air-demand/env\"\n"),
        "{text}"
    );
    // Uncommented, it is the file every command reads.
    let missing = dir.path().join("etc/env");
    std::fs::write(
        dir.path().join("air-demand.toml"),
        text.replace(
            "# env_file = \"/etc/air-demand/env\"",
            &format!("env_file = {:?}", missing.display().to_string()),
        ),
    )
    .unwrap();
    run_in(dir.path(), &["roles"], &[])
        .expect(1)
        .stderr_has(&format!("{} does not exist", missing.display()));
}
