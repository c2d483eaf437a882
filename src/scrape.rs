//! One scrape run, as a short sequence of stages:
//! lock → open → start the run row → fetch every source (list, then details
//! of new or changed candidates) → record everything in one transaction
//! (store, track, removals, evaluate) → report.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::assess::{
    Subject, TREND_WINDOW_DAYS, assess, detail_write, evaluation_key, intel_of, parse_detail,
    rules_key, trend_of,
};
use crate::config::{Config, Env};
use crate::fetch::paraform::{self, Access, Limits, Paraform, RoleList, Route};
use crate::fetch::{ClientSettings, FetchError, HttpClient, boards};
use crate::llm::enrich::{Enrichment, RoleInput, enrich};
use crate::lock::WriterLock;
use crate::progress::Progress;
use crate::role::paraform_columns;
use crate::rules::Rules;
use crate::session::{SESSION_ENV, Session};
use crate::spool::SpooledTexts;
use crate::store::{Db, RoleSummary, RoleWrite, RunCounts, StoreTx};
use crate::track::{ChangeKind, FieldChange, diff, text_hash};

/// How a scrape is run.
pub struct ScrapeOptions {
    /// Who started it: `manual`, `schedule`, `demo`.
    pub trigger: String,
    /// The run's clock: every timestamp it writes is this instant.
    pub now: DateTime<Utc>,
    pub progress: Progress,
}

pub use crate::store::RunStatus;

/// What a run did, for the summary line and the caller's exit code.
#[derive(Debug, Clone)]
pub struct ScrapeReport {
    pub run_id: i64,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub errors: Vec<String>,
    pub duration: Duration,
}

impl ScrapeReport {
    /// `run 3 ok in 1.2s: 60 seen, 3 new, 5 changed, 2 gone, 1 reappeared, 0 errors`
    pub fn summary_line(&self) -> String {
        let c = &self.counts;
        format!(
            "run {} {} in {:.1}s: {} seen, {} new, {} changed, {} gone, {} reappeared, {} error{}",
            self.run_id,
            self.status.as_str(),
            self.duration.as_secs_f64(),
            c.seen,
            c.new,
            c.changed,
            c.gone,
            c.reappeared,
            self.errors.len(),
            if self.errors.len() == 1 { "" } else { "s" }
        )
    }
}

/// Runs one scrape of every enabled source into the configured database.
pub async fn scrape(config: &Config, env: &Env, options: &ScrapeOptions) -> Result<ScrapeReport> {
    let rules = config.rules()?;
    let db_path = config.database_path();
    let lock = WriterLock::acquire(&db_path)?;
    let mut db = Db::open(&db_path)?;
    // A run whose scrape is asking the model (writer lock let go) is alive.
    let abandoned = if WriterLock::someone_asking(&db_path)? {
        0
    } else {
        db.fail_abandoned_runs(options.now)?
    };
    if abandoned > 0 {
        tracing::warn!(
            abandoned,
            "marked runs left unfinished by a stopped process as failed"
        );
    }
    let started = Instant::now();
    let run_id = db.start_run(options.now, &options.trigger)?;
    let stored = db.role_summaries(Some(paraform::SOURCE))?;
    let stored_boards = board_summaries(&db)?;
    let fetches = fetch_sources(config, env, options, &db, &stored, &rules).await;
    // The model phase may take minutes ([llm] max_run_secs): other writers
    // (requalify, a manual scrape) go on meanwhile, and this run records
    // only if no other run did in between.
    let (enrichment, _lock) = if config.llm.enabled {
        let asking = WriterLock::acquire_asking(&db_path)?;
        drop(lock);
        let enrichment = ask_the_model(config, env, &db, options, &fetches, &rules).await;
        let lock = relock(&db, &db_path, run_id, options.now).await?;
        drop(asking);
        (enrichment, lock)
    } else {
        (Enrichment::default(), lock)
    };
    options.progress.step("storing roles");
    let run = RunContext {
        config,
        rules: &rules,
        rules_key: rules_key(&rules),
        run_id,
        now: options.now,
        started,
        enrichment: &enrichment,
    };
    let recorded = record_run(&mut db, &run, &fetches, &stored, &stored_boards);
    options.progress.finish();
    if let Err(err) = &recorded {
        // The run's transaction was rolled back; leave the reason on its row.
        let _ = db.fail_run(
            run_id,
            options.now,
            &[format!("storing the run failed: {err:#}")],
        );
    }
    recorded
}

/// How long a run that asked the model waits for the writer lock to come
/// back (a `requalify` holds it for seconds).
const RELOCK_WAIT: Duration = Duration::from_secs(120);

