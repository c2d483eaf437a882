//! Evaluation applied to stored roles: a role's inputs (its list JSON, its
//! detail as intel, the model's answers) make its verdict, its recent
//! changes its trend, and the verdict is written only when it changed. A
//! tier change is a `TIER_CHANGE` row. Used by `scrape` for the roles whose
//! inputs moved and by `requalify` for every stored role.

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
use crate::store::{Db, Evaluation, RecentChanges, StoreTx, StoredRole};
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

/// A role's verdict: the rules' evaluation of its list JSON and intel (the
/// model's facts merged in), with the model's company excitement where the
/// band lets it replace the rules' (`[llm] excitement_band`).
pub fn verdict(
    raw: &Value,
    intel: &Intel,
    rules: &Rules,
    excitement: Option<(&ModelExcitement, [f64; 2])>,
) -> Verdict {
    let mut verdict = evaluate(raw, intel, rules);
    if let Some((excitement, band)) = excitement {
        verdict.apply_model_excitement(excitement, band);
    }
    verdict
}

/// What recording one verdict did.
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

/// Writes a role's verdict when it differs from the stored one; a tier
/// that moved is a `TIER_CHANGE` row.
pub fn record_verdict(
    tx: &StoreTx<'_>,
    role_id: &str,
    evaluation: &Evaluation,
    stored: Option<&Evaluation>,
    run_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Assessed> {
    let tier = evaluation.tier;
    if stored == Some(evaluation) {
        return Ok(Assessed {
            written: false,
            moved: None,
            tier,
        });
    }
    tx.write_evaluation(role_id, evaluation, now)?;
    let Some(old_tier) = stored.map(|s| s.tier).filter(|t| *t != tier) else {
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
    tx.insert_change(role_id, run_id, now, &change)?;
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

/// Stored roles read, evaluated and written per batch by `requalify`.
const REQUALIFY_BATCH: usize = 256;

/// Re-evaluates every stored role with the current rules, in one
/// transaction, without the network. Roles are read a batch at a time
/// (through a second connection, which sees the store as it was before
/// this transaction), so memory follows the batch, not the store.
pub fn requalify(config: &Config, now: DateTime<Utc>) -> Result<RequalifyReport> {
    let rules = config.rules()?;
    let db_path = config.database_path();
    let _lock = WriterLock::acquire(&db_path)?;
    let mut db = Db::open(&db_path)?;
    let reader = Db::open(&db_path)?;
    // Board roles are company signals, never tiered (SPEC §3a).
    let mut ids: Vec<String> = reader
        .role_summaries(Some(crate::fetch::paraform::SOURCE))?
        .into_keys()
        .collect();
    ids.sort();
    let rules_key = rules_key(&rules);
    let tx = db.transaction()?;
    let recent = tx.recent_changes(now - chrono::Duration::days(TREND_WINDOW_DAYS))?;
    let mut report = RequalifyReport::default();
    for batch in ids.chunks(REQUALIFY_BATCH) {
        let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
        let stored = reader.stored_roles_in(&batch)?;
        let roles: Vec<&StoredRole> = batch.iter().filter_map(|id| stored.get(*id)).collect();
        // With `[llm]` on, the answers already paid for count again; nothing is asked.
        let model = crate::llm::enrich::cached(&config.llm, &reader, &roles)?;
        for role in roles {
            // An unreadable stored copy (edited by hand) evaluates as an empty role.
            let raw: Value = serde_json::from_str(&role.raw).unwrap_or(Value::Null);
            let mut intel = intel_of(parse_detail(role.detail.as_deref()).as_ref(), &rules);
            intel.model = model.facts(&role.id, &rules.lists);
            let excitement = model.excitement_for(&raw);
            let verdict = verdict(&raw, &intel, &rules, excitement.map(|e| (e, model.band)));
            let evaluation = evaluation_of(&verdict, trend_of(&recent, &role.id));
            let assessed = record_verdict(
                &tx,
                &role.id,
                &evaluation,
                role.evaluation.as_ref(),
                None,
                now,
            )?;
            let input = crate::track::evaluation_input(&raw, &role.content_hash);
            let key = evaluation_key(
                &rules_key,
                &input,
                role.detail_fetched_at.as_deref(),
                &model.fingerprint(&role.id, excitement),
            );
            tx.write_evaluation_key(&role.id, &key, &input)?;
            report.evaluated += 1;
            report.updated += usize::from(assessed.written);
            if let Some(moved) = assessed.moved {
                *report.moves.entry(moved).or_default() += 1;
            }
        }
    }
    tx.commit()?;
    Ok(report)
}
