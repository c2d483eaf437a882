//! Prepare and ask: the verdict of every Paraform role whose inputs moved,
//! computed once, before the run's transaction. A batch at a time: the
//! stored rows it needs in one read, each detail's intel read once, the
//! model asked (with `[llm]` on) for intel, then the verdict, then company
//! excitement and briefings from it. What comes out is spooled by role id
//! for `record` to write; memory follows the batch, not the listing.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Scope;
use super::SourceFetch;
use super::plan::Plan;
use super::sources::BATCH;
use crate::assess::{evaluation_of, intel_of, parse_detail};
use crate::config::{Config, Env};
use crate::evaluate::{Verdict, evaluate};
use crate::fetch::paraform::{ListedRole, RoleList};
use crate::intel::{DetailHtml, Intel};
use crate::llm::enrich::{Enrichment, ModelPhase, RoleAnswers, RoleInput, fingerprint};
use crate::progress::Progress;
use crate::role::{RoleId, timestamp};
use crate::rules::Rules;
use crate::spool::SpooledTexts;
use crate::store::{Db, DetailWrite, Evaluation, StoredRole};
use crate::track::text_hash;

/// The verdicts a run computed, by role id, and what the model phase
/// contributed (usage, warnings).
pub struct Prepared {
    roles: SpooledTexts,
    pub enrichment: Enrichment,
}

/// One role's verdict and what it was computed from, as `record` writes it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PreparedRole {
    /// The verdict, without its trend (the run's changes decide it).
    pub evaluation: Evaluation,
    pub key: String,
    pub input: String,
    /// The clean text of a detail fetched in this run, for its columns.
    pub detail: Option<DetailColumns>,
    /// With `[llm]` on: the answers it used, and whether they are settled.
    pub model: Option<ModelState>,
}

/// The columns a detail fetched in this run fills (see `DetailWrite`):
/// its clean text and display facts, read once, and the HTML a role page
/// shows, sanitised once.
#[derive(Debug, Serialize, Deserialize)]
pub struct DetailColumns {
    company_notes: Option<String>,
    selling_points: Option<String>,
    description: Option<String>,
    equity: Option<String>,
    requirements: String,
    company_notes_html: Option<String>,
    selling_points_html: Option<String>,
    description_html: Option<String>,
}

impl DetailColumns {
    fn of(intel: &Intel, detail: Option<&Value>) -> DetailColumns {
        let html = detail.map(DetailHtml::of).unwrap_or_default();
        DetailColumns {
            company_notes: intel.company_notes.clone(),
            selling_points: intel.selling_points.clone(),
            description: intel.description.clone(),
            equity: intel.equity.clone(),
            requirements: serde_json::to_string(&intel.requirements)
                .unwrap_or_else(|_| "[]".into()),
            company_notes_html: html.company_notes,
            selling_points_html: html.selling_points,
            description_html: html.description,
        }
    }

    /// The write of the detail `text` these columns were read from.
    pub fn write<'a>(&'a self, text: &'a str) -> DetailWrite<'a> {
        DetailWrite {
            detail: text,
            company_notes: self.company_notes.as_deref(),
            selling_points: self.selling_points.as_deref(),
            description: self.description.as_deref(),
            equity: self.equity.as_deref(),
            requirements: self.requirements.clone(),
            company_notes_html: self.company_notes_html.as_deref(),
            selling_points_html: self.selling_points_html.as_deref(),
            description_html: self.description_html.as_deref(),
        }
    }
}

/// A role's model bookkeeping (see `StoreTx::set_model_keys` and
/// `StoreTx::write_model_state`).
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelState {
    pub intel_key: Option<String>,
    pub briefing_key: Option<String>,
    /// `None`: not settled, asked again next run.
    pub key: Option<String>,
    pub until: Option<String>,
}

impl Prepared {
    /// The verdict prepared for `id`, if its inputs moved.
    pub fn get(&self, id: &str) -> Result<Option<PreparedRole>> {
        match self.roles.get(id).transpose()? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    /// The ids of the prepared roles, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.roles.keys().collect();
        ids.sort_unstable();
        ids
    }
}

/// A role being prepared: what its verdict is computed from.
struct Work {
    id: String,
    raw: Value,
    detail: Option<Value>,
    /// The rules' intel of its detail (no model facts).
    intel: Intel,
    input: String,
    /// When its detail was fetched: now, or as stored.
    detail_marker: Option<String>,
    /// Fetched in this run (its columns are written).
    fetched: bool,
    /// `Plan::model_key` of what it is now (with `[llm]` on).
    model_key: Option<String>,
}

