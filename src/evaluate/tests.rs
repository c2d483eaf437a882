//! Tests of qualification and scoring against the rules of SCORING.md. Every
//! expected score below was computed by hand from SCORING.md (the arithmetic
//! is in the comment above each assertion), not read off the code.

use serde_json::{Value, json};

use super::*;
use crate::intel::{Intel, Mention, read_detail};
use crate::rules::Rules;
use crate::track::ChangeKind;

/// The sample role of `searchActiveRoles.sample.json`: it passes every hard
/// filter and shows all 8 quality signals, so it starts QUALIFIED.
fn sample() -> Value {
    let text = include_str!("../../tests/fixtures/searchActiveRoles.sample.json");
    let payload: Value = serde_json::from_str(text).unwrap();
    payload["result"]["data"]["json"][0].clone()
}

fn evaluate_with(role: &Value, intel: &Intel) -> Verdict {
    evaluate(role, intel, &Rules::defaults())
}

/// The sample role after `edit`, evaluated without detail intel.
fn verdict(edit: impl FnOnce(&mut Value)) -> Verdict {
    let mut role = sample();
    edit(&mut role);
    evaluate_with(&role, &Intel::default())
}

/// Sets `path` (dotted) to `value`; `Value::Null` stands for "missing" too,
/// since the readers treat null as absent.
fn set(role: &mut Value, path: &str, value: Value) {
    let mut target = role;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            target[key] = value;
            return;
        }
        target = &mut target[key];
    }
}

/// Removes `path` (dotted) from the role altogether.
fn remove(role: &mut Value, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (parent, key),
        None => ("", path),
    };
    let mut target = role;
    for part in parent.split('.').filter(|p| !p.is_empty()) {
        target = &mut target[part];
    }
    if let Some(object) = target.as_object_mut() {
        object.remove(key);
    }
}

/// Removes every field behind a quality signal, leaving the hard filters
/// passing: the result has 0 signals.
fn without_signals(role: &mut Value) {
    for path in [
        "investors",
        "company.fundingAmount",
        "funding",
        "company.company_metadata.last_funding_round",
        "company.size",
        "team_size",
        "manager_rating",
        "responsiveness_days",
        "interview_stages",
        "role_metadata.highlights",
    ] {
        remove(role, path);
    }
}

fn location_mention(name: &str, matched: &str, field: &'static str) -> Intel {
    Intel {
        location_mentions: vec![Mention {
            name: name.into(),
            matched: matched.into(),
            field,
        }],
        ..Intel::default()
    }
}

fn investor_mention(name: &str, field: &'static str) -> Intel {
    Intel {
        investor_mentions: vec![Mention {
            name: name.into(),
            matched: name.into(),
            field,
        }],
        ..Intel::default()
    }
}

// ---------------------------------------------------------------- hard filters

/// After `edit`, the sample role fails exactly the filter whose reason
/// contains `failure` (and is SKIP), or, with `None`, fails none and stays
/// QUALIFIED.
fn check_filter(edit: impl FnOnce(&mut Value), failure: Option<&str>) {
    let v = verdict(edit);
    match failure {
        Some(expected) => {
            assert_eq!(v.failed_filters.len(), 1, "{:?}", v.failed_filters);
            assert!(
                v.failed_filters[0].contains(expected),
                "{:?} lacks {expected:?}",
                v.failed_filters
            );
            assert_eq!(v.tier, Tier::Skip);
        }
        None => {
            assert!(v.failed_filters.is_empty(), "{:?}", v.failed_filters);
            assert_eq!(v.tier, Tier::Qualified);
        }
    }
}

#[test]
fn the_sample_role_passes_every_filter_with_every_signal() {
    let v = verdict(|_| {});
    assert_eq!(v.tier, Tier::Qualified);
    assert!(v.failed_filters.is_empty());
    assert_eq!(
        v.quality_signals,
        vec![
            "tier-1 investor (Benchmark)",
            "funding $31.5M",
            "stage SERIES_A",
            "company size 42",
            "manager rating 4.6",
            "responds in 0.8 days",
            "4 interview stages",
            "badges: NO_FINAL_ROUNDS, HIRING_MULTIPLE, TRUSTED_CLIENT",
        ]
    );
    assert!(v.reasons().iter().all(|r| r.starts_with('✓')));
}

#[test]
fn status_must_be_active() {
    check_filter(
        |r| set(r, "status", json!("CLOSED")),
        Some("status is CLOSED, not ACTIVE"),
    );
    check_filter(
        |r| set(r, "status", json!("PAUSED")),
        Some("status is PAUSED"),
    );
    check_filter(|r| remove(r, "status"), Some("status is missing"));
    // Text comparisons are case-insensitive.
    check_filter(|r| set(r, "status", json!("active")), None);
}

#[test]
fn roles_closed_to_recruiters_fail() {
    check_filter(
        |r| set(r, "not_accepting_recruiters", json!(true)),
        Some("not accepting recruiters"),
    );
    check_filter(
        |r| set(r, "not_accepting_recruiters", json!("true")),
        Some("not accepting recruiters"),
    );
    check_filter(|r| set(r, "not_accepting_recruiters", json!(false)), None);
    check_filter(|r| set(r, "not_accepting_recruiters", Value::Null), None);
    check_filter(|r| remove(r, "not_accepting_recruiters"), None);
}

#[test]
fn location_must_be_nyc_metro_london_or_remote() {
    for slug in [
        "new_york",
        "jersey_city",
        "brooklyn",
        "newark",
        "london",
        "uk",
        "NEW_YORK",
    ] {
        check_filter(|r| set(r, "locations", json!([slug])), None);
    }
    check_filter(
        |r| set(r, "locations", json!(["san_francisco", "london"])),
        None,
    );
    // San Francisco alone fails, whatever the workplace unless it is remote.
    let sf = |workplace: &'static str| {
        move |r: &mut Value| {
            set(r, "locations", json!(["san_francisco"]));
            set(r, "workplace_type", json!(workplace));
        }
    };
    check_filter(
        sf("Hybrid"),
        Some("location: San Francisco is not NYC metro or London, and not remote"),
    );
    check_filter(sf("On-site"), Some("location: San Francisco"));
    check_filter(sf(""), Some("location: San Francisco"));
    // `remote` in any case passes on its own.
    for remote in ["Remote", "remote", "REMOTE", " Remote "] {
        check_filter(sf(remote), None);
    }
    // A word that merely contains "remote" is not remote.
    check_filter(
        sf("Remote-friendly hybrid"),
        Some("location: San Francisco"),
    );
}

#[test]
fn role_types_need_a_core_type_and_no_mobile_type() {
    check_filter(
        |r| set(r, "role_types", json!(["full_stack_engineer"])),
        None,
    );
    check_filter(
        |r| set(r, "role_types", json!(["embedded_firmware_engineer"])),
        None,
    );
    check_filter(
        |r| {
            set(
                r,
                "role_types",
                json!(["forward_deployed_engineer_solutions_support"]),
            )
        },
        None,
    );
    check_filter(|r| set(r, "role_types", json!(["Backend_Engineer"])), None);
    // Core plus secondary is fine: some type is core.
    check_filter(
        |r| {
            set(
                r,
                "role_types",
                json!(["frontend_engineer", "backend_engineer"]),
            )
        },
        None,
    );
    // Secondary types alone fail with their own reason.
    check_filter(
        |r| set(r, "role_types", json!(["frontend_engineer"])),
        Some("only secondary engineering role types (frontend_engineer)"),
    );
    check_filter(
        |r| {
            set(
                r,
                "role_types",
                json!(["data_engineer", "security_engineer", "product_manager"]),
            )
        },
        Some("only secondary engineering role types (data_engineer, security_engineer)"),
    );
    check_filter(
        |r| set(r, "role_types", json!(["infrastructure_devops_sre"])),
        Some("only secondary engineering role types"),
    );
    // No engineering type at all is a different reason.
    check_filter(
        |r| set(r, "role_types", json!(["product_manager"])),
        Some("no core engineering role type (product_manager)"),
    );
    check_filter(
        |r| set(r, "role_types", json!([])),
        Some("no core engineering role type (none)"),
    );
    // A mobile type fails even beside a core type.
    check_filter(
        |r| set(r, "role_types", json!(["backend_engineer", "ios_engineer"])),
        Some("mobile role type (ios_engineer)"),
    );
    check_filter(
        |r| {
            set(
                r,
                "role_types",
                json!(["full_stack_engineer", "android_engineer"]),
            )
        },
        Some("mobile role type (android_engineer)"),
    );
    // Mobile alone fails twice: no core type, and a mobile type.
    let v = verdict(|r| set(r, "role_types", json!(["mobile_engineer"])));
    assert_eq!(
        v.failed_filters,
        vec![
            "no core engineering role type (mobile_engineer)",
            "mobile role type (mobile_engineer)"
        ]
    );
    assert_eq!(v.tier, Tier::Skip);
}

