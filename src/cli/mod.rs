//! The command line: flags (clap), and one function per command that calls
//! into the stages and prints for people. Exit codes follow SPEC §1.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, DEFAULT_CONFIG_PATH, DEFAULT_CONFIG_TOML, Env};
use crate::evaluate::{Breakdown, Tier};
use crate::logs::Level;
pub use crate::logs::LogFormat;
use crate::progress::Progress;
use crate::scrape::{RunStatus, ScrapeOptions};
use crate::session::{self, SESSION_ENV, Session};
use crate::store::{Db, RoleFilter};

/// `println!` that returns the write's `io::Result` instead of panicking:
/// a closed stdout (`air-demand status | head -1`) becomes a BrokenPipe
/// error, which `main` ends quietly.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)
    };
}

/// `say!` for the report of work already done (scrape, digest): a closed
/// stdout drops the line and the command goes on to its end and exit code.
macro_rules! tell {
    ($($arg:tt)*) => {
        ignore_closed_stdout(writeln!(std::io::stdout(), $($arg)*))
    };
}

/// A mistake on the command line that clap cannot see (a `--since` span, a
/// tier's name, a `--timeout`): `main` says it as it says clap's own, with
/// where to read more, and exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// An argument's parser's error (one sentence, with what to give) as a
    /// usage mistake.
    pub fn of(err: &anyhow::Error) -> UsageError {
        UsageError(format!("{err:#}"))
    }
}

/// A [`UsageError`] as one line: the sentence, and the `--help` of the
/// command `args` were aimed at.
pub fn usage_mistake_line(err: &anyhow::Error, args: &[String]) -> String {
    format!(
        "{err:#}; `{} --help` lists what it takes",
        command_path(args)
    )
}

/// A write to a stdout nobody reads any more counts as done.
fn ignore_closed_stdout(written: std::io::Result<()>) -> std::io::Result<()> {
    match written {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "air-demand",
    version,
    about = "Watch the Paraform marketplace: every role and every version in one SQLite file."
)]
pub struct Cli {
    /// The config file, which must exist; without it, ./air-demand.toml or (if absent) built-in defaults.
    #[arg(long, global = true, env = "AIR_DEMAND_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log format on stderr: `text` for people, `json` lines for journald.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More log detail (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented default config and create the database.
    Init {
        /// Overwrite an existing config file.
        #[arg(long)]
        force: bool,
    },
    /// One run: fetch every enabled source, store, detect changes.
    Scrape {
        /// Do not regenerate the site afterwards.
        #[arg(long)]
        no_site: bool,
    },
    /// Regenerate the static site from the database only.
    Site,
    /// The long-running scheduler: scrapes and digests on the configured schedule.
    Run,
    /// Health report; exit 0 healthy, 1 degraded, 2 unhealthy.
    Status {
        /// Print the report as JSON (the same fields as the site's health.json).
        #[arg(long)]
        json: bool,
    },
    /// A consistent copy of the live database (SQLite online backup), checked.
    Backup {
        /// Where the copy goes (a new file; see --force).
        path: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Current roles as CSV or JSON (stdout, or --out).
    Export {
        /// The file format: csv or json (as the site's roles.csv and roles.json).
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Build and send the digest (once per day; see --force).
    Digest {
        /// Print the message instead of sending it.
        #[arg(long)]
        dry_run: bool,
        /// Write the message to this .eml file instead of sending it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Send even if today's digest was already sent.
        #[arg(long)]
        force: bool,
    },
    /// List roles, best first.
    Roles {
        /// Include gone roles.
        #[arg(long)]
        all: bool,
        /// Only this tier (QUALIFIED, MAYBE, LOCATION_UNCERTAIN, SKIP).
        #[arg(long)]
        tier: Option<String>,
        /// Show at most this many roles.
        #[arg(long, value_name = "N", allow_negative_numbers = true)]
        limit: Option<u64>,
        /// Print the roles as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Show one role's verdict: every reason, signal and score component.
        #[arg(long, value_name = "ID")]
        explain: Option<String>,
        /// Show one role's versions: when, which run, which fields changed (--json: each version's full JSON).
        #[arg(long, value_name = "ID", conflicts_with = "explain")]
        history: Option<String>,
    },
    /// Print a role's briefing (written by the model for top QUALIFIED roles when [llm] is on).
    Brief {
        /// The role's id (`paraform:…`) or its Paraform id.
        id: String,
        /// Write it again now from the stored detail, with today's prompt and model.
        #[arg(long)]
        regenerate: bool,
        /// Print the briefing as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-run qualification and scoring over stored roles with the current rules; no network.
    Requalify,
    /// Print the qualification and scoring rules in force (Markdown).
    Rules,
    /// List changes detected since a time.
    Changes {
        /// `24h`, `7d`, `2w`, `90m`, a date (`2025-12-19`) or an RFC 3339 time.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Print the changes as JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Install or inspect the Paraform session.
    Session {
        #[command(subcommand)]
        action: SessionAction,
    },
    /// The companies followed on their own job boards.
    Companies {
        #[command(subcommand)]
        action: CompaniesAction,
    },
    /// The whole pipeline on a built-in simulated marketplace, offline.
    #[cfg_attr(
        not(feature = "simulator"),
        command(
            about = "The whole pipeline on a built-in simulated marketplace (not in this build)"
        )
    )]
    Demo {
        /// Where the demo database and files go.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
        /// Scrape rounds to run (1 to 100).
        #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=100))]
        rounds: u32,
        /// Seed of the simulated marketplace.
        #[arg(long, default_value_t = 42, allow_negative_numbers = true)]
        seed: u64,
        /// Turn on model-assisted intel, answered offline by the simulator's model.
        #[arg(long)]
        llm: bool,
    },
    /// Serve the simulated marketplace on 127.0.0.1 until stopped (for trying things by hand).
    #[cfg_attr(
        not(feature = "simulator"),
        command(about = "Serve the simulated marketplace on 127.0.0.1 (not in this build)")
    )]
    Simulate {
        /// The port to listen on, on 127.0.0.1 only (1 to 65535).
        #[arg(long, default_value_t = 8077, allow_negative_numbers = true, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
        /// Seed of the simulated marketplace: the same seed gives the same roles.
        #[arg(long, default_value_t = 42, allow_negative_numbers = true)]
        seed: u64,
        /// How many roles the marketplace starts with (at most 100000).
        #[arg(
            long,
            default_value_t = 60,
            value_name = "N",
            allow_negative_numbers = true
        )]
        roles: u64,
        /// Answer the list call in pages of N roles (`{"items", "nextCursor"}`,
        /// which the scraper follows); 0 lists every role in one answer.
        #[arg(
            long,
            default_value_t = 0,
            value_name = "N",
            allow_negative_numbers = true
        )]
        page_size: usize,
        /// Answer API calls without the clearance cookie that the home
        /// page's script sets with a 403 challenge page, as bot protection
        /// does: for trying `[paraform] fetch`.
        #[arg(long)]
        browser_required: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values, one role per row, cells defused for spreadsheets.
    Csv,
    /// A JSON array of roles.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum CompaniesAction {
    /// Propose board names for the companies seen on Paraform: each name's
    /// slugs tried against Greenhouse, Lever and Ashby (a 404 means no).
    /// Prints what it found; writes nothing unless asked.
    Discover {
        /// Append what was found to the config file as `[[companies]]`
        /// entries (its comments are kept).
        #[arg(long)]
        write: bool,
        /// Ask about at most this many companies, those with the most
        /// active roles first (each costs up to six polite requests).
        #[arg(long, default_value_t = 25)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionAction {
    /// Install the Paraform session from a cookie export, Firefox, or the bare cookie (mode 0600).
    #[command(group(clap::ArgGroup::new("source").required(true).multiple(false)))]
    Import {
        /// A Playwright storage_state JSON, a Cookie-Editor JSON array or a
        /// Netscape cookies.txt, from a browser logged in to Paraform (told
        /// apart by their content).
        #[arg(group = "source")]
        file: Option<PathBuf>,
        /// Read Firefox's cookies (cookies.sqlite, copied first): the
        /// default profile, or the profile directory given.
        #[arg(long, value_name = "PROFILE_DIR", num_args = 0..=1, group = "source")]
        from_firefox: Option<Option<PathBuf>>,
        /// `-`: read the bare value of the session cookie
        /// (__Secure-next-auth.session-token) from standard input.
        #[arg(long, value_name = "-", group = "source")]
        cookie: Option<String>,
        /// With --cookie: when it expires (`2026-06-01`, an RFC 3339 time,
        /// or `30d`, `12h`); without it, when the browser session ends.
        #[arg(long, value_name = "WHEN", conflicts_with_all = ["file", "from_firefox"])]
        expires: Option<String>,
    },
    /// Sign in to Paraform in a browser window and install the session (mode 0600).
    Login {
        /// The Chromium or Chrome to run (else AIR_DEMAND_BROWSER, else one on PATH).
        #[arg(long, value_name = "PATH")]
        browser: Option<PathBuf>,
        /// Run the browser without a window (scripted logins and tests).
        #[arg(long)]
        headless: bool,
        /// How long to wait for the login to finish (`10m`, `90s`, `1h`).
        #[arg(long, value_name = "DURATION", default_value = "10m")]
        timeout: String,
    },
    /// Print the session in force as one base64 line: the value for PARAFORM_SESSION_JSON.
    Export {
        /// Print it base64-encoded (the one form there is; required).
        #[arg(long, required = true)]
        base64: bool,
    },
    /// Show when the session cookie expires, and where the session was read from.
    Status,
}

