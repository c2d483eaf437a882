//! When the model is asked, in a scrape's fetch phase (before the run's
//! transaction, like detail calls): role intel for every role with a detail,
//! then company excitement for uncertain qualified roles and briefings for
//! the best QUALIFIED ones. The cache answers first; only a new input costs
//! a call, and only within the run's budget. Nothing here fails a scrape:
//! an unreachable, refused or nonsensical model leaves the rules' verdict,
//! and says so in the run's warnings.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::Value;

use super::{Briefing, CompanyExcitement, RoleIntel, Task, cache_key, input};
use crate::company::key as company_key;
use crate::config::{Env, LlmConfig};
use crate::evaluate::ModelExcitement;
use crate::fetch::llm::{ChatClient, ChatError, ChatRequest, ChatSettings};
use crate::intel::{Intel, ModelFacts, read_detail};
use crate::progress::Progress;
use crate::role::{strings_at, text_at, timestamp};
use crate::rules::{Lists, Rules};
use crate::store::{CachedAnswer, Db, LlmUsage};

/// One role as the model phase sees it: its list JSON, its detail (fetched
/// in this run, else the stored one) and the rules' intel of that detail,
/// read once by the caller.
pub struct RoleInput<'a> {
    pub id: &'a str,
    pub raw: &'a Value,
    pub detail: Option<&'a Value>,
    pub intel: &'a Intel,
}

/// What the model contributed to a run: the company excitement asked so
/// far (by normalised company name), usage and warnings.
#[derive(Debug, Default)]
pub struct Enrichment {
    /// Role id → (cache key, role intel), fresh or cached (`requalify`).
    pub intel: HashMap<String, (String, RoleIntel)>,
    /// Normalised company name → the model's excitement.
    pub excitement: HashMap<String, ModelExcitement>,
    pub usage: LlmUsage,
    /// One line each, for the run's errors (the run stays `ok`).
    pub warnings: Vec<String>,
    /// The model behind the intel, for provenance.
    pub intel_model: String,
    pub band: [f64; 2],
}

impl Enrichment {
    /// The model facts for evaluation of role `id` (empty without intel).
    pub fn facts(&self, id: &str, lists: &Lists) -> ModelFacts {
        match self.intel.get(id) {
            Some((_, answer)) => model_facts(&self.intel_model, answer, lists),
            None => ModelFacts::default(),
        }
    }

    /// What the model contributed to role `id`'s verdict, as a string for
    /// its evaluation key: the intel answer's key and the excitement used.
    /// Empty without a model.
    pub fn fingerprint(&self, id: &str, excitement: Option<&ModelExcitement>) -> String {
        let intel = self.intel.get(id).map_or("", |(key, _)| key.as_str());
        fingerprint(intel, excitement, self.band)
    }

    /// The model's excitement for the company of `raw`, if asked.
    pub fn excitement_for(&self, raw: &Value) -> Option<&ModelExcitement> {
        let company = company_key(&text_at(raw, "company.name").unwrap_or_default());
        self.excitement.get(&company)
    }
}

/// What the model contributed to a verdict, for its evaluation key: the
/// intel answer's key and the excitement used. Empty without a model.
pub fn fingerprint(
    intel_key: &str,
    excitement: Option<&ModelExcitement>,
    band: [f64; 2],
) -> String {
    match excitement {
        None => intel_key.to_string(),
        Some(e) => format!("{intel_key} {} {} {band:?}", e.score, e.model),
    }
}

/// The fingerprint of the model settings a role's answers depend on
/// (models, prompt versions, band, briefing threshold): part of its
/// `model_key`, so a change of any of them asks again.
pub fn settings_key(config: &LlmConfig) -> String {
    let versions: Vec<String> = [Task::RoleIntel, Task::CompanyExcitement, Task::Briefing]
        .iter()
        .map(|t| t.prompt().version)
        .collect();
    crate::track::text_hash(&format!(
        "{} {} {} {versions:?} {:?} {} {}",
        config.intel_model,
        config.excitement_model,
        config.briefing_model,
        config.excitement_band,
        config.briefing_min_score,
        config.company_cache_days
    ))
}

