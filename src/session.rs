//! The Paraform browser session: a Playwright `storage_state` file, from the
//! configured file or base64 in `PARAFORM_SESSION_JSON`. Cookie values are
//! secrets: nothing here logs or prints them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// NextAuth's session cookie on https; the plain name is used over http.
pub const SESSION_COOKIES: &[&str] = &[
    "__Secure-next-auth.session-token",
    "next-auth.session-token",
];
pub const SESSION_ENV: &str = "PARAFORM_SESSION_JSON";

#[derive(Clone, Deserialize)]
struct StorageState {
    cookies: Vec<Cookie>,
}

#[derive(Clone, Deserialize)]
struct Cookie {
    name: String,
    value: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    expires: Option<f64>,
}

/// A validated session.
#[derive(Clone)]
pub struct Session {
    cookies: Vec<Cookie>,
    /// Where it came from, for messages ("data/paraform_session.json" or the env var).
    pub origin: String,
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
        let state: StorageState = serde_json::from_str(text).map_err(|err| {
            anyhow::anyhow!(
                "{origin} is not a Playwright storage_state JSON file ({err}); export it from a logged-in browser"
            )
        })?;
        let session = Session {
            cookies: state.cookies,
            origin: origin.to_string(),
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
        if let Some(encoded) = env_value {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| anyhow::anyhow!("{SESSION_ENV} is not valid base64"))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{SESSION_ENV} does not decode to UTF-8 text"))?;
            return Session::parse(&text, SESSION_ENV).map(Some);
        }
        let text = match std::fs::read_to_string(session_file) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(err).with_context(|| format!("reading {}", session_file.display()));
            }
        };
        Session::parse(&text, &session_file.display().to_string()).map(Some)
    }

    fn session_cookie(&self) -> Option<&Cookie> {
        SESSION_COOKIES.iter().find_map(|name| {
            self.cookies
                .iter()
                .find(|c| c.name == *name && !c.value.is_empty())
        })
    }

    /// When the session cookie expires; `None` for a browser-session cookie
    /// (`expires` -1 or absent), whose end the server alone knows.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let expires = self.session_cookie()?.expires?;
        if expires <= 0.0 {
            return None;
        }
        DateTime::from_timestamp(expires as i64, 0)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
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

fn domain_matches(domain: &str, host: &str) -> bool {
    let domain = domain.trim().trim_start_matches('.').to_ascii_lowercase();
    !domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}")))
}

/// Validates `source` and installs it at `dest` with mode 0600 (written to a
/// temporary file beside it, then renamed, so a reader never sees half a file).
pub fn import(source: &Path, dest: &Path) -> Result<Session> {
    let text =
        std::fs::read_to_string(source).with_context(|| format!("reading {}", source.display()))?;
    let session = Session::parse(&text, &source.display().to_string())?;
    write_private(dest, text.as_bytes())?;
    Ok(Session {
        origin: dest.display().to_string(),
        ..session
    })
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

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".into())
}

/// One line about the session's expiry, relative to `now`.
pub fn describe_expiry(session: &Session, now: DateTime<Utc>) -> String {
    match session.expires_at() {
        None => format!(
            "Paraform session from {}: a browser-session cookie with no expiry date; it lasts until Paraform rejects it",
            session.origin
        ),
        Some(at) if at <= now => format!(
            "Paraform session expired on {}: export a new one and run `air-demand session import FILE`",
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

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../tests/fixtures/storage_state.sample.json");

    #[test]
    fn sample_parses_with_expiry() {
        let session = Session::parse(SAMPLE, "sample").unwrap();
        assert_eq!(
            session.expires_at().unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert!(session.is_expired(Utc::now()));
        assert!(format!("{session:?}").find("SYNTHETIC").is_none());
    }

    #[test]
    fn cookies_only_for_matching_hosts() {
        let session = Session::parse(SAMPLE, "sample").unwrap();
        let header = session.cookie_header("www.paraform.com").unwrap();
        assert!(header.contains("__Secure-next-auth.session-token=SYNTHETIC-TOKEN-NOT-REAL"));
        assert!(header.contains("__Host-next-auth.csrf-token=SYNTHETIC-CSRF"));
        assert_eq!(session.cookie_header("paraform.com"), None);
        assert_eq!(session.cookie_header("evilparaform.com"), None);
        assert!(domain_matches(".paraform.com", "www.paraform.com"));
        assert!(!domain_matches("paraform.com", "www.evil-paraform.com"));
    }

    #[test]
    fn rejects_what_is_not_a_session() {
        let err = Session::parse("{\"cookies\": []}", "f.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no Paraform session cookie"), "{err}");
        let err = Session::parse("<html>", "f.json").unwrap_err().to_string();
        assert!(err.contains("not a Playwright storage_state"), "{err}");
    }

    #[test]
    fn env_value_is_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(SAMPLE);
        let session = Session::load(Path::new("/nonexistent"), Some(encoded))
            .unwrap()
            .unwrap();
        assert_eq!(session.origin, SESSION_ENV);
        let err = Session::load(Path::new("/nonexistent"), Some("%%%".into())).unwrap_err();
        assert!(err.to_string().contains("not valid base64"));
        assert!(
            Session::load(Path::new("/nonexistent"), None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn browser_session_cookie_has_no_expiry() {
        let text = SAMPLE.replace("1767225600", "-1");
        let session = Session::parse(&text, "s").unwrap();
        assert_eq!(session.expires_at(), None);
        assert!(!session.is_expired(Utc::now()));
    }
}