/// Takes the writer lock back after the model phase. When another scrape
/// ran meanwhile (or still holds the lock), this run's reading of the
/// stored roles is out of date: it records nothing, says why on its row,
/// and the model's answers stay cached for the next run.
async fn relock(
    db: &Db,
    db_path: &std::path::Path,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<WriterLock> {
    let superseded = |why: &str| {
        let message = format!(
            "{why} while this run asked the model, so this run recorded nothing; the model's answers are kept for the next run"
        );
        let _ = db.fail_run(run_id, now, std::slice::from_ref(&message));
        anyhow::anyhow!(message)
    };
    let waited = Instant::now();
    let lock = loop {
        match WriterLock::acquire(db_path) {
            Ok(lock) => break lock,
            Err(_) if waited.elapsed() < RELOCK_WAIT => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(_) => return Err(superseded("another scrape held the database")),
        }
    };
    let newest = db.recent_runs(1)?.first().map(|r| r.id);
    let still_running = db
        .run(run_id)?
        .is_some_and(|r| r.status == RunStatus::Running);
    if newest != Some(run_id) || !still_running {
        return Err(superseded("another scrape ran"));
    }
    Ok(lock)
}

/// The model phase (`[llm]` on): role intel, excitement and briefings for the
/// roles listed in this run, before the run's transaction. Each new answer
/// is cached the moment it arrives: what was paid for is kept even if the
/// run is killed or fails later.
async fn ask_the_model(
    config: &Config,
    env: &Env,
    db: &Db,
    options: &ScrapeOptions,
    fetches: &[SourceFetch],
    rules: &Rules,
) -> Enrichment {
    options.progress.step("asking the model");
    // With [llm] on, every role is listed in full (none is skipped as
    // unchanged): the model phase reads them all, from the cache mostly.
    let mut ids: Vec<(String, Value)> = Vec::new();
    let mut seen = HashSet::new();
    for fetch in fetches.iter().filter(|f| f.scope == Scope::Paraform) {
        let Ok(list) = &fetch.result else { continue };
        for listed in &list.roles {
            let Some(external_id) = listed.external_id.clone() else {
                continue;
            };
            let id = format!("{}:{external_id}", fetch.scope.source());
            if seen.insert(id.clone()) {
                ids.push((id, list.value(listed)));
            }
        }
    }
    let detail_of = |id: &str| {
        fetches
            .iter()
            .find_map(|f| {
                f.details
                    .get(id)
                    .and_then(Result::ok)
                    .and_then(|text| serde_json::from_str(&text).ok())
            })
            .or_else(|| {
                let stored = db.stored_role(id).ok().flatten();
                parse_detail(stored.and_then(|p| p.detail).as_deref())
            })
    };
    let roles: Vec<RoleInput<'_>> = ids
        .iter()
        .map(|(id, raw)| RoleInput {
            id,
            raw,
            detail: detail_of(id),
        })
        .collect();
    enrich(
        &config.llm,
        env,
        db,
        &roles,
        rules,
        options.now,
        &options.progress,
    )
    .await
}

/// What a fetch covers: Paraform's whole listing, or one company board.
#[derive(Debug, Clone, PartialEq)]
enum Scope {
    Paraform,
    Board {
        kind: boards::Kind,
        board: String,
        /// The followed company's name, as configured.
        company: String,
    },
}

impl Scope {
    /// `roles.source` of the roles it covers.
    fn source(&self) -> &'static str {
        match self {
            Scope::Paraform => paraform::SOURCE,
            Scope::Board { kind, .. } => kind.source(),
        }
    }

    /// The start of the ids of the roles it covers: `paraform:`,
    /// `greenhouse:acme/`.
    fn prefix(&self) -> String {
        match self {
            Scope::Paraform => format!("{}:", paraform::SOURCE),
            Scope::Board { kind, board, .. } => format!("{}:{board}/", kind.source()),
        }
    }

    /// For messages: `paraform`, `greenhouse board acme`.
    fn label(&self) -> String {
        match self {
            Scope::Paraform => paraform::SOURCE.to_string(),
            Scope::Board { kind, board, .. } => format!("{} board {board}", kind.source()),
        }
    }
}

/// What one source returned.
struct SourceFetch {
    scope: Scope,
    result: Result<RoleList, FetchError>,
    /// Detail payloads fetched in this run, by role id, as JSON text (a
    /// cold run of 100,000 roles holds tens of thousands of them, spooled).
    details: SpooledTexts,
    /// Detail calls that failed; the roles are evaluated from the list data.
    detail_errors: Vec<String>,
    requests: u64,
    /// How Paraform was reached (Paraform only, once a session was in hand).
    route: Option<Route>,
}

async fn fetch_sources(
    config: &Config,
    env: &Env,
    options: &ScrapeOptions,
    db: &Db,
    stored: &HashMap<String, RoleSummary>,
    rules: &Rules,
) -> Vec<SourceFetch> {
    let mut fetches = Vec::new();
    if config.paraform.enabled {
        options.progress.step("fetching Paraform roles");
        fetches.push(fetch_paraform(config, env, options, db, stored, rules).await);
    }
    if config.boards.enabled && !config.companies.is_empty() {
        options.progress.step("fetching company boards");
        fetches.extend(fetch_boards(config).await);
    }
    fetches
}

/// Every followed company's boards, one request at a time through one
/// polite client (as Paraform's: delay, retries, timeout). A board that
/// fails fails alone.
async fn fetch_boards(config: &Config) -> Vec<SourceFetch> {
    let settings = &config.boards;
    let client = settings.client();
    let mut fetches = Vec::new();
    for company in &config.companies {
        for (source, board) in company.boards() {
            let Some(kind) = boards::Kind::from_source(source) else {
                continue;
            };
            // Already lower case when the config was read; made sure here.
            let board = &board.to_ascii_lowercase();
            let base_url = settings.base_url(kind);
            let before = client.as_ref().map(|c| c.request_count()).unwrap_or(0);
            let result = match &client {
                Ok(client) => {
                    boards::list_jobs(client, base_url, kind, board, settings.max_board_bytes).await
                }
                Err(err) => Err(FetchError::Request {
                    procedure: "client".into(),
                    detail: err.to_string(),
                }),
            };
            let after = client.as_ref().map(|c| c.request_count()).unwrap_or(0);
            fetches.push(SourceFetch {
                scope: Scope::Board {
                    kind,
                    board: board.to_string(),
                    company: company.name.clone(),
                },
                result,
                details: SpooledTexts::default(),
                detail_errors: Vec::new(),
                requests: after - before,
                route: None,
            });
        }
    }
    fetches
}

