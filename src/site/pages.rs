//! The site's HTML pages: one askama template per page (in `templates/`), the
//! structs that feed them and one render function per page, plus the
//! stylesheet and table script they load.
//!
//! Everything scraped is untrusted, and so is everything a model wrote (the
//! briefings): templates are `.html`, so askama escapes every value; only
//! the sanitised role HTML and our own chart SVGs go in with `|safe`. Links are relative (`root` is `""` at the top, `"../"` in
//! `roles/`), so the site works from `file://` and under any URL prefix.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use askama::Template;

use crate::health::Health;
use crate::site::Charts;
use crate::store::RunRow;
use crate::views::companies::CompanyView;
use crate::views::{
    BriefingView, ChangeDay, ChangeView, Header, Histories, RoleDetail, RoleView, SiteData,
    VersionView,
};

/// The stylesheet every page links as `assets/style.css`.
pub const STYLE_CSS: &str = include_str!("../../templates/assets/style.css");
/// The sorting and filtering script, `assets/table.js`.
pub const TABLE_JS: &str = include_str!("../../templates/assets/table.js");

/// Links from top-level pages.
const TOP: &str = "";
/// Links from `roles/*.html`.
const ROLE_ROOT: &str = "../";

/// `index.html`: roles rated QUALIFIED or MAYBE, in the model's order
/// (tier, then combined score). Its rows are [`ROWS`]: `site::lists`
/// writes each from [`index_row`] in its place.
pub fn index_page(data: &SiteData) -> impl Template + '_ {
    let rows = || data.roles.iter().filter(|r| r.qualified);
    IndexPage {
        root: TOP,
        header: &data.header,
        title: "Qualified roles",
        nav: "index",
        scripted: true,
        tiers: tier_options(rows()),
        stages: stage_options(rows()),
        shown: rows().count(),
        rows_marker: ROWS,
    }
}

/// `all.html`: every active role with its tier and reasons; its rows are
/// [`ROWS`], each from [`all_row`].
pub fn all_page(data: &SiteData) -> impl Template + '_ {
    AllPage {
        root: TOP,
        header: &data.header,
        title: "All roles",
        nav: "all",
        scripted: true,
        tiers: tier_options(data.roles.iter()),
        stages: stage_options(data.roles.iter()),
        shown: data.roles.len(),
        rows_marker: ROWS,
    }
}

/// Where a list page's rows go: a control character, which no printed
/// value can hold (the escaper removes them), so only the template can.
pub const ROWS: &str = "\u{1}rows\u{1}";

/// What a kept row's slots are: [`SLOT`] and then one of these letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    New,
    Age,
    LastActive,
    Responds,
}

/// The byte that starts a slot in a kept row; the next byte names it.
pub const SLOT: u8 = 1;

impl Slot {
    const ALL: [(Slot, &'static str); 4] = [
        (Slot::New, "\u{1}N"),
        (Slot::Age, "\u{1}A"),
        (Slot::LastActive, "\u{1}L"),
        (Slot::Responds, "\u{1}R"),
    ];

    fn marker(self) -> &'static str {
        Slot::ALL
            .iter()
            .find(|(slot, _)| *slot == self)
            .map_or("", |(_, marker)| marker)
    }

    /// The slot a marker's second byte names.
    pub fn named(byte: u8) -> Option<Slot> {
        Slot::ALL
            .iter()
            .find(|(_, marker)| marker.as_bytes()[1] == byte)
            .map(|(slot, _)| *slot)
    }
}

/// A role's row of `index.html`, with its moving parts as slots.
pub fn index_row(role: &RoleView) -> impl Template + '_ {
    IndexRow {
        root: TOP,
        role,
        slot_new: Slot::New.marker(),
        slot_age: Slot::Age.marker(),
        slot_last_active: Slot::LastActive.marker(),
        slot_responds: Slot::Responds.marker(),
    }
}

/// A role's row of `all.html`, its NEW mark a slot.
pub fn all_row(role: &RoleView) -> impl Template + '_ {
    AllRow {
        root: TOP,
        role,
        reasons: reason_classes(&role.reasons),
        slot_new: Slot::New.marker(),
    }
}

/// What fills `slot` of `role`'s row now.
pub fn row_slot(role: &RoleView, slot: Slot) -> impl Template + '_ {
    RowSlot { role, slot }
}

/// `changes.html`: recent changes grouped by day, newest first.
pub fn changes_page(data: &SiteData) -> impl Template + '_ {
    ChangesPage {
        root: TOP,
        header: &data.header,
        title: "Changes",
        nav: "changes",
        scripted: false,
        days: &data.days,
        change_days: crate::views::CHANGE_DAYS,
    }
}

/// `gone.html`: roles that disappeared, with how long they were open.
pub fn gone_page(data: &SiteData) -> impl Template + '_ {
    let roles = data
        .gone
        .iter()
        .map(|role| {
            let iso = role.gone_at.as_deref().unwrap_or("");
            GoneRow {
                role,
                gone_at: display_time(iso),
                gone_at_iso: iso,
            }
        })
        .collect();
    GonePage {
        root: TOP,
        header: &data.header,
        title: "Gone roles",
        nav: "gone",
        scripted: true,
        roles,
    }
}

