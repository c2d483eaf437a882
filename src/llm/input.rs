//! What is sent to the model for each task: plain text built from a role's
//! list JSON and its detail, the same text for the same role (so the cache
//! key holds). Only what the task needs is sent, each block cut to a bound
//! (cost and prompt size stay bounded whatever was scraped). Nothing here
//! names a recruiter, a candidate or a secret: role and company facts only.

use serde_json::Value;

use crate::intel::{Intel, clean_text};
use crate::role::{number_at, strings_at, text_at, value_at};

/// Characters sent of any one block of text.
const MAX_BLOCK_CHARS: usize = 6_000;
/// Lines sent of any one list (requirements, questions).
const MAX_LIST_LINES: usize = 20;

/// The input of role intel: the company notes and selling points. `None`
/// when the detail has neither (nothing to read, nothing to pay for).
pub fn role_intel(raw: &Value, intel: &Intel) -> Option<String> {
    let notes = intel.company_notes.as_deref().unwrap_or_default();
    let points = intel.selling_points.as_deref().unwrap_or_default();
    if notes.trim().is_empty() && points.trim().is_empty() {
        return None;
    }
    let mut out = String::new();
    header(&mut out, raw);
    block(&mut out, "Company notes", notes);
    block(&mut out, "Selling points", &bulleted(points));
    Some(out.trim_end().to_string())
}

/// The input of company excitement: the company's facts from the listing,
/// the investors known (listed and model-read), and the company notes.
pub fn company_excitement(raw: &Value, intel: &Intel, investors: &[String]) -> String {
    let mut out = String::new();
    line(&mut out, "Company", text_at(raw, "company.name"));
    line(
        &mut out,
        "Industries",
        Some(strings_at(raw, "company.industries").join(", ")),
    );
    line(&mut out, "Investors", Some(investors.join(", ")));
    line(
        &mut out,
        "Funding",
        text_at(raw, "company.fundingAmount").or_else(|| text_at(raw, "funding")),
    );
    line(
        &mut out,
        "Stage",
        text_at(raw, "company.company_metadata.last_funding_round"),
    );
    line(&mut out, "Size", number(raw, "company.size"));
    line(&mut out, "Founded", number(raw, "company.foundingYear"));
    line(&mut out, "About", text_at(raw, "company.oneLiner"));
    out.push('\n');
    block(
        &mut out,
        "Company notes",
        intel.company_notes.as_deref().unwrap_or_default(),
    );
    out.trim_end().to_string()
}

/// What identifies a company's excitement answer: the facts the role lists
/// of its company, in a fixed order (set-like lists sorted), the name
/// normalised. A new funding round, stage or investor changes it.
pub fn company_facts(raw: &Value) -> String {
    let sorted = |path: &str| {
        let mut items: Vec<String> = strings_at(raw, path)
            .iter()
            .map(|s| s.trim().to_lowercase())
            .collect();
        items.sort();
        items.dedup();
        items.join(", ")
    };
    [
        crate::company::key(&text_at(raw, "company.name").unwrap_or_default()),
        text_at(raw, "company.fundingAmount")
            .or_else(|| text_at(raw, "funding"))
            .unwrap_or_default(),
        text_at(raw, "company.company_metadata.last_funding_round").unwrap_or_default(),
        sorted("investors"),
        sorted("company.industries"),
        number(raw, "company.size").unwrap_or_default(),
    ]
    .join("\n")
}

/// The input of a briefing: the role's description, requirements with
/// their priority, experience, workplace, screening questions, and the
/// company notes and selling points (from `role.getRoleByIdDetailed` and
/// the simple detail, merged).
pub fn briefing(raw: &Value, detail: &Value, intel: &Intel) -> String {
    let mut out = String::new();
    header_line(&mut out, raw);
    line(
        &mut out,
        "Workplace",
        text_at(detail, "workPlaceText")
            .or_else(|| text_at(raw, "workPlaceText"))
            .or_else(|| text_at(raw, "workplace_type")),
    );
    line(&mut out, "Experience", text_at(detail, "experience_info"));
    line(
        &mut out,
        "Interview stages",
        number(raw, "interview_stages"),
    );
    out.push('\n');
    block(
        &mut out,
        "Description",
        intel.description.as_deref().unwrap_or_default(),
    );
    let requirements: Vec<String> = intel
        .requirements
        .iter()
        .take(MAX_LIST_LINES)
        .map(|r| format!("- {}", crate::text::one_line(r)))
        .collect();
    block(&mut out, "Requirements", &requirements.join("\n"));
    let questions: Vec<String> = match value_at(detail, "role_question") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|q| text_at(q, "question").or_else(|| q.as_str().map(str::to_string)))
            .map(|q| format!("- {}", crate::text::one_line(&clean_text(&q))))
            .take(MAX_LIST_LINES)
            .collect(),
        _ => Vec::new(),
    };
    block(&mut out, "Screening questions", &questions.join("\n"));
    block(
        &mut out,
        "Company notes",
        intel.company_notes.as_deref().unwrap_or_default(),
    );
    block(
        &mut out,
        "Selling points",
        &bulleted(intel.selling_points.as_deref().unwrap_or_default()),
    );
    out.trim_end().to_string()
}

