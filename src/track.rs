//! Change tracking, pure: a role's content hash, and the changes between two
//! versions of a role. No clock, no database, no I/O.

use std::collections::BTreeSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::company::Board;
use crate::role::{format_number, number_at, strings_at, value_at};

/// Fields left out of the content hash because they change without the role
/// changing: activity timestamps, ranking, and what the logged-in recruiter
/// did (not the market). A change to these alone adds no version.
pub const VOLATILE_FIELDS: &[&str] = &[
    "recruiter_last_active",
    "manager_last_active",
    "responsiveness_days",
    "priority",
    "is_posted_recently",
    "role_timer",
    "favourite",
    "applied_for_role",
    "user_status",
    "user_role_approval",
    "user_request_date",
    "withdraw_allowed",
    "recruiter_note",
    "submitted",
    "interviewing",
    "hired",
    "is_invite",
    "invite_message",
    "invited_at",
    "company.logoUrl",
    "company.team_image_url",
    "paraform_owner.image",
    "company.company_metadata.paraform_owner.image",
];

/// The volatile fields a verdict reads (`evaluate` scores responsiveness).
/// A role whose other volatile fields moved keeps its verdict without being
/// evaluated again; `evaluate::tests` checks that no other one matters.
pub const EVALUATED_VOLATILE_FIELDS: &[&str] = &["responsiveness_days"];

/// Lists whose order carries no meaning: hashed and compared as sets, so a
/// reordering adds nothing.
pub const SET_FIELDS: &[&str] = &[
    "locations",
    "role_types",
    "tech_stack",
    "investors",
    "company.industries",
    "role_metadata.highlights",
    "role_metadata.ai_role_titles",
];

/// The change kinds of the `changes` table (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    New,
    SalaryIncrease,
    SalaryDecrease,
    FeeChange,
    HeadcountChange,
    CompetitionChange,
    InterviewIncrease,
    InterviewDecrease,
    HiringIncrease,
    HiringDecrease,
    LocationChange,
    StatusChange,
    TierChange,
    Disappeared,
    Reappeared,
    /// A board (or careers) role renamed: field `title`.
    TitleChange,
    /// A board role closed because its company or board is no longer
    /// followed: not gone from the company's board, only from our watch.
    Unfollowed,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 17] = [
        ChangeKind::New,
        ChangeKind::SalaryIncrease,
        ChangeKind::SalaryDecrease,
        ChangeKind::FeeChange,
        ChangeKind::HeadcountChange,
        ChangeKind::CompetitionChange,
        ChangeKind::InterviewIncrease,
        ChangeKind::InterviewDecrease,
        ChangeKind::HiringIncrease,
        ChangeKind::HiringDecrease,
        ChangeKind::LocationChange,
        ChangeKind::StatusChange,
        ChangeKind::TierChange,
        ChangeKind::Disappeared,
        ChangeKind::Reappeared,
        ChangeKind::TitleChange,
        ChangeKind::Unfollowed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::New => "NEW",
            ChangeKind::SalaryIncrease => "SALARY_INCREASE",
            ChangeKind::SalaryDecrease => "SALARY_DECREASE",
            ChangeKind::FeeChange => "FEE_CHANGE",
            ChangeKind::HeadcountChange => "HEADCOUNT_CHANGE",
            ChangeKind::CompetitionChange => "COMPETITION_CHANGE",
            ChangeKind::InterviewIncrease => "INTERVIEW_INCREASE",
            ChangeKind::InterviewDecrease => "INTERVIEW_DECREASE",
            ChangeKind::HiringIncrease => "HIRING_INCREASE",
            ChangeKind::HiringDecrease => "HIRING_DECREASE",
            ChangeKind::LocationChange => "LOCATION_CHANGE",
            ChangeKind::StatusChange => "STATUS_CHANGE",
            ChangeKind::TierChange => "TIER_CHANGE",
            ChangeKind::Disappeared => "DISAPPEARED",
            ChangeKind::Reappeared => "REAPPEARED",
            ChangeKind::TitleChange => "TITLE_CHANGE",
            ChangeKind::Unfollowed => "UNFOLLOWED",
        }
    }

    /// Matters to a headhunter (SPEC §7): the digest lists these.
    pub fn is_material(self) -> bool {
        matches!(
            self,
            ChangeKind::SalaryIncrease
                | ChangeKind::SalaryDecrease
                | ChangeKind::FeeChange
                | ChangeKind::HeadcountChange
                | ChangeKind::Reappeared
                | ChangeKind::Disappeared
                | ChangeKind::TierChange
        )
    }

    /// The label people read and the CSS class of its direction (`up`,
    /// `down`, `new`, …); a fee change's direction comes from its values.
    pub fn label(self, old: Option<&str>, new: Option<&str>) -> (&'static str, &'static str) {
        match self {
            ChangeKind::New => ("New role", "new"),
            ChangeKind::Disappeared => ("Gone", "gone"),
            ChangeKind::Reappeared => ("Back", "back"),
            ChangeKind::Unfollowed => ("No longer followed", "neutral"),
            ChangeKind::SalaryIncrease => ("Salary up", "up"),
            ChangeKind::SalaryDecrease => ("Salary down", "down"),
            ChangeKind::FeeChange => {
                let number = |v: Option<&str>| v.and_then(|v| v.parse::<f64>().ok());
                match (number(old), number(new)) {
                    (Some(o), Some(n)) if n > o => ("Fee up", "up"),
                    _ => ("Fee down", "down"),
                }
            }
            ChangeKind::HeadcountChange => ("Openings", "neutral"),
            ChangeKind::CompetitionChange => ("Recruiters", "neutral"),
            ChangeKind::InterviewIncrease => ("Interviews up", "up"),
            ChangeKind::InterviewDecrease => ("Interviews down", "down"),
            ChangeKind::HiringIncrease => ("Hired", "up"),
            ChangeKind::HiringDecrease => ("Hires down", "down"),
            ChangeKind::LocationChange => ("Location", "neutral"),
            ChangeKind::StatusChange => ("Status", "neutral"),
            ChangeKind::TitleChange => ("Renamed", "neutral"),
            ChangeKind::TierChange => ("Tier", "tier"),
        }
    }

    pub fn parse(text: &str) -> Option<ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// One detected change: which field moved from what to what (text as stored).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub kind: ChangeKind,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

