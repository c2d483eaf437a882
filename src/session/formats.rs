//! Reading the cookie exports people have, told apart by their content: a
//! Playwright `storage_state` (a JSON object), a Cookie-Editor JSON array,
//! a Netscape `cookies.txt`; and a bare cookie value, and `--expires`. The
//! input holds secrets: no message here quotes any part of it.

use std::io::{BufRead, Read};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{CookieRecord, OriginStorage, SESSION_COOKIES};

/// The largest export read: a whole browser's cookies.txt is a few MiB.
pub const MAX_EXPORT_BYTES: u64 = 8 * 1024 * 1024;
/// The largest bare cookie value taken from standard input.
pub const MAX_COOKIE_VALUE_BYTES: usize = 16 * 1024;

/// The formats `session import FILE` reads, for messages.
pub const FORMATS: &str =
    "a Playwright storage_state JSON, a Cookie-Editor JSON array or a Netscape cookies.txt";

/// Which kind of export a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    StorageState,
    CookieEditor,
    Netscape,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::StorageState => "a Playwright storage_state",
            Format::CookieEditor => "a Cookie-Editor JSON array",
            Format::Netscape => "a Netscape cookies.txt",
        }
    }
}

/// What an export held.
pub struct Export {
    pub format: Format,
    pub cookies: Vec<CookieRecord>,
    pub origins: Vec<OriginStorage>,
    /// cookies.txt lines that were neither comments nor cookies.
    pub skipped_lines: usize,
}

/// Reads at most `limit` bytes of UTF-8 text (a byte-order mark dropped);
/// more is an error, not a cut.
pub fn read_bounded(reader: impl Read, limit: u64, label: &str) -> Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {label}"))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{label} is larger than {} MiB, which no cookie export is: give {FORMATS}",
            limit / (1024 * 1024)
        );
    }
    let Ok(text) = String::from_utf8(bytes) else {
        bail!("{label} is not text (UTF-8): give {FORMATS}");
    };
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// The kind of export `text` is, from its content alone.
pub fn detect(text: &str) -> Option<Format> {
    let start = text.trim_start();
    if start.starts_with('{') {
        return Some(Format::StorageState);
    }
    if start.starts_with('[') {
        return Some(Format::CookieEditor);
    }
    let header = start.lines().next().unwrap_or("").trim();
    let has_header =
        header.starts_with('#') && header.to_ascii_lowercase().contains("http cookie file");
    if has_header || text.lines().any(|line| netscape_line(line).is_some()) {
        return Some(Format::Netscape);
    }
    None
}

/// Reads an export of any of the three formats.
pub fn parse_export(text: &str, label: &str) -> Result<Export> {
    let Some(format) = detect(text) else {
        bail!("{label} is not a cookie export air-demand reads: give {FORMATS}");
    };
    let mut export = Export {
        format,
        cookies: Vec::new(),
        origins: Vec::new(),
        skipped_lines: 0,
    };
    match format {
        Format::StorageState => {
            let fix = format!("give {FORMATS}");
            let (cookies, origins) = storage_state_text(text, label, &fix)?;
            export.cookies = cookies;
            export.origins = origins;
        }
        Format::CookieEditor => export.cookies = cookie_editor(&json(text, label)?, label)?,
        Format::Netscape => {
            for line in text.lines() {
                let line = line.trim_end_matches('\r');
                if line.trim().is_empty() || is_comment(line) {
                    continue;
                }
                match netscape_line(line) {
                    Some(cookie) => export.cookies.push(cookie),
                    None => export.skipped_lines += 1,
                }
            }
        }
    }
    Ok(export)
}

