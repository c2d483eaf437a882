//! `scrape` against the simulated marketplace: every storage and tracking rule
//! of SPEC §4, and every way the marketplace can misbehave.

mod common;

use air_demand::sim::{Fault, SimOptions, Target};
use common::{Sandbox, sim_options};
use serde_json::json;

const LIST: &str = "activeRoles.searchActiveRoles";

fn active_count(s: &Sandbox) -> i64 {
    s.count("select count(*) from roles where status = 'active'")
}

#[test]
fn first_scrape_stores_every_role_once() {
    let s = Sandbox::new();
    let expected = s.sim.active_ids().len() as i64;
    s.scrape().expect(0).stdout_has(&format!(
        "{expected} seen, {expected} new, 0 changed, 0 gone"
    ));
    assert_eq!(active_count(&s), expected);
    assert_eq!(s.count("select count(*) from role_versions"), expected);
    assert_eq!(
        s.count("select count(*) from changes where kind = 'NEW'"),
        expected
    );
    assert_eq!(s.strings("select status from runs"), vec!["ok"]);
    assert_eq!(
        s.count("select count(*) from roles where id not like 'paraform:%'"),
        0
    );
    assert_eq!(
        s.count("select count(*) from roles where url not like 'http://127.0.0.1:%/company/%/%'"),
        0
    );
    assert_eq!(s.strings("pragma journal_mode"), vec!["wal"]);
    // Timestamps are RFC 3339 UTC seconds.
    let started = s.strings("select started_at from runs").remove(0);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&started).is_ok() && started.ends_with('Z'),
        "{started}"
    );
}

#[test]
fn unchanged_rescrape_adds_no_versions_and_no_changes() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let versions = s.count("select count(*) from role_versions");
    let changes = s.count("select count(*) from changes");
    s.scrape()
        .expect(0)
        .stdout_has("0 new, 0 changed, 0 gone, 0 reappeared");
    assert_eq!(s.count("select count(*) from role_versions"), versions);
    assert_eq!(s.count("select count(*) from changes"), changes);
    assert_eq!(s.count("select count(*) from runs where status = 'ok'"), 2);
}

#[test]
fn volatile_edits_and_reordered_locations_add_nothing() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let versions = s.count("select count(*) from role_versions");
    let ids = s.sim.active_ids();
    for id in &ids {
        s.sim.edit_role(id, |role| {
            role["recruiter_last_active"] = json!("2030-01-01T00:00:00.000Z");
            role["manager_last_active"] = json!("2030-01-02T00:00:00.000Z");
            role["responsiveness_days"] = json!(9.5);
            if let Some(locations) = role["locations"].as_array_mut() {
                locations.reverse();
            }
        });
    }
    s.scrape().expect(0).stdout_has("0 changed");
    assert_eq!(s.count("select count(*) from role_versions"), versions);
    assert_eq!(
        s.count("select count(*) from changes where kind != 'NEW'"),
        0
    );
    // The latest raw JSON is still kept, volatile fields included.
    assert_eq!(
        s.count("select count(*) from roles where json_extract(raw, '$.recruiter_last_active') = '2030-01-01T00:00:00.000Z'"),
        ids.len() as i64
    );
}

