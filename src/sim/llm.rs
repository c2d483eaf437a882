//! The simulator's model: deterministic answers to the three chat-completion tasks, read from the input text alone.
//!
//! A real model is asked to read scraped text and answer JSON of a fixed
//! schema. This one reads the same text with plain rules, so tests know the
//! answer in advance: an investor written only as "Kleiner" comes back as
//! "Kleiner Perkins" (which a word list would miss), a fact the text does not
//! state comes back as `[RESEARCH NEEDED: ...]` (never invented), and hostile
//! input comes back as hostile output (so tests can check it is escaped).
//! Every function here is pure and total: the input is untrusted text.

use serde_json::{Value, json};

/// The tasks the model answers, as named in `response_format.json_schema.name`.
pub const TASKS: &[&str] = &["role_intel", "company_excitement", "briefing"];

/// Put into one string of every answer when the input is hostile, so that
/// tests can check model output is escaped wherever it is shown, and
/// cleaned of hidden and control characters (a bidi override, a zero-width
/// space, an isolate, an ANSI escape, BEL).
pub const HOSTILE_ANSWER: &str = "<script>alert(\"model\")</script><img src=x onerror=alert(1)>\u{202e}\u{200b}\u{2066}\u{1b}[31m\u{7}";

/// A model of this name reports `u64::MAX` prompt and completion tokens for
/// every answer (and a plausible cost): a provider whose counters broke.
pub const HUGE_TOKENS_MODEL: &str = "sim/huge-token-counts";

/// A model of this name reports a cost of 1e308 USD for every answer.
pub const HUGE_COST_MODEL: &str = "sim/huge-cost";

/// A model of this name costs $0.40 an answer: a dear model, for budgets.
pub const DEAR_MODEL: &str = "sim/forty-cents";

/// An answer's `usage`: the tokens counted and their `cost`, unless the
/// model is one of those whose usage is set.
pub(crate) fn usage(model: &str, prompt: u64, completion: u64, cost: f64) -> Value {
    let (prompt, completion, cost) = match model {
        HUGE_TOKENS_MODEL => (u64::MAX, u64::MAX, cost),
        HUGE_COST_MODEL => (prompt, completion, 1e308),
        DEAR_MODEL => (prompt, completion, 0.40),
        _ => (prompt, completion, cost),
    };
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt.saturating_add(completion),
        "cost": cost,
    })
}

/// What `Fault::InvalidAnswer` puts in the message content: a chatty model
/// that ignored the schema and ran out of tokens.
pub(crate) const INVALID_ANSWER: &str = "Sure! Here is the JSON: {\"investors\": [unterminated";

/// Only this much of the input is read, as a real model reads only its
/// context window: everything below is linear in at most this many bytes.
const MAX_INPUT_BYTES: usize = 512 * 1024;
/// No string of an answer is longer (a sentence copied from the input is cut).
const MAX_STRING_CHARS: usize = 400;
/// No list of an answer is longer.
const MAX_LIST_ITEMS: usize = 20;

/// The known investors: canonical name and the whole-word forms (any case)
/// that name it. Short forms are the point: "backed by Kleiner".
const INVESTORS: &[(&str, &[&str])] = &[
    ("Sequoia Capital", &["sequoia"]),
    ("Andreessen Horowitz", &["a16z", "andreessen"]),
    ("Kleiner Perkins", &["kleiner"]),
    ("Y Combinator", &["yc", "y combinator", "ycombinator"]),
    ("Thrive Capital", &["thrive"]),
    ("Benchmark", &["benchmark"]),
    ("Accel", &["accel"]),
    ("Greylock", &["greylock"]),
    ("General Catalyst", &["general catalyst"]),
    ("Lightspeed", &["lightspeed"]),
    ("Founders Fund", &["founders fund"]),
    ("Index Ventures", &["index ventures"]),
    ("Khosla Ventures", &["khosla"]),
    ("Spark Capital", &["spark capital"]),
    ("First Round Capital", &["first round capital"]),
    ("Lux Capital", &["lux capital"]),
];

/// Angel investors, reported as "<name> (angel investor)".
const ANGELS: &[&str] = &["Elad Gil", "Nat Friedman", "Daniel Gross", "Naval Ravikant"];

/// `Key: value` lines the input texts use.
const FIELDS: &[&str] = &[
    "Company",
    "Role",
    "Industries",
    "Investors",
    "Funding",
    "Stage",
    "Size",
    "Founded",
    "About",
    "Workplace",
    "Experience",
    "Interview stages",
    "Candidates interviewing",
];

