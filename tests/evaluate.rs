//! Qualification, scoring and detail enrichment through the binary, against
//! the simulated marketplace.

mod common;

use air_demand::sim::{Fault, SIMPLE_PROCEDURE, Target};
use common::Sandbox;
use serde_json::json;

fn tier_of(s: &Sandbox, id: &str) -> String {
    s.strings(&format!(
        "select coalesce(tier, '-') from roles where id = 'paraform:{id}'"
    ))
    .remove(0)
}

#[test]
fn a_scrape_stores_tiers_scores_and_reasons_for_every_role() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let tiers = s.strings("select distinct tier from roles order by 1");
    assert_eq!(
        tiers,
        vec!["LOCATION_UNCERTAIN", "MAYBE", "QUALIFIED", "SKIP"]
    );
    assert_eq!(
        s.count(
            "select count(*) from roles where tier is null or combined_score is null or engineer_score is null
             or headhunter_score is null or excitement_score is null or reasons is null or score_breakdown is null"
        ),
        0
    );
    assert_eq!(
        s.count("select count(*) from roles where combined_score < 0 or combined_score > 1"),
        0
    );
    assert_eq!(
        s.count("select roles_qualified from runs"),
        s.count("select count(*) from roles where tier in ('QUALIFIED', 'MAYBE')")
    );
    // Reasons are JSON arrays of sentences; the breakdown has every component.
    let reasons = s
        .strings("select reasons from roles where tier = 'SKIP' limit 1")
        .remove(0);
    assert!(reasons.starts_with("[\"✗"), "{reasons}");
    let breakdown: serde_json::Value = serde_json::from_str(
        &s.strings("select score_breakdown from roles limit 1")
            .remove(0),
    )
    .unwrap();
    assert_eq!(
        breakdown["engineer"]["components"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        breakdown["headhunter"]["components"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // A quiet re-scrape writes no new verdicts.
    let evaluated = s
        .strings("select group_concat(evaluated_at) from roles")
        .remove(0);
    s.scrape().expect(0);
    assert_eq!(
        s.strings("select group_concat(evaluated_at) from roles")
            .remove(0),
        evaluated
    );
    assert_eq!(
        s.count("select count(*) from changes where kind = 'TIER_CHANGE'"),
        0
    );
}

#[test]
fn detail_calls_only_for_new_or_changed_candidates() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let candidates =
        s.count("select count(*) from roles where tier != 'SKIP' or detail is not null");
    let first = s.sim.requests(SIMPLE_PROCEDURE) as i64;
    assert!(
        first > 0 && first <= candidates,
        "{first} detail calls for {candidates} candidates"
    );
    assert_eq!(
        s.count("select count(*) from roles where detail is not null"),
        first
    );
    assert!(s.count("select count(*) from roles where company_notes is not null") > 0);

    // Steady state: one list call, no detail calls.
    s.scrape().expect(0);
    assert_eq!(s.sim.requests(SIMPLE_PROCEDURE) as i64, first);

    // One changed candidate: one detail call. A changed SKIP role: none.
    let qualified = s
        .strings("select external_id from roles where tier = 'QUALIFIED' limit 1")
        .remove(0);
    let skipped = s.strings(
        "select external_id from roles where tier = 'SKIP' and reasons like '%not accepting recruiters%' limit 1",
    );
    assert!(
        !skipped.is_empty(),
        "the test data should hold a role closed to recruiters"
    );
    s.sim
        .edit_role(&qualified, |r| r["hiring_count"] = json!(9));
    for id in &skipped {
        s.sim.edit_role(id, |r| r["hiring_count"] = json!(9));
    }
    s.scrape().expect(0);
    assert_eq!(s.sim.requests(SIMPLE_PROCEDURE) as i64, first + 1);
}

#[test]
fn a_failed_detail_call_is_recorded_and_the_role_still_evaluated() {
    let s = Sandbox::new();
    s.sim.inject(Target::Detail, Fault::ServerError, 3);
    s.scrape().expect(0).stderr_has("details of role");
    let errors = s.strings("select errors from runs").remove(0);
    assert!(errors.contains("not fetched"), "{errors}");
    assert_eq!(s.count("select count(*) from roles where tier is null"), 0);
    // The role without details is asked again next run.
    let before = s.sim.requests(SIMPLE_PROCEDURE);
    s.scrape().expect(0);
    assert_eq!(s.sim.requests(SIMPLE_PROCEDURE), before + 1);
    assert_eq!(
        s.count("select count(*) from roles where tier != 'SKIP' and detail is null"),
        0
    );
}

#[test]
fn an_html_only_location_mention_resolves_location_uncertain() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let uncertain = s.strings("select external_id from roles where tier = 'LOCATION_UNCERTAIN'");
    assert!(
        !uncertain.is_empty(),
        "the simulator should leave some roles unresolved"
    );
    let id = &uncertain[0];
    s.sim.set_detail(
        id,
        json!({"id": id, "companyTip": "<p>The team works from our <strong>London</strong> office.</p>"}),
    );
    // A content change makes the role a detail candidate again.
    s.sim
        .edit_role(id, |r| r["salaryUpperBound"] = json!(330000));
    s.scrape().expect(0);
    let tier = tier_of(&s, id);
    assert!(tier == "QUALIFIED" || tier == "MAYBE", "{tier}");
    let signals = s
        .strings(&format!(
            "select signals from roles where external_id = '{id}'"
        ))
        .remove(0);
    assert!(
        signals.contains("location London inferred from the company notes"),
        "{signals}"
    );
    assert_eq!(
        s.strings(&format!("select old_value || ' -> ' || new_value from changes where kind = 'TIER_CHANGE' and role_id = 'paraform:{id}'")),
        vec![format!("LOCATION_UNCERTAIN -> {tier}")]
    );
    // Roles whose simulated details already named a city were resolved on the first scrape.
    assert!(s.count("select count(*) from roles where signals like '%inferred from%'") >= 2);
}