#[test]
fn every_tracked_edit_yields_its_change_kind() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let ids = s.sim.active_ids();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "SALARY_INCREASE",
            Box::new(|r| {
                r["salaryUpperBound"] =
                    json!(r["salaryUpperBound"].as_f64().unwrap_or(0.0) + 25000.0)
            }),
        ),
        (
            "SALARY_DECREASE",
            Box::new(|r| {
                r["salaryLowerBound"] =
                    json!(r["salaryLowerBound"].as_f64().unwrap_or(200000.0) - 10000.0)
            }),
        ),
        ("FEE_CHANGE", Box::new(|r| r["percent_fee"] = json!(31.5))),
        (
            "HEADCOUNT_CHANGE",
            Box::new(|r| r["hiring_count"] = json!(17)),
        ),
        (
            "COMPETITION_CHANGE",
            Box::new(|r| r["approved_recruiters_count"] = json!(99)),
        ),
        (
            "INTERVIEW_INCREASE",
            Box::new(|r| {
                r["total_interviewing"] = json!(r["total_interviewing"].as_i64().unwrap_or(0) + 4)
            }),
        ),
        (
            "HIRING_INCREASE",
            Box::new(|r| r["total_hired"] = json!(r["total_hired"].as_i64().unwrap_or(0) + 1)),
        ),
        (
            "LOCATION_CHANGE",
            Box::new(|r| r["locations"] = json!(["boston", "chicago"])),
        ),
        ("STATUS_CHANGE", Box::new(|r| r["status"] = json!("PAUSED"))),
    ];
    for (i, (_, edit)) in edits.iter().enumerate() {
        s.sim.edit_role(&ids[i], edit);
    }
    // Interviews falling needs a role with some to lose.
    s.sim
        .edit_role(&ids[edits.len()], |r| r["total_interviewing"] = json!(6));
    s.scrape().expect(0);
    s.sim
        .edit_role(&ids[edits.len()], |r| r["total_interviewing"] = json!(0));
    s.scrape().expect(0);

    for (i, (kind, _)) in edits.iter().enumerate() {
        let kinds = s.strings(&format!(
            "select kind from changes where role_id = 'paraform:{}' and kind not in ('NEW', 'TIER_CHANGE')",
            ids[i]
        ));
        assert_eq!(kinds, vec![kind.to_string()], "role {i}");
    }
    let last = s.strings(&format!(
        "select kind || ' ' || old_value || ' ' || new_value from changes where role_id = 'paraform:{}' and kind like 'INTERVIEW%' order by id",
        ids[edits.len()]
    ));
    assert_eq!(last.last().unwrap(), "INTERVIEW_DECREASE 6 0");
    assert_eq!(
        s.strings(&format!("select new_value from changes where kind = 'LOCATION_CHANGE' and role_id = 'paraform:{}'", ids[7])),
        vec!["boston, chicago"]
    );
    // Each edited role has exactly one new version.
    assert_eq!(
        s.count(&format!(
            "select count(*) from role_versions where role_id = 'paraform:{}'",
            ids[0]
        )),
        2
    );
}

#[test]
fn removed_roles_go_after_a_clean_fetch_and_come_back_as_reappeared() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let ids = s.sim.active_ids();
    s.sim.remove_role(&ids[0]);
    s.sim.remove_role(&ids[1]);
    s.scrape().expect(0).stdout_has("2 gone");
    assert_eq!(
        s.strings("select id from roles where status = 'gone' and gone_at is not null order by id")
            .len(),
        2
    );
    assert_eq!(
        s.count("select count(*) from changes where kind = 'DISAPPEARED'"),
        2
    );

    s.sim.restore_role(&ids[0]);
    s.scrape().expect(0).stdout_has("1 reappeared");
    let status: String = s
        .strings(&format!(
            "select status || coalesce(gone_at, '-') from roles where id = 'paraform:{}'",
            ids[0]
        ))
        .remove(0);
    assert_eq!(status, "active-");
    assert_eq!(
        s.count("select count(*) from changes where kind = 'REAPPEARED'"),
        1
    );
    assert_eq!(
        s.count("select roles_reappeared from runs order by id desc limit 1"),
        1
    );
}

/// Each misbehaviour: one role was really removed, yet nobody is marked gone,
/// the run is not ok, and stderr says why in one line.
#[test]
fn misbehaving_marketplace_marks_nobody_gone() {
    let cases: Vec<(Fault, usize, i32, &str, &str)> = vec![
        (
            Fault::ServerError,
            3,
            1,
            "failed",
            "HTTP 500 after 3 attempts",
        ),
        (
            Fault::Unauthorized,
            1,
            1,
            "failed",
            "Paraform rejected the session",
        ),
        (
            Fault::RedirectToLogin,
            1,
            1,
            "failed",
            "Paraform rejected the session",
        ),
        (
            Fault::Truncated,
            1,
            1,
            "failed",
            "malformed response: invalid JSON",
        ),
        (
            Fault::Html,
            1,
            1,
            "failed",
            "malformed response: an HTML page instead of JSON",
        ),
        (Fault::WrongShape, 1, 1, "failed", "malformed response"),
        (
            Fault::EmptyList,
            1,
            3,
            "partial",
            "returned zero roles; nobody was marked gone",
        ),
        // An answer that never comes in time (not merely a bit late: a
        // loaded machine must not turn a normal answer into a timeout, nor
        // this one into an answer).
        (
            Fault::Slow { millis: 3_600_000 },
            3,
            1,
            "failed",
            "timed out",
        ),
    ];
    let s = Sandbox::new();
    s.write_config("timeout_secs = 2\n");
    s.scrape().expect(0);
    let before = active_count(&s);
    let ids = s.sim.active_ids();
    s.sim.remove_role(&ids[0]);
    for (fault, times, code, status, message) in cases {
        let label = format!("{fault:?}");
        s.sim.inject(Target::List, fault, times);
        let run = s.scrape().expect(code).stderr_has(message);
        assert_eq!(active_count(&s), before, "{label}: a role was marked gone");
        assert_eq!(
            s.count("select count(*) from changes where kind = 'DISAPPEARED'"),
            0,
            "{label}"
        );
        assert_eq!(
            s.strings("select status from runs order by id desc limit 1"),
            vec![status],
            "{label}"
        );
        let errors = s
            .strings("select errors from runs order by id desc limit 1")
            .remove(0);
        assert!(errors.contains(message), "{label}: errors column {errors}");
        // Retries are logged as they happen; the reason itself is one line.
        let error_lines: Vec<String> = run
            .stderr()
            .lines()
            .filter(|line| line.starts_with("error:") || line.starts_with("warning:"))
            .map(str::to_string)
            .collect();
        assert_eq!(
            error_lines.len(),
            1,
            "{label}: expected one reason on stderr: {}",
            run.stderr()
        );
    }
    // The marketplace recovers: the removed role is now gone, and only it.
    s.scrape().expect(0).stdout_has("1 gone");
}

