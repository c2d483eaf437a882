//! Careers pages, the pure part (SPEC §3b): the schema.org `JobPosting`s a
//! page publishes as JSON-LD (`<script type="application/ld+json">`), read
//! into one flat shape; the same-host links that look like job pages, for a
//! listing page that carries no postings itself; and `robots.txt` rules.
//! Fetching them is `fetch`'s; nothing here touches the network.
//!
//! Everything read is untrusted: the page is parsed once with its size
//! bounded by the fetcher, at most [`MAX_BLOCKS`] blocks are read, each
//! JSON-LD block at most [`MAX_BLOCK_BYTES`] and walked at most
//! [`MAX_DEPTH`] deep, every text is one clean line (the description keeps
//! its lines) and bounded, and a block that does not parse is skipped with
//! a note, never failing the page.

use kuchikiki::traits::TendrilSink;
use serde_json::{Map, Value, json};

/// Blocks read per page; more are noted and skipped.
pub const MAX_BLOCKS: usize = 64;
/// A larger JSON-LD block is skipped with a note.
pub const MAX_BLOCK_BYTES: usize = 2 * 1024 * 1024;
/// Postings read per page; more are noted and left out.
pub const MAX_POSTINGS: usize = 2_000;
/// Job links kept per page; more are noted and left out.
pub const MAX_LINKS: usize = 2_000;
/// How deep the JSON of a block is walked for postings.
const MAX_DEPTH: usize = 16;
/// A title, a place, a company name: one line of at most this many characters.
const MAX_LINE: usize = 300;
/// A description's text, at most.
const MAX_DESCRIPTION: usize = 20_000;

/// What one page says.
#[derive(Debug, Default, PartialEq)]
pub struct Page {
    /// The postings, in the page's order, one per id.
    pub postings: Vec<Posting>,
    /// Links on the same host that look like job pages, absolute, in the
    /// page's order, each once (read when the page has no postings).
    pub job_links: Vec<String>,
    /// Why something on the page was skipped, one line each.
    pub notes: Vec<String>,
}

/// One `JobPosting`, flattened. Stored as a role's JSON (`to_json`), so the
/// names follow schema.org's where there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    /// The posting's id in the role id: its `identifier` (a
    /// `PropertyValue`'s `value`, or text), else its URL's path.
    pub id: String,
    pub title: Option<String>,
    /// Absolute: the posting's `url`, else the page it was read from.
    pub url: String,
    pub date_posted: Option<String>,
    pub valid_through: Option<String>,
    pub employment_type: Option<String>,
    /// `Brooklyn, NY, US`, one per `jobLocation`; `Remote` for
    /// `jobLocationType: TELECOMMUTE`.
    pub locations: Vec<String>,
    pub remote: bool,
    /// `baseSalary` as given.
    pub salary: Option<Salary>,
    pub hiring_organization: Option<String>,
    /// The description as text.
    pub description: Option<String>,
}

/// A `baseSalary`: a `MonetaryAmount` with a `QuantitativeValue`, as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Salary {
    pub currency: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// A single figure (`value`), when no range is given.
    pub value: Option<f64>,
    /// `HOUR`, `DAY`, `WEEK`, `MONTH` or `YEAR`.
    pub unit: Option<String>,
}

impl Salary {
    /// How many of `unit` make a year: a figure is annualised for comparing
    /// with the others (a full-time year of 2,080 hours, 260 days, 52 weeks).
    fn per_year(&self) -> Option<f64> {
        match self.unit.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("HOUR") => Some(2_080.0),
            Some("DAY") => Some(260.0),
            Some("WEEK") => Some(52.0),
            Some("MONTH") => Some(12.0),
            Some("YEAR") | None => Some(1.0),
            Some(_) => None,
        }
    }

    /// The range by the year, whole dollars (or whatever the currency):
    /// `(min, max)`; a single `value` is both.
    pub fn yearly(&self) -> (Option<i64>, Option<i64>) {
        let Some(factor) = self.per_year() else {
            return (None, None);
        };
        let year = |n: Option<f64>| {
            n.map(|n| n * factor)
                .filter(|n| n.is_finite() && *n > 0.0 && *n < 1e9)
                .map(|n| n.round() as i64)
        };
        let (min, max) = (self.min.or(self.value), self.max.or(self.value));
        (year(min), year(max))
    }
}