/// The stored board roles, every board's (followed or not): each followed
/// board's removals are judged against its own roles only, and the roles of
/// the others are closed as no longer followed.
#[derive(Debug, Default)]
struct StoredBoards {
    /// By [`Scope::prefix`], then by canonical id (see [`canonical_board_id`]).
    by_board: HashMap<String, HashMap<String, RoleSummary>>,
    /// Roles stored twice under two spellings of one board (`greenhouse:Acme/1`
    /// and `greenhouse:acme/1`, left by versions that read board names with
    /// case): the one not kept in `by_board`. Never listed again, so closed
    /// as no longer followed when active.
    duplicates: Vec<RoleSummary>,
}

/// A board role's id in its one spelling, with its board's prefix:
/// `greenhouse:Acme/123` → (`greenhouse:acme/`, `greenhouse:acme/123`).
/// Board names are read without regard to case (as the three APIs read
/// them); the job id keeps its case. `None` for an id of another shape.
fn canonical_board_id(id: &str) -> Option<(String, String)> {
    let (source, rest) = id.split_once(':')?;
    let (board, job) = rest.split_once('/')?;
    let prefix = format!("{source}:{}/", board.to_ascii_lowercase());
    let canonical = format!("{prefix}{job}");
    Some((prefix, canonical))
}

/// Groups stored board roles by board, each by its canonical id.
///
/// Ids stored by older versions keep their case (`greenhouse:Acme/123`):
/// nothing is rewritten, they are matched to what a board lists without
/// regard to case, and updated under the id they were first stored with.
/// Where one role is stored under two spellings, the one already in the
/// canonical spelling wins (else the active one, else the first by id).
fn group_board_roles(roles: impl IntoIterator<Item = RoleSummary>) -> StoredBoards {
    let mut roles: Vec<RoleSummary> = roles.into_iter().collect();
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    let mut stored = StoredBoards::default();
    for role in roles {
        let Some((prefix, canonical)) = canonical_board_id(&role.id) else {
            continue;
        };
        let board = stored.by_board.entry(prefix).or_default();
        let rank = |r: &RoleSummary| (r.id == canonical, r.active);
        match board.get(&canonical) {
            Some(kept) if rank(kept) >= rank(&role) => stored.duplicates.push(role),
            _ => {
                if let Some(replaced) = board.insert(canonical, role) {
                    stored.duplicates.push(replaced);
                }
            }
        }
    }
    stored
}

fn board_summaries(db: &Db) -> Result<StoredBoards> {
    let mut roles = Vec::new();
    for kind in boards::Kind::ALL {
        roles.extend(db.role_summaries(Some(kind.source()))?.into_values());
    }
    Ok(group_board_roles(roles))
}

async fn fetch_paraform(
    config: &Config,
    env: &Env,
    options: &ScrapeOptions,
    db: &Db,
    stored: &HashMap<String, RoleSummary>,
    rules: &Rules,
) -> SourceFetch {
    let now = options.now;
    let settings = &config.paraform;
    let client = HttpClient::new(ClientSettings {
        timeout: Duration::from_secs(settings.timeout_secs.max(1)),
        request_delay: Duration::from_millis(settings.request_delay_ms),
        max_retries: settings.max_retries,
        retry_base: Duration::from_millis(settings.retry_base_ms),
    });
    let mut details = SpooledTexts::default();
    let mut detail_errors = Vec::new();
    let mut route = None;
    let result = async {
        let client = client.as_ref().map_err(|err| FetchError::Request {
            procedure: "client".into(),
            detail: err.to_string(),
        })?;
        let session = load_session(config, env)?;
        let limits = Limits {
            list_bytes: settings.max_list_bytes,
            detail_bytes: settings.max_detail_bytes,
        };
        let access = Access {
            mode: settings.fetch,
            browser: find_browser(env),
        };
        let paraform = Paraform::new(client, &settings.base_url, &session, now, limits, access)?;
        // Whatever happens below, the browser (if one started) is closed:
        // by `close` here, or by dropping `paraform` on an early return.
        let fetched =
            fetch_listing_and_details(&paraform, config, options, db, stored, rules).await;
        let fetched = fetched.map(|(roles, texts, errors)| {
            details = texts;
            detail_errors = errors;
            roles
        });
        route = Some(paraform.route());
        if let Some(procedure) = paraform.challenged_at() {
            detail_errors.push(format!(
                "paraform: {procedure} was answered with a browser challenge; the rest of the run went through headless Chromium"
            ));
        }
        paraform.close().await;
        fetched
    }
    .await;
    let requests = client.map(|c| c.request_count()).unwrap_or(0);
    SourceFetch {
        scope: Scope::Paraform,
        result,
        details,
        detail_errors,
        requests,
        route,
    }
}

/// The browser `[paraform] fetch` may come to: `AIR_DEMAND_BROWSER`, else
/// the first Chromium or Chrome on `PATH`; none in a build without the
/// `browser` feature.
fn find_browser(env: &Env) -> Option<std::path::PathBuf> {
    #[cfg(feature = "browser")]
    {
        crate::browser::find(
            None,
            env.var(crate::fetch::BROWSER_ENV),
            std::env::var_os("PATH"),
        )
        .ok()
    }
    #[cfg(not(feature = "browser"))]
    {
        let _ = env;
        None
    }
}

