//! The operator's view: is it healthy? One `Health` value feeds `status`,
//! `status --json`, the site's health page and `health.json`.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::config::{Config, Env};
use crate::session::{SESSION_ENV, Session};
use crate::store::{Db, RunRow, RunStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Healthy,
    Degraded,
    Unhealthy,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Healthy => "healthy",
            Level::Degraded => "degraded",
            Level::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub status: Level,
    /// Why it is not healthy, one sentence each.
    pub problems: Vec<String>,
    pub checked_at: String,
    pub last_run: Option<RunRow>,
    pub last_run_age_hours: Option<f64>,
    pub last_ok_run_at: Option<String>,
    pub consecutive_failed_scrapes: u32,
    pub last_digest: Option<crate::store::DigestRow>,
    pub last_digest_age_hours: Option<f64>,
    pub session: SessionHealth,
    pub database: DatabaseHealth,
    pub next_scrape: Option<String>,
    pub next_digest: Option<String>,
    /// Model calls (`[llm]`): what the last run asked and spent, in all, and
    /// whether calls are failing.
    pub llm: LlmHealth,
    /// How the newest run that reached Paraform did it (`direct`, `browser`,
    /// `browser-after-challenge`), and what that means for people.
    pub paraform_fetch: Option<String>,
    pub paraform_fetch_note: Option<String>,
}

/// What `status` says of the way Paraform was last reached, when it is
/// worth saying: through the browser.
pub fn paraform_fetch_note(route: &str) -> Option<String> {
    match crate::fetch::paraform::Route::parse(route)? {
        crate::fetch::paraform::Route::Direct => None,
        crate::fetch::paraform::Route::Browser => Some(
            "the last run fetched through headless Chromium, as [paraform] fetch = \"browser\" asks".into(),
        ),
        crate::fetch::paraform::Route::BrowserAfterChallenge => Some(
            "Paraform asked for a browser on the last run (a challenge page instead of data), so it fetched through headless Chromium; nothing is wrong while that works".into(),
        ),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlmHealth {
    pub enabled: bool,
    pub last_run_calls: i64,
    pub last_run_tokens: i64,
    pub last_run_cost_usd: f64,
    pub total_calls: i64,
    pub total_tokens: i64,
    pub total_cost_usd: f64,
    /// Why the newest run that tried the model stopped calling (bad key,
    /// no credits); `None` while calls work.
    pub failing: Option<String>,
}

impl LlmHealth {
    fn check(config: &Config, db: &Db, runs: &[RunRow]) -> Result<LlmHealth> {
        let (total_calls, total_tokens, total_cost_usd) = db.llm_totals()?;
        let finished = runs.iter().find(|r| r.status != RunStatus::Running);
        // A quiet run asks nothing and so cannot tell whether calls work:
        // the newest run that tried (or was refused) speaks for them.
        let failing = runs
            .iter()
            .find(|r| r.llm_calls > 0 || r.llm_error.is_some())
            .and_then(|r| r.llm_error.clone())
            .filter(|_| config.llm.enabled);
        Ok(LlmHealth {
            enabled: config.llm.enabled,
            last_run_calls: finished.map_or(0, |r| r.llm_calls),
            last_run_tokens: finished.map_or(0, |r| r.llm_tokens),
            last_run_cost_usd: finished.map_or(0.0, |r| r.llm_cost_usd),
            total_calls,
            total_tokens,
            total_cost_usd,
            failing,
        })
    }
}

/// Where the Paraform session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    Ok,
    /// Expires within `[health] session_warning_days`.
    Expiring,
    Expired,
    Missing,
    /// The cookie carries no expiry.
    NoExpiry,
    /// The session file or variable cannot be read.
    Unreadable,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Ok => "ok",
            SessionState::Expiring => "expiring",
            SessionState::Expired => "expired",
            SessionState::Missing => "missing",
            SessionState::NoExpiry => "no-expiry",
            SessionState::Unreadable => "unreadable",
        }
    }

    /// Scrapes cannot work: unhealthy, an alert, and a warning in the digest.
    pub fn is_broken(self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::Missing | SessionState::Unreadable
        )
    }

    /// Broken, or about to be: the digest warns.
    pub fn needs_attention(self) -> bool {
        self.is_broken() || self == SessionState::Expiring
    }
}

impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionHealth {
    pub state: SessionState,
    pub expires_at: Option<String>,
    pub days_left: Option<i64>,
    /// One sentence for people.
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseHealth {
    pub path: String,
    pub bytes: u64,
    pub schema_version: i64,
    pub active_roles: i64,
}

/// The session's state, for health and the digest's warning.
pub fn session_health(config: &Config, env: &Env, now: DateTime<Utc>) -> SessionHealth {
    let session = match Session::load(&config.session_file(), env.var(SESSION_ENV)) {
        Ok(Some(session)) => session,
        Ok(None) => {
            return SessionHealth {
                state: SessionState::Missing,
                expires_at: None,
                days_left: None,
                message: "no Paraform session: run `air-demand session import FILE`".into(),
            };
        }
        Err(err) => {
            return SessionHealth {
                state: SessionState::Unreadable,
                expires_at: None,
                days_left: None,
                message: format!("{err:#}"),
            };
        }
    };
    let message = crate::session::describe_expiry(&session, now);
    let Some(at) = session.expires_at() else {
        return SessionHealth {
            state: SessionState::NoExpiry,
            expires_at: None,
            days_left: None,
            message,
        };
    };
    let days_left = (at - now).num_days();
    let state = if at <= now {
        SessionState::Expired
    } else if at - now < warning_span(config.health.session_warning_days) {
        SessionState::Expiring
    } else {
        SessionState::Ok
    };
    SessionHealth {
        state,
        expires_at: Some(crate::role::timestamp(at)),
        days_left: Some(days_left),
        message,
    }
}

/// `[health] session_warning_days` as a span; a number of days too large
/// for one (either way) means "always" or "never", not an overflow.
fn warning_span(days: i64) -> Duration {
    Duration::try_days(days).unwrap_or(if days < 0 {
        Duration::MIN
    } else {
        Duration::MAX
    })
}

/// The most error lines of the last run the report carries.
const MAX_ERRORS_SHOWN: usize = 100;

/// Gathers health from the database and the session.
pub fn check(config: &Config, env: &Env, db: &Db, now: DateTime<Utc>) -> Result<Health> {
    let runs = db.recent_runs(50)?;
    let finished: Vec<&RunRow> = runs
        .iter()
        .filter(|r| r.status != RunStatus::Running)
        .collect();
    let consecutive_failed_scrapes = finished
        .iter()
        .take_while(|r| r.status == RunStatus::Failed)
        .count() as u32;
    let last_ok = runs.iter().find(|r| r.status.is_good());
    // A run stored before errors were bounded per source may hold a
    // million lines: the report shows a page of them.
    let last_run = runs.first().cloned().map(|mut run| {
        if run.errors.len() > MAX_ERRORS_SHOWN {
            let more = run.errors.len() - MAX_ERRORS_SHOWN;
            run.errors.truncate(MAX_ERRORS_SHOWN);
            run.errors
                .push(format!("and {more} more lines (in runs.errors)"));
        }
        run
    });
    let paraform_fetch = runs.iter().find_map(|r| r.paraform_fetch.clone());
    let age = |at: &str| {
        DateTime::parse_from_rfc3339(at)
            .ok()
            .map(|t| (now - t.with_timezone(&Utc)).num_minutes() as f64 / 60.0)
    };
    let session = session_health(config, env, now);
    let mut problems: Vec<(Level, String)> = Vec::new();
    let limits = &config.health;
    match last_ok.and_then(|r| age(&r.started_at)) {
        None => problems.push((Level::Unhealthy, "no successful scrape yet".into())),
        Some(hours) if hours > limits.unhealthy_after_hours => problems.push((
            Level::Unhealthy,
            format!("no successful scrape for {hours:.0} hours"),
        )),
        Some(hours) if hours > limits.stale_after_hours => problems.push((
            Level::Degraded,
            format!("the last successful scrape is {hours:.0} hours old"),
        )),
        _ => {}
    }
    let last_digest = db.last_digest()?;
    if let Some(digest) = last_digest
        .as_ref()
        .filter(|d| d.status == crate::store::DigestStatus::Failed)
    {
        problems.push((
            Level::Degraded,
            format!(
                "the last digest failed: {}",
                digest.error.clone().unwrap_or_default()
            ),
        ));
    }
    if consecutive_failed_scrapes >= limits.alert_after_failed_scrapes {
        problems.push((
            Level::Degraded,
            format!("{consecutive_failed_scrapes} scrapes in a row failed"),
        ));
    }
    let llm = LlmHealth::check(config, db, &runs)?;
    if let Some(failing) = &llm.failing {
        problems.push((
            Level::Degraded,
            format!("model calls are failing: {failing}"),
        ));
    }
    if session.state.is_broken() {
        problems.push((Level::Unhealthy, session.message.clone()));
    } else if session.state.needs_attention() {
        problems.push((Level::Degraded, session.message.clone()));
    }
    let status = problems
        .iter()
        .map(|(level, _)| *level)
        .max()
        .unwrap_or(Level::Healthy);
    Ok(Health {
        status,
        problems: problems.into_iter().map(|(_, p)| p).collect(),
        checked_at: crate::role::timestamp(now),
        last_run_age_hours: last_run
            .as_ref()
            .and_then(|r| age(&r.started_at))
            .map(|h| (h * 10.0).round() / 10.0),
        last_run,
        last_ok_run_at: last_ok.map(|r| r.started_at.clone()),
        consecutive_failed_scrapes,
        last_digest_age_hours: last_digest
            .as_ref()
            .and_then(|d| age(&d.created_at))
            .map(|h| (h * 10.0).round() / 10.0),
        last_digest,
        session,
        database: DatabaseHealth {
            path: db
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            bytes: db.size_bytes(),
            schema_version: db.schema_version()?,
            active_roles: db.tier_counts()?.iter().map(|(_, n)| n).sum(),
        },
        // The scheduler knows these: `schedule::health` fills them in.
        next_scrape: None,
        next_digest: None,
        llm,
        paraform_fetch_note: paraform_fetch.as_deref().and_then(paraform_fetch_note),
        paraform_fetch,
    })
}

impl Health {
    /// The health with one more problem, at least at `level`.
    pub fn with_problem(mut self, level: Level, problem: String) -> Health {
        self.status = self.status.max(level);
        self.problems.push(problem);
        self
    }

    /// The health with the scheduler's next runs.
    pub fn with_next_runs(
        self,
        scrape: Option<DateTime<Utc>>,
        digest: Option<DateTime<Utc>>,
    ) -> Health {
        Health {
            next_scrape: scrape.map(crate::role::timestamp),
            next_digest: digest.map(crate::role::timestamp),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_session_is_unhealthy_alerts_and_warns_in_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            base_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let now = Utc::now();
        // No session at all, then a file that is not a storage state.
        assert_eq!(
            session_health(&config, &Env::isolated(&[]), now).state,
            SessionState::Missing
        );
        let file = config.session_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "not json").unwrap();
        let health = session_health(&config, &Env::isolated(&[]), now);
        assert_eq!(health.state, SessionState::Unreadable);
        for state in [
            SessionState::Expired,
            SessionState::Missing,
            SessionState::Unreadable,
        ] {
            assert!(state.is_broken() && state.needs_attention(), "{state}");
        }
        assert!(!SessionState::Expiring.is_broken());
        assert!(SessionState::Expiring.needs_attention());
        assert!(!SessionState::Ok.needs_attention());
        assert!(!SessionState::NoExpiry.needs_attention());
        assert_eq!(
            serde_json::to_value(SessionState::NoExpiry).unwrap(),
            "no-expiry"
        );
    }
}
