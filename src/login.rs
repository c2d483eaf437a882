//! `session login`: a person signs in to Paraform in a window of their own
//! Chromium or Chrome (a fresh temporary profile, nothing of theirs
//! touched); once the session cookie exists it is read over the DevTools
//! protocol, with the site's localStorage, and installed exactly as an
//! imported session is (`session::install_cookies`). Whatever goes wrong,
//! the installed session is kept and the browser is gone.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chromiumoxide::cdp::browser_protocol::network::CookieSameSite;
use chromiumoxide::cdp::browser_protocol::target::GetTargetsParams;
use chrono::{DateTime, Utc};

use crate::browser::{Chromium, Window};
use crate::session::{self, CookieRecord, OriginStorage, SESSION_COOKIES, Session};

/// How long the login may take unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: &str = "10m";
/// How often the browser's cookies are looked at.
const POLL: Duration = Duration::from_millis(250);

/// What `session login` was asked to do.
pub struct Login<'a> {
    pub browser: PathBuf,
    pub window: Window,
    pub timeout: Duration,
    pub base_url: &'a str,
    /// Where the session is installed (`[paraform] session_file`).
    pub dest: &'a Path,
    pub now: DateTime<Utc>,
}

/// Opens `{base_url}/login`, waits for the session cookie, installs the
/// session and closes the browser.
pub async fn login(login: &Login<'_>) -> Result<Session> {
    let base = reqwest::Url::parse(login.base_url)
        .with_context(|| format!("[paraform] base_url {:?} is not a URL", login.base_url))?;
    let host = base
        .host_str()
        .map(str::to_ascii_lowercase)
        .with_context(|| format!("[paraform] base_url {:?} has no host", login.base_url))?;
    let origin = base.origin().ascii_serialization();
    let kept = "the installed session was kept";
    let chromium = Chromium::launch(&login.browser, login.window, Duration::from_secs(30))
        .await
        .map_err(|err| anyhow::anyhow!("{err} ({kept})"))?;
    let login_url = format!("{}/login", login.base_url.trim_end_matches('/'));
    let page = match chromium.browser.new_page(login_url.as_str()).await {
        Ok(page) => page,
        // Closed while the page was loading.
        Err(_) if !has_window(&chromium).await => bail!("{}", closed()),
        Err(err) => bail!("cannot open {login_url} in the browser: {err} ({kept})"),
    };
    let waited = tokio::select! {
        waited = wait_for_session(&chromium, &host, login.timeout) => waited,
        _ = tokio::signal::ctrl_c() => Err(Waiting::Interrupted),
    };
    let cookies = match waited {
        Ok(cookies) => cookies,
        Err(Waiting::Closed) => bail!("{}", closed()),
        Err(Waiting::TimedOut) => bail!(
            "the login did not finish within {}: run `air-demand session login` again, with --timeout for longer ({kept})",
            describe(login.timeout)
        ),
        Err(Waiting::Interrupted) => bail!("interrupted before the login finished ({kept})"),
    };
    let local_storage = read_local_storage(&page, &origin).await;
    let _ = page.close().await;
    chromium.close().await;
    let origins = vec![OriginStorage {
        origin,
        local_storage,
    }];
    session::install_cookies(
        cookies,
        origins,
        login.dest,
        login.base_url,
        login.now,
        "the browser login",
    )
}

fn closed() -> String {
    "the browser window was closed before the login finished: run `air-demand session login` again (the installed session was kept)".into()
}

enum Waiting {
    Closed,
    TimedOut,
    Interrupted,
}

/// Polls the browser's cookies until one of [`SESSION_COOKIES`] exists for
/// `host`; then returns every cookie for `host`.
async fn wait_for_session(
    chromium: &Chromium,
    host: &str,
    timeout: Duration,
) -> Result<Vec<CookieRecord>, Waiting> {
    let deadline = Instant::now() + timeout;
    loop {
        if !has_window(chromium).await {
            return Err(Waiting::Closed);
        }
        if let Ok(cookies) = chromium.browser.get_cookies().await {
            let for_host: Vec<CookieRecord> = cookies
                .into_iter()
                .filter(|c| session::domain_matches(&c.domain, host))
                .map(|c| CookieRecord {
                    name: c.name,
                    value: c.value,
                    domain: c.domain,
                    path: c.path,
                    expires: Some(c.expires).filter(|_| !c.session),
                    http_only: c.http_only,
                    secure: c.secure,
                    same_site: c.same_site.map(|s| same_site(&s).to_string()),
                })
                .collect();
            let signed_in = for_host
                .iter()
                .any(|c| SESSION_COOKIES.contains(&c.name.as_str()) && !c.value.is_empty());
            if signed_in {
                return Ok(for_host);
            }
        }
        if Instant::now() >= deadline {
            return Err(Waiting::TimedOut);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the browser still shows a page: closing the last window either
/// ends the browser or leaves it with no page target.
async fn has_window(chromium: &Chromium) -> bool {
    match chromium.browser.execute(GetTargetsParams::default()).await {
        Ok(targets) => targets
            .result
            .target_infos
            .iter()
            .any(|t| t.r#type == "page"),
        Err(_) => false,
    }
}

fn same_site(value: &CookieSameSite) -> &'static str {
    match value {
        CookieSameSite::Strict => "Strict",
        CookieSameSite::Lax => "Lax",
        CookieSameSite::None => "None",
    }
}

/// The page's localStorage when it is at `origin` (Playwright keeps it in
/// `storage_state`); nothing when the page has gone elsewhere.
async fn read_local_storage(page: &chromiumoxide::Page, origin: &str) -> Vec<(String, String)> {
    let script = format!(
        "location.origin === {} ? Object.entries(localStorage) : []",
        serde_json::to_string(origin).unwrap_or_else(|_| "\"\"".into())
    );
    match page.evaluate(script).await {
        Ok(result) => result
            .into_value::<Vec<(String, String)>>()
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// `--timeout`: `90s`, `10m`, `1h`; from 1 second to 24 hours.
pub fn parse_timeout(text: &str) -> Result<Duration> {
    let text = text.trim();
    let unit_at = text.char_indices().last().map(|(at, _)| at).unwrap_or(0);
    let (number, unit) = text.split_at(unit_at);
    let seconds = number.parse::<u64>().ok().and_then(|n| match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    });
    match seconds {
        Some(s) if (1..=86_400).contains(&s) => Ok(Duration::from_secs(s)),
        _ => bail!("--timeout {text:?} is not a duration from 1s to 24h, like 90s, 10m or 1h"),
    }
}

/// "10 min", "90 s", "1 h".
pub fn describe(timeout: Duration) -> String {
    let secs = timeout.as_secs();
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_timeout("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timeout(" 1h ").unwrap(), Duration::from_secs(3600));
        for bad in [
            "",
            "0s",
            "25h",
            "10",
            "m",
            "-5m",
            "1.5m",
            "99999999999999999999h",
        ] {
            let err = parse_timeout(bad).unwrap_err().to_string();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
        assert_eq!(describe(Duration::from_secs(600)), "10 min");
        assert_eq!(describe(Duration::from_secs(90)), "90 s");
    }
}
