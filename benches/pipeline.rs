//! The speed, memory and storage of the pipeline at scale, as one table:
//! `cargo bench --bench pipeline [-- SIZE... [--churn-runs=N]]`
//! (sizes default to 614, 10000 and 100000 roles).
//!
//! Per size, a simulated marketplace runs in this process (loopback, list
//! pages of 1,000, no politeness delay) and the built `air-demand` binary
//! runs as a child process for each step, so that the CPU time and peak RSS
//! measured (`wait4`) are the scraper's alone:
//!
//! - cold run: the first `scrape --no-site`, into an empty database;
//! - quiet run: a second scrape, the marketplace unchanged;
//! - the same two with `[llm]` on, into a second database (the simulator's
//!   model endpoint, no budget in the way): what the model costs a cold
//!   run, and that a quiet run costs the same with it on as off (the ratio
//!   of the two quiet runs' CPU is printed at the end);
//! - site builds (`air-demand site`, with how many pages it wrote and how
//!   many it kept from the live site): the full build (no site yet), the
//!   build after a quiet run, and the build after each churn run;
//! - churn runs: R scrapes, each after a round in which 3% of the roles are
//!   edited (and every role's volatile fields refreshed, a few roles removed
//!   and posted); R is 40 up to 10,000 roles and 10 above, unless given.
//!
//! Every config follows the simulator's six company boards, one per board
//! API (`[[companies]]`, `Simulator::generated_boards`), so each scrape
//! also reads six boards, as a real install following companies does.
//!
//! The table starts with the commit measured (`git rev-parse`, `-dirty`
//! when the tree has changes) and the command line.
//!
//! Then, per size, how many bytes the version history grew per churn run,
//! beside what a store keeping a copy of every active role per run would add.
//!
//! With `AIR_DEMAND_BENCH_KEEP=DIR`, each size's directory (its config,
//! database and site) is copied to `DIR/<roles>` just before the build
//! after the last churn run (the steady state: the site has spare files
//! from the builds before), to profile that build by hand.
//!
//! The children are started by a small launcher process (this bench binary
//! re-executed before any simulator exists): Linux carries the peak RSS of
//! the process that execs into the child's `ru_maxrss`, so a child started
//! from this process, which holds up to 100,000 simulated roles, would report
//! this process's memory and not its own. It prints; it asserts nothing.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use air_demand::sim::{EditShare, SimOptions, Simulator};
use anyhow::{Context, Result, anyhow, bail, ensure};
use rusqlite::{Connection, OptionalExtension};

const DEFAULT_SIZES: &[usize] = &[614, 10_000, 100_000];
/// The list call's page size, for every size: 100,000 roles in one answer
/// would pass the fetcher's 64 MiB `max_list_bytes`.
const PAGE_SIZE: usize = 1_000;
const CHURN_PERCENT: u8 = 3;
/// Set, to the binary to run, in the environment of the launcher process.
const LAUNCHER_ENV: &str = "AIR_DEMAND_BENCH_LAUNCHER";
const BIN: &str = env!("CARGO_BIN_EXE_air-demand");

fn main() {
    if let Some(bin) = std::env::var_os(LAUNCHER_ENV) {
        launcher(Path::new(&bin));
        return;
    }
    let mut sizes = Vec::new();
    let mut churn_runs = None;
    for arg in std::env::args().skip(1) {
        if let Some(runs) = arg.strip_prefix("--churn-runs=") {
            match runs.parse::<usize>() {
                Ok(runs) => churn_runs = Some(runs),
                Err(_) => fail(anyhow!("--churn-runs={runs}: give a whole number")),
            }
        } else if arg.starts_with('-') {
            // `--bench`, which cargo passes, and other harness flags.
        } else {
            match arg.replace(['_', ','], "").parse::<usize>() {
                Ok(size) if (1..=air_demand::sim::MAX_ROLES).contains(&size) => sizes.push(size),
                _ => fail(anyhow!(
                    "{arg:?} is not a number of roles from 1 to {}",
                    air_demand::sim::MAX_ROLES
                )),
            }
        }
    }
    if sizes.is_empty() {
        sizes = DEFAULT_SIZES.to_vec();
    }
    if let Err(err) = run(&sizes, churn_runs) {
        fail(err);
    }
}

