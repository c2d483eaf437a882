//! Evaluation, pure: a role (its list JSON and detail intel) and the rules in,
//! a verdict out — tier with every reason, four scores with their breakdown,
//! and signals. No clock, no I/O, cannot fail; any field may be missing or of
//! the wrong type (see `role`'s readers for how each is read).

pub mod describe;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intel::{Intel, has_words, word_form};
use crate::role::{format_number, number_at, strings_at, text_at, value_at};
use crate::rules::{Lists, Rules};
use crate::track::ChangeKind;

/// Declared best first, so `Ord` is the rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    Qualified,
    Maybe,
    LocationUncertain,
    Skip,
}

impl Tier {
    pub const ALL: [Tier; 4] = [
        Tier::Qualified,
        Tier::Maybe,
        Tier::LocationUncertain,
        Tier::Skip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Qualified => "QUALIFIED",
            Tier::Maybe => "MAYBE",
            Tier::LocationUncertain => "LOCATION_UNCERTAIN",
            Tier::Skip => "SKIP",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// Best first: 0 for QUALIFIED … 3 for SKIP.
    pub fn rank(self) -> u8 {
        match self {
            Tier::Qualified => 0,
            Tier::Maybe => 1,
            Tier::LocationUncertain => 2,
            Tier::Skip => 3,
        }
    }

    /// For people: "LOCATION UNCERTAIN".
    pub fn label(self) -> &'static str {
        match self {
            Tier::LocationUncertain => "LOCATION UNCERTAIN",
            other => other.as_str(),
        }
    }

    /// For CSS classes and filters: "location-uncertain".
    pub fn key(self) -> &'static str {
        match self {
            Tier::Qualified => "qualified",
            Tier::Maybe => "maybe",
            Tier::LocationUncertain => "location-uncertain",
            Tier::Skip => "skip",
        }
    }

    /// An SQL expression ranking `column` best tier first (unrated last),
    /// written from [`Tier::ALL`] so SQL and Rust agree.
    pub fn rank_sql(column: &str) -> String {
        let arms: String = Tier::ALL
            .iter()
            .map(|t| format!(" WHEN '{}' THEN {}", t.as_str(), t.rank()))
            .collect();
        format!("CASE {column}{arms} ELSE {} END", Tier::ALL.len())
    }

    /// The qualified tiers as an SQL list: `('QUALIFIED', 'MAYBE')`.
    pub fn qualified_sql() -> String {
        let names: Vec<String> = Tier::ALL
            .iter()
            .filter(|t| t.is_qualified())
            .map(|t| format!("'{}'", t.as_str()))
            .collect();
        format!("({})", names.join(", "))
    }

    /// QUALIFIED and MAYBE count as qualified (SCORING.md).
    pub fn is_qualified(self) -> bool {
        matches!(self, Tier::Qualified | Tier::Maybe)
    }

    /// Tiers that pass the hard filters (or may, once the location is known):
    /// worth a detail call.
    pub fn is_candidate(self) -> bool {
        !matches!(self, Tier::Skip)
    }
}

/// Everything evaluation concluded about one role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub tier: Tier,
    /// Failed hard filters, as sentences.
    pub failed_filters: Vec<String>,
    /// Passed quality signals, as sentences.
    pub quality_signals: Vec<String>,
    /// Score signals and inferences, each saying where it came from.
    pub signals: Vec<String>,
    /// Score inputs that were unset and took their default, each saying what
    /// was used and why: "openings 1 (openings 0 means not set)".
    pub defaulted: Vec<String>,
    pub engineer: Score,
    pub headhunter: Score,
    pub excitement: Score,
    pub combined: f64,
    /// The tier would be another without the model's facts (`[llm]`).
    pub tier_from_model: bool,
}

/// The reason that says a tier rests on the model: one spelling, written
/// by `Verdict::reasons` and recognised by `rests_on_model`.
pub const TIER_FROM_MODEL_REASON: &str =
    "◆ this tier rests on the model's reading of the role's text";

/// Whether stored reasons say the tier rests on the model.
pub fn rests_on_model<'a>(reasons: impl IntoIterator<Item = &'a str>) -> bool {
    reasons.into_iter().any(|r| r == TIER_FROM_MODEL_REASON)
}