/// `companies.html`: every followed or Paraform-seen company.
pub fn companies_page<'a>(data: &'a SiteData, companies: &'a [CompanyView]) -> impl Template + 'a {
    CompaniesPage {
        root: TOP,
        header: &data.header,
        title: "Companies",
        nav: "companies",
        scripted: true,
        companies,
    }
}

/// `companies/<file>.html`: one company's Paraform roles, its own board's
/// roles, their timeline and its open board roles over 30 days.
pub fn company_page(
    data: &SiteData,
    company: &CompanyView,
    changes: Vec<ChangeView>,
) -> askama::Result<String> {
    let chart = if company.followed && !company.board_roles.is_empty() {
        let days: Vec<(String, Vec<f64>)> = company
            .open_by_day
            .iter()
            .map(|(day, open)| (day.clone(), vec![*open as f64]))
            .collect();
        super::charts::bar_chart(
            "Open roles on its board",
            "roles",
            &[("open", "#2563eb")],
            &days,
        )
    } else {
        String::new()
    };
    CompanyPage {
        root: ROLE_ROOT,
        header: &data.header,
        title: company.name.clone(),
        nav: "company",
        scripted: false,
        company,
        paraform: company
            .paraform_roles
            .iter()
            .map(|&i| {
                let role = &data.roles[i];
                (role, board_status(data, role))
            })
            .collect(),
        board: company
            .board_roles
            .iter()
            .map(|&i| &data.board_roles[i])
            .collect(),
        changes,
        chart,
    }
    .render()
}

/// `charts.html`: the four inline SVG charts.
pub fn charts_page(data: &SiteData, charts: &Charts) -> askama::Result<String> {
    ChartsPage {
        root: TOP,
        header: &data.header,
        title: "Charts",
        nav: "charts",
        scripted: false,
        charts,
    }
    .render()
}

/// `health.html`: health status, session, database and the recent runs.
pub fn health_page(data: &SiteData, health: &Health, charts: &Charts) -> askama::Result<String> {
    HealthPage {
        root: TOP,
        header: &data.header,
        title: "Health",
        nav: "health",
        scripted: false,
        status: health.status.as_str(),
        last_run: health.last_run.as_ref().map(RunView::new),
        last_run_age: health.last_run_age_hours.map(age_text).unwrap_or_default(),
        last_digest_age: health
            .last_digest_age_hours
            .map(age_text)
            .unwrap_or_default(),
        database_mb: format!("{:.2} MB", health.database.bytes as f64 / (1024.0 * 1024.0)),
        runs: data.runs.iter().map(RunView::new).collect(),
        health,
        charts,
    }
    .render()
}

/// `roles/<file>.html` (at `role.page`): everything about one role, with
/// its briefing when a model wrote one (`data.briefings`).
pub fn role_page(
    data: &SiteData,
    role: &RoleView,
    detail: &RoleDetail,
    histories: &Histories,
) -> askama::Result<String> {
    let (changes, versions) = crate::views::history(histories, role, &data.lists);
    let briefing = data
        .briefings
        .get(&role.id)
        .map(crate::views::briefing_view);
    // A role page changes only when its role does: no counts or times of
    // the whole site, no NEW badge that lapses after a day (its badges,
    // `badges.html`, leave it out), no "last seen" while the role is open
    // (the lists carry all three).
    let header = Header::default();
    RolePage {
        root: ROLE_ROOT,
        header: &header,
        title: format!("{} at {}", role.title, role.company),
        nav: "role",
        scripted: false,
        facts: role_facts(role, board_status(data, role)),
        reasons: reason_classes(&role.reasons),
        gone_at: role
            .gone_at
            .as_deref()
            .map(display_time)
            .unwrap_or_default(),
        role,
        detail,
        briefing,
        changes,
        versions,
    }
    .render()
}

/// Every HTML5 parse error html5ever reports for a whole document, plus
/// duplicate `id`s (which the parser accepts but HTML forbids). Empty when
/// the page is valid enough for the tests.
pub fn html5_errors(html: &str) -> Vec<String> {
    use kuchikiki::traits::TendrilSink;

    let errors = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&errors);
    let mut opts = kuchikiki::ParseOpts {
        on_parse_error: Some(Box::new(move |error| {
            sink.borrow_mut().push(error.into_owned())
        })),
        ..Default::default()
    };
    opts.tokenizer.exact_errors = true;
    opts.tree_builder.exact_errors = true;
    let document = kuchikiki::parse_html_with_options(opts)
        .one(html)
        .document_node;
    let mut found = errors.borrow().clone();
    let mut ids = HashSet::new();
    for node in document.descendants() {
        let Some(element) = node.as_element() else {
            continue;
        };
        if let Some(id) = element.attributes.borrow().get("id")
            && !ids.insert(id.to_string())
        {
            found.push(format!("duplicate id {id:?}"));
        }
    }
    found
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    root: &'static str,
    header: &'a Header,
    title: &'static str,
    nav: &'static str,
    scripted: bool,
    tiers: Vec<(&'a str, &'a str)>,
    stages: Vec<(&'a str, &'a str)>,
    /// Rows the page lists.
    shown: usize,
    rows_marker: &'static str,
}

#[derive(Template)]
#[template(path = "all.html")]
struct AllPage<'a> {
    root: &'static str,
    header: &'a Header,
    title: &'static str,
    nav: &'static str,
    scripted: bool,
    tiers: Vec<(&'a str, &'a str)>,
    stages: Vec<(&'a str, &'a str)>,
    /// Rows the page lists.
    shown: usize,
    rows_marker: &'static str,
}