fn fail(err: anyhow::Error) -> ! {
    eprintln!("bench failed: {err:#}");
    std::process::exit(1);
}

/// What one child process took.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    wall: f64,
    cpu: f64,
    peak_rss_kb: u64,
    /// The exit code, or minus the signal that ended it.
    exit: i32,
}

/// One table row.
struct Row {
    roles: usize,
    step: String,
    usage: Usage,
    /// Requests, new, changed and status of the run row, for scrapes.
    run: Option<RunRow>,
    db_bytes: u64,
}

#[derive(Debug, Clone, Default)]
struct RunRow {
    status: String,
    requests: f64,
    new: f64,
    changed: f64,
}

fn run(sizes: &[usize], churn_runs: Option<usize>) -> Result<()> {
    let started = Instant::now();
    // First, while this process is still small.
    let mut launcher = Launcher::start()?;
    println!(
        "commit {}; command: cargo bench --bench pipeline -- {}\n",
        commit(),
        std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect::<Vec<_>>()
            .join(" ")
    );
    let floor_dir = tempfile::tempdir()?;
    let floor = launcher.run(floor_dir.path(), &["--version"])?;

    println!(
        "air-demand pipeline bench: per size, a cold scrape (empty database), a quiet scrape (nothing\n\
         changed), the same two with [llm] on, site builds (full; after a quiet scrape; after each churn\n\
         scrape, each with the pages it wrote and kept), and churn scrapes ({CHURN_PERCENT}% of roles edited per\n\
         round). Each step is its\n\
         own `air-demand` process, measured alone (wall; CPU = user+sys; peak RSS = ru_maxrss; a\n\
         do-nothing `air-demand --version` measures {:.0} MB), against a loopback simulator in the bench\n\
         process (list pages of {}, no politeness delay). db MB: the file after the step.\n",
        floor.peak_rss_kb as f64 / 1024.0,
        thousands(PAGE_SIZE as u64)
    );
    println!("{}", header());
    let mut history = Vec::new();
    for &roles in sizes {
        let runs = churn_runs.unwrap_or(if roles <= 10_000 { 40 } else { 10 });
        match bench_size(&mut launcher, roles, runs) {
            Ok(size) => history.push(size),
            Err(err) => println!("{:>7}  failed: {err:#}", thousands(roles as u64)),
        }
    }
    print_history(&history);
    if !history.is_empty() {
        println!("\nquiet run CPU with [llm] on / off:");
        for h in &history {
            println!(
                "{:>7}  {:.2} s / {:.2} s = {:.2}x",
                thousands(h.roles as u64),
                h.quiet_cpu_llm,
                h.quiet_cpu,
                h.quiet_cpu_llm / h.quiet_cpu.max(1e-9)
            );
        }
    }
    let took = started.elapsed().as_secs_f64();
    println!("\nthe bench took {:.0} s ({:.1} min)", took, took / 60.0);
    Ok(())
}

fn header() -> String {
    format!(
        "{:>7}  {:<22} {:>7} {:>7} {:>8} {:>8} {:>7} {:>7} {:<7} {:>8}",
        "roles",
        "step",
        "wall s",
        "CPU s",
        "RSS MB",
        "requests",
        "new",
        "changed",
        "status",
        "db MB"
    )
}

fn print_row(row: &Row) {
    let (requests, new, changed, status) = match &row.run {
        Some(run) => (
            format!("{:.0}", run.requests),
            format!("{:.0}", run.new),
            format!("{:.0}", run.changed),
            run.status.clone(),
        ),
        None => (
            "-".into(),
            "-".into(),
            "-".into(),
            if row.usage.exit == 0 {
                "ok".into()
            } else {
                format!("exit {}", row.usage.exit)
            },
        ),
    };
    println!(
        "{:>7}  {:<22} {:>7.2} {:>7.2} {:>8.0} {:>8} {:>7} {:>7} {:<7} {:>8.1}",
        thousands(row.roles as u64),
        row.step,
        row.usage.wall,
        row.usage.cpu,
        row.usage.peak_rss_kb as f64 / 1024.0,
        requests,
        new,
        changed,
        status,
        row.db_bytes as f64 / 1e6
    );
    let _ = std::io::stdout().flush();
}