/// What the model phase answered for one role.
#[derive(Debug, Default)]
pub struct RoleAnswers {
    /// Its role intel's cache key and answer.
    pub intel: Option<(String, RoleIntel)>,
    /// Its briefing's cache key.
    pub briefing: Option<String>,
    /// Every question the role needed has an answer (or one cached as
    /// unusable): nothing is asked for it again until its input moves.
    pub settled: bool,
    /// When the company excitement its verdict used grows stale.
    pub until: Option<DateTime<Utc>>,
}

/// A run's model phase: role intel, then (from the verdict with the intel
/// merged, computed by the caller) company excitement for uncertain
/// qualified roles and briefings for the best QUALIFIED ones, batch by
/// batch. The cache answers first; only a new input costs a call, and only
/// within the run's budget. Nothing here fails a scrape: an unreachable,
/// refused or nonsensical model leaves the rules' verdict, and says so in
/// the run's warnings.
pub struct ModelPhase<'a> {
    config: &'a LlmConfig,
    asker: Asker<'a>,
    out: Enrichment,
    /// Company → the key of its excitement question, once per run.
    companies: HashMap<String, String>,
    /// Company → when the excitement answer used grows stale.
    fresh_until: HashMap<String, DateTime<Utc>>,
    /// Questions of this run left without an answer (failed, skipped).
    unsettled: HashSet<String>,
}