#[derive(Template)]
#[template(path = "index_row.html")]
struct IndexRow<'a> {
    root: &'static str,
    role: &'a RoleView,
    slot_new: &'static str,
    slot_age: &'static str,
    slot_last_active: &'static str,
    slot_responds: &'static str,
}

#[derive(Template)]
#[template(path = "all_row.html")]
struct AllRow<'a> {
    root: &'static str,
    role: &'a RoleView,
    /// (CSS class, reason)
    reasons: Vec<(&'static str, &'a str)>,
    slot_new: &'static str,
}

#[derive(Template)]
#[template(path = "row_slot.html")]
struct RowSlot<'a> {
    role: &'a RoleView,
    slot: Slot,
}

#[derive(Template)]
#[template(path = "changes.html")]
struct ChangesPage<'a> {
    root: &'static str,
    header: &'a Header,
    title: &'static str,
    nav: &'static str,
    scripted: bool,
    days: &'a [ChangeDay],
    change_days: i64,
}

#[derive(Template)]
#[template(path = "companies.html")]
struct CompaniesPage<'a> {
    root: &'static str,
    header: &'a Header,
    title: &'static str,
    nav: &'static str,
    scripted: bool,
    companies: &'a [CompanyView],
}

#[derive(Template)]
#[template(path = "company.html")]
struct CompanyPage<'a> {
    root: &'static str,
    header: &'a Header,
    title: String,
    nav: &'static str,
    scripted: bool,
    company: &'a CompanyView,
    /// Each active Paraform role with what its company's board says of it.
    paraform: Vec<(&'a RoleView, &'a str)>,
    board: Vec<&'a RoleView>,
    changes: Vec<ChangeView>,
    chart: String,
}

#[derive(Template)]
#[template(path = "gone.html")]
struct GonePage<'a> {
    root: &'static str,
    header: &'a Header,
    title: &'static str,
    nav: &'static str,
    scripted: bool,
    roles: Vec<GoneRow<'a>>,
}

struct GoneRow<'a> {
    role: &'a RoleView,
    gone_at: String,
    gone_at_iso: &'a str,
}

#[derive(Template)]
#[template(path = "charts.html")]
struct ChartsPage<'a> {
    root: &'static str,
    header: &'a Header,
    title: &'static str,
    nav: &'static str,
    scripted: bool,
    charts: &'a Charts,
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage<'a> {
    root: &'static str,
    header: &'a Header,
    title: &'static str,
    nav: &'static str,
    scripted: bool,
    status: &'static str,
    health: &'a Health,
    last_run: Option<RunView<'a>>,
    last_run_age: String,
    last_digest_age: String,
    database_mb: String,
    runs: Vec<RunView<'a>>,
    charts: &'a Charts,
}

/// A run as the health page prints it.
struct RunView<'a> {
    id: i64,
    started: String,
    started_iso: &'a str,
    status: &'a str,
    trigger: &'a str,
    seen: i64,
    new: i64,
    changed: i64,
    gone: i64,
    reappeared: i64,
    qualified: i64,
    duration: String,
    errors: &'a [String],
}

impl<'a> RunView<'a> {
    fn new(run: &'a RunRow) -> Self {
        RunView {
            id: run.id,
            started: display_time(&run.started_at),
            started_iso: &run.started_at,
            status: run.status.as_str(),
            trigger: &run.trigger,
            seen: run.roles_seen,
            new: run.roles_new,
            changed: run.roles_changed,
            gone: run.roles_gone,
            reappeared: run.roles_reappeared,
            qualified: run.roles_qualified,
            duration: run
                .duration_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_else(|| "–".into()),
            errors: &run.errors,
        }
    }
}

#[derive(Template)]
#[template(path = "role.html")]
struct RolePage<'a> {
    root: &'static str,
    header: &'a Header,
    title: String,
    nav: &'static str,
    scripted: bool,
    role: &'a RoleView,
    detail: &'a RoleDetail,
    /// (label, value), only the fields that have a value.
    facts: Vec<(&'static str, &'a str)>,
    reasons: Vec<(&'static str, &'a str)>,
    gone_at: String,
    /// The model-written briefing (`templates/briefing.html`), if any.
    briefing: Option<BriefingView>,
    changes: Vec<ChangeView>,
    versions: Vec<VersionView>,
}

/// The tiers present, best first, as (filter value, label).
fn tier_options<'a>(roles: impl Iterator<Item = &'a RoleView>) -> Vec<(&'a str, &'a str)> {
    let mut seen = HashSet::new();
    let mut options: Vec<(u8, &str, &str)> = roles
        .filter(|r| seen.insert(r.tier_key))
        .map(|r| (r.tier_rank, r.tier_key, r.tier))
        .collect();
    options.sort();
    options
        .into_iter()
        .map(|(_, key, label)| (key, label))
        .collect()
}

/// The funding stages present, by label, as (filter value, label).
fn stage_options<'a>(roles: impl Iterator<Item = &'a RoleView>) -> Vec<(&'a str, &'a str)> {
    let mut seen = HashSet::new();
    let mut options: Vec<(&str, &str)> = roles
        .filter(|r| !r.stage_key().is_empty() && seen.insert(r.stage_key()))
        .map(|r| (r.stage_key(), r.stage()))
        .collect();
    options.sort_by_key(|(_, label)| label.to_lowercase());
    options
}