#[test]
fn salary_upper_bound_must_reach_200k() {
    check_filter(
        |r| set(r, "salaryUpperBound", json!(199_999)),
        Some("salary upper bound $199999 is below $200000"),
    );
    check_filter(|r| set(r, "salaryUpperBound", json!(200_000)), None);
    check_filter(
        |r| set(r, "salaryUpperBound", json!(199_999.99)),
        Some("salary upper bound"),
    );
    check_filter(
        |r| set(r, "salaryUpperBound", json!(0)),
        Some("salary upper bound $0 is below"),
    );
    check_filter(
        |r| remove(r, "salaryUpperBound"),
        Some("salary upper bound missing"),
    );
    check_filter(
        |r| set(r, "salaryUpperBound", Value::Null),
        Some("salary upper bound missing"),
    );
}

#[test]
fn fee_must_reach_14_percent() {
    check_filter(
        |r| set(r, "percent_fee", json!(13.99)),
        Some("fee 13.99% is below 14%"),
    );
    check_filter(|r| set(r, "percent_fee", json!(14)), None);
    check_filter(|r| set(r, "percent_fee", json!(14.0)), None);
    // Missing counts as 0 for the filter.
    check_filter(|r| remove(r, "percent_fee"), Some("fee 0% is below 14%"));
    check_filter(
        |r| set(r, "percent_fee", Value::Null),
        Some("fee 0% is below 14%"),
    );
}

// ------------------------------------------------------------- quality signals

/// After `edit`, the sample role has (or lacks) the one quality signal that
/// starts with `signal`, and keeps the other 7.
fn check_signal(edit: impl FnOnce(&mut Value), signal: &str, present: bool) {
    let v = verdict(edit);
    let found = v.quality_signals.iter().any(|s| s.starts_with(signal));
    assert_eq!(found, present, "{signal:?} in {:?}", v.quality_signals);
    assert_eq!(
        v.quality_signals.len(),
        if present { 8 } else { 7 },
        "{:?}",
        v.quality_signals
    );
    assert!(v.failed_filters.is_empty(), "{:?}", v.failed_filters);
}

#[test]
fn tier_1_investors_match_whole_words() {
    let investors = |names: Value| move |r: &mut Value| set(r, "investors", names);
    check_signal(
        investors(json!(["Sequoia Capital China"])),
        "tier-1 investor (Sequoia Capital China)",
        true,
    );
    check_signal(investors(json!(["GV"])), "tier-1 investor (GV)", true);
    check_signal(investors(json!(["Y Combinator"])), "tier-1 investor", true);
    check_signal(
        investors(json!(["ANDREESSEN HOROWITZ"])),
        "tier-1 investor",
        true,
    );
    check_signal(investors(json!(["NEA"])), "tier-1 investor", true);
    // Substrings of other words are not the name.
    check_signal(investors(json!(["Neal Arthur"])), "tier-1 investor", false);
    check_signal(
        investors(json!(["Agave Capital"])),
        "tier-1 investor",
        false,
    );
    check_signal(
        investors(json!(["Benchmarks Inc"])),
        "tier-1 investor",
        false,
    );
    // Tier-2 and angels are not tier-1.
    check_signal(
        investors(json!(["Spark Capital", "Elad Gil"])),
        "tier-1 investor",
        false,
    );
    check_signal(investors(json!([])), "tier-1 investor", false);
    check_signal(investors(Value::Null), "tier-1 investor", false);
    // The first tier-1 investor is named, whatever comes before it.
    check_signal(
        investors(json!(["Elad Gil", "Accel", "Greylock"])),
        "tier-1 investor (Accel)",
        true,
    );
}

#[test]
fn funding_above_5m_is_a_signal() {
    // The sample carries the amount twice (`company.fundingAmount` and
    // `funding`); both go, then the one under test comes back.
    let funding = |text: Value| {
        move |r: &mut Value| {
            remove(r, "funding");
            set(r, "company.fundingAmount", text);
        }
    };
    check_signal(funding(json!("$5,000,000")), "funding", false);
    check_signal(funding(json!("$5M")), "funding", false);
    check_signal(funding(json!("$5.01M")), "funding $5.01M", true);
    check_signal(funding(json!("5000001")), "funding", true);
    check_signal(funding(json!("$1.2B")), "funding $1.2B", true);
    check_signal(funding(json!("$750K")), "funding", false);
    check_signal(funding(json!("undisclosed")), "funding", false);
    check_signal(funding(Value::Null), "funding", false);
    // Reading: with `company.fundingAmount` missing, the code falls back to
    // the role's top-level `funding` (the same text in Paraform's payload).
    check_signal(
        |r| set(r, "company.fundingAmount", Value::Null),
        "funding $31.5M",
        true,
    );
}

#[test]
fn stage_seed_to_series_e_is_a_signal() {
    let stage = |round: Value| {
        move |r: &mut Value| set(r, "company.company_metadata.last_funding_round", round)
    };
    for round in [
        "SEED", "SERIES_A", "SERIES_B", "SERIES_C", "SERIES_D", "SERIES_E",
    ] {
        check_signal(stage(json!(round)), &format!("stage {round}"), true);
    }
    check_signal(stage(json!("series_b")), "stage SERIES_B", true);
    for round in [
        "PRE_SEED",
        "SERIES_D_PLUS",
        "POST_IPO_EQUITY",
        "SERIES_F",
        "",
    ] {
        check_signal(stage(json!(round)), "stage", false);
    }
    check_signal(stage(Value::Null), "stage", false);
}

#[test]
fn company_size_10_to_500_is_a_signal() {
    let size = |n: Value| move |r: &mut Value| set(r, "company.size", n);
    check_signal(size(json!(10)), "company size 10", true);
    check_signal(size(json!(500)), "company size 500", true);
    check_signal(size(json!(9)), "company size", false);
    check_signal(size(json!(501)), "company size", false);
    // `team_size` stands in only when `company.size` is missing.
    check_signal(
        |r| {
            remove(r, "company.size");
            set(r, "team_size", json!(12));
        },
        "company size 12",
        true,
    );
    check_signal(
        |r| {
            remove(r, "company.size");
            set(r, "team_size", json!(800));
        },
        "company size",
        false,
    );
    check_signal(
        |r| {
            remove(r, "company.size");
            remove(r, "team_size");
        },
        "company size",
        false,
    );
    // A present `company.size` wins over `team_size` (42 in the sample).
    check_signal(size(json!(600)), "company size", false);
}

#[test]
fn manager_rating_of_4_is_a_signal() {
    check_signal(
        |r| set(r, "manager_rating", json!(4)),
        "manager rating 4",
        true,
    );
    check_signal(
        |r| set(r, "manager_rating", json!(5)),
        "manager rating 5",
        true,
    );
    check_signal(
        |r| set(r, "manager_rating", json!(3.99)),
        "manager rating",
        false,
    );
    check_signal(|r| remove(r, "manager_rating"), "manager rating", false);
}

#[test]
fn responding_within_3_days_is_a_signal() {
    check_signal(
        |r| set(r, "responsiveness_days", json!(2.99)),
        "responds in 2.99 days",
        true,
    );
    check_signal(
        |r| set(r, "responsiveness_days", json!(3)),
        "responds in",
        false,
    );
    check_signal(|r| remove(r, "responsiveness_days"), "responds in", false);
    check_signal(
        |r| set(r, "responsiveness_days", Value::Null),
        "responds in",
        false,
    );
    // 0 is present (SCORING.md treats zero as missing only where it says so).
    check_signal(
        |r| set(r, "responsiveness_days", json!(0)),
        "responds in 0 days",
        true,
    );
}

#[test]
fn up_to_6_interview_stages_is_a_signal() {
    check_signal(
        |r| set(r, "interview_stages", json!(6)),
        "6 interview stages",
        true,
    );
    check_signal(
        |r| set(r, "interview_stages", json!(1)),
        "1 interview stages",
        true,
    );
    check_signal(
        |r| set(r, "interview_stages", json!(7)),
        "7 interview stages",
        false,
    );
    check_signal(
        |r| set(r, "interview_stages", json!(0)),
        "0 interview stages",
        false,
    );
    check_signal(
        |r| remove(r, "interview_stages"),
        "5 interview stages",
        false,
    );
}

#[test]
fn any_highlight_is_a_signal() {
    check_signal(
        |r| set(r, "role_metadata.highlights", json!(["ROLE_BONUS"])),
        "badges: ROLE_BONUS",
        true,
    );
    check_signal(
        |r| set(r, "role_metadata.highlights", json!(["responsive"])),
        "badges: RESPONSIVE",
        true,
    );
    check_signal(
        |r| set(r, "role_metadata.highlights", json!([])),
        "badges",
        false,
    );
    check_signal(|r| remove(r, "role_metadata.highlights"), "badges", false);
}

// ------------------------------------------------------------------------ tier

/// The sample role without any signal, then `edit`, has tier `expected`.
fn check_tier(edit: impl FnOnce(&mut Value), expected: Tier) {
    check_tier_with(edit, &Intel::default(), expected);
}