#[test]
fn rate_limit_then_success_is_a_good_run() {
    let s = Sandbox::new();
    s.sim.inject(
        Target::List,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );
    let started = std::time::Instant::now();
    s.scrape().expect(0);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "Retry-After was not honoured"
    );
    assert_eq!(s.sim.requests(LIST), 2);
    assert_eq!(s.strings("select status from runs"), vec!["ok"]);
    let details = s.sim.requests(air_demand::sim::SIMPLE_PROCEDURE) as i64;
    assert_eq!(s.count("select requests from runs"), 2 + details);
}

#[test]
fn fewer_than_half_of_the_roles_is_partial() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let ids = s.sim.active_ids();
    for id in &ids[..ids.len() / 2 + 1] {
        s.sim.remove_role(id);
    }
    s.scrape()
        .expect(3)
        .stderr_has("fewer than half")
        .stdout_has("partial");
    assert_eq!(active_count(&s), ids.len() as i64);
}

#[test]
fn roles_without_id_or_with_a_duplicate_id_are_skipped_and_recorded() {
    let s = Sandbox::new();
    let ids = s.sim.active_ids();
    let mut copy = s.sim.role(&ids[0]).unwrap();
    copy["name"] = json!("A duplicate");
    s.sim.add_role(copy);
    let mut anonymous = s.sim.role(&ids[1]).unwrap();
    anonymous.as_object_mut().unwrap().remove("id");
    s.sim.add_role(anonymous);
    s.scrape().expect(0).stdout_has("2 errors");
    assert_eq!(active_count(&s), ids.len() as i64);
    let errors = s.strings("select errors from runs").remove(0);
    assert!(errors.contains("has no id"), "{errors}");
    assert!(errors.contains("second role with id"), "{errors}");
    assert_ne!(
        s.strings(&format!(
            "select title from roles where id = 'paraform:{}'",
            ids[0]
        ))[0],
        "A duplicate"
    );
}

#[test]
fn paginated_lists_are_read_to_the_end() {
    let s = Sandbox::with(SimOptions {
        page_size: Some(7),
        ..sim_options()
    });
    let expected = s.sim.active_ids().len();
    s.scrape().expect(0).stdout_has(&format!("{expected} seen"));
    assert_eq!(s.sim.requests(LIST), expected.div_ceil(7).max(1));
    // A failure on a later page is a failed fetch, not a short list.
    s.sim.remove_role(&s.sim.active_ids()[0]);
    s.sim.inject(Target::List, Fault::Skip, 1);
    s.sim.inject(Target::List, Fault::Html, 1);
    s.scrape().expect(1).stderr_has("HTML page");
    assert_eq!(active_count(&s), expected as i64);
}

