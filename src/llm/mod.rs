//! Model-assisted intel (SPEC §5a), the pure part: the three tasks, the
//! answers' types (their JSON Schemas derived from them), the prompts (files
//! in `prompts/`, each with a version), what is sent as input, the cache
//! key, and the bounds every answer is cut to before anything reads it.
//! A model's answer is untrusted text, like everything scraped.
//!
//! The calls themselves are `fetch::llm`; when they happen (fetch phase,
//! budget, cache) is `llm::enrich`.

pub mod enrich;
pub mod input;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One of the three jobs a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    /// Facts from a role's company notes and selling points.
    RoleIntel,
    /// A 0–1 excitement score for a company, cached per company.
    CompanyExcitement,
    /// The page a headhunter reads before calling a candidate.
    Briefing,
}

impl Task {
    pub const ALL: [Task; 3] = [Task::RoleIntel, Task::CompanyExcitement, Task::Briefing];

    /// The schema name sent to the provider and the `task` column of the cache.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::RoleIntel => "role_intel",
            Task::CompanyExcitement => "company_excitement",
            Task::Briefing => "briefing",
        }
    }

    pub fn parse(text: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// For people: "role intel".
    pub fn label(self) -> &'static str {
        match self {
            Task::RoleIntel => "role intel",
            Task::CompanyExcitement => "company excitement",
            Task::Briefing => "briefing",
        }
    }

    /// The prompt file behind the task (embedded at build time).
    pub fn prompt(self) -> Prompt {
        let text = match self {
            Task::RoleIntel => include_str!("../../prompts/role_intel.md"),
            Task::CompanyExcitement => include_str!("../../prompts/company_excitement.md"),
            Task::Briefing => include_str!("../../prompts/briefing.md"),
        };
        Prompt::parse(text)
    }

    /// The JSON Schema of the answer, ready for `response_format` with
    /// `strict: true`: subschemas inlined (Gemini refuses `$ref`), every
    /// property required, no other properties allowed.
    pub fn schema(self) -> Value {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        let schema = match self {
            Task::RoleIntel => generator.into_root_schema_for::<RoleIntel>(),
            Task::CompanyExcitement => generator.into_root_schema_for::<CompanyExcitement>(),
            Task::Briefing => generator.into_root_schema_for::<Briefing>(),
        };
        let mut value = schema.to_value();
        strict(&mut value);
        value
    }

    /// Reads and bounds an answer; `Err` says what was wrong with it (for the
    /// one re-ask).
    pub fn read_answer(self, content: &str) -> Result<Value, String> {
        let content = strip_fence(content);
        fn read<T: for<'de> Deserialize<'de> + Serialize>(
            content: &str,
            bound: fn(T) -> Result<T, String>,
        ) -> Result<Value, String> {
            let parsed: T = serde_json::from_str(content).map_err(|err| err.to_string())?;
            let bounded = bound(parsed)?;
            serde_json::to_value(bounded).map_err(|err| err.to_string())
        }
        match self {
            Task::RoleIntel => read::<RoleIntel>(content, |a| Ok(a.bounded())),
            Task::CompanyExcitement => {
                read::<CompanyExcitement>(content, CompanyExcitement::bounded)
            }
            Task::Briefing => read::<Briefing>(content, |a| Ok(a.bounded())),
        }
    }
}