/// Prints the rows of one size and returns how its history grew.
fn bench_size(launcher: &mut Launcher, roles: usize, runs: usize) -> Result<History> {
    let dir = tempfile::tempdir()?;
    // The simulator's clock ends at about now after the churn rounds.
    let start = chrono::Utc::now() - chrono::Duration::hours(runs as i64 + 1);
    let started = Instant::now();
    let sim = Simulator::start_in_thread(SimOptions {
        roles,
        now: start,
        page_size: Some(PAGE_SIZE),
        ..SimOptions::default()
    })?;
    eprintln!(
        "{roles} roles: simulator ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let config = write_config(dir.path(), &sim, false)?;
    let db_path = dir.path().join("data/bench.sqlite");
    let llm_dir = tempfile::tempdir()?;
    let llm_config = write_config(llm_dir.path(), &sim, true)?;

    let scrape_in =
        |launcher: &mut Launcher, dir: &Path, config: &str, step: &str| -> Result<Row> {
            eprintln!("{roles} roles: {step}");
            let db_path = dir.join("data/bench.sqlite");
            let usage = launcher.run(dir, &["--config", config, "scrape", "--no-site"])?;
            // 0 ok, 3 partial (shown in the status column), else failed.
            if usage.exit != 0 && usage.exit != 3 {
                bail!(
                    "{step}: air-demand exited {} ({})",
                    usage.exit,
                    last_lines(&dir.join("stderr.log"))
                );
            }
            let run = last_run(&db_path)?;
            Ok(Row {
                roles,
                step: step.to_string(),
                usage,
                run: Some(run),
                db_bytes: db_bytes(&db_path),
            })
        };
    let scrape_step =
        |launcher: &mut Launcher, step: &str| scrape_in(launcher, dir.path(), &config, step);

    print_row(&scrape_step(launcher, "cold run")?);
    let quiet = scrape_step(launcher, "quiet run")?;
    print_row(&quiet);
    print_row(&scrape_in(
        launcher,
        llm_dir.path(),
        &llm_config,
        "cold run, [llm] on",
    )?);
    let quiet_llm = scrape_in(launcher, llm_dir.path(), &llm_config, "quiet run, [llm] on")?;
    print_row(&quiet_llm);
    drop(llm_dir);

    let site_step = |launcher: &mut Launcher, step: &str| -> Result<()> {
        eprintln!("{roles} roles: {step}");
        let usage = launcher.run(dir.path(), &["--config", &config, "site"])?;
        if usage.exit != 0 {
            bail!(
                "{step}: air-demand exited {} ({})",
                usage.exit,
                last_lines(&dir.path().join("stderr.log"))
            );
        }
        print_row(&Row {
            roles,
            step: step.into(),
            usage,
            run: None,
            db_bytes: db_bytes(&db_path),
        });
        // `site: N roles, W pages written, K kept in …`
        let said = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap_or_default();
        if let Some(pages) = said
            .lines()
            .find_map(|line| line.strip_prefix("site: "))
            .and_then(|line| line.split_once(", "))
            .and_then(|(_, rest)| rest.split_once(" in "))
        {
            println!("{:>7}  {:<22} {}", "", "", pages.0);
        }
        Ok(())
    };
    site_step(launcher, "site, full build")?;
    scrape_step(launcher, "quiet run, for the site")?;
    site_step(launcher, "site after quiet run")?;

    let (before, measured_as) = version_store_bytes(&db_path)?;
    let mut total = Usage::default();
    let mut sum = RunRow::default();
    let mut statuses: Vec<String> = Vec::new();
    for round in 1..=runs {
        sim.advance_with(
            chrono::Duration::hours(1),
            EditShare::Percent(CHURN_PERCENT),
        );
        let row = scrape_step(launcher, &format!("churn run {round}/{runs}"))?;
        // For profiling by hand: the database and site as the build after
        // the last churn run finds them.
        if round == runs
            && let Some(keep) = std::env::var_os("AIR_DEMAND_BENCH_KEEP")
        {
            let to = Path::new(&keep).join(format!("{roles}"));
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(dir.path())
                .arg(&to)
                .status()?;
            ensure!(status.success(), "copying the bench to {}", to.display());
            eprintln!("{roles} roles: kept in {}", to.display());
        }
        // After every round, as `scrape` builds it: the first build after
        // a churn run has no spare files yet, the later ones do.
        site_step(launcher, &format!("site after churn {round}/{runs}"))?;
        total.wall += row.usage.wall;
        total.cpu += row.usage.cpu;
        total.peak_rss_kb = total.peak_rss_kb.max(row.usage.peak_rss_kb);
        if let Some(run) = row.run {
            sum.requests += run.requests;
            sum.new += run.new;
            sum.changed += run.changed;
            if !statuses.contains(&run.status) {
                statuses.push(run.status);
            }
        }
    }
    let (after, _) = version_store_bytes(&db_path)?;
    if runs > 0 {
        let n = runs as f64;
        print_row(&Row {
            roles,
            step: format!("churn run (mean of {runs})"),
            usage: Usage {
                wall: total.wall / n,
                cpu: total.cpu / n,
                peak_rss_kb: total.peak_rss_kb,
                exit: 0,
            },
            run: Some(RunRow {
                status: statuses.join("/"),
                requests: sum.requests / n,
                new: sum.new / n,
                changed: sum.changed / n,
            }),
            db_bytes: db_bytes(&db_path),
        });
    }

    let (active, average_raw) = active_roles(&db_path)?;
    Ok(History {
        roles,
        runs,
        grown_per_run: after.saturating_sub(before) as f64 / runs.max(1) as f64,
        measured_as,
        active,
        average_raw,
        quiet_cpu: quiet.usage.cpu,
        quiet_cpu_llm: quiet_llm.usage.cpu,
    })
}

/// How the version store of one size grew over its churn runs.
struct History {
    roles: usize,
    runs: usize,
    grown_per_run: f64,
    measured_as: &'static str,
    /// Active roles after the runs, and their average `roles.raw` bytes.
    active: u64,
    average_raw: f64,
    /// CPU seconds of the quiet run with `[llm]` off and on.
    quiet_cpu: f64,
    quiet_cpu_llm: f64,
}

/// The commit measured: `abc1234`, `abc1234-dirty` with uncommitted
/// changes, or `unknown commit` without git.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
            _ => head,
        },
        None => "unknown commit".into(),
    }
}

