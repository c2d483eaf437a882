//! Evaluation applied to stored roles: gathers a role's inputs (its list JSON,
//! its detail as intel, its recent changes as a trend), calls the pure
//! `evaluate`, and writes the verdict only when it changed. A tier change is
//! a `TIER_CHANGE` row. Used by `scrape` for every seen role and by
//! `requalify` for every stored role.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::Config;
use crate::evaluate::{
    Breakdown, ModelExcitement, RecentChange, Tier, Trend, Verdict, evaluate, trend,
};
use crate::intel::{Intel, read_detail};
use crate::lock::WriterLock;
use crate::rules::Rules;
use crate::store::{Db, DetailWrite, Evaluation, RecentChanges, StoreTx, StoredRole};
use crate::track::{ChangeKind, FieldChange};

/// Trends look at this many days of changes.
pub const TREND_WINDOW_DAYS: i64 = 7;

/// Bumped when evaluation's code changes what it concludes, so that every
/// stored verdict is evaluated again once (the rules' fingerprint includes it).
const EVALUATION_VERSION: &str = "4";

/// The fingerprint of the rules in force (thresholds, weights, lists) and of
/// this evaluation code: part of every role's evaluation key.
pub fn rules_key(rules: &Rules) -> String {
    crate::track::text_hash(&format!(
        "{EVALUATION_VERSION} {} {rules:?}",
        env!("CARGO_PKG_VERSION")
    ))
}

/// What a verdict is computed from: the rules, the role's evaluation input
/// (`track::evaluation_input`: its content and the volatile fields evaluation
/// reads), its detail (when it was fetched) and the model's answers. Equal
/// keys give equal verdicts, so a role whose key did not move is not
/// evaluated again.
pub fn evaluation_key(
    rules_key: &str,
    input: &str,
    detail_fetched_at: Option<&str>,
    model: &str,
) -> String {
    crate::track::text_hash(&format!(
        "{rules_key}\n{input}\n{}\n{model}",
        detail_fetched_at.unwrap_or("-")
    ))
}

/// The intel of a stored or fetched detail payload (none: the default).
pub fn intel_of(detail: Option<&Value>, rules: &Rules) -> Intel {
    detail
        .map(|d| read_detail(d, &rules.lists))
        .unwrap_or_default()
}