/// `Heading:` lines that open a block.
const HEADINGS: &[&str] = &[
    "Company notes",
    "Selling points",
    "Description",
    "Requirements",
    "Screening questions",
];

/// Requirement kinds that make a must-have; `NICE_TO_HAVE` makes a nice-to-have.
const MUST_KINDS: &[&str] = &["DEALBREAKER", "REQUIRED", "MUST_HAVE"];

/// The answer to `task` for the input text (the first user message), as the
/// JSON the task's schema describes. `hostile` (the simulator's option) or a
/// `<script` in the input puts [`HOSTILE_ANSWER`] into the answer. The only
/// error is an unknown task.
pub fn answer(task: &str, input: &str, hostile: bool) -> Result<Value, String> {
    let input = prefix(input, MAX_INPUT_BYTES);
    let hostile = hostile || contains_ci(input, "<script");
    let text = Input::parse(input);
    match task {
        "role_intel" => Ok(role_intel(&text, hostile)),
        "company_excitement" => Ok(company_excitement(&text, hostile)),
        "briefing" => Ok(briefing(&text, hostile)),
        _ => Err(format!(
            "unknown task \"{}\": expected one of {}",
            cut(task, 100),
            TASKS.join(", ")
        )),
    }
}

/// An input text read into its `Key: value` fields and its blocks.
#[derive(Debug, Default)]
struct Input<'a> {
    fields: Vec<(&'static str, &'a str)>,
    blocks: Vec<(&'static str, Vec<&'a str>)>,
}

impl<'a> Input<'a> {
    /// A known `Heading:` line opens a block that runs to the next blank
    /// line. Outside a block, a known `Key: value` line is a field (the first
    /// one wins); any other line continues the last block, as a description
    /// with paragraphs does.
    fn parse(text: &'a str) -> Input<'a> {
        let mut input = Input::default();
        let mut open = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                open = false;
                continue;
            }
            if let Some(heading) = trimmed
                .strip_suffix(':')
                .and_then(|name| known(HEADINGS, name))
            {
                input.blocks.push((heading, Vec::new()));
                open = true;
                continue;
            }
            if !open
                && let Some((key, value)) = trimmed.split_once(':')
                && let Some(key) = known(FIELDS, key)
                && input.field(key).is_none()
                && !value.trim().is_empty()
            {
                input.fields.push((key, value.trim()));
                continue;
            }
            if let Some((_, lines)) = input.blocks.last_mut() {
                lines.push(trimmed);
            }
        }
        input
    }

    fn field(&self, key: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| *value)
    }

    /// The lines of every block under `heading`, in order.
    fn block(&self, heading: &str) -> Vec<&'a str> {
        self.blocks
            .iter()
            .filter(|(name, _)| *name == heading)
            .flat_map(|(_, lines)| lines.iter().copied())
            .collect()
    }

    /// The company's name, or `unnamed` when the text gives none.
    fn company(&self, unnamed: &str) -> String {
        self.field("Company")
            .map_or_else(|| unnamed.to_string(), |name| cut(name, 100))
    }
}