/// The listing, then the details of the roles worth one (their texts,
/// and the detail calls that failed).
async fn fetch_listing_and_details(
    paraform: &Paraform<'_>,
    config: &Config,
    options: &ScrapeOptions,
    db: &Db,
    stored: &HashMap<String, RoleSummary>,
    rules: &Rules,
) -> Result<(RoleList, SpooledTexts, Vec<String>), FetchError> {
    let settings = &config.paraform;
    let mut details = SpooledTexts::default();
    let mut detail_errors = Vec::new();
    {
        // A role listed exactly as stored is only counted as seen (the model
        // phase, when on, reads every role).
        let by_text: HashMap<&str, &str> = if config.llm.enabled {
            HashMap::new()
        } else {
            stored
                .values()
                .filter(|s| s.active)
                .filter_map(|s| {
                    let external = s.id.strip_prefix(paraform::SOURCE)?.strip_prefix(':')?;
                    Some((s.raw_hash.as_deref()?, external))
                })
                .collect()
        };
        let unchanged = |text_hash: &str| by_text.get(text_hash).map(|id| id.to_string());
        let roles = paraform.list_roles_except(&unchanged).await?;
        if settings.fetch_details {
            let candidates = detail_candidates(&roles, stored, db, rules);
            options
                .progress
                .counted("fetching role details", candidates.len() as u64);
            let wanted = DetailRequest {
                // A briefing reads the full description (getRoleByIdDetailed).
                with_description: settings.fetch_description || config.llm.enabled,
                progress: &options.progress,
            };
            fetch_details(
                paraform,
                &candidates,
                &wanted,
                &mut details,
                &mut detail_errors,
            )
            .await;
        }
        Ok((roles, details, detail_errors))
    }
}

/// Roles worth a detail call: new, changed, or never detailed, and passing
/// the hard filters (or only unsure of the location). Unchanged roles keep
/// what is stored, so a quiet run makes one list call and nothing more.
fn detail_candidates(
    list: &RoleList,
    stored: &HashMap<String, RoleSummary>,
    db: &Db,
    rules: &Rules,
) -> Vec<(String, String)> {
    let mut candidates = Vec::new();
    let mut seen = HashSet::new();
    for listed in &list.roles {
        let Some(external_id) = listed.external_id.clone() else {
            continue;
        };
        let id = format!("{}:{external_id}", paraform::SOURCE);
        if !seen.insert(id.clone()) {
            continue;
        }
        let previous = stored.get(&id);
        let changed = previous
            .is_none_or(|p| p.detail_fetched_at.is_none() || p.content_hash != listed.content_hash);
        if !changed {
            continue;
        }
        let raw = list.value(listed);
        // The tier with what is stored of the role's detail.
        let detail = previous
            .filter(|p| p.detail_fetched_at.is_some())
            .and_then(|_| db.stored_role(&id).ok().flatten())
            .and_then(|p| parse_detail(p.detail.as_deref()));
        let intel = intel_of(detail.as_ref(), rules);
        if crate::evaluate::evaluate(&raw, &intel, rules)
            .tier
            .is_candidate()
        {
            candidates.push((id, external_id));
        }
    }
    // Listed as before but never detailed (an earlier detail call failed).
    for external_id in &list.unchanged {
        let id = format!("{}:{external_id}", paraform::SOURCE);
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some(p) = stored.get(&id)
            && p.detail_fetched_at.is_none()
            && p.tier.is_some_and(|t| t.is_candidate())
        {
            candidates.push((id, external_id.clone()));
        }
    }
    candidates
}

/// After this many failed detail calls in a row the rest are left for the
/// next run: the source is clearly unwell, and each failure costs retries.
const MAX_DETAIL_FAILURES_IN_A_ROW: usize = 3;

struct DetailRequest<'a> {
    with_description: bool,
    progress: &'a Progress,
}

async fn fetch_details(
    paraform: &Paraform<'_>,
    candidates: &[(String, String)],
    wanted: &DetailRequest<'_>,
    details: &mut SpooledTexts,
    errors: &mut Vec<String>,
) {
    let mut failures_in_a_row = 0;
    for (id, external_id) in candidates {
        wanted.progress.advance();
        match paraform
            .role_detail(external_id, wanted.with_description)
            .await
        {
            Ok(detail) => {
                details.insert(id.clone(), &detail.to_string());
                failures_in_a_row = 0;
            }
            Err(FetchError::SessionExpired(message)) => {
                errors.push(format!("paraform: role details stopped: {message}"));
                return;
            }
            Err(err) => {
                errors.push(format!(
                    "paraform: details of role {} not fetched: {err}",
                    shorten(external_id)
                ));
                failures_in_a_row += 1;
                if failures_in_a_row >= MAX_DETAIL_FAILURES_IN_A_ROW {
                    errors.push(format!(
                        "paraform: stopped fetching role details after {MAX_DETAIL_FAILURES_IN_A_ROW} failures in a row; the rest are tried next run"
                    ));
                    return;
                }
            }
        }
    }
}

fn load_session(config: &Config, env: &Env) -> Result<Session, FetchError> {
    match Session::load(&config.session_file(), env.var(SESSION_ENV)) {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(FetchError::SessionMissing(format!(
            "no Paraform session: export one from a logged-in browser and run `air-demand session import FILE` (or set {SESSION_ENV}); looked for {}",
            config.session_file().display()
        ))),
        Err(err) => Err(FetchError::SessionMissing(format!("{err:#}"))),
    }
}