impl FieldChange {
    pub fn new(kind: ChangeKind, field: &str, old: Option<String>, new: Option<String>) -> Self {
        FieldChange {
            kind,
            field: Some(field.to_string()),
            old_value: old,
            new_value: new,
        }
    }
}

/// SHA-256 (hex) of the role's canonical JSON without volatile fields, with
/// set-like lists sorted and object keys in order.
pub fn content_hash(raw: &Value) -> String {
    let mut stable = raw.clone();
    for path in VOLATILE_FIELDS {
        remove_path(&mut stable, path);
    }
    for path in SET_FIELDS {
        if let Some(Value::Array(items)) = value_at_mut(&mut stable, path) {
            items.sort_by_cached_key(canonical_json);
            items.dedup();
        }
    }
    hex(&Sha256::digest(canonical_json(&stable).as_bytes()))
}

/// SHA-256 (hex) of what of a role its verdict is computed from: its
/// content (`content_hash`, volatile fields left out) and the volatile
/// fields evaluation reads. Equal inputs, rules, detail and model answers
/// give equal verdicts.
pub fn evaluation_input(raw: &Value, content_hash: &str) -> String {
    let volatile: Vec<&Value> = EVALUATED_VOLATILE_FIELDS
        .iter()
        .map(|path| crate::role::value_at(raw, path).unwrap_or(&Value::Null))
        .collect();
    let volatile = canonical_json(&Value::Array(volatile.into_iter().cloned().collect()));
    text_hash(&format!("{content_hash}\n{volatile}"))
}

/// SHA-256 (hex) of a text as it is: a role whose listed text hashes the
/// same as stored is unchanged in every field, volatile ones included.
pub fn text_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hexadecimal of `bytes` (a digest), without a `format!` per byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

