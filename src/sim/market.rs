//! The simulated marketplace's contents: listed roles, roles kept aside, details, and how they evolve round by round.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::generate::{self, Company, Fee, LocationHint, Plan, Rng};
use super::{EditShare, RoundSummary};

/// Salt for the generator of a round, so rounds do not share a sequence with
/// the initial market or with each other.
const ROUND_SALT: u64 = 0x5EED_0000_0000_0000;

/// A role taken off the listing, and the round that took it.
struct Removed {
    role: Value,
    round: u64,
}

pub(crate) struct Market {
    seed: u64,
    hostile: bool,
    now: DateTime<Utc>,
    round: u64,
    companies: Vec<Company>,
    /// The listing, in the order the list call returns it.
    listed: Vec<Value>,
    removed: Vec<Removed>,
    /// Generated detail payloads by role id.
    details: HashMap<String, Value>,
    /// Payloads set by tests; served verbatim by both detail procedures.
    detail_overrides: HashMap<String, Value>,
}

/// Which procedure a detail is wanted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DetailKind {
    Simple,
    Detailed,
}

const SIMPLE_FIELDS: &[&str] = &[
    "id",
    "companyTip",
    "selling_points",
    "equity",
    "requirements",
    "description",
];
const DETAILED_FIELDS: &[&str] = &[
    "id",
    "description",
    "requirements",
    "experience_info",
    "role_question",
    "company",
];

impl Market {
    pub(crate) fn generate(seed: u64, roles: usize, now: DateTime<Utc>, hostile: bool) -> Market {
        let mut rng = Rng::new(seed);
        let companies = generate::companies(&mut rng);
        let mut market = Market {
            seed,
            hostile,
            now,
            round: 0,
            companies,
            listed: Vec::with_capacity(roles),
            removed: Vec::new(),
            details: HashMap::new(),
            detail_overrides: HashMap::new(),
        };
        let mut hostile_left = if hostile { 3 } else { 0 };
        for (plan, ordinal) in generate::plans(roles, &mut rng) {
            let id = market.fresh_generated_id(&mut rng);
            let posted_at = now - Duration::seconds(rng.between(600, 60 * 24 * 3600));
            let company = generate::company_for(plan, ordinal, &market.companies, &mut rng);
            let mut generated =
                generate::role(plan, ordinal, company, id, posted_at, now, &mut rng);
            // Hostile text goes on qualified roles, the ones a report shows.
            let hostile_kind = (plan == Plan::Qualified && hostile_left > 0).then(|| {
                hostile_left -= 1;
                2 - hostile_left
            });
            if let Some(kind) = hostile_kind {
                generate::make_hostile(&mut generated.role, kind);
            }
            market.insert_detail(&generated.role, generated.hint, hostile_kind.is_some());
            market.listed.push(generated.role);
        }
        market
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub(crate) fn listed(&self) -> &[Value] {
        &self.listed
    }

    /// Ids of listed roles in listing order; roles without an id are left out.
    pub(crate) fn listed_ids(&self) -> Vec<String> {
        self.listed
            .iter()
            .map(|role| id_of(role).to_string())
            .filter(|id| !id.is_empty())
            .collect()
    }

    /// A listed or removed role.
    pub(crate) fn role(&self, id: &str) -> Option<&Value> {
        self.listed
            .iter()
            .chain(self.removed.iter().map(|removed| &removed.role))
            .find(|role| id_of(role) == id)
    }

    fn role_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.listed
            .iter_mut()
            .chain(self.removed.iter_mut().map(|removed| &mut removed.role))
            .find(|role| id_of(role) == id)
    }

    /// The detail payload for a procedure. Removed roles still answer, as a
    /// closed role's page still exists; unknown ids do not.
    pub(crate) fn detail(&self, id: &str, kind: DetailKind) -> Option<Value> {
        if let Some(payload) = self.detail_overrides.get(id) {
            return Some(payload.clone());
        }
        let full = self.details.get(id)?;
        let fields = match kind {
            DetailKind::Simple => SIMPLE_FIELDS,
            DetailKind::Detailed => DETAILED_FIELDS,
        };
        let mut payload = serde_json::Map::new();
        for field in fields {
            if let Some(value) = full.get(*field) {
                payload.insert((*field).to_string(), value.clone());
            }
        }
        Some(Value::Object(payload))
    }

    pub(crate) fn edit_role(&mut self, id: &str, edit: impl FnOnce(&mut Value)) {
        if let Some(role) = self.role_mut(id) {
            edit(role);
        }
    }