fn check_tier_with(edit: impl FnOnce(&mut Value), intel: &Intel, expected: Tier) -> Verdict {
    let mut role = sample();
    without_signals(&mut role);
    edit(&mut role);
    let v = evaluate_with(&role, intel);
    assert_eq!(
        v.tier, expected,
        "failed {:?}, signals {:?}",
        v.failed_filters, v.quality_signals
    );
    v
}

fn rating(r: &mut Value) {
    set(r, "manager_rating", json!(4.5));
}

fn stages(r: &mut Value) {
    set(r, "interview_stages", json!(3));
}

fn badges(r: &mut Value) {
    set(r, "role_metadata.highlights", json!(["RESPONSIVE"]));
}

fn no_locations(r: &mut Value) {
    set(r, "locations", json!([]));
    set(r, "workplace_type", json!("Hybrid"));
}

/// The full sample (all 8 signals back) with no location listed.
fn sample_without_locations(r: &mut Value) {
    *r = sample();
    no_locations(r);
}

/// The full sample, in San Francisco only.
fn sample_in_san_francisco(r: &mut Value) {
    *r = sample();
    set(r, "locations", json!(["san_francisco"]));
}

#[test]
fn signals_decide_the_tier_of_a_passing_role() {
    check_tier(|_| {}, Tier::Skip);
    check_tier(rating, Tier::Maybe);
    check_tier(
        |r| {
            rating(r);
            stages(r);
        },
        Tier::Maybe,
    );
    check_tier(
        |r| {
            rating(r);
            stages(r);
            badges(r);
        },
        Tier::Qualified,
    );
    check_tier(|r| *r = sample(), Tier::Qualified);
    let v = check_tier_with(|_| {}, &Intel::default(), Tier::Skip);
    assert!(v.failed_filters.is_empty());
    assert_eq!(v.reasons(), vec!["✗ no quality signals"]);
    assert!(
        !Tier::Skip.is_qualified() && Tier::Maybe.is_qualified() && Tier::Qualified.is_qualified()
    );
}

#[test]
fn a_failed_filter_is_skip_whatever_the_signals() {
    check_tier(|r| *r = json!({"status": "CLOSED"}), Tier::Skip);
    let mut closed = sample();
    set(&mut closed, "status", json!("CLOSED"));
    assert_eq!(evaluate_with(&closed, &Intel::default()).tier, Tier::Skip);
}

#[test]
fn location_uncertain_only_when_location_is_the_only_failure_and_none_listed() {
    // Only the location fails and no location is listed: uncertain, whatever
    // the signals (0 or 8).
    check_tier(no_locations, Tier::LocationUncertain);
    check_tier(sample_without_locations, Tier::LocationUncertain);
    let v = check_tier_with(
        |r| remove(r, "locations"),
        &Intel::default(),
        Tier::LocationUncertain,
    );
    assert_eq!(
        v.failed_filters,
        vec!["location: none listed and not remote"]
    );
    assert!(Tier::LocationUncertain.is_candidate() && !Tier::LocationUncertain.is_qualified());
    // ... but not when another filter fails too.
    check_tier(
        |r| {
            sample_without_locations(r);
            set(r, "percent_fee", json!(10));
        },
        Tier::Skip,
    );
    check_tier(
        |r| {
            no_locations(r);
            set(r, "status", json!("CLOSED"));
        },
        Tier::Skip,
    );
    // ... nor when the listed locations are simply elsewhere.
    check_tier(sample_in_san_francisco, Tier::Skip);
    // No location listed but remote: passes.
    check_tier(
        |r| {
            sample_without_locations(r);
            set(r, "workplace_type", json!("remote"));
        },
        Tier::Qualified,
    );
}

#[test]
fn a_location_in_the_detail_resolves_location_uncertain() {
    let intel = location_mention("NYC metro", "new york", "company notes");
    let v = check_tier_with(sample_without_locations, &intel, Tier::Qualified);
    assert!(v.failed_filters.is_empty());
    assert!(
        v.signals.contains(
            &"location NYC metro inferred from the company notes, which name New York".to_string()
        ),
        "{:?}",
        v.signals
    );
    check_tier_with(
        |r| {
            no_locations(r);
            rating(r);
        },
        &intel,
        Tier::Maybe,
    );
    // With no signal it passes every filter and is SKIP for want of signals.
    check_tier_with(no_locations, &intel, Tier::Skip);
    // The detail's word does not override a listed location elsewhere.
    let v = check_tier_with(sample_in_san_francisco, &intel, Tier::Skip);
    assert!(!v.signals.iter().any(|s| s.contains("inferred")));

    // The same through the real detail reader: the sample detail says "Team
    // of 42 in New York".
    let detail: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/getRoleByIdSimple.sample.json"
    ))
    .unwrap();
    let intel = read_detail(&detail["result"]["data"]["json"], &Rules::defaults().lists);
    let v = check_tier_with(sample_without_locations, &intel, Tier::Qualified);
    assert!(
        v.signals
            .iter()
            .any(|s| s.starts_with("location NYC metro inferred from the company notes"))
    );
}

#[test]
fn an_investor_in_the_detail_counts_as_tier_1() {
    // No listed investors; the detail names Sequoia.
    let intel = investor_mention("sequoia", "selling points");
    let v = check_tier_with(
        |r| {
            *r = sample();
            remove(r, "investors");
        },
        &intel,
        Tier::Qualified,
    );
    assert!(
        v.quality_signals
            .contains(&"tier-1 investor (sequoia)".to_string()),
        "{:?}",
        v.quality_signals
    );
    assert!(
        v.signals
            .contains(&"investor sequoia named in the selling points".to_string()),
        "{:?}",
        v.signals
    );
    // On its own it is one signal: MAYBE.
    check_tier_with(|_| {}, &intel, Tier::Maybe);
    // A tier-2 name adds no tier-1 signal.
    let v = check_tier_with(
        |_| {},
        &investor_mention("spark capital", "company notes"),
        Tier::Skip,
    );
    assert!(
        v.signals
            .contains(&"investor spark capital named in the company notes".to_string())
    );

    // The sample detail names Benchmark and Craft Ventures, both already in
    // the sample's `investors`: nothing is added or counted twice.
    let detail: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/getRoleByIdSimple.sample.json"
    ))
    .unwrap();
    let intel = read_detail(&detail["result"]["data"]["json"], &Rules::defaults().lists);
    let with_detail = evaluate_with(&sample(), &intel);
    let without = evaluate_with(&sample(), &Intel::default());
    assert!(
        !with_detail.signals.iter().any(|s| s.contains("named in")),
        "{:?}",
        with_detail.signals
    );
    assert_eq!(with_detail.engineer, without.engineer);
    // Without listed investors the detail's two tier-1 names count.
    let mut role = sample();
    remove(&mut role, "investors");
    let v = evaluate_with(&role, &intel);
    assert!(
        v.signals
            .contains(&"investor benchmark named in the company notes".to_string())
    );
    assert!(
        v.signals
            .contains(&"investor craft ventures named in the company notes".to_string())
    );
    assert!(
        v.signals
            .contains(&"tier-1 investors: benchmark, craft ventures".to_string())
    );
}

// --------------------------------------------------------------- funding text

fn check_funding(text: &str, expected: f64) {
    assert_eq!(parse_funding(text), expected, "{text:?}");
}

#[test]
fn funding_amounts() {
    check_funding("$16.25M", 16_250_000.0);
    check_funding("100M", 100_000_000.0);
    check_funding("$1.5B", 1_500_000_000.0);
    check_funding("$1.2B", 1_200_000_000.0);
    check_funding("$750K", 750_000.0);
    check_funding("12,000,000", 12_000_000.0);
    check_funding("$ 2.5 M", 2_500_000.0);
    check_funding("$16.25m", 16_250_000.0);
    check_funding("1.5b", 1_500_000_000.0);
    check_funding("750k", 750_000.0);
    check_funding("abc", 0.0);
    check_funding("", 0.0);
    check_funding("M", 0.0);
    check_funding("$", 0.0);
    check_funding("about $5M", 0.0);
    check_funding("inf", 0.0);
    check_funding("NaN", 0.0);
    check_funding("€5M", 0.0);
}

// ---------------------------------------------------------------------- scores

/// A score's value and its components, each as (name, weight, value).
fn check_score(score: &Score, value: f64, components: &[(&str, f64, f64)]) {
    let actual: Vec<(&str, f64, f64)> = score
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.weight, c.value))
        .collect();
    assert_eq!(actual, components);
    assert_eq!(score.value, value);
}

fn check_excitement(score: &Score, value: f64, parts: [f64; 6]) {
    let names = [
        "investors",
        "funding",
        "industry",
        "founded",
        "size",
        "title",
    ];
    let components: Vec<(&str, f64, f64)> =
        names.iter().zip(parts).map(|(n, v)| (*n, 0.0, v)).collect();
    check_score(score, value, &components);
}

