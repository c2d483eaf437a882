//! The Paraform browser session: a Playwright `storage_state` file, from the
//! configured file or base64 in `PARAFORM_SESSION_JSON`; installing one from
//! whatever people have (`formats`: storage_state, Cookie-Editor JSON,
//! cookies.txt, a bare cookie value; `firefox`: a profile's cookies.sqlite),
//! always through [`install_cookies`]. Cookie values are secrets: nothing
//! here logs or prints them, and no error quotes them.

pub mod firefox;
pub mod formats;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use formats::Format;

/// NextAuth's session cookie on https; the plain name is used over http.
pub const SESSION_COOKIES: &[&str] = &[
    "__Secure-next-auth.session-token",
    "next-auth.session-token",
];
pub const SESSION_ENV: &str = "PARAFORM_SESSION_JSON";

/// More cookies than this for one host is no browser's export.
pub const MAX_COOKIES: usize = 1000;
/// A cookie's name and value together, in bytes: browsers keep 4 KiB.
pub const MAX_COOKIE_BYTES: usize = 16 * 1024;

/// One cookie as browsers and Playwright describe it. `expires` is in
/// seconds since the epoch; `None` is a browser-session cookie (Playwright's
/// -1). `same_site` is `"Strict"`, `"Lax"` or `"None"`; `None` when unset.
/// `Debug` hides the value.
#[derive(Clone, PartialEq)]
pub struct CookieRecord {
    pub name: String,
    pub value: String,
    pub domain: String,
    pub path: String,
    pub expires: Option<f64>,
    pub http_only: bool,
    pub secure: bool,
    pub same_site: Option<String>,
}

impl std::fmt::Debug for CookieRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieRecord")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("path", &self.path)
            .field("expires", &self.expires)
            .field("http_only", &self.http_only)
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .finish_non_exhaustive()
    }
}

/// One origin's localStorage, as Playwright keeps it in a storage_state
/// (`{"origin": ..., "localStorage": [{"name", "value"}]}`). `Debug` hides
/// the values.
#[derive(Clone, PartialEq)]
pub struct OriginStorage {
    pub origin: String,
    pub local_storage: Vec<(String, String)>,
}

impl std::fmt::Debug for OriginStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.local_storage.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("OriginStorage")
            .field("origin", &self.origin)
            .field("names", &names)
            .finish_non_exhaustive()
    }
}

/// A validated session.
#[derive(Clone)]
pub struct Session {
    cookies: Vec<CookieRecord>,
    origins: Vec<OriginStorage>,
    /// Where it came from, for messages ("data/paraform_session.json" or the env var).
    pub origin: String,
    from_env: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Parses and validates a storage_state document.
    pub fn parse(text: &str, origin: &str) -> Result<Session> {
        let (cookies, origins) =
            formats::storage_state_text(text, origin, "export it from a logged-in browser")?;
        let session = Session {
            cookies,
            origins,
            origin: origin.to_string(),
            from_env: false,
        };
        if session.session_cookie().is_none() {
            bail!(
                "{origin} has no Paraform session cookie ({}); log in to Paraform and export the state again",
                SESSION_COOKIES[0]
            );
        }
        Ok(session)
    }

    /// The configured session: `PARAFORM_SESSION_JSON` (base64) when set,
    /// else the session file; `None` when neither exists.
    pub fn load(session_file: &Path, env_value: Option<String>) -> Result<Option<Session>> {
        Ok(load_text(session_file, env_value)?.map(|(_, session)| session))
    }

    /// Whether it was read from `PARAFORM_SESSION_JSON`.
    pub fn is_from_env(&self) -> bool {
        self.from_env
    }

    /// Its cookies, for a browser to carry (values included: keep them secret).
    pub fn cookies(&self) -> Vec<CookieRecord> {
        self.cookies.clone()
    }

    /// Its origins' localStorage (values included: keep them secret).
    pub fn origins(&self) -> Vec<OriginStorage> {
        self.origins.clone()
    }

    pub fn cookie_count(&self) -> usize {
        self.cookies.len()
    }

