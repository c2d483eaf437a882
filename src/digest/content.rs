//! What goes into a digest, pure: roles, changes, a window and a clock in;
//! the sections out; the new roles' briefings attached after. No database,
//! no clock of its own.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::evaluate::{Tier, Trend};
use crate::llm::{Briefing, StoredBriefing, is_gap};
use crate::track::ChangeKind;
use crate::views::{ChangeView, RoleView};

/// How many roles the "top qualified" section lists.
pub const TOP_ROLES: usize = 10;
/// The market-intel table covers roles posted in this many hours.
pub const POSTED_HOURS: i64 = 24;
/// Red flags a short briefing names at most: the digest points the way,
/// the role page has the rest.
pub const SHORT_RED_FLAGS: usize = 3;

/// A company counts as moving when it opened, or closed, at least this many
/// roles on its own board since the last digest.
pub const COMPANY_MOVE_MIN: usize = 3;

/// A followed company that opened or closed several roles on its own board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompanyMove {
    pub company: String,
    pub opened: usize,
    pub closed: usize,
    /// The titles it opened (the first few), each with how many times.
    pub opened_titles: Vec<(String, usize)>,
}

/// A Paraform role whose posting on its company's own board disappeared:
/// the listing is likely to die too.
#[derive(Debug, Clone, Serialize)]
pub struct PulledPosting {
    pub role: RoleView,
    /// `ashby` etc.: the board it left.
    pub board: String,
}

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
    /// Companies that opened or closed several roles on their own boards.
    pub company_moves: Vec<CompanyMove>,
    /// Paraform roles whose own-board posting disappeared.
    pub pulled: Vec<PulledPosting>,
    /// The session warning, when the cookie expires within 7 days (or has).
    pub session_warning: Option<String>,
    /// Short briefings of the new qualified roles, by role id; a role
    /// without a briefing, or whose three parts are all gaps, has none.
    pub briefings: BTreeMap<String, ShortBriefing>,
}

impl Digest {
    /// Nothing new, changed, hot or gone since the last digest.
    pub fn is_empty(&self) -> bool {
        self.new_qualified.is_empty()
            && self.changes.is_empty()
            && self.hot.is_empty()
            && self.gone_count == 0
            && self.company_moves.is_empty()
            && self.pulled.is_empty()
    }

