//! The headhunter's words for what the API calls fields: one table that
//! gives each tracked field its label and its value format, and the names
//! of places and stages. The changes page, a role's history, the feed, the
//! digest and `changes` in the terminal all say a change through
//! [`said`]; `--json` and the exports keep the raw names and values.
//!
//! `Salary max $210K → $225K`, `Fee 25% → 24.5%`, `Recruiters 8 → 11`,
//! `Locations United Kingdom → San Francisco, United Kingdom`,
//! `Status Active → Paused`.

use std::collections::BTreeMap;

use crate::role::{format_number, plausible_salary};
use crate::rules::Lists;
use crate::track::ChangeKind;

/// What a salary shows where a figure is outside the plausible range.
pub const UNREADABLE_SALARY: &str = "unreadable";

/// How a field's stored value is written for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `$210K` (a salary outside the plausible range is "unreadable").
    Salary,
    /// `25%`.
    Percent,
    /// `11`.
    Count,
    /// Slugs to place names, a list kept as a list.
    Places,
    /// `ACTIVE` → `Active`.
    Word,
    /// `true` → `Yes`.
    YesNo,
    /// As written.
    Text,
}

/// Every tracked field: its stored name, label and format. Paraform's
/// names and the company boards' names (`salary_min`) alike.
const FIELDS: &[(&str, &str, Format)] = &[
    ("salaryLowerBound", "Salary min", Format::Salary),
    ("salaryUpperBound", "Salary max", Format::Salary),
    ("salary_min", "Salary min", Format::Salary),
    ("salary_max", "Salary max", Format::Salary),
    ("percent_fee", "Fee", Format::Percent),
    ("hiring_count", "Openings", Format::Count),
    ("approved_recruiters_count", "Recruiters", Format::Count),
    ("total_interviewing", "Interviewing", Format::Count),
    ("total_hired", "Hired", Format::Count),
    ("locations", "Locations", Format::Places),
    ("status", "Status", Format::Word),
    (
        "not_accepting_recruiters",
        "Closed to recruiters",
        Format::YesNo,
    ),
    ("title", "Title", Format::Text),
    ("tier", "Tier", Format::Word),
    // Read by the rules, not tracked as changes.
    ("interview_stages", "Interview stages", Format::Count),
    ("manager_rating", "Manager rating", Format::Count),
    ("responsiveness_days", "Days to respond", Format::Count),
    ("company.size", "Company size", Format::Count),
    ("team_size", "Team size", Format::Count),
    ("company.foundingYear", "Founding year", Format::Text),
];

fn field(name: &str) -> Option<(&'static str, Format)> {
    FIELDS
        .iter()
        .find(|(stored, _, _)| *stored == name)
        .map(|(_, label, format)| (*label, *format))
}

/// A tracked field's label: `salaryUpperBound` → `Salary max`. A field
/// the table does not know is written as words (`some_field` → `Some
/// field`), never as an API name.
pub fn label(name: &str) -> String {
    match field(name) {
        Some((label, _)) => label.to_string(),
        None => sentence_case(name),
    }
}

/// A field's label in the middle of a sentence: `openings`, `fee`.
pub fn label_in_text(name: &str) -> String {
    let label = label(name);
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => label,
    }
}

/// One change as people say it. `old`/`new` are empty for a change that
/// has no values (new, gone, back).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Said {
    /// `Salary max`; empty when the change names no field.
    pub field: String,
    pub old: String,
    pub new: String,
}

impl Said {
    /// `Salary max $210K → $225K`; empty for a change without values.
    pub fn line(&self) -> String {
        if self.old.is_empty() && self.new.is_empty() {
            return self.field.clone();
        }
        let field = if self.field.is_empty() {
            String::new()
        } else {
            format!("{} ", self.field)
        };
        format!("{field}{} → {}", self.old, self.new)
    }
}

/// A stored change (`kind`, field name and value text as the change row
/// holds them) in people's words. Values a change does not have stay
/// empty; a value that is missing on one side is "not set".
pub fn said(
    lists: &Lists,
    kind: ChangeKind,
    field_name: Option<&str>,
    old: Option<&str>,
    new: Option<&str>,
) -> Said {
    let name = field_name.unwrap_or_default();
    if matches!(
        kind,
        ChangeKind::New | ChangeKind::Disappeared | ChangeKind::Reappeared | ChangeKind::Unfollowed
    ) && old.is_none()
        && new.is_none()
    {
        return Said::default();
    }
    let format = field(name).map_or(Format::Text, |(_, f)| f);
    let value = |v: Option<&str>| match v.map(str::trim) {
        None | Some("") => "not set".to_string(),
        Some(v) => value(lists, format, v),
    };
    Said {
        field: if name.is_empty() {
            String::new()
        } else {
            label(name)
        },
        old: value(old),
        new: value(new),
    }
}