fn print_history(history: &[History]) {
    if history.is_empty() {
        return;
    }
    let mut methods: Vec<&str> = history.iter().map(|h| h.measured_as).collect();
    methods.dedup();
    println!(
        "\nhistory: how much the version store grew per churn run ({CHURN_PERCENT}% of roles edited), beside\n\
         a store that copies every active role each run (active roles x average bytes of roles.raw);\n\
         versions measured as {}\n",
        methods.join("; ")
    );
    println!(
        "{:>7}  {:>4}  {:>12}  {:>15}  {:>18}  {:>11}",
        "roles", "runs", "versions KB", "copy-per-run KB", "active x raw B", "copy / ours"
    );
    for h in history {
        let copy = h.active as f64 * h.average_raw;
        let ratio = if h.grown_per_run > 0.0 {
            format!("{:.0}x", copy / h.grown_per_run)
        } else {
            "-".into()
        };
        println!(
            "{:>7}  {:>4}  {:>12}  {:>15}  {:>18}  {:>11}",
            thousands(h.roles as u64),
            h.runs,
            thousands((h.grown_per_run / 1e3).round() as u64),
            thousands((copy / 1e3).round() as u64),
            format!(
                "{} x {}",
                thousands(h.active),
                thousands(h.average_raw.round() as u64)
            ),
            ratio
        );
    }
}