/// A storage_state text: its cookies and origins. Fields other than a
/// cookie's name and value may be missing (defaults as Playwright's).
/// `fix` ends the message when it is not one.
pub fn storage_state_text(
    text: &str,
    label: &str,
    fix: &str,
) -> Result<(Vec<CookieRecord>, Vec<OriginStorage>)> {
    let not_one = |why: &str| {
        anyhow::anyhow!("{label} is not a Playwright storage_state JSON file ({why}); {fix}")
    };
    let value: Value = serde_json::from_str(text).map_err(|err| not_one(&json_error(&err)))?;
    let Some(cookies) = value.get("cookies").and_then(Value::as_array) else {
        return Err(not_one("no \"cookies\" list"));
    };
    let mut records = Vec::with_capacity(cookies.len());
    for (at, cookie) in cookies.iter().enumerate() {
        let (Some(name), Some(value)) = (text_field(cookie, "name"), text_field(cookie, "value"))
        else {
            return Err(not_one(&format!(
                "cookie {} has no text name and value",
                at + 1
            )));
        };
        records.push(CookieRecord {
            name: name.to_string(),
            value: value.to_string(),
            domain: text_field(cookie, "domain").unwrap_or("").to_string(),
            path: text_field(cookie, "path").unwrap_or("/").to_string(),
            expires: cookie
                .get("expires")
                .and_then(Value::as_f64)
                .filter(|e| *e > 0.0),
            http_only: flag(cookie, "httpOnly"),
            secure: flag(cookie, "secure"),
            same_site: text_field(cookie, "sameSite").and_then(same_site),
        });
    }
    let origins = value
        .get("origins")
        .and_then(Value::as_array)
        .map(|origins| origins.iter().filter_map(origin_storage).collect())
        .unwrap_or_default();
    Ok((records, origins))
}

/// A Cookie-Editor (or EditThisCookie) export: an array of cookies with
/// `expirationDate` in seconds, `hostOnly`, `session`, and SameSite spelled
/// `no_restriction`, `lax`, `strict` or `unspecified`.
fn cookie_editor(value: &Value, label: &str) -> Result<Vec<CookieRecord>> {
    let Some(entries) = value.as_array() else {
        bail!("{label} is not a Cookie-Editor JSON array: give {FORMATS}");
    };
    let mut records = Vec::with_capacity(entries.len());
    for (at, entry) in entries.iter().enumerate() {
        let (Some(name), Some(value)) = (text_field(entry, "name"), text_field(entry, "value"))
        else {
            bail!(
                "entry {} of {label} is not a cookie with a text name and value: give a Cookie-Editor export as it was saved",
                at + 1
            );
        };
        let domain = text_field(entry, "domain").unwrap_or("").trim();
        let bare = domain.trim_start_matches('.');
        let domain = match entry.get("hostOnly").and_then(Value::as_bool) {
            Some(true) => bare.to_string(),
            Some(false) if !bare.is_empty() => format!(".{bare}"),
            _ => domain.to_string(),
        };
        let expires = if flag(entry, "session") {
            None
        } else {
            entry
                .get("expirationDate")
                .and_then(Value::as_f64)
                .filter(|e| *e > 0.0)
        };
        records.push(CookieRecord {
            name: name.to_string(),
            value: value.to_string(),
            domain,
            path: text_field(entry, "path").unwrap_or("/").to_string(),
            expires,
            http_only: flag(entry, "httpOnly"),
            secure: flag(entry, "secure"),
            same_site: text_field(entry, "sameSite").and_then(same_site),
        });
    }
    Ok(records)
}

/// `#HttpOnly_` marks an HttpOnly cookie in cookies.txt; any other `#` starts a comment.
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#') && !line.starts_with("#HttpOnly_")
}

/// One cookies.txt line: domain, include-subdomains (TRUE/FALSE), path,
/// secure (TRUE/FALSE), expiry in seconds (0: a browser-session cookie),
/// name, value, separated by TABs. `None` for anything else.
fn netscape_line(line: &str) -> Option<CookieRecord> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (http_only, line) = match line.strip_prefix("#HttpOnly_") {
        Some(rest) => (true, rest),
        None if line.starts_with('#') => return None,
        None => (false, line),
    };
    let fields: Vec<&str> = line.splitn(7, '\t').collect();
    let [domain, subdomains, path, secure, expiry, name, value] = fields.as_slice() else {
        return None;
    };
    let truth = |field: &str| match field.trim().to_ascii_uppercase().as_str() {
        "TRUE" => Some(true),
        "FALSE" => Some(false),
        _ => None,
    };
    let subdomains = truth(subdomains)?;
    let secure = truth(secure)?;
    let expiry: f64 = expiry.trim().parse().ok().filter(|e: &f64| e.is_finite())?;
    let domain = domain.trim().trim_start_matches('.');
    if domain.is_empty() || name.is_empty() {
        return None;
    }
    Some(CookieRecord {
        name: name.to_string(),
        value: value.to_string(),
        domain: if subdomains {
            format!(".{domain}")
        } else {
            domain.to_string()
        },
        path: path.to_string(),
        expires: (expiry > 0.0).then_some(expiry),
        http_only,
        secure,
        same_site: None,
    })
}