/// Some local models wrap JSON in a Markdown fence despite the schema.
fn strip_fence(content: &str) -> &str {
    let trimmed = content.trim();
    let Some(inner) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

/// Makes a schemars schema acceptable to strict structured output: every
/// object lists all its properties as required and allows no others; the
/// `$schema` and `title` keys some providers refuse are dropped.
fn strict(schema: &mut Value) {
    let mut stack = vec![&mut *schema];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                map.remove("$schema");
                map.remove("title");
                map.remove("format");
                if let Some(Value::Object(properties)) = map.get("properties") {
                    let names: Vec<Value> = properties
                        .keys()
                        .map(|k| Value::String(k.clone()))
                        .collect();
                    map.insert("required".into(), Value::Array(names));
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                stack.extend(map.values_mut());
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

/// A prompt file: a `version: N` line, a `---` line, then the system prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub version: String,
    pub text: String,
}

impl Prompt {
    fn parse(file: &str) -> Prompt {
        let (head, body) = file.split_once("\n---\n").unwrap_or(("", file));
        let version = head
            .lines()
            .find_map(|line| line.strip_prefix("version:"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "0".into());
        Prompt {
            version,
            text: body.trim().to_string(),
        }
    }
}

/// The cache key: sha256 of (task, model, prompt version, input text).
/// A new prompt, a new model or a changed input is a new key; the same one
/// never costs twice.
pub fn cache_key(task: Task, model: &str, prompt_version: &str, input: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [task.as_str(), model, prompt_version, input] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    crate::track::hex(&hasher.finalize())
}

/// Characters kept of any one string a model wrote, and items of any list.
pub const MAX_ANSWER_TEXT: usize = 600;
pub const MAX_ANSWER_ITEMS: usize = 12;

/// One line of model text, clean and cut (controls and bidi removed).
fn bound_text(text: String) -> String {
    crate::text::cut(&crate::text::one_line(&text), MAX_ANSWER_TEXT)
}

fn bound_opt(text: Option<String>) -> Option<String> {
    text.map(bound_text).filter(|t| !t.is_empty())
}

fn bound_list(items: Vec<String>) -> Vec<String> {
    items
        .into_iter()
        .map(bound_text)
        .filter(|t| !t.is_empty())
        .take(MAX_ANSWER_ITEMS)
        .collect()
}

/// Something the model names, with the words of the input that say it:
/// `{"name": "Kleiner Perkins", "words": "backed by Kleiner"}`. Evaluation
/// counts the name only when those words are in the input and name it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub name: String,
    /// Copied from the input, as written.
    pub words: String,
}

/// Names bounded like any answer text; one without a name is dropped.
fn bound_named(items: Vec<Named>) -> Vec<Named> {
    items
        .into_iter()
        .map(|n| Named {
            name: bound_text(n.name),
            words: bound_text(n.words),
        })
        .filter(|n| !n.name.is_empty())
        .take(MAX_ANSWER_ITEMS)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Speed {
    Fast,
    Normal,
    Slow,
}

/// Role intel: what the model read in the company notes and selling points.
/// Investors and the location merge into evaluation; the rest is shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIntel {
    /// Institutional investors, canonical full names, each with the words
    /// of the text that name it.
    pub investors: Vec<Named>,
    /// "Name (background)", with the words that name the person.
    pub angels: Vec<Named>,
    pub funding_stage: Option<String>,
    pub funding_amount: Option<String>,
    pub founder_background: Option<String>,
    pub employee_count: Option<u32>,
    pub growth_stage: Option<String>,
    pub process_speed: Option<Speed>,
    pub urgency_level: Option<Level>,
    pub runway_signal: Option<String>,
    pub partnerships: Vec<String>,
    /// The city (or "Remote") the text states; null when it says nothing.
    pub extracted_location: Option<String>,
    pub location_confidence: Option<Level>,
    pub positive_signals: Vec<String>,
    pub negative_signals: Vec<String>,
}

impl RoleIntel {
    fn bounded(self) -> RoleIntel {
        let extracted_location = bound_opt(self.extracted_location);
        RoleIntel {
            investors: bound_named(self.investors),
            angels: bound_named(self.angels),
            funding_stage: bound_opt(self.funding_stage),
            funding_amount: bound_opt(self.funding_amount),
            founder_background: bound_opt(self.founder_background),
            employee_count: self.employee_count.filter(|n| *n < 10_000_000),
            growth_stage: bound_opt(self.growth_stage),
            process_speed: self.process_speed,
            urgency_level: self.urgency_level,
            runway_signal: bound_opt(self.runway_signal),
            partnerships: bound_list(self.partnerships),
            location_confidence: self
                .location_confidence
                .filter(|_| extracted_location.is_some()),
            extracted_location,
            positive_signals: bound_list(self.positive_signals),
            negative_signals: bound_list(self.negative_signals),
        }
    }

    /// The facts for people, as "label: value" lines (empty ones left out).
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |label, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                out.push((label, value));
            }
        };
        let list = |items: &[String]| Some(items.join("; "));
        let names = |items: &[Named]| {
            Some(
                items
                    .iter()
                    .map(|n| format!("{} (\"{}\")", n.name, n.words))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        };
        push("investors", names(&self.investors));
        push("angels", names(&self.angels));
        push("funding stage", self.funding_stage.clone());
        push("funding amount", self.funding_amount.clone());
        push("founders", self.founder_background.clone());
        push("employees", self.employee_count.map(|n| n.to_string()));
        push("growth stage", self.growth_stage.clone());
        push(
            "process speed",
            self.process_speed.map(|s| {
                match s {
                    Speed::Fast => "fast",
                    Speed::Normal => "normal",
                    Speed::Slow => "slow",
                }
                .to_string()
            }),
        );
        push(
            "urgency",
            self.urgency_level.map(|l| l.as_str().to_string()),
        );
        push("runway", self.runway_signal.clone());
        push("partnerships", list(&self.partnerships));
        push(
            "location",
            self.extracted_location
                .as_ref()
                .map(|l| match self.location_confidence {
                    Some(level) => format!("{l} ({} confidence)", level.as_str()),
                    None => l.clone(),
                }),
        );
        push("positive", list(&self.positive_signals));
        push("negative", list(&self.negative_signals));
        out
    }
}

