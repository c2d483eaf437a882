//! The role model: reading a source's untrusted role JSON defensively.
//!
//! Any field may be missing, null or of the wrong type. Readers here never
//! panic: a number written as a string ("5", "$200,000") is read as that
//! number, anything else unreadable is `None`.

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// `roles.source` of Paraform's roles.
pub const PARAFORM: &str = "paraform";

/// A role's id, `<source>:<external id>`: `paraform:abc`, and for a board
/// role `greenhouse:acme/123` (`<source>:<board>/<job id>`). Ids are built
/// and taken apart only here; the text is what `roles.id` stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleId {
    text: String,
    /// Where the `:` after the source is.
    colon: usize,
}

impl RoleId {
    /// The id of `external` at `source`.
    pub fn new(source: &str, external: &str) -> RoleId {
        RoleId {
            text: format!("{source}:{external}"),
            colon: source.len(),
        }
    }

    /// A Paraform role's id.
    pub fn paraform(external: &str) -> RoleId {
        RoleId::new(PARAFORM, external)
    }

    /// A board role's id: `greenhouse:acme/123`.
    pub fn board_job(source: &str, board: &str, job: &str) -> RoleId {
        RoleId::new(source, &format!("{board}/{job}"))
    }

    /// The start of every id of one board's roles: `greenhouse:acme/`.
    pub fn board_prefix(source: &str, board: &str) -> String {
        format!("{source}:{board}/")
    }

    /// An id read back (from the store, a URL, a flag): `None` without a
    /// source before a `:`.
    pub fn parse(text: &str) -> Option<RoleId> {
        let (source, _) = RoleId::parts(text)?;
        Some(RoleId {
            text: text.to_string(),
            colon: source.len(),
        })
    }

    /// The source and external id of an id's text, borrowed from it.
    pub fn parts(text: &str) -> Option<(&str, &str)> {
        text.split_once(':')
            .filter(|(source, _)| !source.is_empty())
    }

