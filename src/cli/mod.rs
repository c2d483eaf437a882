//! The command line: flags (clap, `args`), dispatch (`run`), and one file per
//! command group that calls into the stages and prints for people. Each
//! command's text comes from a pure function beside it (data in, text out),
//! which its unit tests check; the command writes what it returns. Exit
//! codes follow SPEC §1.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::config::{Config, DEFAULT_CONFIG_PATH, Env};
use crate::evaluate::Tier;
use crate::logs::Level;
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
        $crate::cli::ignore_closed_stdout(writeln!(std::io::stdout(), $($arg)*))
    };
}

mod args;
mod brief;
mod changes;
mod companies;
mod jobs;
mod ops;
mod roles;
mod session;
mod simulator;
mod usage;

pub use crate::logs::LogFormat;
pub use args::{Cli, Command, CompaniesAction, ExportFormat, ImportSource, SessionAction};
pub use brief::brief;
pub use changes::changes;
pub use jobs::{digest, scrape};
pub use ops::{backup, export, init, requalify, rules, site, status};
pub use roles::{explain, history, roles};
pub use session::{session_export, session_import, session_login, session_status};
pub use usage::{
    UsageError, missing_command_line, parse_since, usage_error_line, usage_mistake_line,
};

/// A write to a stdout nobody reads any more counts as done.
pub(crate) fn ignore_closed_stdout(written: std::io::Result<()>) -> std::io::Result<()> {
    match written {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes a command's text to stdout in one go; a closed stdout is an
/// error (BrokenPipe), which `main` ends quietly.
fn write_out(text: &str) -> std::io::Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())
}

/// Writes a command's lines, each ended by a newline, as [`write_out`].
fn write_lines(lines: &[String]) -> std::io::Result<()> {
    write_out(&lines_text(lines))
}

/// Lines as one text, each ended by a newline.
fn lines_text(lines: &[String]) -> String {
    let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
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
                write_out(&ops::unusable_config_text(&problem, json))?;
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
            action:
                CompaniesAction::Discover {
                    write,
                    limit,
                    careers,
                    name,
                },
        } => {
            let config = load()?.0;
            let path = explicit_config.unwrap_or(Path::new(DEFAULT_CONFIG_PATH));
            match careers {
                Some(url) => runtime.block_on(companies::discover_careers(
                    &config,
                    path,
                    write,
                    &url,
                    name.as_deref(),
                )),
                None => runtime.block_on(companies::discover(&config, path, write, limit)),
            }
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
            let source = session::import_source(file, from_firefox, cookie, expires)?;
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
        } => runtime.block_on(simulator::simulate(
            port,
            seed,
            roles,
            page_size,
            browser_required,
        )),
        // The commands stay listed in a production build, so that they can
        // say why they do nothing rather than be an unknown command.
        #[cfg(not(feature = "simulator"))]
        Command::Demo { .. } => bail!("{}", simulator::without_simulator("the demo")),
        #[cfg(not(feature = "simulator"))]
        Command::Simulate { .. } => bail!("{}", simulator::without_simulator("`simulate`")),
    }
}

/// What `demo` and `simulate` say in a build without the `simulator` feature.
/// The database the config names, which must exist already.
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
