//! Property tests: every reader of untrusted input takes any shape without a
//! panic. Roles and details are arbitrary JSON, salted with the field names
//! the readers look for; rules are the defaults with arbitrary numbers
//! (NaN, infinities, negatives); config text is arbitrary and mutated.
//! `PROPTEST_CASES` asks for more cases (CI asks).

use air_demand::config::Config;
use air_demand::evaluate::evaluate;
use air_demand::intel::{Intel, clean_text, read_detail, sanitize_html};
use air_demand::role::{format_number, paraform_columns};
use air_demand::rules::{Lists, Rules};
use air_demand::track::{content_hash, diff};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys the readers look for, so arbitrary JSON reaches real code paths.
const KEYS: &[&str] = &[
    "id",
    "name",
    "status",
    "company",
    "size",
    "foundingYear",
    "fundingAmount",
    "industries",
    "company_metadata",
    "last_funding_round",
    "investors",
    "locations",
    "workplace_type",
    "role_types",
    "salaryUpperBound",
    "salaryLowerBound",
    "percent_fee",
    "hiring_count",
    "interview_stages",
    "manager_rating",
    "responsiveness_days",
    "approved_recruiters_count",
    "total_hired",
    "total_interviewing",
    "role_metadata",
    "highlights",
    "tech_stack",
    "not_accepting_recruiters",
    "companyTip",
    "selling_points",
    "description",
    "requirements",
    "equity",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "ACTIVE",
            "remote",
            "new_york",
            "backend_engineer",
            "SERIES_A",
            "$16.25M",
            "1e400",
            "-0",
            "NaN",
            "<p>Backed by <b>Sequoia</b> in London</p>",
            "<script>x</script><div><div><span>deep",
        ])
        .prop_map(|s| Value::String(s.into())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                let map: Map<String, Value> =
                    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                Value::Object(map)
            }),
        ]
    })
}

/// Any f64, including the ones config files should refuse.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        -10.0..10.0f64,
    ]
}

fn rules() -> impl Strategy<Value = Rules> {
    prop::collection::vec(number(), 12).prop_map(|n| {
        let mut rules = Rules::defaults();
        let q = &mut rules.qualification;
        q.min_salary = n[0];
        q.min_fee_percent = n[1];
        q.signal_funding_above = n[2];
        q.signal_size_min = n[3];
        q.signal_manager_rating_min = n[4];
        let s = &mut rules.scoring;
        s.combined_engineer_weight = n[5];
        s.combined_headhunter_weight = n[6];
        s.engineer.compensation = n[7];
        s.headhunter.placement = n[8];
        s.modern_tech_target = n[9];
        s.excitement.hot_company = n[10];
        s.tables.fee.otherwise = n[11];
        s.excitement.tier1_points.clear();
        rules
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn any_role_is_read_hashed_and_diffed(a in json_value(), b in json_value()) {
        let _ = paraform_columns(&a, "https://www.paraform.com");
        prop_assert_eq!(content_hash(&a), content_hash(&a));
        prop_assert!(diff(&a, &a).is_empty());
        let _ = diff(&a, &b);
    }

    #[test]
    fn any_detail_is_read(detail in json_value(), html in ".{0,200}") {
        let lists = Lists::defaults();
        let _ = read_detail(&detail, &lists);
        let _ = clean_text(&html);
        let safe = sanitize_html(&html);
        prop_assert!(!safe.to_lowercase().contains("<script"));
    }

    #[test]
    fn any_role_is_evaluated_under_any_rules(role in json_value(), detail in json_value(), rules in rules()) {
        let intel = read_detail(&detail, &rules.lists);
        let verdict = evaluate(&role, &intel, &rules);
        let _ = evaluate(&role, &Intel::default(), &Rules::defaults());
        let _ = format_number(verdict.combined);
    }

    #[test]
    fn any_config_text_is_read_or_refused_in_one_line(text in ".{0,300}", cut in 0usize..4000) {
        let path = std::path::Path::new("a.toml");
        if let Err(err) = Config::parse(&text, path) {
            prop_assert_eq!(format!("{err:#}").lines().count(), 1);
        }
        // The shipped template, cut anywhere: read, or one clear line.
        let template = air_demand::config::DEFAULT_CONFIG_TOML;
        let mut end = cut.min(template.len());
        while !template.is_char_boundary(end) {
            end -= 1;
        }
        if let Err(err) = Config::parse(&template[..end], path) {
            prop_assert_eq!(format!("{err:#}").lines().count(), 1);
        }
    }
}

#[test]
fn nan_weights_make_no_nan_scores_only_when_refused() {
    // Config refuses NaN weights; evaluate itself must still not panic on them.
    let mut rules = Rules::defaults();
    rules.scoring.combined_engineer_weight = f64::NAN;
    let verdict = evaluate(&json!({"name": "x"}), &Intel::default(), &rules);
    let _ = format_number(verdict.combined);
    assert!(Config::parse("[scoring]\ncombined_engineer_weight = nan\n", "a".as_ref()).is_err());
}