impl Posting {
    /// The role's JSON: schema.org's names, values as read.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        let mut put = |key: &str, value: Value| {
            if !value.is_null() {
                out.insert(key.to_string(), value);
            }
        };
        put("identifier", json!(self.id));
        put("title", json!(self.title));
        put("url", json!(self.url));
        put("datePosted", json!(self.date_posted));
        put("validThrough", json!(self.valid_through));
        put("employmentType", json!(self.employment_type));
        put("jobLocation", json!(self.locations));
        put("remote", json!(self.remote));
        if let Some(s) = &self.salary {
            put(
                "baseSalary",
                json!({"currency": s.currency, "unitText": s.unit, "minValue": s.min,
                       "maxValue": s.max, "value": s.value}),
            );
        }
        put("hiringOrganization", json!(self.hiring_organization));
        put("description", json!(self.description));
        Value::Object(out)
    }
}

/// A schema.org `Date` or `DateTime` as an instant: a date alone is its
/// midnight UTC, a time without a zone is read as UTC.
pub fn instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{NaiveDate, NaiveDateTime, Utc};
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        return Some(at.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

/// [`instant`] as the RFC 3339 text the database keeps.
pub fn timestamp(text: &str) -> Option<String> {
    instant(text).map(crate::role::timestamp)
}

impl Posting {
    /// Whether its `validThrough` has passed at `now`. A date alone runs
    /// to the end of that day; an unreadable one never expires.
    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        expired(self.valid_through.as_deref(), now)
    }
}

/// [`Posting::expired`] of a stored `validThrough`.
pub fn expired(valid_through: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> bool {
    let Some(text) = valid_through else {
        return false;
    };
    let Some(at) = instant(text) else {
        return false;
    };
    let date_only = !text.contains('T');
    let end = if date_only {
        at + chrono::Duration::days(1)
    } else {
        at
    };
    end <= now
}

/// Reads the page at `page_url` (absolute). `link_pattern`: which paths are
/// job pages; by default, paths under the page's own (`/careers/` for
/// `/careers`).
pub fn read_page(html: &str, page_url: &str, link_pattern: Option<&str>) -> Page {
    let mut page = Page::default();
    let Ok(base) = reqwest::Url::parse(page_url) else {
        page.notes
            .push(format!("{page_url:?} is not an absolute URL"));
        return page;
    };
    if crate::intel::too_deep(html) {
        page.notes
            .push("the page nests its elements too deep to read; skipped".into());
        return page;
    }
    let document = kuchikiki::parse_html().one(html).document_node;
    let mut blocks = 0;
    if let Ok(scripts) = document.select("script") {
        for script in scripts {
            let is_json_ld = script
                .attributes
                .borrow()
                .get("type")
                .and_then(|t| t.split(';').next())
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"));
            if !is_json_ld {
                continue;
            }
            blocks += 1;
            if blocks > MAX_BLOCKS {
                page.notes.push(format!(
                    "more than {MAX_BLOCKS} JSON-LD blocks; the rest skipped"
                ));
                break;
            }
            let text = script.text_contents();
            read_block(&text, blocks, &base, &mut page);
        }
    }
    page.job_links = job_links(&document, &base, link_pattern);
    if page.job_links.len() > MAX_LINKS {
        page.job_links.truncate(MAX_LINKS);
        page.notes.push(format!(
            "more than {MAX_LINKS} job links on the page; the rest left out"
        ));
    }
    page
}

/// The postings of one JSON-LD block, into `page`.
fn read_block(text: &str, number: usize, base: &reqwest::Url, page: &mut Page) {
    if text.len() > MAX_BLOCK_BYTES {
        page.notes.push(format!(
            "JSON-LD block {number} is {} bytes, over {MAX_BLOCK_BYTES}; skipped",
            text.len()
        ));
        return;
    }
    // Some sites wrap the JSON in a comment or CDATA for old browsers.
    let text = text.trim();
    let text = text
        .strip_prefix("<!--")
        .and_then(|t| t.strip_suffix("-->"))
        .or_else(|| {
            text.strip_prefix("//<![CDATA[")
                .and_then(|t| t.strip_suffix("//]]>"))
        })
        .unwrap_or(text);
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            page.notes.push(format!(
                "JSON-LD block {number} is not valid JSON ({}); skipped",
                crate::text::one_line(&err.to_string())
            ));
            return;
        }
    };
    let mut found = Vec::new();
    collect(&value, 0, &mut found);
    for posting in found {
        if page.postings.len() >= MAX_POSTINGS {
            page.notes.push(format!(
                "more than {MAX_POSTINGS} postings on the page; the rest left out"
            ));
            return;
        }
        match read_posting(posting, base) {
            Some(posting) => {
                if !page.postings.iter().any(|p| p.id == posting.id) {
                    page.postings.push(posting);
                }
            }
            None => page.notes.push(format!(
                "a JobPosting in JSON-LD block {number} has neither an identifier nor a URL; skipped"
            )),
        }
    }
}