#[test]
fn a_rules_change_and_requalify_move_roles_offline() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let below_20 = s.count(
        "select count(*) from roles where tier in ('QUALIFIED', 'MAYBE') and fee_percent < 20",
    );
    assert!(below_20 > 0);
    s.run(&["requalify"])
        .expect(0)
        .stdout_has("0 moved between tiers");
    let list_requests = s.sim.requests("activeRoles.searchActiveRoles");
    s.write_config("");
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!("{config}\n[qualification]\nmin_fee_percent = 20\n"),
    );
    let run = s
        .run(&["requalify"])
        .expect(0)
        .stdout_has("moved between tiers");
    assert!(
        run.stdout().contains("QUALIFIED -> SKIP") || run.stdout().contains("MAYBE -> SKIP"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        s.sim.requests("activeRoles.searchActiveRoles"),
        list_requests,
        "requalify used the network"
    );
    assert_eq!(
        s.count(
            "select count(*) from roles where tier in ('QUALIFIED', 'MAYBE') and fee_percent < 20"
        ),
        0
    );
    assert!(
        s.count("select count(*) from changes where kind = 'TIER_CHANGE' and run_id is null")
            >= below_20
    );
    let reasons = s
        .strings("select reasons from roles where fee_percent < 20 and fee_percent >= 14 limit 1")
        .remove(0);
    assert!(reasons.contains("is below 20%"), "{reasons}");
}

#[test]
fn a_user_lists_file_changes_the_verdicts_and_a_bad_one_is_named() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let lists = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/reference-lists.toml"
    ))
    .unwrap();
    // Nobody is hot any more.
    let (head, rest) = lists.split_once("[companies]").unwrap();
    let (_, tail) = rest.split_once("[locations]").unwrap();
    s.write_file(
        "lists.toml",
        &format!("{head}[companies]\nhot = []\n\n[locations]{tail}"),
    );
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!("{config}\n[qualification]\nlists_file = \"lists.toml\"\n"),
    );
    let hot_before = s.count("select count(*) from roles where signals like '%hot company%'");
    assert!(hot_before > 0);
    s.run(&["requalify"]).expect(0);
    assert_eq!(
        s.count("select count(*) from roles where signals like '%hot company%'"),
        0
    );

    s.write_file(
        "lists.toml",
        &lists.replace("[companies]\nhot", "[companies]\nhott"),
    );
    s.run(&["requalify"])
        .expect(1)
        .stderr_has("lists.toml line")
        .stderr_has("hott");
    s.scrape().expect(1).stderr_has("lists.toml line");
    s.write_file("lists.toml", "not toml at all [");
    s.run(&["roles"]).expect(0);
}