/// The canonical spelling of `name` in `known`, compared without case.
fn known(known: &[&'static str], name: &str) -> Option<&'static str> {
    let name = name.trim();
    known
        .iter()
        .copied()
        .find(|candidate| candidate.eq_ignore_ascii_case(name))
}

fn role_intel(input: &Input, hostile: bool) -> Value {
    let notes = input.block("Company notes");
    let points = input.block("Selling points");
    let lines: Vec<&str> = notes.iter().chain(&points).copied().collect();
    let text = lines.join("\n");
    let sentences = sentences(&lines);
    let words = words(&text);

    let location = location(&sentences);
    let mut positive: Vec<Value> = bullets(&points)
        .take(5)
        .map(|point| json!(cut(point, MAX_STRING_CHARS)))
        .collect();
    if hostile {
        positive.push(json!(HOSTILE_ANSWER));
    }
    let negative: Vec<String> = sentences
        .iter()
        .filter(|s| {
            ["layoff", "runway", "pivot"]
                .iter()
                .any(|w| contains_ci(s, w))
        })
        .take(5)
        .map(|s| cut(s, MAX_STRING_CHARS))
        .collect();
    let speed = (contains_ci(&text, "offer within") || contains_ci(&text, "fast process"))
        .then_some("fast");
    let urgency = (contains_ci(&text, "urgent")
        || find_phrase(&words, &["asap"]).is_some()
        || contains_ci(&text, "offer within"))
    .then_some("high");
    json!({
        "investors": named(
            investors(&words)
                .into_iter()
                .map(|(name, form)| (name.to_string(), form.to_string()))
        ),
        "angels": angels(&words),
        "funding_stage": funding_stage(&words),
        "funding_amount": funding_amount(&text),
        "founder_background": founder_sentence(&sentences),
        "employee_count": team_size(&text),
        "growth_stage": contains_ci(&text, "revenue tripled").then_some("scaling"),
        "process_speed": speed,
        "urgency_level": urgency,
        "runway_signal": first_with(&sentences, &["runway"]),
        "partnerships": [],
        "extracted_location": location.map(|(place, _)| place),
        "location_confidence": location.map(|(_, confidence)| confidence),
        "positive_signals": positive,
        "negative_signals": negative,
    })
}

fn company_excitement(input: &Input, hostile: bool) -> Value {
    let company = input.company("The company");
    let mut lines: Vec<&str> = input.field("Investors").into_iter().collect();
    lines.extend(input.block("Company notes"));
    let words = words(&lines.join("\n"));
    let investors: Vec<String> = investors(&words)
        .into_iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let revenue = input.fields.iter().any(|(_, v)| contains_ci(v, "revenue"))
        || input
            .blocks
            .iter()
            .flat_map(|(_, lines)| lines)
            .any(|line| contains_ci(line, "revenue"));

    let base = (0.55 + 0.10 * investors.len() as f64).min(0.85);
    let score = round_to(base + if revenue { 0.05 } else { 0.0 }, 2);
    let mut reasoning = if investors.is_empty() {
        format!("{company} names no investor from the well-known list.")
    } else {
        format!("{company} is backed by {}.", and_list(&investors))
    };
    if revenue {
        reasoning.push_str(" It reports revenue, a sign of traction.");
    }
    if hostile {
        reasoning.push(' ');
        reasoning.push_str(HOSTILE_ANSWER);
    }
    let mut signals: Vec<String> = investors.iter().map(|i| format!("backed by {i}")).collect();
    signals.extend(
        angel_names(&words)
            .iter()
            .map(|name| format!("angel {name}")),
    );
    if let Some(funding) = input.field("Funding") {
        signals.push(format!("raised {}", cut(funding, 40)));
    }
    if revenue {
        signals.push("reports revenue".to_string());
    }
    json!({"score": score, "reasoning": reasoning, "signals": signals})
}

fn briefing(input: &Input, hostile: bool) -> Value {
    let company = input.company("the company");
    let research = |what: &str| format!("[RESEARCH NEEDED: {what}]");
    let notes = input.block("Company notes");
    let points = input.block("Selling points");
    let description = input.block("Description");
    let note_sentences = sentences(&notes);
    let all_lines: Vec<&str> = notes
        .iter()
        .chain(&points)
        .chain(&description)
        .copied()
        .collect();
    let all_sentences = sentences(&all_lines);
    let or_research = |found: Option<String>, what: &str| found.unwrap_or_else(|| research(what));

    let duties: Vec<String> = bullets(&description)
        .take(5)
        .map(|duty| cut(duty, MAX_STRING_CHARS))
        .collect();
    let mut core = or_research(duties.first().cloned(), "the role's core responsibility");
    if hostile {
        core.push(' ');
        core.push_str(HOSTILE_ANSWER);
    }
    let mut tasks = duties.clone();
    while tasks.len() < 3 {
        tasks.push(research(&format!("day-to-day task {}", tasks.len() + 1)));
    }

    let (must, nice) = requirements(&input.block("Requirements"));
    let stages = match input.field("Interview stages").and_then(count) {
        Some(n) => format!("{n} stages: {}", research("what each stage covers")),
        None => research("the interview stages"),
    };
    let questions: Vec<String> = bullets(&input.block("Screening questions"))
        .take(MAX_LIST_ITEMS)
        .map(|q| format!("Prepare an answer to: {}", cut(q, MAX_STRING_CHARS)))
        .collect();
    let prep = if questions.is_empty() {
        vec![research("what the candidate should prepare")]
    } else {
        questions
    };
    let mut red_flags = Vec::new();
    if let Some(n) = input.field("Candidates interviewing").and_then(count)
        && n > 10
    {
        red_flags.push(format!(
            "{n} candidates already interviewing = strong competition"
        ));
    }
    if hostile {
        red_flags.push(HOSTILE_ANSWER.to_string());
    }
    let why_now = funding_amount(&all_lines.join("\n")).map_or_else(
        || research("why this matters now"),
        |a| format!("Recently raised {a}"),
    );

    json!({
        "problem": {
            "problem_statement": research(&format!("what problem {company} solves")),
            "technical_challenge": research("the hardest technical problem"),
            "solution_approach": research(&format!("how {company} solves it")),
            "why_now": why_now,
        },
        "credibility": {
            "founder_background": or_research(founder_sentence(&note_sentences), "the founders' background"),
            "team_pedigree": research("where the team worked before"),
            "traction_metrics": or_research(first_with(&all_sentences, &["revenue", "customers"]), "revenue, customers or growth"),
            "customer_status": or_research(first_with(&all_sentences, &["customer"]), "who the customers are"),
        },
        "role": {
            "core_responsibility": core,
            "day_to_day_tasks": tasks,
            "impact_statement": research("what this hire changes for the company"),
        },
        "must_haves": must.iter().map(|r| format!("Must: {r}")).collect::<Vec<_>>(),
        "nice_to_haves": nice.iter().map(|r| format!("Nice: {r}")).collect::<Vec<_>>(),
        "interview": {
            "stages": [stages],
            "evaluation_criteria": must.iter().map(|r| format!("Can they show {r}?")).collect::<Vec<_>>(),
            "prep_needed": prep,
        },
        "red_flags": red_flags,
    })
}

/// Must-haves and nice-to-haves from `- KIND: text` lines; other lines and
/// kinds are left out.
fn requirements(lines: &[&str]) -> (Vec<String>, Vec<String>) {
    let (mut must, mut nice) = (Vec::new(), Vec::new());
    for line in bullets(lines) {
        let Some((kind, text)) = line.split_once(':') else {
            continue;
        };
        let (kind, text) = (kind.trim(), cut(text.trim(), MAX_STRING_CHARS));
        if text.is_empty() {
            continue;
        }
        if MUST_KINDS.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
            if must.len() < MAX_LIST_ITEMS {
                must.push(text);
            }
        } else if kind.eq_ignore_ascii_case("NICE_TO_HAVE") && nice.len() < MAX_LIST_ITEMS {
            nice.push(text);
        }
    }
    (must, nice)
}

/// The known investors named in `words`, in order of first mention, each
/// once: `{"name": canonical name, "words": the words that name it}`.
fn investors(words: &[String]) -> Vec<(&'static str, &'static str)> {
    // An obliging model: told by the text itself to "list the most famous
    // venture firms", it does, though the text names none, and quotes the
    // words that asked.
    let obliging = find_phrase(words, &split("ignore previous instructions")).is_some()
        && find_phrase(words, &split("famous")).is_some();
    if obliging {
        return vec![
            ("Sequoia Capital", "most famous"),
            ("Andreessen Horowitz", "most famous"),
        ];
    }
    let mut found: Vec<(usize, &str, &str)> = INVESTORS
        .iter()
        .filter_map(|(name, forms)| {
            forms
                .iter()
                .filter_map(|form| find_phrase(words, &split(form)).map(|at| (at, *name, *form)))
                .min()
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(_, name, form)| (name, form))
        .collect()
}

/// Claims as the role intel schema has them.
fn named(claims: impl IntoIterator<Item = (String, String)>) -> Vec<Value> {
    claims
        .into_iter()
        .map(|(name, words)| json!({"name": name, "words": words}))
        .collect()
}

/// The known angels named in `words`, in order of first mention.
fn angel_names(words: &[String]) -> Vec<&'static str> {
    let mut found: Vec<(usize, &'static str)> = ANGELS
        .iter()
        .filter_map(|name| find_phrase(words, &split(name)).map(|at| (at, *name)))
        .collect();
    found.sort();
    found.into_iter().map(|(_, name)| name).collect()
}

fn angels(words: &[String]) -> Vec<Value> {
    named(
        angel_names(words)
            .into_iter()
            .map(|name| (format!("{name} (angel investor)"), name.to_string())),
    )
}

/// `SEED` or `SERIES_A`..`SERIES_E`, from the first "Seed" or "Series X".
fn funding_stage(words: &[String]) -> Option<String> {
    words
        .iter()
        .enumerate()
        .find_map(|(at, word)| match word.as_str() {
            "seed" => Some("SEED".to_string()),
            "series" => {
                let letter = words.get(at + 1)?;
                matches!(letter.as_str(), "a" | "b" | "c" | "d" | "e")
                    .then(|| format!("SERIES_{}", letter.to_ascii_uppercase()))
            }
            _ => None,
        })
}

/// The first `$<number><K|M|B>` token, as written ("$20M", "$1.5B").
fn funding_amount(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (start, _) in text.match_indices('$') {
        let mut end = start + 1;
        while end < bytes.len()
            && (bytes[end].is_ascii_digit() || bytes[end] == b'.' || bytes[end] == b',')
        {
            end += 1;
        }
        let number = &text[start + 1..end];
        let starts_with_digit = number.bytes().next().is_some_and(|b| b.is_ascii_digit());
        let suffix = bytes.get(end).copied();
        let after = bytes.get(end + 1).copied();
        if starts_with_digit
            && suffix.is_some_and(|b| matches!(b.to_ascii_uppercase(), b'K' | b'M' | b'B'))
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
        {
            // Everything from `start` to `end + 1` is ASCII.
            return Some(cut(text[start..=end].trim_end_matches([',', '.']), 40));
        }
    }
    None
}

/// N from the first "Team of N".
fn team_size(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("team of ").find_map(|(at, found)| {
        let digits: String = lower[at + found.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

/// The first sentence about the founders: "founder", "founded" (any case)
/// or "CTO" (as a word, in capitals: "director" is not a CTO).
fn founder_sentence(sentences: &[&str]) -> Option<String> {
    sentences
        .iter()
        .find(|s| {
            contains_ci(s, "founder")
                || contains_ci(s, "founded")
                || s.split(|c: char| !c.is_alphanumeric()).any(|w| w == "CTO")
        })
        .map(|s| cut(s, MAX_STRING_CHARS))
}

/// The place the text names first (New York, London, or else Remote) and
/// how sure that is: "high" when its sentence mentions an office.
fn location(sentences: &[&str]) -> Option<(&'static str, &'static str)> {
    let confidence = |sentence: &str| {
        if contains_ci(sentence, "office") {
            "high"
        } else {
            "medium"
        }
    };
    for sentence in sentences {
        let words = words(sentence);
        let cities = [
            (find_phrase(&words, &["new", "york"]), "New York"),
            (find_phrase(&words, &["nyc"]), "New York"),
            (find_phrase(&words, &["london"]), "London"),
        ];
        if let Some((_, city)) = cities
            .iter()
            .filter_map(|(at, city)| at.map(|at| (at, *city)))
            .min()
        {
            return Some((city, confidence(sentence)));
        }
    }
    sentences
        .iter()
        .find(|s| find_phrase(&words(s), &["remote"]).is_some())
        .map(|s| ("Remote", confidence(s)))
}

/// The first sentence containing any of `needles` (any case), cut.
fn first_with(sentences: &[&str], needles: &[&str]) -> Option<String> {
    sentences
        .iter()
        .find(|s| needles.iter().any(|n| contains_ci(s, n)))
        .map(|s| cut(s, MAX_STRING_CHARS))
}

/// Bullet lines ("- " or "• "), without their bullet.
fn bullets<'a>(lines: &[&'a str]) -> impl Iterator<Item = &'a str> {
    lines.iter().filter_map(|line| {
        let line = line.trim();
        line.strip_prefix("- ")
            .or_else(|| line.strip_prefix("• "))
            .map(str::trim)
            .filter(|text| !text.is_empty())
    })
}

/// The sentences of some lines: a line (its bullet removed) is split after
/// `.`, `!` or `?` followed by a space, so "$2.5M" stays whole.
fn sentences<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut all = Vec::new();
    for line in lines {
        let line = line.trim();
        let line = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("• "))
            .unwrap_or(line);
        let mut start = 0;
        let bytes = line.as_bytes();
        for (at, byte) in bytes.iter().enumerate() {
            if matches!(byte, b'.' | b'!' | b'?') && bytes.get(at + 1).is_none_or(|b| *b == b' ') {
                all.push(line[start..=at].trim());
                start = at + 1;
            }
        }
        all.push(line[start..].trim());
    }
    all.retain(|s| !s.is_empty());
    all
}

/// The lowercase alphanumeric words of a text, for whole-word matching.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of a name, as [`words`] reads them.
fn split(name: &str) -> Vec<String> {
    words(name)
}

/// Where the (lowercase) words of `phrase` first appear together in `words`.
fn find_phrase<P: AsRef<str>>(words: &[String], phrase: &[P]) -> Option<usize> {
    if phrase.is_empty() {
        return None;
    }
    words
        .windows(phrase.len())
        .position(|window| window.iter().zip(phrase).all(|(w, p)| w == p.as_ref()))
}

/// Whether `haystack` contains the ASCII `needle`, ignoring ASCII case.
fn contains_ci(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty()
        && haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
}

/// A count written as digits ("4", " 12 "); anything else is no count.
fn count(value: &str) -> Option<u64> {
    value.trim().parse().ok()
}

/// "A", "A and B", "A, B and C".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// At most `max` chars of `text`, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// At most `max` bytes of `text`, cut at a char boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE_INTEL: &str = "Company: Acme\nRole: Senior Backend Engineer\n\n\
Company notes:\n\
Backed by Sequoia; founders previously built payments infrastructure at a public fintech. Team of 40 in New York.\n\
Hybrid, three days a week in our London office.\n\n\
Selling points:\n\
- Series A, $20M raised\n\
- Fast process: offer within 2 weeks\n";

    const EXCITEMENT: &str = "Company: Acme\nIndustries: ai, fintech\nInvestors: Sequoia, Elad Gil\n\
Funding: $20M\nStage: SERIES_A\nSize: 40\nFounded: 2021\nAbout: Payments for robots\n\n\
Company notes:\nBacked by Kleiner and a16z. Revenue tripled last year.\n";

    const BRIEFING: &str = "Company: Acme\nRole: Senior Backend Engineer\nWorkplace: hybrid\n\
Experience: 5+ years building production software\nInterview stages: 4\nCandidates interviewing: 12\n\n\
Description:\nWhat you'll do\n• Own the payments ledger\n- Design the storage layer\n\n\
Requirements:\n- MUST_HAVE: 5+ years building backend services\n- DEALBREAKER: Lives in New York\n\
- NICE_TO_HAVE: Go or Python in production\n- OTHER: ignored\n\n\
Screening questions:\n- Why are you interested in this company?\n\n\
Company notes:\nThe CTO led the platform team at a large marketplace. Customers include three public companies.\n\n\
Selling points:\n- $12.5M raised from Benchmark\n";

    fn research(value: &Value) -> bool {
        value
            .as_str()
            .is_some_and(|s| s.starts_with("[RESEARCH NEEDED: ") && s.ends_with(']'))
    }

    #[test]
    fn role_intel_reads_the_example() {
        let answer = answer("role_intel", ROLE_INTEL, false).unwrap();
        assert_eq!(
            answer,
            json!({
                "investors": [{"name": "Sequoia Capital", "words": "sequoia"}],
                "angels": [],
                "funding_stage": "SERIES_A",
                "funding_amount": "$20M",
                "founder_background": "Backed by Sequoia; founders previously built payments infrastructure at a public fintech.",
                "employee_count": 40,
                "growth_stage": null,
                "process_speed": "fast",
                "urgency_level": "high",
                "runway_signal": null,
                "partnerships": [],
                "extracted_location": "New York",
                "location_confidence": "medium",
                "positive_signals": ["Series A, $20M raised", "Fast process: offer within 2 weeks"],
                "negative_signals": [],
            })
        );
    }

    #[test]
    fn short_forms_come_out_canonical_in_order_and_once() {
        let text = "Company notes:\nBacked by Kleiner, YC and Andreessen. Also a16z, Sequoia Capital China.\n\
Angels: Naval Ravikant and Elad Gil. The team uses benchmarks; a seedling is not a seed round.\n";
        let answer = answer("role_intel", text, false).unwrap();
        assert_eq!(
            answer["investors"],
            json!([
                {"name": "Kleiner Perkins", "words": "kleiner"},
                {"name": "Y Combinator", "words": "yc"},
                {"name": "Andreessen Horowitz", "words": "andreessen"},
                {"name": "Sequoia Capital", "words": "sequoia"}
            ])
        );
        assert_eq!(
            answer["angels"],
            json!([
                {"name": "Naval Ravikant (angel investor)", "words": "Naval Ravikant"},
                {"name": "Elad Gil (angel investor)", "words": "Elad Gil"}
            ])
        );
        assert_eq!(answer["funding_stage"], "SEED");
        // Lookalikes are not names: "Kleinert", "yconic", "Sequoias".
        let lookalikes = "Company notes:\nKleinert and yconic met Sequoias.\n";
        let answer = super::answer("role_intel", lookalikes, false).unwrap();
        assert_eq!(answer["investors"], json!([]));
    }

    #[test]
    fn role_intel_absent_facts_are_null_and_signals_are_read() {
        let answer = answer("role_intel", "", false).unwrap();
        for key in [
            "funding_stage",
            "funding_amount",
            "founder_background",
            "employee_count",
            "growth_stage",
            "process_speed",
            "urgency_level",
            "runway_signal",
            "extracted_location",
            "location_confidence",
        ] {
            assert!(answer[key].is_null(), "{key}");
        }
        let text = "Company notes:\nFully remote team in our virtual office. We have 18 months of runway after the layoffs.\n\
Revenue tripled. Hiring is urgent.\n\nSelling points:\n- a\n- b\n- c\n- d\n- e\n- f\n";
        let answer = super::answer("role_intel", text, false).unwrap();
        assert_eq!(answer["extracted_location"], "Remote");
        assert_eq!(answer["location_confidence"], "high");
        assert_eq!(
            answer["runway_signal"],
            "We have 18 months of runway after the layoffs."
        );
        assert_eq!(answer["negative_signals"], json!([answer["runway_signal"]]));
        assert_eq!(answer["growth_stage"], "scaling");
        assert_eq!(answer["urgency_level"], "high");
        assert!(answer["process_speed"].is_null());
        assert_eq!(answer["positive_signals"], json!(["a", "b", "c", "d", "e"]));
        let london = "Company notes:\nWe sit in London. Team of 1,200.\n";
        let answer = super::answer("role_intel", london, false).unwrap();
        assert_eq!(answer["extracted_location"], "London");
        assert_eq!(answer["location_confidence"], "medium");
        assert_eq!(answer["employee_count"], 1200);
    }

    #[test]
    fn excitement_scores_investors_and_revenue() {
        let answer = answer("company_excitement", EXCITEMENT, false).unwrap();
        // Sequoia, Kleiner Perkins, Andreessen Horowitz: capped at 0.85, plus revenue.
        assert_eq!(answer["score"], json!(0.9));
        assert_eq!(
            answer["reasoning"],
            "Acme is backed by Sequoia Capital, Kleiner Perkins and Andreessen Horowitz. \
It reports revenue, a sign of traction."
        );
        assert_eq!(
            answer["signals"],
            json!([
                "backed by Sequoia Capital",
                "backed by Kleiner Perkins",
                "backed by Andreessen Horowitz",
                "angel Elad Gil",
                "raised $20M",
                "reports revenue",
            ])
        );
        let one = answer_of(
            "company_excitement",
            "Company: Solo\nInvestors: Lux Capital\n",
        );
        assert_eq!(one["score"], json!(0.65));
        let none = answer_of("company_excitement", "");
        assert_eq!(none["score"], json!(0.55));
        assert_eq!(
            none["reasoning"],
            "The company names no investor from the well-known list."
        );
        assert_eq!(none["signals"], json!([]));
    }

    fn answer_of(task: &str, text: &str) -> Value {
        answer(task, text, false).unwrap()
    }

    #[test]
    fn briefing_quotes_the_text_and_marks_the_rest_research_needed() {
        let answer = answer_of("briefing", BRIEFING);
        assert_eq!(
            answer["role"]["core_responsibility"],
            "Own the payments ledger"
        );
        assert_eq!(
            answer["role"]["day_to_day_tasks"],
            json!([
                "Own the payments ledger",
                "Design the storage layer",
                "[RESEARCH NEEDED: day-to-day task 3]"
            ])
        );
        assert_eq!(
            answer["must_haves"],
            json!([
                "Must: 5+ years building backend services",
                "Must: Lives in New York"
            ])
        );
        assert_eq!(
            answer["nice_to_haves"],
            json!(["Nice: Go or Python in production"])
        );
        assert_eq!(
            answer["interview"]["evaluation_criteria"],
            json!([
                "Can they show 5+ years building backend services?",
                "Can they show Lives in New York?"
            ])
        );
        assert_eq!(
            answer["interview"]["stages"],
            json!(["4 stages: [RESEARCH NEEDED: what each stage covers]"])
        );
        assert_eq!(
            answer["interview"]["prep_needed"],
            json!(["Prepare an answer to: Why are you interested in this company?"])
        );
        assert_eq!(
            answer["credibility"]["founder_background"],
            "The CTO led the platform team at a large marketplace."
        );
        assert_eq!(
            answer["credibility"]["traction_metrics"],
            "Customers include three public companies."
        );
        assert_eq!(answer["problem"]["why_now"], "Recently raised $12.5M");
        assert_eq!(
            answer["red_flags"],
            json!(["12 candidates already interviewing = strong competition"])
        );
        for unsaid in [
            &answer["problem"]["problem_statement"],
            &answer["problem"]["technical_challenge"],
            &answer["credibility"]["team_pedigree"],
            &answer["role"]["impact_statement"],
        ] {
            assert!(research(unsaid), "{unsaid}");
        }
    }

    #[test]
    fn an_empty_briefing_invents_nothing() {
        let answer = answer_of("briefing", "Company: Acme\nCandidates interviewing: 10\n");
        for section in ["problem", "credibility"] {
            for (key, value) in answer[section].as_object().unwrap() {
                assert!(research(value), "{section}.{key}: {value}");
            }
        }
        assert!(research(&answer["role"]["core_responsibility"]));
        let tasks = answer["role"]["day_to_day_tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 3);
        assert!(tasks.iter().all(research));
        assert_eq!(answer["must_haves"], json!([]));
        assert_eq!(answer["nice_to_haves"], json!([]));
        assert!(research(&answer["interview"]["stages"][0]));
        assert_eq!(answer["interview"]["evaluation_criteria"], json!([]));
        assert_eq!(answer["red_flags"], json!([]));
        assert!(
            answer["problem"]["problem_statement"]
                .as_str()
                .unwrap()
                .contains("Acme")
        );
    }

    #[test]
    fn hostile_input_or_option_puts_markup_into_every_answer() {
        for task in TASKS {
            let calm = answer(task, BRIEFING, false).unwrap().to_string();
            assert!(!calm.contains("<script"), "{task}");
            for (text, option) in [
                (BRIEFING, true),
                ("Company notes:\n<SCRIPT>x</SCRIPT>\n", false),
            ] {
                let answer = answer(task, text, option).unwrap();
                let where_ = match *task {
                    "role_intel" => answer["positive_signals"]
                        .as_array()
                        .unwrap()
                        .last()
                        .cloned(),
                    "company_excitement" => Some(answer["reasoning"].clone()),
                    _ => {
                        assert_eq!(
                            answer["red_flags"].as_array().unwrap().last().unwrap(),
                            HOSTILE_ANSWER
                        );
                        Some(answer["role"]["core_responsibility"].clone())
                    }
                };
                let text = where_.unwrap();
                assert!(
                    text.as_str().unwrap().ends_with(HOSTILE_ANSWER),
                    "{task}: {text}"
                );
            }
        }
    }

    #[test]
    fn blocks_end_at_blank_lines_and_fields_are_first_wins() {
        let text = "Company: First\nCompany: Second\nNot a field: x\n\nDescription:\n- one\nRole: in the block\n\n\
- after a paragraph break\nCompany: Third\n\nRequirements:\n- MUST_HAVE: a\n\nrequirements:\n- must_have: b\n";
        let input = Input::parse(text);
        assert_eq!(input.field("Company"), Some("First"));
        assert_eq!(input.field("Role"), None);
        assert_eq!(
            input.block("Description"),
            vec![
                "- one",
                "Role: in the block",
                "- after a paragraph break",
                "Company: Third"
            ]
        );
        assert_eq!(requirements(&input.block("Requirements")).0, vec!["a", "b"]);
    }

    #[test]
    fn unknown_tasks_fail_and_nothing_panics() {
        let error = answer("summarize", "", false).unwrap_err();
        assert!(error.contains("role_intel"), "{error}");
        assert!(answer(&"x".repeat(10_000), "", false).unwrap_err().len() < 300);
        let nasty = [
            "$".to_string(),
            "$$$9".to_string(),
            "$1M".to_string(),
            "Team of 99999999999999999999999".to_string(),
            "Series".to_string(),
            "Company notes:\n- \n•\n-\n. . . !?".to_string(),
            "Interview stages: -3\nCandidates interviewing: 1e9".to_string(),
            "é".repeat(MAX_INPUT_BYTES),
            format!("Company notes:\n{}", "word. ".repeat(100_000)),
            "\u{0}\u{202e}:\r\n:\n".to_string(),
        ];
        for text in &nasty {
            for task in TASKS {
                let answer = answer(task, text, false).unwrap();
                assert!(answer.is_object());
                let longest = longest_string(&answer);
                assert!(longest <= MAX_STRING_CHARS + 200, "{task}: {longest}");
            }
        }
        assert_eq!(funding_amount("$1M"), Some("$1M".to_string()));
        assert_eq!(funding_amount("raised $2.5B."), Some("$2.5B".to_string()));
        assert_eq!(
            funding_amount("$200,000 salary, $10Million, $5k"),
            Some("$5k".to_string())
        );
        assert_eq!(funding_amount("$ 5M and $.5M"), None);
        assert_eq!(team_size("Team of 99999999999999999999999"), None);
        assert_eq!(prefix("éé", 3), "é");
        assert_eq!(cut("abcdef", 3), "abc…");
    }

    fn longest_string(value: &Value) -> usize {
        match value {
            Value::String(s) => s.chars().count(),
            Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
            Value::Object(map) => map.values().map(longest_string).max().unwrap_or(0),
            _ => 0,
        }
    }
}
