//! `session import`, `session login`, `session export` and `session
//! status`: the Paraform session installed, signed in, exported and
//! inspected. `session status`'s text comes from a pure function
//! (`status_lines`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::{ImportSource, UsageError, write_lines};
use crate::config::{Config, Env};
use crate::logs::Level;
use crate::session::{self, SESSION_ENV, Session};

/// The one source `session import` was given (clap allows exactly one).
/// `--cookie` takes only `-`: a value on the command line would stay in the
/// shell's history and the process list, so it is refused unread.
pub(super) fn import_source(
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
    write_lines(&status_lines(&session, &file, file.exists(), now))?;
    Ok(if session.is_expired(now) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `session status` for people: when the session in force expires (as of
/// `now`) and where it was read from; when it came from the variable while
/// a session file exists (`file_exists`), that the file is ignored.
pub fn status_lines(
    session: &Session,
    file: &Path,
    file_exists: bool,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut lines = vec![session::describe_expiry(session, now)];
    if session.is_from_env() && file_exists {
        lines.push(format!(
            "note: {} is ignored while {SESSION_ENV} is set; unset the variable (in the environment, the [secrets] env_file or the .env beside the config) to use the file",
            file.display()
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const SAMPLE: &str = include_str!("../../tests/fixtures/storage_state.sample.json");

    fn check(lines: Vec<String>, expected: &str) {
        assert_eq!(super::super::lines_text(&lines), expected);
    }

    /// 2025-12-01: before the sample's session cookie expires.
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_547_200, 0).unwrap()
    }

    #[test]
    fn status_of_a_session_file() {
        let session = Session::parse(SAMPLE, "data/paraform_session.json").unwrap();
        let file = Path::new("data/paraform_session.json");
        let expected = "Paraform session from data/paraform_session.json expires on 2026-01-01 00:00 UTC (in 31 days)\n";
        // A file read is the session in force: no note, whether or not it still exists.
        check(status_lines(&session, file, true, now()), expected);
        check(status_lines(&session, file, false, now()), expected);
    }

    #[test]
    fn status_from_the_variable_says_the_file_is_ignored() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(SAMPLE);
        let file = Path::new("/nonexistent/paraform_session.json");
        let session = Session::load(file, Some(encoded)).unwrap().unwrap();
        let expiry = format!(
            "Paraform session from {SESSION_ENV} expires on 2026-01-01 00:00 UTC (in 31 days)"
        );
        check(
            status_lines(&session, file, true, now()),
            &format!(
                "{expiry}\nnote: /nonexistent/paraform_session.json is ignored while {SESSION_ENV} is set; unset the variable (in the environment, the [secrets] env_file or the .env beside the config) to use the file\n"
            ),
        );
        check(
            status_lines(&session, file, false, now()),
            &format!("{expiry}\n"),
        );
    }
}
