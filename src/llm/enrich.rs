//! When the model is asked, in a scrape's fetch phase (before the run's
//! transaction, like detail calls): role intel for every role with a detail,
//! then company excitement for uncertain qualified roles and briefings for
//! the best QUALIFIED ones. The cache answers first; only a new input costs
//! a call, and only within the run's budget. Nothing here fails a scrape:
//! an unreachable, refused or nonsensical model leaves the rules' verdict,
//! and says so in the run's warnings.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::Value;

use super::{Briefing, CompanyExcitement, RoleIntel, Task, cache_key, input, normalise_company};
use crate::config::{Env, LlmConfig};
use crate::evaluate::{ModelExcitement, evaluate};
use crate::fetch::llm::{ChatClient, ChatError, ChatRequest, ChatSettings};
use crate::intel::{Intel, ModelFacts, read_detail};
use crate::progress::Progress;
use crate::role::{strings_at, text_at, timestamp};
use crate::rules::{Lists, Rules};
use crate::store::{CachedAnswer, Db, LlmUsage};

/// One role as the model phase sees it.
pub struct RoleInput<'a> {
    pub id: &'a str,
    pub raw: &'a Value,
    /// Fetched in this run, else the stored one.
    pub detail: Option<Value>,
}

/// What the model contributed to a run.
#[derive(Debug, Default)]
pub struct Enrichment {
    /// Role id → (cache key, role intel), fresh or cached.
    pub intel: HashMap<String, (String, RoleIntel)>,
    /// Normalised company name → the model's excitement.
    pub excitement: HashMap<String, ModelExcitement>,
    /// Role id → cache key of its briefing.
    pub briefings: HashMap<String, String>,
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
        match excitement {
            None if intel.is_empty() => String::new(),
            None => intel.to_string(),
            Some(e) => format!("{intel} {} {} {:?}", e.score, e.model, self.band),
        }
    }

    /// The model's excitement for the company of `raw`, if asked.
    pub fn excitement_for(&self, raw: &Value) -> Option<&ModelExcitement> {
        let company = normalise_company(&text_at(raw, "company.name").unwrap_or_default());
        self.excitement.get(&company)
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

/// Asks what the cache cannot answer, within the budget; see the module.
pub async fn enrich(
    config: &LlmConfig,
    env: &Env,
    db: &Db,
    roles: &[RoleInput<'_>],
    rules: &Rules,
    now: DateTime<Utc>,
    progress: &Progress,
) -> Enrichment {
    let mut out = Enrichment {
        intel_model: config.intel_model.clone(),
        band: config.excitement_band,
        ..Enrichment::default()
    };
    if !config.enabled {
        return out;
    }
    let key = config.api_key(env);
    let deadline = phase_deadline(config);
    let client = if key.is_none() && !config.is_local() {
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
    let asker = Asker {
        client: client.as_ref(),
        config,
        budget: Budget::new(config, deadline),
        now,
        failures: RefCell::new(Vec::new()),
    };

    // 1. Role intel, for every role with a detail.
    let prompt = Task::RoleIntel.prompt();
    let mut intels: HashMap<&str, Intel> = HashMap::new();
    let mut wanted = Vec::new();
    for role in roles {
        let intel = role
            .detail
            .as_ref()
            .map(|d| read_detail(d, &rules.lists))
            .unwrap_or_default();
        if let Some(text) = input::role_intel(role.raw, &intel) {
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
        intels.insert(role.id, intel);
    }
    for (job, answer) in asker.resolve(db, wanted, progress, &mut out).await {
        if let Ok(intel) = serde_json::from_value::<RoleIntel>(answer) {
            out.intel.insert(job.subject.clone(), (job.key, intel));
        }
    }

    // 2. Excitement and briefings, from the verdict with the intel merged.
    let mut wanted = Vec::new();
    let mut companies_asked = std::collections::HashSet::new();
    let briefing_prompt = Task::Briefing.prompt();
    let days = i64::from(config.company_cache_days);
    for role in roles {
        let Some(mut intel) = intels.remove(role.id) else {
            continue;
        };
        intel.model = out.facts(role.id, &rules.lists);
        let verdict = evaluate(role.raw, &intel, rules);
        let band = config.excitement_band;
        if verdict.tier.is_qualified() && (band[0]..=band[1]).contains(&verdict.excitement.value) {
            let company = normalise_company(&text_at(role.raw, "company.name").unwrap_or_default());
            if !company.is_empty() && !companies_asked.contains(&company) {
                let mut investors = strings_at(role.raw, "investors");
                // Only what the text says: a name planted by the notes
                // never reaches the excitement question either.
                investors.extend(
                    intel
                        .model
                        .investors
                        .iter()
                        .filter(|c| c.source(&intel, &rules.lists).is_some())
                        .map(|c| c.name.clone()),
                );
                let text = input::company_excitement(role.raw, &intel, &investors);
                companies_asked.insert(company.clone());
                wanted.push(Job {
                    task: Task::CompanyExcitement,
                    model: &config.excitement_model,
                    key: excitement_key(config, role.raw),
                    subject: company,
                    input: text,
                    fresh_since: Some(now - chrono::Duration::days(days)),
                });
            }
        }
        if verdict.tier == crate::evaluate::Tier::Qualified
            && verdict.combined >= config.briefing_min_score
            && let Some(detail) = &role.detail
        {
            let text = input::briefing(role.raw, detail, &intel);
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
    for (job, answer) in asker.resolve(db, wanted, progress, &mut out).await {
        match job.task {
            Task::CompanyExcitement => {
                if let Ok(answer) = serde_json::from_value::<CompanyExcitement>(answer) {
                    out.excitement.insert(
                        job.subject.clone(),
                        model_excitement(&config.excitement_model, &answer),
                    );
                }
            }
            Task::Briefing => {
                if serde_json::from_value::<Briefing>(answer).is_ok() {
                    out.briefings.insert(job.subject.clone(), job.key);
                }
            }
            Task::RoleIntel => {}
        }
    }
    asker.finish(&mut out);
    out
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
        client: Some(&client),
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
        timeout: Duration::from_secs(config.timeout_secs),
        max_retries: config.max_retries,
        retry_base: Duration::from_millis(1000),
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
    client: Option<&'a ChatClient>,
    config: &'a LlmConfig,
    budget: Budget,
    now: DateTime<Utc>,
    failures: RefCell<Vec<String>>,
}

/// Failures named one by one in the run's warnings; the rest are counted.
const MAX_FAILURES_NAMED: usize = 3;

impl Asker<'_> {
    /// Answers every job from the cache or the model; returns the usable
    /// answers. New answers are cached as each arrives.
    async fn resolve<'j>(
        &self,
        db: &Db,
        jobs: Vec<Job<'j>>,
        progress: &Progress,
        out: &mut Enrichment,
    ) -> Vec<(Job<'j>, Value)> {
        let cached = match db.llm_answers(jobs.iter().map(|j| j.key.as_str())) {
            Ok(cached) => cached,
            Err(err) => {
                out.warnings
                    .push(format!("llm: reading the answer cache failed: {err:#}"));
                HashMap::new()
            }
        };
        let mut usable = Vec::new();
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
                    if let Some(answer) = row
                        .answer
                        .as_deref()
                        .and_then(|a| job.task.read_answer(a).ok())
                    {
                        usable.push((job, answer));
                    }
                    // A cached unusable answer: not paid for again.
                }
                _ => to_ask.push(job),
            }
        }
        if to_ask.is_empty() || self.client.is_none() {
            return usable;
        }
        let share = |usable: &mut Vec<(Job<'j>, Value)>, waiting: &mut Vec<Job<'j>>| {
            let mut shared = Vec::new();
            for job in waiting.drain(..) {
                if let Some((_, answer)) = usable.iter().find(|(done, _)| done.key == job.key) {
                    shared.push((job, answer.clone()));
                }
            }
            usable.extend(shared);
        };
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
        for (job, asked) in asked {
            match asked {
                Asked::Answer(_, answer) => usable.push((job, answer)),
                Asked::Unusable(row) => {
                    self.note(format!(
                        "the model's {} for {} was unusable twice ({}); the rules' verdict was used",
                        job.task.label(),
                        shorten(&job.subject),
                        row.error.as_deref().unwrap_or("")
                    ));
                }
                Asked::Failed(message) => self.note(format!(
                    "{} for {} failed: {message}; the rules' verdict was used",
                    job.task.label(),
                    shorten(&job.subject)
                )),
                Asked::Skipped => {}
            }
        }
        share(&mut usable, &mut waiting);
        usable
    }

    /// One job: ask, read, and re-ask once if the answer was unusable.
    async fn ask(&self, job: &Job<'_>) -> Asked {
        let Some(client) = self.client else {
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
    DateTime::parse_from_rfc3339(&row.created_at).is_ok_and(|at| at.with_timezone(&Utc) >= since)
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
        let company = normalise_company(&text_at(&raw, "company.name").unwrap_or_default());
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