/// Reasons with a class for colour: `fail` for ✗, `pass` for ✓.
fn reason_classes(reasons: &crate::views::Lines) -> Vec<(&'static str, &str)> {
    reasons
        .iter()
        .map(|reason| {
            let class = if reason.starts_with('✗') {
                "fail"
            } else if reason.starts_with('✓') {
                "pass"
            } else {
                "note"
            };
            (class, reason)
        })
        .collect()
}

/// The role page's fact list, leaving out what is unknown.
/// What the company's own board says of a Paraform role (nothing, for a
/// board role itself).
pub fn board_status<'a>(data: &'a SiteData, role: &RoleView) -> &'a str {
    if !role.is_paraform() {
        return "";
    }
    data.board_status
        .get(&role.id)
        .map_or(crate::views::companies::NOT_FOLLOWED, String::as_str)
}

fn role_facts<'a>(role: &'a RoleView, board: &'a str) -> Vec<(&'static str, &'a str)> {
    [
        ("On the company's own board", board),
        ("Salary", or_not_set(role.salary_text())),
        // The verdict speaks of the fee whether or not it is set.
        ("Fee", or_not_set(role.fee_text())),
        ("Openings", role.openings()),
        ("Posted", role.posted()),
        ("Locations", role.locations()),
        ("Stage", role.stage()),
        ("Raised", role.raised_text()),
        ("Investors", role.investors()),
        ("Tech", role.tech()),
        ("Industry", role.industry()),
        ("Experience", role.experience()),
        ("Manager rating", role.rating_text()),
        ("Responds in", role.responsiveness_text()),
        ("Status", role.market_status()),
        ("Id", &role.id),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect()
}

fn or_not_set(text: &str) -> &str {
    if text.is_empty() { "not set" } else { text }
}

/// Template filters: `{{ at|when }}` prints a stored RFC 3339 time as
/// `2025-12-19 12:24` (the result is still escaped).
mod filters {
    #[askama::filter_fn]
    pub fn when(value: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::display_time(&value.to_string()))
    }
}

/// `2025-12-19T12:24:05Z` → `2025-12-19 12:24`.
fn display_time(iso: &str) -> String {
    match (iso.get(..10), iso.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => iso.to_string(),
    }
}