/// A stored detail's JSON; an unreadable one counts as none.
pub fn parse_detail(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// The columns a detail payload fills.
pub fn detail_write<'a>(detail_text: &'a str, intel: &'a Intel) -> DetailWrite<'a> {
    DetailWrite {
        detail: detail_text,
        company_notes: intel.company_notes.as_deref(),
        selling_points: intel.selling_points.as_deref(),
        description: intel.description.as_deref(),
        equity: intel.equity.as_deref(),
        requirements: serde_json::to_string(&intel.requirements).unwrap_or_else(|_| "[]".into()),
    }
}

/// The stored form of a verdict.
pub fn evaluation_of(verdict: &Verdict, trend: Option<Trend>) -> Evaluation {
    Evaluation {
        tier: verdict.tier,
        combined_score: verdict.combined,
        engineer_score: verdict.engineer.value,
        headhunter_score: verdict.headhunter.value,
        excitement_score: verdict.excitement.value,
        reasons: serde_json::to_string(&verdict.reasons()).unwrap_or_else(|_| "[]".into()),
        signals: serde_json::to_string(&verdict.signals).unwrap_or_else(|_| "[]".into()),
        score_breakdown: serde_json::to_string(&Breakdown::of(verdict)).unwrap_or_default(),
        trend,
    }
}

/// One role to assess.
pub struct Subject<'a> {
    pub role_id: &'a str,
    pub raw: &'a Value,
    pub intel: &'a Intel,
    pub stored: Option<&'a Evaluation>,
    /// The model's excitement for the company, and the band it may replace
    /// the rules' excitement in (`[llm]`).
    pub excitement: Option<(&'a ModelExcitement, [f64; 2])>,
}

/// What assessing one role did.
#[derive(Debug, PartialEq)]
pub struct Assessed {
    /// The verdict differed from the stored one and was written.
    pub written: bool,
    /// The tier moved (from, to); recorded as `TIER_CHANGE`.
    pub moved: Option<(Tier, Tier)>,
    /// The tier now, for counting.
    pub tier: Tier,
}

/// A role's trend from the recent changes of the run (or of `requalify`).
pub fn trend_of(recent: &RecentChanges, role_id: &str) -> Option<Trend> {
    let changes: Vec<RecentChange<'_>> = recent
        .get(role_id)
        .map(|list| {
            list.iter()
                .map(|(kind, new)| RecentChange {
                    kind: *kind,
                    new_value: new.as_deref(),
                })
                .collect()
        })
        .unwrap_or_default();
    trend(&changes)
}

/// Evaluates and writes what changed.
pub fn assess(
    tx: &StoreTx<'_>,
    subject: &Subject<'_>,
    rules: &Rules,
    recent: &RecentChanges,
    run_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Assessed> {
    let mut verdict = evaluate(subject.raw, subject.intel, rules);
    if let Some((excitement, band)) = subject.excitement {
        verdict.apply_model_excitement(excitement, band);
    }
    let evaluation = evaluation_of(&verdict, trend_of(recent, subject.role_id));
    let tier = evaluation.tier;
    if subject.stored == Some(&evaluation) {
        return Ok(Assessed {
            written: false,
            moved: None,
            tier,
        });
    }
    tx.write_evaluation(subject.role_id, &evaluation, now)?;
    let Some(old_tier) = subject.stored.map(|s| s.tier).filter(|t| *t != tier) else {
        return Ok(Assessed {
            written: true,
            moved: None,
            tier,
        });
    };
    let change = FieldChange::new(
        ChangeKind::TierChange,
        "tier",
        Some(old_tier.to_string()),
        Some(tier.to_string()),
    );
    tx.insert_change(subject.role_id, run_id, now, &change)?;
    Ok(Assessed {
        written: true,
        moved: Some((old_tier, tier)),
        tier,
    })
}

/// What `requalify` did.
#[derive(Debug, Default)]
pub struct RequalifyReport {
    pub evaluated: usize,
    pub updated: usize,
    /// (from, to) → how many roles moved.
    pub moves: BTreeMap<(Tier, Tier), usize>,
}

/// Re-evaluates every stored role with the current rules, in one
/// transaction, without the network.
pub fn requalify(config: &Config, now: DateTime<Utc>) -> Result<RequalifyReport> {
    let rules = config.rules()?;
    let db_path = config.database_path();
    let _lock = WriterLock::acquire(&db_path)?;
    let mut db = Db::open(&db_path)?;
    // Board roles are company signals, never tiered (SPEC §3a).
    let stored = db.stored_roles(Some(crate::fetch::paraform::SOURCE))?;
    let mut roles: Vec<&StoredRole> = stored.values().collect();
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    // With `[llm]` on, the answers already paid for count again; nothing is asked.
    let model = crate::llm::enrich::cached(&config.llm, &db, &roles)?;
    let rules_key = rules_key(&rules);
    let tx = db.transaction()?;
    let recent = tx.recent_changes(now - chrono::Duration::days(TREND_WINDOW_DAYS))?;
    let mut report = RequalifyReport::default();
    for role in roles {
        // An unreadable stored copy (edited by hand) evaluates as an empty role.
        let raw: Value = serde_json::from_str(&role.raw).unwrap_or(Value::Null);
        let mut intel = intel_of(parse_detail(role.detail.as_deref()).as_ref(), &rules);
        intel.model = model.facts(&role.id, &rules.lists);
        let subject = Subject {
            role_id: &role.id,
            raw: &raw,
            intel: &intel,
            stored: role.evaluation.as_ref(),
            excitement: model.excitement_for(&raw).map(|e| (e, model.band)),
        };
        let assessed = assess(&tx, &subject, &rules, &recent, None, now)?;
        let input = crate::track::evaluation_input(&raw, &role.content_hash);
        let key = evaluation_key(
            &rules_key,
            &input,
            role.detail_fetched_at.as_deref(),
            &model.fingerprint(&role.id, model.excitement_for(&raw)),
        );
        tx.write_evaluation_key(&role.id, &key, &input)?;
        report.evaluated += 1;
        report.updated += usize::from(assessed.written);
        if let Some(moved) = assessed.moved {
            *report.moves.entry(moved).or_default() += 1;
        }
    }
    tx.commit()?;
    Ok(report)
}
