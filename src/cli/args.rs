//! The command line as clap reads it: the flags, the commands and their
//! arguments. No behaviour: `run` (in `cli`) dispatches on these.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::logs::LogFormat;

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
    /// slugs tried against Greenhouse, Lever, Ashby, Workable,
    /// SmartRecruiters and Recruitee (a 404 means no); or, with `--careers
    /// URL`, read a careers page and propose following it.
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
        /// Instead, read this careers page for schema.org JobPostings (or
        /// the job pages it links) and propose following it.
        #[arg(long, value_name = "URL")]
        careers: Option<String>,
        /// The company's name for `--careers` (else the postings' hiring
        /// organization, else the page's host).
        #[arg(long, requires = "careers")]
        name: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
