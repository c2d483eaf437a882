//! `demo`: the whole pipeline against the built-in simulated marketplace,
//! offline, in a few seconds. Each round the marketplace evolves and a scrape
//! records what changed; two rounds misbehave on purpose to show that a
//! rate limit is retried and an empty answer loses nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;

use crate::config::{Config, Env, ParaformConfig};
use crate::evaluate::Tier;
use crate::progress::Progress;
use crate::scrape::{ScrapeOptions, scrape};
use crate::session::{self, Session};
use crate::sim::{Fault, SimOptions, Simulator, Target};
use crate::store::Db;
use crate::track::ChangeKind;

pub struct DemoOptions {
    pub dir: PathBuf,
    pub rounds: u32,
    pub seed: u64,
    /// Model-assisted intel against the simulator's model endpoint.
    pub llm: bool,
}

/// The demo briefs QUALIFIED roles from this combined score (the default is 0.80).
const DEMO_BRIEFING_MIN_SCORE: f64 = 0.70;

/// Simulated time between two rounds, like the default schedule.
const ROUND_SPACING_HOURS: i64 = 12;

pub async fn demo(options: &DemoOptions) -> Result<()> {
    let rounds = options.rounds.max(1);
    let spacing = chrono::Duration::hours(ROUND_SPACING_HOURS);
    let start = Utc::now() - spacing * (rounds as i32 - 1);
    let sim = Simulator::start(SimOptions {
        seed: options.seed,
        now: start,
        boards: true,
        ..SimOptions::default()
    })
    .await
    .context("starting the simulated marketplace")?;
    let mut config = demo_config(&options.dir, &sim);
    if options.llm {
        // The simulator answers as an OpenAI-compatible model would, offline.
        config.llm.enabled = true;
        config.llm.base_url = format!("{}/v1", sim.base_url());
        // A local simulator: retried as quickly as its Paraform and boards.
        config.llm.retry_base_ms = 200;
        // Few simulated roles reach the default 0.80; show a handful of briefings.
        config.llm.briefing_min_score = DEMO_BRIEFING_MIN_SCORE;
    }
    fresh_database(&config.database_path())?;
    install_session(&config, &sim)?;
    let env = Env::isolated(&[]);
    let lists = config.rules()?.lists;
    println!(
        "Simulated Paraform on {} (seed {}); {rounds} scrape round{} {ROUND_SPACING_HOURS} hours apart.\n",
        sim.base_url(),
        options.seed,
        if rounds == 1 { "" } else { "s" }
    );

    for round in 1..=rounds {
        if round > 1 {
            sim.advance(spacing);
        }
        let note = misbehave(&sim, round, rounds);
        let report = scrape(
            &config,
            &env,
            &ScrapeOptions {
                trigger: "demo".into(),
                now: sim.now(),
                progress: Progress::hidden(),
            },
        )
        .await?;
        println!(
            "Round {round} ({}): {}",
            sim.now().format("%b %d %H:%M"),
            report.summary_line()
        );
        if let Some(note) = note {
            println!("  ({note})");
        }
        for error in &report.errors {
            println!("  ! {error}");
        }
        let db = Db::open(&config.database_path())?;
        if options.llm
            && let Some(run) = db.run(report.run_id)?
        {
            println!(
                "  model: {} calls, {} tokens, ${:.4}{}",
                run.llm_calls,
                run.llm_tokens,
                run.llm_cost_usd,
                if run.llm_calls == 0 {
                    " (every answer came from the cache)"
                } else {
                    ""
                }
            );
        }
        print_changes(&db, report.run_id, &lists)?;
        let tiers: Vec<String> = db
            .tier_counts()?
            .iter()
            .map(|(tier, n)| match tier {
                Some(tier) => format!("{tier} {n}"),
                None => format!("not evaluated {n}"),
            })
            .collect();
        println!("  active roles by tier: {}", tiers.join(", "));
        println!();
    }
    let db = Db::open(&config.database_path())?;
    print_top_roles(&db)?;
    if options.llm {
        print_a_briefing(&db)?;
    }
    let site = crate::schedule::health(&config, &env, &db, sim.now())
        .and_then(|health| crate::site::build(&config, &db, sim.now(), &health))
        .context("building the demo site")?;
    let outbox = config.outbox();
    if outbox.exists() {
        // Each demo starts afresh; the outbox holds only demo digests.
        std::fs::remove_dir_all(&outbox)
            .with_context(|| format!("clearing {}", outbox.display()))?;
    }
    let digest = crate::digest::run(
        &config,
        &env,
        &crate::digest::DigestOptions::default(),
        sim.now(),
    )
    .await
    .context("writing the demo digest")?;
    if let crate::digest::DigestOutcome::Sent {
        detail, subject, ..
    } = digest
    {
        println!("Digest:   \"{subject}\" {detail}");
    }
    println!(
        "Site:     {} ({} role pages); open {} in a browser",
        site.dir.display(),
        site.roles,
        site.dir.join("index.html").display()
    );

    let db_path = config.database_path();
    println!("Database: {}", db_path.display());
    println!(
        "Try:      sqlite3 {} 'select kind, count(*) from changes group by 1'",
        db_path.display()
    );
    println!(
        "          cargo run --release -- --config {} roles",
        demo_config_path(&options.dir).display()
    );
    std::fs::write(
        demo_config_path(&options.dir),
        demo_config_toml(&options.dir, options.llm),
    )
    .context("writing the demo config")?;
    Ok(())
}