#[test]
fn a_run_left_running_by_a_killed_process_is_marked_failed() {
    let s = Sandbox::new();
    // The list call answers only after the test is over (and the client
    // waits that long): the kill is sure to land mid-fetch.
    s.write_config("timeout_secs = 3600");
    s.sim
        .inject(Target::List, Fault::Slow { millis: 3_600_000 }, 1);
    let mut child = common::command_in(s.path(), &["scrape", "--no-site"])
        .spawn()
        .unwrap();
    // Wait for the run row (the file, its tables and the row appear in
    // turn: each is a condition, not an error) and for the list call to
    // reach the simulator (so the slow answer is used up, not left for the
    // next scrape), then kill the process mid-fetch.
    let hang_guard = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let running = || -> Option<i64> {
        let db = rusqlite::Connection::open_with_flags(
            s.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .ok()?;
        db.query_row(
            "select count(*) from runs where status = 'running'",
            [],
            |r| r.get(0),
        )
        .ok()
    };
    while running() != Some(1) || s.sim.requests(LIST) == 0 {
        assert!(
            std::time::Instant::now() < hang_guard,
            "hung: the scrape never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scrape ended before its run row was seen"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(s.count("select count(*) from roles"), 0);
    s.scrape().expect(0);
    assert_eq!(
        s.strings("select status from runs order by id"),
        vec!["failed", "ok"]
    );
    let errors = s.strings("select errors from runs where id = 1").remove(0);
    assert!(
        errors.contains("stopped before the run finished"),
        "{errors}"
    );
    assert_eq!(s.strings("pragma integrity_check"), vec!["ok"]);
}

#[test]
fn a_second_scrape_waits_for_the_first() {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.path().join("data")).unwrap();
    let _held = air_demand::lock::WriterLock::acquire(&s.db_path()).unwrap();
    s.scrape()
        .expect(1)
        .stderr_has("another air-demand scrape is already running");
}

#[test]
fn session_problems_are_clear_and_lose_nothing() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let before = active_count(&s);
    // An expired cookie: refused before any request.
    let expired = (chrono::Utc::now() - chrono::Duration::days(2)).timestamp();
    s.write_file("old.json", &s.sim.storage_state_json(expired));
    // `session import` refuses it and keeps the installed session...
    s.run(&["session", "import", "old.json"])
        .expect(1)
        .stderr_has("expired on")
        .stderr_has("the installed session was kept");
    s.run(&["session", "status"]).expect(0);
    // ...so a session that expired after it was installed is what remains.
    s.write_file(
        "data/paraform_session.json",
        &s.sim.storage_state_json(expired),
    );
    s.run(&["session", "status"])
        .expect(1)
        .stdout_has("expired on");
    let requests = s.sim.requests(LIST);
    s.scrape()
        .expect(1)
        .stderr_has("Paraform session expired on")
        .stderr_has("air-demand session import FILE");
    assert_eq!(s.sim.requests(LIST), requests);
    assert_eq!(active_count(&s), before);
    // No session at all.
    std::fs::remove_file(s.path().join("data/paraform_session.json")).unwrap();
    s.scrape().expect(1).stderr_has("no Paraform session");
    s.run(&["session", "status"])
        .expect(1)
        .stderr_has("no Paraform session");
    // A file that is not a session is refused and installs nothing.
    s.write_file("junk.json", "{\"cookies\": []}");
    s.run(&["session", "import", "junk.json"])
        .expect(1)
        .stderr_has("no Paraform session cookie");
    assert!(!s.path().join("data/paraform_session.json").exists());
}

#[test]
fn session_from_the_environment_and_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    let mode = std::fs::metadata(s.path().join("data/paraform_session.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    s.run(&["session", "status"])
        .expect(0)
        .stdout_has("expires on")
        .stdout_has("(in 29 days)");
    std::fs::remove_file(s.path().join("data/paraform_session.json")).unwrap();
    use base64::Engine;
    let expires = (chrono::Utc::now() + chrono::Duration::days(3)).timestamp();
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(s.sim.storage_state_json(expires));
    common::run_in(
        s.path(),
        &["scrape", "--no-site"],
        &[("PARAFORM_SESSION_JSON", &encoded)],
    )
    .expect(0);
    // The same value from a literal .env beside the config.
    s.write_file(".env", &format!("PARAFORM_SESSION_JSON='{encoded}'\n"));
    s.scrape().expect(0);
}

#[test]
fn the_session_cookie_appears_in_no_output_file_or_log() {
    let s = Sandbox::new();
    let token = s.sim.session_token();
    let mut outputs = vec![
        s.scrape().expect(0),
        s.run(&["-vv", "--log-format", "json", "scrape", "--no-site"])
            .expect(0),
    ];
    s.sim.inject(Target::List, Fault::Unauthorized, 1);
    outputs.push(s.run(&["-vv", "scrape", "--no-site"]).expect(1));
    outputs.push(s.run(&["session", "status"]).expect(0));
    outputs.push(s.run(&["roles", "--all", "--json"]).expect(0));
    outputs.push(s.run(&["changes", "--since", "7d"]).expect(0));
    for run in &outputs {
        assert!(
            !run.stdout().contains(&token) && !run.stderr().contains(&token),
            "token printed by {:?}",
            run.args
        );
    }
    for (path, bytes) in s.all_file_bytes() {
        let is_session =
            path.ends_with("data/paraform_session.json") || path.ends_with("export.json");
        if !is_session {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&token),
                "token written to {}",
                path.display()
            );
        }
    }
}