impl Verdict {
    /// The reasons for the tier: each failed filter and passed signal, then
    /// what was inferred.
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self
            .failed_filters
            .iter()
            .map(|r| format!("✗ {r}"))
            .collect();
        reasons.extend(self.quality_signals.iter().map(|s| format!("✓ {s}")));
        if self.failed_filters.is_empty() && self.quality_signals.is_empty() {
            reasons.push("✗ no quality signals".into());
        }
        if self.tier_from_model {
            reasons.push(TIER_FROM_MODEL_REASON.into());
        }
        reasons
    }

    /// Lets a model's company excitement replace the rules' one, only for a
    /// qualified role (QUALIFIED or MAYBE) whose rules' excitement lies in
    /// `band` (the uncertain middle). The combined score does not change:
    /// excitement is not part of it. Returns whether it applied.
    pub fn apply_model_excitement(&mut self, model: &ModelExcitement, band: [f64; 2]) -> bool {
        let rules_value = self.excitement.value;
        if !self.tier.is_qualified()
            || !(band[0]..=band[1]).contains(&rules_value)
            || !(0.0..=1.0).contains(&model.score)
        {
            return false;
        }
        self.excitement.value = round_to(model.score, 2);
        self.excitement.components.push(Component {
            name: "model".into(),
            weight: 0.0,
            value: round_to(model.score, 3),
            detail: format!(
                "{} replaces the rules' {} ({}): {}",
                format_number(round_to(model.score, 2)),
                format_number(rules_value),
                model.model,
                model.reasoning
            ),
        });
        self.signals.push(format!(
            "excitement {} from the model {} (rules said {})",
            format_number(round_to(model.score, 2)),
            model.model,
            format_number(rules_value)
        ));
        true
    }
}

/// A model's excitement about a company (`[llm]`), as evaluation uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelExcitement {
    pub score: f64,
    pub reasoning: String,
    pub model: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: f64,
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    /// 0 for excitement's additive parts.
    pub weight: f64,
    pub value: f64,
    pub detail: String,
}

impl Component {
    /// `0.30 ×`, or `+` for excitement's additive parts.
    pub fn weight_label(&self) -> String {
        if self.weight > 0.0 {
            format!("{:.2} ×", self.weight)
        } else {
            "+".into()
        }
    }
}

/// A verdict's scores as stored in `roles.score_breakdown` (JSON): written
/// when a role is assessed, read back by `roles --explain` and the site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub engineer: Score,
    pub headhunter: Score,
    pub excitement: Score,
    pub combined: f64,
    /// Inputs that took their missing default, and why (absent in rows
    /// written before it existed).
    #[serde(default)]
    pub defaulted: Vec<String>,
}

impl Breakdown {
    pub fn of(verdict: &Verdict) -> Breakdown {
        Breakdown {
            engineer: verdict.engineer.clone(),
            headhunter: verdict.headhunter.clone(),
            excitement: verdict.excitement.clone(),
            combined: verdict.combined,
            defaulted: verdict.defaulted.clone(),
        }
    }

    /// The stored text; a missing or unreadable one is none.
    pub fn parse(text: Option<&str>) -> Option<Breakdown> {
        text.and_then(|t| serde_json::from_str(t).ok())
    }

    /// The three scores with their names, in the order people read them.
    pub fn scores(&self) -> [(&'static str, &Score); 3] {
        [
            ("engineer", &self.engineer),
            ("headhunter", &self.headhunter),
            ("excitement", &self.excitement),
        ]
    }
}

/// A role's direction from its changes of the last 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    Hired,
    Surging,
    Stalled,
}

impl Trend {
    pub const ALL: [Trend; 3] = [Trend::Hired, Trend::Surging, Trend::Stalled];

    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Hired => "hired",
            Trend::Surging => "surging",
            Trend::Stalled => "stalled",
        }
    }

    pub fn parse(text: &str) -> Option<Trend> {
        Trend::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A change as trends see it: its kind and new value.
pub struct RecentChange<'a> {
    pub kind: ChangeKind,
    pub new_value: Option<&'a str>,
}