/// The tracked changes from `old` to `new` (two versions of one role). Numbers
/// are compared by value whatever their JSON type; locations as a set.
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    use ChangeKind::*;
    let mut changes = Vec::new();
    let directional: [(&str, ChangeKind, ChangeKind); 4] = [
        ("salaryLowerBound", SalaryIncrease, SalaryDecrease),
        ("salaryUpperBound", SalaryIncrease, SalaryDecrease),
        ("total_interviewing", InterviewIncrease, InterviewDecrease),
        ("total_hired", HiringIncrease, HiringDecrease),
    ];
    for (field, up, down) in directional {
        let (before, after) = (number_at(old, field), number_at(new, field));
        if before == after {
            continue;
        }
        // A value that appears counts as a rise, one that vanishes as a fall.
        let kind = match (before, after) {
            (Some(b), Some(a)) if a > b => up,
            (None, Some(_)) => up,
            _ => down,
        };
        changes.push(FieldChange::new(
            kind,
            field,
            before.map(format_number),
            after.map(format_number),
        ));
    }
    for (field, kind) in [
        ("percent_fee", FeeChange),
        ("hiring_count", HeadcountChange),
        ("approved_recruiters_count", CompetitionChange),
    ] {
        let (before, after) = (number_at(old, field), number_at(new, field));
        if before != after {
            changes.push(FieldChange::new(
                kind,
                field,
                before.map(format_number),
                after.map(format_number),
            ));
        }
    }
    let (before, after) = (location_set(old), location_set(new));
    if before != after {
        changes.push(FieldChange::new(
            LocationChange,
            "locations",
            Some(set_text(&before)),
            Some(set_text(&after)),
        ));
    }
    for field in ["status", "not_accepting_recruiters"] {
        let (before, after) = (scalar_text(old, field), scalar_text(new, field));
        if before != after {
            changes.push(FieldChange::new(StatusChange, field, before, after));
        }
    }
    changes
}

fn location_set(raw: &Value) -> BTreeSet<String> {
    strings_at(raw, "locations")
        .into_iter()
        .map(|l| l.to_lowercase())
        .collect()
}

fn set_text(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn scalar_text(raw: &Value, path: &str) -> Option<String> {
    match value_at(raw, path)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// JSON text with object keys sorted, whatever the map's own order.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn value_at_mut<'a>(raw: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.')
        .try_fold(raw, |value, key| value.get_mut(key))
}

fn remove_path(raw: &mut Value, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (value_at_mut(raw, parent), key),
        None => (Some(raw), path),
    };
    if let Some(Value::Object(map)) = parent {
        map.remove(key);
    }
}