impl<'a> ModelPhase<'a> {
    /// Starts the phase (its clock runs from now: `[llm] max_run_secs`).
    pub fn start(config: &'a LlmConfig, env: &Env, now: DateTime<Utc>) -> ModelPhase<'a> {
        let mut out = Enrichment {
            intel_model: config.intel_model.clone(),
            band: config.excitement_band,
            ..Enrichment::default()
        };
        let key = config.api_key(env);
        let deadline = phase_deadline(config);
        let client = if !config.enabled {
            None
        } else if key.is_none() && !config.is_local() {
            let sentence = "[llm] is enabled but neither LLM_API_KEY nor OPENROUTER_API_KEY is set; only cached answers were used".to_string();
            out.usage.error = Some(sentence.clone());
            out.warnings.push(format!("llm: {sentence}"));
            None
        } else {
            match chat_client(config, key, Some(deadline)) {
                Ok(client) => Some(client),
                Err(err) => {
                    out.warnings.push(format!("llm: {err}"));
                    None
                }
            }
        };
        ModelPhase {
            config,
            asker: Asker {
                client,
                config,
                budget: Budget::new(config, deadline),
                now,
                failures: RefCell::new(Vec::new()),
            },
            out,
            companies: HashMap::new(),
            fresh_until: HashMap::new(),
            unsettled: HashSet::new(),
        }
    }

    /// Role intel for a batch of roles (those with a detail or notes to
    /// read), by role id.
    pub async fn intel(
        &mut self,
        db: &Db,
        roles: &[RoleInput<'_>],
        progress: &Progress,
    ) -> HashMap<String, RoleAnswers> {
        let config = self.config;
        let prompt = Task::RoleIntel.prompt();
        let mut answers: HashMap<String, RoleAnswers> = HashMap::new();
        let mut wanted = Vec::new();
        for role in roles {
            let mut answer = RoleAnswers {
                settled: true,
                ..RoleAnswers::default()
            };
            if let Some(text) = input::role_intel(role.raw, role.intel) {
                let key = cache_key(Task::RoleIntel, &config.intel_model, &prompt.version, &text);
                wanted.push(Job {
                    task: Task::RoleIntel,
                    model: &config.intel_model,
                    subject: role.id.to_string(),
                    key,
                    input: text,
                    fresh_since: None,
                });
            }
            answer.intel = None;
            answers.insert(role.id.to_string(), answer);
        }
        let resolved = self
            .asker
            .resolve(db, wanted, progress, &mut self.out)
            .await;
        for job in &resolved.unsettled {
            if let Some(answer) = answers.get_mut(&job.subject) {
                answer.settled = false;
            }
        }
        for (job, answer, _) in resolved.usable {
            if let Ok(intel) = serde_json::from_value::<RoleIntel>(answer)
                && let Some(role) = answers.get_mut(&job.subject)
            {
                role.intel = Some((job.key, intel));
            }
        }
        answers
    }

    /// Company excitement and briefings for a batch of roles, each with its
    /// verdict (the model's intel merged, the rules' excitement). Fills in
    /// `answers` (from [`ModelPhase::intel`]).
    pub async fn excitement_and_briefings(
        &mut self,
        db: &Db,
        roles: &[(RoleInput<'_>, &crate::evaluate::Verdict)],
        answers: &mut HashMap<String, RoleAnswers>,
        lists: &Lists,
        progress: &Progress,
    ) {
        let config = self.config;
        let mut wanted = Vec::new();
        let briefing_prompt = Task::Briefing.prompt();
        let days = i64::from(config.company_cache_days);
        let band = config.excitement_band;
        // Role id → the company whose excitement its verdict uses.
        let mut uses: Vec<(&str, String)> = Vec::new();
        for (role, verdict) in roles {
            if verdict.tier.is_qualified()
                && (band[0]..=band[1]).contains(&verdict.excitement.value)
            {
                let company = company_key(&text_at(role.raw, "company.name").unwrap_or_default());
                if !company.is_empty() {
                    if !self.companies.contains_key(&company) {
                        let mut investors = strings_at(role.raw, "investors");
                        // Only what the text says: a name planted by the notes
                        // never reaches the excitement question either.
                        let facts = answers
                            .get(role.id)
                            .and_then(|a| a.intel.as_ref())
                            .map(|(_, intel)| model_facts(&config.intel_model, intel, lists))
                            .unwrap_or_default();
                        let merged = Intel {
                            model: facts,
                            ..role.intel.clone()
                        };
                        investors.extend(
                            merged
                                .model
                                .investors
                                .iter()
                                .filter(|c| c.source(&merged, lists).is_some())
                                .map(|c| c.name.clone()),
                        );
                        let text = input::company_excitement(role.raw, &merged, &investors);
                        let key = excitement_key(config, role.raw);
                        self.companies.insert(company.clone(), key.clone());
                        wanted.push(Job {
                            task: Task::CompanyExcitement,
                            model: &config.excitement_model,
                            key,
                            subject: company.clone(),
                            input: text,
                            fresh_since: Some(self.asker.now - chrono::Duration::days(days)),
                        });
                    }
                    uses.push((role.id, company));
                }
            }
            if verdict.tier == crate::evaluate::Tier::Qualified
                && verdict.combined >= config.briefing_min_score
                && let Some(detail) = role.detail
            {
                let text = input::briefing(role.raw, detail, role.intel);
                wanted.push(Job {
                    task: Task::Briefing,
                    model: &config.briefing_model,
                    key: cache_key(
                        Task::Briefing,
                        &config.briefing_model,
                        &briefing_prompt.version,
                        &text,
                    ),
                    subject: role.id.to_string(),
                    input: text,
                    fresh_since: None,
                });
            }
        }
        let resolved = self
            .asker
            .resolve(db, wanted, progress, &mut self.out)
            .await;
        for job in resolved.unsettled {
            match job.task {
                Task::CompanyExcitement => {
                    self.unsettled.insert(job.key);
                }
                _ => {
                    if let Some(answer) = answers.get_mut(&job.subject) {
                        answer.settled = false;
                    }
                }
            }
        }
        for (job, answer, created_at) in resolved.usable {
            match job.task {
                Task::CompanyExcitement => {
                    if let Ok(answer) = serde_json::from_value::<CompanyExcitement>(answer) {
                        self.out.excitement.insert(
                            job.subject.clone(),
                            model_excitement(&config.excitement_model, &answer),
                        );
                        let until = created_at + chrono::Duration::days(days);
                        self.fresh_until.insert(job.subject.clone(), until);
                    }
                }
                Task::Briefing => {
                    if serde_json::from_value::<Briefing>(answer).is_ok()
                        && let Some(role) = answers.get_mut(&job.subject)
                    {
                        role.briefing = Some(job.key);
                    }
                }
                Task::RoleIntel => {}
            }
        }
        for (id, company) in uses {
            let Some(answer) = answers.get_mut(id) else {
                continue;
            };
            if self
                .companies
                .get(&company)
                .is_some_and(|key| self.unsettled.contains(key))
            {
                answer.settled = false;
            }
            answer.until = self.fresh_until.get(&company).copied();
        }
    }

    /// The model's excitement for the company of `raw`, if asked this run.
    pub fn excitement_for(&self, raw: &Value) -> Option<&ModelExcitement> {
        self.out.excitement_for(raw)
    }

    /// The model behind role intel, for the facts' provenance.
    pub fn intel_model(&self) -> &str {
        &self.config.intel_model
    }

    /// The excitement band (`[llm] excitement_band`).
    pub fn band(&self) -> [f64; 2] {
        self.config.excitement_band
    }

    /// Ends the phase: usage and warnings, once each.
    pub fn finish(mut self) -> Enrichment {
        self.asker.finish(&mut self.out);
        self.out
    }
}

/// Role intel as evaluation uses it.
pub fn model_facts(model: &str, intel: &RoleIntel, lists: &Lists) -> ModelFacts {
    let location = intel.extracted_location.as_deref().map(|stated| {
        (
            stated,
            intel.location_confidence.map_or("", |level| level.as_str()),
        )
    });
    fn named(n: &crate::llm::Named) -> (&str, &str) {
        (n.name.as_str(), n.words.as_str())
    }
    ModelFacts::read(
        model,
        intel.investors.iter().map(named),
        intel.angels.iter().map(named),
        location,
        lists,
    )
}

/// Company excitement from the cache, as evaluation uses it.
pub fn model_excitement(model: &str, answer: &CompanyExcitement) -> ModelExcitement {
    ModelExcitement {
        score: answer.score,
        reasoning: answer.reasoning.clone(),
        model: model.to_string(),
    }
}

/// The excitement cache key of a role's company: its facts as the role
/// lists them (name, funding, stage, investors, industries, size), so a new
/// funding round asks again and an unchanged company never does.
pub fn excitement_key(config: &LlmConfig, raw: &Value) -> String {
    let prompt = Task::CompanyExcitement.prompt();
    cache_key(
        Task::CompanyExcitement,
        &config.excitement_model,
        &prompt.version,
        &input::company_facts(raw),
    )
}

/// Regenerates one briefing from a stored detail (`brief --regenerate`):
/// a call whatever the cache holds, with today's prompt and model.
pub async fn regenerate_briefing(
    config: &LlmConfig,
    env: &Env,
    raw: &Value,
    detail: &Value,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<CachedAnswer, String> {
    let key = config.api_key(env);
    if key.is_none() && !config.is_local() {
        return Err(
            "no model API key: set OPENROUTER_API_KEY (or LLM_API_KEY for another provider)".into(),
        );
    }
    let deadline = phase_deadline(config);
    let client = chat_client(config, key, Some(deadline)).map_err(|err| err.to_string())?;
    let intel = read_detail(detail, &rules.lists);
    let text = input::briefing(raw, detail, &intel);
    let prompt = Task::Briefing.prompt();
    let job = Job {
        task: Task::Briefing,
        model: &config.briefing_model,
        key: cache_key(
            Task::Briefing,
            &config.briefing_model,
            &prompt.version,
            &text,
        ),
        subject: text_at(raw, "id").unwrap_or_default(),
        input: text,
        fresh_since: None,
    };
    let asker = Asker {
        client: Some(client),
        config,
        budget: Budget::new(
            &LlmConfig {
                max_calls_per_run: 2,
                ..config.clone()
            },
            deadline,
        ),
        now,
        failures: RefCell::new(Vec::new()),
    };
    match asker.ask(&job).await {
        Asked::Answer(row, _) | Asked::Unusable(row) => match row.answer {
            Some(_) => Ok(row),
            None => Err(format!(
                "the model's briefing could not be used: {}",
                row.error.unwrap_or_default()
            )),
        },
        Asked::Skipped => Err(asker
            .budget
            .refused
            .borrow()
            .clone()
            .unwrap_or_else(|| "the model was not asked".into())),
        Asked::Failed(message) => Err(message),
    }
}

/// The client `[llm]` describes.
fn chat_client(
    config: &LlmConfig,
    api_key: Option<String>,
    deadline: Option<Instant>,
) -> Result<ChatClient, crate::fetch::FetchError> {
    ChatClient::new(ChatSettings {
        deadline,
        base_url: config.base_url.clone(),
        api_key,
        http: config.http(),
        temperature: config.temperature,
        max_tokens: config.max_tokens,
    })
}

/// One question the run may ask.
struct Job<'a> {
    task: Task,
    model: &'a str,
    key: String,
    /// Role id, or normalised company name.
    subject: String,
    input: String,
    /// A cached answer older than this is asked again (company excitement).
    fresh_since: Option<DateTime<Utc>>,
}

/// When the model phase that starts now must end (`[llm] max_run_secs`).
fn phase_deadline(config: &LlmConfig) -> Instant {
    Instant::now() + Duration::from_secs(config.max_run_secs)
}

/// Failed calls in a row (429s, 5xx or timeouts after their retries) after
/// which the run stops calling, as it does on a refused key: the provider
/// is clearly unwell, and every further call costs its retries again.
const MAX_FAILURES_IN_A_ROW: u32 = 5;

/// The run's allowance: calls, cost and time, and whether the provider
/// refused or kept failing.
struct Budget {
    max_calls: u64,
    max_cost: f64,
    /// The end of the model phase.
    deadline: Instant,
    max_run_secs: u64,
    calls: Cell<u64>,
    tokens: Cell<u64>,
    cost: Cell<f64>,
    /// What calls in flight may cost: each reserves the price of the
    /// dearest call so far before it goes, so concurrent calls never
    /// overshoot `max_cost` by more than one call's worth.
    reserved: Cell<f64>,
    /// The most one call has cost so far; `None` until one came back.
    price: Cell<Option<f64>>,
    /// Set when a call was refused for lack of budget.
    exhausted: Cell<bool>,
    /// Set when the phase ran out of time.
    timed_out: Cell<bool>,
    /// Calls that came back with an answer (usable or not).
    answered: Cell<u64>,
    failures_in_a_row: Cell<u32>,
    /// The last failure, for the run's error when nothing was answered.
    last_failure: RefCell<Option<String>>,
    /// Why calls stopped for the run: the provider's refusal (401/402) or
    /// failure after failure; once.
    refused: RefCell<Option<String>>,
}

impl Budget {
    fn new(config: &LlmConfig, deadline: Instant) -> Budget {
        Budget {
            max_calls: config.max_calls_per_run,
            max_cost: config.max_cost_per_run_usd,
            deadline,
            max_run_secs: config.max_run_secs,
            calls: Cell::new(0),
            tokens: Cell::new(0),
            cost: Cell::new(0.0),
            reserved: Cell::new(0.0),
            price: Cell::new(None),
            exhausted: Cell::new(false),
            timed_out: Cell::new(false),
            answered: Cell::new(0),
            failures_in_a_row: Cell::new(0),
            last_failure: RefCell::new(None),
            refused: RefCell::new(None),
        }
    }

    /// The time left in the model phase, or `None` (and noted) when none is.
    fn time_left(&self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.timed_out.set(true);
            return None;
        }
        Some(left)
    }

    /// Stops the run's calls with `sentence`, unless they already stopped.
    fn stop(&self, sentence: String) {
        let mut refused = self.refused.borrow_mut();
        if refused.is_none() {
            *refused = Some(sentence);
        }
    }

    /// Counts a call that came back with no answer; enough in a row stop
    /// the run's calls.
    fn failed(&self, message: &str) {
        *self.last_failure.borrow_mut() = Some(message.to_string());
        let in_a_row = self.failures_in_a_row.get().saturating_add(1);
        self.failures_in_a_row.set(in_a_row);
        if in_a_row >= MAX_FAILURES_IN_A_ROW {
            self.stop(format!(
                "{in_a_row} model calls in a row failed (the last: {message}); model calls stopped for this run: check [llm] base_url and the provider's status"
            ));
        }
    }

    fn answered(&self) {
        self.answered.set(self.answered.get().saturating_add(1));
        self.failures_in_a_row.set(0);
    }

    /// Takes one call from the allowance and reserves its likely cost
    /// (returned, for [`Budget::settle`]), or says no.
    fn admit(&self) -> Option<f64> {
        if self.refused.borrow().is_some() || self.time_left().is_none() {
            return None;
        }
        let estimate = self.price.get().unwrap_or(0.0);
        let committed = self.cost.get() + self.reserved.get();
        if self.calls.get() >= self.max_calls
            || committed >= self.max_cost
            || (estimate > 0.0 && committed + estimate > self.max_cost)
        {
            self.exhausted.set(true);
            return None;
        }
        self.calls.set(self.calls.get() + 1);
        self.reserved.set(self.reserved.get() + estimate);
        Some(estimate)
    }

    /// A call admitted with `reservation` came back: answered at `cost`,
    /// or (`None`) not answered and not paid for.
    fn settle(&self, reservation: f64, cost: Option<f64>) {
        self.reserved
            .set((self.reserved.get() - reservation).max(0.0));
        if let Some(cost) = cost {
            self.cost.set(self.cost.get() + cost);
            self.price
                .set(Some(self.price.get().unwrap_or(0.0).max(cost)));
        }
    }

    /// Whether a call has come back, so that what a call costs is known.
    fn priced(&self) -> bool {
        self.price.get().is_some()
    }
}

enum Asked {
    /// A usable answer (bounded JSON), and the cache row to keep.
    Answer(CachedAnswer, Value),
    /// Unusable twice: cached as such, the rules' verdict stands.
    Unusable(CachedAnswer),
    /// Not asked: no client, the budget, or the provider refused.
    Skipped,
    /// Asked, no answer (timeout, 5xx after retries): tried again next run.
    Failed(String),
}

struct Asker<'a> {
    client: Option<ChatClient>,
    config: &'a LlmConfig,
    budget: Budget,
    now: DateTime<Utc>,
    failures: RefCell<Vec<String>>,
}

/// Failures named one by one in the run's warnings; the rest are counted.
const MAX_FAILURES_NAMED: usize = 3;

impl Asker<'_> {
    /// Answers every job from the cache or the model: the usable answers
    /// (with when each was made), and the jobs left without one. New
    /// answers are cached as each arrives.
    async fn resolve<'j>(
        &self,
        db: &Db,
        jobs: Vec<Job<'j>>,
        progress: &Progress,
        out: &mut Enrichment,
    ) -> Resolved<'j> {
        let mut resolved = Resolved::default();
        if jobs.is_empty() {
            return resolved;
        }
        let cached = match db.llm_answers(jobs.iter().map(|j| j.key.as_str())) {
            Ok(cached) => cached,
            Err(err) => {
                out.warnings
                    .push(format!("llm: reading the answer cache failed: {err:#}"));
                HashMap::new()
            }
        };
        let mut to_ask: Vec<Job<'j>> = Vec::new();
        // Two roles with the same input (same company, title and notes) are
        // one question: the others wait for its answer.
        let mut waiting: Vec<Job<'j>> = Vec::new();
        for job in jobs {
            if to_ask.iter().any(|asked| asked.key == job.key) {
                waiting.push(job);
                continue;
            }
            match cached.get(&job.key) {
                Some(row) if is_fresh(row, job.fresh_since) => {
                    let made = made_at(row).unwrap_or(self.now);
                    if let Some(answer) = row
                        .answer
                        .as_deref()
                        .and_then(|a| job.task.read_answer(a).ok())
                    {
                        resolved.usable.push((job, answer, made));
                    }
                    // A cached unusable answer: not paid for again.
                }
                _ => to_ask.push(job),
            }
        }
        if to_ask.is_empty() {
            return resolved;
        }
        if self.client.is_none() {
            resolved.unsettled.extend(to_ask);
            resolved.unsettled.extend(waiting);
            return resolved;
        }
        progress.counted("asking the model", to_ask.len() as u64);
        let concurrency = self.config.concurrency.max(1);
        let run = |job: Job<'j>| async move {
            let asked = self.ask(&job).await;
            // Kept the moment it arrives: a run killed in the model
            // phase never pays for it twice.
            if let Asked::Answer(row, _) | Asked::Unusable(row) = &asked
                && let Err(err) = db.save_llm_answer(row)
            {
                self.note(format!("keeping the model's answer failed: {err:#}"));
            }
            progress.advance();
            (job, asked)
        };
        let mut to_ask = to_ask.into_iter();
        let mut asked: Vec<(Job<'j>, Asked)> = Vec::new();
        // Until a call has come back, what one costs is unknown: calls go
        // one at a time until then, so that a budget is never overshot by a
        // whole wave.
        while !self.budget.priced() {
            let Some(job) = to_ask.next() else { break };
            asked.push(run(job).await);
        }
        asked.extend(
            futures_util::stream::iter(to_ask)
                .map(run)
                .buffer_unordered(concurrency)
                .collect::<Vec<_>>()
                .await,
        );
        let mut settled_keys = HashSet::new();
        for (job, asked) in asked {
            match asked {
                Asked::Answer(_, answer) => {
                    settled_keys.insert(job.key.clone());
                    resolved.usable.push((job, answer, self.now));
                }
                Asked::Unusable(row) => {
                    self.note(format!(
                        "the model's {} for {} was unusable twice ({}); the rules' verdict was used",
                        job.task.label(),
                        shorten(&job.subject),
                        row.error.as_deref().unwrap_or("")
                    ));
                    settled_keys.insert(job.key.clone());
                }
                Asked::Failed(message) => {
                    self.note(format!(
                        "{} for {} failed: {message}; the rules' verdict was used",
                        job.task.label(),
                        shorten(&job.subject)
                    ));
                    resolved.unsettled.push(job);
                }
                Asked::Skipped => resolved.unsettled.push(job),
            }
        }
        for job in waiting {
            let shared = resolved
                .usable
                .iter()
                .find(|(done, _, _)| done.key == job.key)
                .map(|(_, answer, made)| (answer.clone(), *made));
            match shared {
                Some((answer, made)) => resolved.usable.push((job, answer, made)),
                None if settled_keys.contains(&job.key) => {}
                None => resolved.unsettled.push(job),
            }
        }
        resolved
    }

    /// One job: ask, read, and re-ask once if the answer was unusable.
    async fn ask(&self, job: &Job<'_>) -> Asked {
        let Some(client) = &self.client else {
            return Asked::Skipped;
        };
        let prompt = job.task.prompt();
        let schema = job.task.schema();
        let mut correction: Option<(String, String)> = None;
        let mut spent = (0u64, 0u64, 0.0f64);
        loop {
            let Some(reservation) = self.budget.admit() else {
                return Asked::Skipped;
            };
            let request = ChatRequest {
                name: job.task.as_str(),
                model: job.model,
                system: &prompt.text,
                user: &job.input,
                schema: &schema,
                correction: correction.as_ref().map(|(a, p)| (a.as_str(), p.as_str())),
            };
            // `admit` saw time left; the call gets no more than that.
            let left = self.budget.time_left().unwrap_or_default();
            let outcome = tokio::time::timeout(left, client.complete(&request)).await;
            let cost = match &outcome {
                Ok(Ok(answer)) => Some(answer.cost),
                _ => None,
            };
            self.budget.settle(reservation, cost);
            let answer = match outcome {
                Ok(Ok(answer)) => answer,
                Ok(Err(ChatError::Refused(sentence))) => {
                    self.budget.stop(sentence);
                    return Asked::Skipped;
                }
                Ok(Err(ChatError::Failed(message))) => {
                    self.budget.failed(&message);
                    return Asked::Failed(message);
                }
                Err(_) => {
                    self.budget.timed_out.set(true);
                    return Asked::Skipped;
                }
            };
            self.budget.answered();
            spent.0 += answer.prompt_tokens;
            spent.1 += answer.completion_tokens;
            spent.2 += answer.cost;
            let b = &self.budget;
            b.tokens
                .set(b.tokens.get() + answer.prompt_tokens + answer.completion_tokens);
            let row = |answer: Option<String>, error: Option<String>| CachedAnswer {
                key: job.key.clone(),
                task: job.task.as_str().to_string(),
                model: job.model.to_string(),
                prompt_version: prompt.version.clone(),
                subject: Some(job.subject.clone()),
                answer,
                error,
                prompt_tokens: spent.0 as i64,
                completion_tokens: spent.1 as i64,
                cost_usd: spent.2,
                created_at: timestamp(self.now),
            };
            match job.task.read_answer(&answer.content) {
                Ok(value) => return Asked::Answer(row(Some(value.to_string()), None), value),
                Err(problem) if correction.is_some() => {
                    return Asked::Unusable(row(None, Some(crate::text::terminal(&problem, 200))));
                }
                Err(problem) => {
                    let previous = crate::text::cut(&answer.content, 4_000);
                    correction = Some((previous, crate::text::terminal(&problem, 200)));
                }
            }
        }
    }

    fn note(&self, line: String) {
        self.failures.borrow_mut().push(line);
    }

    /// Usage and the warnings, once each.
    fn finish(&self, out: &mut Enrichment) {
        let b = &self.budget;
        out.usage.calls = b.calls.get();
        out.usage.tokens = b.tokens.get();
        out.usage.cost_usd = b.cost.get();
        if let Some(refused) = b.refused.borrow().clone() {
            out.warnings.push(format!("llm: {refused}"));
            out.usage.error = Some(refused);
        }
        if b.timed_out.get() {
            out.warnings.push(format!(
                "llm: the model phase ran out of its time ([llm] max_run_secs = {}); the remaining roles kept the rules' verdict and are asked next run",
                b.max_run_secs
            ));
        }
        // Calls made and none answered: the data is fine, the model is not.
        if out.usage.error.is_none() && b.calls.get() > 0 && b.answered.get() == 0 {
            let why = if b.timed_out.get() {
                format!(
                    "no model call of the run was answered within [llm] max_run_secs = {}",
                    b.max_run_secs
                )
            } else {
                format!(
                    "every model call of the run failed ({}; the last: {})",
                    b.calls.get(),
                    b.last_failure.borrow().clone().unwrap_or_default()
                )
            };
            out.usage.error = Some(why);
        }
        if b.exhausted.get() {
            out.warnings.push(format!(
                "llm: the run's model budget is spent ({} calls, ${:.4}; [llm] max_calls_per_run = {}, max_cost_per_run_usd = {}): the remaining roles kept the rules' verdict and are asked next run",
                b.calls.get(),
                b.cost.get(),
                self.config.max_calls_per_run,
                self.config.max_cost_per_run_usd
            ));
        }
        let failures = self.failures.borrow();
        for line in failures.iter().take(MAX_FAILURES_NAMED) {
            out.warnings.push(format!("llm: {line}"));
        }
        if failures.len() > MAX_FAILURES_NAMED {
            out.warnings.push(format!(
                "llm: {} more model answers failed or were unusable",
                failures.len() - MAX_FAILURES_NAMED
            ));
        }
    }
}