    /// Appends a role to the listing verbatim: a role without an id or with
    /// a duplicate id stays so, since scrapers must cope with both. A detail
    /// payload is generated from its fields when its id has none yet.
    pub(crate) fn add_role(&mut self, role: Value) {
        let id = id_of(&role).to_string();
        if !id.is_empty() && role.is_object() && !self.details.contains_key(&id) {
            self.insert_detail(&role, LocationHint::None, false);
        }
        self.listed.push(role);
    }

    pub(crate) fn remove_role(&mut self, id: &str) {
        if let Some(at) = self.listed.iter().position(|role| id_of(role) == id) {
            let role = self.listed.remove(at);
            self.removed.push(Removed {
                role,
                round: self.round,
            });
        }
    }

    pub(crate) fn restore_role(&mut self, id: &str) {
        if let Some(at) = self.removed.iter().position(|r| id_of(&r.role) == id) {
            let removed = self.removed.remove(at);
            self.listed.push(removed.role);
        }
    }

    pub(crate) fn set_detail(&mut self, id: &str, detail: Value) {
        self.detail_overrides.insert(id.to_string(), detail);
    }

    /// One round of marketplace life: the clock moves by `by`; every ACTIVE
    /// listed role gets new volatile values; 10-15% of the listing get one
    /// tracked edit each; one or two roles get their locations reordered;
    /// one to three roles are removed; a role removed earlier may return; two
    /// to four new roles are posted now. Deterministic for seed and round.
    #[cfg(test)]
    pub(crate) fn advance(&mut self, by: Duration) -> RoundSummary {
        self.advance_with(by, EditShare::Drawn)
    }

    /// [`Market::advance`] with the share of edited roles given: `Drawn` is
    /// exactly `advance`; `Percent(p)` edits p% of the listing (rounded up)
    /// instead of the 10-15% drawn, everything else unchanged. The share is
    /// still drawn, so the rest of the round takes the same random sequence.
    pub(crate) fn advance_with(&mut self, by: Duration, edits: EditShare) -> RoundSummary {
        self.round += 1;
        self.now += by;
        let now = self.now;
        let mut rng = Rng::derived(self.seed, ROUND_SALT ^ self.round);
        let mut summary = RoundSummary {
            round: self.round,
            ..RoundSummary::default()
        };

        for role in &mut self.listed {
            if role["status"] == "ACTIVE" {
                refresh_volatile(role, now, &mut rng);
            }
        }

        // Tracked edits on about 10-15% of the listing, or the share given.
        // Roles added by tests without an id are left alone.
        let mut order: Vec<usize> = (0..self.listed.len())
            .filter(|at| !id_of(&self.listed[*at]).is_empty())
            .collect();
        rng.shuffle(&mut order);
        let drawn = rng.between(10, 15) as usize;
        let share = match edits {
            EditShare::Drawn => drawn,
            EditShare::Percent(percent) => usize::from(percent.min(100)),
        };
        let edit_count = (order.len() * share).div_ceil(100);
        let mut touched: HashSet<String> = HashSet::new();
        for &at in order.iter().take(edit_count) {
            let role = &mut self.listed[at];
            let kind = rng.pick(EDIT_KINDS);
            let id = id_of(role).to_string();
            for field in apply_edit(role, kind, &mut rng) {
                summary.edited.push((id.clone(), field));
            }
            touched.insert(id);
        }

        // Reordered locations are the same set: not a change.
        let mut reorder_left = rng.between(1, 2);
        for &at in order.iter().skip(edit_count) {
            if reorder_left == 0 {
                break;
            }
            let role = &mut self.listed[at];
            let Some(locations) = role.get_mut("locations").and_then(Value::as_array_mut) else {
                continue;
            };
            if locations.len() < 2 {
                continue;
            }
            locations.rotate_left(1);
            let id = id_of(role).to_string();
            summary.reordered.push(id.clone());
            touched.insert(id);
            reorder_left -= 1;
        }

        // Removals skip roles edited this round, whose edits would go unseen.
        let remove_count = rng.between(1, 3) as usize;
        let mut removable: Vec<String> = self
            .listed
            .iter()
            .map(|role| id_of(role).to_string())
            .filter(|id| !id.is_empty() && !touched.contains(id))
            .collect();
        rng.shuffle(&mut removable);
        for id in removable.into_iter().take(remove_count) {
            self.remove_role(&id);
            summary.removed.push(id);
        }

        // A role removed in an earlier round sometimes comes back, maybe edited.
        let returnable: Vec<String> = self
            .removed
            .iter()
            .filter(|removed| removed.round < self.round)
            .map(|removed| id_of(&removed.role).to_string())
            .collect();
        if !returnable.is_empty() && rng.chance(50) {
            let id = returnable[rng.below(returnable.len())].clone();
            self.restore_role(&id);
            if rng.chance(50)
                && let Some(role) = self.listed.iter_mut().find(|role| id_of(role) == id)
            {
                let kind = rng.pick(&[EditKind::Salary, EditKind::Fee]);
                for field in apply_edit(role, kind, &mut rng) {
                    summary.edited.push((id.clone(), field));
                }
            }
            summary.returned.push(id);
        }

        // New roles, posted now, at the top of the listing.
        for _ in 0..rng.between(2, 4) {
            let plan = generate::random_plan(&mut rng);
            let ordinal = rng.between(2, 9) as usize;
            let id = self.fresh_id(&mut rng);
            let company = generate::company_for(plan, ordinal, &self.companies, &mut rng);
            let mut generated = generate::role(plan, ordinal, company, id, now, now, &mut rng);
            let hint = match plan {
                Plan::LocationUncertain { resolvable: true } => {
                    LocationHint::InDescription(rng.pick(&["New York", "NYC", "London"]))
                }
                _ => generated.hint,
            };
            generated.role["createdAt"] = json!(generate::timestamp(
                now - Duration::minutes(rng.between(1, 120))
            ));
            self.insert_detail(&generated.role, hint, false);
            summary.added.push(id_of(&generated.role).to_string());
            self.listed.insert(0, generated.role);
        }
        summary
    }

