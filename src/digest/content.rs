//! What goes into a digest, pure: roles, changes, a window and a clock in;
//! the sections out. No database, no clock of its own.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::site::model::{ChangeView, RoleView};

/// How many roles the "top qualified" section lists.
pub const TOP_ROLES: usize = 10;
/// The market-intel table covers roles posted in this many hours.
pub const POSTED_HOURS: i64 = 24;

/// Change kinds that matter to a headhunter (SPEC §7).
pub const MATERIAL_KINDS: &[&str] = &[
    "SALARY_INCREASE",
    "SALARY_DECREASE",
    "FEE_CHANGE",
    "HEADCOUNT_CHANGE",
    "REAPPEARED",
    "DISAPPEARED",
    "TIER_CHANGE",
];

/// A digest's sections, in the order they are shown.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub subject: String,
    /// `Dec 19`
    pub day: String,
    pub since: String,
    pub new_qualified: Vec<RoleView>,
    pub changes: Vec<MaterialChange>,
    pub hot: Vec<RoleView>,
    pub top: Vec<RoleView>,
    pub posted: Vec<RoleView>,
    pub gone_count: usize,
    /// The session warning, when the cookie expires within 7 days (or has).
    pub session_warning: Option<String>,
}

impl Digest {
    /// Nothing new, changed, hot or gone since the last digest.
    pub fn is_empty(&self) -> bool {
        self.new_qualified.is_empty()
            && self.changes.is_empty()
            && self.hot.is_empty()
            && self.gone_count == 0
    }

    /// Distinct roles the digest names.
    pub fn role_count(&self) -> usize {
        let mut ids: Vec<&str> = self
            .new_qualified
            .iter()
            .chain(&self.hot)
            .chain(&self.top)
            .chain(&self.posted)
            .map(|r| r.id.as_str())
            .chain(self.changes.iter().map(|c| c.role.id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// A material change with its role.
#[derive(Debug, Clone, Serialize)]
pub struct MaterialChange {
    pub change: ChangeView,
    pub role: RoleView,
    /// `Salary up: $250K → $275K`
    pub summary: String,
}

/// Roles and changes as the digest needs them.
pub struct Inputs<'a> {
    /// Every role (active and gone).
    pub roles: &'a [RoleView],
    /// Changes detected after `since`, oldest first.
    pub changes: &'a [ChangeView],
    /// The last sent digest's time (or a day before `now`).
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub session_warning: Option<String>,
}

fn is_qualified(role: &RoleView) -> bool {
    role.tier_key == "qualified" || role.tier_key == "maybe"
}

fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Chooses the sections.
pub fn select(inputs: &Inputs<'_>) -> Digest {
    let by_score = |a: &&RoleView, b: &&RoleView| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id));
    let active: Vec<&RoleView> = inputs
        .roles
        .iter()
        .filter(|r| r.status == "active")
        .collect();
    let new_ids: Vec<&str> = inputs
        .changes
        .iter()
        .filter(|c| c.kind == "NEW")
        .map(|c| c.role_id.as_str())
        .collect();

    let mut new_qualified: Vec<&RoleView> = active
        .iter()
        .copied()
        .filter(|r| is_qualified(r) && new_ids.contains(&r.id.as_str()))
        .collect();
    new_qualified.sort_by(by_score);

    let find = |id: &str| inputs.roles.iter().find(|r| r.id == id);
    let mut changes = Vec::new();
    for change in inputs
        .changes
        .iter()
        .filter(|c| MATERIAL_KINDS.contains(&c.kind.as_str()))
    {
        let Some(role) = find(&change.role_id) else {
            continue;
        };
        // Tier moves count when either side is qualified; the rest for qualified roles.
        let relevant = if change.kind == "TIER_CHANGE" {
            ["QUALIFIED", "MAYBE"]
                .iter()
                .any(|t| change.old_value == *t || change.new_value == *t)
        } else {
            is_qualified(role)
        };
        // A role new in this window is already listed as new.
        if relevant && !(new_ids.contains(&role.id.as_str()) && change.kind != "DISAPPEARED") {
            changes.push(MaterialChange {
                summary: summary(change),
                change: change.clone(),
                role: role.clone(),
            });
        }
    }

    let mut hot: Vec<&RoleView> = active
        .iter()
        .copied()
        .filter(|r| is_qualified(r) && matches!(r.trend.as_deref(), Some("surging" | "hired")))
        .collect();
    hot.sort_by(by_score);

    let mut top: Vec<&RoleView> = active.iter().copied().filter(|r| is_qualified(r)).collect();
    top.sort_by(by_score);
    top.truncate(TOP_ROLES);

    let posted_after = inputs.now - Duration::hours(POSTED_HOURS);
    let mut posted: Vec<&RoleView> = active
        .iter()
        .copied()
        .filter(|r| parse(&r.posted_sort).is_some_and(|at| at >= posted_after))
        .collect();
    posted.sort_by(by_score);

    let gone_count = inputs
        .changes
        .iter()
        .filter(|c| c.kind == "DISAPPEARED")
        .count();
    let day = inputs.now.format("%b %-d").to_string();
    let mut parts = vec![
        format!("{} new qualified", new_qualified.len()),
        format!(
            "{} change{}",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        ),
    ];
    if !hot.is_empty() {
        parts.push(format!("{} hot", hot.len()));
    }
    let subject = format!("Air Demand: {} — {day}", parts.join(", "));
    Digest {
        subject,
        day,
        since: inputs.since.format("%Y-%m-%d %H:%M UTC").to_string(),
        new_qualified: new_qualified.into_iter().cloned().collect(),
        changes,
        hot: hot.into_iter().cloned().collect(),
        top: top.into_iter().cloned().collect(),
        posted: posted.into_iter().cloned().collect(),
        gone_count,
        session_warning: inputs.session_warning.clone(),
    }
}

/// `Salary up: salaryUpperBound $250K → $275K`
fn summary(change: &ChangeView) -> String {
    let money = |v: &str| {
        v.parse::<f64>()
            .map(|n| format!("${}K", crate::role::format_number((n / 1000.0).round())))
            .unwrap_or_else(|_| v.to_string())
    };
    let (old, new) = match change.kind.as_str() {
        "SALARY_INCREASE" | "SALARY_DECREASE" => {
            (money(&change.old_value), money(&change.new_value))
        }
        "FEE_CHANGE" => (
            format!("{}%", change.old_value),
            format!("{}%", change.new_value),
        ),
        _ => (change.old_value.clone(), change.new_value.clone()),
    };
    let none = |v: String| {
        if v.is_empty() || v == "%" {
            "none".to_string()
        } else {
            v
        }
    };
    match change.kind.as_str() {
        "REAPPEARED" => "Back on the market".into(),
        "DISAPPEARED" => "Gone from the market".into(),
        "SALARY_INCREASE" | "SALARY_DECREASE" => {
            let bound = if change.field == "salaryLowerBound" {
                "min"
            } else {
                "max"
            };
            format!("{} ({bound}): {} → {}", change.label, none(old), none(new))
        }
        _ => format!("{}: {} → {}", change.label, none(old), none(new)),
    }
}
