//! The digest email's two parts, rendered from a [`Digest`]: HTML laid out
//! with tables and inline styles (what Gmail and Outlook keep), and plain text.
//!
//! Every string in the model is scraped text, or a model's (the short
//! briefings), and untrusted either way. The HTML template lets askama
//! escape it; the text template escapes nothing, so control characters are
//! removed here, for both parts, before any template sees a string. Links and
//! every other derived string are computed here too: the templates only print.

use askama::Template;

use super::content::{Digest, MaterialChange, POSTED_HOURS, ShortBriefing, TOP_ROLES};
use crate::text::{clean, cut, one_line};
use crate::views::RoleView;

/// Where the digest's links point.
pub struct Links<'a> {
    /// The published site's root, e.g. `https://demand.example.com`; a
    /// trailing slash is allowed.
    pub site_base_url: &'a str,
}

/// The HTML part: a full document, table layout, inline styles only.
pub fn html(digest: &Digest, links: &Links<'_>) -> askama::Result<String> {
    DigestHtml {
        view: View::new(digest, links),
    }
    .render()
}

/// The plain-text part.
pub fn text(digest: &Digest, links: &Links<'_>) -> askama::Result<String> {
    // askama drops the template's last newline; a text part ends with one.
    let view = View::new(digest, links);
    DigestText { view }.render().map(|text| text + "\n")
}

/// Text lines are wrapped to this width where words allow.
const TEXT_WIDTH: usize = 100;
/// Continuation lines of a role line start under the company name.
const TEXT_INDENT: &str = "      ";
/// Paragraphs of prose in the text part wrap earlier, for reading.
const PROSE_WIDTH: usize = 78;
/// Characters of one short-briefing part: a line or two, not the page.
const BRIEF_CHARS: usize = 240;
/// Says who wrote the short briefing, in both parts.
const BRIEF_MARK: &str = "Briefing (model)";

#[derive(Template)]
#[template(path = "digest.html")]
struct DigestHtml {
    view: View,
}

#[derive(Template)]
#[template(path = "digest.txt")]
struct DigestText {
    view: View,
}

/// Everything both templates print, cleaned and formatted.
struct View {
    subject: String,
    /// `Air Demand — Dec 19`
    title: String,
    /// `=` under the title, as long as it (text part).
    title_rule: String,
    counts: Vec<Count>,
    /// `2 new qualified · 1 change · 1 hot · 0 gone`
    counts_text: String,
    since: String,
    /// Set only for a digest with nothing new: the one paragraph it says.
    empty_note: Option<String>,
    /// The empty note, wrapped (text part).
    empty_note_lines: Vec<String>,
    warning: Option<String>,
    /// The warning, wrapped, for the top of the text part.
    warning_lines: Vec<String>,
    /// The warning on one line, for the end of the text part.
    warning_line: String,
    new_qualified: Vec<RoleLine>,
    changes: Vec<ChangeLine>,
    hot: Vec<RoleLine>,
    /// `Acme opened 5 roles on its own board: …`, cleaned (both parts).
    company_moves: Vec<String>,
    /// The lines, wrapped (text part).
    company_move_lines: Vec<Vec<String>>,
    /// Paraform roles whose own-board posting disappeared.
    pulled: Vec<RoleLine>,
    top: Vec<RoleLine>,
    posted: Vec<RoleLine>,
    posted_heading: String,
    posted_heading_rule: String,
    /// Column headings of the posted table (text part).
    posted_header: String,
    posted_rule: String,
    site_url: String,
    changes_url: String,
}

/// A headline number and what it counts.
struct Count {
    number: usize,
    label: &'static str,
}

/// A role as a digest line.
struct RoleLine {
    score: String,
    company: String,
    title: String,
    site_url: String,
    paraform_url: Option<String>,
    salary: String,
    fee: String,
    locations: String,
    /// `$260K–$320K · 22% · NYC` (the parts there are).
    details: String,
    tier: String,
    tier_style: &'static str,
    is_new: bool,
    trend: Option<String>,
    trend_style: &'static str,
    /// `0.82  Supabase — Staff Software Engineer  ($260K–$320K, 22%, NYC)`, wrapped.
    text_lines: Vec<String>,
    /// `QUALIFIED · NEW · surging`
    badges_text: String,
    /// The role as a row of the posted table (text part).
    table_row: String,
    /// Set only under a new qualified role that has one.
    briefing: Option<BriefLines>,
}