    fn insert_detail(&mut self, role: &Value, hint: LocationHint, hostile: bool) {
        let id = id_of(role).to_string();
        let mut rng = Rng::derived(self.seed, fnv1a(&id));
        let detail = generate::detail(role, hint, hostile && self.hostile, &mut rng);
        self.details.insert(id, detail);
    }

    /// [`Market::fresh_id`] while `generate` builds the listing, when every
    /// role so far has a detail under its id and none is removed: the same
    /// id, found without reading every role (100,000 roles in seconds).
    fn fresh_generated_id(&self, rng: &mut Rng) -> String {
        loop {
            let id = generate::role_id(rng);
            if !self.details.contains_key(&id) {
                return id;
            }
        }
    }

    /// A role id no listed or removed role has.
    fn fresh_id(&self, rng: &mut Rng) -> String {
        loop {
            let id = generate::role_id(rng);
            if self.role(&id).is_none() && !self.details.contains_key(&id) {
                return id;
            }
        }
    }
}

fn id_of(role: &Value) -> &str {
    role.get("id").and_then(Value::as_str).unwrap_or_default()
}

fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

/// Fields that change nearly every scrape and are not worth recording.
fn refresh_volatile(role: &mut Value, now: DateTime<Utc>, rng: &mut Rng) {
    let recruiter = now - Duration::seconds(rng.between(0, 36 * 3600));
    let manager = now - Duration::seconds(rng.between(0, 5 * 24 * 3600));
    role["recruiter_last_active"] = json!(generate::timestamp(recruiter));
    role["manager_last_active"] = json!(generate::timestamp(manager));
    role["priority"] = json!(rng.between(1, 100));
    // A manager's responsiveness is an average over weeks: it moves for
    // about one role in ten a round, not for all of them.
    if let Some(days) = role
        .get("responsiveness_days")
        .and_then(Value::as_f64)
        .filter(|_| rng.between(0, 9) == 0)
    {
        let nudged = (days + rng.between(-3, 3) as f64 / 10.0).clamp(0.1, 10.0);
        role["responsiveness_days"] = json!((nudged * 10.0).round() / 10.0);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EditKind {
    Salary,
    Fee,
    HiringCount,
    Recruiters,
    InterviewingUp,
    InterviewingDown,
    HiredUp,
    Locations,
    Status,
}

const EDIT_KINDS: &[EditKind] = &[
    EditKind::Salary,
    EditKind::Fee,
    EditKind::HiringCount,
    EditKind::Recruiters,
    EditKind::InterviewingUp,
    EditKind::InterviewingDown,
    EditKind::HiredUp,
    EditKind::Locations,
    EditKind::Status,
];

/// Applies one tracked edit and names the fields whose values changed
/// (derived text such as `salary_string` changes alongside, unnamed).
fn apply_edit(role: &mut Value, kind: EditKind, rng: &mut Rng) -> Vec<&'static str> {
    // Tests may have replaced a role with something that is not an object.
    if !role.is_object() {
        return Vec::new();
    }
    let int = |role: &Value, field: &str| role.get(field).and_then(Value::as_i64);
    match kind {
        EditKind::Salary => {
            let (lower, upper) =
                match (int(role, "salaryLowerBound"), int(role, "salaryUpperBound")) {
                    (Some(lower), Some(upper)) => (lower, upper),
                    _ => (160_000, 200_000),
                };
            let step = rng.pick(&[10_000, 15_000, 20_000, 25_000, 40_000]);
            let step = if rng.chance(60) { step } else { -step };
            let mut new_upper = (upper + step).clamp(130_000, 450_000);
            if new_upper == upper {
                // Pinned at a bound: move the other way.
                new_upper = if upper >= 450_000 {
                    upper - step.abs()
                } else {
                    upper + step.abs()
                };
            }
            let new_lower = (lower + step).max(100_000).min(new_upper);
            generate::set_salary(role, Some((new_lower, new_upper)));
            vec!["salaryLowerBound", "salaryUpperBound"]
        }
        EditKind::Fee => {
            let old = role.get("percent_fee").and_then(Value::as_f64);
            let new = match old {
                Some(old) => {
                    let step = rng.pick(&[0.5, 1.0, 2.0, 2.5]);
                    let up = (old + step).min(25.0);
                    let down = (old - step).max(8.0);
                    let (first, second) = if rng.chance(50) {
                        (up, down)
                    } else {
                        (down, up)
                    };
                    if first != old { first } else { second }
                }
                None => 15.0,
            };
            generate::set_fee(role, Fee::Percent(new));
            vec!["percent_fee"]
        }
        EditKind::HiringCount => {
            let old = int(role, "hiring_count").unwrap_or(1);
            let new = if old <= 1 || rng.chance(50) {
                old + 1
            } else {
                old - 1
            };
            role["hiring_count"] = json!(new);
            role["hiring_count_text"] = json!(new.to_string());
            vec!["hiring_count"]
        }
        EditKind::Recruiters => {
            let old = int(role, "approved_recruiters_count").unwrap_or(0);
            let new = if old == 0 || rng.chance(70) {
                old + rng.between(1, 3)
            } else {
                old - 1
            };
            role["approved_recruiters_count"] = json!(new);
            vec!["approved_recruiters_count"]
        }
        EditKind::InterviewingUp => {
            let old = int(role, "total_interviewing").unwrap_or(0);
            role["total_interviewing"] = json!(old + rng.between(1, 4));
            vec!["total_interviewing"]
        }
        EditKind::InterviewingDown => {
            let old = int(role, "total_interviewing").unwrap_or(0);
            let new = if old == 0 {
                rng.between(1, 3)
            } else if rng.chance(30) {
                0
            } else {
                (old - rng.between(1, 3)).max(0)
            };
            role["total_interviewing"] = json!(new);
            vec!["total_interviewing"]
        }
        EditKind::HiredUp => {
            let old = int(role, "total_hired").unwrap_or(0);
            role["total_hired"] = json!(old + 1);
            vec!["total_hired"]
        }
        EditKind::Locations => {
            let old: Vec<String> = role
                .get("locations")
                .and_then(Value::as_array)
                .map(|all| {
                    all.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let new: Vec<String> = if old.iter().any(|slug| slug == "new_york") {
                old.iter()
                    .map(|slug| {
                        if slug == "new_york" {
                            "london".into()
                        } else {
                            slug.clone()
                        }
                    })
                    .collect()
            } else if old.is_empty() {
                vec!["new_york".into()]
            } else {
                let mut new = old.clone();
                new.push(
                    if old.iter().any(|slug| slug == "san_francisco") {
                        "new_york"
                    } else {
                        "san_francisco"
                    }
                    .into(),
                );
                new
            };
            role["locations"] = json!(new);
            vec!["locations"]
        }
        EditKind::Status => {
            let new = if role["status"] == "ACTIVE" {
                "PAUSED"
            } else {
                "ACTIVE"
            };
            role["status"] = json!(new);
            vec!["status"]
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::{Duration, TimeZone, Utc};

    use super::{EditShare, Market};

    fn market() -> Market {
        let now = Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).unwrap();
        Market::generate(42, 1_000, now, false)
    }

    #[test]
    fn drawn_share_is_exactly_advance() {
        let (mut plain, mut drawn) = (market(), market());
        for _ in 0..3 {
            let a = plain.advance(Duration::hours(12));
            let b = drawn.advance_with(Duration::hours(12), EditShare::Drawn);
            assert_eq!(a, b);
            assert_eq!(plain.listed(), drawn.listed());
        }
    }

    #[test]
    fn a_given_percent_edits_that_share_of_the_listing() {
        for (percent, expected) in [(0u8, 0usize), (3, 30), (50, 500), (200, 1_000)] {
            let mut market = market();
            let listed = market.listed_ids().len();
            assert_eq!(listed, 1_000);
            let summary = market.advance_with(Duration::hours(1), EditShare::Percent(percent));
            // A returned role may be edited too: it is not one of the listing's.
            let edited: HashSet<&str> = summary
                .edited
                .iter()
                .map(|(id, _)| id.as_str())
                .filter(|id| !summary.returned.iter().any(|r| r == id))
                .collect();
            assert_eq!(edited.len(), expected, "{percent}%");
        }
    }
}