/// A tracked field's value in people's words: (`status`, `PAUSED`) →
/// `Paused`; (`percent_fee`, `25`) → `25%`.
pub fn field_value(lists: &Lists, field_name: &str, text: &str) -> String {
    value(
        lists,
        field(field_name).map_or(Format::Text, |(_, f)| f),
        text,
    )
}

/// A stored change as one terminal line: ` Salary max $210K → $225K`
/// (leading space included), empty for a change without values.
pub fn terminal_line(
    lists: &Lists,
    kind: ChangeKind,
    field_name: Option<&str>,
    old: Option<&str>,
    new: Option<&str>,
) -> String {
    let line = said(lists, kind, field_name, old, new).line();
    if line.is_empty() {
        String::new()
    } else {
        format!(" {}", crate::text::terminal(&line, 120))
    }
}

fn value(lists: &Lists, format: Format, text: &str) -> String {
    let text = crate::text::one_line(text);
    let number = text.parse::<f64>().ok().filter(|n| n.is_finite());
    match (format, number) {
        (Format::Salary, Some(n)) => salary_figure(n),
        (Format::Percent, Some(n)) => format!("{}%", format_number(n)),
        (Format::Count, Some(n)) => format_number(n),
        (Format::Places, _) => places(lists, &text),
        (Format::Word, _) => sentence_case(&text),
        (Format::YesNo, _) => match text.as_str() {
            "true" => "Yes".into(),
            "false" => "No".into(),
            _ => text,
        },
        _ => text,
    }
}

/// `$250K`, or [`UNREADABLE_SALARY`] when it is not a plausible salary.
pub fn salary_figure(n: f64) -> String {
    if plausible_salary(n) {
        money_k(n)
    } else {
        UNREADABLE_SALARY.into()
    }
}

/// `$250K` from a dollar amount.
pub fn money_k(n: f64) -> String {
    format!("${}K", format_number((n / 1000.0).round()))
}

/// Where a role comes from, in a word: `Paraform`, or its company board's
/// API (`Greenhouse`), from its id.
pub fn source_name(role_id: &str) -> &'static str {
    crate::role::RoleId::parse(role_id)
        .and_then(|id| crate::company::Board::from_source(id.source()))
        .map_or("Paraform", crate::company::Board::name)
}

/// Where a role comes from, for people: `Paraform`, or its company board
/// (`Greenhouse board acme`), from its id.
pub fn source(role_id: &str) -> String {
    let Some(id) = crate::role::RoleId::parse(role_id) else {
        return "Paraform".into();
    };
    match crate::company::Board::from_source(id.source()) {
        Some(crate::company::Board::Careers) => {
            let host = id.board_and_job().map_or(id.external(), |(host, _)| host);
            format!("careers page at {}", crate::text::one_line(host))
        }
        Some(board) => {
            let name = id.board_and_job().map_or(id.external(), |(name, _)| name);
            format!("{} board {}", board.name(), crate::text::one_line(name))
        }
        None => "Paraform".into(),
    }
}

