//! Companies as accounts (issue 15): every followed or Paraform-seen
//! company with its Paraform roles and its own board's roles, and for each
//! Paraform role whether its company still posts it on its own board.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::company::{self, Opening, key as company_key};
use crate::config::CompanyConfig;
use crate::views::{RoleView, SiteData, money_k, page_file};

/// One company, as the Companies pages show it.
#[derive(Debug, Clone)]
pub struct CompanyView {
    pub name: String,
    /// `companies/<file>.html`.
    pub page: String,
    /// Followed in `[[companies]]`: its boards are asked.
    pub followed: bool,
    /// `lever: acme`, for the page.
    pub boards: Vec<String>,
    pub paraform_active: usize,
    pub board_open: usize,
    /// Board roles first seen in the last 7 and 30 days.
    pub board_new_7: usize,
    pub board_new_30: usize,
    /// Best combined score among its active Paraform roles.
    pub best_score: Option<f64>,
    pub best_score_text: String,
    /// Sum over its active Paraform roles of salary × fee.
    pub potential_fee: f64,
    pub potential_fee_text: String,
    /// Indexes into `SiteData::roles` (active Paraform roles).
    pub paraform_roles: Vec<usize>,
    /// Indexes into `SiteData::board_roles`, open first.
    pub board_roles: Vec<usize>,
    /// Open board roles at the end of each of the last 30 days, oldest first.
    pub open_by_day: Vec<(String, usize)>,
}

