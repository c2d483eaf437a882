//! `run`: the long-running scheduler. Fires the `[schedule]` cron
//! expressions in the configured time zone — scrape (then the site), and the
//! digest — one job at a time, catches up a slot missed while it was down
//! (once), and on SIGTERM/SIGINT stops taking work, lets the job in progress
//! finish or roll back, and exits cleanly.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use tokio::sync::watch;

use crate::config::{Config, Env};
use crate::health::Health;
use crate::progress::Progress;
use crate::scrape::ScrapeOptions;
use crate::store::Db;

/// The parsed `[schedule]`.
pub struct Schedule {
    scrape: Vec<Cron>,
    digest: Vec<Cron>,
    tz: Tz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Scrape,
    Digest,
}

/// The health report with this schedule's next runs: what `status` and the
/// site show. (Health itself knows nothing of the scheduler.)
pub fn health(config: &Config, env: &Env, db: &Db, now: DateTime<Utc>) -> Result<Health> {
    let schedule = Schedule::from_config(config).ok();
    let next = |job| schedule.as_ref().and_then(|s| s.next(job, now));
    Ok(crate::health::check(config, env, db, now)?
        .with_next_runs(next(Job::Scrape), next(Job::Digest)))
}

impl Schedule {
    /// Parses every expression (5 fields; a 6th leading seconds field is
    /// accepted too); an invalid one is an error that quotes it.
    pub fn from_config(config: &Config) -> Result<Schedule> {
        let crons =
            |lines: &[crate::config::CronLine]| lines.iter().map(|l| l.cron.clone()).collect();
        Ok(Schedule {
            scrape: crons(&config.schedule.scrape),
            digest: crons(&config.schedule.digest),
            tz: config.schedule.timezone,
        })
    }

    fn crons(&self, job: Job) -> &[Cron] {
        match job {
            Job::Scrape => &self.scrape,
            Job::Digest => &self.digest,
        }
    }

    /// The first slot strictly after `after`.
    pub fn next(&self, job: Job, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.tz);
        self.crons(job)
            .iter()
            .filter_map(|cron| cron.find_next_occurrence(&local, false).ok())
            .map(|t| t.with_timezone(&Utc))
            .min()
    }

    /// The last slot at or before `at`.
    pub fn previous(&self, job: Job, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.tz);
        self.crons(job)
            .iter()
            .filter_map(|cron| cron.find_previous_occurrence(&local, true).ok())
            .map(|t| t.with_timezone(&Utc))
            .max()
    }
}

/// Jobs whose latest slot passed while nothing ran: each at most once.
pub fn missed(schedule: &Schedule, db: &Db, now: DateTime<Utc>) -> Result<Vec<Job>> {
    let mut due = Vec::new();
    if let Some(slot) = schedule.previous(Job::Scrape, now) {
        let last_start = db.recent_runs(1)?.first().map(|r| r.started_at.clone());
        if last_start.is_none_or(|at| at < crate::role::timestamp(slot)) {
            due.push(Job::Scrape);
        }
    }
    if let Some(slot) = schedule.previous(Job::Digest, now) {
        let last_sent = db.last_sent_digest()?.map(|d| d.created_at);
        if last_sent.is_none_or(|at| at < crate::role::timestamp(slot)) {
            due.push(Job::Digest);
        }
    }
    Ok(due)
}

/// Runs until SIGTERM or SIGINT; returns Ok when stopped by a signal.
pub async fn run(config: &Config, env: &Env) -> Result<()> {
    let schedule = Schedule::from_config(config)?;
    let db_path = config.database_path();
    let stop = stop_signal()?;
    let now = Utc::now();
    let mut due = missed(&schedule, &Db::open(&db_path)?, now)?;
    if !due.is_empty() {
        tracing::info!(
            ?due,
            "catching up a slot missed while the scheduler was down"
        );
    }
    let mut next_scrape = schedule.next(Job::Scrape, now);
    let mut next_digest = schedule.next(Job::Digest, now);
    tracing::info!(
        timezone = %config.schedule.timezone,
        "scheduler started; next scrape {}, next digest {}",
        show(next_scrape),
        show(next_digest)
    );
    loop {
        for job in std::mem::take(&mut due) {
            if *stop.borrow() {
                break;
            }
            let started = Utc::now();
            run_job(config, env, job, &stop).await;
            // The next slot counts from when this job started: a slot that
            // passed while it ran fires once, right after, never alongside.
            match job {
                Job::Scrape => next_scrape = schedule.next(Job::Scrape, started),
                Job::Digest => next_digest = schedule.next(Job::Digest, started),
            }
        }
        if *stop.borrow() {
            tracing::info!("stopping: signal received");
            return Ok(());
        }
        let wake = [next_scrape, next_digest].into_iter().flatten().min();
        let Some(wake) = wake else {
            tracing::warn!("the schedule has no scrape or digest times; waiting for a signal");
            wait_for_stop(stop.clone()).await;
            return Ok(());
        };
        tracing::info!(
            "next scrape {}, next digest {}",
            show(next_scrape),
            show(next_digest)
        );
        let pause = (wake - Utc::now()).to_std().unwrap_or_default();
        let mut stopping = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopping.changed() => continue,
        }
        let now = Utc::now();
        // A scrape before a digest due at the same time: the digest reports it.
        if next_scrape.is_some_and(|t| t <= now) {
            due.push(Job::Scrape);
        }
        if next_digest.is_some_and(|t| t <= now) {
            due.push(Job::Digest);
        }
    }
}