#[test]
fn scores_of_the_sample_role() {
    let v = evaluate_with(&sample(), &Intel::default());
    // Investors: Benchmark, Craft Ventures tier-1; "An Angel Investor" none.
    // compensation: 260000 ≥ 250k → 0.85
    // company quality: investors min(1, 0.30×2) = 0.6; funding: $31.5M ≥ 30M
    //   → 0.85, SERIES_A → 1.0, 0.6×0.85 + 0.4×1.0 = 0.91;
    //   0.5×0.6 + 0.5×0.91 = 0.755
    // role impact: "Senior" → 0.8; openings min(1, 3/3) = 1; size 42 → 1.0;
    //   0.5×0.8 + 0.3×1 + 0.2×1 = 0.9
    // process: 4 stages → 1.0; responsiveness 1 − 0.8/5 = 0.84; badges
    //   0.3 + 0.15 + 0.25 = 0.7; 0.4×1 + 0.3×0.84 + 0.3×0.7 = 0.862
    // tech modernity: python, go, kubernetes = 3 → 1; ai → 1.0; 0.6 + 0.4 = 1.0
    // engineer = 0.3×0.85 + 0.25×0.755 + 0.2×0.9 + 0.15×0.862 + 0.1×1.0
    //          = 0.255 + 0.18875 + 0.18 + 0.1293 + 0.1 = 0.85305 → 0.85
    check_score(
        &v.engineer,
        0.85,
        &[
            ("compensation", 0.30, 0.85),
            ("company quality", 0.25, 0.755),
            ("role impact", 0.20, 0.9),
            ("process", 0.15, 0.862),
            ("tech modernity", 0.10, 1.0),
        ],
    );
    // placement: rating (4.6 − 3)/2 = 0.8; 0.4×0.8 + 0.3×0.84 + 0.3×0.7 = 0.782
    // commission: 17.5% ≥ 16 → 0.8; openings 1; no ROLE_BONUS → 0.5;
    //   0.5×0.8 + 0.3×1 + 0.2×0.5 = 0.8
    // competition: 2 recruiters → 0.8; 0 hired → 0.5; 3 interviewing → 1.0;
    //   0.5×0.8 + 0.3×0.5 + 0.2×1.0 = 0.75
    // candidate fit: backend → 1.0; location passes → 1.0; = 1.0
    // headhunter = 0.35×0.782 + 0.3×0.8 + 0.2×0.75 + 0.15×1.0
    //            = 0.2737 + 0.24 + 0.15 + 0.15 = 0.8137 → 0.81
    check_score(
        &v.headhunter,
        0.81,
        &[
            ("placement probability", 0.35, 0.782),
            ("commission value", 0.30, 0.8),
            ("competition", 0.20, 0.75),
            ("candidate fit", 0.15, 1.0),
        ],
    );
    // combined = round(0.45×0.85 + 0.55×0.81, 2) = round(0.3825 + 0.4455) = 0.828 → 0.83
    assert_eq!(v.combined, 0.83);
    // excitement: 2 tier-1 → 0.30; $31.5M → 0.20; ai → 0.15; founded 2022 →
    //   0.05; size 42 → 0.05; "Senior Backend Engineer" → 0; sum 0.75
    check_excitement(&v.excitement, 0.75, [0.30, 0.20, 0.15, 0.05, 0.05, 0.0]);
    assert!(
        v.signals
            .contains(&"tier-1 investors: Benchmark, Craft Ventures".to_string()),
        "{:?}",
        v.signals
    );
}

#[test]
fn scores_of_a_weak_role_with_most_fields_missing() {
    let role = json!({
        "name": "Software Engineer",
        "status": "ACTIVE",
        "workplace_type": "Remote",
        "role_types": ["full_stack_engineer"],
        "company": {"name": "Quiet Co"}
    });
    let v = evaluate_with(&role, &Intel::default());
    // Salary missing fails; the fee, missing, counts as 0 and fails.
    assert_eq!(
        v.failed_filters,
        vec!["salary upper bound missing", "fee 0% is below 14%"]
    );
    assert!(v.quality_signals.is_empty());
    assert_eq!(v.tier, Tier::Skip);
    // compensation: salary missing → 0.3
    // company quality: no investors → 0.3; funding: amount 0 → 0.3, stage
    //   missing → 0.5, 0.6×0.3 + 0.4×0.5 = 0.38; 0.5×0.3 + 0.5×0.38 = 0.34
    // role impact: title → 0.6; hiring_count missing → 1 opening, openings
    //   1/3; size missing → 50 → 1.0; 0.5×0.6 + 0.3×(1/3) + 0.2×1 = 0.6
    // process: stages missing → 5 → 0.7; responsiveness missing → 2.0 →
    //   1 − 0.4 = 0.6; no badges → 0; 0.4×0.7 + 0.3×0.6 + 0 = 0.46
    // tech modernity: 0 modern; no industry → 0.5; 0 + 0.4×0.5 = 0.2
    // engineer = 0.3×0.3 + 0.25×0.34 + 0.2×0.6 + 0.15×0.46 + 0.1×0.2
    //          = 0.09 + 0.085 + 0.12 + 0.069 + 0.02 = 0.384 → 0.38
    check_score(
        &v.engineer,
        0.38,
        &[
            ("compensation", 0.30, 0.3),
            ("company quality", 0.25, 0.34),
            ("role impact", 0.20, 0.6),
            ("process", 0.15, 0.46),
            ("tech modernity", 0.10, 0.2),
        ],
    );
    // placement: rating missing → 4.0 → 0.5; 0.4×0.5 + 0.3×0.6 + 0 = 0.38
    // commission: fee missing → 15 → 0.5; openings 1/3; no bonus → 0.5;
    //   0.5×0.5 + 0.3×(1/3) + 0.2×0.5 = 0.45
    // competition: recruiters missing → 0 → 1.0; hired missing → 0.5;
    //   interviewing missing → 0.7; 0.5 + 0.15 + 0.14 = 0.79
    // candidate fit: full stack → 1.0; remote passes → 1.0; = 1.0
    // headhunter = 0.35×0.38 + 0.3×0.45 + 0.2×0.79 + 0.15×1.0
    //            = 0.133 + 0.135 + 0.158 + 0.15 = 0.576 → 0.58
    check_score(
        &v.headhunter,
        0.58,
        &[
            ("placement probability", 0.35, 0.38),
            ("commission value", 0.30, 0.45),
            ("competition", 0.20, 0.79),
            ("candidate fit", 0.15, 1.0),
        ],
    );
    // combined = round(0.45×0.38 + 0.55×0.58, 2) = round(0.171 + 0.319) = 0.49
    assert_eq!(v.combined, 0.49);
    // excitement: no investors → 0.15×0.3 = 0.045; no funding → 0; no
    //   industry → 0; founded missing → 2020 → 0; size missing → 50 → 0.05;
    //   title → 0; sum 0.095. A decimal tie: half-even gives 0.10, and so
    //   does Python on the float (0.15*0.3 + 0.05 == 0.0950000000000000011).
    check_excitement(&v.excitement, 0.1, [0.045, 0.0, 0.0, 0.0, 0.05, 0.0]);
}

/// A well-funded role with 3 tier-1 investors, a tier-2, an angel and a
/// look-alike name; poor process and heavy competition.
fn backed_role() -> Value {
    json!({
        "name": "Staff Backend Engineer",
        "status": "active",
        "not_accepting_recruiters": false,
        "company": {
            "name": "Nimbus Data",
            "size": 150,
            "fundingAmount": "$120M",
            "foundingYear": 2019,
            "industries": ["fintech"],
            "company_metadata": {"last_funding_round": "SERIES_C"}
        },
        "investors": ["Sequoia Capital China", "a16z", "Founders Fund", "Spark Capital", "Elad Gil", "Neal Arthur"],
        "locations": ["brooklyn", "san_francisco"],
        "workplace_type": "On-site",
        "role_types": ["backend_engineer", "frontend_engineer"],
        "salaryUpperBound": 320000,
        "percent_fee": 20,
        "hiring_count": 1,
        "tech_stack": ["Rust", "TypeScript", "React", "Java"],
        "manager_rating": 3.5,
        "responsiveness_days": 6,
        "interview_stages": 7,
        "role_metadata": {"highlights": ["ROLE_BONUS", "RESPONSIVE", "NO_FINAL_ROUNDS", "TRUSTED_CLIENT", "HIRING_MULTIPLE"]},
        "approved_recruiters_count": 12,
        "total_hired": 2,
        "total_interviewing": 11
    })
}