/// Computes the verdict of every Paraform role of the run whose inputs
/// moved; see the module. With `[llm]` on, this is the model phase.
#[allow(clippy::too_many_arguments)]
pub async fn prepare(
    config: &Config,
    env: &Env,
    db: &Db,
    plan: &Plan<'_>,
    fetches: &[SourceFetch],
    rules: &Rules,
    progress: &Progress,
    now: DateTime<Utc>,
) -> Result<Prepared> {
    // Started with the first role to ask about: a quiet run builds no
    // model client and asks nothing.
    let mut phase: Option<ModelPhase<'_>> = None;
    let mut roles = SpooledTexts::default();
    for fetch in fetches.iter().filter(|f| f.scope == Scope::Paraform) {
        let Ok(list) = &fetch.result else { continue };
        let wanted = wanted(list, fetch, plan);
        if config.llm.enabled && !wanted.is_empty() && phase.is_none() {
            progress.step("asking the model");
            phase = Some(ModelPhase::start(&config.llm, env, now));
        }
        for batch in wanted.chunks(BATCH) {
            let works = read_batch(db, list, fetch, plan, rules, batch, now)?;
            let prepared = match phase.as_mut() {
                Some(phase) => ask_and_evaluate(phase, db, works, plan, rules, progress).await,
                None => works
                    .into_iter()
                    .map(|w| {
                        let verdict = evaluate(&w.raw, &w.intel, rules);
                        let key = plan.evaluation_key(&w.input, w.detail_marker.as_deref(), "");
                        (w.id.clone(), prepared(&w, &verdict, key, None))
                    })
                    .collect(),
            };
            for (id, role) in prepared {
                roles.insert(id, &serde_json::to_string(&role)?);
            }
        }
    }
    let enrichment = match phase {
        Some(phase) => phase.finish(),
        None => Enrichment::default(),
    };
    Ok(Prepared { roles, enrichment })
}

/// The roles whose verdict may have moved: every role listed with new text
/// (with `[llm]` off, unless its key says its verdict stands), every role
/// detailed in this run, and (with `[llm]` off) quiet roles whose key moved
/// (new rules). Each once, with its listing when it has one.
fn wanted<'l>(
    list: &'l RoleList,
    fetch: &SourceFetch,
    plan: &Plan<'_>,
) -> Vec<(String, Option<&'l ListedRole>)> {
    let mut wanted = Vec::new();
    let mut seen = HashSet::new();
    let model = plan.model_settings.is_some();
    let listed = list
        .roles
        .iter()
        .filter_map(|l| l.external_id.as_deref().map(|external| (external, Some(l))));
    let quiet = list
        .unchanged
        .iter()
        .map(|external| (external.as_str(), None));
    for (external, listed) in listed.chain(quiet) {
        let id = RoleId::paraform(external).into_string();
        if !seen.insert(id.clone()) {
            continue;
        }
        let fetched = fetch.details.get(&id).is_some();
        let summary = plan.stored.get(&id);
        let stands = !fetched
            && summary.is_some_and(|s| {
                if model {
                    // With the model, a quiet role's answers are settled
                    // (the plan said so); a listed one is asked (the cache
                    // answers) and evaluated.
                    listed.is_none()
                } else {
                    let input = listed
                        .map(|l| l.evaluation_input.as_str())
                        .or(s.evaluation_input.as_deref());
                    input.is_some_and(|input| {
                        plan.verdict_stands(s, input, s.detail_fetched_at.as_deref())
                    })
                }
            });
        if !stands {
            wanted.push((id, listed));
        }
    }
    wanted
}