/// Company excitement: the model's 0–1 judgement, with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyExcitement {
    /// 0 to 1; 0.9 and above is rare.
    pub score: f64,
    /// One or two sentences.
    pub reasoning: String,
    pub signals: Vec<String>,
}

impl CompanyExcitement {
    fn bounded(self) -> Result<CompanyExcitement, String> {
        if !(0.0..=1.0).contains(&self.score) {
            return Err(format!("score {} is not between 0 and 1", self.score));
        }
        Ok(CompanyExcitement {
            score: crate::evaluate::round_to(self.score, 2),
            reasoning: bound_text(self.reasoning),
            signals: bound_list(self.signals),
        })
    }
}

/// What a model wrote for one briefing section; gaps are
/// `[RESEARCH NEEDED: …]`, never invented.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Briefing {
    pub problem: BriefingProblem,
    pub credibility: BriefingCredibility,
    pub role: BriefingRole,
    /// "[quantifier]: [requirement (context)]", from DEALBREAKER/REQUIRED.
    pub must_haves: Vec<String>,
    /// The same, from NICE_TO_HAVE.
    pub nice_to_haves: Vec<String>,
    pub interview: BriefingInterview,
    /// "[signal] = [risk]".
    pub red_flags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefingProblem {
    pub problem_statement: String,
    pub technical_challenge: String,
    pub solution_approach: String,
    pub why_now: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefingCredibility {
    pub founder_background: String,
    pub team_pedigree: String,
    pub traction_metrics: String,
    pub customer_status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefingRole {
    pub core_responsibility: String,
    /// 3–5 items, each starting with a verb.
    pub day_to_day_tasks: Vec<String>,
    pub impact_statement: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefingInterview {
    pub stages: Vec<String>,
    /// Questions the interviewers will ask themselves.
    pub evaluation_criteria: Vec<String>,
    pub prep_needed: Vec<String>,
}

/// One line of a briefing for people: a label, and the text or items.
/// An item without the label a model may have repeated in it: under "Must
/// have", `Must: 5+ years` reads `5+ years`; under "Problem", `Problem: …`
/// reads `…`. Only a short head before a colon that starts the label (or is
/// its first word) goes; `Stage 1: phone screen` stays.
fn without_label(label: &str, item: &str) -> String {
    if let Some((head, rest)) = item.split_once(':') {
        let head = head.trim().to_lowercase();
        let label = label.to_lowercase();
        let first = label.split_whitespace().next().unwrap_or_default();
        if !head.is_empty()
            && head.chars().count() <= 24
            && !rest.trim().is_empty()
            && (label.starts_with(&head) || head == first)
        {
            return rest.trim().to_string();
        }
    }
    item.to_string()
}

#[derive(Debug, Clone, PartialEq)]
pub struct BriefingLine {
    pub section: &'static str,
    pub label: &'static str,
    pub items: Vec<String>,
}

impl BriefingLine {
    /// Whether every item is a `[RESEARCH NEEDED: …]` gap (or there is none).
    pub fn is_gap(&self) -> bool {
        self.items.iter().all(|i| is_gap(i))
    }
}

/// Whether the model marked this as something to look up.
pub fn is_gap(text: &str) -> bool {
    text.trim().is_empty() || text.contains("RESEARCH NEEDED")
}

impl Briefing {
    fn bounded(self) -> Briefing {
        let p = self.problem;
        let c = self.credibility;
        let r = self.role;
        let i = self.interview;
        Briefing {
            problem: BriefingProblem {
                problem_statement: bound_text(p.problem_statement),
                technical_challenge: bound_text(p.technical_challenge),
                solution_approach: bound_text(p.solution_approach),
                why_now: bound_text(p.why_now),
            },
            credibility: BriefingCredibility {
                founder_background: bound_text(c.founder_background),
                team_pedigree: bound_text(c.team_pedigree),
                traction_metrics: bound_text(c.traction_metrics),
                customer_status: bound_text(c.customer_status),
            },
            role: BriefingRole {
                core_responsibility: bound_text(r.core_responsibility),
                day_to_day_tasks: bound_list(r.day_to_day_tasks),
                impact_statement: bound_text(r.impact_statement),
            },
            must_haves: bound_list(self.must_haves),
            nice_to_haves: bound_list(self.nice_to_haves),
            interview: BriefingInterview {
                stages: bound_list(i.stages),
                evaluation_criteria: bound_list(i.evaluation_criteria),
                prep_needed: bound_list(i.prep_needed),
            },
            red_flags: bound_list(self.red_flags),
        }
    }

    /// Every part, in reading order, for the role page and `brief`.
    pub fn lines(&self) -> Vec<BriefingLine> {
        let one = |section, label, text: &String| BriefingLine {
            section,
            label,
            items: vec![without_label(label, text)],
        };
        let many = |section, label, items: &Vec<String>| BriefingLine {
            section,
            label,
            items: items
                .iter()
                .map(|item| without_label(label, item))
                .collect(),
        };
        let (p, c, r, i) = (
            &self.problem,
            &self.credibility,
            &self.role,
            &self.interview,
        );
        vec![
            one("Problem", "Problem", &p.problem_statement),
            one("Problem", "Technical challenge", &p.technical_challenge),
            one("Problem", "Approach", &p.solution_approach),
            one("Problem", "Why now", &p.why_now),
            one("Credibility", "Founders", &c.founder_background),
            one("Credibility", "Team", &c.team_pedigree),
            one("Credibility", "Traction", &c.traction_metrics),
            one("Credibility", "Customers", &c.customer_status),
            one("Role", "Core responsibility", &r.core_responsibility),
            many("Role", "Day to day", &r.day_to_day_tasks),
            one("Role", "Impact", &r.impact_statement),
            many("Requirements", "Must have", &self.must_haves),
            many("Requirements", "Nice to have", &self.nice_to_haves),
            many("Interview", "Stages", &i.stages),
            many("Interview", "They will ask", &i.evaluation_criteria),
            many("Interview", "Prepare", &i.prep_needed),
            many("Red flags", "Red flags", &self.red_flags),
        ]
    }

    /// The briefing for a terminal: section headings, then "label: text"
    /// or a bulleted list; every line one clean line (model text is
    /// untrusted), gaps marked with `?`.
    pub fn terminal_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut section = "";
        for line in self.lines() {
            if line.section != section {
                section = line.section;
                if !out.is_empty() {
                    out.push(String::new());
                }
                out.push(section.to_string());
            }
            let mark = |item: &str| if is_gap(item) { "? " } else { "" };
            match line.items.as_slice() {
                [] if line.label == "Red flags" => out.push("  none named".into()),
                [] => out.push(format!("  ? {}: [RESEARCH NEEDED]", line.label)),
                [one] if line.label != "Red flags" => out.push(format!(
                    "  {}{}: {}",
                    mark(one),
                    line.label,
                    crate::text::terminal(one, MAX_ANSWER_TEXT)
                )),
                items => {
                    if line.label != section {
                        out.push(format!("  {}:", line.label));
                    }
                    for item in items {
                        out.push(format!(
                            "    • {}{}",
                            mark(item),
                            crate::text::terminal(item, MAX_ANSWER_TEXT)
                        ));
                    }
                }
            }
        }
        out
    }

    /// How many parts are `[RESEARCH NEEDED]` gaps, of how many.
    pub fn gaps(&self) -> (usize, usize) {
        let lines = self.lines();
        let gaps = lines
            .iter()
            .filter(|l| l.label != "Red flags" && l.is_gap())
            .count();
        (gaps, lines.len() - 1)
    }
}

/// A briefing as stored with its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBriefing {
    pub briefing: Briefing,
    pub model: String,
    pub prompt_version: String,
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_strict_and_inline() {
        for task in Task::ALL {
            let schema = task.schema();
            let text = schema.to_string();
            assert!(!text.contains("$ref"), "{task:?}: {text}");
            assert!(!text.contains("$defs"), "{task:?}: {text}");
            // Every object: all properties required, nothing else allowed.
            let mut stack = vec![&schema];
            while let Some(node) = stack.pop() {
                if let Some(props) = node.get("properties").and_then(Value::as_object) {
                    let required = node["required"].as_array().unwrap();
                    assert_eq!(required.len(), props.len(), "{task:?}: {node}");
                    assert_eq!(node["additionalProperties"], Value::Bool(false));
                }
                match node {
                    Value::Object(map) => stack.extend(map.values()),
                    Value::Array(items) => stack.extend(items),
                    _ => {}
                }
            }
        }
        let intel = Task::RoleIntel.schema();
        assert_eq!(
            intel["properties"]["location_confidence"]["enum"],
            serde_json::json!(["high", "medium", "low", null])
        );
    }

    #[test]
    fn prompts_have_versions_and_text() {
        for task in Task::ALL {
            let prompt = task.prompt();
            assert!(
                !prompt.version.is_empty() && prompt.version != "0",
                "{task:?}"
            );
            assert!(prompt.text.len() > 100, "{task:?}");
            assert!(!prompt.text.starts_with("version"), "{task:?}");
        }
    }

    #[test]
    fn cache_keys_change_with_every_part() {
        let base = cache_key(Task::RoleIntel, "m", "1", "text");
        assert_eq!(base.len(), 64);
        assert_eq!(base, cache_key(Task::RoleIntel, "m", "1", "text"));
        for other in [
            cache_key(Task::Briefing, "m", "1", "text"),
            cache_key(Task::RoleIntel, "m2", "1", "text"),
            cache_key(Task::RoleIntel, "m", "2", "text"),
            cache_key(Task::RoleIntel, "m", "1", "text2"),
            // The separator keeps "ab"+"c" apart from "a"+"bc".
            cache_key(Task::RoleIntel, "m1", "", "text"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn answers_are_read_strictly_and_bounded() {
        let long = "x".repeat(5000);
        let answer = serde_json::json!({
            "investors": [
                {"name": "Kleiner Perkins", "words": "Kleiner"},
                {"name": long, "words": ""},
                {"name": "\u{202e}evil", "words": "evil"},
                {"name": "", "words": "nothing named"}
            ],
            "angels": [], "funding_stage": null, "funding_amount": "$20M",
            "founder_background": null, "employee_count": 40, "growth_stage": null,
            "process_speed": "fast", "urgency_level": null, "runway_signal": null,
            "partnerships": [], "extracted_location": null, "location_confidence": "high",
            "positive_signals": [], "negative_signals": []
        });
        let read = Task::RoleIntel.read_answer(&answer.to_string()).unwrap();
        let intel: RoleIntel = serde_json::from_value(read).unwrap();
        assert_eq!(intel.investors[0].name, "Kleiner Perkins");
        assert_eq!(intel.investors[0].words, "Kleiner");
        assert_eq!(intel.investors[1].name.chars().count(), MAX_ANSWER_TEXT);
        assert_eq!(intel.investors[2].name, "evil");
        assert_eq!(
            intel.investors.len(),
            3,
            "a claim without a name is dropped"
        );
        // A confidence without a location means nothing.
        assert_eq!(intel.location_confidence, None);

        assert!(
            Task::RoleIntel
                .read_answer("Sure! {\"investors\": [")
                .is_err()
        );
        assert!(Task::RoleIntel.read_answer("{\"investors\": []}").is_err());
        let fenced = format!("```json\n{answer}\n```");
        assert!(Task::RoleIntel.read_answer(&fenced).is_ok());
        let excitement = |score: &str| {
            Task::CompanyExcitement.read_answer(&format!(
                "{{\"score\": {score}, \"reasoning\": \"r\", \"signals\": []}}"
            ))
        };
        assert!(excitement("0.734").is_ok());
        assert_eq!(excitement("0.734").unwrap()["score"], 0.73);
        assert!(excitement("1.5").is_err());
        assert!(excitement("-0.1").is_err());
        // Deeply nested junk is an error, not a stack overflow.
        let deep = "[".repeat(100_000);
        assert!(Task::Briefing.read_answer(&deep).is_err());
    }

    #[test]
    fn a_briefing_line_does_not_repeat_its_label() {
        assert_eq!(without_label("Must have", "Must: 5+ years"), "5+ years");
        assert_eq!(without_label("Must have", "must have: Rust"), "Rust");
        assert_eq!(
            without_label("Problem", "Problem: slow builds"),
            "slow builds"
        );
        assert_eq!(
            without_label("Stages", "Stage 1: phone screen"),
            "Stage 1: phone screen"
        );
        assert_eq!(without_label("Must have", "Rust: 3 years"), "Rust: 3 years");
        assert_eq!(without_label("Must have", "Must:"), "Must:");
    }

    #[test]
    fn briefing_gaps_are_counted() {
        let mut briefing = Briefing::default();
        briefing.problem.problem_statement = "Payments ledgers".into();
        briefing.problem.why_now = "[RESEARCH NEEDED: recent funding]".into();
        let (gaps, of) = briefing.gaps();
        assert_eq!(of, 16);
        assert_eq!(gaps, 15);
    }
}
