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

    /// Why this session cannot log in to `base_url`: its session cookie was
    /// set for another domain, so it would never be sent. `None` when it fits.
    pub fn host_mismatch(&self, base_url: &str) -> Option<String> {
        let host = reqwest::Url::parse(base_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase))?;
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
        Some(format!(
            "the Paraform session cookie in {} is for {domain}, but [paraform] base_url is on {host}: export the session from a browser logged in to {host}, or correct [paraform] base_url",
            self.origin
        ))
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
/// A session that has already expired, or whose cookie is for another host
/// than `base_url`'s, is refused and the installed one kept: it could only
/// fail the next scrape.
pub fn import(source: &Path, dest: &Path, base_url: &str, now: DateTime<Utc>) -> Result<Session> {
    let text = std::fs::read_to_string(source).with_context(|| {
        format!(
            "reading {}: give the path of a storage_state JSON exported from a browser logged in to Paraform",
            source.display()
        )
    })?;
    let session = Session::parse(&text, &source.display().to_string())?;
    if let Some(at) = session.expires_at().filter(|&at| at <= now) {
        bail!(
            "the session cookie in {} expired on {}: export a fresh one from a browser logged in to Paraform and import that (the installed session was kept)",
            source.display(),
            at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    if let Some(mismatch) = session.host_mismatch(base_url) {
        bail!("{mismatch} (the installed session was kept)");
    }
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
    fn host_mismatch_names_both_domains() {
        let session = Session::parse(SAMPLE, "sample").unwrap();
        assert_eq!(session.host_mismatch("https://www.paraform.com"), None);
        assert_eq!(
            session.host_mismatch("https://WWW.paraform.com/x?y=1"),
            None
        );
        let message = session.host_mismatch("http://127.0.0.1:8077").unwrap();
        assert!(message.contains("is for www.paraform.com"), "{message}");
        assert!(message.contains("base_url is on 127.0.0.1"), "{message}");
        let dotted = Session::parse(
            &SAMPLE.replace("\"www.paraform.com\"", "\".paraform.com\""),
            "s",
        )
        .unwrap();
        assert_eq!(dotted.host_mismatch("https://app.paraform.com"), None);
    }

    #[test]
    fn import_refuses_expired_and_foreign_sessions_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("export.json");
        let dest = dir.path().join("session.json");
        std::fs::write(&dest, "the installed session").unwrap();
        std::fs::write(&source, SAMPLE).unwrap();
        let after = DateTime::from_timestamp(1_767_225_601, 0).unwrap();
        let before = DateTime::from_timestamp(1_767_225_599, 0).unwrap();
        let err = import(&source, &dest, "https://www.paraform.com", after)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expired on 2026-01-01 00:00 UTC"), "{err}");
        let err = import(&source, &dest, "http://127.0.0.1:9", before)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("www.paraform.com") && err.contains("127.0.0.1"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "the installed session"
        );
        import(&source, &dest, "https://www.paraform.com", before).unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), SAMPLE);
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