/// A batch's inputs: the stored rows it needs in one read, each raw and
/// detail parsed and each detail's intel read once.
fn read_batch(
    db: &Db,
    list: &RoleList,
    fetch: &SourceFetch,
    plan: &Plan<'_>,
    rules: &Rules,
    batch: &[(String, Option<&ListedRole>)],
    now: DateTime<Utc>,
) -> Result<Vec<Work>> {
    let ids: Vec<&str> = batch
        .iter()
        .filter(|(id, _)| plan.stored.contains_key(id))
        .map(|(id, _)| id.as_str())
        .collect();
    let stored: HashMap<String, StoredRole> = if ids.is_empty() {
        HashMap::new()
    } else {
        db.stored_roles_in(&ids)?
    };
    let mut works = Vec::with_capacity(batch.len());
    for (id, listed) in batch {
        let previous = stored.get(id);
        let fetched = fetch.details.get(id).transpose()?;
        let (raw, raw_hash) = match listed {
            Some(listed) => {
                let text = list.text(listed)?;
                let raw = serde_json::from_str(&text).unwrap_or(Value::Null);
                (raw, Some(text_hash(&text)))
            }
            // An unreadable stored copy (edited by hand) evaluates as an empty role.
            None => (
                previous
                    .and_then(|p| serde_json::from_str(&p.raw).ok())
                    .unwrap_or(Value::Null),
                plan.stored.get(id).and_then(|s| s.raw_hash.clone()),
            ),
        };
        let detail = match &fetched {
            Some(text) => serde_json::from_str(text).ok(),
            None => parse_detail(previous.and_then(|p| p.detail.as_deref())),
        };
        let detail_marker = match fetched {
            Some(_) => Some(timestamp(now)),
            None => plan
                .stored
                .get(id)
                .and_then(|s| s.detail_fetched_at.clone()),
        };
        let input = match listed {
            Some(listed) => listed.evaluation_input.clone(),
            None => plan
                .stored
                .get(id)
                .and_then(|s| s.evaluation_input.clone())
                .unwrap_or_else(|| {
                    let hash = crate::track::content_hash(&raw);
                    crate::track::evaluation_input(&raw, &hash)
                }),
        };
        let model_key = raw_hash
            .as_deref()
            .and_then(|hash| plan.model_key(hash, detail_marker.as_deref()));
        works.push(Work {
            id: id.clone(),
            intel: intel_of(detail.as_ref(), rules),
            raw,
            detail,
            input,
            detail_marker,
            fetched: fetched.is_some(),
            model_key,
        });
    }
    Ok(works)
}

/// With `[llm]` on: role intel for the batch, the verdicts with it merged,
/// then company excitement and briefings from them.
async fn ask_and_evaluate(
    phase: &mut ModelPhase<'_>,
    db: &Db,
    works: Vec<Work>,
    plan: &Plan<'_>,
    rules: &Rules,
    progress: &Progress,
) -> Vec<(String, PreparedRole)> {
    let inputs: Vec<RoleInput<'_>> = works.iter().map(role_input).collect();
    let mut answers = phase.intel(db, &inputs, progress).await;
    let intel_model = phase.intel_model().to_string();
    let mut verdicts: Vec<Verdict> = works
        .iter()
        .map(|w| {
            let answer = answers.get(&w.id);
            let intel = Intel {
                model: answer
                    .and_then(|a| a.intel.as_ref())
                    .map(|(_, intel)| {
                        crate::llm::enrich::model_facts(&intel_model, intel, &rules.lists)
                    })
                    .unwrap_or_default(),
                ..w.intel.clone()
            };
            evaluate(&w.raw, &intel, rules)
        })
        .collect();
    let with_verdicts: Vec<(RoleInput<'_>, &Verdict)> =
        works.iter().map(role_input).zip(verdicts.iter()).collect();
    phase
        .excitement_and_briefings(db, &with_verdicts, &mut answers, &rules.lists, progress)
        .await;
    drop(with_verdicts);
    let band = phase.band();
    works
        .iter()
        .zip(verdicts.iter_mut())
        .map(|(w, verdict)| {
            let excitement = phase.excitement_for(&w.raw);
            if let Some(excitement) = excitement {
                verdict.apply_model_excitement(excitement, band);
            }
            let answer = answers.remove(&w.id).unwrap_or_default();
            let intel_key = answer.intel.as_ref().map(|(key, _)| key.clone());
            let model = fingerprint(intel_key.as_deref().unwrap_or(""), excitement, band);
            let key = plan.evaluation_key(&w.input, w.detail_marker.as_deref(), &model);
            let state = model_state(w, answer, intel_key);
            (w.id.clone(), prepared(w, verdict, key, Some(state)))
        })
        .collect()
}

fn role_input(w: &Work) -> RoleInput<'_> {
    RoleInput {
        id: &w.id,
        raw: &w.raw,
        detail: w.detail.as_ref(),
        intel: &w.intel,
    }
}

fn model_state(w: &Work, answer: RoleAnswers, intel_key: Option<String>) -> ModelState {
    ModelState {
        intel_key,
        briefing_key: answer.briefing,
        key: w.model_key.clone().filter(|_| answer.settled),
        until: answer.until.map(timestamp),
    }
}

fn prepared(w: &Work, verdict: &Verdict, key: String, model: Option<ModelState>) -> PreparedRole {
    PreparedRole {
        evaluation: evaluation_of(verdict, None),
        key,
        input: w.input.clone(),
        detail: w
            .fetched
            .then(|| DetailColumns::of(&w.intel, w.detail.as_ref())),
        model,
    }
}
