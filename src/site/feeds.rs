//! The site's machine-readable files: `feed.atom` (changes), `roles.json`
//! (typed: numbers, lists, `null`), `roles.csv` (the texts people read).
//! Scraped text is escaped for XML, and defused for spreadsheets.

use std::fmt::Write;

use anyhow::Result;
use serde::Serialize;

use crate::evaluate::Trend;
use crate::intel::escape_html;
use crate::views::{ChangeView, RoleView, SiteData};

/// Entries in the feed: the newest changes.
const FEED_ENTRIES: usize = 200;

/// XML text: cleaned (no control characters, which XML 1.0 forbids), then escaped.
fn xml(text: &str) -> String {
    escape_html(&crate::text::clean(text))
}

/// An Atom feed of recent changes, newest first, with absolute links.
pub fn atom(data: &SiteData, base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let entries: Vec<&ChangeView> = data
        .days
        .iter()
        .flat_map(|day| &day.changes)
        .take(FEED_ENTRIES)
        .collect();
    // The feed changes when its entries do: its time is the newest one's.
    let updated = entries
        .iter()
        .map(|c| c.detected_at.as_str())
        .max()
        .unwrap_or(FEED_EPOCH);
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <title>Air Demand: role changes</title>\n  <id>{TAG}:feed</id>\n  <updated>{}</updated>\n  <link rel=\"self\" href=\"{}/feed.atom\"/>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{}/changes.html\"/>\n  <author><name>air-demand</name></author>\n  <generator>air-demand</generator>\n",
        xml(updated),
        xml(base),
        xml(base)
    );
    for change in entries {
        // In the words of the changes page: `Salary max $210K → $225K`.
        let what = change.line();
        let _ = write!(
            out,
            "  <entry>\n    <title>{}: {} — {}</title>\n    <id>{TAG}:change/{}</id>\n    <updated>{}</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{}/{}\"/>\n    <category term=\"{}\"/>\n    <summary>{} ({})</summary>\n  </entry>\n",
            xml(&change.label),
            xml(&change.company),
            xml(&change.title),
            change.id,
            xml(&change.detected_at),
            xml(base),
            xml(&change.page),
            xml(change.kind.as_str()),
            xml(&what),
            change.source
        );
    }
    out.push_str("</feed>\n");
    out
}

/// The feed's and its entries' ids: `tag:` URIs (RFC 4151), which stay the
/// same when `[site] base_url` changes, so readers never see old entries
/// as new.
const TAG: &str = "tag:air-demand,2025";

/// The feed's time while it has no entry.
const FEED_EPOCH: &str = "2025-01-01T00:00:00Z";

/// What `roles.json` says of a role: typed, so that a program reads it
/// without parsing text for people. Scores, salary bounds, fee, openings
/// and funding are numbers (`null` when not set), investors and locations
/// are lists; dates are `YYYY-MM-DD` text. The names are the `roles`
/// columns' where there is one.
#[derive(Serialize)]
struct RoleJson<'a> {
    /// The role's id is scraped text too; everything else comes clean from
    /// the view (`model::role_view`).
    id: std::borrow::Cow<'a, str>,
    title: &'a str,
    company: &'a str,
    tier: &'a str,
    combined_score: Option<f64>,
    engineer_score: Option<f64>,
    headhunter_score: Option<f64>,
    excitement_score: Option<f64>,
    salary_min: Option<i64>,
    salary_max: Option<i64>,
    fee_percent: Option<f64>,
    #[serde(serialize_with = "whole_as_integer")]
    openings: Option<f64>,
    #[serde(serialize_with = "whole_as_integer")]
    raised_usd: Option<f64>,
    investors: &'a crate::views::Lines,
    stage: Option<&'a str>,
    locations: &'a crate::views::Lines,
    workplace: Option<&'a str>,
    posted: Option<&'a str>,
    first_seen: &'a str,
    trend: Option<&'a str>,
    paraform_url: Option<&'a str>,
    page: &'a str,
    reasons: &'a crate::views::Lines,
}