fn age_text(hours: f64) -> String {
    if hours < 1.0 {
        format!("{:.0} minutes ago", hours * 60.0)
    } else if hours < 48.0 {
        format!("{hours:.1} hours ago")
    } else {
        format!("{:.1} days ago", hours / 24.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::evaluate::{Tier, Trend};
    use crate::health::{DatabaseHealth, Level, SessionHealth, SessionState};
    use crate::llm::{Briefing, BriefingProblem, BriefingRole, StoredBriefing};
    use crate::store::{ChangeRow, DigestRow, RunStatus, VersionRow};
    use crate::track::ChangeKind;
    use crate::views::{ComponentView, ScoreView};

    const SCRIPT: &str = "<script>alert(1)</script>";
    const ATTR: &str = "\" onmouseover=\"x";

    fn role(id: &str, tier: Tier, status: &'static str) -> RoleView {
        RoleView {
            id: id.into(),
            page: format!("roles/{}", crate::views::page_file(id)),
            title: format!("Engineer {SCRIPT}"),
            company: format!("Acme {ATTR}"),
            url: Some("https://www.paraform.com/company/acme/role?x=1&y=2".into()),
            status,
            score: 0.82,
            texts: crate::views::Texts::of(&[
                (crate::views::Text::score_text, "0.82"),
                (crate::views::Text::engineer_text, "0.75"),
                (crate::views::Text::headhunter_text, "0.90"),
                (crate::views::Text::excitement_text, "0.40"),
                (crate::views::Text::posted, "2025-12-18"),
                (crate::views::Text::posted_sort, "2025-12-18T09:00:00Z"),
                (crate::views::Text::salary_text, "$180K–$250K"),
                (crate::views::Text::fee_text, "20%"),
                (crate::views::Text::openings, "2"),
                (crate::views::Text::raised_text, "$31.5M"),
                (
                    crate::views::Text::investors,
                    &format!("Sequoia, {SCRIPT}, {ATTR}"),
                ),
                (crate::views::Text::stage, "Series A"),
                (crate::views::Text::stage_key, "series_a"),
                (crate::views::Text::tech, "Rust, Python <b>"),
                (crate::views::Text::industry, "developer tools"),
                (crate::views::Text::experience, "5+ years"),
                (crate::views::Text::rating_text, "4.5"),
                (crate::views::Text::last_active, "2025-12-19"),
                (crate::views::Text::last_active_sort, "2025-12-19T08:00:00Z"),
                (crate::views::Text::locations, "New York, hybrid"),
                (crate::views::Text::location_keys, "nyc"),
                (crate::views::Text::first_seen, "2025-12-18"),
                (crate::views::Text::last_seen, "2025-12-19"),
            ]),
            salary_sort: 250_000.0,
            fee: 20.0,
            openings_sort: 2.0,
            raised_sort: 31_500_000.0,
            rating_sort: 4.5,
            responsiveness_sort: 1e9,
            trend: Some(Trend::Surging),
            is_new: true,
            reasons: crate::views::Lines::of([
                format!("✗ title {SCRIPT}"),
                format!("✓ fee {ATTR}"),
            ]),
            signals: crate::views::Lines::of([format!("hot {SCRIPT}")]),
            gone_at: (status == "gone").then(|| "2025-12-19T06:00:00Z".into()),
            days_open: 1,
            ..RoleView::default()
        }
        .with_tier(Some(tier))
    }

    fn change(
        role_id: &str,
        run_id: i64,
        kind: ChangeKind,
        field: &str,
        old: &str,
        new: &str,
    ) -> ChangeRow {
        ChangeRow {
            id: run_id,
            role_id: role_id.into(),
            run_id: Some(run_id),
            detected_at: format!("2025-12-1{run_id}T12:24:00Z"),
            kind,
            field: (!field.is_empty()).then(|| field.into()),
            old_value: (!old.is_empty()).then(|| old.into()),
            new_value: (!new.is_empty()).then(|| new.into()),
            title: Some(format!("Engineer {SCRIPT}")),
            company: Some(format!("Acme {ATTR}")),
        }
    }

    fn change_view(role: &RoleView, kind_class: &str) -> ChangeView {
        ChangeView {
            id: 7,
            detected_at: "2025-12-19T12:24:00Z".into(),
            time: "12:24".into(),
            kind: ChangeKind::SalaryIncrease,
            kind_class: kind_class.into(),
            label: "Salary up".into(),
            field: "salary_max".into(),
            old_value: format!("200000 {ATTR}"),
            new_value: format!("250000 {SCRIPT}"),
            role_id: role.id.clone(),
            source: "Paraform",
            page: role.page.clone(),
            title: role.title.clone(),
            company: role.company.clone(),
            trend: None,
            run_id: Some(2),
        }
    }

    fn run(id: i64, status: RunStatus) -> RunRow {
        RunRow {
            id,
            started_at: "2025-12-19T12:00:00Z".into(),
            finished_at: Some("2025-12-19T12:01:00Z".into()),
            status,
            trigger: "schedule".into(),
            roles_seen: 10,
            roles_new: 2,
            roles_changed: 1,
            roles_gone: 1,
            roles_reappeared: 0,
            roles_qualified: 3,
            errors: vec![format!("fetch failed {SCRIPT}")],
            duration_ms: Some(61_500),
            llm_calls: 0,
            llm_tokens: 0,
            llm_cost_usd: 0.0,
            llm_error: None,
            paraform_fetch: None,
        }
    }

    fn header() -> Header {
        Header {
            stats: true,
            updated: "2025-12-19 12:24 UTC".into(),
            updated_iso: "2025-12-19T12:24:00Z".into(),
            active: 2,
            qualified: 1,
            new_today: 1,
            gone_today: 1,
            last_run_status: "ok".into(),
        }
    }

    fn empty_data() -> SiteData {
        SiteData {
            header: Header {
                active: 0,
                qualified: 0,
                new_today: 0,
                gone_today: 0,
                last_run_status: "none yet".into(),
                ..header()
            },
            ..SiteData::empty(Utc.with_ymd_and_hms(2025, 12, 19, 12, 24, 0).unwrap())
        }
    }

    /// The change and version rows of the sample's first role.
    fn histories() -> Histories {
        let changes = vec![
            change("paraform:abc123", 1, ChangeKind::New, "", "", ""),
            change(
                "paraform:abc123",
                2,
                ChangeKind::SalaryIncrease,
                "salary_max",
                "200000",
                &format!("250000 {SCRIPT}"),
            ),
        ];
        let versions = vec![
            VersionRow {
                id: 1,
                run_id: 1,
                observed_at: "2025-12-11T12:24:00Z".into(),
            },
            VersionRow {
                id: 2,
                run_id: 2,
                observed_at: "2025-12-12T12:24:00Z".into(),
            },
        ];
        Histories {
            changes: [("paraform:abc123".to_string(), changes)]
                .into_iter()
                .collect(),
            versions: [("paraform:abc123".to_string(), versions)]
                .into_iter()
                .collect(),
        }
    }

    fn sample_data() -> SiteData {
        let qualified = role("paraform:abc123", Tier::Qualified, "active");
        let skipped = role("paraform:def456", Tier::Skip, "active");
        let gone = role("weird id/../<x>", Tier::Maybe, "gone");
        let day = ChangeDay {
            label: format!("Fri 19 Dec 2025 {SCRIPT}"),
            date: "2025-12-19".into(),
            changes: vec![change_view(&qualified, "up"), change_view(&gone, "gone")],
            total: 2,
            new: 0,
            gone: 1,
        };
        SiteData {
            header: header(),
            roles: vec![qualified, skipped],
            gone: vec![gone],
            board_roles: Vec::new(),
            board_status: HashMap::new(),
            days: vec![day],
            runs: vec![run(2, RunStatus::Ok), run(1, RunStatus::Failed)],
            all_runs: vec![run(1, RunStatus::Failed), run(2, RunStatus::Ok)],
            briefings: [("paraform:abc123".to_string(), briefing())]
                .into_iter()
                .collect(),
            database_bytes: 3 * 1024 * 1024,
            ..empty_data()
        }
    }

    const GAP: &str = "[RESEARCH NEEDED: recent funding round]";

    /// A briefing with hostile text in a field, a list item and the model
    /// name, one gap in a text part and one in a list.
    fn briefing() -> StoredBriefing {
        StoredBriefing {
            briefing: Briefing {
                problem: BriefingProblem {
                    problem_statement: format!("Payments ledgers {SCRIPT}"),
                    technical_challenge: "Exactly-once payouts".into(),
                    solution_approach: format!("Event sourcing {ATTR}"),
                    why_now: GAP.into(),
                },
                role: BriefingRole {
                    core_responsibility: "Own the payouts service".into(),
                    day_to_day_tasks: vec![
                        "Design the ledger API".into(),
                        "[RESEARCH NEEDED: on-call load]".into(),
                        format!("Review <b>{SCRIPT}</b>"),
                    ],
                    impact_statement: "Every payout runs through it".into(),
                },
                must_haves: vec!["5+ years: Rust (payments)".into()],
                red_flags: vec![format!("No CTO = delivery risk {SCRIPT}")],
                ..Briefing::default()
            },
            model: format!("gpt-test {SCRIPT}"),
            prompt_version: "1".into(),
            created_at: "2025-12-18T09:30:00Z".into(),
        }
    }

    fn detail() -> RoleDetail {
        RoleDetail {
            fields: crate::views::fields::Fields::of(&[
                ("company.name", &format!("Acme {ATTR}")),
                ("title", SCRIPT),
            ]),
            breakdown: vec![ScoreView {
                name: "engineer".into(),
                value: "0.75".into(),
                components: vec![ComponentView {
                    name: "fee".into(),
                    weight: "0.30 ×".into(),
                    value: "20".into(),
                    detail: format!("fee {SCRIPT}"),
                }],
            }],
            company_notes_html: Some("<p>Great <strong>team</strong></p>".into()),
            selling_points_html: None,
            description_html: Some("<ul><li>Build things</li></ul>".into()),
            equity: Some(format!("0.1% {ATTR}")),
            requirements: vec![format!("Rust {SCRIPT}")],
        }
    }

    fn health(last_run: Option<RunRow>) -> Health {
        Health {
            status: Level::Degraded,
            problems: vec![format!("session expiring {SCRIPT}")],
            checked_at: "2025-12-19T12:24:00Z".into(),
            last_run_age_hours: last_run.as_ref().map(|_| 2.5),
            next_scrape: last_run.as_ref().map(|_| "2025-12-19T18:00:00Z".into()),
            next_digest: None,
            llm: crate::health::LlmHealth::default(),
            paraform_fetch: None,
            paraform_fetch_note: None,
            last_ok_run_at: last_run.as_ref().map(|r| r.started_at.clone()),
            last_digest: last_run.as_ref().map(|_| DigestRow {
                id: 1,
                created_at: "2025-12-19T07:00:00Z".into(),
                sent_at: None,
                status: crate::store::DigestStatus::Failed,
                transport: "smtp".into(),
                recipients: "[\"a@example.com\"]".into(),
                subject: format!("Digest {SCRIPT}"),
                role_count: 3,
                error: Some(format!("refused {ATTR}")),
                period: Some("2025-12-19".into()),
                message_id: None,
                last_change_id: None,
            }),
            last_digest_age_hours: last_run.as_ref().map(|_| 5.0),
            last_run,
            consecutive_failed_scrapes: 0,
            session: SessionHealth {
                state: SessionState::Expiring,
                expires_at: Some("2025-12-23T00:00:00Z".into()),
                days_left: Some(3),
                message: format!("expires soon {ATTR}"),
            },
            database: DatabaseHealth {
                path: "/x/db.sqlite".into(),
                bytes: 3 * 1024 * 1024,
                schema_version: 3,
                active_roles: 2,
            },
        }
    }

    fn charts() -> Charts {
        let svg = |label: &str| {
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\" role=\"img\" aria-label=\"{label}\"><rect width=\"5\" height=\"5\"></rect></svg>"
            )
        };
        Charts {
            activity: svg("activity"),
            new_vs_gone: svg("new"),
            fees: svg("fees"),
            salaries: svg("salaries"),
        }
    }

    /// Every page of a build, by name.
    fn all_pages(data: &SiteData, health: &Health, charts: &Charts) -> Vec<(String, String)> {
        let mut pages = vec![
            (
                "index.html".to_string(),
                crate::site::lists::page_html(data, false),
            ),
            (
                "all.html".to_string(),
                crate::site::lists::page_html(data, true),
            ),
            (
                "changes.html".to_string(),
                changes_page(data).render().unwrap(),
            ),
            ("gone.html".to_string(), gone_page(data).render().unwrap()),
            (
                "charts.html".to_string(),
                charts_page(data, charts).unwrap(),
            ),
            (
                "health.html".to_string(),
                health_page(data, health, charts).unwrap(),
            ),
        ];
        for role in data.roles.iter().chain(&data.gone) {
            pages.push((
                role.page.clone(),
                role_page(data, role, &detail(), &histories()).unwrap(),
            ));
        }
        pages
    }

    fn check_page(name: &str, html: &str) {
        let errors = html5_errors(html);
        assert!(errors.is_empty(), "{name}: HTML5 errors {errors:?}\n{html}");
        for needle in [
            "<!DOCTYPE html>",
            "<html lang=\"en\">",
            "<meta charset=\"utf-8\">",
            "name=\"viewport\"",
            "<meta name=\"robots\" content=\"noindex\">",
            "<title>",
            "assets/style.css\"",
            "href=\"",
            "feed.atom\"",
            "roles.csv\"",
            "roles.json\"",
            "Air Demand",
        ] {
            assert!(html.contains(needle), "{name}: missing {needle}");
        }
        for hostile in [SCRIPT, ATTR, "<b>", "onmouseover=\""] {
            assert!(!html.contains(hostile), "{name}: unescaped {hostile:?}");
        }
        for absolute in [
            "href=\"/",
            "src=\"/",
            "href=\"http://",
            "src=\"http",
            "href=\"//",
        ] {
            assert!(!html.contains(absolute), "{name}: absolute link {absolute}");
        }
        assert!(!html.contains("<script>"), "{name}: inline script");
        assert!(!html.contains(" style=\""), "{name}: inline style");
        assert!(!html.contains(" onclick"), "{name}: inline handler");
        // Only Paraform links may leave the site.
        for (i, _) in html.match_indices("href=\"https://") {
            assert!(
                html[i..].starts_with("href=\"https://www.paraform.com/"),
                "{name}: external link"
            );
        }
    }

    #[test]
    fn every_page_is_valid_escaped_and_relative() {
        let data = sample_data();
        let health = health(data.runs.first().cloned());
        for (name, html) in all_pages(&data, &health, &charts()) {
            check_page(&name, &html);
            let root = if name.starts_with("roles/") {
                "../"
            } else {
                ""
            };
            assert!(
                html.contains(&format!("href=\"{root}assets/style.css\"")),
                "{name}: stylesheet root"
            );
            assert!(
                html.contains(&format!("href=\"{root}index.html\"")),
                "{name}: nav root"
            );
        }
    }

    #[test]
    fn hostile_text_is_shown_escaped() {
        let data = sample_data();
        let index = crate::site::lists::page_html(&data, false);
        assert!(
            index.contains("Engineer &#60;script&#62;alert(1)&#60;/script&#62;")
                || index.contains("&lt;script&gt;")
        );
        assert!(
            index.contains("&#34; onmouseover=&#34;x")
                || index.contains("&quot; onmouseover=&quot;x")
        );
        let role = role_page(&data, &data.roles[0], &detail(), &histories()).unwrap();
        // Sanitised HTML goes in as HTML.
        assert!(role.contains("<p>Great <strong>team</strong></p>"));
        assert!(role.contains("<ul><li>Build things</li></ul>"));
    }

    #[test]
    fn index_lists_only_qualified_roles_with_table_hooks() {
        let data = sample_data();
        let html = crate::site::lists::page_html(&data, false);
        assert!(html.contains("data-role-id=\"paraform:abc123\""));
        assert!(
            !html.contains("data-role-id=\"paraform:def456\""),
            "SKIP role on the qualified page"
        );
        for hook in [
            "id=\"roles-table\"",
            "class=\"roles\"",
            "id=\"search\"",
            "id=\"min-fee\"",
            "id=\"min-score\"",
            "id=\"filter-tier\"",
            "id=\"filter-location\"",
            "id=\"filter-stage\"",
            "id=\"shown-count\"",
            "data-key=\"fee\"",
            "data-key=\"score\"",
            "data-key=\"salary\"",
            "data-key=\"company\"",
            "data-key=\"posted\"",
            "data-key=\"age\"",
            "data-key=\"tier\"",
            "data-key=\"engineer\"",
            "data-key=\"headhunter\"",
            "<th class=\"more\" data-type=\"text\"><button type=\"button\" data-key=\"investors\">",
            "<input type=\"checkbox\" id=\"more-columns\" class=\"more-columns\">\n<label for=\"more-columns\"",
            "<option value=\"series_a\">Series A</option>",
            "data-locations=\"nyc\"",
            "data-fee=\"20\"",
            "data-score=\"0.82\"",
            "assets/table.js\" defer></script>",
            "href=\"roles/paraform-abc123.html\"",
            "rel=\"noopener noreferrer nofollow\"",
            "class=\"badge new\">NEW",
            "trend-surging",
            "tier-qualified",
            "class=\"filters\" data-table=\"roles-table\" role=\"search\" aria-label=\"Filter roles\" hidden",
        ] {
            assert!(html.contains(hook), "index.html: missing {hook}");
        }
        let all = crate::site::lists::page_html(&data, true);
        assert!(all.contains("data-role-id=\"paraform:def456\""));
        assert!(all.contains("<option value=\"skip\">SKIP</option>"));
        assert!(all.contains("class=\"fail\">✗ title"));
    }

    #[test]
    fn role_page_shows_history_versions_and_fields() {
        let data = sample_data();
        let html = role_page(&data, &data.roles[0], &detail(), &histories()).unwrap();
        assert!(html.contains("href=\"../index.html\""));
        assert!(html.contains("Version 2</strong>"));
        assert!(html.contains("Version 1</strong>"));
        assert!(html.contains("first seen"));
        assert!(html.contains("Salary up"));
        assert!(html.contains("<details class=\"fields\">"));
        assert!(html.contains("company.name"));
        assert!(
            html.find("Version 2").unwrap() < html.find("Version 1").unwrap(),
            "versions newest first"
        );
    }

    #[test]
    fn role_page_shows_the_briefing_with_gaps_marked() {
        let data = sample_data();
        let html = role_page(&data, &data.roles[0], &detail(), &histories()).unwrap();
        check_page("role with briefing", &html);
        assert!(html.contains("<section class=\"briefing\" aria-labelledby=\"briefing\">"));
        assert!(html.contains(
            "Written by the model <code>gpt-test &#60;script&#62;alert(1)&#60;/script&#62;</code> on <time datetime=\"2025-12-18T09:30:00Z\">2025-12-18</time>; not checked by a person. Gaps are marked."
        ), "{html}");
        let (gaps, total) = briefing().briefing.gaps();
        assert!(gaps > 0);
        assert!(
            html.contains(&format!("{gaps} of {total} parts still to research")),
            "{html}"
        );
        // Gaps are marked and shown as the model wrote them.
        assert!(
            html.contains(&format!("<dd class=\"gap\">{GAP}</dd>")),
            "{html}"
        );
        assert!(html.contains("<dt class=\"gap\">Why now</dt>"));
        assert!(html.contains("<li class=\"gap\">[RESEARCH NEEDED: on-call load]</li>"));
        assert!(html.contains("<li>Design the ledger API</li>"));
        assert!(html.contains("<dd>Own the payouts service</dd>"));
        assert!(html.contains("<dt>Core responsibility</dt>"));
        // Hostile model text is text.
        assert!(html.contains("Payments ledgers &#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(html.contains("Review &#60;b&#62;&#60;script&#62;"));
        assert!(html.contains("No CTO = delivery risk &#60;script&#62;"));
        assert!(!html.contains("<script") && !html.contains("<b>"));
        // Sections in reading order, before the rest of the page.
        let at = |needle: &str| {
            html.find(needle)
                .unwrap_or_else(|| panic!("missing {needle}"))
        };
        let order = [
            "<h3>Problem</h3>",
            "<h3>Credibility</h3>",
            "<h3>Role</h3>",
            "<h3>Requirements</h3>",
            "<h3>Interview</h3>",
            "<h3>Red flags</h3>",
            "<h2>Qualification</h2>",
        ];
        for pair in order.windows(2) {
            assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn role_without_a_briefing_shows_no_section() {
        let data = sample_data();
        let html = role_page(&data, &data.roles[1], &detail(), &histories()).unwrap();
        check_page("role without briefing", &html);
        assert!(!html.contains("class=\"briefing\""));
        assert!(!html.contains("Briefing"));
        assert!(!html.contains("Written by the model"));
    }

    #[test]
    fn a_complete_briefing_says_so() {
        let mut data = sample_data();
        let mut complete = briefing();
        let b = &mut complete.briefing;
        b.problem.why_now = "Series B in November".into();
        for text in [
            &mut b.credibility.founder_background,
            &mut b.credibility.team_pedigree,
            &mut b.credibility.traction_metrics,
            &mut b.credibility.customer_status,
        ] {
            *text = "Known".into();
        }
        b.role.day_to_day_tasks.retain(|t| !crate::llm::is_gap(t));
        b.nice_to_haves = vec!["Go".into()];
        b.interview.stages = vec!["Screen".into(), "Onsite".into()];
        b.interview.evaluation_criteria = vec!["Can they ship?".into()];
        b.interview.prep_needed = vec!["Ledger design".into()];
        b.red_flags.clear();
        assert_eq!(b.gaps().0, 0);
        data.briefings.insert(data.roles[0].id.clone(), complete);
        let html = role_page(&data, &data.roles[0], &detail(), &histories()).unwrap();
        check_page("complete briefing", &html);
        assert!(html.contains("nothing left to research"));
        assert!(!html.contains("class=\"gap\""), "{html}");
        // No red flags is an answer, not a gap.
        assert!(html.contains("<dd>(none given)</dd>"));
    }

    #[test]
    fn empty_database_renders_every_page() {
        let data = empty_data();
        let health = health(None);
        for (name, html) in all_pages(&data, &health, &Charts::default()) {
            check_page(&name, &html);
            assert!(
                html.contains("class=\"empty\""),
                "{name}: no empty-state message"
            );
        }
    }

    #[test]
    fn validator_reports_errors() {
        let page = "<!DOCTYPE html><html lang=\"en\"><head><title>x</title></head><body>";
        assert!(html5_errors(&format!("{page}<p>ok</p></body></html>")).is_empty());
        assert!(!html5_errors(&format!("{page}</p><div></span></div></body></html>")).is_empty());
        assert!(
            !html5_errors(&format!(
                "{page}<p id=\"a\"></p><p id=\"a\"></p></body></html>"
            ))
            .is_empty()
        );
        assert!(
            !html5_errors("<html><body></body></html>").is_empty(),
            "missing doctype"
        );
    }

    #[test]
    fn display_helpers() {
        assert_eq!(display_time("2025-12-19T12:24:05Z"), "2025-12-19 12:24");
        assert_eq!(display_time("bad"), "bad");
        assert_eq!(age_text(0.5), "30 minutes ago");
        assert_eq!(age_text(2.5), "2.5 hours ago");
        assert_eq!(age_text(72.0), "3.0 days ago");
    }
}
