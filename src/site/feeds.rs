//! The site's machine-readable files: `feed.atom` (changes), `roles.json`,
//! `roles.csv`. Scraped text is escaped for XML, and defused for
//! spreadsheets.

use std::fmt::Write;

use anyhow::Result;
use serde::Serialize;

use super::model::{ChangeView, RoleView, SiteData};
use crate::evaluate::Trend;
use crate::intel::escape_html;

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
        let said = crate::vocab::Said {
            field: change.field.clone(),
            old: change.old_value.clone(),
            new: change.new_value.clone(),
        }
        .line();
        let what = if said.is_empty() {
            change.label.clone()
        } else {
            said
        };
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

/// What `roles.json` and `roles.csv` say of a role.
#[derive(Serialize)]
struct RoleRecord<'a> {
    /// The role's id is scraped text too; everything else comes clean from
    /// the view (`model::role_view`).
    id: std::borrow::Cow<'a, str>,
    title: &'a str,
    company: &'a str,
    tier: &'a str,
    combined_score: f64,
    engineer_score: &'a str,
    headhunter_score: &'a str,
    excitement_score: &'a str,
    salary: &'a str,
    fee_percent: f64,
    openings: &'a str,
    raised: &'a str,
    investors: &'a str,
    stage: &'a str,
    locations: &'a str,
    posted: &'a str,
    first_seen: &'a str,
    trend: Option<&'a str>,
    paraform_url: Option<&'a str>,
    page: &'a str,
    reasons: &'a [String],
}

fn record(role: &RoleView) -> RoleRecord<'_> {
    RoleRecord {
        id: crate::text::clean_cow(&role.id),
        title: &role.title,
        company: &role.company,
        tier: role.tier,
        combined_score: role.score,
        engineer_score: &role.engineer_text,
        headhunter_score: &role.headhunter_text,
        excitement_score: &role.excitement_text,
        salary: &role.salary_text,
        fee_percent: role.fee,
        openings: &role.openings,
        raised: &role.raised_text,
        investors: &role.investors,
        stage: &role.stage,
        locations: &role.locations,
        posted: &role.posted,
        first_seen: &role.first_seen,
        trend: role.trend.map(Trend::as_str),
        paraform_url: role.url.as_deref(),
        page: &role.page,
        reasons: &role.reasons,
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
    use serde::Serializer as _;
    let mut json = serde_json::Serializer::pretty(out);
    json.collect_seq(roles.iter().map(record))
        .map_err(std::io::Error::other)
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
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    out.write_record(HEADER)?;
    for role in roles {
        let r = record(role);
        let cells = [
            r.id.to_string(),
            r.title.to_string(),
            r.company.to_string(),
            r.tier.to_string(),
            format!("{:.2}", r.combined_score),
            r.engineer_score.to_string(),
            r.headhunter_score.to_string(),
            r.excitement_score.to_string(),
            r.salary.to_string(),
            crate::role::format_number(r.fee_percent),
            r.openings.to_string(),
            r.raised.to_string(),
            r.investors.to_string(),
            r.stage.to_string(),
            r.locations.to_string(),
            r.posted.to_string(),
            r.first_seen.to_string(),
            r.trend.unwrap_or("").to_string(),
            r.paraform_url.unwrap_or("").to_string(),
            r.page.to_string(),
            r.reasons.join("; "),
        ];
        out.write_record(cells.iter().map(|c| defuse(c)))?;
    }
    out.flush()
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
/// first, and not a number) starts with `'` instead. Quoting is the csv
/// writer's.
fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
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
    fn xml_text_drops_forbidden_characters() {
        assert_eq!(xml("a\u{1}b<c>&\"'"), "ab&lt;c&gt;&amp;&quot;&#39;");
    }
}