/// Every `JobPosting` object in `value`: itself, in arrays, in `@graph`, in
/// an `ItemList`'s `itemListElement` (directly or as a `ListItem`'s
/// `item`), or nested in any other object. A posting's own members are not
/// searched for more postings.
fn collect<'a>(value: &'a Value, depth: usize, out: &mut Vec<&'a Value>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect(item, depth + 1, out);
            }
        }
        Value::Object(object) => {
            if has_type(object, "JobPosting") {
                out.push(value);
                return;
            }
            for child in object.values() {
                collect(child, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Whether `@type` is `name` (or a list holding it), with or without a
/// `schema:` or `https://schema.org/` prefix.
fn has_type(object: &Map<String, Value>, name: &str) -> bool {
    let is = |t: &Value| {
        t.as_str().is_some_and(|t| {
            let t = t.trim();
            let bare = t.rsplit(['/', ':', '#']).next().unwrap_or(t);
            bare.eq_ignore_ascii_case(name)
        })
    };
    match object.get("@type") {
        Some(Value::Array(types)) => types.iter().any(is),
        Some(t) => is(t),
        None => false,
    }
}

fn read_posting(value: &Value, base: &reqwest::Url) -> Option<Posting> {
    let text = |v: Option<&Value>| -> Option<String> { v.and_then(text_of).map(|t| line(&t)) };
    let url = text(value.get("url"))
        .and_then(|u| base.join(&u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let identifier = value.get("identifier").and_then(|id| match id {
        Value::Object(o) => o.get("value").and_then(text_of),
        other => text_of(other),
    });
    let id = identifier
        .map(|id| id_part(&id))
        .filter(|id| !id.is_empty())
        .or_else(|| url.as_ref().map(|u| id_part(u.path())))
        .filter(|id| !id.is_empty())?;
    let mut locations = Vec::new();
    for place in list(value.get("jobLocation")) {
        if let Some(place) = place_text(place).filter(|p| !locations.contains(p)) {
            locations.push(place);
        }
    }
    let remote = list(value.get("jobLocationType")).iter().any(|t| {
        t.as_str()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("TELECOMMUTE"))
    });
    if remote && !locations.iter().any(|l| l.eq_ignore_ascii_case("remote")) {
        locations.push("Remote".into());
    }
    let employment_type: Vec<String> = list(value.get("employmentType"))
        .iter()
        .filter_map(|t| text_of(t))
        .map(|t| line(&t))
        .filter(|t| !t.is_empty())
        .collect();
    Some(Posting {
        id,
        title: text(value.get("title")).or_else(|| text(value.get("name"))),
        url: url.map_or_else(|| base.to_string(), |u| u.to_string()),
        date_posted: text(value.get("datePosted")),
        valid_through: text(value.get("validThrough")),
        employment_type: (!employment_type.is_empty()).then(|| employment_type.join(", ")),
        locations,
        remote,
        salary: value.get("baseSalary").and_then(salary),
        hiring_organization: value.get("hiringOrganization").and_then(|o| match o {
            Value::Object(o) => o.get("name").and_then(text_of).map(|n| line(&n)),
            other => text_of(other).map(|n| line(&n)),
        }),
        description: value
            .get("description")
            .and_then(Value::as_str)
            .map(description_text)
            .filter(|d| !d.is_empty()),
    })
}

/// `value` as a list: an array's items, or the value itself.
fn list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one],
    }
}

/// Text from a string or a number.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One clean line of at most [`MAX_LINE`] characters.
fn line(text: &str) -> String {
    let one = crate::text::one_line(text);
    match one.char_indices().nth(MAX_LINE) {
        Some((at, _)) => one[..at].to_string(),
        None => one,
    }
}

/// An id part safe in a role id: no control characters, no spaces at its
/// ends, at most 200 characters.
fn id_part(text: &str) -> String {
    let one = crate::text::one_line(text);
    let trimmed = one.trim().trim_matches('/');
    trimmed.chars().take(200).collect()
}

/// `Brooklyn, NY, US` from a `Place` (its `address`, a `PostalAddress` or
/// text, else its `name`) or a text.
fn place_text(place: &Value) -> Option<String> {
    let object = match place {
        Value::Object(o) => o,
        other => return text_of(other).map(|t| line(&t)),
    };
    let from_address = match object.get("address") {
        Some(Value::Object(address)) => {
            let country = address.get("addressCountry").and_then(|c| match c {
                Value::Object(c) => c.get("name").and_then(text_of),
                other => text_of(other),
            });
            let parts: Vec<String> = [
                address.get("addressLocality").and_then(text_of),
                address.get("addressRegion").and_then(text_of),
                country,
            ]
            .into_iter()
            .flatten()
            .map(|p| line(&p))
            .filter(|p| !p.is_empty())
            .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Some(other) => text_of(other).map(|t| line(&t)),
        None => None,
    };
    from_address.or_else(|| object.get("name").and_then(text_of).map(|t| line(&t)))
}

fn salary(value: &Value) -> Option<Salary> {
    let object = value.as_object()?;
    let number = |v: Option<&Value>| -> Option<f64> {
        v.and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str()?.trim().replace(',', "").parse().ok())
        })
        .filter(|n: &f64| n.is_finite())
    };
    let amount = object.get("value");
    let (min, max, single, unit) = match amount {
        Some(Value::Object(q)) => (
            number(q.get("minValue")),
            number(q.get("maxValue")),
            number(q.get("value")),
            q.get("unitText").and_then(text_of),
        ),
        other => (None, None, number(other), None),
    };
    let salary = Salary {
        currency: object.get("currency").and_then(text_of).map(|c| line(&c)),
        min,
        max,
        value: single,
        unit: unit
            .or_else(|| object.get("unitText").and_then(text_of))
            .map(|u| line(&u).to_ascii_uppercase()),
    };
    (salary.min.is_some() || salary.max.is_some() || salary.value.is_some()).then_some(salary)
}

