//! One scrape run, as one pass: load → plan → fetch → prepare (and ask) →
//! record.
//!
//! - load: the stored summaries of every role, one query;
//! - plan ([`plan`]): pure; which listed roles are quiet (seen, nothing
//!   else), which are worth a detail call, whether a verdict stands;
//! - fetch ([`sources`]): every source's listing, then the details wanted;
//! - prepare ([`prepare`]): the verdict of each role whose inputs moved,
//!   computed once, a batch at a time; with `[llm]` on this is the model
//!   phase, with the writer lock let go;
//! - record ([`record`]): everything in one transaction, the verdicts as
//!   prepared, and the run's row.
//!
//! Nothing climbs back up: record reads no detail, and no stage evaluates
//! what another did.

mod plan;
mod prepare;
mod record;
mod sources;

use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::assess::rules_key;
use crate::config::{Config, Env};
use crate::fetch::FetchError;
use crate::fetch::paraform::{self, RoleList, Route};
use crate::lock::WriterLock;
use crate::progress::Progress;
use crate::spool::SpooledTexts;
use crate::store::{Db, RunCounts};

pub use record::MAX_ERRORS_PER_SOURCE;

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
    let evaluations = crate::evaluate::evaluations();
    let run_id = db.start_run(options.now, &options.trigger)?;
    let stored = db.role_summaries(Some(paraform::SOURCE))?;
    let stored_boards = record::board_summaries(&db)?;
    let plan = plan::Plan {
        stored: &stored,
        rules_key: rules_key(&rules),
        model_settings: config
            .llm
            .enabled
            .then(|| crate::llm::enrich::settings_key(&config.llm)),
        now: options.now,
    };
    let fetches = sources::fetch_sources(
        config,
        env,
        options,
        &db,
        &plan,
        &rules,
        &stored_boards.active_careers(),
    )
    .await;
    let progress = &options.progress;
    // The model phase may take minutes ([llm] max_run_secs): other writers
    // (requalify, a manual scrape) go on meanwhile, and this run records
    // only if no other run did in between.
    let (prepared, _lock) = if config.llm.enabled {
        let asking = WriterLock::acquire_asking(&db_path)?;
        drop(lock);
        let prepared = prepare::prepare(
            config,
            env,
            &db,
            &plan,
            &fetches,
            &rules,
            progress,
            options.now,
        )
        .await;
        let lock = relock(&db, &db_path, run_id, options.now).await?;
        drop(asking);
        (prepared, lock)
    } else {
        let prepared = prepare::prepare(
            config,
            env,
            &db,
            &plan,
            &fetches,
            &rules,
            progress,
            options.now,
        )
        .await;
        (prepared, lock)
    };
    let recorded = prepared.and_then(|prepared| {
        options.progress.step("storing roles");
        tracing::debug!(
            evaluated = crate::evaluate::evaluations() - evaluations,
            "verdicts computed"
        );
        let run = record::RunContext {
            config,
            run_id,
            now: options.now,
            started,
            prepared: &prepared,
        };
        record::record_run(&mut db, &run, &fetches, &stored, &stored_boards)
    });
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

/// What a fetch covers: Paraform's whole listing, or one company board (a
/// board API's, or a careers page's, whose `board` is its host).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scope {
    Paraform,
    Board {
        kind: crate::company::Board,
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
            Scope::Board { kind, board, .. } => {
                crate::role::RoleId::board_prefix(kind.source(), board)
            }
        }
    }

    /// For messages: `paraform`, `greenhouse board acme`.
    fn label(&self) -> String {
        match self {
            Scope::Paraform => paraform::SOURCE.to_string(),
            Scope::Board {
                kind: crate::company::Board::Careers,
                board,
                ..
            } => format!("careers page at {board}"),
            Scope::Board { kind, board, .. } => format!("{} board {board}", kind.source()),
        }
    }
}

/// What one source returned.
pub(crate) struct SourceFetch {
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
    /// What a careers site's pages answered, kept with its roles.
    pages: Vec<crate::fetch::careers::PageUpdate>,
}

/// Scraped ids go into messages; keep a hostile one from flooding them.
fn shorten(text: &str) -> String {
    crate::text::terminal(text, 80)
}