/// The config of the child processes (following the simulator's company
/// boards; with `llm`, its model too); returns its path.
fn write_config(dir: &Path, sim: &Simulator, llm: bool) -> Result<String> {
    std::fs::create_dir_all(dir.join("data"))?;
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
    air_demand::session::write_private(
        &dir.join("data/paraform_session.json"),
        sim.storage_state_json(expires).as_bytes(),
    )?;
    let config = dir.join("air-demand.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\npath = \"data/bench.sqlite\"\n\n[site]\ndir = \"site\"\n\n[paraform]\n\
             base_url = \"{}\"\nsession_file = \"data/paraform_session.json\"\n\
             request_delay_ms = 0\nretry_base_ms = 50\ntimeout_secs = 120\n\n\
             [boards]\n{urls}\
             request_delay_ms = 0\nretry_base_ms = 50\n{llm}{companies}",
            sim.base_url(),
            urls = sim.board_urls_toml(),
            llm = if llm {
                format!(
                    "\n[llm]\nenabled = true\nbase_url = \"{}/v1\"\ntimeout_secs = 30\n\
                     max_retries = 1\nretry_base_ms = 10\nconcurrency = 8\n\
                     max_calls_per_run = 1000000\nmax_cost_per_run_usd = 1000\nmax_run_secs = 86400\n",
                    sim.base_url()
                )
            } else {
                String::new()
            },
            companies = sim
                .generated_boards()
                .iter()
                .map(|b| format!(
                    "\n[[companies]]\nname = {:?}\n{} = {:?}\n",
                    b.company,
                    b.kind.source(),
                    b.board
                ))
                .collect::<String>()
        ),
    )?;
    Ok(config.display().to_string())
}

fn open(db_path: &Path) -> Result<Connection> {
    Connection::open(db_path).with_context(|| format!("opening {}", db_path.display()))
}

fn last_run(db_path: &Path) -> Result<RunRow> {
    let conn = open(db_path)?;
    conn.query_row(
        "SELECT status, requests, roles_new, roles_changed FROM runs ORDER BY id DESC LIMIT 1",
        [],
        |row| {
            Ok(RunRow {
                status: row.get(0)?,
                requests: row.get::<_, i64>(1)? as f64,
                new: row.get::<_, i64>(2)? as f64,
                changed: row.get::<_, i64>(3)? as f64,
            })
        },
    )
    .context("reading the last run")
}

/// The bytes of the version store, and how they were measured: the pages of
/// the tables `role_versions` (copies; a view once versions are patches) and
/// `role_version_data` (patches) with their indexes (dbstat), else the stored bodies
/// (`role_version_data.body`, versions as patches), else the stored copies
/// (`role_versions.raw`).
fn version_store_bytes(db_path: &Path) -> Result<(u64, &'static str)> {
    let conn = open(db_path)?;
    let pages: Option<Option<i64>> = conn
        .query_row(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema \
             WHERE tbl_name IN ('role_versions', 'role_version_data'))",
            [],
            |row| row.get(0),
        )
        .ok();
    if let Some(pages) = pages {
        return Ok((
            pages.unwrap_or(0) as u64,
            "dbstat pages of role_versions/role_version_data and indexes",
        ));
    }
    let has_data: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'role_version_data'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let (sql, how) = if has_data.is_some() {
        (
            "SELECT COALESCE(SUM(length(body)), 0) FROM role_version_data",
            "sum of role_version_data.body",
        )
    } else {
        (
            "SELECT COALESCE(SUM(length(raw)), 0) FROM role_versions",
            "sum of role_versions.raw",
        )
    };
    let bytes: i64 = conn.query_row(sql, [], |row| row.get(0))?;
    Ok((bytes as u64, how))
}