/// A list body that never ends is cut at `[paraform] max_list_bytes`: one
/// request (no retry), a failed run that says why, and nobody marked gone.
#[test]
fn an_endless_list_fails_the_run_at_the_size_cap_and_loses_nothing() {
    let s = Sandbox::new();
    s.write_config("max_list_bytes = 2097152\n");
    s.scrape().expect(0);
    let before = active_count(&s);
    let ids = s.sim.active_ids();
    s.sim.remove_role(&ids[0]);
    let requests = s.sim.requests(LIST);
    s.sim.inject(Target::List, Fault::Endless, 1);
    let message = "paraform: activeRoles.searchActiveRoles: the list response is larger than 2 MiB; no role was marked gone";
    s.scrape().expect(1).stderr_has(message);
    assert_eq!(s.sim.requests(LIST), requests + 1);
    assert_eq!(active_count(&s), before);
    assert_eq!(
        s.strings("select status from runs order by id desc limit 1"),
        vec!["failed"]
    );
    let errors = s
        .strings("select errors from runs order by id desc limit 1")
        .remove(0);
    assert!(errors.contains(message), "{errors}");
    assert!(!errors.contains("input="), "{errors}");
    // The marketplace recovers: only the removed role is gone.
    s.scrape().expect(0).stdout_has("1 gone");
}

/// An endless detail body costs that role's detail, not the run.
#[test]
fn an_endless_detail_is_one_detail_error() {
    let s = Sandbox::new();
    s.write_config("max_detail_bytes = 1048576\n");
    let expected = s.sim.active_ids().len() as i64;
    s.sim.inject(Target::Detail, Fault::Endless, 1);
    s.scrape().expect(0);
    assert_eq!(active_count(&s), expected);
    let errors = s.strings("select errors from runs").remove(0);
    assert!(
        errors.contains(
            "not fetched: role.getRoleByIdSimple: the detail response is larger than 1 MiB"
        ),
        "{errors}"
    );
}

/// One role nested deeper than serde_json reads is skipped and named; the
/// rest of the listing is stored, and a stored role that turns unreadable
/// is kept as it was, never marked gone.
#[test]
fn a_role_nested_too_deep_is_skipped_and_noted_and_the_rest_are_stored() {
    let s = Sandbox::new();
    let ids = s.sim.active_ids();
    let mut abyss = json!("bottom");
    for _ in 0..200 {
        abyss = json!([abyss]);
    }
    let mut deep = s.sim.role(&ids[0]).unwrap();
    deep["id"] = json!("deep-role");
    deep["extra"] = abyss.clone();
    s.sim.add_role(deep);
    let n = ids.len();
    s.scrape()
        .expect(0)
        .stdout_has(&format!("{n} seen, {n} new, 0 changed, 0 gone"))
        .stdout_has("1 error");
    assert_eq!(active_count(&s), n as i64);
    assert_eq!(
        s.count("select count(*) from roles where id = 'paraform:deep-role'"),
        0
    );
    let errors = s.strings("select errors from runs").remove(0);
    assert!(
        errors.contains(&format!(
            "paraform: skipped the role at position {n} (id deep-role): it is nested more than 127 levels deep"
        )),
        "{errors}"
    );
    assert_eq!(s.strings("select status from runs"), vec!["ok"]);

    s.sim
        .edit_role(&ids[1], |role| role["extra"] = abyss.clone());
    s.scrape()
        .expect(0)
        .stdout_has(&format!("{} seen, 0 new, 0 changed, 0 gone", n - 1))
        .stdout_has("2 errors");
    assert_eq!(active_count(&s), n as i64);
    assert_eq!(
        s.count(&format!(
            "select count(*) from changes where role_id = 'paraform:{}' and kind != 'NEW'",
            ids[1]
        )),
        0
    );
}