/// `new_york, united_kingdom` → `New York, United Kingdom`.
fn places(lists: &Lists, text: &str) -> String {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| location(lists, p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A location slug as people write it, from `[display.locations]`
/// (`united_kingdom` → `United Kingdom`); a slug the lists do not name is
/// written as words; a place already written for people (a company board's
/// `London, UK`) is kept.
pub fn location(lists: &Lists, slug: &str) -> String {
    named(&lists.display.locations, slug, Case::Lower)
}

/// A funding stage as people say it: `SERIES_E` → `Series E`.
pub fn stage(lists: &Lists, key: &str) -> String {
    named(&lists.display.stages, key, Case::Upper)
}

/// How a kind of slug is written: `new_york`, `SERIES_A`.
#[derive(Clone, Copy)]
enum Case {
    Lower,
    Upper,
}

/// A slug's name from `map`, or the slug as words; text that is not a
/// slug (`London, UK`, written by a company board for people) is kept.
fn named(map: &BTreeMap<String, String>, key: &str, case: Case) -> String {
    let key = key.trim();
    let slug = !key.is_empty()
        && key.chars().all(|c| {
            c.is_ascii_digit()
                || c == '_'
                || match case {
                    Case::Lower => c.is_ascii_lowercase(),
                    Case::Upper => c.is_ascii_uppercase(),
                }
        });
    if !slug {
        return key.to_string();
    }
    match map.get(key) {
        Some(name) => name.clone(),
        None => title_case(key),
    }
}

/// `united_kingdom` → `United Kingdom`.
fn title_case(slug: &str) -> String {
    slug.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// `PAUSED` → `Paused`, `some_field` → `Some field`, `salaryCap` →
/// `Salary cap`.
fn sentence_case(text: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let upper = text.chars().all(|c| !c.is_lowercase());
    for c in text.chars() {
        if c == '_' || c == ' ' || c == '-' || c == '.' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else if c.is_uppercase() && !upper && !current.is_empty() {
            words.push(std::mem::take(&mut current));
            current.extend(c.to_lowercase());
        } else {
            current.extend(c.to_lowercase());
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut out = words.join(" ");
    if let Some(first) = out.chars().next() {
        out = first.to_uppercase().chain(out.chars().skip(1)).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> Lists {
        Lists::defaults()
    }

    fn line(kind: ChangeKind, field: &str, old: Option<&str>, new: Option<&str>) -> String {
        said(&lists(), kind, Some(field), old, new).line()
    }

    #[test]
    fn every_tracked_field_reads_as_people_say_it() {
        use ChangeKind::*;
        assert_eq!(
            line(
                SalaryIncrease,
                "salaryUpperBound",
                Some("210000"),
                Some("225000")
            ),
            "Salary max $210K → $225K"
        );
        assert_eq!(
            line(SalaryIncrease, "salary_min", None, Some("150000")),
            "Salary min not set → $150K"
        );
        assert_eq!(
            line(
                SalaryIncrease,
                "salaryUpperBound",
                Some("1e30"),
                Some("200000")
            ),
            "Salary max unreadable → $200K"
        );
        assert_eq!(
            line(FeeChange, "percent_fee", Some("25"), Some("24.5")),
            "Fee 25% → 24.5%"
        );
        assert_eq!(
            line(
                CompetitionChange,
                "approved_recruiters_count",
                Some("8"),
                Some("11")
            ),
            "Recruiters 8 → 11"
        );
        assert_eq!(
            line(
                LocationChange,
                "locations",
                Some("united_kingdom"),
                Some("san_francisco, united_kingdom")
            ),
            "Locations United Kingdom → San Francisco, United Kingdom"
        );
        assert_eq!(
            line(
                LocationChange,
                "locations",
                Some("London, UK"),
                Some("Remote")
            ),
            "Locations London, UK → Remote"
        );
        assert_eq!(
            line(StatusChange, "status", Some("ACTIVE"), Some("PAUSED")),
            "Status Active → Paused"
        );
        assert_eq!(
            line(
                StatusChange,
                "not_accepting_recruiters",
                Some("false"),
                Some("true")
            ),
            "Closed to recruiters No → Yes"
        );
        assert_eq!(
            line(TierChange, "tier", Some("MAYBE"), Some("QUALIFIED")),
            "Tier Maybe → Qualified"
        );
        assert_eq!(said(&lists(), New, None, None, None).line(), "");
        assert_eq!(label("someNewField"), "Some new field");
        assert_eq!(label("some_new_field"), "Some new field");
    }

    #[test]
    fn places_and_stages_have_one_name() {
        let l = lists();
        assert_eq!(location(&l, "new_york"), "New York");
        assert_eq!(location(&l, "london"), "London");
        assert_eq!(location(&l, "united_kingdom"), "United Kingdom");
        assert_eq!(location(&l, "uk"), "United Kingdom");
        assert_eq!(location(&l, "tel_aviv"), "Tel Aviv");
        assert_eq!(location(&l, "Berlin, Germany"), "Berlin, Germany");
        assert_eq!(stage(&l, "SERIES_E"), "Series E");
        assert_eq!(stage(&l, "PRE_SEED"), "Pre-seed");
        assert_eq!(stage(&l, "POST_IPO_EQUITY"), "Public");
        assert_eq!(stage(&l, "GROWTH_EQUITY"), "Growth Equity");
        assert_eq!(source("paraform:abc"), "Paraform");
        assert_eq!(source("greenhouse:acme/123"), "Greenhouse board acme");
    }
}