/// The tracked changes between two versions of a company board's job
/// (read by `company::board_job`): salary range, location, and title
/// (TITLE_CHANGE).
pub fn board_diff(board: Board, old: &Value, new: &Value) -> Vec<FieldChange> {
    let (before, after) = (board.job(old), board.job(new));
    let mut changes = Vec::new();
    for (field, was, is) in [
        ("salary_min", before.salary_min, after.salary_min),
        ("salary_max", before.salary_max, after.salary_max),
    ] {
        if was != is {
            let kind = match (was, is) {
                (Some(b), Some(a)) if a > b => ChangeKind::SalaryIncrease,
                (None, Some(_)) => ChangeKind::SalaryIncrease,
                _ => ChangeKind::SalaryDecrease,
            };
            changes.push(FieldChange::new(
                kind,
                field,
                was.map(|n| n.to_string()),
                is.map(|n| n.to_string()),
            ));
        }
    }
    let set = |places: &[String]| {
        let mut sorted: Vec<String> = places.iter().map(|p| p.trim().to_string()).collect();
        sorted.sort();
        sorted.dedup();
        sorted
    };
    let (was, is) = (set(&before.locations), set(&after.locations));
    if was != is {
        changes.push(FieldChange::new(
            ChangeKind::LocationChange,
            "locations",
            Some(was.join(", ")),
            Some(is.join(", ")),
        ));
    }
    if before.title != after.title {
        changes.push(FieldChange::new(
            ChangeKind::TitleChange,
            "title",
            before.title,
            after.title,
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "id": "r1", "name": "Backend", "status": "ACTIVE",
            "salaryLowerBound": 200000, "salaryUpperBound": 250000, "percent_fee": 15,
            "hiring_count": 2, "approved_recruiters_count": 3, "total_interviewing": 2,
            "total_hired": 0, "locations": ["new_york", "london"],
            "recruiter_last_active": "2025-01-01T00:00:00Z", "responsiveness_days": 1.5,
            "company": {"name": "Acme", "logoUrl": "https://cdn/1.png"}
        })
    }

    fn check(edit: impl FnOnce(&mut Value), expected: &[(ChangeKind, &str, &str, &str)]) {
        let old = base();
        let mut new = base();
        edit(&mut new);
        let got: Vec<(ChangeKind, String, String, String)> = diff(&old, &new)
            .into_iter()
            .map(|c| {
                (
                    c.kind,
                    c.field.unwrap_or_default(),
                    c.old_value.unwrap_or_default(),
                    c.new_value.unwrap_or_default(),
                )
            })
            .collect();
        let want: Vec<(ChangeKind, String, String, String)> = expected
            .iter()
            .map(|(k, f, o, n)| (*k, f.to_string(), o.to_string(), n.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn hash_ignores_volatile_fields_key_order_and_set_order() {
        let mut edited = base();
        edited["recruiter_last_active"] = json!("2026-01-01T00:00:00Z");
        edited["responsiveness_days"] = json!(0.2);
        edited["company"]["logoUrl"] = json!("https://cdn/2.png");
        edited["locations"] = json!(["london", "new_york"]);
        assert_eq!(content_hash(&base()), content_hash(&edited));
        let reordered: Value = serde_json::from_str(
            &canonical_json(&base()).replace("{\"approved", "{\"zz\":null,\"approved"),
        )
        .unwrap();
        assert_ne!(content_hash(&base()), content_hash(&reordered));
    }

    #[test]
    fn hash_changes_with_content() {
        let mut edited = base();
        edited["name"] = json!("Backend II");
        assert_ne!(content_hash(&base()), content_hash(&edited));
        assert_eq!(content_hash(&base()).len(), 64);
    }

    #[test]
    fn unchanged_and_volatile_edits_yield_nothing() {
        check(|_| {}, &[]);
        check(|r| r["manager_last_active"] = json!("x"), &[]);
        check(|r| r["locations"] = json!(["LONDON", "new_york"]), &[]);
        check(|r| r["percent_fee"] = json!("15"), &[]);
    }

    #[test]
    fn tracked_edits_yield_their_kind() {
        use ChangeKind::*;
        check(
            |r| r["salaryUpperBound"] = json!(260000),
            &[(SalaryIncrease, "salaryUpperBound", "250000", "260000")],
        );
        check(
            |r| r["salaryLowerBound"] = json!(190000),
            &[(SalaryDecrease, "salaryLowerBound", "200000", "190000")],
        );
        check(
            |r| r["salaryUpperBound"] = json!(null),
            &[(SalaryDecrease, "salaryUpperBound", "250000", "")],
        );
        check(
            |r| r["percent_fee"] = json!(17.5),
            &[(FeeChange, "percent_fee", "15", "17.5")],
        );
        check(
            |r| r["hiring_count"] = json!(3),
            &[(HeadcountChange, "hiring_count", "2", "3")],
        );
        check(
            |r| r["approved_recruiters_count"] = json!(1),
            &[(CompetitionChange, "approved_recruiters_count", "3", "1")],
        );
        check(
            |r| r["total_interviewing"] = json!(5),
            &[(InterviewIncrease, "total_interviewing", "2", "5")],
        );
        check(
            |r| r["total_interviewing"] = json!(0),
            &[(InterviewDecrease, "total_interviewing", "2", "0")],
        );
        check(
            |r| r["total_hired"] = json!(1),
            &[(HiringIncrease, "total_hired", "0", "1")],
        );
        check(
            |r| r["total_hired"] = json!(null),
            &[(HiringDecrease, "total_hired", "0", "")],
        );
        check(
            |r| r["locations"] = json!(["new_york"]),
            &[(LocationChange, "locations", "london, new_york", "new_york")],
        );
        check(
            |r| r["status"] = json!("PAUSED"),
            &[(StatusChange, "status", "ACTIVE", "PAUSED")],
        );
        check(
            |r| r["not_accepting_recruiters"] = json!(true),
            &[(StatusChange, "not_accepting_recruiters", "", "true")],
        );
    }

    #[test]
    fn several_edits_at_once() {
        use ChangeKind::*;
        check(
            |r| {
                r["salaryUpperBound"] = json!(300000);
                r["total_hired"] = json!(2);
            },
            &[
                (SalaryIncrease, "salaryUpperBound", "250000", "300000"),
                (HiringIncrease, "total_hired", "0", "2"),
            ],
        );
    }

    #[test]
    fn kinds_round_trip() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("nope"), None);
    }

    #[test]
    fn diffs_salary_location_and_title() {
        let old = serde_json::json!({"text": "Engineer", "categories": {"location": "London"}, "salaryRange": {"min": 100, "max": 200}});
        let new = serde_json::json!({"text": "Senior Engineer", "categories": {"location": "Remote"}, "salaryRange": {"min": 100, "max": 250}});
        let kinds: Vec<String> = board_diff(Board::Api(crate::company::Kind::Lever), &old, &new)
            .iter()
            .map(|c| format!("{} {}", c.kind.as_str(), c.field.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            kinds,
            [
                "SALARY_INCREASE salary_max",
                "LOCATION_CHANGE locations",
                "TITLE_CHANGE title"
            ]
        );
        assert!(board_diff(Board::Api(crate::company::Kind::Lever), &old, &old).is_empty());
    }
}