#[test]
fn roles_filters_by_tier_and_explains_a_verdict() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let qualified = s.count("select count(*) from roles where tier = 'QUALIFIED'");
    s.run(&["roles", "--tier", "qualified"])
        .expect(0)
        .stdout_has(&format!("{qualified} roles"));
    s.run(&["roles", "--tier", "GOOD"])
        .expect(2)
        .stderr_has("is not one of QUALIFIED");
    let id = s
        .strings(
            "select id from roles where tier = 'QUALIFIED' order by combined_score desc limit 1",
        )
        .remove(0);
    let external = id.trim_start_matches("paraform:").to_string();
    let run = s.run(&["roles", "--explain", &external]).expect(0);
    let run = run
        .stdout_has("Tier QUALIFIED")
        .stdout_has("✓")
        .stdout_has("compensation")
        .stdout_has("candidate fit");
    assert!(
        run.stdout().contains("Scores: combined"),
        "{}",
        run.stdout()
    );
    assert!(!run.stdout().contains("-0.00"), "{}", run.stdout());
    let json: serde_json::Value = serde_json::from_str(
        &s.run(&["roles", "--explain", &id, "--json"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json["role"]["tier"], "QUALIFIED");
    assert!(json["score_breakdown"]["engineer"]["components"].is_array());
    s.run(&["roles", "--explain", "nope"])
        .expect(1)
        .stderr_has("no role with id");
}

#[test]
fn zeros_that_mean_not_set_get_the_old_systems_scores_and_explain_says_so() {
    let s = Sandbox::new();
    s.write_config("fetch_details = false");
    // The fixture role (engineer 0.85, headhunter 0.81 as given) with three
    // counts Paraform sends as 0 for "not set". SCORING.md reads them as
    // missing: 1 opening (openings 1/3), stages 5, rating 4.0, so engineer
    // 0.80, headhunter 0.71, combined 0.75 (hand-computed in
    // src/evaluate/tests.rs); read as real zeros it would be 0.79/0.61/0.69.
    let text = include_str!("fixtures/searchActiveRoles.sample.json");
    let payload: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut role = payload["result"]["data"]["json"][0].clone();
    role["id"] = json!("zeros-role");
    role["hiring_count"] = json!(0);
    role["interview_stages"] = json!(0);
    role["manager_rating"] = json!(0);
    s.sim.add_role(role);
    s.scrape().expect(0);
    let scores = s.strings(
        "select engineer_score || ' ' || headhunter_score || ' ' || combined_score || ' ' || tier
         from roles where id = 'paraform:zeros-role'",
    );
    assert_eq!(scores, vec!["0.8 0.71 0.75 QUALIFIED"]);
    s.run(&["roles", "--explain", "zeros-role"])
        .expect(0)
        .stdout_has("Defaulted inputs")
        .stdout_has("openings 0.333 (openings 0 means not set, read as 1)")
        .stdout_has("interview stages 5 (interview stages 0 means not set)")
        .stdout_has("manager rating 4.0 (manager rating 0 means not set)")
        .stdout_has("title 0.8, openings 0.333 (openings 0 means not set, read as 1)");
    let json: serde_json::Value = serde_json::from_str(
        &s.run(&["roles", "--explain", "zeros-role", "--json"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(
        json["score_breakdown"]["defaulted"][0],
        "openings 0.333 (openings 0 means not set, read as 1)"
    );
}

/// The fixture role with `hiring_count` set by `edit`, added to the market.
fn add_fixture_role(s: &Sandbox, id: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let text = include_str!("fixtures/searchActiveRoles.sample.json");
    let payload: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut role = payload["result"]["data"]["json"][0].clone();
    role["id"] = json!(id);
    edit(&mut role);
    s.sim.add_role(role);
}

#[test]
fn roles_scored_by_the_old_openings_rule_are_rescored_without_change_rows() {
    // Until SCORING.md was corrected, an unset hiring_count scored openings
    // 1; it is 1 opening, openings 1/3. A database written then (its scores
    // 0.04/0.06 higher, its evaluation keys from the old evaluation code)
    // gets the new scores from the next scrape, with no change rows: the
    // tier does not move and no field of the role changed.
    let s = Sandbox::new();
    s.write_config("fetch_details = false");
    add_fixture_role(&s, "count-0", |r| r["hiring_count"] = json!(0));
    add_fixture_role(&s, "count-null", |r| r["hiring_count"] = json!(null));
    add_fixture_role(&s, "count-absent", |r| {
        r.as_object_mut().unwrap().remove("hiring_count");
    });
    add_fixture_role(&s, "count-3", |r| r["hiring_count"] = json!(3));
    s.scrape().expect(0);
    let scores = "select external_id || ' ' || engineer_score || ' ' || headhunter_score
                  || ' ' || combined_score || ' ' || tier
                  from roles where external_id like 'count-%' order by 1";
    let now = s.strings(scores);
    // Hand-computed in src/evaluate/tests.rs: the sample scores 0.85/0.81/0.83
    // with 3 openings and 0.81/0.75/0.78 with one.
    assert_eq!(
        now,
        vec![
            "count-0 0.81 0.75 0.78 QUALIFIED",
            "count-3 0.85 0.81 0.83 QUALIFIED",
            "count-absent 0.81 0.75 0.78 QUALIFIED",
            "count-null 0.81 0.75 0.78 QUALIFIED",
        ]
    );

    // The database as the old rule left it.
    let old = |s: &Sandbox| {
        s.db()
            .execute_batch(
                "UPDATE role_rows SET engineer_score = 0.85, headhunter_score = 0.81,
                     combined_score = 0.83, evaluation_key = 'scored by evaluation 1'
                 WHERE external_id IN ('count-0', 'count-null', 'count-absent');
                 UPDATE role_rows SET evaluation_key = 'scored by evaluation 1'
                 WHERE external_id = 'count-3';",
            )
            .unwrap();
    };
    old(&s);
    let changes = s.count("select count(*) from changes");
    let versions = s.count("select count(*) from role_versions");
    s.scrape().expect(0);
    assert_eq!(s.strings(scores), now, "the next scrape re-scores");
    assert_eq!(s.count("select count(*) from changes"), changes);
    assert_eq!(s.count("select count(*) from role_versions"), versions);
    s.run(&["roles", "--explain", "count-absent"])
        .expect(0)
        .stdout_has("openings 0.333 (openings not given, read as 1)");

    // `requalify` does the same without a scrape.
    old(&s);
    s.run(&["requalify"]).expect(0);
    assert_eq!(s.strings(scores), now, "requalify re-scores");
    assert_eq!(s.count("select count(*) from changes"), changes);
}

#[test]
fn rules_prints_the_rules_in_force() {
    let s = Sandbox::new();
    let run = s.run(&["rules"]).expect(0);
    run.stdout_has("from air-demand.toml")
        .stdout_has("`percent_fee` is at least 14%")
        .stdout_has("Zero is unset too for `hiring_count`");
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!(
            "{config}\n[qualification]\nmin_fee_percent = 16\n\n[scoring]\nzero_means_unset = []\n"
        ),
    );
    s.run(&["rules"])
        .expect(0)
        .stdout_has("`percent_fee` is at least 16%")
        .stdout_has("Every 0 is a real value.");
}

#[test]
fn a_change_only_in_volatile_fields_that_scores_do_not_read_keeps_the_verdict_unread() {
    // Paraform refreshes `recruiter_last_active` and the like on every role
    // between runs: such a run keeps each verdict's key, so nothing is
    // evaluated again, and the new text is still kept.
    let s = Sandbox::new();
    s.scrape().expect(0);
    let id = s
        .strings("select external_id from roles where tier = 'QUALIFIED' order by id limit 1")
        .remove(0);
    let column = |s: &Sandbox, column: &str| {
        s.strings(&format!(
            "select {column} from role_rows where external_id = '{id}'"
        ))
        .remove(0)
    };
    let (key, text) = (column(&s, "evaluation_key"), column(&s, "raw_hash"));
    s.sim.edit_role(&id, |r| {
        r["recruiter_last_active"] = json!("2031-01-01T00:00:00Z");
        r["priority"] = json!(99);
    });
    s.scrape().expect(0);
    assert_eq!(column(&s, "evaluation_key"), key, "the verdict's key moved");
    assert_ne!(column(&s, "raw_hash"), text, "the new text was not kept");
}

#[test]
fn a_change_only_in_a_volatile_field_that_scores_read_is_scored_again() {
    // `responsiveness_days` is volatile (no version, no change row) but the
    // scores read it: a run that skips unchanged roles must not skip this one.
    let s = Sandbox::new();
    s.scrape().expect(0);
    let id = s
        .strings("select external_id from roles where tier = 'QUALIFIED' order by id limit 1")
        .remove(0);
    let score = |s: &Sandbox| {
        s.strings(&format!(
            "select headhunter_score || ' ' || coalesce(reasons, '') from roles where external_id = '{id}'"
        ))
        .remove(0)
    };
    let before = score(&s);
    let versions = s.count("select count(*) from role_versions");
    s.sim
        .edit_role(&id, |r| r["responsiveness_days"] = json!(9.5));
    s.scrape().expect(0);
    assert_eq!(s.count("select count(*) from role_versions"), versions);
    let after = score(&s);
    assert_ne!(
        before, after,
        "the verdict did not follow responsiveness_days"
    );
}