#[test]
fn scores_of_a_role_with_three_tier_1_investors() {
    let v = evaluate_with(&backed_role(), &Intel::default());
    assert!(v.failed_filters.is_empty(), "{:?}", v.failed_filters);
    // Signals: tier-1, $120M, SERIES_C, size 150, badges; not rating 3.5,
    // 6 days, 7 stages.
    assert_eq!(v.quality_signals.len(), 5, "{:?}", v.quality_signals);
    assert_eq!(v.tier, Tier::Qualified);
    assert!(
        v.signals
            .contains(&"tier-1 investors: Sequoia Capital China, a16z, Founders Fund".to_string())
    );
    assert!(
        v.signals
            .contains(&"tier-2 investors: Spark Capital".to_string())
    );
    assert!(v.signals.contains(&"angels: Elad Gil".to_string()));
    // compensation: 320000 ≥ 300k → 1.0
    // company quality: investors min(1, 0.30×3 + 0.15×1) = min(1, 1.05) = 1.0;
    //   funding: $120M → 1.0, SERIES_C → 0.85, 0.6 + 0.34 = 0.94;
    //   0.5×1.0 + 0.5×0.94 = 0.97
    // role impact: "Staff" → 1.0; openings 1/3; size 150 → 0.8;
    //   0.5 + 0.3×(1/3) + 0.2×0.8 = 0.5 + 0.1 + 0.16 = 0.76
    // process: 7 stages → 0.4; responsiveness 1 − clamp01(6/5) = 0; badges
    //   0.2 + 0.3 + 0.25 + 0.15 (ROLE_BONUS is worth 0 here) = 0.9;
    //   0.4×0.4 + 0 + 0.3×0.9 = 0.16 + 0.27 = 0.43
    // tech modernity: Rust, TypeScript, React = 3 → 1; fintech → 1.0; 1.0
    // engineer = 0.3×1 + 0.25×0.97 + 0.2×0.76 + 0.15×0.43 + 0.1×1
    //          = 0.3 + 0.2425 + 0.152 + 0.0645 + 0.1 = 0.859 → 0.86
    check_score(
        &v.engineer,
        0.86,
        &[
            ("compensation", 0.30, 1.0),
            ("company quality", 0.25, 0.97),
            ("role impact", 0.20, 0.76),
            ("process", 0.15, 0.43),
            ("tech modernity", 0.10, 1.0),
        ],
    );
    // placement: rating (3.5 − 3)/2 = 0.25; 0.4×0.25 + 0.3×0 + 0.3×0.9 = 0.37
    // commission: 20% → 1.0; openings 1/3; ROLE_BONUS → 1.0;
    //   0.5 + 0.1 + 0.2 = 0.8
    // competition: 12 recruiters → 0.2; 2 hired → 1.0; 11 interviewing → 0.6;
    //   0.1 + 0.3 + 0.12 = 0.52
    // candidate fit: backend → 1.0; brooklyn passes → 1.0; = 1.0
    // headhunter = 0.35×0.37 + 0.3×0.8 + 0.2×0.52 + 0.15×1
    //            = 0.1295 + 0.24 + 0.104 + 0.15 = 0.6235 → 0.62
    check_score(
        &v.headhunter,
        0.62,
        &[
            ("placement probability", 0.35, 0.37),
            ("commission value", 0.30, 0.8),
            ("competition", 0.20, 0.52),
            ("candidate fit", 0.15, 1.0),
        ],
    );
    // combined = round(0.45×0.86 + 0.55×0.62, 2) = round(0.387 + 0.341) = 0.728 → 0.73
    assert_eq!(v.combined, 0.73);
    // excitement: ≥ 3 tier-1 → 0.40; $120M → 0.25; fintech → 0.10; 2019 → 0;
    //   size 150 → 0; "Staff" → 0.05; sum 0.80
    check_excitement(&v.excitement, 0.8, [0.40, 0.25, 0.10, 0.0, 0.0, 0.05]);
}

#[test]
fn a_hot_company_is_exciting_whatever_else() {
    let mut role = sample();
    set(&mut role, "company.name", json!("Stripe"));
    let v = evaluate_with(&role, &Intel::default());
    // excitement: hot company → 0.95, one part.
    check_score(&v.excitement, 0.95, &[("hot company", 0.0, 0.95)]);
    assert!(
        v.signals.contains(&"hot company (Stripe)".to_string()),
        "{:?}",
        v.signals
    );
    // The other scores are the sample's: 0.85, 0.81, 0.83.
    assert_eq!(
        (v.engineer.value, v.headhunter.value, v.combined),
        (0.85, 0.81, 0.83)
    );

    let excitement = |company: Value| {
        let mut role = backed_role();
        set(&mut role, "company.name", company);
        evaluate_with(&role, &Intel::default()).excitement.value
    };
    assert_eq!(excitement(json!("OPENAI")), 0.95);
    // Reading: the hot name may appear as whole words in a longer name.
    assert_eq!(excitement(json!("Stripe, Inc.")), 0.95);
    // Not as part of another word: back to the backed role's 0.80.
    assert_eq!(excitement(json!("Stripes Apparel")), 0.8);
    assert_eq!(excitement(json!("Nonlinear Labs")), 0.8);
    assert_eq!(excitement(Value::Null), 0.8);
}

#[test]
fn excitement_from_tier_2_and_angels() {
    let mut role = sample();
    set(
        &mut role,
        "investors",
        json!([
            "Spark Capital",
            "Lux Capital",
            "Elad Gil",
            "Nat Friedman",
            "Some Fund"
        ]),
    );
    let v = evaluate_with(&role, &Intel::default());
    // investors: no tier-1 → 0.15 × min(1, 0.15×2 + 0.15×2) = 0.15×0.6 = 0.09;
    //   with the sample's 0.20 + 0.15 + 0.05 + 0.05 + 0: sum 0.54
    check_excitement(&v.excitement, 0.54, [0.09, 0.20, 0.15, 0.05, 0.05, 0.0]);
    // Engineer: company quality 0.5×min(1, 0.15×2) + 0.5×0.91 = 0.15 + 0.455
    //   = 0.605; engineer = 0.255 + 0.25×0.605 + 0.18 + 0.1293 + 0.1
    //   = 0.255 + 0.15125 + 0.18 + 0.1293 + 0.1 = 0.81555 → 0.82
    assert_eq!(v.engineer.components[1].value, 0.605);
    assert_eq!(v.engineer.value, 0.82);
    // Seven tier-2/angels saturate: 0.15 × min(1, 1.05) = 0.15.
    set(
        &mut role,
        "investors",
        json!([
            "Spark Capital",
            "Lux Capital",
            "IVP",
            "NFX",
            "Elad Gil",
            "Nat Friedman",
            "Dylan Field"
        ]),
    );
    let v = evaluate_with(&role, &Intel::default());
    assert_eq!(v.excitement.components[0].value, 0.15);
    // Five such investors: 0.15 × 0.75 = 0.1125 plus 0.45 = 0.5625 → 0.56.
    set(
        &mut role,
        "investors",
        json!([
            "Spark Capital",
            "Lux Capital",
            "IVP",
            "Elad Gil",
            "Nat Friedman"
        ]),
    );
    assert_eq!(
        evaluate_with(&role, &Intel::default()).excitement.value,
        0.56
    );
}

#[test]
fn excitement_ties_round_like_python_floats() {
    // One tier-2 and one angel: 0.15 × min(1, 0.30) = 0.045, plus the
    // sample's 0.20 + 0.15 + 0.05 + 0.05 = 0.495. Exactly half-way in
    // decimals, but as floats 0.045 + 0.2 + 0.15 + 0.05 + 0.05 is
    // 0.49499999999999994, which Python's round(x, 2) makes 0.49.
    let mut role = sample();
    set(&mut role, "investors", json!(["Spark Capital", "Elad Gil"]));
    assert_eq!(
        evaluate_with(&role, &Intel::default()).excitement.value,
        0.49
    );
}

#[test]
fn excitement_is_capped_at_1() {
    // Default parts add up to at most 0.95; a heavier title part shows the cap.
    let mut rules = Rules::defaults();
    rules.scoring.excitement.title_points = 0.5;
    let v = evaluate(&backed_role(), &Intel::default(), &rules);
    // 0.40 + 0.25 + 0.10 + 0 + 0 + 0.5 = 1.25 → 1.0
    assert_eq!(v.excitement.value, 1.0);
}