    /// Distinct roles the digest names.
    pub fn role_count(&self) -> usize {
        let mut ids: Vec<&str> = self
            .new_qualified
            .iter()
            .chain(&self.hot)
            .chain(&self.top)
            .chain(&self.posted)
            .chain(self.pulled.iter().map(|p| &p.role))
            .map(|r| r.id.as_str())
            .chain(self.changes.iter().map(|c| c.role.id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

impl Digest {
    /// Attaches the short briefing of each new qualified role that has one
    /// (`briefings` is every role's, by id, as `views::load_briefings`
    /// reads them). Other sections show none: the digest stays short.
    pub fn with_briefings(mut self, briefings: &HashMap<String, StoredBriefing>) -> Digest {
        self.briefings = self
            .new_qualified
            .iter()
            .filter_map(|role| {
                let stored = briefings.get(&role.id)?;
                Some((role.id.clone(), ShortBriefing::new(&stored.briefing)?))
            })
            .collect();
        self
    }
}

/// What the digest says of a new role's briefing: the job, why the company
/// hires now, what to watch for. Model-written, so untrusted and unchecked;
/// parts the model left as `[RESEARCH NEEDED]` are left out, not shown as
/// facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ShortBriefing {
    pub core_responsibility: Option<String>,
    pub why_now: Option<String>,
    /// At most [`SHORT_RED_FLAGS`], gaps left out.
    pub red_flags: Vec<String>,
}

impl ShortBriefing {
    /// `None` when all three parts are gaps: nothing worth a line.
    pub fn new(briefing: &Briefing) -> Option<ShortBriefing> {
        let known = |text: &str| (!is_gap(text)).then(|| text.to_string());
        let short = ShortBriefing {
            core_responsibility: known(&briefing.role.core_responsibility),
            why_now: known(&briefing.problem.why_now),
            red_flags: briefing
                .red_flags
                .iter()
                .filter(|flag| !is_gap(flag))
                .take(SHORT_RED_FLAGS)
                .cloned()
                .collect(),
        };
        let empty = short.core_responsibility.is_none()
            && short.why_now.is_none()
            && short.red_flags.is_empty();
        (!empty).then_some(short)
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
    /// The followed companies' board roles' changes after `since`, oldest first.
    pub board_changes: &'a [ChangeView],
    /// Board roles' places as shown, by role id, for telling openings apart.
    pub board_locations: &'a HashMap<String, String>,
    /// The last sent digest's time (or a day before `now`).
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub session_warning: Option<String>,
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
        .filter(|c| c.kind == ChangeKind::New)
        .map(|c| c.role_id.as_str())
        .collect();

    let mut new_qualified: Vec<&RoleView> = active
        .iter()
        .copied()
        .filter(|r| r.qualified && new_ids.contains(&r.id.as_str()))
        .collect();
    new_qualified.sort_by(by_score);

    let find = |id: &str| inputs.roles.iter().find(|r| r.id == id);
    let mut changes = Vec::new();
    for change in inputs.changes.iter().filter(|c| c.kind.is_material()) {
        let Some(role) = find(&change.role_id) else {
            continue;
        };
        // Tier moves count when either side is qualified; the rest for qualified roles.
        let relevant = if change.kind == ChangeKind::TierChange {
            [&change.old_value, &change.new_value]
                .iter()
                .any(|t| Tier::parse(t).is_some_and(Tier::is_qualified))
        } else {
            role.qualified
        };
        // A role new in this window is already listed as new.
        if relevant
            && !(new_ids.contains(&role.id.as_str()) && change.kind != ChangeKind::Disappeared)
        {
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
        .filter(|r| {
            r.qualified
                && r.trend
                    .is_some_and(|t| matches!(t, Trend::Surging | Trend::Hired))
        })
        .collect();
    hot.sort_by(by_score);

    let mut top: Vec<&RoleView> = active.iter().copied().filter(|r| r.qualified).collect();
    top.sort_by(by_score);
    top.truncate(TOP_ROLES);

    let posted_after = inputs.now - Duration::hours(POSTED_HOURS);
    let mut posted: Vec<&RoleView> = active
        .iter()
        .copied()
        .filter(|r| parse(r.posted_sort()).is_some_and(|at| at >= posted_after))
        .collect();
    posted.sort_by(by_score);

    let (company_moves, pulled) = company_moves(inputs, &active);
    let gone_count = inputs
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Disappeared)
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
        company_moves,
        pulled,
        session_warning: inputs.session_warning.clone(),
        briefings: BTreeMap::new(),
    }
}

/// The companies whose own boards moved most, and the active Paraform
/// roles whose own-board posting disappeared.
fn company_moves(
    inputs: &Inputs<'_>,
    active: &[&RoleView],
) -> (Vec<CompanyMove>, Vec<PulledPosting>) {
    let mut by_company: BTreeMap<String, CompanyMove> = BTreeMap::new();
    let mut pulled: Vec<PulledPosting> = Vec::new();
    for change in inputs.board_changes {
        let key = crate::company::key(&change.company);
        let entry = by_company.entry(key).or_insert_with(|| CompanyMove {
            company: change.company.clone(),
            opened: 0,
            closed: 0,
            opened_titles: Vec::new(),
        });
        match change.kind {
            ChangeKind::New | ChangeKind::Reappeared => {
                entry.opened += 1;
                let titles = &mut entry.opened_titles;
                match titles
                    .iter()
                    .position(|(title, _)| title.eq_ignore_ascii_case(&change.title))
                {
                    Some(at) => titles[at].1 += 1,
                    None if titles.len() < 5 => titles.push((change.title.clone(), 1)),
                    None => {}
                }
            }
            ChangeKind::Disappeared => {
                entry.closed += 1;
                let posting = crate::company::Opening {
                    company: &change.company,
                    title: &change.title,
                    locations: inputs
                        .board_locations
                        .get(change.role_id.as_str())
                        .map_or("", String::as_str),
                };
                let matching = active.iter().find(|role| {
                    crate::company::same_opening(&crate::views::companies::opening(role), &posting)
                });
                if let Some(role) = matching
                    && !pulled.iter().any(|p| p.role.id == role.id)
                {
                    pulled.push(PulledPosting {
                        role: (*role).clone(),
                        board: change.role_id.split(':').next().unwrap_or("").to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    let mut moves: Vec<CompanyMove> = by_company
        .into_values()
        .filter(|m| m.opened >= COMPANY_MOVE_MIN || m.closed >= COMPANY_MOVE_MIN)
        .collect();
    moves.sort_by(|a, b| {
        (b.opened + b.closed)
            .cmp(&(a.opened + a.closed))
            .then(a.company.cmp(&b.company))
    });
    (moves, pulled)
}

/// `Salary max $250K → $275K`, `Gone from the market`: the change in
/// the words of the site's changes page (the values are already said in
/// people's words by the change's view).
fn summary(change: &ChangeView) -> String {
    match change.kind {
        ChangeKind::Reappeared => "Back on the market".into(),
        ChangeKind::Disappeared => "Gone from the market".into(),
        _ => change.line(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn role(id: &str, tier: Tier, score: f64, trend: Option<Trend>, posted: &str) -> RoleView {
        RoleView {
            id: id.into(),
            page: format!("roles/{id}.html"),
            title: format!("Title {id}"),
            company: format!("Company {id}"),
            status: "active",
            score,
            texts: crate::views::Texts::of(&[(crate::views::Text::posted_sort, posted)]),
            trend,
            ..RoleView::default()
        }
        .with_tier(Some(tier))
    }

    fn change(id: i64, role_id: &str, kind: ChangeKind, old: &str, new: &str) -> ChangeView {
        let (label, class) = kind.label(Some(old), Some(new));
        let field = match kind {
            ChangeKind::SalaryIncrease | ChangeKind::SalaryDecrease => "salaryUpperBound",
            ChangeKind::FeeChange => "percent_fee",
            ChangeKind::TierChange => "tier",
            _ => "status",
        };
        // As the site's change view says it.
        let said = crate::vocab::said(
            &crate::rules::Lists::defaults(),
            kind,
            Some(field),
            Some(old),
            Some(new),
        );
        ChangeView {
            id,
            detected_at: "2025-12-19T05:00:00Z".into(),
            time: "05:00".into(),
            kind,
            kind_class: class.into(),
            label: label.into(),
            field: said.field,
            old_value: said.old,
            new_value: said.new,
            role_id: role_id.into(),
            source: "Paraform",
            page: String::new(),
            title: String::new(),
            company: String::new(),
            trend: None,
            run_id: Some(1),
        }
    }

    fn ids(roles: &[RoleView]) -> Vec<&str> {
        roles.iter().map(|r| r.id.as_str()).collect()
    }

    const NOW: &str = "2025-12-19T06:00:00Z";

    fn check(roles: &[RoleView], changes: &[ChangeView]) -> Digest {
        select(&Inputs {
            roles,
            changes,
            board_changes: &[],
            board_locations: &HashMap::new(),
            since: at("2025-12-18T06:00:00Z"),
            now: at(NOW),
            session_warning: None,
        })
    }

    #[test]
    fn new_qualified_roles_since_the_last_digest_ranked() {
        let roles = [
            role("a", Tier::Qualified, 0.6, None, "2025-12-10T00:00:00Z"),
            role("b", Tier::Maybe, 0.9, None, "2025-12-10T00:00:00Z"),
            role("c", Tier::Skip, 0.95, None, "2025-12-10T00:00:00Z"),
            role("d", Tier::Qualified, 0.7, None, "2025-12-10T00:00:00Z"),
        ];
        let changes = [
            change(1, "a", ChangeKind::New, "", ""),
            change(2, "b", ChangeKind::New, "", ""),
            change(3, "c", ChangeKind::New, "", ""),
        ];
        let digest = check(&roles, &changes);
        assert_eq!(ids(&digest.new_qualified), vec!["b", "a"]);
        assert_eq!(ids(&digest.top), vec!["b", "d", "a"]);
        assert!(
            digest
                .subject
                .starts_with("Air Demand: 2 new qualified, 0 changes — Dec 19"),
            "{}",
            digest.subject
        );
    }

    #[test]
    fn only_material_changes_to_qualified_roles() {
        let roles = [
            role("q", Tier::Qualified, 0.8, None, "2025-12-01T00:00:00Z"),
            role("s", Tier::Skip, 0.3, None, "2025-12-01T00:00:00Z"),
            role("m", Tier::Maybe, 0.5, None, "2025-12-01T00:00:00Z"),
        ];
        let changes = [
            change(1, "q", ChangeKind::SalaryIncrease, "250000", "275000"),
            change(2, "q", ChangeKind::InterviewIncrease, "1", "2"),
            change(3, "q", ChangeKind::LocationChange, "nyc", "london"),
            change(4, "s", ChangeKind::FeeChange, "15", "20"),
            change(
                5,
                "s",
                ChangeKind::TierChange,
                Tier::Qualified.as_str(),
                Tier::Skip.as_str(),
            ),
            change(6, "m", ChangeKind::FeeChange, "20", "15"),
            change(7, "q", ChangeKind::Disappeared, "active", "gone"),
        ];
        let digest = check(&roles, &changes);
        let kinds: Vec<(&str, ChangeKind)> = digest
            .changes
            .iter()
            .map(|c| (c.role.id.as_str(), c.change.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("q", ChangeKind::SalaryIncrease),
                ("s", ChangeKind::TierChange),
                ("m", ChangeKind::FeeChange),
                ("q", ChangeKind::Disappeared)
            ]
        );
        assert_eq!(digest.changes[0].summary, "Salary max $250K → $275K");
        assert_eq!(digest.changes[2].summary, "Fee 20% → 15%");
        assert_eq!(digest.gone_count, 1);
        assert!(digest.subject.contains("4 changes"), "{}", digest.subject);
    }

    #[test]
    fn hot_roles_and_the_last_24_hours() {
        let roles = [
            role(
                "h",
                Tier::Qualified,
                0.7,
                Some(Trend::Hired),
                "2025-12-01T00:00:00Z",
            ),
            role(
                "s",
                Tier::Maybe,
                0.8,
                Some(Trend::Surging),
                "2025-12-18T07:00:00Z",
            ),
            role(
                "t",
                Tier::Qualified,
                0.9,
                Some(Trend::Stalled),
                "2025-12-18T05:59:59Z",
            ),
            role(
                "x",
                Tier::Skip,
                0.1,
                Some(Trend::Surging),
                "2025-12-19T05:00:00Z",
            ),
        ];
        let digest = check(&roles, &[]);
        assert_eq!(ids(&digest.hot), vec!["s", "h"]);
        assert_eq!(ids(&digest.posted), vec!["s", "x"]);
        assert!(!digest.is_empty());
        assert!(digest.subject.contains("2 hot"));
    }

    fn briefing(core: &str, why_now: &str, red_flags: &[&str]) -> StoredBriefing {
        let mut briefing = Briefing {
            red_flags: red_flags.iter().map(|f| f.to_string()).collect(),
            ..Briefing::default()
        };
        briefing.role.core_responsibility = core.into();
        briefing.problem.why_now = why_now.into();
        StoredBriefing {
            briefing,
            model: "m".into(),
            prompt_version: "1".into(),
            created_at: "2025-12-19T05:00:00Z".into(),
        }
    }

    const GAP: &str = "[RESEARCH NEEDED: funding]";

    #[test]
    fn short_briefings_leave_gaps_out() {
        let full = briefing("Own payouts", GAP, &["a", GAP, "b", "c", "d"]);
        assert_eq!(
            ShortBriefing::new(&full.briefing),
            Some(ShortBriefing {
                core_responsibility: Some("Own payouts".into()),
                why_now: None,
                red_flags: vec!["a".into(), "b".into(), "c".into()],
            })
        );
        let gaps = briefing(GAP, " ", &[GAP]);
        assert_eq!(ShortBriefing::new(&gaps.briefing), None);
        assert_eq!(ShortBriefing::new(&Briefing::default()), None);
    }

    #[test]
    fn briefings_only_for_new_qualified_roles() {
        let roles = [
            role("new", Tier::Qualified, 0.8, None, "2025-12-01T00:00:00Z"),
            role("old", Tier::Qualified, 0.9, None, "2025-12-01T00:00:00Z"),
            role("gaps", Tier::Qualified, 0.7, None, "2025-12-01T00:00:00Z"),
            role("bare", Tier::Qualified, 0.6, None, "2025-12-01T00:00:00Z"),
        ];
        let changes = [
            change(1, "new", ChangeKind::New, "", ""),
            change(2, "gaps", ChangeKind::New, "", ""),
            change(3, "bare", ChangeKind::New, "", ""),
        ];
        let briefings: HashMap<String, StoredBriefing> = [
            ("new", briefing("Own payouts", "Series B", &[])),
            ("old", briefing("Own search", "Growth", &[])),
            ("gaps", briefing(GAP, GAP, &[])),
        ]
        .into_iter()
        .map(|(id, b)| (id.to_string(), b))
        .collect();
        let digest = check(&roles, &changes).with_briefings(&briefings);
        assert_eq!(ids(&digest.new_qualified), vec!["new", "gaps", "bare"]);
        assert_eq!(digest.briefings.keys().collect::<Vec<_>>(), ["new"]);
        assert_eq!(digest.briefings["new"].why_now.as_deref(), Some("Series B"));
        assert!(check(&roles, &changes).briefings.is_empty());
    }

    #[test]
    fn nothing_to_report_is_empty() {
        let roles = [role(
            "a",
            Tier::Qualified,
            0.7,
            None,
            "2025-12-01T00:00:00Z",
        )];
        let digest = check(&roles, &[]);
        assert!(digest.is_empty());
        assert_eq!(ids(&digest.top), vec!["a"]);
        assert_eq!(digest.role_count(), 1);
    }
}