fn show(at: Option<DateTime<Utc>>) -> String {
    at.map(crate::role::timestamp)
        .unwrap_or_else(|| "never".into())
}

/// One job, its errors logged (a failing job never stops the scheduler),
/// then the alert check.
async fn run_job(config: &Config, env: &Env, job: Job, stop: &watch::Receiver<bool>) {
    let outcome = match job {
        Job::Scrape => scrape_job(config, env, stop).await,
        Job::Digest => digest_job(config, env).await,
    };
    if let Err(err) = outcome {
        tracing::error!("{job:?} failed: {err:#}");
    }
    if *stop.borrow() {
        return;
    }
    match crate::alerts::check_and_notify(config, env, Utc::now()).await {
        Ok(0) => {}
        Ok(sent) => tracing::info!(sent, "alert messages sent"),
        Err(err) => tracing::error!("checking alerts failed: {err:#}"),
    }
}

async fn scrape_job(config: &Config, env: &Env, stop: &watch::Receiver<bool>) -> Result<()> {
    let options = ScrapeOptions {
        trigger: "schedule".into(),
        now: Utc::now(),
        progress: Progress::hidden(),
    };
    let mut stopping = stop.clone();
    let report = tokio::select! {
        report = crate::scrape::scrape(config, env, &options) => report?,
        _ = stopping.changed() => {
            // The scrape was still fetching (its writes happen in one
            // transaction at the end, never interrupted): nothing was
            // stored; close its run row.
            let db = Db::open(&config.database_path())?;
            db.fail_abandoned_runs(Utc::now())?;
            tracing::warn!("scrape stopped by a signal before storing anything");
            return Ok(());
        }
    };
    tracing::info!("{}", report.summary_line());
    for error in &report.errors {
        tracing::warn!("{error}");
    }
    let db = Db::open(&config.database_path())?;
    let now = Utc::now();
    let site = health(config, env, &db, now)
        .and_then(|health| crate::site::build(config, &db, now, &health))
        .context("building the site")?;
    tracing::info!(roles = site.roles, "site rebuilt at {}", site.dir.display());
    // A digest that failed earlier goes out with the next tick.
    if db.last_digest()?.is_some_and(|d| d.status == "failed") {
        digest_job(config, env).await?;
    }
    Ok(())
}

async fn digest_job(config: &Config, env: &Env) -> Result<()> {
    let outcome = crate::digest::run(
        config,
        env,
        &crate::digest::DigestOptions::default(),
        Utc::now(),
    )
    .await?;
    tracing::info!("digest: {outcome:?}");
    Ok(())
}

/// A flag that turns true on SIGTERM or SIGINT.
fn stop_signal() -> Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            let _ = tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    Ok(rx)
}

async fn wait_for_stop(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(scrape: &[&str], digest: &[&str], tz: &str) -> Schedule {
        let mut config = Config::default();
        config.schedule.scrape = crate::config::cron_lines(scrape);
        config.schedule.digest = crate::config::cron_lines(digest);
        config.schedule.timezone = tz.parse().unwrap();
        Schedule::from_config(&config).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn next_and_previous_slots_in_the_time_zone() {
        let s = schedule(
            &["0 5 * * *", "0 17 * * *"],
            &["0 6 * * *"],
            "America/New_York",
        );
        // 05:00 in New York in December is 10:00 UTC.
        assert_eq!(
            s.next(Job::Scrape, at("2025-12-19T09:00:00Z")),
            Some(at("2025-12-19T10:00:00Z"))
        );
        assert_eq!(
            s.next(Job::Scrape, at("2025-12-19T10:00:00Z")),
            Some(at("2025-12-19T22:00:00Z"))
        );
        assert_eq!(
            s.previous(Job::Scrape, at("2025-12-19T10:00:00Z")),
            Some(at("2025-12-19T10:00:00Z"))
        );
        assert_eq!(
            s.previous(Job::Digest, at("2025-12-19T10:59:00Z")),
            Some(at("2025-12-18T11:00:00Z"))
        );
    }

    #[test]
    fn seconds_field_is_accepted_and_bad_text_is_named() {
        let s = schedule(&["*/5 * * * * *"], &[], "UTC");
        assert_eq!(
            s.next(Job::Scrape, at("2025-12-19T09:00:01Z")),
            Some(at("2025-12-19T09:00:05Z"))
        );
        assert_eq!(s.next(Job::Digest, at("2025-12-19T09:00:01Z")), None);
        // A bad line never reaches the scheduler: reading the config refuses it.
        let err = Config::parse("[schedule]\nscrape = [\"0 25 * * *\"]\n", "a.toml".as_ref())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.toml line 2") && err.contains("\"0 25 * * *\""),
            "{err}"
        );
    }
}