/// A new role's short briefing, cleaned and cut, for both parts.
struct BriefLines {
    /// `Briefing (model)`
    mark: &'static str,
    /// (label, text): core responsibility, why now, red flags (HTML part).
    parts: Vec<(&'static str, String)>,
    /// The mark, then each part wrapped and indented (text part).
    text_lines: Vec<String>,
}

impl BriefLines {
    fn new(brief: &ShortBriefing) -> BriefLines {
        let text = |t: &str| cut(&one_line(t), BRIEF_CHARS);
        let mut parts = Vec::new();
        if let Some(core) = &brief.core_responsibility {
            parts.push(("Core responsibility", text(core)));
        }
        if let Some(why_now) = &brief.why_now {
            parts.push(("Why now", text(why_now)));
        }
        let flags: Vec<String> = brief.red_flags.iter().map(|f| text(f)).collect();
        if !flags.is_empty() {
            parts.push(("Red flags", flags.join("; ")));
        }
        let mut text_lines = vec![format!("  {BRIEF_MARK}:")];
        for (label, value) in &parts {
            text_lines.extend(wrap(
                &format!("    {label}: {value}"),
                TEXT_WIDTH,
                TEXT_INDENT,
            ));
        }
        BriefLines {
            mark: BRIEF_MARK,
            parts,
            text_lines,
        }
    }
}

/// `Acme opened 5 roles on its own board (3 × Staff Engineer, Designer, …)
/// and closed 1`.
fn move_line(m: &crate::digest::content::CompanyMove) -> String {
    let roles = |n: usize| plural(n, "role", "roles");
    let titles: Vec<String> = m
        .opened_titles
        .iter()
        .map(|(t, n)| {
            let title = cut(&one_line(t), 60);
            if *n > 1 {
                format!("{n} × {title}")
            } else {
                title
            }
        })
        .collect();
    let listed: usize = m.opened_titles.iter().map(|(_, n)| n).sum();
    let opened = (m.opened > 0).then(|| {
        format!(
            "opened {} {} on its own board ({}{})",
            m.opened,
            roles(m.opened),
            titles.join(", "),
            if m.opened > listed { ", …" } else { "" }
        )
    });
    let closed = (m.closed > 0).then(|| format!("closed {} {}", m.closed, roles(m.closed)));
    let what: Vec<String> = opened.into_iter().chain(closed).collect();
    format!("{} {}", cut(&one_line(&m.company), 80), what.join(" and "))
}

/// A material change as a digest line.
struct ChangeLine {
    role: RoleLine,
    summary: String,
    /// The summary, wrapped and indented (text part).
    summary_lines: Vec<String>,
    /// Inline style colouring the summary by direction.
    summary_style: &'static str,
    /// `▲`, `▼`, … beside the summary (HTML part).
    mark: &'static str,
}

impl View {
    fn new(digest: &Digest, links: &Links<'_>) -> View {
        let base = links.site_base_url.trim_end_matches('/');
        let roles = |list: &[RoleView]| {
            list.iter()
                .map(|role| RoleLine::new(role, base))
                .collect::<Vec<_>>()
        };
        let title = format!("Air Demand — {}", one_line(&digest.day));
        let since = one_line(&digest.since);
        let counts = vec![
            Count {
                number: digest.new_qualified.len(),
                label: "new qualified",
            },
            Count {
                number: digest.changes.len(),
                label: plural(digest.changes.len(), "change", "changes"),
            },
            Count {
                number: digest.hot.len(),
                label: "hot",
            },
            Count {
                number: digest.gone_count,
                label: "gone",
            },
        ];
        let counts_text = counts
            .iter()
            .map(|c| format!("{} {}", c.number, c.label))
            .collect::<Vec<_>>()
            .join(" · ");
        let empty = digest.is_empty();
        let empty_note = empty.then(|| empty_note(&since, digest.top.len()));
        let warning = digest
            .session_warning
            .as_deref()
            .map(clean)
            .filter(|w| !w.trim().is_empty());
        let warning_line = warning.as_deref().map(one_line).unwrap_or_default();
        let (posted_header, posted_rule) = posted_header();
        View {
            subject: one_line(&digest.subject),
            title_rule: "=".repeat(title.chars().count()),
            title,
            counts,
            counts_text,
            empty_note_lines: empty_note
                .as_deref()
                .map(|n| wrap(n, PROSE_WIDTH, ""))
                .unwrap_or_default(),
            empty_note,
            warning_lines: wrap(
                &format!("SESSION WARNING: {warning_line}"),
                PROSE_WIDTH,
                "  ",
            ),
            warning_line,
            warning,
            new_qualified: digest
                .new_qualified
                .iter()
                .map(|role| RoleLine {
                    briefing: digest.briefings.get(&role.id).map(BriefLines::new),
                    ..RoleLine::new(role, base)
                })
                .collect(),
            changes: digest
                .changes
                .iter()
                .map(|change| ChangeLine::new(change, base))
                .collect(),
            hot: roles(&digest.hot),
            company_moves: digest.company_moves.iter().map(move_line).collect(),
            company_move_lines: digest
                .company_moves
                .iter()
                .map(|m| wrap(&format!("- {}", move_line(m)), TEXT_WIDTH, TEXT_INDENT))
                .collect(),
            pulled: digest
                .pulled
                .iter()
                .map(|p| RoleLine::new(&p.role, base))
                .collect(),
            top: roles(&digest.top),
            // A quiet day's digest is short: what is open, and the way to the site.
            posted: if empty {
                Vec::new()
            } else {
                roles(&digest.posted)
            },
            posted_heading: format!("Posted in the last {POSTED_HOURS} hours"),
            posted_heading_rule: "-".repeat(
                format!("Posted in the last {POSTED_HOURS} hours")
                    .chars()
                    .count(),
            ),
            posted_header,
            posted_rule,
            site_url: format!("{base}/all.html"),
            changes_url: format!("{base}/changes.html"),
            since,
        }
    }
}

impl RoleLine {
    fn new(role: &RoleView, base: &str) -> RoleLine {
        let score = if role.score_text().is_empty() {
            "–".to_string()
        } else {
            one_line(role.score_text())
        };
        let company = one_line(&role.company);
        let title = one_line(&role.title);
        let salary = one_line(role.salary_text());
        let fee = one_line(role.fee_text());
        let locations = one_line(role.locations());
        let parts: Vec<&str> = [salary.as_str(), fee.as_str(), locations.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        // A tier that rests on the model says so, in both parts.
        let tier = if role.tier_from_model() {
            format!("{} (model)", one_line(role.tier_label))
        } else {
            one_line(role.tier_label)
        };
        let trend = role.trend.map(|t| t.as_str().to_string());
        let mut text_lines = wrap(
            &format!("{score:>4}  {company} — {title}"),
            TEXT_WIDTH,
            TEXT_INDENT,
        );
        if !parts.is_empty() {
            // The details stay whole: beside the name when they fit, else on their own line.
            let details = format!("({})", parts.join(", "));
            match text_lines.last_mut() {
                Some(last) if last.chars().count() + 2 + details.chars().count() <= TEXT_WIDTH => {
                    last.push_str("  ");
                    last.push_str(&details);
                }
                _ => text_lines.push(format!("{TEXT_INDENT}{details}")),
            }
        }
        let mut badges = vec![tier.clone()];
        if role.is_new {
            badges.push("NEW".into());
        }
        badges.extend(trend.clone());
        let table_row = posted_row([&company, &title, &tier, &score, &salary, &fee, &locations]);
        RoleLine {
            site_url: format!("{base}/{}", role.page),
            paraform_url: role.url.as_deref().map(one_line),
            details: parts.join(" · "),
            tier_style: tier_style(role.tier_key),
            is_new: role.is_new,
            trend_style: trend_style(trend.as_deref().unwrap_or("")),
            trend,
            text_lines,
            badges_text: badges.join(" · "),
            table_row,
            briefing: None,
            score,
            company,
            title,
            salary,
            fee,
            locations,
            tier,
        }
    }
}

impl ChangeLine {
    fn new(change: &MaterialChange, base: &str) -> ChangeLine {
        let summary = one_line(&change.summary);
        let (summary_style, mark) = change_style(&change.change.kind_class);
        ChangeLine {
            role: RoleLine::new(&change.role, base),
            summary_lines: wrap(&format!("  {summary}"), TEXT_WIDTH, "  "),
            summary,
            summary_style,
            mark,
        }
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The paragraph of a digest with nothing new. `top` holds at most
/// [`TOP_ROLES`], so a full list means there may be more open.
fn empty_note(since: &str, top: usize) -> String {
    match top {
        0 => format!("Nothing new since {since}, and no qualified roles are open right now."),
        1 => format!("Nothing new since {since}; 1 qualified role is open — here it is."),
        n if n < TOP_ROLES => {
            format!("Nothing new since {since}; {n} qualified roles are open — here they are.")
        }
        n => format!(
            "Nothing new since {since}; {n} or more qualified roles are open — the top ones are below."
        ),
    }
}

/// Greedy word wrap that keeps the spacing between words (the role line's
/// double spaces) and any leading spaces; later lines start with `indent`. A
/// word longer than the width (a URL) gets a line of its own, unbroken.
fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut gap = "";
    for piece in runs(text) {
        if piece.starts_with(' ') {
            if lines.is_empty() && line.is_empty() {
                line.push_str(piece);
            } else {
                gap = piece;
            }
            continue;
        }
        let length = line.chars().count() + gap.chars().count() + piece.chars().count();
        if length > width && !line.trim().is_empty() {
            lines.push(std::mem::replace(&mut line, indent.to_string()));
            gap = "";
        }
        line.push_str(gap);
        line.push_str(piece);
        gap = "";
    }
    if !line.trim().is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` as alternating runs of spaces and of everything else.
fn runs(text: &str) -> Vec<&str> {
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices().skip(1) {
        let before = text[..i].ends_with(' ');
        if (c == ' ') != before {
            runs.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        runs.push(&text[start..]);
    }
    runs
}

/// The posted table's columns (text part): width of each but the last.
const POSTED_COLUMNS: [(&str, usize); 7] = [
    ("Company", 16),
    ("Title", 28),
    ("Tier", 9),
    ("Score", 5),
    ("Salary", 11),
    ("Fee", 4),
    ("Locations", 0),
];

fn posted_header() -> (String, String) {
    let header = posted_row(POSTED_COLUMNS.map(|(name, _)| name));
    let rule = "-".repeat(header.chars().count());
    (header, rule)
}

/// One row of the posted table: each cell cut to its column and padded; the
/// last cut to what is left of the line.
fn posted_row(cells: [&str; 7]) -> String {
    let mut row = String::new();
    for (cell, (_, width)) in cells.iter().zip(POSTED_COLUMNS) {
        let width = if width == 0 {
            TEXT_WIDTH.saturating_sub(row.chars().count()).max(8)
        } else {
            width
        };
        let cut = cut(cell, width);
        let pad = width.saturating_sub(cut.chars().count());
        row.push_str(&cut);
        row.push_str(&" ".repeat(pad + 2));
    }
    row.trim_end().to_string()
}

// Colours follow the site's light palette (templates/assets/style.css).
const GREEN: &str = "color:#156f3b;background-color:#dcf3e4;";
const AMBER: &str = "color:#7a5200;background-color:#fcefc9;";
const RED: &str = "color:#a1232b;background-color:#fbe0e1;";
const BLUE: &str = "color:#174f9c;background-color:#dde9fb;";
const PURPLE: &str = "color:#5b2e91;background-color:#ece2f8;";
const GREY: &str = "color:#4a5561;background-color:#e7eaee;";

fn tier_style(tier_key: &str) -> &'static str {
    match tier_key {
        "qualified" => GREEN,
        "maybe" => AMBER,
        "location-uncertain" => BLUE,
        _ => GREY,
    }
}

fn trend_style(trend: &str) -> &'static str {
    match trend {
        "surging" => RED,
        "hired" => PURPLE,
        _ => GREY,
    }
}

/// The summary's colour and mark by the change's direction (`kind_class`).
fn change_style(kind_class: &str) -> (&'static str, &'static str) {
    match kind_class {
        "up" => ("color:#156f3b;", "▲"),
        "down" => ("color:#a1232b;", "▼"),
        "back" | "new" => ("color:#174f9c;", "↺"),
        "tier" => ("color:#5b2e91;", "◆"),
        "gone" => ("color:#6e7781;", "✕"),
        _ => ("color:#4a5561;", "•"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{Tier, Trend};
    use crate::track::ChangeKind;
    use crate::views::ChangeView;

    const BASE: &str = "https://demand.example.com/";
    const HOSTILE_COMPANY: &str = "<script>alert(1)</script>";
    const HOSTILE_TITLE: &str = "Staff \"><img src=x onerror=alert(1)> \u{1b}[31mEngineer";

    const HEADINGS: [&str; 5] = [
        "New qualified roles",
        "Material changes",
        "Hot roles",
        "Top qualified roles",
        "Posted in the last 24 hours",
    ];

    fn role(id: &str, company: &str, title: &str, score: f64) -> RoleView {
        RoleView {
            id: format!("paraform:{id}"),
            page: format!("roles/paraform-{id}.html"),
            title: title.into(),
            company: company.into(),
            url: Some(format!("https://www.paraform.com/company/x/{id}?a=1&b=2")),
            status: "active",
            score,
            texts: crate::views::Texts::of(&[
                (crate::views::Text::score_text, &format!("{score:.2}")),
                (crate::views::Text::posted, "2025-12-19"),
                (crate::views::Text::posted_sort, "2025-12-19T08:00:00Z"),
                (crate::views::Text::salary_text, "$260K–$320K"),
                (crate::views::Text::fee_text, "22%"),
                (crate::views::Text::openings, "2"),
                (crate::views::Text::locations, "NYC"),
                (crate::views::Text::location_keys, "nyc"),
                (crate::views::Text::first_seen, "2025-12-19"),
                (crate::views::Text::last_seen, "2025-12-19"),
            ]),
            salary_sort: 320_000.0,
            fee: 22.0,
            openings_sort: 2.0,
            ..RoleView::default()
        }
        .with_tier(Some(Tier::Qualified))
    }

    fn change(
        role: &RoleView,
        kind: ChangeKind,
        kind_class: &str,
        summary: &str,
    ) -> MaterialChange {
        MaterialChange {
            change: ChangeView {
                id: 1,
                detected_at: "2025-12-19T08:00:00Z".into(),
                time: "08:00".into(),
                kind,
                kind_class: kind_class.into(),
                label: "Salary up".into(),
                field: "salaryUpperBound".into(),
                old_value: "250000".into(),
                new_value: "275000".into(),
                role_id: role.id.clone(),
                source: "Paraform",
                page: role.page.clone(),
                title: role.title.clone(),
                company: role.company.clone(),
                trend: None,
                run_id: Some(1),
            },
            role: role.clone(),
            summary: summary.into(),
        }
    }

    fn empty_digest() -> Digest {
        Digest {
            subject: "Air Demand: 0 new qualified, 0 changes — Dec 19".into(),
            day: "Dec 19".into(),
            since: "2025-12-18 12:00 UTC".into(),
            new_qualified: Vec::new(),
            changes: Vec::new(),
            hot: Vec::new(),
            top: Vec::new(),
            posted: Vec::new(),
            gone_count: 0,
            company_moves: Vec::new(),
            pulled: Vec::new(),
            session_warning: None,
            briefings: Default::default(),
        }
    }

    /// Hostile text in every part: markup, an escape sequence, a newline.
    fn short_briefing() -> ShortBriefing {
        ShortBriefing {
            core_responsibility: Some(format!("Own payouts {HOSTILE_COMPANY}")),
            why_now: Some("Series B \u{1b}[31min November\nand growing".into()),
            red_flags: vec![format!("No CTO = risk {HOSTILE_TITLE}"), "Churn".into()],
        }
    }

    fn full_digest() -> Digest {
        let mut hostile = role("evil", HOSTILE_COMPANY, HOSTILE_TITLE, 0.91);
        hostile.is_new = true;
        let supabase = role("supabase", "Supabase", "Staff Software Engineer", 0.82);
        let mut hot = role("hot", "Hotco", "Founding Engineer", 0.77);
        hot.trend = Some(Trend::Surging);
        let mut maybe = role("maybe", "Maybeco", "Backend Engineer", 0.41)
            .with_tier(Some(Tier::LocationUncertain));
        maybe.url = None;
        Digest {
            subject: "Air Demand: 1 new qualified, 1 change, 1 hot — Dec 19".into(),
            new_qualified: vec![hostile.clone()],
            changes: vec![change(
                &supabase,
                ChangeKind::SalaryIncrease,
                "up",
                "Salary up (max): $250K → $275K",
            )],
            hot: vec![hot.clone()],
            top: vec![hostile.clone(), supabase.clone(), hot],
            briefings: [(hostile.id.clone(), short_briefing())]
                .into_iter()
                .collect(),
            posted: vec![hostile, maybe],
            gone_count: 2,
            company_moves: vec![crate::digest::content::CompanyMove {
                company: HOSTILE_COMPANY.into(),
                opened: 5,
                closed: 1,
                opened_titles: vec![(HOSTILE_TITLE.into(), 1), ("Designer".into(), 3)],
            }],
            session_warning: Some(
                "The Paraform session expires in 3 days.\nRun `air-demand login`.".into(),
            ),
            ..empty_digest()
        }
    }

    fn links() -> Links<'static> {
        Links {
            site_base_url: BASE,
        }
    }

    #[test]
    fn company_moves_count_repeated_titles() {
        let m = crate::digest::content::CompanyMove {
            company: "Acme".into(),
            opened: 5,
            closed: 1,
            opened_titles: vec![("Designer".into(), 1), ("Staff Engineer".into(), 3)],
        };
        assert_eq!(
            move_line(&m),
            "Acme opened 5 roles on its own board (Designer, 3 × Staff Engineer, …) and closed 1 role"
        );
    }

    /// Renders both parts; asserts what holds for every digest.
    fn render(digest: &Digest) -> (String, String) {
        let html = html(digest, &links()).unwrap();
        let text = text(digest, &links()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains(&format!("<title>{}</title>", digest.subject)));
        assert!(html.contains("https://demand.example.com/all.html"));
        assert!(text.contains("https://demand.example.com/all.html"));
        assert!(html.contains("https://demand.example.com/changes.html"));
        // Fluid on a phone: no fixed width but Outlook's (in its comment).
        assert!(html.contains("width:100%;max-width:640px"));
        assert!(!html.contains("\"width:640px"), "{html}");
        assert!(text.contains("https://demand.example.com/changes.html"));
        assert!(!html.contains("<style") && !html.contains("class=") && !html.contains("<img"));
        assert!(
            !text.contains("&lt;") && !text.contains("&amp;") && !text.contains("&#"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}') && !html.contains('\u{1b}'));
        assert!(!html.contains(".example.com//"), "{html}");
        (html, text)
    }

    #[test]
    fn hostile_text_is_escaped_in_html_and_plain_in_text() {
        let (html, text) = render(&full_digest());
        // askama escapes with numeric character references.
        assert!(
            html.contains("<strong>&#60;script&#62;alert(1)&#60;/script&#62;</strong>"),
            "{html}"
        );
        assert!(
            html.contains(">Staff &#34;&#62;&#60;img src=x onerror=alert(1)&#62; [31mEngineer</a>"),
            "{html}"
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("\"><img"));
        assert!(
            text.contains(
                "<script>alert(1)</script> — Staff \"><img src=x onerror=alert(1)> [31mEngineer"
            ),
            "{text}"
        );
        // Query strings keep their `&` in text, and are escaped in HTML.
        assert!(text.contains("paraform: https://www.paraform.com/company/x/evil?a=1&b=2"));
        assert!(html.contains("href=\"https://www.paraform.com/company/x/evil?a=1&#38;b=2\""));
    }

    #[test]
    fn new_qualified_roles_carry_their_short_briefing_escaped() {
        let (html, text) = render(&full_digest());
        // Only under the new role, not again in the top or posted lists.
        assert_eq!(html.matches("Briefing (model)").count(), 1, "{html}");
        assert_eq!(text.matches("Briefing (model)").count(), 1, "{text}");
        assert!(
            html.contains(
                "<strong>Core responsibility:</strong> Own payouts &#60;script&#62;alert(1)&#60;/script&#62;"
            ),
            "{html}"
        );
        assert!(html.contains("<strong>Why now:</strong> Series B [31min November and growing"));
        assert!(html.contains(
            "<strong>Red flags:</strong> No CTO = risk Staff &#34;&#62;&#60;img src=x onerror=alert(1)&#62; [31mEngineer; Churn"
        ));
        assert!(!html.contains("<script") && !html.contains("<img"));
        let block = "  QUALIFIED · NEW
  Briefing (model):
    Core responsibility: Own payouts <script>alert(1)</script>
    Why now: Series B [31min November and growing
    Red flags: No CTO = risk Staff \"><img src=x onerror=alert(1)> [31mEngineer; Churn
  site: https://demand.example.com/roles/paraform-evil.html
";
        assert!(text.contains(block), "{text}");
        let new = text.find("New qualified roles").unwrap();
        let top = text.find("Top qualified roles").unwrap();
        let at = text.find("Briefing (model)").unwrap();
        assert!(new < at && at < top);
    }

    #[test]
    fn short_briefings_are_short_and_wrapped() {
        let mut digest = full_digest();
        let long = "word ".repeat(100);
        let brief = ShortBriefing {
            core_responsibility: None,
            why_now: Some(long),
            red_flags: Vec::new(),
        };
        digest.briefings = [(digest.new_qualified[0].id.clone(), brief)]
            .into_iter()
            .collect();
        let (html, text) = render(&digest);
        assert!(!html.contains("Core responsibility") && !html.contains("Red flags"));
        assert!(!text.contains("Core responsibility") && !text.contains("Red flags"));
        assert!(text.contains("    Why now: word word"));
        for line in text.lines().filter(|l| !l.contains("https://")) {
            assert!(line.chars().count() <= TEXT_WIDTH, "too long: {line:?}");
        }
        let why_now = html.split("Why now:</strong> ").nth(1).unwrap();
        let why_now = why_now.split('\n').next().unwrap();
        assert_eq!(why_now.chars().count(), BRIEF_CHARS, "{why_now}");
        assert!(why_now.ends_with('…'));
    }

    #[test]
    fn no_briefing_shows_nothing() {
        let mut digest = full_digest();
        digest.briefings.clear();
        let (html, text) = render(&digest);
        assert!(!html.contains("Briefing") && !text.contains("Briefing"));
        assert!(text.contains(
            "  QUALIFIED · NEW\n  site: https://demand.example.com/roles/paraform-evil.html\n"
        ));
    }

    #[test]
    fn every_section_with_content_has_its_heading() {
        let (html, text) = render(&full_digest());
        for heading in HEADINGS {
            assert!(html.contains(heading), "{heading} missing from the HTML");
            assert!(
                text.contains(&format!(
                    "{heading}\n{}",
                    "-".repeat(heading.chars().count())
                )),
                "{heading}:\n{text}"
            );
        }
        assert!(
            text.contains("1 new qualified · 1 change · 1 hot · 2 gone since 2025-12-18 12:00 UTC"),
            "{text}"
        );
        assert!(
            text.contains("0.82  Supabase — Staff Software Engineer  ($260K–$320K, 22%, NYC)"),
            "{text}"
        );
        assert!(text.contains("  Salary up (max): $250K → $275K"));
        assert!(html.contains("Salary up (max): $250K → $275K"));
        assert!(html.contains("color:#156f3b"));
        assert!(html.contains(">NEW<") && html.contains(">surging<"));
        assert!(html.contains("LOCATION UNCERTAIN"));
        assert!(!text.contains("Nothing new since"));
    }

    #[test]
    fn empty_sections_have_no_heading() {
        let mut digest = full_digest();
        digest.changes.clear();
        digest.hot.clear();
        digest.posted.clear();
        let (html, text) = render(&digest);
        for heading in [
            "Material changes",
            "Hot roles",
            "Posted in the last 24 hours",
        ] {
            assert!(!html.contains(heading), "{heading} in the HTML");
            assert!(!text.contains(heading), "{heading} in the text");
        }
        for heading in ["New qualified roles", "Top qualified roles"] {
            assert!(
                html.contains(heading) && text.contains(heading),
                "{heading}"
            );
        }
    }

    #[test]
    fn links_are_absolute() {
        let (html, text) = render(&full_digest());
        assert!(
            html.contains("href=\"https://demand.example.com/roles/paraform-supabase.html\""),
            "{html}"
        );
        assert!(
            text.contains("  site: https://demand.example.com/roles/paraform-supabase.html\n"),
            "{text}"
        );
        assert!(text.contains("  paraform: https://www.paraform.com/company/x/supabase?a=1&b=2\n"));
        assert!(!html.contains("href=\"roles/"));
    }

    #[test]
    fn session_warning_in_both_parts() {
        let (html, text) = render(&full_digest());
        assert!(
            html.contains("The Paraform session expires in 3 days."),
            "{html}"
        );
        assert!(
            text.contains("SESSION WARNING: The Paraform session expires in 3 days."),
            "{text}"
        );
        // Near the top, and once more as the text's last line.
        assert!(text.find("SESSION WARNING").unwrap() < text.find("New qualified roles").unwrap());
        assert!(html.find("session expires").unwrap() < html.find("New qualified roles").unwrap());
        assert!(text.ends_with("login`.\n"));
        let last = text.lines().last().unwrap();
        assert_eq!(
            last,
            "Session warning: The Paraform session expires in 3 days. Run `air-demand login`."
        );
    }