#[test]
fn score_tables_at_their_edges() {
    let engineer = |edit: &dyn Fn(&mut Value), component: usize| {
        verdict(edit).engineer.components[component].value
    };
    let headhunter = |edit: &dyn Fn(&mut Value), component: usize| {
        verdict(edit).headhunter.components[component].value
    };
    // compensation
    assert_eq!(
        engineer(&|r| set(r, "salaryUpperBound", json!(300_000)), 0),
        1.0
    );
    assert_eq!(
        engineer(&|r| set(r, "salaryUpperBound", json!(299_999)), 0),
        0.85
    );
    assert_eq!(
        engineer(&|r| set(r, "salaryUpperBound", json!(200_000)), 0),
        0.6
    );
    assert_eq!(
        engineer(&|r| set(r, "salaryUpperBound", json!(150_000)), 0),
        0.4
    );
    assert_eq!(engineer(&|r| set(r, "salaryUpperBound", json!(0)), 0), 0.3);
    // Title words: "lead" counts for the engineer but not for excitement.
    let lead = verdict(|r| set(r, "name", json!("Tech Lead, Platform")));
    assert_eq!(lead.engineer.components[2].value, 1.0);
    assert_eq!(lead.excitement.components[5].value, 0.0);
    let head = verdict(|r| set(r, "name", json!("Head of Engineering")));
    assert_eq!(head.excitement.components[5].value, 0.05);
    // role impact with "Engineer" (0.6), 6 openings capped at 1, size 9 → 0.6:
    //   0.3 + 0.3 + 0.12 = 0.72
    let plain = |r: &mut Value| {
        set(r, "name", json!("Engineer"));
        set(r, "hiring_count", json!(6));
        set(r, "company.size", json!(9));
    };
    assert_eq!(engineer(&plain, 2), 0.72);
    // fee table: 18 → 1.0, 16 → 0.8, 14 → 0.5, 13 → 0.3; commission with
    // openings 1 and no bonus = 0.5×fee + 0.3 + 0.1
    assert_eq!(headhunter(&|r| set(r, "percent_fee", json!(18)), 1), 0.9);
    assert_eq!(headhunter(&|r| set(r, "percent_fee", json!(16)), 1), 0.8);
    assert_eq!(headhunter(&|r| set(r, "percent_fee", json!(14)), 1), 0.65);
    assert_eq!(headhunter(&|r| set(r, "percent_fee", json!(13)), 1), 0.55);
    // competition with 0 hired (0.5 → 0.15) and 3 interviewing (1.0 → 0.2):
    // recruiters 0 → 1.0, 5 → 0.6, 10 → 0.4
    assert_eq!(
        headhunter(&|r| set(r, "approved_recruiters_count", json!(0)), 2),
        0.85
    );
    assert_eq!(
        headhunter(&|r| set(r, "approved_recruiters_count", json!(5)), 2),
        0.65
    );
    assert_eq!(
        headhunter(&|r| set(r, "approved_recruiters_count", json!(10)), 2),
        0.55
    );
    // track record 1 → 0.8 (2 recruiters 0.4, pipeline 0.2): 0.4 + 0.24 + 0.2
    assert_eq!(headhunter(&|r| set(r, "total_hired", json!(1)), 2), 0.84);
    // pipeline 10 → 0.7 (0.4 + 0.15 + 0.14); 0 → 0.7 too
    assert_eq!(
        headhunter(&|r| set(r, "total_interviewing", json!(10)), 2),
        0.69
    );
    assert_eq!(
        headhunter(&|r| set(r, "total_interviewing", json!(0)), 2),
        0.69
    );
    // candidate fit: a secondary-only type scores 1.0 if it is in the fit set
    // (data) and 0.6 otherwise (infra); a failed location scores 0.5.
    assert_eq!(
        headhunter(&|r| set(r, "role_types", json!(["data_engineer"])), 3),
        1.0
    );
    assert_eq!(
        headhunter(
            &|r| set(r, "role_types", json!(["infrastructure_devops_sre"])),
            3
        ),
        0.8
    );
    // With San Francisco: fit 0.5×1 + 0.5×0.5 = 0.75; headhunter
    //   0.2737 + 0.24 + 0.15 + 0.15×0.75 = 0.7762 → 0.78
    let sf = verdict(|r| set(r, "locations", json!(["san_francisco"])));
    assert_eq!(sf.headhunter.components[3].value, 0.75);
    assert_eq!(sf.headhunter.value, 0.78);
    // A location found in the detail passes the filter, so fit stays 1.0.
    let mut role = sample();
    no_locations(&mut role);
    let inferred = evaluate_with(&role, &location_mention("London", "london", "description"));
    assert_eq!(inferred.headhunter.components[3].value, 1.0);
    assert_eq!(
        evaluate_with(&role, &Intel::default())
            .headhunter
            .components[3]
            .value,
        0.75
    );
}

// ---------------------------------------------------------------------- trend

fn check_trend(changes: &[(ChangeKind, Option<&str>)], expected: Option<Trend>) {
    let changes: Vec<RecentChange<'_>> = changes
        .iter()
        .map(|&(kind, new_value)| RecentChange { kind, new_value })
        .collect();
    assert_eq!(trend(&changes), expected);
}

#[test]
fn trends() {
    let hired = (ChangeKind::HiringIncrease, Some("1"));
    let up = (ChangeKind::InterviewIncrease, Some("4"));
    let to_zero = (ChangeKind::InterviewDecrease, Some("0"));
    let down = (ChangeKind::InterviewDecrease, Some("2"));
    // hired beats surging beats stalled, in any order.
    check_trend(&[to_zero, up, hired], Some(Trend::Hired));
    check_trend(&[hired], Some(Trend::Hired));
    check_trend(&[to_zero, up], Some(Trend::Surging));
    check_trend(&[up, down], Some(Trend::Surging));
    check_trend(&[down, to_zero], Some(Trend::Stalled));
    // Stalled only when interviews fell to 0.
    check_trend(&[down], None);
    check_trend(&[(ChangeKind::InterviewDecrease, Some("0.5"))], None);
    // Reading: a count that vanished (no new value) is read as 0.
    check_trend(
        &[(ChangeKind::InterviewDecrease, None)],
        Some(Trend::Stalled),
    );
    // Other changes make no trend.
    check_trend(&[], None);
    check_trend(
        &[
            (ChangeKind::HiringDecrease, Some("0")),
            (ChangeKind::SalaryIncrease, Some("250000")),
            (ChangeKind::New, None),
        ],
        None,
    );
    assert_eq!(Trend::Stalled.as_str(), "stalled");
}

// ------------------------------------------------------------------- rounding

#[test]
fn rounding_is_pythons() {
    // Python: round(0.125, 2) == 0.12, round(0.375, 2) == 0.38 (exact binary
    // halves go to even); round(2.675, 2) == 2.67 (2.675 is below the half).
    assert_eq!(round_to(0.125, 2), 0.12);
    assert_eq!(round_to(0.375, 2), 0.38);
    assert_eq!(round_to(2.675, 2), 2.67);
    assert_eq!(round_to(0.5, 0), 0.0);
    assert_eq!(round_to(1.5, 0), 2.0);
    assert_eq!(round_to(0.0625, 3), 0.062);
    assert_eq!(round_to(0.85305, 2), 0.85);
    assert_eq!(round_to(1.0, 2), 1.0);
}

// ------------------------------------------------------------ defensive input

#[test]
fn numbers_written_as_strings_are_read() {
    for salary in ["250000", "$250,000", " 250000 "] {
        let v = verdict(|r| set(r, "salaryUpperBound", json!(salary)));
        assert!(
            v.failed_filters.is_empty(),
            "{salary}: {:?}",
            v.failed_filters
        );
        // 250000 ≥ 250k → 0.85, as the sample's 260000.
        assert_eq!(v.engineer.components[0].value, 0.85);
    }
    let v = verdict(|r| {
        set(r, "percent_fee", json!("17.5"));
        set(r, "manager_rating", json!("4.6"));
        set(r, "hiring_count", json!("3"));
        set(r, "company.size", json!("42"));
        set(r, "responsiveness_days", json!("0.8"));
        set(r, "approved_recruiters_count", json!("2"));
    });
    // Read as the sample's numbers: the same verdict.
    assert_eq!(v, evaluate_with(&sample(), &Intel::default()));
    check_filter(
        |r| set(r, "salaryUpperBound", json!("lots")),
        Some("salary upper bound missing"),
    );
    check_filter(|r| set(r, "percent_fee", json!("15%")), None);
    // A numeric fundingAmount is read as dollars.
    let v = verdict(|r| {
        remove(r, "funding");
        set(r, "company.fundingAmount", json!(31_500_000));
    });
    let expected = evaluate_with(&sample(), &Intel::default());
    assert_eq!(v.quality_signals[1], "funding 31500000");
    assert_eq!(
        (v.tier, &v.engineer, &v.headhunter),
        (expected.tier, &expected.engineer, &expected.headhunter)
    );
    assert_eq!(v.excitement.value, expected.excitement.value);
}

#[test]
fn a_missing_or_odd_company_is_read_as_absent() {
    // Company null (or a string): its facts are missing. Still from the role
    // itself: tier-1 investor, funding (top-level `funding`), size
    // (`team_size`), rating, responsiveness, stages, badges: 7 → QUALIFIED.
    for company in [Value::Null, json!("Examplar Labs"), json!(42), json!([])] {
        let v = verdict(|r| set(r, "company", company.clone()));
        assert_eq!(v.tier, Tier::Qualified, "{company}");
        assert_eq!(
            v.quality_signals.len(),
            7,
            "{company}: {:?}",
            v.quality_signals
        );
        assert!(!v.quality_signals.iter().any(|s| s.starts_with("stage")));
    }
}