/// Active roles and the average length of their `raw` JSON.
fn active_roles(db_path: &Path) -> Result<(u64, f64)> {
    let conn = open(db_path)?;
    let (count, average): (i64, Option<f64>) = conn.query_row(
        "SELECT COUNT(*), AVG(length(raw)) FROM roles WHERE status = 'active'",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok((count as u64, average.unwrap_or(0.0)))
}

fn db_bytes(db_path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db_path.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn last_lines(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The launcher process, seen from the bench: one request line (directory
/// and arguments, tab-separated) in, one answer line out.
struct Launcher {
    child: Child,
    /// Closed first when dropped: end of input ends the launcher.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// The copy of the binary the launcher runs.
    _bin: tempfile::TempDir,
}

impl Launcher {
    /// Starts the launcher on a copy of the `air-demand` that cargo built,
    /// so that a rebuild during the bench changes nothing.
    fn start() -> Result<Launcher> {
        let bin = tempfile::tempdir()?;
        let copy = bin.path().join("air-demand");
        std::fs::copy(BIN, &copy).with_context(|| format!("copying {BIN}"))?;
        let mut child = Command::new(std::env::current_exe()?)
            .env(LAUNCHER_ENV, &copy)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the launcher")?;
        let stdin = child.stdin.take().context("launcher stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("launcher stdout")?);
        Ok(Launcher {
            child,
            stdin: Some(stdin),
            stdout,
            _bin: bin,
        })
    }

    /// Runs `air-demand ARGS` in `dir` (stdout and stderr to `stdout.log`
    /// and `stderr.log` there) and returns what it took.
    fn run(&mut self, dir: &Path, args: &[&str]) -> Result<Usage> {
        let mut fields = vec![dir.display().to_string()];
        fields.extend(args.iter().map(|arg| arg.to_string()));
        if fields.iter().any(|f| f.contains(['\t', '\n'])) {
            bail!("a tab or newline in {fields:?}");
        }
        let stdin = self.stdin.as_mut().context("the launcher is closed")?;
        writeln!(stdin, "{}", fields.join("\t"))?;
        stdin.flush()?;
        let mut answer = String::new();
        if self.stdout.read_line(&mut answer)? == 0 {
            bail!("the launcher ended");
        }
        let parts: Vec<&str> = answer.trim_end().split(' ').collect();
        match parts.as_slice() {
            ["ok", exit, wall, cpu, rss] => Ok(Usage {
                exit: exit.parse()?,
                wall: wall.parse()?,
                cpu: cpu.parse()?,
                peak_rss_kb: rss.parse()?,
            }),
            _ => bail!("launcher: {}", answer.trim_end()),
        }
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The launcher's loop: run each requested command, wait for it with
/// `wait4` and answer `ok EXIT WALL_S CPU_S MAXRSS_KB`.
fn launcher(bin: &Path) {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let answer = match launch(bin, &line) {
            Ok(usage) => format!(
                "ok {} {:.6} {:.6} {}",
                usage.exit, usage.wall, usage.cpu, usage.peak_rss_kb
            ),
            Err(err) => format!("error {err:#}").replace('\n', " "),
        };
        if writeln!(stdout, "{answer}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
}

fn launch(bin: &Path, line: &str) -> Result<Usage> {
    let mut fields = line.split('\t');
    let dir = PathBuf::from(fields.next().context("no directory")?);
    let args: Vec<&str> = fields.collect();
    let log = |name: &str| std::fs::File::create(dir.join(name));
    let started = Instant::now();
    let child = Command::new(bin)
        .args(&args)
        .current_dir(&dir)
        .env_remove("AIR_DEMAND_CONFIG")
        .env_remove(LAUNCHER_ENV)
        .stdin(Stdio::null())
        .stdout(log("stdout.log")?)
        .stderr(log("stderr.log")?)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not reaped yet; the pointers are valid.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait4");
        }
    }
    let wall = started.elapsed().as_secs_f64();
    // Reaped already: dropping `child` neither waits nor kills.
    drop(child);
    let seconds =
        |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000).as_secs_f64();
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    Ok(Usage {
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        // Kilobytes on Linux.
        peak_rss_kb: usage.ru_maxrss as u64,
        exit,
    })
}