fn header(out: &mut String, raw: &Value) {
    header_line(out, raw);
    out.push('\n');
}

fn header_line(out: &mut String, raw: &Value) {
    line(out, "Company", text_at(raw, "company.name"));
    line(out, "Role", text_at(raw, "name"));
}

fn number(raw: &Value, path: &str) -> Option<String> {
    number_at(raw, path)
        .filter(|n| *n > 0.0)
        .map(crate::role::format_number)
}

/// `Key: value`, one clean line; nothing for an empty value.
fn line(out: &mut String, key: &str, value: Option<String>) {
    let Some(value) = value.map(|v| crate::text::cut(&crate::text::one_line(&v), 300)) else {
        return;
    };
    if value.is_empty() {
        return;
    }
    out.push_str(key);
    out.push_str(": ");
    out.push_str(&value);
    out.push('\n');
}

/// `Heading:` and the text's lines, then a blank line; nothing when empty.
fn block(out: &mut String, heading: &str, text: &str) {
    let text = crate::text::cut(crate::text::clean(text).trim(), MAX_BLOCK_CHARS);
    if text.is_empty() {
        return;
    }
    out.push_str(heading);
    out.push_str(":\n");
    out.push_str(&text);
    out.push_str("\n\n");
}

/// Clean text of a list ("• item" lines) as "- item" lines.
fn bulleted(text: &str) -> String {
    text.lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let item = l.trim_start_matches(['•', '-', '*']).trim();
            format!("- {item}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_facts_change_with_a_funding_round_not_with_order() {
        let role = |funding: &str, investors: serde_json::Value| {
            serde_json::json!({"company": {"name": "Acme, Inc.", "fundingAmount": funding,
                "industries": ["ai", "devtools"], "size": 40}, "investors": investors})
        };
        let base = company_facts(&role("$20M", serde_json::json!(["Sequoia", "Accel"])));
        assert_eq!(
            base,
            company_facts(&role("$20M", serde_json::json!(["accel", "Sequoia"])))
        );
        assert_ne!(
            base,
            company_facts(&role("$60M", serde_json::json!(["Sequoia", "Accel"])))
        );
        assert_ne!(
            base,
            company_facts(&role(
                "$20M",
                serde_json::json!(["Sequoia", "Accel", "Thrive"])
            ))
        );
    }
    use serde_json::json;

    fn role() -> Value {
        json!({"name": "Senior Backend Engineer", "company": {"name": "Acme", "industries": ["ai"],
            "fundingAmount": "$20M", "size": 40, "foundingYear": 0, "oneLiner": "Ledgers"},
            "interview_stages": 4, "workplace_type": "hybrid"})
    }

    #[test]
    fn role_intel_sends_the_notes_and_points_only() {
        let intel = Intel {
            company_notes: Some("Backed by Kleiner; team of 40.".into()),
            selling_points: Some("• Series A, $20M raised\n• Offer within 2 weeks".into()),
            description: Some("not sent".into()),
            ..Intel::default()
        };
        let text = role_intel(&role(), &intel).unwrap();
        assert_eq!(
            text,
            "Company: Acme\nRole: Senior Backend Engineer\n\nCompany notes:\nBacked by Kleiner; team of 40.\n\nSelling points:\n- Series A, $20M raised\n- Offer within 2 weeks"
        );
        assert!(role_intel(&role(), &Intel::default()).is_none());
    }

    #[test]
    fn excitement_leaves_out_unset_facts() {
        let text = company_excitement(&role(), &Intel::default(), &["Sequoia Capital".into()]);
        assert!(text.contains("Investors: Sequoia Capital\n"), "{text}");
        assert!(text.contains("Size: 40\n"), "{text}");
        // foundingYear 0 means "not set".
        assert!(!text.contains("Founded"), "{text}");
    }

    #[test]
    fn briefing_carries_requirements_with_their_priority() {
        let intel = Intel {
            description: Some("What you'll do\n• Own the ledger".into()),
            requirements: vec!["MUST_HAVE: 5+ years\nof Go".into()],
            ..Intel::default()
        };
        let detail = json!({"experience_info": "5+ years", "role_question": [{"question": "<b>Why</b> us?"}]});
        let text = briefing(&role(), &detail, &intel);
        assert!(text.contains("Workplace: hybrid\n"), "{text}");
        assert!(text.contains("Interview stages: 4\n"), "{text}");
        assert!(
            text.contains("Requirements:\n- MUST_HAVE: 5+ years of Go\n"),
            "{text}"
        );
        assert!(text.contains("Screening questions:\n- Why us?"), "{text}");
        // Bounded whatever was scraped.
        let huge = Intel {
            description: Some("x".repeat(100_000)),
            ..Intel::default()
        };
        assert!(briefing(&role(), &detail, &huge).len() < MAX_BLOCK_CHARS * 4 + 1000);
    }
}