    /// `paraform`, `greenhouse`, …
    pub fn source(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The source's own id: `abc`, `acme/123`.
    pub fn external(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// A board role's board and job id (`acme`, `123`); `None` for an id of
    /// another shape.
    pub fn board_and_job(&self) -> Option<(&str, &str)> {
        self.external().split_once('/')
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

impl std::fmt::Display for RoleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<RoleId> for String {
    fn from(id: RoleId) -> String {
        id.text
    }
}

/// The columns of `roles` that are read out of a role's raw JSON.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoleColumns {
    pub title: Option<String>,
    pub company: Option<String>,
    pub url: Option<String>,
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    pub fee_percent: Option<f64>,
    pub posted_at: Option<String>,
}

/// The role's id as text: ids may arrive as strings or numbers.
pub fn external_id(raw: &Value) -> Option<String> {
    match raw.get("id")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads the columns of a Paraform role; `base_url` builds the role's page link.
pub fn paraform_columns(raw: &Value, base_url: &str) -> RoleColumns {
    let title = text_at(raw, "name");
    let company = text_at(raw, "company.name");
    let url = external_id(raw).map(|id| paraform_role_url(base_url, company.as_deref(), &id));
    RoleColumns {
        title,
        company,
        url,
        salary_min: number_at(raw, "salaryLowerBound").map(|n| n.round() as i64),
        salary_max: number_at(raw, "salaryUpperBound").map(|n| n.round() as i64),
        fee_percent: number_at(raw, "percent_fee"),
        posted_at: ["posted_at", "role_metadata.posted_at", "createdAt"]
            .iter()
            .find_map(|path| text_at(raw, path).and_then(|t| normalize_timestamp(&t))),
    }
}

/// A role's page for people: `/company/<company-slug>/<id>` (API.md), each
/// segment percent-encoded because both parts are scraped text.
pub fn paraform_role_url(base_url: &str, company: Option<&str>, id: &str) -> String {
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');
    let slug = company
        .unwrap_or("company")
        .trim()
        .to_lowercase()
        .replace(' ', "-");
    format!(
        "{}/company/{}/{}",
        base_url.trim_end_matches('/'),
        utf8_percent_encode(&slug, SEGMENT),
        utf8_percent_encode(id, SEGMENT)
    )
}

/// The value at a dotted path (`company.company_metadata.last_funding_round`).
pub fn value_at<'a>(raw: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(raw, |value, key| value.get(key))
        .filter(|v| !v.is_null())
}

/// Text at a path: strings as they are (trimmed, empty is `None`), numbers
/// and booleans as their JSON text.
pub fn text_at(raw: &Value, path: &str) -> Option<String> {
    text_of(value_at(raw, path)?)
}

/// A value as [`text_at`] reads it.
pub fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number at a path; see [`number`].
pub fn number_at(raw: &Value, path: &str) -> Option<f64> {
    number(value_at(raw, path)?)
}

/// Reads a JSON number, or a string holding one (`"5"`, `"$200,000"`, `" 14.5 "`).
/// Non-finite values and anything else are `None`.
pub fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let cleaned: String = s
                .chars()
                .filter(|c| !matches!(c, '$' | ',' | ' ' | '%'))
                .collect();
            cleaned.parse::<f64>().ok()?
        }
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// A list of strings at a path. A single string counts as a one-item list;
/// non-string items are skipped.
pub fn strings_at(raw: &Value, path: &str) -> Vec<String> {
    match value_at(raw, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_string()],
        _ => Vec::new(),
    }
}

/// Parses an RFC 3339 timestamp into our storage form (UTC, seconds, `Z`).
pub fn normalize_timestamp(text: &str) -> Option<String> {
    let parsed = DateTime::parse_from_rfc3339(text.trim()).ok()?;
    Some(timestamp(parsed.with_timezone(&Utc)))
}

/// The storage form of a time: RFC 3339 UTC with seconds, e.g. `2025-12-19T12:24:00Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The most a yearly salary bound can plausibly be, in dollars. A figure
/// above it (1e30 is a typo, a unit mix-up or a hostile value) or below 0
/// is unreadable for people: shown as such, not sorted or charted. The
/// rules read the raw figure (SCORING.md), so scores do not change.
pub const MAX_PLAUSIBLE_SALARY: f64 = 10_000_000.0;

/// A salary bound that can be shown as money: finite, 0 to
/// [`MAX_PLAUSIBLE_SALARY`].
pub fn plausible_salary(amount: f64) -> bool {
    amount.is_finite() && (0.0..=MAX_PLAUSIBLE_SALARY).contains(&amount)
}

/// Formats a number the way people write it: no trailing `.0` on whole numbers.
pub fn format_number(n: f64) -> String {
    if !n.is_finite() {
        "not a number".to_string()
    } else if n.abs() >= 1e15 {
        // Nobody reads 300 digits: an absurd figure keeps its size only.
        let text = format!("{n:.3e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        format!("{mantissa}e{exponent}")
    } else if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        // At most 4 decimals: 0.1 + 0.2 is 0.3.
        let mut text = format!("{n:.4}");
        let digits = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(digits);
        if text == "-0" { "0".into() } else { text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_role_id_is_its_source_and_the_sources_own_id() {
        let id = RoleId::paraform("abc:def");
        assert_eq!(id.as_str(), "paraform:abc:def");
        assert_eq!((id.source(), id.external()), ("paraform", "abc:def"));
        assert_eq!(RoleId::parse("paraform:abc:def"), Some(id));
        let board = RoleId::board_job("greenhouse", "acme", "12/3");
        assert_eq!(board.to_string(), "greenhouse:acme/12/3");
        assert_eq!(board.board_and_job(), Some(("acme", "12/3")));
        assert!(
            board
                .as_str()
                .starts_with(&RoleId::board_prefix("greenhouse", "acme"))
        );
        assert_eq!(RoleId::parse(":x"), None);
        assert_eq!(RoleId::parse("no colon"), None);
        assert_eq!(RoleId::parse("a:").map(|id| id.external().len()), Some(0));
    }

    fn sample() -> Value {
        let text = include_str!("../tests/fixtures/searchActiveRoles.sample.json");
        let payload: Value = serde_json::from_str(text).unwrap();
        payload["result"]["data"]["json"][0].clone()
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(format_number(210000.0), "210000");
        assert_eq!(format_number(24.5), "24.5");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(-3.0), "-3");
        assert_eq!(format_number(-0.00001), "0");
        assert_eq!(format_number(1e20), "1e20");
        assert_eq!(format_number(1.23456e308), "1.235e308");
        assert_eq!(format_number(f64::NAN), "not a number");
    }

    #[test]
    fn sample_role_columns() {
        let columns = paraform_columns(&sample(), "https://www.paraform.com/");
        assert_eq!(
            columns,
            RoleColumns {
                title: Some("Senior Backend Engineer".into()),
                company: Some("Examplar Labs".into()),
                url: Some(
                    "https://www.paraform.com/company/examplar-labs/clx0demo000001role0001".into()
                ),
                salary_min: Some(200000),
                salary_max: Some(260000),
                fee_percent: Some(17.5),
                posted_at: Some("2025-06-06T19:38:45Z".into()),
            }
        );
    }

    #[test]
    fn wrong_types_read_sensibly() {
        let raw = json!({
            "id": 42, "name": ["not", "a", "string"], "company": "just a string",
            "salaryUpperBound": "$250,000", "salaryLowerBound": {"no": 1},
            "percent_fee": "15%", "posted_at": "yesterday", "createdAt": "2025-01-02T03:04:05+01:00"
        });
        let columns = paraform_columns(&raw, "http://x");
        assert_eq!(columns.title, None);
        assert_eq!(columns.company, None);
        assert_eq!(columns.url.as_deref(), Some("http://x/company/company/42"));
        assert_eq!(columns.salary_max, Some(250000));
        assert_eq!(columns.salary_min, None);
        assert_eq!(columns.fee_percent, Some(15.0));
        assert_eq!(columns.posted_at.as_deref(), Some("2025-01-02T02:04:05Z"));
    }

    #[test]
    fn ids() {
        assert_eq!(external_id(&json!({"id": " abc "})).as_deref(), Some("abc"));
        assert_eq!(external_id(&json!({"id": 7})).as_deref(), Some("7"));
        assert_eq!(external_id(&json!({"id": ""})), None);
        assert_eq!(external_id(&json!({"id": null})), None);
        assert_eq!(external_id(&json!({})), None);
        assert_eq!(external_id(&json!("not an object")), None);
    }

    #[test]
    fn hostile_company_names_stay_inside_the_url_path() {
        let url = paraform_role_url("https://p.com", Some("<a href=x>/../evil"), "id/1?x");
        assert_eq!(
            url,
            "https://p.com/company/%3Ca-href%3Dx%3E%2F..%2Fevil/id%2F1%3Fx"
        );
    }

    #[test]
    fn strings_and_numbers() {
        let raw = json!({"a": ["x", 1, null, " "], "b": "solo", "n": "1e400"});
        assert_eq!(strings_at(&raw, "a"), vec!["x", "1"]);
        assert_eq!(strings_at(&raw, "b"), vec!["solo"]);
        assert_eq!(number_at(&raw, "n"), None);
        assert_eq!(format_number(17.0), "17");
        assert_eq!(format_number(17.5), "17.5");
    }

    #[test]
    fn plausible_salaries() {
        for (amount, plausible) in [
            (0.0, true),
            (250_000.0, true),
            (10_000_000.0, true),
            (10_000_001.0, false),
            (1e30, false),
            (i64::MAX as f64, false),
            (-1.0, false),
            (f64::NAN, false),
            (f64::INFINITY, false),
        ] {
            assert_eq!(plausible_salary(amount), plausible, "{amount}");
        }
    }
}