/// What every stage of recording a run needs to know.
struct RunContext<'a> {
    config: &'a Config,
    rules: &'a Rules,
    /// The rules' fingerprint, part of every role's evaluation key.
    rules_key: String,
    run_id: i64,
    now: DateTime<Utc>,
    started: Instant,
    enrichment: &'a Enrichment,
}

/// Writes the whole run in one transaction and closes its row.
fn record_run(
    db: &mut Db,
    run: &RunContext<'_>,
    fetches: &[SourceFetch],
    stored: &HashMap<String, RoleSummary>,
    stored_boards: &StoredBoards,
) -> Result<ScrapeReport> {
    let no_roles = HashMap::new();
    let tx = db.transaction()?;
    let mut counts = RunCounts::default();
    let mut errors = Vec::new();
    let mut failed_sources = 0;
    let mut suspicious = false;
    for fetch in fetches {
        counts.requests += fetch.requests;
        if let Some(route) = fetch.route {
            tx.record_paraform_fetch(run.run_id, route.as_str())?;
        }
        let stored = match &fetch.scope {
            Scope::Paraform => stored,
            Scope::Board { .. } => stored_boards
                .by_board
                .get(&fetch.scope.prefix())
                .unwrap_or(&no_roles),
        };
        let mut lines = SourceErrors::new(&fetch.scope.label());
        match &fetch.result {
            Err(err) => {
                failed_sources += 1;
                lines.push(
                    "failure",
                    format!("{}: {err}; no role was marked gone", fetch.scope.label()),
                );
            }
            Ok(list) => {
                let source = SourceRun {
                    scope: &fetch.scope,
                    run_id: run.run_id,
                    now: run.now,
                    base_url: run.config.paraform.link_base(),
                };
                let outcome = source.record(&tx, list, stored, &mut counts, &mut lines)?;
                suspicious |= outcome == Completeness::Suspicious;
                for line in &fetch.detail_errors {
                    lines.push("role details", line.clone());
                }
                // Board roles are company signals, not placements: no tier.
                if fetch.scope == Scope::Paraform {
                    evaluate_seen(&tx, run, paraform::SOURCE, list, &fetch.details, stored)?;
                }
            }
        }
        errors.extend(lines.into_lines());
    }
    close_unfollowed(&tx, run, fetches, stored_boards)?;
    let status = if fetches.is_empty() {
        errors.push("no source is enabled in the config ([paraform] enabled = false)".into());
        RunStatus::Failed
    } else if failed_sources == fetches.len() {
        RunStatus::Failed
    } else if failed_sources > 0 || suspicious {
        RunStatus::Partial
    } else {
        RunStatus::Ok
    };
    errors.extend(run.enrichment.warnings.iter().cloned());
    if run.config.llm.enabled {
        tx.record_llm_usage(run.run_id, &run.enrichment.usage)?;
    }
    counts.qualified = tx.count_qualified()?;
    let duration = run.started.elapsed();
    let finished = run.now + chrono::Duration::from_std(duration).unwrap_or_default();
    tx.finish_run(run.run_id, status, &counts, &errors, finished, duration)?;
    tx.commit()?;
    Ok(ScrapeReport {
        run_id: run.run_id,
        status,
        counts,
        errors,
        duration,
    })
}

/// Closes the active roles of every board no longer followed (its company
/// entry removed, its board name removed or changed, or `[boards]` turned
/// off) with `UNFOLLOWED`: gone from our watch, not from the company's
/// board, so never `DISAPPEARED` and not counted as gone. Whether the board
/// answered does not matter: what is followed is the config's word. A run
/// with no source at all (a failed run) closes nothing.
///
/// Such a role, followed and listed again later, is simply active again
/// (no `REAPPEARED`: it never left the board as far as anyone knows, and
/// the digest must not call it opened); see `SourceRun::record_role`.
fn close_unfollowed(
    tx: &StoreTx<'_>,
    run: &RunContext<'_>,
    fetches: &[SourceFetch],
    stored_boards: &StoredBoards,
) -> Result<()> {
    if fetches.is_empty() {
        return Ok(());
    }
    let followed: HashSet<String> = fetches
        .iter()
        .filter(|f| matches!(f.scope, Scope::Board { .. }))
        .map(|f| f.scope.prefix())
        .collect();
    let unfollowed = stored_boards
        .by_board
        .iter()
        .filter(|(prefix, _)| !followed.contains(*prefix))
        .flat_map(|(_, roles)| roles.values());
    let mut closing: Vec<&RoleSummary> = unfollowed
        .chain(&stored_boards.duplicates)
        .filter(|role| role.active)
        .collect();
    closing.sort_by(|a, b| a.id.cmp(&b.id));
    for role in closing {
        tx.mark_gone(&role.id, run.now)?;
        let change = FieldChange::new(
            ChangeKind::Unfollowed,
            "status",
            Some("active".into()),
            Some("gone".into()),
        );
        tx.insert_change(&role.id, Some(run.run_id), run.now, &change)?;
    }
    Ok(())
}