fn role_json(role: &RoleView) -> RoleJson<'_> {
    let facts = &role.facts;
    RoleJson {
        id: crate::text::clean_cow(&role.id),
        title: &role.title,
        company: &role.company,
        tier: role.tier,
        combined_score: facts.combined_score,
        engineer_score: facts.engineer_score,
        headhunter_score: facts.headhunter_score,
        excitement_score: facts.excitement_score,
        salary_min: facts.salary_min,
        salary_max: facts.salary_max,
        fee_percent: facts.fee_percent,
        openings: facts.openings,
        raised_usd: facts.raised_usd,
        investors: &facts.investors,
        stage: Some(role.stage()).filter(|s| !s.is_empty()),
        locations: &facts.locations,
        workplace: facts.workplace.as_deref(),
        posted: Some(role.posted()).filter(|p| !p.is_empty()),
        first_seen: role.first_seen(),
        trend: role.trend.map(Trend::as_str),
        paraform_url: role.url.as_deref(),
        page: &role.page,
        reasons: &role.reasons,
    }
}

/// A count or an amount that is whole (`3.0`, `25000000.0`) as an integer
/// (`3`), any other as it is: JSON readers then see the number people do.
fn whole_as_integer<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is exact
    match value {
        Some(n) if n.fract() == 0.0 && n.abs() < EXACT => serializer.serialize_i64(*n as i64),
        Some(n) => serializer.serialize_f64(*n),
        None => serializer.serialize_none(),
    }
}

/// Roles as JSON.
pub fn roles_json(roles: &[RoleView]) -> Result<String> {
    let mut out = Vec::new();
    write_roles_json(roles, &mut out)?;
    Ok(String::from_utf8(out)?)
}

/// [`roles_json`], written to `out` a record at a time.
pub fn write_roles_json(roles: &[RoleView], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut json = JsonArray::default();
    for role in roles {
        json.entry(out, json_entry(role)?.as_bytes())?;
    }
    json.end(out)
}

/// A pretty-printed JSON array written an entry at a time, as
/// `serde_json`'s pretty printer writes it.
#[derive(Default)]
pub struct JsonArray {
    entries: usize,
}

impl JsonArray {
    /// Writes an entry made by [`json_entry`].
    pub fn entry(&mut self, out: &mut dyn std::io::Write, entry: &[u8]) -> std::io::Result<()> {
        out.write_all(if self.entries == 0 { b"[\n" } else { b",\n" })?;
        self.entries += 1;
        out.write_all(entry)
    }

    pub fn end(self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(if self.entries == 0 { b"[]" } else { b"\n]" })
    }
}

/// A role's entry of `roles.json`, indented as an array's entry.
pub fn json_entry(role: &RoleView) -> std::io::Result<String> {
    let entry = serde_json::to_string_pretty(&role_json(role)).map_err(std::io::Error::other)?;
    // JSON text holds no newline but the printer's.
    Ok(format!("  {}", entry.replace('\n', "\n  ")))
}

