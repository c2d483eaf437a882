//! The scheduler's jobs run by hand: `scrape` (then the site) and `digest`,
//! each reporting what it did in one line and an exit code.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::Utc;

use crate::config::{Config, Env};
use crate::logs::{Level, LogFormat};
use crate::progress::Progress;
use crate::scrape::{RunStatus, ScrapeOptions};
use crate::store::Db;

/// `scrape`: one run, then the site; exit 0 ok, 3 partial, 1 failed.
pub async fn scrape(
    config: &Config,
    env: &Env,
    log_format: LogFormat,
    with_site: bool,
) -> Result<ExitCode> {
    let options = ScrapeOptions {
        trigger: "manual".into(),
        now: Utc::now(),
        progress: Progress::new(log_format == LogFormat::Text),
    };
    let report = crate::scrape::scrape(config, env, &options).await?;
    tell!("{}", report.summary_line())?;
    let level = if report.status == RunStatus::Failed {
        Level::Error
    } else {
        Level::Warn
    };
    for error in &report.errors {
        crate::logs::line(level, error);
    }
    if with_site {
        let db = Db::open(&config.database_path())?;
        let now = Utc::now();
        let built = crate::schedule::health(config, env, &db, now)
            .and_then(|health| crate::site::build(config, &db, now, &health))
            .context("the run was stored, but building the site failed")?;
        tell!("{}", built.summary_line())?;
    }
    Ok(match report.status {
        RunStatus::Ok => ExitCode::SUCCESS,
        RunStatus::Partial => ExitCode::from(3),
        RunStatus::Failed | RunStatus::Running => ExitCode::FAILURE,
    })
}

/// `digest`: send (or print, or write) the digest; exit 1 when sending failed.
pub async fn digest(
    config: &Config,
    env: &Env,
    options: &crate::digest::DigestOptions,
) -> Result<ExitCode> {
    use crate::digest::DigestOutcome;
    let outcome = crate::digest::run(config, env, options, Utc::now()).await;
    let recording = !options.dry_run && options.out.is_none();
    if recording && crate::schedule::digest_recorded(&outcome) {
        crate::schedule::refresh_site_health(config, env);
    }
    match outcome? {
        DigestOutcome::Sent {
            id,
            subject,
            transport,
            detail,
        } => tell!("digest {id} sent via {transport}: {subject}; {detail}")?,
        DigestOutcome::AlreadySent { sent_at, subject } => tell!(
            "today's digest was already sent at {sent_at} ({subject}); --force sends another"
        )?,
        DigestOutcome::SkippedEmpty => {
            tell!("nothing new since the last digest; not sent ([digest] send_empty = false)")?
        }
        DigestOutcome::Busy => {
            tell!("another air-demand is sending this period's digest right now; nothing to do")?
        }
        DigestOutcome::Printed => {}
        DigestOutcome::Written(path) => tell!("wrote {}", path.display())?,
    }
    Ok(ExitCode::SUCCESS)
}