    #[test]
    fn empty_digest_is_short() {
        let mut digest = empty_digest();
        digest.top = vec![role(
            "supabase",
            "Supabase",
            "Staff Software Engineer",
            0.82,
        )];
        digest.posted = vec![role("other", "Otherco", "Engineer", 0.2)];
        let (html, text) = render(&digest);
        let note = "Nothing new since 2025-12-18 12:00 UTC; 1 qualified role is open — here it is.";
        assert!(html.contains(note), "{html}");
        assert!(text.contains(note), "{text}");
        assert!(html.contains("Top qualified roles") && text.contains("Top qualified roles"));
        for heading in [
            "New qualified roles",
            "Material changes",
            "Hot roles",
            "Posted in the last",
        ] {
            assert!(
                !html.contains(heading) && !text.contains(heading),
                "{heading}"
            );
        }
        assert!(!text.contains("Otherco") && !html.contains("Otherco"));
        assert!(!text.contains("Session warning"));
        assert_eq!(text.matches("Nothing new").count(), 1);
    }

    #[test]
    fn empty_note_counts() {
        assert!(empty_note("then", 0).contains("no qualified roles are open"));
        assert!(empty_note("then", 3).contains("3 qualified roles are open"));
        assert!(empty_note("then", TOP_ROLES).contains(&format!("{TOP_ROLES} or more")));
    }