/// Two rounds go wrong on purpose: a rate limit (retried, the run is fine)
/// and an empty answer (the run is partial and nobody is marked gone).
fn misbehave(sim: &Simulator, round: u32, rounds: u32) -> Option<&'static str> {
    if round == 2 {
        sim.inject(
            Target::List,
            Fault::RateLimited {
                retry_after_secs: 1,
            },
            1,
        );
        return Some(
            "the marketplace answered 429 Too Many Requests first; the scrape waited and retried",
        );
    }
    if rounds >= 4 && round == rounds - 1 {
        sim.inject(Target::List, Fault::EmptyList, 1);
        return Some("the marketplace answered with an empty list; every role stays active");
    }
    None
}

fn print_changes(db: &Db, run_id: i64, lists: &crate::rules::Lists) -> Result<()> {
    let changes = db.changes_in_run(run_id)?;
    if changes.is_empty() {
        println!("  no changes");
        return Ok(());
    }
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for change in &changes {
        *by_kind.entry(change.kind.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = by_kind
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    println!("  changes: {}", counts.join(", "));
    for change in changes.iter().filter(|c| c.kind != ChangeKind::New).take(6) {
        let values = crate::vocab::terminal_line(
            lists,
            change.kind,
            change.field.as_deref(),
            change.old_value.as_deref(),
            change.new_value.as_deref(),
        );
        println!(
            "    {:<18} {} — {} ({}){values}",
            change.kind,
            crate::text::terminal(change.company.as_deref().unwrap_or("-"), 28),
            crate::text::terminal(change.title.as_deref().unwrap_or("-"), 40),
            crate::vocab::source(&change.role_id)
        );
    }
    Ok(())
}

fn print_top_roles(db: &Db) -> Result<()> {
    let filter = crate::store::RoleFilter {
        include_gone: false,
        tier: Some(Tier::Qualified),
        limit: Some(5),
    };
    println!("Top qualified roles:");
    for role in db.list_roles(&filter)? {
        println!(
            "  {:.2}  {} — {}  ({}%, up to {}){}",
            role.combined_score.unwrap_or_default(),
            crate::text::terminal(role.company.as_deref().unwrap_or("-"), 28),
            crate::text::terminal(role.title.as_deref().unwrap_or("-"), 40),
            role.fee_percent
                .map(crate::role::format_number)
                .unwrap_or_else(|| "-".into()),
            crate::views::salary(None, Some(role.salary_max.unwrap_or_default())).0,
            role.trend.map(|t| format!("  [{t}]")).unwrap_or_default()
        );
    }
    println!("  (why: `roles --explain ID`)\n");
    Ok(())
}

/// The best role's briefing, shortened: what `brief ID` prints in full.
fn print_a_briefing(db: &Db) -> Result<()> {
    let filter = crate::store::RoleFilter {
        include_gone: false,
        tier: Some(Tier::Qualified),
        limit: Some(50),
    };
    let briefings = db.briefings()?;
    let (totals_calls, totals_tokens, totals_cost) = db.llm_totals()?;
    println!(
        "Model, all rounds: {totals_calls} calls, {totals_tokens} tokens, ${totals_cost:.4} at the simulator's prices; {} briefing{} (QUALIFIED roles from {DEMO_BRIEFING_MIN_SCORE:.2})",
        briefings.len(),
        if briefings.len() == 1 { "" } else { "s" }
    );
    for role in db.list_roles(&filter)? {
        let Some(briefing) = briefings
            .get(&role.id)
            .and_then(|a| a.answer.as_deref())
            .and_then(|a| serde_json::from_str::<crate::llm::Briefing>(a).ok())
        else {
            continue;
        };
        println!(
            "Briefing of {} — {} (model-written; gaps marked ?):",
            crate::text::terminal(role.company.as_deref().unwrap_or("-"), 28),
            crate::text::terminal(role.title.as_deref().unwrap_or("-"), 40)
        );
        for line in briefing.terminal_lines().iter().take(14) {
            if line.is_empty() {
                println!();
            } else {
                println!("  {line}");
            }
        }
        println!("  … the whole of it: `brief {}`\n", role.id);
        break;
    }
    Ok(())
}

fn demo_config(dir: &Path, sim: &Simulator) -> Config {
    let mut config = Config {
        base_dir: PathBuf::from("."),
        ..Config::default()
    };
    config.database.path = dir.join("demo.sqlite");
    config.site.dir = dir.join("demo-site");
    config.paraform.base_url = sim.base_url();
    // Links must work after the demo exits, when the simulator is gone: role
    // links name paraform.com (the ids, `clsim…`, are clearly made up) and
    // the digest links to the role pages of the generated site.
    config.paraform.link_base_url = Some(ParaformConfig::default().base_url);
    config.site.base_url = site_base_url(&config.site.dir);
    config.paraform.session_file = dir.join("demo_session.json");
    config.paraform.request_delay_ms = 20;
    config.paraform.retry_base_ms = 200;
    config.digest.transport = crate::config::Transport::File;
    config.digest.outbox = dir.join("demo-outbox");
    // The simulator's made-up company boards, one on each API, followed.
    sim.point_boards(&mut config.boards);
    config.boards.request_delay_ms = 20;
    config.boards.retry_base_ms = 200;
    for board in sim.generated_boards() {
        let mut company = crate::config::CompanyConfig {
            name: board.company,
            ..Default::default()
        };
        company.set_board(board.kind, board.board);
        config.companies.push(company);
    }
    // And its made-up careers page (schema.org JobPostings in an ItemList),
    // by the name `localhost`: the site shows a careers page's address, and
    // none of the demo's pages names the simulator's loopback address.
    for site in sim.generated_careers() {
        let url = sim
            .careers_url(&site.site)
            .replacen("127.0.0.1", "localhost", 1);
        config.companies.push(crate::config::CompanyConfig {
            name: site.company,
            careers: Some(url),
            ..Default::default()
        });
    }
    config
}

/// The demo site as a `file://` URL, so that links in the digest open the
/// generated pages.
fn site_base_url(site_dir: &Path) -> String {
    let absolute = std::path::absolute(site_dir).unwrap_or_else(|_| site_dir.to_path_buf());
    let path = absolute.to_string_lossy().replace('\\', "/");
    let path = path.trim_end_matches('/');
    let encoded = percent_encoding::utf8_percent_encode(path, PATH).to_string();
    if encoded.starts_with('/') {
        format!("file://{encoded}/")
    } else {
        format!("file:///{encoded}/")
    }
}

/// What a path keeps unescaped in a `file://` URL.
const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

fn demo_config_path(dir: &Path) -> PathBuf {
    dir.join("demo.toml")
}

/// A config for looking at the demo's results with the other commands; it
/// points at the demo database (the simulator is gone once the demo ends).
fn demo_config_toml(dir: &Path, llm: bool) -> String {
    let llm = if llm {
        "\n# The demo's model answers are in the database (the simulator's model is gone):\n# `brief ID` and `roles --explain ID` show them; `--regenerate` would need a real model.\n[llm]\nenabled = true\n"
    } else {
        ""
    };
    format!(
        "# Written by `air-demand demo`: look at its results with `--config {}`.\n[database]\npath = \"demo.sqlite\"\n\n[site]\ndir = \"demo-site\"\nbase_url = {:?}\n\n[paraform]\nsession_file = \"demo_session.json\"\n\n[digest]\ntransport = \"file\"\noutbox = \"demo-outbox\"\n{llm}",
        demo_config_path(dir).display(),
        site_base_url(&dir.join("demo-site"))
    )
}

/// Each demo starts from an empty database: the simulator starts afresh too.
fn fresh_database(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("removing {}", file.display())),
        }
    }
    Ok(())
}

fn install_session(config: &Config, sim: &Simulator) -> Result<()> {
    let expires = (Utc::now() + chrono::Duration::days(30)).timestamp();
    let state = sim.storage_state_json(expires);
    Session::parse(&state, "the simulator's session")?;
    session::write_private(&config.session_file(), state.as_bytes())
}