/// A description (often HTML) as text with its lines, bounded.
fn description_text(html: &str) -> String {
    let html = if html.len() > 4 * MAX_DESCRIPTION {
        let mut end = 4 * MAX_DESCRIPTION;
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        &html[..end]
    } else {
        html
    };
    let text = if crate::intel::too_deep(html) {
        html.to_string()
    } else {
        kuchikiki::parse_html()
            .one(html)
            .document_node
            .text_contents()
    };
    let cleaned = crate::text::clean(&text);
    let lines: Vec<&str> = cleaned
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join("\n");
    match joined.char_indices().nth(MAX_DESCRIPTION) {
        Some((at, _)) => joined[..at].to_string(),
        None => joined,
    }
}

/// The page's links that look like job pages: http(s), the page's host,
/// the path containing `pattern` (or, by default, under the page's path),
/// not the page itself; absolute, without fragments, each once.
fn job_links(
    document: &kuchikiki::NodeRef,
    base: &reqwest::Url,
    pattern: Option<&str>,
) -> Vec<String> {
    let under = {
        let path = base.path().trim_end_matches('/');
        format!("{path}/")
    };
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let Ok(anchors) = document.select("a[href]") else {
        return out;
    };
    for anchor in anchors {
        // One past the cap tells the caller there were more.
        if out.len() > MAX_LINKS {
            break;
        }
        let Some(href) = anchor.attributes.borrow().get("href").map(str::to_string) else {
            continue;
        };
        let Ok(mut url) = base.join(href.trim()) else {
            continue;
        };
        url.set_fragment(None);
        let same_host = url.host_str() == base.host_str() && url.port() == base.port();
        let looks_like_a_job = match pattern {
            Some(pattern) => url.path().contains(pattern),
            None => url.path().starts_with(&under) && url.path().len() > under.len(),
        };
        let text = url.to_string();
        if matches!(url.scheme(), "http" | "https")
            && same_host
            && looks_like_a_job
            && url.path() != base.path()
            && seen.insert(text.clone())
        {
            out.push(text);
        }
    }
    out
}