#[test]
fn lists_of_odd_shapes() {
    // `locations` as one string is a one-item list.
    check_filter(|r| set(r, "locations", json!("new_york")), None);
    check_filter(
        |r| set(r, "locations", json!("san_francisco")),
        Some("location: San Francisco"),
    );
    // Non-string items are skipped or read as their text.
    check_filter(|r| set(r, "locations", json!([null, 7, "london"])), None);
    // A number for `locations` is no list: none listed, so uncertain.
    assert_eq!(
        verdict(|r| set(r, "locations", json!(5))).tier,
        Tier::LocationUncertain
    );
    // `investors` null or a number: no investors at all (0.3 in company
    // quality: 0.5×0.3 + 0.5×0.91 = 0.605).
    for investors in [Value::Null, json!(3), json!({})] {
        let v = verdict(|r| set(r, "investors", investors.clone()));
        assert!(!v.quality_signals.iter().any(|s| s.starts_with("tier-1")));
        assert_eq!(v.engineer.components[1].value, 0.605);
    }
    // `investors` as one string.
    check_signal(
        |r| set(r, "investors", json!("Sequoia")),
        "tier-1 investor (Sequoia)",
        true,
    );
    // `role_types` as a number: no role types, which fails the core filter.
    check_filter(
        |r| set(r, "role_types", json!(5)),
        Some("no core engineering role type (none)"),
    );
    check_filter(|r| set(r, "role_types", json!("backend_engineer")), None);
    // Highlights and tech stack as one string.
    check_signal(
        |r| set(r, "role_metadata.highlights", json!("ROLE_BONUS")),
        "badges: ROLE_BONUS",
        true,
    );
    let v = verdict(|r| set(r, "tech_stack", json!("rust")));
    // 1 modern of 3: 0.6×(1/3) + 0.4×1.0 = 0.6
    assert_eq!(v.engineer.components[4].value, 0.6);
}

#[test]
fn a_role_that_is_not_an_object_is_skip_with_default_scores() {
    // Every field is missing: status, location (none listed), role type,
    // salary and fee all fail, so SKIP (not LOCATION_UNCERTAIN).
    let empty = evaluate_with(&json!({}), &Intel::default());
    assert_eq!(empty.tier, Tier::Skip);
    assert_eq!(
        empty.failed_filters,
        vec![
            "status is missing, not ACTIVE",
            "location: none listed and not remote",
            "no core engineering role type (none)",
            "salary upper bound missing",
            "fee 0% is below 14%",
        ]
    );
    assert!(empty.quality_signals.is_empty());
    // engineer: as the weak role: 0.3, 0.34, 0.6, 0.46, 0.2 → 0.384 → 0.38
    assert_eq!(empty.engineer.value, 0.38);
    // headhunter: fit now 0.5×0.6 (no fit type) + 0.5×0.5 (location fails)
    //   = 0.55; 0.133 + 0.135 + 0.158 + 0.15×0.55 = 0.5085 → 0.51
    assert_eq!(empty.headhunter.components[3].value, 0.55);
    assert_eq!(empty.headhunter.value, 0.51);
    // combined = round(0.45×0.38 + 0.55×0.51) = round(0.171 + 0.2805) = 0.4515 → 0.45
    assert_eq!(empty.combined, 0.45);
    // excitement: 0.045 + 0.05 (size missing → 50) = 0.095 → 0.1
    assert_eq!(empty.excitement.value, 0.1);
    // Any other shape reads the same as an empty object.
    for raw in [
        json!([]),
        json!("x"),
        json!(null),
        json!(42),
        json!(true),
        json!([{"status": "ACTIVE"}]),
    ] {
        assert_eq!(evaluate_with(&raw, &Intel::default()), empty, "{raw}");
    }
}

// ------------------------------------------------------- zero means "not set"
// SCORING.md: for hiring_count, interview_stages, manager_rating, percent_fee
// (scores only), company.size and company.foundingYear a 0 is read as
// missing; for every other number 0 is a real value. Each test sets one field
// of the sample role (scores 0.85 / 0.81 / 0.83, excitement 0.75; see
// `scores_of_the_sample_role`) to 0 and recomputes by hand what moves.

fn has_default(v: &Verdict, note: &str) {
    assert!(
        v.defaulted.iter().any(|d| d == note),
        "{note:?} not in {:?}",
        v.defaulted
    );
}

#[test]
fn hiring_count_0_reads_as_one_opening() {
    let v = verdict(|r| set(r, "hiring_count", json!(0)));
    // openings: 0 = not set → 1 opening → min(1, 1/3) = 0.333 (read as a
    // real 0 it would be 0; the spec once said 1).
    // role impact: 0.5×0.8 + 0.3×(1/3) + 0.2×1.0 = 0.7 (the sample's 3/3 gives 0.9)
    // commission: 0.5×0.8 + 0.3×(1/3) + 0.2×0.5 = 0.6 (the sample's: 0.8)
    // engineer: the sample's 0.85305 − 0.2×0.2 = 0.81305 → 0.81
    // headhunter: the sample's 0.8137 − 0.3×0.2 = 0.7537 → 0.75
    // combined = round(0.45×0.81 + 0.55×0.75, 2) = round(0.3645 + 0.4125) = 0.777 → 0.78
    assert_eq!(v.engineer.components[2].value, 0.7);
    assert_eq!(v.headhunter.components[1].value, 0.6);
    assert_eq!(
        (v.engineer.value, v.headhunter.value, v.combined),
        (0.81, 0.75, 0.78)
    );
    has_default(&v, "openings 0.333 (openings 0 means not set, read as 1)");
    for detail in [
        &v.engineer.components[2].detail,
        &v.headhunter.components[1].detail,
    ] {
        assert!(
            detail.contains("openings 0.333 (openings 0 means not set, read as 1)"),
            "{detail}"
        );
    }
}

/// The openings a role's `hiring_count` gives, as both scores' details
/// show it: "openings 0.333".
fn openings_shown(v: &Verdict) -> [String; 2] {
    let openings = |detail: &str| {
        let at = detail.find("openings ").expect("an openings part");
        detail[at + "openings ".len()..][..5].to_string()
    };
    [
        openings(&v.engineer.components[2].detail),
        openings(&v.headhunter.components[1].detail),
    ]
}

#[test]
fn openings_by_hiring_count_in_both_scores() {
    // SCORING.md: min(1, hiring_count / 3), an unset count (absent, null or
    // 0) read as 1 opening. Role impact is 0.5×0.8 + 0.3×openings + 0.2 and
    // commission 0.5×0.8 + 0.3×openings + 0.1 on the sample.
    let cases: [(&str, Option<Value>, &str, f64, f64); 6] = [
        ("absent", None, "0.333", 0.7, 0.6),
        ("null", Some(Value::Null), "0.333", 0.7, 0.6),
        ("0", Some(json!(0)), "0.333", 0.7, 0.6),
        ("1", Some(json!(1)), "0.333", 0.7, 0.6),
        ("3", Some(json!(3)), "1.000", 0.9, 0.8),
        ("7", Some(json!(7)), "1.000", 0.9, 0.8),
    ];
    for (name, value, openings, impact, commission) in cases {
        let v = verdict(|r| match value {
            Some(value) => set(r, "hiring_count", value),
            None => remove(r, "hiring_count"),
        });
        assert_eq!(
            openings_shown(&v),
            [openings, openings],
            "hiring_count {name}"
        );
        assert_eq!(
            (
                v.engineer.components[2].value,
                v.headhunter.components[1].value
            ),
            (impact, commission),
            "hiring_count {name}"
        );
        let unset = !matches!(name, "1" | "3" | "7");
        assert_eq!(
            v.defaulted
                .iter()
                .any(|d| d.starts_with("openings 0.333 (")),
            unset,
            "hiring_count {name}: {:?}",
            v.defaulted
        );
    }
}

#[test]
fn interview_stages_0_scores_stages_as_5() {
    let v = verdict(|r| set(r, "interview_stages", json!(0)));
    // stages: 0 = not set → 5 → 0.7 (a real 0 would be ≤ 4 → 1.0)
    // process: 0.4×0.7 + 0.3×0.84 + 0.3×0.7 = 0.28 + 0.252 + 0.21 = 0.742
    // engineer = 0.255 + 0.18875 + 0.18 + 0.15×0.742 + 0.1
    //          = 0.255 + 0.18875 + 0.18 + 0.1113 + 0.1 = 0.83505 → 0.84
    // combined = 0.45×0.84 + 0.55×0.81 = 0.378 + 0.4455 = 0.8235 → 0.82
    //   (the float is 0.82350000000000001, so it rounds down as in Python)
    assert_eq!(v.engineer.components[3].value, 0.742);
    assert_eq!(v.engineer.value, 0.84);
    assert_eq!(v.combined, 0.82);
    // The signal needs stages present and > 0: lost, 7 signals left.
    assert!(
        !v.quality_signals
            .iter()
            .any(|s| s.contains("interview stages"))
    );
    assert_eq!(v.tier, Tier::Qualified);
    has_default(&v, "interview stages 5 (interview stages 0 means not set)");
}