    fn session_cookie(&self) -> Option<&CookieRecord> {
        SESSION_COOKIES.iter().find_map(|name| {
            self.cookies
                .iter()
                .find(|c| c.name == *name && !c.value.is_empty())
        })
    }

    /// When the session cookie expires; `None` for a browser-session cookie
    /// (`expires` -1 or absent), whose end the server alone knows.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.session_cookie()
            .and_then(|cookie| expiry_time(cookie.expires))
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }

    /// Why this session cannot log in to `base_url`: its session cookie was
    /// set for another domain, so it would never be sent. `None` when it fits.
    pub fn host_mismatch(&self, base_url: &str) -> Option<String> {
        let host = base_host(base_url)?;
        let fits = self.cookies.iter().any(|cookie| {
            SESSION_COOKIES.contains(&cookie.name.as_str())
                && !cookie.value.is_empty()
                && domain_matches(&cookie.domain, &host)
        });
        if fits {
            return None;
        }
        let domain = self
            .session_cookie()
            .map(|cookie| cookie.domain.trim())
            .filter(|domain| !domain.is_empty())
            .unwrap_or("no domain");
        Some(mismatch_message(&self.origin, domain, &host))
    }

    /// The `Cookie` header for a request to `host`: every cookie whose domain
    /// matches it (exactly, or as a parent domain).
    pub fn cookie_header(&self, host: &str) -> Option<String> {
        let host = host.to_ascii_lowercase();
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|cookie| domain_matches(&cookie.domain, &host))
            .map(|cookie| format!("{}={}", cookie.name, cookie.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

/// Validates `cookies` (and `origins`' localStorage) against `base_url` and
/// installs them at `dest` as a Playwright `storage_state` with mode 0600
/// (written beside it, then renamed, so a reader never sees half a file).
/// Only what belongs to base_url's host is kept: cookies for that host or a
/// parent domain that have not expired and fit in a `Cookie` header, and
/// that origin's localStorage. No session cookie for the host, or one that
/// has expired, is refused and the installed session kept byte for byte: it
/// could only fail the next scrape. `origin_label` names the input in
/// messages ("cookies.txt", "Firefox profile …", "standard input").
pub fn install_cookies(
    cookies: Vec<CookieRecord>,
    origins: Vec<OriginStorage>,
    dest: &Path,
    base_url: &str,
    now: DateTime<Utc>,
    origin_label: &str,
) -> Result<Session> {
    let kept = "the installed session was kept";
    let Some(host) = base_host(base_url) else {
        bail!(
            "[paraform] base_url {base_url:?} names no host, so no cookie can be chosen for it ({kept})"
        );
    };
    let now_secs = now.timestamp() as f64;
    let mut foreign_domain: Option<String> = None;
    let mut expired_at: Option<DateTime<Utc>> = None;
    let mut unfit_session_cookie = false;
    let mut chosen: Vec<CookieRecord> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for cookie in cookies {
        let cookie = normalise(cookie);
        let is_session =
            SESSION_COOKIES.contains(&cookie.name.as_str()) && !cookie.value.is_empty();
        if !domain_matches(&cookie.domain, &host) {
            if is_session && foreign_domain.is_none() {
                foreign_domain = Some(match cookie.domain.as_str() {
                    "" => "no domain".to_string(),
                    domain => domain.to_string(),
                });
            }
            continue;
        }
        if cookie.expires.is_some_and(|at| at <= now_secs) {
            if is_session {
                let at = expiry_time(cookie.expires);
                expired_at = expired_at.max(at);
            }
            continue;
        }
        if !fits_header(&cookie) {
            unfit_session_cookie |= is_session;
            continue;
        }
        // The first of the same name, domain and path wins, as in a browser's jar.
        let key = (
            cookie.name.clone(),
            bare_domain(&cookie.domain),
            cookie.path.clone(),
        );
        if seen.insert(key) {
            chosen.push(cookie);
        }
    }
    let has_session = chosen
        .iter()
        .any(|c| SESSION_COOKIES.contains(&c.name.as_str()));
    if !has_session {
        if unfit_session_cookie {
            bail!(
                "the Paraform session cookie in {origin_label} holds characters a Cookie header cannot carry (a ';', a control or a non-ASCII character), or is longer than {} KiB: export it again ({kept})",
                MAX_COOKIE_BYTES / 1024
            );
        }
        if let Some(at) = expired_at {
            bail!(
                "the session cookie in {origin_label} expired on {}: log in to Paraform again and export a fresh one ({kept})",
                at.format("%Y-%m-%d %H:%M UTC")
            );
        }
        if let Some(domain) = foreign_domain {
            bail!(
                "{} ({kept})",
                mismatch_message(origin_label, &domain, &host)
            );
        }
        bail!(
            "{origin_label} has no Paraform session cookie ({}) for {host}: log in to Paraform and export the cookies again ({kept})",
            SESSION_COOKIES[0]
        );
    }
    if chosen.len() > MAX_COOKIES {
        bail!(
            "{origin_label} holds {} cookies for {host}, more than the {MAX_COOKIES} a browser keeps: that is not a browser's export ({kept})",
            chosen.len()
        );
    }
    let origins: Vec<OriginStorage> = origins
        .into_iter()
        .filter(|o| base_host(&o.origin).is_some_and(|h| h == host))
        .collect();
    let text = storage_state_json(&chosen, &origins)?;
    write_private(dest, text.as_bytes())?;
    Ok(Session {
        cookies: chosen,
        origins,
        origin: dest.display().to_string(),
        from_env: false,
    })
}

/// `session import FILE`: a storage_state, Cookie-Editor JSON or
/// cookies.txt (told apart by content), installed by [`install_cookies`].
pub fn import_file(
    source: &Path,
    dest: &Path,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(Session, Format)> {
    let label = source.display().to_string();
    let file = std::fs::File::open(source).with_context(|| {
        format!(
            "reading {label}: give the path of {} exported from a browser logged in to Paraform",
            formats::FORMATS
        )
    })?;
    let text = formats::read_bounded(file, formats::MAX_EXPORT_BYTES, &label)?;
    let export = formats::parse_export(&text, &label)?;
    let label = if export.skipped_lines > 0 {
        format!(
            "{label} ({} line{} not read: a cookies.txt line is 7 fields separated by TABs)",
            export.skipped_lines,
            if export.skipped_lines == 1 { "" } else { "s" }
        )
    } else {
        label
    };
    let session = install_cookies(export.cookies, export.origins, dest, base_url, now, &label)?;
    Ok((session, export.format))
}

/// `session import --from-firefox [PROFILE_DIR]`: the cookies of a Firefox
/// profile (the default one under `home` when none is given), read from a
/// private copy of its cookies.sqlite. Returns the profile read, too.
pub fn import_firefox(
    profile: Option<&Path>,
    home: Option<&Path>,
    dest: &Path,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(Session, PathBuf)> {
    let host = base_host(base_url).unwrap_or_default();
    let found = firefox::read_profile(profile, home, &std::env::temp_dir(), |domain, name| {
        domain_matches(domain, &host) || SESSION_COOKIES.contains(&name)
    })?;
    let label = format!("the Firefox profile {}", found.profile.display());
    let session = install_cookies(found.cookies, Vec::new(), dest, base_url, now, &label)?;
    Ok((session, found.profile))
}

/// `session import --cookie -`: the bare value of the session cookie,
/// installed as `__Secure-next-auth.session-token` for base_url's host,
/// httpOnly and secure (its `__Secure-` name demands it; browsers count
/// 127.0.0.1 and localhost as secure too), expiring at `expires` or with the
/// browser session when `None`.
pub fn import_cookie_value(
    value: String,
    expires: Option<DateTime<Utc>>,
    dest: &Path,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<Session> {
    let Some(host) = base_host(base_url) else {
        bail!(
            "[paraform] base_url {base_url:?} names no host to set the cookie for (the installed session was kept)"
        );
    };
    let cookie = CookieRecord {
        name: SESSION_COOKIES[0].to_string(),
        value,
        domain: host,
        path: "/".into(),
        expires: expires.map(|at| at.timestamp() as f64),
        http_only: true,
        secure: true,
        same_site: Some("Lax".into()),
    };
    install_cookies(
        vec![cookie],
        Vec::new(),
        dest,
        base_url,
        now,
        "standard input",
    )
}

/// The session in force as one base64 line, the value for
/// `PARAFORM_SESSION_JSON` (a server's copy of a laptop's login), with the
/// session it holds. Refuses when there is none, or it has expired.
pub fn export_base64(
    session_file: &Path,
    env_value: Option<String>,
    now: DateTime<Utc>,
) -> Result<(String, Session)> {
    let Some((text, session)) = load_text(session_file, env_value)? else {
        bail!(
            "no Paraform session at {} (and {SESSION_ENV} is not set): run `air-demand session login` or `air-demand session import` first",
            session_file.display()
        );
    };
    if let Some(at) = session.expires_at().filter(|&at| at <= now) {
        bail!(
            "the Paraform session from {} expired on {}: there is nothing worth exporting; log in again (`air-demand session login` or `air-demand session import`)",
            session.origin,
            at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    Ok((encoded, session))
}

/// The line to show after installing a session at `installed_at` while
/// `PARAFORM_SESSION_JSON` is set (`env_value`): the variable wins, so the
/// new file is not what scrapes will use. `None` when it is not set.
pub fn env_wins_notice(env_value: Option<&str>, installed_at: &Path) -> Option<String> {
    env_value.filter(|value| !value.trim().is_empty())?;
    Some(format!(
        "note: {SESSION_ENV} is set and wins over {}: scrapes keep using the variable until you unset it (in the environment, the [secrets] env_file or the .env beside the config), or set it to `air-demand session export --base64`",
        installed_at.display()
    ))
}

/// Writes a secret file readable by its owner only.
pub fn write_private(dest: &Path, bytes: &[u8]) -> Result<()> {
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp: PathBuf = dir.join(format!(".{}.tmp", file_name(dest)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    #[cfg(unix)]
    {
        // `mode` applies only when the file is created; force it for a stale temp file.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dest).with_context(|| format!("installing {}", dest.display()))?;
    Ok(())
}

/// One line about the session's expiry, relative to `now`, naming where
/// it was read from.
pub fn describe_expiry(session: &Session, now: DateTime<Utc>) -> String {
    match session.expires_at() {
        None => format!(
            "Paraform session from {}: a browser-session cookie with no expiry date; it lasts until Paraform rejects it",
            session.origin
        ),
        Some(at) if at <= now && session.from_env => format!(
            "Paraform session from {SESSION_ENV} expired on {}: set {SESSION_ENV} to a fresh `air-demand session export --base64`, or unset it to use the session file",
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        Some(at) if at <= now => format!(
            "Paraform session from {} expired on {}: export a new one and run `air-demand session import FILE`",
            session.origin,
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        Some(at) => {
            let days = (at - now).num_days();
            format!(
                "Paraform session from {} expires on {} (in {days} day{})",
                session.origin,
                at.format("%Y-%m-%d %H:%M UTC"),
                if days == 1 { "" } else { "s" }
            )
        }
    }
}

/// The text and session in force: the variable's (decoded) when set, else
/// the file's; `None` when neither exists.
fn load_text(session_file: &Path, env_value: Option<String>) -> Result<Option<(String, Session)>> {
    if let Some(encoded) = env_value {
        let fix = format!(
            "set it to the output of `air-demand session export --base64`, or unset it to use {}",
            session_file.display()
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| anyhow::anyhow!("{SESSION_ENV} is not valid base64: {fix}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{SESSION_ENV} does not decode to UTF-8 text: {fix}"))?;
        let mut session = Session::parse(&text, SESSION_ENV)?;
        session.from_env = true;
        return Ok(Some((text, session)));
    }
    let file = match std::fs::File::open(session_file) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| format!("reading {}", session_file.display()));
        }
    };
    let label = session_file.display().to_string();
    let text = formats::read_bounded(file, formats::MAX_EXPORT_BYTES, &label)?;
    let session = Session::parse(&text, &label)?;
    Ok(Some((text, session)))
}

/// base_url's host, lower-case; `None` when it has none.
pub fn base_host(base_url: &str) -> Option<String> {
    reqwest::Url::parse(base_url.trim())
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        .filter(|host| !host.is_empty())
}

fn mismatch_message(origin: &str, domain: &str, host: &str) -> String {
    format!(
        "the Paraform session cookie in {origin} is for {domain}, but [paraform] base_url is on {host}: export the session from a browser logged in to {host}, or correct [paraform] base_url"
    )
}

/// Whether a cookie set for `domain` is sent to `host`: the same name, or
/// (not for an IP address) a parent domain.
pub fn domain_matches(domain: &str, host: &str) -> bool {
    let domain = bare_domain(domain);
    if domain.is_empty() {
        return false;
    }
    if host == domain {
        return true;
    }
    let is_ip =
        host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') || host.contains(':');
    !is_ip && host.ends_with(&format!(".{domain}"))
}

fn bare_domain(domain: &str) -> String {
    domain.trim().trim_start_matches('.').to_ascii_lowercase()
}

/// Seconds since the epoch as a time; `None` for a browser-session cookie
/// or a time past what a date can hold.
fn expiry_time(expires: Option<f64>) -> Option<DateTime<Utc>> {
    let expires = expires.filter(|e| e.is_finite() && *e > 0.0)?;
    DateTime::from_timestamp(expires as i64, 0)
}

/// One spelling for what exporters write differently: domain lower-case,
/// an empty path as `/`, expiry in seconds (a value past 1e11 is in
/// milliseconds, as recent Firefox stores it; 0 or less is a browser-session
/// cookie), and SameSite=None only on a secure cookie (browsers drop it
/// otherwise).
fn normalise(mut cookie: CookieRecord) -> CookieRecord {
    cookie.domain = cookie.domain.trim().to_ascii_lowercase();
    if cookie.path.trim().is_empty() {
        cookie.path = "/".into();
    }
    cookie.expires = cookie
        .expires
        .filter(|e| e.is_finite() && *e > 0.0)
        .map(|e| if e > 1e11 { e / 1000.0 } else { e });
    cookie.same_site = cookie.same_site.as_deref().and_then(formats::same_site);
    if cookie.same_site.as_deref() == Some("None") && !cookie.secure {
        cookie.same_site = None;
    }
    cookie
}

/// Whether a cookie can be sent in a `Cookie` header: a name of visible
/// ASCII without `=`, `;` or `,`; a value of printable ASCII without `;`;
/// both within [`MAX_COOKIE_BYTES`].
fn fits_header(cookie: &CookieRecord) -> bool {
    let name_ok = !cookie.name.is_empty()
        && cookie
            .name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'=' | b';' | b','));
    let value_ok = cookie
        .value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b';');
    name_ok && value_ok && cookie.name.len() + cookie.value.len() <= MAX_COOKIE_BYTES
}

/// The Playwright storage_state text: host-only cookies keep their host,
/// `expires` -1 for a browser-session cookie, SameSite `Lax` when unset
/// (what browsers assume).
fn storage_state_json(cookies: &[CookieRecord], origins: &[OriginStorage]) -> Result<String> {
    let cookies: Vec<Value> = cookies
        .iter()
        .map(|c| {
            let expires = match c.expires {
                None => json!(-1),
                Some(at) if at.fract() == 0.0 && at.abs() < 9.0e15 => json!(at as i64),
                Some(at) => json!(at),
            };
            json!({
                "name": c.name,
                "value": c.value,
                "domain": c.domain,
                "path": c.path,
                "expires": expires,
                "httpOnly": c.http_only,
                "secure": c.secure,
                "sameSite": c.same_site.as_deref().unwrap_or("Lax"),
            })
        })
        .collect();
    let origins: Vec<Value> = origins
        .iter()
        .map(|o| {
            let items: Vec<Value> = o
                .local_storage
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            json!({"origin": o.origin, "localStorage": items})
        })
        .collect();
    serde_json::to_string_pretty(&json!({"cookies": cookies, "origins": origins}))
        .context("writing the session as JSON")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".into())
}

#[cfg(test)]
mod tests;