/// Roles as CSV (RFC 4180 quoting). A cell that a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`) gets a leading `'`.
pub fn roles_csv(roles: &[RoleView]) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail.
    let _ = write_roles_csv(roles, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// [`roles_csv`], written to `out` a row at a time.
pub fn write_roles_csv(roles: &[RoleView], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(&csv_header()?)?;
    for role in roles {
        out.write_all(&csv_record(role)?)?;
    }
    Ok(())
}

/// The first line of `roles.csv`: the columns' names.
pub fn csv_header() -> std::io::Result<Vec<u8>> {
    const HEADER: [&str; 21] = [
        "id",
        "title",
        "company",
        "tier",
        "combined_score",
        "engineer_score",
        "headhunter_score",
        "excitement_score",
        "salary",
        "fee_percent",
        "openings",
        "raised",
        "investors",
        "stage",
        "locations",
        "posted",
        "first_seen",
        "trend",
        "paraform_url",
        "page",
        "reasons",
    ];
    csv_line(HEADER.iter().map(|name| std::borrow::Cow::Borrowed(*name)))
}

/// A role's line of `roles.csv`.
pub fn csv_record(role: &RoleView) -> std::io::Result<Vec<u8>> {
    let reasons = role.reasons.iter().collect::<Vec<_>>().join("; ");
    let score = format!("{:.2}", role.score);
    let fee = crate::role::format_number(role.fee);
    // The cells people read in a spreadsheet: the view's texts.
    let cells: [&str; 21] = [
        &crate::text::clean_cow(&role.id),
        &role.title,
        &role.company,
        role.tier,
        &score,
        role.engineer_text(),
        role.headhunter_text(),
        role.excitement_text(),
        role.salary_text(),
        &fee,
        role.openings(),
        role.raised_text(),
        role.investors(),
        role.stage(),
        role.locations(),
        role.posted(),
        role.first_seen(),
        role.trend.map(Trend::as_str).unwrap_or(""),
        role.url.as_deref().unwrap_or_default(),
        &role.page,
        &reasons,
    ];
    csv_line(cells.into_iter().map(defuse))
}

/// One CSV record of `cells`, with the quoting and line end of the file.
fn csv_line<'a>(
    cells: impl Iterator<Item = std::borrow::Cow<'a, str>>,
) -> std::io::Result<Vec<u8>> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(512));
    let cells: Vec<std::borrow::Cow<'a, str>> = cells.collect();
    out.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
    out.into_inner().map_err(|e| e.into_error())
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
/// first, and not a number) starts with `'` instead. Quoting is the csv
/// writer's.
fn defuse(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        let role = |title: &str| RoleView {
            id: "paraform:1".into(),
            title: title.into(),
            ..RoleView::default()
        };
        let csv = roles_csv(&[
            role("plain"),
            role("a,b"),
            role("say \"hi\""),
            role("=HYPERLINK(\"x\")"),
            role("-0.5"),
            role("@cmd"),
        ]);
        let titles: Vec<&str> = csv
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|line| &line["paraform:1,".len()..])
            .map(|rest| rest.split_at(rest.find(",,").unwrap_or(rest.len())).0)
            .collect();
        assert_eq!(
            titles,
            [
                "plain",
                "\"a,b\"",
                "\"say \"\"hi\"\"\"",
                "\"'=HYPERLINK(\"\"x\"\")\"",
                "-0.5",
                "'@cmd"
            ]
        );
        assert!(csv.starts_with("id,title,company,tier,"));
        assert_eq!(defuse("+1"), "+1");
        assert_eq!(defuse("\tx"), "'\tx");
    }

    #[test]
    fn roles_json_is_typed() {
        let role = RoleView {
            id: "paraform:1".into(),
            tier: "QUALIFIED",
            texts: crate::views::Texts::of(&[
                (crate::views::Text::stage, "Series B"),
                (crate::views::Text::posted, "2026-01-02"),
            ]),
            facts: crate::views::RoleFacts {
                combined_score: Some(0.82),
                engineer_score: Some(0.91),
                salary_min: Some(180_000),
                salary_max: Some(220_000),
                fee_percent: Some(22.5),
                openings: Some(3.0),
                raised_usd: Some(25_000_000.0),
                investors: crate::views::Lines::of(["Sequoia", "Accel"]),
                locations: crate::views::Lines::of(["New York"]),
                workplace: Some("HYBRID".into()),
                ..Default::default()
            },
            ..RoleView::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&roles_json(&[role, RoleView::default()]).unwrap()).unwrap();
        let typed = &json[0];
        assert_eq!(typed["combined_score"], serde_json::json!(0.82));
        assert_eq!(typed["engineer_score"], serde_json::json!(0.91));
        assert!(typed["headhunter_score"].is_null());
        assert_eq!(typed["salary_min"], 180_000);
        assert_eq!(typed["salary_max"], 220_000);
        assert_eq!(typed["fee_percent"], serde_json::json!(22.5));
        assert!(typed["openings"].is_i64(), "{typed}");
        assert_eq!(typed["openings"], 3);
        assert_eq!(typed["raised_usd"], 25_000_000);
        assert_eq!(typed["investors"], serde_json::json!(["Sequoia", "Accel"]));
        assert_eq!(typed["locations"], serde_json::json!(["New York"]));
        assert_eq!(typed["workplace"], "HYBRID");
        assert_eq!(typed["stage"], "Series B");
        assert_eq!(typed["posted"], "2026-01-02");
        // Nothing known: null, or an empty list; never "" or 0.
        let empty = &json[1];
        for name in [
            "combined_score",
            "salary_min",
            "fee_percent",
            "openings",
            "raised_usd",
            "stage",
            "workplace",
            "posted",
            "trend",
        ] {
            assert!(empty[name].is_null(), "{name}: {empty}");
        }
        assert_eq!(empty["investors"], serde_json::json!([]));
        assert_eq!(empty["reasons"], serde_json::json!([]));
        let fraction = serde_json::to_string(&RoleJson {
            openings: Some(2.5),
            ..role_json(&RoleView::default())
        })
        .unwrap();
        assert!(fraction.contains("\"openings\":2.5"), "{fraction}");
    }

    #[test]
    fn xml_text_drops_forbidden_characters() {
        assert_eq!(xml("a\u{1}b<c>&\"'"), "ab&lt;c&gt;&amp;&quot;&#39;");
    }
}