/// Where `session import` takes the session from (exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    /// A storage_state, Cookie-Editor JSON or cookies.txt file.
    File(PathBuf),
    /// A Firefox profile, or the default one.
    Firefox(Option<PathBuf>),
    /// The bare session cookie on standard input, with `--expires` as given.
    Cookie { expires: Option<String> },
}

/// Runs the parsed command and returns the process exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // `init`, `demo` and `simulate` need no config; the others read it first.
    let explicit_config = cli.config.as_deref();
    if explicit_config.is_some_and(|path| path.as_os_str().is_empty()) {
        bail!(
            "the config path given by --config or AIR_DEMAND_CONFIG is empty: name the file, or leave both out to use ./{DEFAULT_CONFIG_PATH}"
        );
    }
    let load = || -> Result<(Config, Env)> {
        let config = Config::load_given(explicit_config)?;
        let env = Env::load(&config)?;
        Ok((config, env))
    };
    match cli.command {
        Command::Init { force } => init(
            explicit_config.unwrap_or(Path::new(DEFAULT_CONFIG_PATH)),
            force,
        ),
        Command::Scrape { no_site } => {
            let (config, env) = load()?;
            runtime.block_on(scrape(&config, &env, cli.log_format, !no_site))
        }
        Command::Site => {
            let (config, env) = load()?;
            site(&config, &env)
        }
        Command::Run => {
            let (config, env) = load()?;
            runtime.block_on(crate::schedule::run(&config, &env))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => match load() {
            Ok((config, env)) => status(&config, &env, json),
            // A config the scheduler cannot run on is unhealthy, for monitors
            // that read the exit code.
            Err(err) => {
                crate::logs::line(Level::Error, &format!("{err:#}"));
                let problem = format!("the config cannot be used: {err:#}");
                if json {
                    say!(
                        "{}",
                        serde_json::json!({"status": "unhealthy", "problems": [problem]})
                    )?;
                } else {
                    say!("unhealthy: {problem}")?;
                }
                Ok(ExitCode::from(2))
            }
        },
        Command::Backup { path, force } => backup(&load()?.0, &path, force),
        Command::Export { format, out, force } => export(&load()?.0, format, out.as_deref(), force),
        Command::Digest {
            dry_run,
            out,
            force,
        } => {
            let (config, env) = load()?;
            let options = crate::digest::DigestOptions {
                dry_run,
                out,
                force,
            };
            runtime.block_on(digest(&config, &env, &options))
        }
        Command::Roles {
            history: Some(id),
            json,
            ..
        } => history(&load()?.0, &id, json),
        Command::Roles {
            explain: Some(id),
            json,
            ..
        } => explain(&load()?.0, &id, json),
        Command::Roles {
            all,
            tier,
            limit,
            json,
            explain: None,
            history: None,
        } => {
            let tier = match tier {
                None => None,
                Some(text) => Some(Tier::parse(&text).ok_or_else(|| {
                    let names: Vec<&str> = Tier::ALL.iter().map(|t| t.as_str()).collect();
                    UsageError(format!(
                        "--tier {text:?} is not one of {}",
                        names.join(", ")
                    ))
                })?),
            };
            roles(
                &load()?.0,
                RoleFilter {
                    include_gone: all,
                    tier,
                    limit,
                },
                json,
            )
        }
        Command::Brief {
            id,
            regenerate,
            json,
        } => {
            let (config, env) = load()?;
            runtime.block_on(brief(&config, &env, &id, regenerate, json))
        }
        Command::Requalify => requalify(&load()?.0),
        Command::Rules => rules(
            &load()?.0,
            explicit_config.unwrap_or(Path::new(DEFAULT_CONFIG_PATH)),
        ),
        Command::Changes { since, json } => changes(&load()?.0, &since, json),
        Command::Companies {
            action: CompaniesAction::Discover { write, limit },
        } => {
            let config = load()?.0;
            let path = explicit_config.unwrap_or(Path::new(DEFAULT_CONFIG_PATH));
            runtime.block_on(companies_discover(&config, path, write, limit))
        }
        Command::Session {
            action:
                SessionAction::Import {
                    file,
                    from_firefox,
                    cookie,
                    expires,
                },
        } => {
            let source = import_source(file, from_firefox, cookie, expires)?;
            let (config, env) = load()?;
            session_import(&config, &env, &source)
        }
        Command::Session {
            action:
                SessionAction::Login {
                    browser,
                    headless,
                    timeout,
                },
        } => {
            let (config, env) = load()?;
            session_login(
                &runtime,
                &config,
                &env,
                browser.as_deref(),
                headless,
                &timeout,
            )
        }
        Command::Session {
            action: SessionAction::Export { base64: _ },
        } => {
            let (config, env) = load()?;
            session_export(&config, &env)
        }
        Command::Session {
            action: SessionAction::Status,
        } => {
            let (config, env) = load()?;
            session_status(&config, &env)
        }
        #[cfg(feature = "simulator")]
        Command::Demo {
            dir,
            rounds,
            seed,
            llm,
        } => {
            runtime.block_on(crate::demo::demo(&crate::demo::DemoOptions {
                dir,
                rounds,
                seed,
                llm,
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "simulator")]
        Command::Simulate {
            port,
            seed,
            roles,
            page_size,
            browser_required,
        } => runtime.block_on(simulate(port, seed, roles, page_size, browser_required)),
        // The commands stay listed in a production build, so that they can
        // say why they do nothing rather than be an unknown command.
        #[cfg(not(feature = "simulator"))]
        Command::Demo { .. } => bail!("{}", without_simulator("the demo")),
        #[cfg(not(feature = "simulator"))]
        Command::Simulate { .. } => bail!("{}", without_simulator("`simulate`")),
    }
}

/// What `demo` and `simulate` say in a build without the `simulator` feature.
#[cfg(not(feature = "simulator"))]
fn without_simulator(what: &str) -> String {
    format!(
        "this air-demand was built without the simulated marketplace: build it with the default features (cargo build --release) to run {what}"
    )
}

/// `init`: the commented default config, and the database it names.
pub fn init(config_path: &Path, force: bool) -> Result<ExitCode> {
    if config_path.exists() && !force {
        bail!(
            "{} already exists; use --force to overwrite it",
            config_path.display()
        );
    }
    if let Some(dir) = config_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(config_path, DEFAULT_CONFIG_TOML)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::load(config_path)?;
    let db = Db::open(&config.database_path())?;
    say!("wrote {}", config_path.display())?;
    say!(
        "database {} (schema version {})",
        config.database_path().display(),
        db.schema_version()?
    )?;
    say!("next: `air-demand session import FILE`, then `air-demand scrape`")?;
    Ok(ExitCode::SUCCESS)
}

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

/// `status`: exit 0 healthy, 1 degraded, 2 unhealthy (an unreadable database too).
pub fn status(config: &Config, env: &Env, json: bool) -> Result<ExitCode> {
    let path = config.database_path();
    let health = if !path.exists() {
        Err(anyhow::anyhow!("no database at {}", path.display()))
    } else {
        Db::open(&path).and_then(|db| {
            let health = crate::schedule::health(config, env, &db, Utc::now())?;
            // A damaged page can hide behind queries that never touch it.
            let check = db
                .quick_check()
                .unwrap_or_else(|err| format!("{err:#}"));
            Ok(if check == "ok" {
                health
            } else {
                health.with_problem(
                    crate::health::Level::Unhealthy,
                    format!(
                        "the database is damaged ({}): restore the latest backup (air-demand backup) or ask sqlite3 .recover",
                        crate::text::terminal(&check, 200)
                    ),
                )
            })
        })
    };
    let health = match health {
        Ok(health) => health,
        Err(err) => {
            let text = format!("{err:#}");
            // A damaged page that status's own queries hit, not only the check.
            let problem = if text.contains("malformed") {
                format!(
                    "the database is damaged ({}): restore the latest backup (air-demand backup) or ask sqlite3 .recover",
                    crate::text::terminal(&text, 200)
                )
            } else {
                format!("database unreadable: {text}")
            };
            if json {
                say!(
                    "{}",
                    serde_json::json!({"status": "unhealthy", "problems": [problem]})
                )?;
            } else {
                say!("unhealthy\n  ! {problem}")?;
            }
            return Ok(ExitCode::from(2));
        }
    };
    let code = match health.status {
        crate::health::Level::Healthy => 0,
        crate::health::Level::Degraded => 1,
        crate::health::Level::Unhealthy => 2,
    };
    if json {
        say!("{}", crate::text::json_pretty(&health)?)?;
        return Ok(ExitCode::from(code));
    }
    say!("{}", health.status.as_str())?;
    for problem in &health.problems {
        say!("  ! {}", crate::text::terminal(problem, 200))?;
    }
    match &health.last_run {
        Some(run) => say!(
            "last run:    #{} {} {} ({:.1} h ago): {} seen, {} new, {} changed, {} gone, {} errors",
            run.id,
            run.status,
            run.started_at,
            health.last_run_age_hours.unwrap_or_default(),
            run.roles_seen,
            run.roles_new,
            run.roles_changed,
            run.roles_gone,
            run.errors.len()
        )?,
        None => say!("last run:    none yet")?,
    }
    say!(
        "failed runs in a row: {}",
        health.consecutive_failed_scrapes
    )?;
    match &health.last_digest {
        Some(d) => say!(
            "last digest: {} {} ({:.1} h ago){}",
            d.status,
            d.created_at,
            health.last_digest_age_hours.unwrap_or_default(),
            d.error
                .as_deref()
                .map(|e| format!(": {}", crate::text::terminal(e, 160)))
                .unwrap_or_default()
        )?,
        None => say!("last digest: none yet")?,
    }
    say!("session:     {}", health.session.message)?;
    if let Some(note) = &health.paraform_fetch_note {
        say!("paraform:    {note}")?;
    }
    say!(
        "database:    {} ({:.1} MB, schema version {}, {} active roles)",
        health.database.path,
        health.database.bytes as f64 / 1e6,
        health.database.schema_version,
        health.database.active_roles
    )?;
    let llm = &health.llm;
    if llm.enabled || llm.total_calls > 0 {
        say!(
            "model:       last run {} calls, {} tokens, ${:.4}; in all {} calls, ${:.4}{}",
            llm.last_run_calls,
            llm.last_run_tokens,
            llm.last_run_cost_usd,
            llm.total_calls,
            llm.total_cost_usd,
            if llm.enabled { "" } else { " ([llm] is off)" }
        )?;
    }
    say!(
        "next:        scrape {}, digest {}",
        health.next_scrape.as_deref().unwrap_or("not scheduled"),
        health.next_digest.as_deref().unwrap_or("not scheduled")
    )?;
    Ok(ExitCode::from(code))
}

/// `backup PATH`: online backup to a temporary file beside PATH, checked
/// with `PRAGMA integrity_check`, then renamed into place.
pub fn backup(config: &Config, path: &Path, force: bool) -> Result<ExitCode> {
    if path.exists() && !force {
        bail!(
            "{} already exists; use --force to replace it",
            path.display()
        );
    }
    let db = open_existing(config)?;
    let tmp = PathBuf::from(format!("{}.partial", path.display()));
    remove_partial(&tmp);
    let copied = db
        .backup_to(&tmp)
        .and_then(|()| Db::integrity_check(&tmp))
        .and_then(|check| {
            anyhow::ensure!(
                check == "ok",
                "the copy failed its integrity check ({check}); nothing was written to {}",
                path.display()
            );
            std::fs::rename(&tmp, path)
                .with_context(|| format!("moving the backup to {}", path.display()))
        });
    // Only the copy stays: no temporary file or SQLite side file, whatever happened.
    remove_partial(&tmp);
    copied?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    say!(
        "backup written to {} ({:.1} MB), integrity ok",
        path.display(),
        bytes as f64 / 1e6
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Removes a temporary backup and the journal files SQLite may leave beside it.
fn remove_partial(tmp: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", tmp.display()));
    }
}

/// `companies discover [--write] [--limit N]`.
async fn companies_discover(
    config: &Config,
    config_path: &Path,
    write: bool,
    limit: usize,
) -> Result<ExitCode> {
    if write && !config_path.exists() {
        bail!(
            "--write needs a config file, and {} does not exist: create it with `air-demand init`",
            config_path.display()
        );
    }
    let db = open_existing(config)?;
    let discovery = crate::discover::discover(config, &db, limit).await?;
    for found in &discovery.found {
        say!(
            "{}: {} = {:?} ({} open role{})",
            crate::text::terminal(&found.company, 80),
            found.kind.source(),
            found.board,
            found.open_roles,
            if found.open_roles == 1 { "" } else { "s" }
        )?;
    }
    for failure in &discovery.failures {
        say!("could not ask: {}", crate::text::terminal(failure, 200))?;
    }
    if discovery.asked > 0 && discovery.unreachable.len() == crate::fetch::boards::Kind::ALL.len() {
        bail!(
            "could not reach Greenhouse, Lever or Ashby (each said once above): check the network, [boards] and any proxy (HTTPS_PROXY)"
        );
    }
    let companies: std::collections::HashSet<&str> =
        discovery.found.iter().map(|f| f.company.as_str()).collect();
    say!(
        "asked about {} compan{} not followed yet; found boards for {}",
        discovery.asked,
        if discovery.asked == 1 { "y" } else { "ies" },
        companies.len()
    )?;
    if discovery.found.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if write {
        let written = crate::discover::append_to_config(
            config_path,
            &crate::discover::entries(&discovery.found),
        )?;
        for note in &written.skipped {
            say!("skipped {note}")?;
        }
        if written.added.is_empty() {
            say!("nothing written: no proposal fits the config")?;
        } else {
            say!(
                "added {} compan{} to {}",
                written.added.len(),
                if written.added.len() == 1 { "y" } else { "ies" },
                config_path.display()
            )?;
        }
    } else {
        say!("nothing written: run again with --write to add them to the config")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `export --format csv|json`: the active roles, as the site's roles.csv/json.
pub fn export(
    config: &Config,
    format: ExportFormat,
    out: Option<&Path>,
    force: bool,
) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let lists = config.rules()?.lists;
    let mut roles = crate::site::model::role_views(&db, &lists, Utc::now())?;
    roles.retain(|r| r.status == "active" && r.is_paraform());
    let text = match format {
        ExportFormat::Csv => crate::site::feeds::roles_csv(&roles),
        ExportFormat::Json => crate::site::feeds::roles_json(&roles)?,
    };
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
        }
        Some(path) => {
            if path.exists() && !force {
                bail!(
                    "{} already exists; use --force to replace it",
                    path.display()
                );
            }
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            crate::logs::line(
                Level::Info,
                &format!("exported {} roles to {}", roles.len(), path.display()),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `site`: rebuild the site from the database.
pub fn site(config: &Config, env: &Env) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let now = Utc::now();
    let health = crate::schedule::health(config, env, &db, now)?;
    let built = crate::site::build(config, &db, now, &health)?;
    say!("{}", built.summary_line())?;
    Ok(ExitCode::SUCCESS)
}

/// `roles`: a table for people, or JSON.
pub fn roles(config: &Config, filter: RoleFilter, json: bool) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let roles = db.list_roles(&filter)?;
    let mut out = std::io::stdout().lock();
    if json {
        crate::text::write_json_list(&mut out, &roles)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    const HEADERS: [&str; 8] = [
        "TIER", "SCORE", "FEE", "SALARY", "TREND", "COMPANY", "TITLE", "ID",
    ];
    const RIGHT_ALIGNED: [bool; 8] = [false, true, true, true, false, false, false, false];
    let dash = || "-".to_string();
    let rows: Vec<[String; 8]> = roles
        .iter()
        .map(|role| {
            let tier = if role.status == "gone" {
                "gone".to_string()
            } else {
                role.tier.map(|t| t.to_string()).unwrap_or_else(dash)
            };
            [
                tier,
                role.combined_score
                    .map(|s| format!("{s:.2}"))
                    .unwrap_or_else(dash),
                role.fee_percent
                    .map(|f| format!("{f}%"))
                    .unwrap_or_else(dash),
                role.salary_max
                    .map(|s| {
                        if crate::role::plausible_salary(s as f64) {
                            format!("${}K", s / 1000)
                        } else {
                            crate::site::model::UNREADABLE_SALARY.into()
                        }
                    })
                    .unwrap_or_else(dash),
                role.trend.map(|t| t.to_string()).unwrap_or_else(dash),
                crate::text::terminal(role.company.as_deref().unwrap_or("-"), 24),
                crate::text::terminal(role.title.as_deref().unwrap_or("-"), 40),
                crate::text::terminal(&role.id, 60),
            ]
        })
        .collect();
    // Each column as wide as its widest cell, so every value sits under its header.
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = HEADERS.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[column] - cell.chars().count());
            let last = column == HEADERS.len() - 1;
            match (RIGHT_ALIGNED[column], last) {
                (true, _) => line.push_str(&format!("{pad}{cell}  ")),
                (false, false) => line.push_str(&format!("{cell}{pad}  ")),
                (false, true) => line.push_str(cell),
            }
        }
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "{} role{}",
        roles.len(),
        if roles.len() == 1 { "" } else { "s" }
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `roles --history ID`: one line per version (when, run, the top-level
/// fields it changed), or with `--json` every version with its full JSON.
pub fn history(config: &Config, id: &str, json: bool) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let Some(history) = db.role_history(id)? else {
        bail!("no role with id {id:?}; `air-demand roles --all` lists them");
    };
    let mut out = std::io::stdout().lock();
    if json {
        crate::text::write_json_list(&mut out, &history.versions)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = |t: &Option<String>| crate::text::terminal(t.as_deref().unwrap_or("-"), 200);
    writeln!(out, "{} — {}", text(&history.company), text(&history.title))?;
    let count = history.versions.len();
    let plural = if count == 1 { "" } else { "s" };
    writeln!(out, "{}  ({count} version{plural})", history.id)?;
    for (index, version) in history.versions.iter().enumerate() {
        let what = match (index, version.changed.as_slice()) {
            (0, _) => "first seen".to_string(),
            (_, []) => "no field changed".to_string(),
            (_, fields) => {
                let names: Vec<String> = fields
                    .iter()
                    .map(|f| crate::text::terminal(f, 60))
                    .collect();
                crate::text::terminal(&names.join(", "), 200)
            }
        };
        writeln!(
            out,
            "{}  run {:<5} {what}",
            crate::text::terminal(&version.observed_at, 40),
            version.run_id
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `roles --explain ID`: the stored verdict, every reason and component.
pub fn explain(config: &Config, id: &str, json: bool) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let Some(role) = db.explain_role(id)? else {
        bail!("no role with id {id:?}; `air-demand roles --all` lists them");
    };
    // Lists of sentences; an unreadable one reads as empty.
    let sentences = |text: &Option<String>| -> Vec<String> {
        text.as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    };
    let reasons = sentences(&role.reasons);
    let signals = sentences(&role.signals);
    let breakdown = Breakdown::parse(role.score_breakdown.as_deref());
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "role": role.role, "reasons": reasons, "signals": signals, "score_breakdown": breakdown,
            "company_notes": role.company_notes, "detail_fetched_at": role.detail_fetched_at,
        });
        out.write_all(crate::text::json_pretty(&value)?.as_bytes())?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let r = &role.role;
    let text = |t: &Option<String>| crate::text::terminal(t.as_deref().unwrap_or("-"), 200);
    writeln!(out, "{} — {}", text(&r.company), text(&r.title))?;
    writeln!(
        out,
        "{}  ({}{})",
        r.id,
        r.status,
        r.gone_at
            .as_ref()
            .map(|g| format!(" since {g}"))
            .unwrap_or_default()
    )?;
    writeln!(out, "{}", text(&r.url))?;
    writeln!(out)?;
    let Some(tier) = &r.tier else {
        writeln!(out, "not evaluated yet: run `air-demand requalify`")?;
        return Ok(ExitCode::SUCCESS);
    };
    writeln!(
        out,
        "Tier {tier}{}",
        r.trend
            .as_ref()
            .map(|t| format!(", trend {t}"))
            .unwrap_or_default()
    )?;
    for reason in &reasons {
        writeln!(out, "  {}", crate::text::terminal(reason, 200))?;
    }
    if !signals.is_empty() {
        writeln!(out, "Signals")?;
        for signal in &signals {
            writeln!(out, "  • {}", crate::text::terminal(signal, 200))?;
        }
    }
    let score = |v: Option<f64>| v.map(|s| format!("{s:.2}")).unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "Scores: combined {} (engineer {}, headhunter {}); excitement {}",
        score(r.combined_score),
        score(role.engineer_score),
        score(role.headhunter_score),
        score(role.excitement_score)
    )?;
    let breakdown = breakdown.unwrap_or_default();
    for (name, score) in breakdown.scores() {
        writeln!(out, "  {name} {}", score.value)?;
        for c in &score.components {
            writeln!(
                out,
                "    {} {:<22} {:<6} {}",
                c.weight_label(),
                crate::text::terminal(&c.name, 40),
                c.value,
                crate::text::terminal(&crate::text::short_numbers(&c.detail), 120)
            )?;
        }
    }
    if !breakdown.defaulted.is_empty() {
        writeln!(out, "Defaulted inputs")?;
        for input in &breakdown.defaulted {
            writeln!(out, "  • {}", crate::text::terminal(input, 200))?;
        }
    }
    if let Some(notes) = &role.company_notes {
        writeln!(out, "Company notes: {}", crate::text::terminal(notes, 300))?;
    }
    // What a model contributed, apart from the rules' verdict.
    if let Some(model) = breakdown
        .excitement
        .components
        .iter()
        .find(|c| c.name == "model")
    {
        writeln!(
            out,
            "Excitement (model): {}",
            crate::text::terminal(&model.detail, 800)
        )?;
    }
    if let Some(answer) = db.role_intel_answer(&r.id)?
        && let Some(intel) = answer
            .answer
            .as_deref()
            .and_then(|a| serde_json::from_str::<crate::llm::RoleIntel>(a).ok())
    {
        writeln!(
            out,
            "Model intel ({}, from the company notes and selling points, {})",
            crate::text::terminal(&answer.model, 80),
            answer.created_at
        )?;
        for (label, value) in intel.facts() {
            writeln!(out, "  {label}: {}", crate::text::terminal(&value, 300))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `brief ID`: a role's briefing; `--regenerate` writes it again from the
/// stored detail (one model call, whatever the cache holds).
pub async fn brief(
    config: &Config,
    env: &Env,
    id: &str,
    regenerate: bool,
    json: bool,
) -> Result<ExitCode> {
    let mut db = open_existing(config)?;
    let Some(role) = db.explain_role(id)? else {
        bail!("no role with id {id:?}; `air-demand roles --all` lists them");
    };
    let role_id = role.role.id.clone();
    let answer = if regenerate {
        let stored = db
            .stored_role(&role_id)?
            .context("the role vanished while being read")?;
        let Some(detail) = crate::assess::parse_detail(stored.detail.as_deref()) else {
            bail!(
                "role {role_id} has no stored detail to brief from: a scrape fetches it once the role passes the hard filters"
            );
        };
        let raw: serde_json::Value = serde_json::from_str(&stored.raw).unwrap_or_default();
        let rules = config.rules()?;
        let answer = crate::llm::enrich::regenerate_briefing(
            &config.llm,
            env,
            &raw,
            &detail,
            &rules,
            Utc::now(),
        )
        .await
        .map_err(|err| anyhow::anyhow!("the briefing of {role_id} was not written: {err}"))?;
        db.save_llm_answers(std::slice::from_ref(&answer))
            .and_then(|()| db.set_briefing_key(&role_id, &answer.key))
            .context("keeping the new briefing")?;
        answer
    } else {
        match db.role_briefing(&role_id)? {
            Some(answer) => answer,
            None => bail!(
                "role {role_id} has no briefing: with [llm] enabled, a scrape writes one for QUALIFIED roles with a combined score of at least {:.2}; `air-demand brief {id} --regenerate` writes one now",
                config.llm.briefing_min_score
            ),
        }
    };
    let Some(briefing) = answer
        .answer
        .as_deref()
        .and_then(|a| serde_json::from_str::<crate::llm::Briefing>(a).ok())
    else {
        bail!(
            "the stored briefing of {role_id} cannot be read; `air-demand brief {id} --regenerate` writes it again"
        );
    };
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "role": role_id, "model": answer.model, "prompt_version": answer.prompt_version,
            "created_at": answer.created_at, "briefing": briefing,
        });
        out.write_all(crate::text::json_pretty(&value)?.as_bytes())?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = |t: &Option<String>| crate::text::terminal(t.as_deref().unwrap_or("-"), 200);
    writeln!(
        out,
        "Briefing: {} — {}",
        text(&role.role.company),
        text(&role.role.title)
    )?;
    let (gaps, of) = briefing.gaps();
    writeln!(
        out,
        "Written by the model {} on {} (prompt v{}); not checked by a person. {gaps} of {of} parts need research (marked ?).",
        crate::text::terminal(&answer.model, 80),
        answer.created_at,
        crate::text::terminal(&answer.prompt_version, 20)
    )?;
    writeln!(out)?;
    for line in briefing.terminal_lines() {
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `rules`: the rules of this configuration, written out.
pub fn rules(config: &Config, config_path: &Path) -> Result<ExitCode> {
    let rules = config.rules()?;
    let source = if config_path.exists() {
        config_path.display().to_string()
    } else {
        "the built-in defaults".to_string()
    };
    let text = crate::evaluate::describe::describe(&rules, &source);
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `requalify`: every stored role against the current rules; prints the moves.
pub fn requalify(config: &Config) -> Result<ExitCode> {
    if !config.database_path().exists() {
        bail!(
            "no database at {}: run `air-demand scrape` first",
            config.database_path().display()
        );
    }
    let report = crate::assess::requalify(config, Utc::now())?;
    let moved: usize = report.moves.values().sum();
    say!(
        "requalified {} roles: {} verdicts updated, {moved} moved between tiers",
        report.evaluated,
        report.updated
    )?;
    for ((from, to), n) in &report.moves {
        say!("  {from} -> {to}: {n}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `changes --since`: oldest first.
pub fn changes(config: &Config, since: &str, json: bool) -> Result<ExitCode> {
    let since = parse_since(since, Utc::now())?;
    let db = open_existing(config)?;
    let changes = db.list_changes(since)?;
    let mut out = std::io::stdout().lock();
    if json {
        crate::text::write_json_list(&mut out, &changes)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let lists = config.rules()?.lists;
    for change in &changes {
        let values = crate::vocab::terminal_line(
            &lists,
            change.kind,
            change.field.as_deref(),
            change.old_value.as_deref(),
            change.new_value.as_deref(),
        );
        writeln!(
            out,
            "{}  {:<18} {:<9} {} — {}{}",
            change.detected_at,
            change.kind,
            crate::vocab::source_name(&change.role_id),
            crate::text::terminal(change.company.as_deref().unwrap_or("-"), 30),
            crate::text::terminal(change.title.as_deref().unwrap_or("-"), 50),
            values
        )?;
    }
    writeln!(
        out,
        "{} change{} since {}",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        crate::role::timestamp(since)
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The one source `session import` was given (clap allows exactly one).
/// `--cookie` takes only `-`: a value on the command line would stay in the
/// shell's history and the process list, so it is refused unread.
fn import_source(
    file: Option<PathBuf>,
    from_firefox: Option<Option<PathBuf>>,
    cookie: Option<String>,
    expires: Option<String>,
) -> Result<ImportSource> {
    if let Some(cookie) = cookie {
        if cookie != "-" {
            return Err(UsageError(
                "--cookie takes `-` and reads the value from standard input (a value on the command line would stay in your shell history): `air-demand session import --cookie - < token.txt`".into(),
            )
            .into());
        }
        return Ok(ImportSource::Cookie { expires });
    }
    if expires.is_some() {
        return Err(UsageError(
            "--expires goes with --cookie -: a file or Firefox says when its cookies expire".into(),
        )
        .into());
    }
    if let Some(profile) = from_firefox {
        return Ok(ImportSource::Firefox(profile));
    }
    match file {
        Some(file) => Ok(ImportSource::File(file)),
        None => Err(UsageError(
            "`air-demand session import` needs a source: FILE, --from-firefox [PROFILE_DIR] or --cookie -".into(),
        )
        .into()),
    }
}

/// `session import FILE | --from-firefox [PROFILE_DIR] | --cookie -`:
/// installs the session at `session_file` (mode 0600), says what it read,
/// and, when `PARAFORM_SESSION_JSON` is set, that the variable still wins.
pub fn session_import(config: &Config, env: &Env, source: &ImportSource) -> Result<ExitCode> {
    let dest = config.session_file();
    let base_url = &config.paraform.base_url;
    let now = Utc::now();
    let (session, from) = match source {
        ImportSource::File(file) => {
            let (session, format) = session::import_file(file, &dest, base_url, now)?;
            (
                session,
                format!("{} ({})", file.display(), format.describe()),
            )
        }
        ImportSource::Firefox(profile) => {
            let home = std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(PathBuf::from);
            let (session, profile) =
                session::import_firefox(profile.as_deref(), home.as_deref(), &dest, base_url, now)?;
            (
                session,
                format!("the Firefox profile {}", profile.display()),
            )
        }
        ImportSource::Cookie { expires } => {
            let expires = expires
                .as_deref()
                .map(|text| session::formats::parse_expires(text, now))
                .transpose()
                .map_err(|err| UsageError::of(&err))?;
            let value = read_cookie_from_stdin()?;
            let session = session::import_cookie_value(value, expires, &dest, base_url, now)?;
            (session, "standard input".to_string())
        }
    };
    let count = session.cookie_count();
    say!(
        "installed the Paraform session from {from} ({count} cookie{} for {}) at {} (mode 0600)",
        if count == 1 { "" } else { "s" },
        session::base_host(base_url).unwrap_or_default(),
        dest.display()
    )?;
    say!("{}", session::describe_expiry(&session, now))?;
    if let Some(notice) = session::env_wins_notice(env.var(SESSION_ENV).as_deref(), &dest) {
        crate::logs::line(Level::Info, &notice);
    }
    Ok(ExitCode::SUCCESS)
}

/// The bare cookie value from standard input; on a terminal, one pasted
/// line after a prompt on stderr.
fn read_cookie_from_stdin() -> Result<String> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprintln!(
            "paste the value of the {} cookie, then press Enter:",
            session::SESSION_COOKIES[0]
        );
    }
    session::formats::read_cookie_value(stdin.lock(), interactive)
}

/// `session login`: the browser sign-in (issue 21, the browser side).
pub fn session_login(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
    env: &Env,
    browser: Option<&Path>,
    headless: bool,
    timeout: &str,
) -> Result<ExitCode> {
    #[cfg(feature = "browser")]
    {
        let timeout = crate::login::parse_timeout(timeout).map_err(|err| UsageError::of(&err))?;
        let browser = crate::browser::find(
            browser,
            env.var(crate::fetch::BROWSER_ENV),
            std::env::var_os("PATH"),
        )
        .map_err(|err| anyhow::anyhow!("{err} (the installed session was kept)"))?;
        let dest = config.session_file();
        let base_url = &config.paraform.base_url;
        let window = if headless {
            crate::browser::Window::Headless
        } else {
            crate::browser::Window::Visible
        };
        if !headless {
            eprintln!(
                "opening {}/login in {}: sign in there; this waits up to {} and closes the window when done",
                base_url.trim_end_matches('/'),
                browser.display(),
                crate::login::describe(timeout)
            );
        }
        let now = Utc::now();
        let session = runtime.block_on(crate::login::login(&crate::login::Login {
            browser,
            window,
            timeout,
            base_url,
            dest: &dest,
            now,
        }))?;
        say!(
            "installed the Paraform session from the browser login ({} cookie{} for {}) at {} (mode 0600)",
            session.cookie_count(),
            if session.cookie_count() == 1 { "" } else { "s" },
            session::base_host(base_url).unwrap_or_default(),
            dest.display()
        )?;
        say!("{}", session::describe_expiry(&session, Utc::now()))?;
        if let Some(notice) = session::env_wins_notice(env.var(SESSION_ENV).as_deref(), &dest) {
            crate::logs::line(Level::Info, &notice);
        }
        Ok(ExitCode::SUCCESS)
    }
    #[cfg(not(feature = "browser"))]
    {
        let _ = (runtime, config, env, browser, headless, timeout);
        bail!(
            "this air-demand was built without browser support (the `browser` cargo feature): rebuild it with the default features, or install a session with `air-demand session import` (a cookies.txt, a Cookie-Editor export, --from-firefox or --cookie -)"
        )
    }
}

/// `session export --base64`: the session in force as one base64 line on
/// stdout (the value for `PARAFORM_SESSION_JSON`); where it was read from on
/// stderr.
pub fn session_export(config: &Config, env: &Env) -> Result<ExitCode> {
    let now = Utc::now();
    let (encoded, session) =
        session::export_base64(&config.session_file(), env.var(SESSION_ENV), now)?;
    say!("{encoded}")?;
    let expiry = match session.expires_at() {
        Some(at) => format!("expires on {}", at.format("%Y-%m-%d %H:%M UTC")),
        None => "a browser-session cookie with no expiry date".to_string(),
    };
    crate::logs::line(
        Level::Info,
        &format!(
            "exported the Paraform session from {} ({expiry}): set {SESSION_ENV} to the line above on the server; it is a secret, a login to your account",
            session.origin
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// `session status`: where the session was read from and when it expires;
/// exit 0 while valid, 1 when missing or expired. With the variable set and
/// a session file present, says the file is ignored.
pub fn session_status(config: &Config, env: &Env) -> Result<ExitCode> {
    let file = config.session_file();
    let Some(session) = Session::load(&file, env.var(SESSION_ENV))? else {
        bail!(
            "no Paraform session at {} (and {SESSION_ENV} is not set): run `air-demand session import FILE`",
            file.display()
        );
    };
    let now = Utc::now();
    say!("{}", session::describe_expiry(&session, now))?;
    if session.is_from_env() && file.exists() {
        say!(
            "note: {} is ignored while {SESSION_ENV} is set; unset the variable (in the environment, the [secrets] env_file or the .env beside the config) to use the file",
            file.display()
        )?;
    }
    Ok(if session.is_expired(now) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(feature = "simulator")]
async fn simulate(
    port: u16,
    seed: u64,
    roles: u64,
    page_size: usize,
    browser_required: bool,
) -> Result<ExitCode> {
    let max = crate::sim::MAX_ROLES;
    let roles = usize::try_from(roles)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| {
            UsageError(format!(
                "--roles {roles} is more than the simulator holds: give a number from 0 to {max}"
            ))
        })?;
    let options = crate::sim::SimOptions {
        seed,
        roles,
        page_size: (page_size > 0).then_some(page_size),
        boards: true,
        browser_required,
        ..Default::default()
    };
    let paging = match options.page_size {
        Some(size) => format!(", pages of {size}"),
        None => String::new(),
    };
    say!(
        "simulated Paraform on http://127.0.0.1:{port} (seed {seed}, {roles} roles{paging}{}); session token {:?}; `air-demand session login` signs in at http://127.0.0.1:{port}/login; Ctrl-C stops it",
        if browser_required {
            ", browser required"
        } else {
            ""
        },
        options.session_token
    )?;
    for board in crate::sim::boards_of(&options) {
        say!(
            "  company board: [[companies]] name = {:?}, {} = {:?} (every API at the same address)",
            board.company,
            board.kind.source(),
            board.board
        )?;
    }
    tokio::select! {
        served = crate::sim::serve_forever(options, port) => served.with_context(|| format!("serving on 127.0.0.1:{port}"))?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn open_existing(config: &Config) -> Result<Db> {
    let path = config.database_path();
    if !path.exists() {
        bail!(
            "no database at {}: run `air-demand init` or `air-demand scrape` first",
            path.display()
        );
    }
    Db::open(&path)
}

/// A command-line mistake as clap renders it (sentence, indented details,
/// tips, usage) folded into one line: the sentence with its details, the
/// tip, and the `--help` that describes the command `args` were aimed at.
pub fn usage_error_line(rendered: &str, args: &[String]) -> String {
    let mut paragraphs = rendered.trim().split("\n\n");
    let sentence = paragraphs
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let sentence = sentence.strip_prefix("error: ").unwrap_or(&sentence);
    let tips: Vec<&str> = paragraphs
        .flat_map(str::lines)
        .filter_map(|line| line.trim().strip_prefix("tip: "))
        .collect();
    let tips = if tips.is_empty() {
        String::new()
    } else {
        format!(" ({})", tips.join("; "))
    };
    format!(
        "{sentence}{tips}; `{} --help` lists what it takes",
        command_path(args)
    )
}

/// `air-demand session import`: the subcommands named in `args`.
fn command_path(args: &[String]) -> String {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut path = vec!["air-demand".to_string()];
    for arg in args {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_string());
        command = sub;
    }
    path.join(" ")
}

/// A command that needs a subcommand and got none (`air-demand session`), as one line.
pub fn missing_command_line(args: &[String]) -> String {
    use clap::CommandFactory;
    let mut command = Cli::command();
    for arg in args {
        if let Some(sub) = command.find_subcommand(arg).cloned() {
            command = sub;
        }
    }
    let names: Vec<&str> = command
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|name| *name != "help")
        .collect();
    format!(
        "`{}` needs a command, one of: {}; `{} --help` describes them",
        command_path(args),
        names.join(", "),
        command_path(args)
    )
}

/// `24h`, `7d`, `2w`, `90m`, `2025-12-19`, or RFC 3339. A span too long to
/// count back from `now` is an error, never an overflow; any error is a
/// command-line mistake.
pub fn parse_since(
    text: &str,
    now: DateTime<Utc>,
) -> std::result::Result<DateTime<Utc>, UsageError> {
    let text = text.trim();
    let unit_at = text.char_indices().last().map(|(at, _)| at).unwrap_or(0);
    let (number, unit) = text.split_at(unit_at);
    let digits = number.strip_prefix(['-', '+']).unwrap_or(number);
    if matches!(unit, "m" | "h" | "d" | "w")
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        if number.starts_with('-') {
            return Err(UsageError(format!(
                "--since {text:?} is a negative span: give how far back to look, like 24h or 7d"
            )));
        }
        let span = digits.parse::<i64>().ok().and_then(|n| match unit {
            "m" => chrono::Duration::try_minutes(n),
            "h" => chrono::Duration::try_hours(n),
            "d" => chrono::Duration::try_days(n),
            _ => chrono::Duration::try_weeks(n),
        });
        return span
            .and_then(|span| now.checked_sub_signed(span))
            .ok_or_else(|| {
                UsageError(format!("--since {text:?} reaches back further than a date can: give a shorter span or a date like 2025-12-19"))
            });
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    Err(UsageError(format!(
        "--since {text:?} is not a span like 24h or 7d, a date like 2025-12-19, or an RFC 3339 time"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = DateTime::parse_from_rfc3339("2025-12-19T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let check = |text: &str, expected: &str| {
            assert_eq!(
                crate::role::timestamp(parse_since(text, now).unwrap()),
                expected,
                "{text}"
            );
        };
        check("24h", "2025-12-18T12:00:00Z");
        check("7d", "2025-12-12T12:00:00Z");
        check("2w", "2025-12-05T12:00:00Z");
        check("90m", "2025-12-19T10:30:00Z");
        check("2025-12-01", "2025-12-01T00:00:00Z");
        check("2025-12-01T08:00:00+01:00", "2025-12-01T07:00:00Z");
        check("0d", "2025-12-19T12:00:00Z");
        assert!(
            parse_since("-1d", now)
                .unwrap_err()
                .to_string()
                .contains("negative span")
        );
        for huge in [
            "99999999d",
            "9223372036854775807w",
            "99999999999999999999h",
            "+99999999d",
        ] {
            let err = parse_since(huge, now).unwrap_err().to_string();
            assert!(err.contains("shorter span"), "{huge}: {err}");
        }
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("", now).is_err());
        assert!(parse_since("é", now).is_err());
    }

    #[test]
    fn every_command_argument_and_flag_has_one_line_help() {
        use clap::CommandFactory;
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                if help.trim().is_empty() || help.contains('\n') {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "air-demand", &mut missing);
        assert!(missing.is_empty(), "no one-line help: {missing:?}");
    }

    #[test]
    fn usage_errors_fold_into_one_line() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let rendered = "error: the following required arguments were not provided:\n  --format <FORMAT>\n\nUsage: air-demand export --format <FORMAT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(rendered, &args(&["export"])),
            "the following required arguments were not provided: --format <FORMAT>; `air-demand export --help` lists what it takes"
        );
        let rendered = "error: unrecognized subcommand 'rols'\n\n  tip: a similar subcommand exists: 'roles'\n\nUsage: air-demand [OPTIONS] <COMMAND>\n";
        assert_eq!(
            usage_error_line(rendered, &args(&["rols"])),
            "unrecognized subcommand 'rols' (a similar subcommand exists: 'roles'); `air-demand --help` lists what it takes"
        );
        assert_eq!(
            missing_command_line(&args(&["--config", "x.toml", "session"])),
            "`air-demand session` needs a command, one of: import, login, export, status; `air-demand session --help` describes them"
        );
    }
}