/// Stores new details and evaluates the roles seen in this run that need
/// it, after the run's changes are written (so trends include them). A role
/// whose evaluation key is unchanged (same content, detail, rules and model
/// answers) keeps its verdict without being evaluated; only its trend can
/// move, as changes age out of the window.
fn evaluate_seen(
    tx: &StoreTx<'_>,
    run: &RunContext<'_>,
    source: &str,
    list: &RoleList,
    details: &SpooledTexts,
    stored: &HashMap<String, RoleSummary>,
) -> Result<()> {
    let recent = tx.recent_changes(run.now - chrono::Duration::days(TREND_WINDOW_DAYS))?;
    let mut done = HashSet::new();
    // Listed with new text: parsed here. Listed as stored: read only if needed.
    let listed = list
        .roles
        .iter()
        .filter_map(|l| l.external_id.clone().map(|external| (external, Some(l))));
    let unchanged = list
        .unchanged
        .iter()
        .map(|external| (external.clone(), None));
    for (external_id, listed) in listed.chain(unchanged) {
        let id = format!("{source}:{external_id}");
        if !done.insert(id.clone()) {
            continue;
        }
        let summary = stored.get(&id);
        // A detail fetched in this run: stored, and its intel read once.
        let fetched = match details.get(&id).transpose()? {
            Some(text) => {
                let detail: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let intel = intel_of(Some(&detail), run.rules);
                tx.write_detail(&id, &detail_write(&text, &intel), run.now)?;
                Some(intel)
            }
            None => None,
        };
        // Listed with new text: its input was read when listed. Listed as
        // stored: the stored input (none before schema 10: evaluated once).
        let input = match listed {
            Some(listed) => Some(listed.evaluation_input.clone()),
            None => summary.and_then(|s| s.evaluation_input.clone()),
        };
        // Parsed here only where the model needs it (company excitement).
        let raw = listed
            .filter(|_| run.config.llm.enabled)
            .map(|l| list.value(l));
        let detail_marker = match fetched {
            Some(_) => Some(crate::role::timestamp(run.now)),
            None => summary.and_then(|s| s.detail_fetched_at.clone()),
        };
        let model = run.enrichment;
        let excitement = raw.as_ref().and_then(|raw| model.excitement_for(raw));
        let fingerprint = model.fingerprint(&id, excitement);
        let key_of = |input: &str| {
            evaluation_key(
                &run.rules_key,
                input,
                detail_marker.as_deref(),
                &fingerprint,
            )
        };
        if let Some(summary) = summary
            && let Some(input) = &input
            && summary.tier.is_some()
            && summary.evaluation_key.as_deref() == Some(key_of(input).as_str())
        {
            let trend = trend_of(&recent, &id);
            if trend != summary.trend {
                tx.write_trend(&id, trend)?;
            }
            continue;
        }
        let previous = tx.stored_role(&id)?;
        let raw = match raw.or_else(|| listed.map(|l| list.value(l))) {
            Some(raw) => raw,
            // An unreadable stored copy (edited by hand) evaluates as an empty role.
            None => previous
                .as_ref()
                .and_then(|p| serde_json::from_str(&p.raw).ok())
                .unwrap_or(Value::Null),
        };
        let mut intel = match fetched {
            Some(intel) => intel,
            None => intel_of(
                parse_detail(previous.as_ref().and_then(|p| p.detail.as_deref())).as_ref(),
                run.rules,
            ),
        };
        intel.model = model.facts(&id, &run.rules.lists);
        let subject = Subject {
            role_id: &id,
            raw: &raw,
            intel: &intel,
            stored: previous.as_ref().and_then(|p| p.evaluation.as_ref()),
            excitement: model.excitement_for(&raw).map(|e| (e, model.band)),
        };
        assess(tx, &subject, run.rules, &recent, Some(run.run_id), run.now)?;
        let input = input.unwrap_or_else(|| {
            crate::track::evaluation_input(&raw, &crate::track::content_hash(&raw))
        });
        tx.write_evaluation_key(&id, &key_of(&input), &input)?;
        if run.config.llm.enabled {
            tx.set_model_keys(
                &id,
                model.intel.get(&id).map(|(key, _)| key.as_str()),
                model.briefings.get(&id).map(String::as_str),
            )?;
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
enum Completeness {
    Complete,
    /// Zero roles, or fewer than half of those active before: stored, but
    /// nobody is marked gone on its word.
    Suspicious,
}

/// Recording one source's roles within the run's transaction.
struct SourceRun<'a> {
    scope: &'a Scope,
    run_id: i64,
    now: DateTime<Utc>,
    base_url: &'a str,
}

impl SourceRun<'_> {
    fn record(
        &self,
        tx: &StoreTx<'_>,
        list: &RoleList,
        stored: &HashMap<String, RoleSummary>,
        counts: &mut RunCounts,
        errors: &mut SourceErrors,
    ) -> Result<Completeness> {
        // Listed but unreadable: noted, kept as they were, and never gone.
        let unreadable = self.note_unreadable(list, errors);
        let mut seen = HashSet::new();
        // Listed exactly as stored: seen, and that is all (one statement).
        let mut touched = Vec::new();
        for external_id in &list.unchanged {
            let id = format!("{}:{external_id}", self.scope.source());
            if !seen.insert(id.clone()) {
                errors.push(
                    "repeated ids",
                    format!(
                        "{}: skipped a second role with id {} in one response",
                        self.scope.source(),
                        shorten(external_id)
                    ),
                );
                continue;
            }
            touched.push(id);
        }
        tx.touch_roles(&touched, self.now)?;
        for listed in &list.roles {
            let Some(external_id) = listed.external_id.clone() else {
                errors.push(
                    "roles without an id",
                    format!(
                        "{}: skipped the role at position {}: it has no id",
                        self.scope.source(),
                        listed.position
                    ),
                );
                continue;
            };
            let id = format!("{}:{external_id}", self.scope.source());
            if !seen.insert(id.clone()) {
                errors.push(
                    "repeated ids",
                    format!(
                        "{}: skipped a second role with id {} in one response",
                        self.scope.source(),
                        shorten(&external_id)
                    ),
                );
                continue;
            }
            let previous = stored.get(&id);
            let text = list.text(listed)?;
            // Only volatile fields moved: the new text is kept, nothing else.
            if let Some(p) = previous.filter(|p| p.active && p.content_hash == listed.content_hash)
            {
                tx.refresh_raw(&p.id, &text, &text_hash(&text), self.now)?;
                continue;
            }
            let raw: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let role = Listed {
                id: &id,
                external_id: &external_id,
                raw: &raw,
                text: &text,
                content_hash: &listed.content_hash,
            };
            self.record_role(tx, &role, previous, counts)?;
        }
        counts.seen += seen.len() as u64;

        let listed = seen.union(&unreadable).count();
        let active_before = stored.values().filter(|role| role.active).count();
        let label = self.scope.label();
        // A board with no openings, and none before, has nothing to protect:
        // a company that is not hiring is not a failing source.
        let nothing_to_lose = listed == 0 && active_before == 0;
        let reason = if nothing_to_lose && self.scope != &Scope::Paraform {
            None
        } else if listed == 0 {
            Some(format!(
                "{label} returned zero roles; nobody was marked gone"
            ))
        } else if listed * 2 < active_before {
            Some(format!(
                "{label} returned {listed} roles, fewer than half of the {active_before} active before; nobody was marked gone",
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            errors.push("suspicious listing", reason);
            return Ok(Completeness::Suspicious);
        }
        // By the stored map's key: a board role's canonical id, which an
        // id stored with another case of its board name is not.
        let mut gone: Vec<&RoleSummary> = stored
            .iter()
            .filter(|(key, role)| role.active && !seen.contains(*key) && !unreadable.contains(*key))
            .map(|(_, role)| role)
            .collect();
        gone.sort_by(|a, b| a.id.cmp(&b.id));
        for role in gone {
            tx.mark_gone(&role.id, self.now)?;
            let change = FieldChange::new(
                ChangeKind::Disappeared,
                "status",
                Some("active".into()),
                Some("gone".into()),
            );
            tx.insert_change(&role.id, Some(self.run_id), self.now, &change)?;
            counts.gone += 1;
        }
        Ok(Completeness::Complete)
    }

    /// Records a problem per unreadable role (the first few; then a count)
    /// and returns the ids of those whose id could be read.
    fn note_unreadable(&self, list: &RoleList, errors: &mut SourceErrors) -> HashSet<String> {
        for role in list.unreadable.iter().take(MAX_UNREADABLE_NOTED) {
            let id = match &role.id {
                Some(id) => format!(" (id {})", shorten(id)),
                None => String::new(),
            };
            errors.push(
                "unreadable roles",
                format!(
                    "{}: skipped the role at position {}{id}: {}",
                    self.scope.source(),
                    role.position,
                    role.problem
                ),
            );
        }
        let named = list.unreadable.len().min(MAX_UNREADABLE_NOTED);
        if list.unreadable_count > named {
            errors.push(
                "unreadable roles",
                format!(
                    "{}: skipped {} more roles that could not be read",
                    self.scope.source(),
                    list.unreadable_count - named
                ),
            );
        }
        list.unreadable_ids
            .iter()
            .map(|id| format!("{}:{id}", self.scope.source()))
            .collect()
    }

    fn record_role(
        &self,
        tx: &StoreTx<'_>,
        role: &Listed<'_>,
        stored: Option<&RoleSummary>,
        counts: &mut RunCounts,
    ) -> Result<()> {
        // A role stored under an older spelling of its board keeps its id.
        let id = stored.map_or(role.id, |s| s.id.as_str());
        let (raw, raw_text) = (role.raw, role.text);
        let hash = role.content_hash.to_string();
        let raw_hash = text_hash(raw_text);
        let columns = match self.scope {
            Scope::Paraform => paraform_columns(raw, self.base_url),
            Scope::Board { kind, company, .. } => boards::columns(*kind, raw, company),
        };
        let write = RoleWrite {
            id,
            source: self.scope.source(),
            external_id: role.external_id,
            columns: &columns,
            content_hash: &hash,
            raw: raw_text,
            raw_hash: &raw_hash,
        };
        let Some(stored) = stored else {
            tx.insert_role(&write, self.now)?;
            tx.insert_version(id, self.run_id, self.now, &hash, raw_text)?;
            tx.insert_change(
                id,
                Some(self.run_id),
                self.now,
                &FieldChange {
                    kind: ChangeKind::New,
                    field: None,
                    old_value: None,
                    new_value: None,
                },
            )?;
            counts.new += 1;
            return Ok(());
        };
        // Closed as no longer followed and followed again: simply active
        // again (see `close_unfollowed`); gone from its board: back.
        if !stored.active && !stored.unfollowed {
            let change = FieldChange::new(
                ChangeKind::Reappeared,
                "status",
                Some("gone".into()),
                Some("active".into()),
            );
            tx.insert_change(id, Some(self.run_id), self.now, &change)?;
            counts.reappeared += 1;
        }
        let content_changed = stored.content_hash != hash;
        if content_changed {
            // An unreadable stored copy (edited by hand) compares as empty.
            let previous: Value = tx
                .stored_role(id)?
                .and_then(|p| serde_json::from_str(&p.raw).ok())
                .unwrap_or(Value::Null);
            tx.insert_version(id, self.run_id, self.now, &hash, raw_text)?;
            let changes = match self.scope {
                Scope::Paraform => diff(&previous, raw),
                Scope::Board { kind, .. } => boards::diff(*kind, &previous, raw),
            };
            for change in changes {
                tx.insert_change(id, Some(self.run_id), self.now, &change)?;
            }
            counts.changed += 1;
        }
        tx.update_role(&write, content_changed, self.now)
    }
}

/// A listed role being recorded: its ids, JSON, and text as received.
struct Listed<'a> {
    id: &'a str,
    external_id: &'a str,
    raw: &'a Value,
    text: &'a str,
    content_hash: &'a str,
}

/// Unreadable roles named one by one in a run's errors; the rest are counted.
const MAX_UNREADABLE_NOTED: usize = 10;

/// Lines one source may add to a run's errors; the rest are counted.
pub const MAX_ERRORS_PER_SOURCE: usize = 20;

/// One source's lines for the run's errors: the first
/// [`MAX_ERRORS_PER_SOURCE`] as they come, the rest counted by kind and
/// summed up in one closing line. A listing that repeats one id 20,000
/// times costs 21 lines in `runs.errors`, `status` and `health.json`.
struct SourceErrors {
    label: String,
    lines: Vec<String>,
    more: std::collections::BTreeMap<&'static str, u64>,
}

impl SourceErrors {
    fn new(label: &str) -> SourceErrors {
        SourceErrors {
            label: label.to_string(),
            lines: Vec::new(),
            more: Default::default(),
        }
    }

    /// `kind` names what the line is about ("repeated ids"), for the count.
    fn push(&mut self, kind: &'static str, line: String) {
        if self.lines.len() < MAX_ERRORS_PER_SOURCE {
            self.lines.push(line);
        } else {
            *self.more.entry(kind).or_default() += 1;
        }
    }

    fn into_lines(mut self) -> Vec<String> {
        if !self.more.is_empty() {
            let total: u64 = self.more.values().sum();
            let kinds: Vec<String> = self
                .more
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            self.lines.push(format!(
                "{}: and {total} more like this ({})",
                self.label,
                kinds.join(", ")
            ));
        }
        self.lines
    }
}

/// Scraped ids go into messages; keep a hostile one from flooding them.
fn shorten(text: &str) -> String {
    crate::text::terminal(text, 80)
}

#[cfg(test)]
mod board_scope_tests {
    use super::*;

    fn summary(id: &str, active: bool) -> RoleSummary {
        RoleSummary {
            id: id.into(),
            active,
            content_hash: "h".into(),
            raw_hash: None,
            detail_fetched_at: None,
            tier: None,
            trend: None,
            evaluation_key: None,
            evaluation_input: None,
            unfollowed: false,
        }
    }

    #[test]
    fn board_ids_are_compared_without_the_case_of_the_board_name() {
        let check = |id: &str, expected: Option<(&str, &str)>| {
            assert_eq!(
                canonical_board_id(id),
                expected.map(|(p, c)| (p.to_string(), c.to_string())),
                "{id}"
            );
        };
        check(
            "greenhouse:Acme/123",
            Some(("greenhouse:acme/", "greenhouse:acme/123")),
        );
        // The job id keeps its case.
        check(
            "lever:ACME-ai/AbC",
            Some(("lever:acme-ai/", "lever:acme-ai/AbC")),
        );
        check("paraform:abc", None);
    }

    #[test]
    fn a_role_stored_under_two_spellings_is_kept_once() {
        let stored = group_board_roles([
            summary("greenhouse:Acme/1", true),
            summary("greenhouse:acme/1", true),
            summary("greenhouse:Acme/2", true),
            summary("greenhouse:ACME/3", false),
            summary("greenhouse:Acme/3", true),
            summary("lever:globex/9", true),
        ]);
        let acme = &stored.by_board["greenhouse:acme/"];
        let kept = |canonical: &str| acme[canonical].id.as_str();
        // The canonical spelling wins; else the active one; the old id is kept.
        assert_eq!(kept("greenhouse:acme/1"), "greenhouse:acme/1");
        assert_eq!(kept("greenhouse:acme/2"), "greenhouse:Acme/2");
        assert_eq!(kept("greenhouse:acme/3"), "greenhouse:Acme/3");
        let duplicates: Vec<&str> = stored.duplicates.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(duplicates, ["greenhouse:ACME/3", "greenhouse:Acme/1"]);
        assert_eq!(stored.by_board["lever:globex/"].len(), 1);
    }
}

#[cfg(test)]
mod source_errors_tests {
    use super::*;

    #[test]
    fn a_source_names_twenty_lines_and_counts_the_rest_by_kind() {
        let mut lines = SourceErrors::new("lever board echo");
        for i in 0..30 {
            lines.push("repeated ids", format!("repeat {i}"));
        }
        lines.push("role details", "details failed".into());
        let lines = lines.into_lines();
        assert_eq!(lines.len(), MAX_ERRORS_PER_SOURCE + 1);
        assert_eq!(lines[0], "repeat 0");
        assert_eq!(
            lines[MAX_ERRORS_PER_SOURCE],
            "lever board echo: and 11 more like this (10 repeated ids, 1 role details)"
        );
        let mut few = SourceErrors::new("paraform");
        few.push("failure", "one".into());
        assert_eq!(few.into_lines(), vec!["one"]);
    }
}
