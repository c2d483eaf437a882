//! The speed and memory of the pipeline at scale, as a table:
//! `cargo bench --bench pipeline [-- ROLES ROUNDS]` (default 10000 roles, 4 rounds).
//!
//! Scrapes a simulated marketplace of ROLES roles on 127.0.0.1 (no politeness
//! delay), lets it evolve ROUNDS times, and builds the site after the last
//! round. Prints wall time, HTTP requests, database size and peak memory.

use std::time::Instant;

use air_demand::config::{Config, Env};
use air_demand::progress::Progress;
use air_demand::scrape::{ScrapeOptions, scrape};
use air_demand::sim::{SimOptions, Simulator};
use air_demand::store::Db;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let roles: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4);
    if let Err(err) = run(roles, rounds) {
        eprintln!("bench failed: {err:#}");
        std::process::exit(1);
    }
}

fn run(roles: usize, rounds: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let start = chrono::Utc::now() - chrono::Duration::hours(12 * rounds as i64);
    let sim = Simulator::start_in_thread(SimOptions {
        roles,
        now: start,
        ..SimOptions::default()
    })?;
    let mut config = Config {
        base_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.paraform.base_url = sim.base_url();
    config.paraform.request_delay_ms = 0;
    config.paraform.retry_base_ms = 50;
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
    air_demand::session::write_private(
        &config.session_file(),
        sim.storage_state_json(expires).as_bytes(),
    )?;
    let env = Env::isolated(&[]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    println!(
        "air-demand pipeline benchmark: {roles} roles, {rounds} rounds (loopback simulator, no politeness delay)\n"
    );
    println!(
        "{:<28} {:>9} {:>9} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "step", "seconds", "requests", "seen", "new", "changed", "db MB", "peak RSS MB"
    );
    for round in 1..=rounds {
        if round > 1 {
            sim.advance(chrono::Duration::hours(12));
        }
        let options = ScrapeOptions {
            trigger: "bench".into(),
            now: sim.now(),
            progress: Progress::hidden(),
        };
        let started = Instant::now();
        let report = runtime.block_on(scrape(&config, &env, &options))?;
        let db = Db::open(&config.database_path())?;
        println!(
            "{:<28} {:>9.2} {:>9} {:>8} {:>8} {:>8} {:>10.1} {:>10.0}",
            format!(
                "scrape round {round}{}",
                if round == 1 { " (cold)" } else { "" }
            ),
            started.elapsed().as_secs_f64(),
            report.counts.requests,
            report.counts.seen,
            report.counts.new,
            report.counts.changed,
            db.size_bytes() as f64 / 1e6,
            peak_rss_mb()
        );
    }
    let db = Db::open(&config.database_path())?;
    let started = Instant::now();
    let health = air_demand::schedule::health(&config, &env, &db, sim.now())?;
    let site = air_demand::site::build(&config, &db, sim.now(), &health)?;
    println!(
        "{:<28} {:>9.2} {:>9} {:>8} {:>8} {:>8} {:>10.1} {:>10.0}",
        format!("site build ({} files)", site.files),
        started.elapsed().as_secs_f64(),
        "-",
        site.roles,
        "-",
        "-",
        db.size_bytes() as f64 / 1e6,
        peak_rss_mb()
    );
    let site_bytes = dir_size(&site.dir);
    println!(
        "\nsite size: {:.1} MB; versions stored: {}; changes stored: {}",
        site_bytes as f64 / 1e6,
        db.count_rows("role_versions")?,
        db.count_rows("changes")?
    );
    Ok(())
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dir_size(&path)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}