/// What a site's `robots.txt` allows us: the rules of the group naming our
/// user agent, else of `*`. Paths match by prefix, with `*` for any run of
/// characters and `$` for the end; the longest matching rule wins, `Allow`
/// on a tie.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Robots {
    rules: Vec<Rule>,
}

/// A `robots.txt` rule: (allow, path pattern).
type Rule = (bool, String);

/// The product token we announce, and look for in `robots.txt`.
pub const ROBOTS_AGENT: &str = "air-demand";

impl Robots {
    /// Everything allowed (no `robots.txt`, or one that says nothing to us).
    pub fn allow_all() -> Robots {
        Robots::default()
    }

    pub fn parse(text: &str) -> Robots {
        // Groups: the user agents they name, and their rules.
        let mut groups: Vec<(Vec<String>, Vec<Rule>)> = Vec::new();
        let mut in_rules = false;
        for raw in text.lines().take(10_000) {
            let line = raw.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if in_rules || groups.is_empty() {
                        groups.push((Vec::new(), Vec::new()));
                        in_rules = false;
                    }
                    if let Some(group) = groups.last_mut() {
                        group.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_rules = true;
                    if let Some(group) = groups.last_mut()
                        && !value.is_empty()
                    {
                        group
                            .1
                            .push((key == "allow", value.chars().take(500).collect()));
                    }
                }
                _ => {}
            }
        }
        let ours: Vec<Rule> = groups
            .iter()
            .filter(|(agents, _)| agents.iter().any(|a| a == ROBOTS_AGENT))
            .flat_map(|(_, rules)| rules.clone())
            .collect();
        let rules = if groups
            .iter()
            .any(|(agents, _)| agents.iter().any(|a| a == ROBOTS_AGENT))
        {
            ours
        } else {
            groups
                .iter()
                .filter(|(agents, _)| agents.iter().any(|a| a == "*"))
                .flat_map(|(_, rules)| rules.clone())
                .collect()
        };
        Robots { rules }
    }

    /// Whether we may fetch `path` (with its query, as `/jobs?id=1`).
    pub fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if matches_pattern(pattern, path) {
                let length = pattern.len();
                best = match best {
                    Some((l, a)) if l > length || (l == length && a) => Some((l, a)),
                    _ => Some((length, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// A `robots.txt` path pattern: a prefix, `*` any run, `$` the end.
fn matches_pattern(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some(first) = parts.first() else {
        return true;
    };
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    for (i, part) in parts.iter().enumerate().skip(1) {
        let last = i == parts.len() - 1;
        if last && anchored {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    !anchored || rest.is_empty()
}

#[cfg(test)]
mod tests;