/// hired if `total_hired` rose; else surging if interviews rose; else stalled
/// if interviews fell to 0. The caller passes the last 7 days of changes.
pub fn trend(changes: &[RecentChange<'_>]) -> Option<Trend> {
    if changes.iter().any(|c| c.kind == ChangeKind::HiringIncrease) {
        return Some(Trend::Hired);
    }
    if changes
        .iter()
        .any(|c| c.kind == ChangeKind::InterviewIncrease)
    {
        return Some(Trend::Surging);
    }
    let fell_to_zero = changes.iter().any(|c| {
        c.kind == ChangeKind::InterviewDecrease
            && c.new_value
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                == 0.0
    });
    fell_to_zero.then_some(Trend::Stalled)
}

/// Python's `round(x, digits)`: Rust's formatting rounds the exact binary
/// value half-to-even, as Python does, so scores match the old system's.
pub fn round_to(x: f64, digits: usize) -> f64 {
    format!("{x:.digits$}").parse().unwrap_or(x)
}

fn clamp01(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

/// What an unset input counts as (SCORING.md).
pub struct MissingDefaults {
    /// An unset `hiring_count` reads as this many openings (so openings =
    /// 1/3, as the old system scored it).
    pub hiring_count: f64,
    pub company_size: f64,
    pub interview_stages: f64,
    pub responsiveness_days: f64,
    pub manager_rating: f64,
    pub fee_percent: f64,
    pub recruiters: f64,
    pub total_hired: f64,
    pub total_interviewing: f64,
    pub founding_year: f64,
}

pub const MISSING: MissingDefaults = MissingDefaults {
    hiring_count: 1.0,
    company_size: 50.0,
    interview_stages: 5.0,
    responsiveness_days: 2.0,
    manager_rating: 4.0,
    fee_percent: 15.0,
    recruiters: 0.0,
    total_hired: 0.0,
    total_interviewing: 0.0,
    founding_year: 2020.0,
};

/// A number the rules read off a role: its value, or why it is unset. Zero
/// counts as unset in the fields `[scoring] zero_means_unset` names
/// (SCORING.md: Paraform sends 0 for "not set" there).
#[derive(Debug, Clone, Copy)]
struct Input {
    field: &'static str,
    value: Option<f64>,
    /// Sent as 0 in a field where 0 means "not set".
    zero_unset: bool,
}

impl Input {
    fn read(raw: &Value, field: &'static str, rules: &Rules) -> Input {
        let value = number_at(raw, field);
        let zero_unset =
            value == Some(0.0) && rules.scoring.zero_means_unset.iter().any(|f| f == field);
        Input {
            field,
            value: value.filter(|_| !zero_unset),
            zero_unset,
        }
    }

    /// Why the input is unset, in people's words: "openings 0 means not
    /// set", "openings not given".
    fn unset_reason(&self) -> Option<String> {
        let label = crate::vocab::label_in_text(self.field);
        if self.zero_unset {
            Some(format!("{label} 0 means not set"))
        } else if self.value.is_none() {
            Some(format!("{label} not given"))
        } else {
            None
        }
    }

    /// The value, or `default` with a note in `defaulted` saying what it
    /// stood for (`what`, e.g. "openings 1") and why.
    fn or(&self, default: f64, what: impl FnOnce() -> String, defaulted: &mut Vec<String>) -> f64 {
        if let Some(value) = self.value {
            return value;
        }
        if let Some(reason) = self.unset_reason() {
            let note = format!("{} ({reason})", what());
            if !defaulted.contains(&note) {
                defaulted.push(note);
            }
        }
        default
    }

    /// " (openings 0 means not set)" when unset, for a component's detail.
    fn mark(&self) -> String {
        self.unset_reason()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    }
}

/// The number inputs of the rules, each read once.
struct Numbers {
    salary: Input,
    fee: Input,
    hiring_count: Input,
    interview_stages: Input,
    manager_rating: Input,
    responsiveness_days: Input,
    company_size: Input,
    team_size: Input,
    founding_year: Input,
    recruiters: Input,
    total_hired: Input,
    total_interviewing: Input,
}

impl Numbers {
    fn read(raw: &Value, rules: &Rules) -> Numbers {
        let input = |field| Input::read(raw, field, rules);
        Numbers {
            salary: input("salaryUpperBound"),
            fee: input("percent_fee"),
            hiring_count: input("hiring_count"),
            interview_stages: input("interview_stages"),
            manager_rating: input("manager_rating"),
            responsiveness_days: input("responsiveness_days"),
            company_size: input("company.size"),
            team_size: input("team_size"),
            founding_year: input("company.foundingYear"),
            recruiters: input("approved_recruiters_count"),
            total_hired: input("total_hired"),
            total_interviewing: input("total_interviewing"),
        }
    }
}

/// The facts evaluation reads off a role, read once.
struct Facts<'a> {
    raw: &'a Value,
    numbers: Numbers,
    title: String,
    company: String,
    locations: Vec<String>,
    role_types: Vec<String>,
    highlights: Vec<String>,
    investors: Investors,
    funding: f64,
    funding_text: Option<String>,
    stage: Option<String>,
}

/// Investor entries classified once each, tier-1 first.
#[derive(Default)]
struct Investors {
    tier1: Vec<String>,
    tier2: Vec<String>,
    angels: Vec<String>,
    total: usize,
    /// Entries only a model named (`[llm]` role intel), with the field of
    /// the text that names them.
    from_model: Vec<(String, &'static str)>,
}

impl Investors {
    /// "Sequoia", or "Kleiner Perkins (from company notes, model)".
    fn shown(&self, entry: &str) -> String {
        match self.from_model.iter().find(|(name, _)| name == entry) {
            Some((_, field)) => format!("{entry} (from {field}, model)"),
            None => entry.to_string(),
        }
    }

    fn shown_all(&self, entries: &[String]) -> String {
        entries
            .iter()
            .map(|e| self.shown(e))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Investors {
    fn read(raw: &Value, intel: &Intel, lists: &Lists, signals: &mut Vec<String>) -> Investors {
        let mut entries = strings_at(raw, "investors");
        let known = |entries: &[String], name: &str| {
            entries
                .iter()
                .any(|e| has_words(e, name) || has_words(name, e))
        };
        for mention in &intel.investor_mentions {
            if !known(&entries, &mention.name) {
                signals.push(format!(
                    "investor {} named in the {}",
                    mention.name, mention.field
                ));
                entries.push(mention.name.clone());
            }
        }
        // What a model read counts like a listed investor only when the
        // text it read names it, and says where; a name the text does not
        // hold (planted by an instruction in the notes, or the model's own
        // idea) is shown as such and counts for nothing.
        let mut from_model = Vec::new();
        for claim in &intel.model.investors {
            let name = &claim.name;
            if known(&entries, name) {
                continue;
            }
            match claim.source(intel, lists) {
                Some(field) => {
                    signals.push(format!(
                        "investor {name} named in the {field} as \"{}\" (model)",
                        claim.words
                    ));
                    entries.push(name.clone());
                    from_model.push((name.clone(), field));
                }
                None => signals.push(format!(
                    "not used: the model named investor {name}, which is not found in the source"
                )),
            }
        }
        let mut investors = Investors {
            total: entries.len(),
            from_model,
            ..Investors::default()
        };
        let matches = |entry: &str, names: &[String]| {
            let form = word_form(entry);
            names.iter().any(|n| {
                let n = word_form(n);
                n.len() > 2 && form.contains(&n)
            })
        };
        for entry in entries {
            if matches(&entry, &lists.investors.tier1) {
                investors.tier1.push(entry);
            } else if matches(&entry, &lists.investors.tier2) {
                investors.tier2.push(entry);
            } else if matches(&entry, &lists.investors.angels) {
                investors.angels.push(entry);
            }
        }
        investors
    }
}

/// Reads `"$16.25M"`, `"100M"`, `"$1.5B"`, `"$750K"`, `"12,000,000"`: strip
/// `$`, `,` and spaces; K/M/B multiply; anything unparseable is 0.
pub fn parse_funding(text: &str) -> f64 {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, '$' | ',' | ' '))
        .collect();
    let upper = cleaned.to_uppercase();
    let (number, multiplier) = match upper.chars().last() {
        Some('K') => (&upper[..upper.len() - 1], 1e3),
        Some('M') => (&upper[..upper.len() - 1], 1e6),
        Some('B') => (&upper[..upper.len() - 1], 1e9),
        _ => (upper.as_str(), 1.0),
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map_or(0.0, |n| n * multiplier)
}

fn meets(values: &[String], set: &[String]) -> bool {
    values
        .iter()
        .any(|v| set.iter().any(|s| s.eq_ignore_ascii_case(v)))
}

fn contains_any(text: &str, words: &[String]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(&w.to_lowercase()))
}

/// Full verdicts computed by this process so far: a run's pipeline computes
/// each role's verdict once (`tests/llm.rs` and `tests/scrape.rs` read it
/// from the scrape's debug line).
static EVALUATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many full verdicts this process has computed ([`evaluate`] calls).
pub fn evaluations() -> u64 {
    EVALUATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A role's facts as the rules read them from its list JSON and intel.
fn facts<'a>(raw: &'a Value, intel: &Intel, rules: &Rules, signals: &mut Vec<String>) -> Facts<'a> {
    let investors = Investors::read(raw, intel, &rules.lists, signals);
    let funding_text = text_at(raw, "company.fundingAmount").or_else(|| text_at(raw, "funding"));
    Facts {
        raw,
        numbers: Numbers::read(raw, rules),
        title: text_at(raw, "name").unwrap_or_default(),
        company: text_at(raw, "company.name").unwrap_or_default(),
        locations: strings_at(raw, "locations")
            .into_iter()
            .map(|l| l.to_lowercase())
            .collect(),
        role_types: strings_at(raw, "role_types")
            .into_iter()
            .map(|t| t.to_lowercase())
            .collect(),
        highlights: strings_at(raw, "role_metadata.highlights")
            .into_iter()
            .map(|h| h.to_uppercase())
            .collect(),
        funding: funding_text.as_deref().map_or(0.0, parse_funding),
        funding_text,
        stage: text_at(raw, "company.company_metadata.last_funding_round")
            .map(|s| s.to_uppercase()),
        investors,
    }
}

/// The tier, from the hard filters and the quality signals, with what
/// decided it.
fn tier_of(facts: &Facts<'_>, intel: &Intel, rules: &Rules, signals: &mut Vec<String>) -> Tiered {
    let (failed_filters, location_failed, location_passes) =
        hard_filters(facts, intel, rules, signals);
    let quality_signals = quality_signals(facts, rules);
    let tier = if !failed_filters.is_empty() {
        if failed_filters.len() == 1 && location_failed && facts.locations.is_empty() {
            Tier::LocationUncertain
        } else {
            Tier::Skip
        }
    } else if quality_signals.len() >= rules.qualification.qualified_min_signals {
        Tier::Qualified
    } else if !quality_signals.is_empty() {
        Tier::Maybe
    } else {
        Tier::Skip
    };
    Tiered {
        tier,
        failed_filters,
        quality_signals,
        location_passes,
    }
}

/// What [`tier_of`] found.
struct Tiered {
    tier: Tier,
    failed_filters: Vec<String>,
    quality_signals: Vec<String>,
    /// The location passes (from the list data, or the detail's text).
    location_passes: bool,
}

/// The tier alone, without the scores: what a scrape asks before spending
/// a detail call on a role (a role that would be skipped gets none). Not a
/// verdict, and not counted as one.
pub fn tier(raw: &Value, intel: &Intel, rules: &Rules) -> Tier {
    let mut signals = Vec::new();
    let facts = facts(raw, intel, rules, &mut signals);
    tier_of(&facts, intel, rules, &mut signals).tier
}

/// Evaluates one role.
pub fn evaluate(raw: &Value, intel: &Intel, rules: &Rules) -> Verdict {
    EVALUATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut signals = Vec::new();
    let facts = facts(raw, intel, rules, &mut signals);
    let Tiered {
        tier,
        failed_filters,
        quality_signals,
        location_passes,
    } = tier_of(&facts, intel, rules, &mut signals);

    let mut defaulted = Vec::new();
    let engineer = engineer_score(&facts, rules, &mut defaulted);
    let headhunter = headhunter_score(&facts, rules, location_passes, &mut defaulted);
    let excitement = excitement_score(&facts, rules, &mut signals, &mut defaulted);
    let s = &rules.scoring;
    let combined = round_to(
        s.combined_engineer_weight * engineer.value
            + s.combined_headhunter_weight * headhunter.value,
        2,
    );
    let inv = &facts.investors;
    if !inv.tier1.is_empty() {
        signals.push(format!("tier-1 investors: {}", inv.shown_all(&inv.tier1)));
    }
    if !inv.tier2.is_empty() {
        signals.push(format!("tier-2 investors: {}", inv.shown_all(&inv.tier2)));
    }
    if !inv.angels.is_empty() {
        signals.push(format!("angels: {}", inv.shown_all(&inv.angels)));
    }
    // Would the rules alone say otherwise? Asked only when a model said
    // something; without model facts this is the rules' verdict itself.
    let has_model_facts = !intel.model.investors.is_empty() || intel.model.location.is_some();
    let tier_from_model = has_model_facts && {
        let rules_only = Intel {
            model: crate::intel::ModelFacts::default(),
            ..intel.clone()
        };
        self::tier(raw, &rules_only, rules) != tier
    };
    Verdict {
        tier,
        failed_filters,
        quality_signals,
        signals,
        defaulted,
        engineer,
        headhunter,
        excitement,
        combined,
        tier_from_model,
    }
}

/// The hard filters. Returns the failures, whether the location failed, and
/// whether the location passes (from the list data, or from an explicit
/// mention in the detail text when the role lists no locations).
fn hard_filters(
    facts: &Facts<'_>,
    intel: &Intel,
    rules: &Rules,
    signals: &mut Vec<String>,
) -> (Vec<String>, bool, bool) {
    let q = &rules.qualification;
    let lists = &rules.lists;
    let raw = facts.raw;
    let mut failed = Vec::new();

    let status = text_at(raw, "status").unwrap_or_default();
    if !status.eq_ignore_ascii_case(&q.status) {
        let shown = if status.is_empty() {
            "missing".to_string()
        } else {
            status
        };
        failed.push(format!("status is {shown}, not {}", q.status));
    }
    let closed = match value_at(raw, "not_accepting_recruiters") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    };
    if closed {
        failed.push("not accepting recruiters".into());
    }

    let workplace = text_at(raw, "workplace_type").unwrap_or_default();
    let remote = q
        .remote_workplace_types
        .iter()
        .any(|w| w.eq_ignore_ascii_case(&workplace));
    let in_area = facts.locations.iter().any(|l| {
        lists
            .locations
            .nyc_metro
            .iter()
            .chain(&lists.locations.london)
            .any(|s| s.eq_ignore_ascii_case(l))
    });
    let mut location_passes = remote || in_area;
    let mut location_failed = false;
    if !location_passes
        && facts.locations.is_empty()
        && let Some(mention) = intel.location_mentions.first()
    {
        location_passes = true;
        signals.push(format!(
            "location {} inferred from the {}, which name {}",
            mention.name,
            mention.field,
            crate::vocab::location(lists, &mention.matched.replace(' ', "_"))
        ));
    }
    if !location_passes
        && facts.locations.is_empty()
        && let Some(model) = &intel.model.location
    {
        // Where the words name the place, the field says so; a place the
        // model read between the lines ("Brooklyn HQ" as New York) is said
        // to be the model's reading of the role's text, no more.
        location_passes = true;
        let from = crate::intel::source_of(&model.stated, &model.stated, intel, &[])
            .map_or("the role's text".to_string(), |field| {
                format!("the {field}")
            });
        signals.push(format!(
            "location {} read from {from} (model, {} confidence: \"{}\")",
            model.label, model.confidence, model.stated
        ));
    }
    if !location_passes {
        location_failed = true;
        failed.push(if facts.locations.is_empty() {
            "location: none listed and not remote".to_string()
        } else {
            format!(
                "location: {} is not NYC metro or London, and not remote",
                facts
                    .locations
                    .iter()
                    .map(|l| crate::vocab::location(lists, l))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }

    let core: Vec<&String> = facts
        .role_types
        .iter()
        .filter(|t| meets(&[(*t).clone()], &lists.role_types.core))
        .collect();
    if core.is_empty() {
        let secondary: Vec<&String> = facts
            .role_types
            .iter()
            .filter(|t| meets(&[(*t).clone()], &lists.role_types.secondary))
            .collect();
        failed.push(if secondary.is_empty() {
            let listed = if facts.role_types.is_empty() {
                "none".into()
            } else {
                facts.role_types.join(", ")
            };
            format!("no core engineering role type ({listed})")
        } else {
            format!(
                "only secondary engineering role types ({})",
                secondary
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    let mobile: Vec<&String> = facts
        .role_types
        .iter()
        .filter(|t| meets(&[(*t).clone()], &lists.role_types.mobile))
        .collect();
    if !mobile.is_empty() {
        failed.push(format!(
            "mobile role type ({})",
            mobile
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    match facts.numbers.salary.value {
        Some(salary) if salary >= q.min_salary => {}
        Some(salary) => failed.push(format!(
            "salary upper bound ${} is below ${}",
            format_number(salary),
            format_number(q.min_salary)
        )),
        None => failed.push("salary upper bound missing".into()),
    }
    // The filter reads the fee as sent: missing, and so 0, fails.
    let fee = number_at(raw, "percent_fee").unwrap_or(0.0);
    if fee < q.min_fee_percent {
        failed.push(format!(
            "fee {}% is below {}%",
            format_number(fee),
            format_number(q.min_fee_percent)
        ));
    }
    (failed, location_failed, location_passes)
}

fn quality_signals(facts: &Facts<'_>, rules: &Rules) -> Vec<String> {
    let q = &rules.qualification;
    let n = &facts.numbers;
    let mut signals = Vec::new();
    if let Some(first) = facts.investors.tier1.first() {
        signals.push(format!(
            "tier-1 investor ({})",
            facts.investors.shown(first)
        ));
    }
    if facts.funding > q.signal_funding_above {
        signals.push(format!(
            "funding {}",
            facts.funding_text.as_deref().unwrap_or("")
        ));
    }
    if let Some(stage) = &facts.stage
        && q.signal_stages
            .iter()
            .any(|s| s.eq_ignore_ascii_case(stage))
    {
        signals.push(format!("stage {stage}"));
    }
    if let Some(size) = n.company_size.value.or(n.team_size.value)
        && size >= q.signal_size_min
        && size <= q.signal_size_max
    {
        signals.push(format!("company size {}", format_number(size)));
    }
    if let Some(rating) = n.manager_rating.value
        && rating >= q.signal_manager_rating_min
    {
        signals.push(format!("manager rating {}", format_number(rating)));
    }
    if let Some(days) = n.responsiveness_days.value
        && days < q.signal_responsiveness_below_days
    {
        signals.push(format!("responds in {} days", format_number(days)));
    }
    if let Some(stages) = n.interview_stages.value
        && stages > 0.0
        && stages <= q.signal_interview_stages_max
    {
        signals.push(format!("{} interview stages", format_number(stages)));
    }
    if !facts.highlights.is_empty() {
        signals.push(format!("badges: {}", facts.highlights.join(", ")));
    }
    signals
}

fn weighted(parts: Vec<Component>) -> Score {
    let sum = parts.iter().fold(0.0, |acc, c| acc + c.weight * c.value);
    Score {
        value: round_to(sum, 2),
        components: parts,
    }
}

fn component(name: &str, weight: f64, value: f64, detail: String) -> Component {
    Component {
        name: name.to_string(),
        weight,
        value: round_to(value, 3),
        detail,
    }
}

fn badges(facts: &Facts<'_>, rules: &Rules) -> f64 {
    facts
        .highlights
        .iter()
        .filter_map(|h| rules.scoring.badge_values.get(h))
        // Not `sum()`: an empty float sum is -0.0, which prints as "-0.00".
        .fold(0.0, |total, value| total + value)
}

/// 1 − clamp01(days / 5); missing → 2 days.
fn responsiveness(n: &Numbers, defaulted: &mut Vec<String>) -> f64 {
    let days = n.responsiveness_days.or(
        MISSING.responsiveness_days,
        || {
            format!(
                "responsiveness {} days",
                format_number(MISSING.responsiveness_days)
            )
        },
        defaulted,
    );
    1.0 - clamp01(days / 5.0)
}

/// min(1, hiring_count / 3); an unset count reads as 1, so openings 1/3.
fn openings(n: &Numbers, defaulted: &mut Vec<String>) -> f64 {
    let count = n.hiring_count.value.unwrap_or(MISSING.hiring_count);
    let openings = (count / 3.0).min(1.0);
    if let Some(reason) = n.hiring_count.unset_reason() {
        let note = format!(
            "openings {openings:.3} ({reason}, {})",
            read_as_hiring_count()
        );
        if !defaulted.contains(&note) {
            defaulted.push(note);
        }
    }
    openings
}

/// "read as 1": what an unset `hiring_count` stands for.
fn read_as_hiring_count() -> String {
    format!("read as {}", format_number(MISSING.hiring_count))
}

/// " (hiring_count 0 = not set, read as 1)" when unset, for a component's detail.
fn openings_mark(n: &Numbers) -> String {
    n.hiring_count
        .unset_reason()
        .map(|r| format!(" ({r}, {})", read_as_hiring_count()))
        .unwrap_or_default()
}

/// `company.size`, missing → 50.
fn company_size(n: &Numbers, defaulted: &mut Vec<String>) -> f64 {
    n.company_size.or(
        MISSING.company_size,
        || format!("company size {}", format_number(MISSING.company_size)),
        defaulted,
    )
}

fn engineer_score(facts: &Facts<'_>, rules: &Rules, defaulted: &mut Vec<String>) -> Score {
    let s = &rules.scoring;
    let t = &s.tables;
    let raw = facts.raw;
    let n = &facts.numbers;
    let salary = n.salary.value.filter(|n| *n > 0.0);
    let compensation = salary.map_or(t.compensation.otherwise, |n| t.compensation.value(n));

    let inv = &facts.investors;
    let investors = if inv.total == 0 {
        0.3
    } else {
        (0.30 * inv.tier1.len() as f64 + 0.15 * inv.tier2.len() as f64).min(1.0)
    };
    let amount = t.funding_amount.value(facts.funding);
    let stage = facts
        .stage
        .as_ref()
        .and_then(|st| s.stage_values.get(st))
        .copied()
        .unwrap_or(s.stage_otherwise);
    let funding = 0.6 * amount + 0.4 * stage;
    let quality = 0.5 * investors + 0.5 * funding;

    let title = if contains_any(&facts.title, &s.title_top) {
        1.0
    } else if contains_any(&facts.title, &s.title_senior) {
        0.8
    } else {
        0.6
    };
    let size = t.company_size.value(company_size(n, defaulted));
    let openings = openings(n, defaulted);
    let impact = 0.5 * title + 0.3 * openings + 0.2 * size;

    let stages = t.interview_stages.value(n.interview_stages.or(
        MISSING.interview_stages,
        || {
            format!(
                "interview stages {}",
                format_number(MISSING.interview_stages)
            )
        },
        defaulted,
    ));
    let responsiveness = responsiveness(n, defaulted);
    let process = 0.4 * stages + 0.3 * responsiveness + 0.3 * badges(facts, rules).min(1.0);

    let tech = strings_at(raw, "tech_stack");
    let modern = tech
        .iter()
        .filter(|t| s.modern_tech.iter().any(|m| m.eq_ignore_ascii_case(t)))
        .count() as f64;
    let industries = strings_at(raw, "company.industries");
    let industry = if meets(&industries, &s.engineer_industries) {
        1.0
    } else {
        0.5
    };
    let modernity = 0.6 * (modern / s.modern_tech_target).min(1.0) + 0.4 * industry;

    let w = &s.engineer;
    weighted(vec![
        component(
            "compensation",
            w.compensation,
            compensation,
            match salary {
                Some(n) => format!("salary up to ${}", format_number(n)),
                None => "salary missing".into(),
            },
        ),
        component(
            "company quality",
            w.company_quality,
            quality,
            format!(
                "investors {:.3} ({} tier-1, {} tier-2), funding {:.3} (amount {amount}, stage {stage})",
                investors,
                inv.tier1.len(),
                inv.tier2.len(),
                funding
            ),
        ),
        component(
            "role impact",
            w.role_impact,
            impact,
            format!(
                "title {title}, openings {openings:.3}{}, size {size}{}",
                openings_mark(n),
                n.company_size.mark()
            ),
        ),
        component(
            "process",
            w.process,
            process,
            format!(
                "stages {stages}{}, responsiveness {responsiveness:.3}{}, badges {:.2}",
                n.interview_stages.mark(),
                n.responsiveness_days.mark(),
                badges(facts, rules).min(1.0)
            ),
        ),
        component(
            "tech modernity",
            w.tech_modernity,
            modernity,
            format!("{modern} modern technologies, industry {industry}"),
        ),
    ])
}

fn headhunter_score(
    facts: &Facts<'_>,
    rules: &Rules,
    location_passes: bool,
    defaulted: &mut Vec<String>,
) -> Score {
    let s = &rules.scoring;
    let t = &s.tables;
    let n = &facts.numbers;
    let manager_rating = n.manager_rating.or(
        MISSING.manager_rating,
        || format!("manager rating {:.1}", MISSING.manager_rating),
        defaulted,
    );
    let rating = clamp01((manager_rating - 3.0) / 2.0);
    let responsiveness = responsiveness(n, defaulted);
    let placement = 0.4 * rating + 0.3 * responsiveness + 0.3 * badges(facts, rules).min(1.0);

    let fee_percent = n.fee.or(
        MISSING.fee_percent,
        || format!("fee {}%", format_number(MISSING.fee_percent)),
        defaulted,
    );
    let fee = t.fee.value(fee_percent);
    let bonus = if facts
        .highlights
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&s.bonus_badge))
    {
        1.0
    } else {
        0.5
    };
    let openings = openings(n, defaulted);
    let commission = 0.5 * fee + 0.3 * openings + 0.2 * bonus;

    let recruiters_count = n.recruiters.or(
        MISSING.recruiters,
        || format!("{} recruiters", format_number(MISSING.recruiters)),
        defaulted,
    );
    let recruiters = t.recruiters.value(recruiters_count);
    let track = t.track_record.value(n.total_hired.or(
        MISSING.total_hired,
        || format!("{} hired", format_number(MISSING.total_hired)),
        defaulted,
    ));
    let pipeline = t.pipeline.value(n.total_interviewing.or(
        MISSING.total_interviewing,
        || format!("{} interviewing", format_number(MISSING.total_interviewing)),
        defaulted,
    ));
    let competition = 0.5 * recruiters + 0.3 * track + 0.2 * pipeline;

    let kind = if meets(&facts.role_types, &s.fit_role_types) {
        1.0
    } else {
        0.6
    };
    let location = if location_passes { 1.0 } else { 0.5 };
    let fit = 0.5 * kind + 0.5 * location;

    let w = &s.headhunter;
    weighted(vec![
        component(
            "placement probability",
            w.placement,
            placement,
            format!(
                "manager rating {rating:.3}{}, responsiveness {responsiveness:.3}{}",
                n.manager_rating.mark(),
                n.responsiveness_days.mark()
            ),
        ),
        component(
            "commission value",
            w.commission,
            commission,
            format!(
                "fee {}%{} → {fee}, openings {openings:.3}{}, bonus {bonus}",
                format_number(fee_percent),
                n.fee.mark(),
                openings_mark(n)
            ),
        ),
        component(
            "competition",
            w.competition,
            competition,
            format!(
                "{} recruiters → {recruiters}, track record {track}, pipeline {pipeline}",
                format_number(recruiters_count)
            ),
        ),
        component(
            "candidate fit",
            w.candidate_fit,
            fit,
            format!("role type {kind}, location {location}"),
        ),
    ])
}

fn excitement_score(
    facts: &Facts<'_>,
    rules: &Rules,
    signals: &mut Vec<String>,
    defaulted: &mut Vec<String>,
) -> Score {
    let e = &rules.scoring.excitement;
    let raw = facts.raw;
    let n = &facts.numbers;
    if !facts.company.is_empty()
        && rules
            .lists
            .companies
            .hot
            .iter()
            .any(|h| has_words(&facts.company, h))
    {
        signals.push(format!("hot company ({})", facts.company));
        return Score {
            value: round_to(e.hot_company, 2),
            components: vec![component(
                "hot company",
                0.0,
                e.hot_company,
                facts.company.clone(),
            )],
        };
    }
    let inv = &facts.investors;
    let investors = match inv.tier1.len() {
        0 if inv.total == 0 => 0.15 * 0.3,
        0 => 0.15 * (0.15 * inv.tier2.len() as f64 + 0.15 * inv.angels.len() as f64).min(1.0),
        n => e
            .tier1_points
            // An empty list (a config may say so) gives no points, not a panic.
            .get(n.min(e.tier1_points.len()).saturating_sub(1))
            .copied()
            .unwrap_or(0.0),
    };
    let funding = e.funding.value(facts.funding);
    let industries = strings_at(raw, "company.industries");
    let industry = if meets(&industries, &e.ai_industries) {
        e.ai_industry_points
    } else if meets(&industries, &e.other_industries) {
        e.other_industry_points
    } else {
        0.0
    };
    let founded = n.founding_year.or(
        MISSING.founding_year,
        || format!("founded {}", format_number(MISSING.founding_year)),
        defaulted,
    );
    let young = if founded >= e.founded_from_year as f64 {
        e.young_company_points
    } else {
        0.0
    };
    let size = e.size.value(company_size(n, defaulted));
    let title = if contains_any(&facts.title, &e.title_words) {
        e.title_points
    } else {
        0.0
    };
    let parts = vec![
        component(
            "investors",
            0.0,
            investors,
            format!(
                "{} tier-1, {} tier-2, {} angels",
                inv.tier1.len(),
                inv.tier2.len(),
                inv.angels.len()
            ),
        ),
        component(
            "funding",
            0.0,
            funding,
            facts
                .funding_text
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        ),
        component("industry", 0.0, industry, industries.join(", ")),
        component(
            "founded",
            0.0,
            young,
            format!("{}{}", format_number(founded), n.founding_year.mark()),
        ),
        component(
            "size",
            0.0,
            size,
            n.company_size.value.map_or(
                format!(
                    "{}{}",
                    format_number(MISSING.company_size),
                    n.company_size.mark()
                ),
                format_number,
            ),
        ),
        component("title", 0.0, title, facts.title.clone()),
    ];
    let sum = investors + funding + industry + young + size + title;
    Score {
        value: round_to(sum.min(1.0), 2),
        components: parts,
    }
}

#[cfg(test)]
mod tests;