fn is_fresh(row: &CachedAnswer, since: Option<DateTime<Utc>>) -> bool {
    let Some(since) = since else {
        return true;
    };
    made_at(row).is_some_and(|at| at >= since)
}

/// When a cached answer was made (none for an unreadable stamp).
fn made_at(row: &CachedAnswer) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&row.created_at)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// What [`Asker::resolve`] found.
#[derive(Default)]
struct Resolved<'j> {
    /// Usable answers, each with when it was made.
    usable: Vec<(Job<'j>, Value, DateTime<Utc>)>,
    /// Jobs left without an answer (failed, skipped, no client): asked again
    /// next run.
    unsettled: Vec<Job<'j>>,
}

fn shorten(subject: &str) -> String {
    crate::text::terminal(subject, 80)
}

/// The answers already cached for stored roles, without asking anything
/// (`requalify`): each role's intel by its `intel_key`, and each company's
/// excitement under today's model and prompt, whatever its age.
pub fn cached(
    config: &LlmConfig,
    db: &Db,
    roles: &[&crate::store::StoredRole],
) -> anyhow::Result<Enrichment> {
    let mut out = Enrichment {
        intel_model: config.intel_model.clone(),
        band: config.excitement_band,
        ..Enrichment::default()
    };
    if !config.enabled {
        return Ok(out);
    }
    let intel_keys: Vec<&str> = roles
        .iter()
        .filter_map(|r| r.intel_key.as_deref())
        .collect();
    let answers = db.llm_answers(intel_keys)?;
    let mut companies: HashMap<String, String> = HashMap::new();
    for role in roles {
        if let Some(key) = &role.intel_key
            && let Some(answer) = answers.get(key).and_then(|a| a.answer.as_deref())
            && let Ok(intel) = serde_json::from_str::<RoleIntel>(answer)
        {
            out.intel.insert(role.id.clone(), (key.clone(), intel));
        }
        let raw: Value = serde_json::from_str(&role.raw).unwrap_or(Value::Null);
        let company = company_key(&text_at(&raw, "company.name").unwrap_or_default());
        if !company.is_empty() {
            companies.insert(excitement_key(config, &raw), company);
        }
    }
    let excitement = db.llm_answers(companies.keys().map(String::as_str))?;
    for (key, company) in companies {
        if let Some(answer) = excitement.get(&key).and_then(|a| a.answer.as_deref())
            && let Ok(answer) = serde_json::from_str::<CompanyExcitement>(answer)
        {
            out.excitement
                .insert(company, model_excitement(&config.excitement_model, &answer));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_client_asks_as_llm_says() {
        let text =
            "[llm]\nretry_base_ms = 5\nrequest_delay_ms = 7\nmax_retries = 2\ntimeout_secs = 9\n";
        let config = crate::config::Config::parse(text, std::path::Path::new("a")).unwrap();
        let client = chat_client(&config.llm, None, None).unwrap();
        let expected = crate::fetch::HttpConfig {
            timeout_secs: 9,
            max_retries: 2,
            retry_base_ms: 5,
            request_delay_ms: 7,
        };
        assert_eq!(*client.http_config(), expected);
    }
}