/// The bare value of the session cookie, from standard input: trimmed, one
/// line, at most [`MAX_COOKIE_VALUE_BYTES`]. `first_line_only` for a
/// terminal, where the line ends with Enter. A pasted `name=value` of the
/// session cookie is taken as the value.
pub fn read_cookie_value(reader: impl BufRead, first_line_only: bool) -> Result<String> {
    let name = SESSION_COOKIES[0];
    let mut bytes = Vec::new();
    let limit = MAX_COOKIE_VALUE_BYTES as u64 + 3;
    let mut limited = reader.take(limit);
    if first_line_only {
        limited.read_until(b'\n', &mut bytes)
    } else {
        limited.read_to_end(&mut bytes)
    }
    .context("reading the cookie value from standard input")?;
    let too_long = || {
        anyhow::anyhow!(
            "standard input holds more than {} KiB, which is no cookie value: give the value of {name} alone",
            MAX_COOKIE_VALUE_BYTES / 1024
        )
    };
    if bytes.len() as u64 >= limit {
        return Err(too_long());
    }
    let Ok(text) = String::from_utf8(bytes) else {
        bail!("standard input is not text (UTF-8): give the value of {name} alone");
    };
    let value = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if value.is_empty() {
        bail!(
            "standard input was empty: give the value of the {name} cookie, e.g. `air-demand session import --cookie - < token.txt`"
        );
    }
    if value.contains(['\n', '\r']) {
        bail!(
            "standard input holds more than one line: give the value of {name} alone, on one line"
        );
    }
    let value = SESSION_COOKIES
        .iter()
        .find_map(|cookie| value.strip_prefix(&format!("{cookie}=")))
        .unwrap_or(value);
    if value.len() > MAX_COOKIE_VALUE_BYTES {
        return Err(too_long());
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic() && b != b';') {
        bail!(
            "the value on standard input holds a space, a ';', a control or a non-ASCII character, which a session cookie does not: give the value of {name} alone"
        );
    }
    Ok(value.to_string())
}

/// `--expires`: a date (`2026-06-01`, midnight UTC), an RFC 3339 time, or a
/// span from `now` (`30d`, `12h`, `90m`, `2w`). It must be in the future.
pub fn parse_expires(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let text = text.trim();
    let hint = "give a date like 2026-06-01, an RFC 3339 time, or a span like 30d or 12h";
    let unit_at = text.char_indices().last().map(|(at, _)| at).unwrap_or(0);
    let (number, unit) = text.split_at(unit_at);
    let at = if matches!(unit, "m" | "h" | "d" | "w")
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
    {
        number
            .parse::<i64>()
            .ok()
            .and_then(|n| match unit {
                "m" => chrono::Duration::try_minutes(n),
                "h" => chrono::Duration::try_hours(n),
                "d" => chrono::Duration::try_days(n),
                _ => chrono::Duration::try_weeks(n),
            })
            .and_then(|span| now.checked_add_signed(span))
            .with_context(|| {
                format!("--expires {text:?} reaches further than a date can: {hint}")
            })?
    } else if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
    } else if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        at.with_timezone(&Utc)
    } else {
        bail!("--expires {text:?} is not a date, a time or a span: {hint}");
    };
    if at <= now {
        bail!("--expires {text:?} is not in the future: {hint}");
    }
    Ok(at)
}

/// SameSite as Playwright spells it, from any exporter's spelling; `None`
/// when unset or unknown.
pub(super) fn same_site(text: &str) -> Option<String> {
    let spelled = match text.trim().to_ascii_lowercase().as_str() {
        "strict" => "Strict",
        "lax" => "Lax",
        "none" | "no_restriction" => "None",
        _ => return None,
    };
    Some(spelled.to_string())
}

fn json(text: &str, label: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|err| {
        anyhow::anyhow!(
            "{label} is not valid JSON ({}): give {FORMATS}",
            json_error(&err)
        )
    })
}

/// Where JSON went wrong, never what it said (the text holds secrets).
fn json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Eof => "it ends too early",
        Category::Syntax => "a syntax error",
        Category::Data => "unexpected data",
        Category::Io => "unreadable",
    };
    format!("{what} at line {}, column {}", err.line(), err.column())
}

fn text_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn origin_storage(value: &Value) -> Option<OriginStorage> {
    let origin = text_field(value, "origin")?.to_string();
    let local_storage = value
        .get("localStorage")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some((
                        text_field(item, "name")?.to_string(),
                        text_field(item, "value")?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(OriginStorage {
        origin,
        local_storage,
    })
}
