//! The command line as a user meets it: init, configuration errors, listings,
//! and the demo.

mod common;

use common::{Sandbox, run_in};

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
        .expect(1)
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
