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
    let due = missed(&schedule, &Db::open(&db_path)?, SystemClock.now())?;
    if !due.is_empty() {
        tracing::info!(
            ?due,
            "catching up a slot missed while the scheduler was down"
        );
    }
    drive(&schedule, &SystemClock, &stop, due, async |job| {
        run_job(config, env, job, &stop).await
    })
    .await;
    Ok(())
}

/// Where the scheduler reads the time and waits: the system clock in
/// [`run`]; a simulated one in the unit tests, which check the decisions
/// (when each job fires, catch-up, no overlap, no burst) without waiting.
trait Clock {
    fn now(&self) -> DateTime<Utc>;
    /// Waits until `at`; returns early when `stop` changes.
    async fn sleep_until(&self, at: DateTime<Utc>, stop: &mut watch::Receiver<bool>);
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>, stop: &mut watch::Receiver<bool>) {
        let pause = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}

/// The scheduler's loop: runs `due` (the catch-up), then each job when its
/// slot comes, one at a time, until `stop` turns true. `run_job` runs one
/// job to its end (a failing job is its own business).
async fn drive(
    schedule: &Schedule,
    clock: &impl Clock,
    stop: &watch::Receiver<bool>,
    mut due: Vec<Job>,
    mut run_job: impl AsyncFnMut(Job),
) {
    let now = clock.now();
    let mut next_scrape = schedule.next(Job::Scrape, now);
    let mut next_digest = schedule.next(Job::Digest, now);
    tracing::info!(
        timezone = %schedule.tz,
        "scheduler started; next scrape {}, next digest {}",
        show(next_scrape),
        show(next_digest)
    );
    loop {
        for job in std::mem::take(&mut due) {
            if *stop.borrow() {
                break;
            }
            let started = clock.now();
            run_job(job).await;
            // The next slot counts from when this job started: a slot that
            // passed while it ran fires once, right after, never alongside.
            match job {
                Job::Scrape => next_scrape = schedule.next(Job::Scrape, started),
                Job::Digest => next_digest = schedule.next(Job::Digest, started),
            }
        }
        if *stop.borrow() {
            tracing::info!("stopping: signal received");
            return;
        }
        let wake = [next_scrape, next_digest].into_iter().flatten().min();
        let Some(wake) = wake else {
            tracing::warn!("the schedule has no scrape or digest times; waiting for a signal");
            wait_for_stop(stop.clone()).await;
            return;
        };
        tracing::info!(
            "next scrape {}, next digest {}",
            show(next_scrape),
            show(next_digest)
        );
        clock.sleep_until(wake, &mut stop.clone()).await;
        if *stop.borrow() {
            continue;
        }
        let now = clock.now();
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
    if db
        .last_digest()?
        .is_some_and(|d| d.status == crate::store::DigestStatus::Failed)
    {
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
    .await;
    if digest_recorded(&outcome) {
        refresh_site_health(config, env);
    }
    tracing::info!("digest: {:?}", outcome?);
    Ok(())
}

/// Whether a digest run left a new `digests` row (sent, or failed: a
/// failed send is recorded before it is returned as an error).
pub fn digest_recorded(outcome: &Result<crate::digest::DigestOutcome>) -> bool {
    matches!(
        outcome,
        Ok(crate::digest::DigestOutcome::Sent { .. }) | Err(_)
    )
}

/// Rewrites the published site's `health.json` and `health.html` (never
/// creating a site), so they tell of the digest before the next scrape. A
/// failure here is a warning: the digest is what mattered.
pub fn refresh_site_health(config: &Config, env: &Env) {
    let refreshed = || -> Result<Option<std::path::PathBuf>> {
        let path = config.database_path();
        if !path.exists() {
            return Ok(None);
        }
        let db = Db::open(&path)?;
        let now = Utc::now();
        let health = health(config, env, &db, now)?;
        crate::site::health_files::refresh(config, &db, now, &health)
    };
    match refreshed() {
        Ok(Some(dir)) => tracing::info!("health.json and health.html updated in {}", dir.display()),
        Ok(None) => {}
        Err(err) => {
            tracing::warn!("the site's health files still tell of the previous digest: {err:#}")
        }
    }
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

    /// A clock that jumps: sleeping moves it to the wake time at once, and
    /// a job moves it on by the job's duration.
    struct SimulatedClock(std::cell::Cell<DateTime<Utc>>);

    impl Clock for SimulatedClock {
        fn now(&self) -> DateTime<Utc> {
            self.0.get()
        }

        async fn sleep_until(&self, at: DateTime<Utc>, _stop: &mut watch::Receiver<bool>) {
            if at > self.0.get() {
                self.0.set(at);
            }
        }
    }

    /// The real loop ([`drive`]) on a simulated clock from `start`, `due`
    /// caught up first, the n-th job taking `millis(job, n)`, stopped (as
    /// by a signal) once `jobs` jobs ran. Returns each job with its start
    /// and end.
    async fn simulate(
        schedule: &Schedule,
        start: &str,
        due: Vec<Job>,
        jobs: usize,
        millis: impl Fn(Job, usize) -> i64,
    ) -> Vec<(Job, DateTime<Utc>, DateTime<Utc>)> {
        let clock = SimulatedClock(std::cell::Cell::new(at(start)));
        let (signal, stop) = watch::channel(false);
        let mut ran = Vec::new();
        drive(schedule, &clock, &stop, due, async |job| {
            let started = clock.now();
            let took = chrono::Duration::milliseconds(millis(job, ran.len()));
            clock.0.set(started + took);
            ran.push((job, started, clock.now()));
            if ran.len() == jobs {
                let _ = signal.send(true);
            }
        })
        .await;
        ran
    }

    fn starts(ran: &[(Job, DateTime<Utc>, DateTime<Utc>)]) -> Vec<(Job, DateTime<Utc>)> {
        ran.iter().map(|(job, start, _)| (*job, *start)).collect()
    }

    #[tokio::test]
    async fn slots_fire_on_time_after_one_catch_up() {
        let s = schedule(&["*/4 * * * * *"], &["2-59/10 * * * * *"], "UTC");
        let due = vec![Job::Scrape, Job::Digest];
        let ran = simulate(&s, "2025-12-19T09:00:01Z", due, 6, |_, _| 1000).await;
        use Job::{Digest, Scrape};
        assert_eq!(
            starts(&ran),
            vec![
                // The catch-up, at once, scrape first.
                (Scrape, at("2025-12-19T09:00:01Z")),
                (Digest, at("2025-12-19T09:00:02Z")),
                // Then each on its slot; a scrape first when both are due.
                (Scrape, at("2025-12-19T09:00:04Z")),
                (Scrape, at("2025-12-19T09:00:08Z")),
                (Scrape, at("2025-12-19T09:00:12Z")),
                (Digest, at("2025-12-19T09:00:13Z")),
            ]
        );
    }

    #[tokio::test]
    async fn a_slow_scrape_delays_the_next_without_overlap_or_burst() {
        let s = schedule(&["*/2 * * * * *"], &[], "UTC");
        // The first scrape takes 6 s, over two slots; the others 0.5 s.
        let took = |_, n| if n == 0 { 6000 } else { 500 };
        let ran = simulate(&s, "2025-12-19T09:00:01Z", vec![], 4, took).await;
        for pair in ran.windows(2) {
            assert!(pair[1].1 >= pair[0].2, "overlap: {ran:?}");
        }
        // The missed slots fire once, right after it; then on the slots.
        assert_eq!(
            starts(&ran),
            vec![
                (Job::Scrape, at("2025-12-19T09:00:02Z")),
                (Job::Scrape, at("2025-12-19T09:00:08Z")),
                (Job::Scrape, at("2025-12-19T09:00:10Z")),
                (Job::Scrape, at("2025-12-19T09:00:12Z")),
            ]
        );
    }

    #[tokio::test]
    async fn a_scrape_runs_before_a_digest_due_at_the_same_time() {
        let s = schedule(&["0 5 * * *"], &["0 5 * * *"], "UTC");
        let ran = simulate(&s, "2025-12-19T04:59:00Z", vec![], 2, |_, _| 600_000).await;
        assert_eq!(
            starts(&ran),
            vec![
                (Job::Scrape, at("2025-12-19T05:00:00Z")),
                (Job::Digest, at("2025-12-19T05:10:00Z")),
            ]
        );
    }

    #[tokio::test]
    async fn a_signal_stops_before_the_next_job() {
        let s = schedule(&["* * * * *"], &["* * * * *"], "UTC");
        let due = vec![Job::Scrape, Job::Digest];
        let ran = simulate(&s, "2025-12-19T09:00:30Z", due, 1, |_, _| 1000).await;
        assert_eq!(
            starts(&ran),
            vec![(Job::Scrape, at("2025-12-19T09:00:30Z"))]
        );
    }

    #[test]
    fn a_slot_missed_while_down_is_due_once() {
        let s = schedule(&["* * * * *"], &[], "UTC");
        let db = Db::open_in_memory().unwrap();
        let now = at("2025-12-19T09:00:30Z");
        // Never ran: the last slot is due.
        assert_eq!(missed(&s, &db, now).unwrap(), vec![Job::Scrape]);
        // Last ran two minutes ago: two slots passed, one catch-up.
        db.start_run(at("2025-12-19T08:58:30Z"), "manual").unwrap();
        assert_eq!(missed(&s, &db, now).unwrap(), vec![Job::Scrape]);
        // Ran since the last slot: nothing is due.
        db.start_run(at("2025-12-19T09:00:10Z"), "manual").unwrap();
        assert_eq!(missed(&s, &db, now).unwrap(), vec![]);
        // No digest was ever sent: its last slot is due.
        let both = schedule(&["* * * * *"], &["0 6 * * *"], "UTC");
        assert_eq!(missed(&both, &db, now).unwrap(), vec![Job::Digest]);
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