/// Every followed company and every company with an active Paraform role,
/// most potential fee first, then name.
pub fn companies(
    data: &SiteData,
    followed: &[CompanyConfig],
    now: DateTime<Utc>,
) -> Vec<CompanyView> {
    let mut by_key: BTreeMap<String, CompanyView> = BTreeMap::new();
    let blank = |name: &str| CompanyView {
        name: name.to_string(),
        page: format!(
            "companies/{}",
            page_file(&format!("company:{}", company_key(name)))
        ),
        followed: false,
        boards: Vec::new(),
        paraform_active: 0,
        board_open: 0,
        board_new_7: 0,
        board_new_30: 0,
        best_score: None,
        best_score_text: String::new(),
        potential_fee: 0.0,
        potential_fee_text: String::new(),
        paraform_roles: Vec::new(),
        board_roles: Vec::new(),
        open_by_day: Vec::new(),
    };
    for company in followed {
        let view = by_key
            .entry(company_key(&company.name))
            .or_insert_with(|| blank(&company.name));
        view.followed = true;
        view.name = company.name.clone();
        view.boards = company
            .boards()
            .into_iter()
            .map(|(source, board)| format!("{source}: {board}"))
            .chain(
                company
                    .careers
                    .iter()
                    .map(|url| format!("careers page: {}", crate::text::terminal(url, 200))),
            )
            .collect();
    }
    for (i, role) in data.roles.iter().enumerate() {
        let key = company_key(&role.company);
        if key.is_empty() {
            continue;
        }
        let view = by_key.entry(key).or_insert_with(|| blank(&role.company));
        view.paraform_active += 1;
        view.paraform_roles.push(i);
        if role.tier_key != "unrated" {
            view.best_score = Some(view.best_score.map_or(role.score, |b| b.max(role.score)));
        }
        view.potential_fee += role.salary_sort * role.fee / 100.0;
    }
    // `first_seen` is a date (`2026-11-20`).
    let week = (now - Duration::days(7)).format("%Y-%m-%d").to_string();
    let month = (now - Duration::days(30)).format("%Y-%m-%d").to_string();
    for (i, role) in data.board_roles.iter().enumerate() {
        let Some(view) = by_key.get_mut(&company_key(&role.company)) else {
            continue;
        };
        view.board_roles.push(i);
        if role.status == "active" {
            view.board_open += 1;
            view.board_new_7 += usize::from(role.first_seen() >= week.as_str());
            view.board_new_30 += usize::from(role.first_seen() >= month.as_str());
        }
    }
    let mut views: Vec<CompanyView> = by_key.into_values().collect();
    for view in &mut views {
        view.board_roles
            .sort_by_key(|&i| data.board_roles[i].status != "active");
        view.best_score_text = view
            .best_score
            .map(|s| format!("{s:.2}"))
            .unwrap_or_default();
        view.potential_fee_text = if view.potential_fee > 0.0 {
            money_k(view.potential_fee)
        } else {
            String::new()
        };
        view.open_by_day = open_by_day(view.board_roles.iter().map(|&i| &data.board_roles[i]), now);
    }
    views.sort_by(|a, b| {
        b.potential_fee
            .total_cmp(&a.potential_fee)
            .then_with(|| b.followed.cmp(&a.followed))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    views
}

/// Open board roles at the end of each of the last 30 days.
fn open_by_day<'a>(
    roles: impl Iterator<Item = &'a RoleView> + Clone,
    now: DateTime<Utc>,
) -> Vec<(String, usize)> {
    (0..30)
        .rev()
        .map(|days_ago| {
            let end = now - Duration::days(days_ago);
            let (end_day, end_at) = (
                end.format("%Y-%m-%d").to_string(),
                crate::role::timestamp(end),
            );
            let open = roles
                .clone()
                .filter(|r| {
                    r.first_seen() <= end_day.as_str()
                        && r.gone_at
                            .as_deref()
                            .is_none_or(|gone| gone > end_at.as_str())
                })
                .count();
            (end.format("%m-%d").to_string(), open)
        })
        .collect()
}

/// What a Paraform role page says of the company's own board, for the roles
/// of followed companies: `yes` (with the board's salary range when it
/// differs), `no longer (since DATE)` or `no`; by Paraform role id. A role
/// with no entry reads [`NOT_FOLLOWED`]. A board role matches a
/// Paraform role of the same company with the same title (normalised); a
/// shared location decides between several.
pub fn board_status(data: &SiteData, companies: &[CompanyView]) -> HashMap<String, String> {
    let mut status = HashMap::new();
    // Roles of companies not followed have no entry: they read "not followed".
    for company in companies.iter().filter(|c| c.followed) {
        // A posting of a board no longer followed says nothing either way.
        let postings: Vec<(&RoleView, company::Compared)> = company
            .board_roles
            .iter()
            .map(|&b| &data.board_roles[b])
            .filter(|b| b.status != crate::views::UNFOLLOWED)
            .map(|b| (b, opening(b).compared()))
            .collect();
        for &i in &company.paraform_roles {
            let role = &data.roles[i];
            let ours = opening(role).compared();
            let candidates: Vec<&(&RoleView, company::Compared)> = postings
                .iter()
                .filter(|(_, theirs)| theirs.same_opening(&ours))
                .collect();
            // One naming the role's place first, else one naming none.
            let located = candidates
                .iter()
                .find(|(b, theirs)| b.status == "active" && theirs.shares_a_place(&ours))
                .map(|(b, _)| *b);
            let candidates: Vec<&RoleView> = candidates.iter().map(|(b, _)| *b).collect();
            let open =
                located.or_else(|| candidates.iter().copied().find(|b| b.status == "active"));
            let text = match (open, candidates.first()) {
                (Some(board), _) => {
                    let differs = !board.salary_text().is_empty()
                        && board.salary_text() != role.salary_text();
                    let salary = if differs {
                        format!(" (its own posting says {})", board.salary_text())
                    } else {
                        String::new()
                    };
                    format!("yes{salary}")
                }
                (None, Some(gone)) => format!(
                    "no longer (since {})",
                    gone.gone_at
                        .as_deref()
                        .and_then(|g| g.get(..10))
                        .unwrap_or("recently")
                ),
                (None, None) => "no".to_string(),
            };
            status.insert(role.id.clone(), text);
        }
    }
    status
}

/// A role as [`company::same_opening`] compares it.
pub fn opening(role: &RoleView) -> Opening<'_> {
    Opening {
        company: &role.company,
        title: &role.title,
        locations: role.locations(),
    }
}

/// What a Paraform role page says when its company is not followed.
pub const NOT_FOLLOWED: &str = "not followed";