    #[test]
    fn text_lines_stay_short() {
        let long = role(
            "long",
            "Averyveryverylongcompanyname Incorporated",
            &"Principal Engineer ".repeat(6),
            0.5,
        );
        let mut digest = full_digest();
        digest.top.push(long.clone());
        digest.posted.push(long);
        let (_, text) = render(&digest);
        for line in text.lines().filter(|l| !l.contains("https://")) {
            assert!(line.chars().count() <= TEXT_WIDTH, "too long: {line:?}");
        }
        let wrapped = text.lines().any(|l| {
            l.starts_with(TEXT_INDENT) && l.ends_with("Engineer  ($260K–$320K, 22%, NYC)")
        });
        assert!(wrapped, "{text}");
    }

    #[test]
    fn role_line_details_stay_whole() {
        let long = role("long", "Co", &"X".repeat(90), 0.5);
        let line = RoleLine::new(&long, "https://demand.example.com");
        let details = format!("{TEXT_INDENT}($260K–$320K, 22%, NYC)");
        let title = format!("{TEXT_INDENT}{}", "X".repeat(90));
        assert_eq!(
            line.text_lines,
            ["0.50  Co —", title.as_str(), details.as_str()]
        );
    }

    #[test]
    fn cleaning() {
        let check =
            |input: &str, expected: &str| assert_eq!(one_line(input), expected, "{input:?}");
        check("a\u{1b}[31mb", "a[31mb");
        check("  a\n\tb  \r\n c ", "a b c");
        check("x\u{202e}y\u{7}z", "xyz");
        assert_eq!(clean("a\nb\u{0}c"), "a\nbc");
    }

    #[test]
    fn wrapping() {
        let check = |input: &str, width: usize, expected: &[&str]| {
            assert_eq!(wrap(input, width, "  "), expected)
        };
        check("one two three", 9, &["one two", "  three"]);
        check("short", 80, &["short"]);
        check(
            "a https://very.long.example.com/x b",
            10,
            &["a", "  https://very.long.example.com/x", "  b"],
        );
        check("", 10, &[]);
        check("  a  b", 80, &["  a  b"]);
        check("0.82  Co — T  (x, y)", 12, &["0.82  Co — T", "  (x, y)"]);
    }

    #[test]
    fn posted_rows_fit_their_columns() {
        let row = posted_row([
            "Supabase",
            "Staff Software Engineer",
            Tier::Qualified.as_str(),
            "0.82",
            "$260K–$320K",
            "22%",
            "NYC",
        ]);
        assert_eq!(
            row,
            "Supabase          Staff Software Engineer       QUALIFIED  0.82   $260K–$320K  22%   NYC"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