#[test]
fn manager_rating_0_scores_rating_as_4() {
    let v = verdict(|r| set(r, "manager_rating", json!(0)));
    // rating: 0 = not set → 4.0 → (4 − 3)/2 = 0.5 (a real 0 would be 0)
    // placement: 0.4×0.5 + 0.3×0.84 + 0.3×0.7 = 0.2 + 0.252 + 0.21 = 0.662
    // headhunter = 0.35×0.662 + 0.3×0.8 + 0.2×0.75 + 0.15×1.0
    //            = 0.2317 + 0.24 + 0.15 + 0.15 = 0.7717 → 0.77
    // combined = 0.45×0.85 + 0.55×0.77 = 0.3825 + 0.4235 = 0.806 → 0.81
    assert_eq!(v.headhunter.components[0].value, 0.662);
    assert_eq!(v.headhunter.value, 0.77);
    assert_eq!(v.combined, 0.81);
    // Missing is no rating signal.
    assert!(
        !v.quality_signals
            .iter()
            .any(|s| s.contains("manager rating"))
    );
    has_default(&v, "manager rating 4.0 (manager rating 0 means not set)");
}

#[test]
fn percent_fee_0_fails_the_filter_but_scores_the_fee_as_15() {
    let v = verdict(|r| set(r, "percent_fee", json!(0)));
    // The hard filter reads the fee as sent: 0 < 14 fails, so SKIP.
    assert_eq!(v.failed_filters, vec!["fee 0% is below 14%"]);
    assert_eq!(v.tier, Tier::Skip);
    // The score reads 0 as not set → 15% → ≥ 14 → 0.5 (a real 0 → 0.3)
    // commission: 0.5×0.5 + 0.3×1 + 0.2×0.5 = 0.25 + 0.3 + 0.1 = 0.65
    // headhunter = 0.35×0.782 + 0.3×0.65 + 0.2×0.75 + 0.15×1.0
    //            = 0.2737 + 0.195 + 0.15 + 0.15 = 0.7687 → 0.77
    // combined = 0.45×0.85 + 0.55×0.77 = 0.806 → 0.81
    assert_eq!(v.headhunter.components[1].value, 0.65);
    assert_eq!(v.headhunter.value, 0.77);
    assert_eq!(v.combined, 0.81);
    has_default(&v, "fee 15% (fee 0 means not set)");
}

#[test]
fn company_size_0_reads_as_50_and_team_size_stands_in_for_the_signal() {
    let v = verdict(|r| set(r, "company.size", json!(0)));
    // Engineer size: 0 = not set → 50 → 20..100 → 1.0 (a real 0 → 0.6);
    // role impact 0.5×0.8 + 0.3×1 + 0.2×1.0 = 0.9, engineer 0.85 as the sample.
    assert_eq!(v.engineer.components[2].value, 0.9);
    assert_eq!(v.engineer.value, 0.85);
    // Excitement size: 50 → 0.05; the sum stays 0.75.
    check_excitement(&v.excitement, 0.75, [0.30, 0.20, 0.15, 0.05, 0.05, 0.0]);
    // The size signal falls back to team_size (42), as for a missing size.
    assert!(v.quality_signals.contains(&"company size 42".to_string()));
    has_default(&v, "company size 50 (company size 0 means not set)");
}

#[test]
fn founding_year_0_reads_as_2020() {
    let v = verdict(|r| set(r, "company.foundingYear", json!(0)));
    // founded: 0 = not set → 2020 < 2022 → 0 (the sample's 2022 gave 0.05)
    // excitement = 0.30 + 0.20 + 0.15 + 0 + 0.05 + 0 = 0.70
    check_excitement(&v.excitement, 0.7, [0.30, 0.20, 0.15, 0.0, 0.05, 0.0]);
    assert_eq!(
        v.excitement.components[3].detail,
        "2020 (founding year 0 means not set)"
    );
    has_default(&v, "founded 2020 (founding year 0 means not set)");
}

#[test]
fn approved_recruiters_count_0_is_a_real_zero() {
    let v = verdict(|r| set(r, "approved_recruiters_count", json!(0)));
    // 0 recruiters is "no competition": 0 → 1.0 (the sample's 2 gave 0.8)
    // competition: 0.5×1.0 + 0.3×0.5 + 0.2×1.0 = 0.5 + 0.15 + 0.2 = 0.85
    // headhunter = 0.2737 + 0.24 + 0.2×0.85 + 0.15 = 0.8337 → 0.83
    // combined = 0.45×0.85 + 0.55×0.83 = 0.3825 + 0.4565 = 0.839 → 0.84
    assert_eq!(v.headhunter.components[2].value, 0.85);
    assert_eq!(v.headhunter.value, 0.83);
    assert_eq!(v.combined, 0.84);
    assert!(
        !v.defaulted
            .iter()
            .any(|d| d.contains("approved_recruiters_count")),
        "{:?}",
        v.defaulted
    );
    // responsiveness_days 0 is real too: "answers the same day", 1 − 0 = 1.0.
    let v = verdict(|r| set(r, "responsiveness_days", json!(0)));
    assert!(
        v.quality_signals
            .contains(&"responds in 0 days".to_string())
    );
    assert!(v.defaulted.is_empty(), "{:?}", v.defaulted);
}

#[test]
fn the_old_systems_scores_for_a_role_with_unset_counts() {
    // The example: hiring_count, interview_stages and manager_rating
    // all 0. Read as real zeros: openings 0, stages 1.0, rating 0, giving
    // engineer 0.79, headhunter 0.61, combined 0.69. Read as "not set":
    // role impact 0.7 (1 opening, as above), process 0.742 → engineer
    //   0.255 + 0.18875 + 0.2×0.7 + 0.15×0.742 + 0.1 = 0.79505 → 0.80;
    // placement 0.662, commission 0.6 (as above) → headhunter
    //   0.35×0.662 + 0.3×0.6 + 0.2×0.75 + 0.15 = 0.7117 → 0.71;
    // combined = 0.45×0.80 + 0.55×0.71 = 0.36 + 0.3905 = 0.7505 → 0.75.
    let v = verdict(|r| {
        set(r, "hiring_count", json!(0));
        set(r, "interview_stages", json!(0));
        set(r, "manager_rating", json!(0));
    });
    assert_eq!(
        (v.engineer.value, v.headhunter.value, v.combined),
        (0.8, 0.71, 0.75)
    );
    assert_eq!(
        v.defaulted,
        vec![
            "openings 0.333 (openings 0 means not set, read as 1)",
            "interview stages 5 (interview stages 0 means not set)",
            "manager rating 4.0 (manager rating 0 means not set)",
        ]
    );
}

#[test]
fn which_fields_read_0_as_unset_is_configurable() {
    // The rule is data: with an empty list every 0 is real again.
    let mut rules = Rules::defaults();
    rules.scoring.zero_means_unset.clear();
    let mut role = sample();
    set(&mut role, "hiring_count", json!(0));
    let v = evaluate(&role, &Intel::default(), &rules);
    // openings 0: role impact 0.5×0.8 + 0 + 0.2×1.0 = 0.6
    assert_eq!(v.engineer.components[2].value, 0.6);
    assert!(v.defaulted.is_empty(), "{:?}", v.defaulted);
}

#[test]
fn an_empty_tier1_points_list_gives_no_points() {
    // Found by tests/properties.rs: `[scoring.excitement] tier1_points = []`
    // made a role with a tier-1 investor panic (index 0 - 1).
    let mut rules = Rules::defaults();
    rules.scoring.excitement.tier1_points.clear();
    let v = evaluate(&sample(), &Intel::default(), &rules);
    assert_eq!(v.excitement.components[0].value, 0.0);
}

#[test]
fn no_volatile_field_but_the_evaluated_ones_moves_a_verdict() {
    // Churn runs keep the verdict of a role whose other volatile fields
    // moved (`track::evaluation_input`): that is only right if evaluation
    // reads none of them.
    use crate::track::{EVALUATED_VOLATILE_FIELDS, VOLATILE_FIELDS};
    let before = verdict(|_| {});
    let values = [
        json!(null),
        json!(0),
        json!(999.5),
        json!("2026-01-01T00:00:00Z"),
        json!(true),
        json!({"a": [1]}),
    ];
    for path in VOLATILE_FIELDS
        .iter()
        .filter(|p| !EVALUATED_VOLATILE_FIELDS.contains(p))
    {
        for value in &values {
            let after = verdict(|role| set(role, path, value.clone()));
            assert_eq!(after, before, "{path} = {value} moved the verdict");
        }
        assert_eq!(verdict(|role| remove(role, path)), before, "{path} removed");
    }
    for path in EVALUATED_VOLATILE_FIELDS {
        assert_ne!(
            verdict(|role| set(role, path, json!(40))),
            before,
            "{path} is listed as evaluated but does not move the verdict"
        );
    }
}
