//! The roles in the terminal: `roles` (a table), `roles --history` and
//! `roles --explain`. Each command reads the database, hands
//! what it read to a pure function that returns the lines people see, and
//! writes them; `--json` writes the rows as they are.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::{open_existing, write_lines};
use crate::config::Config;
use crate::evaluate::Breakdown;
use crate::store::{CachedAnswer, RoleExplained, RoleFilter, RoleHistory, RoleRow};
use crate::text::terminal;

/// `roles`: a table for people, or JSON.
pub fn roles(config: &Config, filter: RoleFilter, json: bool) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let roles = db.list_roles(&filter)?;
    if json {
        let mut out = std::io::stdout().lock();
        crate::text::write_json_list(&mut out, &roles)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    write_lines(&roles_table(&roles))?;
    Ok(ExitCode::SUCCESS)
}

/// `roles --history ID`: one line per version (when, run, the top-level
/// fields it changed), or with `--json` every version with its full JSON.
pub fn history(config: &Config, id: &str, json: bool) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let Some(history) = db.role_history(id)? else {
        bail!("no role with id {id:?}; `air-demand roles --all` lists them");
    };
    if json {
        let mut out = std::io::stdout().lock();
        crate::text::write_json_list(&mut out, &history.versions)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    write_lines(&history_lines(&history))?;
    Ok(ExitCode::SUCCESS)
}

/// `roles --explain ID`: the stored verdict, every reason and component.
pub fn explain(config: &Config, id: &str, json: bool) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let Some(role) = db.explain_role(id)? else {
        bail!("no role with id {id:?}; `air-demand roles --all` lists them");
    };
    if json {
        let verdict = StoredVerdict::of(&role);
        let value = serde_json::json!({
            "role": role.role, "reasons": verdict.reasons, "signals": verdict.signals,
            "score_breakdown": verdict.breakdown, "company_notes": role.company_notes,
            "detail_fetched_at": role.detail_fetched_at,
        });
        let mut out = std::io::stdout().lock();
        out.write_all(crate::text::json_pretty(&value)?.as_bytes())?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    // A role not evaluated yet shows no verdict, so its model intel is not read.
    let intel = match role.role.tier {
        Some(_) => db.role_intel_answer(&role.role.id)?,
        None => None,
    };
    write_lines(&explain_lines(&role, intel.as_ref()))?;
    Ok(ExitCode::SUCCESS)
}

/// The `roles` table: a header, one row per role, each column as wide as
/// its widest cell, and a count.
pub fn roles_table(roles: &[RoleRow]) -> Vec<String> {
    const HEADERS: [&str; 8] = [
        "TIER", "SCORE", "FEE", "SALARY", "TREND", "COMPANY", "TITLE", "ID",
    ];
    const RIGHT_ALIGNED: [bool; 8] = [false, true, true, true, false, false, false, false];
    let dash = || "-".to_string();
    let rows: Vec<[String; 8]> = roles
        .iter()
        .map(|role| {
            let tier = if role.status == crate::store::RoleStatus::Gone {
                "gone".to_string()
            } else {
                role.tier.map(|t| t.to_string()).unwrap_or_else(dash)
            };
            [
                tier,
                role.combined_score
                    .map(|s| format!("{s:.2}"))
                    .unwrap_or_else(dash),
                role.fee_percent
                    .map(|f| format!("{f}%"))
                    .unwrap_or_else(dash),
                role.salary_max
                    .map(|s| {
                        if crate::role::plausible_salary(s as f64) {
                            format!("${}K", s / 1000)
                        } else {
                            crate::views::UNREADABLE_SALARY.into()
                        }
                    })
                    .unwrap_or_else(dash),
                role.trend.map(|t| t.to_string()).unwrap_or_else(dash),
                terminal(role.company.as_deref().unwrap_or("-"), 24),
                terminal(role.title.as_deref().unwrap_or("-"), 40),
                terminal(&role.id, 60),
            ]
        })
        .collect();
    // Each column as wide as its widest cell, so every value sits under its header.
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = HEADERS.map(str::to_string);
    let mut lines = Vec::with_capacity(rows.len() + 2);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[column] - cell.chars().count());
            let last = column == HEADERS.len() - 1;
            match (RIGHT_ALIGNED[column], last) {
                (true, _) => line.push_str(&format!("{pad}{cell}  ")),
                (false, false) => line.push_str(&format!("{cell}{pad}  ")),
                (false, true) => line.push_str(cell),
            }
        }
        lines.push(line);
    }
    lines.push(format!(
        "{} role{}",
        roles.len(),
        if roles.len() == 1 { "" } else { "s" }
    ));
    lines
}

/// `roles --history`: the role, then one line per version: when, which
/// run, which top-level fields it changed.
pub fn history_lines(history: &RoleHistory) -> Vec<String> {
    let text = |t: &Option<String>| terminal(t.as_deref().unwrap_or("-"), 200);
    let count = history.versions.len();
    let plural = if count == 1 { "" } else { "s" };
    let mut lines = vec![
        format!("{} — {}", text(&history.company), text(&history.title)),
        format!("{}  ({count} version{plural})", history.id),
    ];
    for (index, version) in history.versions.iter().enumerate() {
        let what = match (index, version.changed.as_slice()) {
            (0, _) => "first seen".to_string(),
            (_, []) => "no field changed".to_string(),
            (_, fields) => {
                let names: Vec<String> = fields.iter().map(|f| terminal(f, 60)).collect();
                terminal(&names.join(", "), 200)
            }
        };
        lines.push(format!(
            "{}  run {:<5} {what}",
            terminal(&version.observed_at, 40),
            version.run_id
        ));
    }
    lines
}

/// A role's stored verdict as read back: lists of sentences (an unreadable
/// one reads as empty) and the score breakdown.
struct StoredVerdict {
    reasons: Vec<String>,
    signals: Vec<String>,
    breakdown: Option<Breakdown>,
}

impl StoredVerdict {
    fn of(role: &RoleExplained) -> StoredVerdict {
        StoredVerdict {
            reasons: role.reasons.clone(),
            signals: role.signals.clone(),
            breakdown: role.breakdown.clone(),
        }
    }
}

/// `roles --explain`: the role, its tier with every reason and signal, the
/// scores with their components, and what a model contributed (`intel`:
/// the role's stored model answer, if any).
pub fn explain_lines(role: &RoleExplained, intel: Option<&CachedAnswer>) -> Vec<String> {
    let verdict = StoredVerdict::of(role);
    let r = &role.role;
    let text = |t: &Option<String>| terminal(t.as_deref().unwrap_or("-"), 200);
    let mut lines = vec![
        format!("{} — {}", text(&r.company), text(&r.title)),
        format!(
            "{}  ({}{})",
            r.id,
            r.status,
            r.gone_at
                .as_ref()
                .map(|g| format!(" since {g}"))
                .unwrap_or_default()
        ),
        text(&r.url),
        String::new(),
    ];
    let Some(tier) = &r.tier else {
        lines.push("not evaluated yet: run `air-demand requalify`".into());
        return lines;
    };
    lines.push(format!(
        "Tier {tier}{}",
        r.trend
            .as_ref()
            .map(|t| format!(", trend {t}"))
            .unwrap_or_default()
    ));
    for reason in &verdict.reasons {
        lines.push(format!("  {}", terminal(reason, 200)));
    }
    if !verdict.signals.is_empty() {
        lines.push("Signals".into());
        for signal in &verdict.signals {
            lines.push(format!("  • {}", terminal(signal, 200)));
        }
    }
    let score = |v: Option<f64>| v.map(|s| format!("{s:.2}")).unwrap_or_else(|| "-".into());
    lines.push(format!(
        "Scores: combined {} (engineer {}, headhunter {}); excitement {}",
        score(r.combined_score),
        score(role.engineer_score),
        score(role.headhunter_score),
        score(role.excitement_score)
    ));
    let breakdown = verdict.breakdown.unwrap_or_default();
    for (name, score) in breakdown.scores() {
        lines.push(format!("  {name} {}", score.value));
        for c in &score.components {
            lines.push(format!(
                "    {} {:<22} {:<6} {}",
                c.weight_label(),
                terminal(&c.name, 40),
                c.value,
                terminal(&crate::text::short_numbers(&c.detail), 120)
            ));
        }
    }
    if !breakdown.defaulted.is_empty() {
        lines.push("Defaulted inputs".into());
        for input in &breakdown.defaulted {
            lines.push(format!("  • {}", terminal(input, 200)));
        }
    }
    if let Some(notes) = &role.company_notes {
        lines.push(format!("Company notes: {}", terminal(notes, 300)));
    }
    // What a model contributed, apart from the rules' verdict.
    if let Some(model) = breakdown
        .excitement
        .components
        .iter()
        .find(|c| c.name == "model")
    {
        lines.push(format!(
            "Excitement (model): {}",
            terminal(&model.detail, 800)
        ));
    }
    if let Some(answer) = intel
        && let Some(facts) = answer
            .answer
            .as_deref()
            .and_then(|a| serde_json::from_str::<crate::llm::RoleIntel>(a).ok())
    {
        lines.push(format!(
            "Model intel ({}, from the company notes and selling points, {})",
            terminal(&answer.model, 80),
            answer.created_at
        ));
        for (label, value) in facts.facts() {
            lines.push(format!("  {label}: {}", terminal(&value, 300)));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{Component, Score, Tier, Trend};
    use crate::store::VersionJson;

    /// The lines as the terminal shows them.
    fn check(lines: Vec<String>, expected: &str) {
        assert_eq!(super::super::lines_text(&lines), expected);
    }

    fn row(id: &str, company: &str, title: &str) -> RoleRow {
        RoleRow {
            title: Some(title.into()),
            company: Some(company.into()),
            url: Some(format!("https://www.paraform.com/{id}")),
            first_seen_at: "2025-12-01T08:00:00Z".into(),
            last_seen_at: "2025-12-19T08:00:00Z".into(),
            ..RoleRow::sample(id)
        }
    }

    #[test]
    fn roles_table_aligns_every_column_under_its_header() {
        let best = RoleRow {
            tier: Some(Tier::Qualified),
            combined_score: Some(0.8125),
            fee_percent: Some(20.0),
            salary_max: Some(210_000),
            trend: Some(Trend::Surging),
            ..row("paraform:a1", "Acme", "Staff Engineer")
        };
        let absurd = RoleRow {
            tier: Some(Tier::Skip),
            salary_max: Some(50_000_000),
            ..row("paraform:b2", "Beta\u{202e}Corp", "Engineer\nII")
        };
        let gone = RoleRow {
            status: crate::store::RoleStatus::Gone,
            tier: Some(Tier::Maybe),
            ..row("paraform:c3", "Gamma", "CTO")
        };
        check(
            roles_table(&[best, absurd, gone]),
            "TIER       SCORE  FEE      SALARY  TREND    COMPANY   TITLE           ID\n\
             QUALIFIED   0.81  20%       $210K  surging  Acme      Staff Engineer  paraform:a1\n\
             SKIP           -    -  unreadable  -        BetaCorp  Engineer II     paraform:b2\n\
             gone           -    -           -  -        Gamma     CTO             paraform:c3\n\
             3 roles\n",
        );
        check(
            roles_table(&[]),
            "TIER  SCORE  FEE  SALARY  TREND  COMPANY  TITLE  ID\n0 roles\n",
        );
    }

    fn version(run_id: i64, changed: &[&str]) -> VersionJson {
        VersionJson {
            id: run_id,
            run_id,
            observed_at: format!("2025-12-0{run_id}T08:00:00Z"),
            content_hash: String::new(),
            changed: changed.iter().map(|f| f.to_string()).collect(),
            keyframe: false,
            raw: serde_json::Value::Null,
        }
    }

    #[test]
    fn history_says_what_each_version_changed() {
        let history = RoleHistory {
            id: "paraform:a1".into(),
            title: Some("Staff Engineer".into()),
            company: None,
            versions: vec![
                version(1, &["salary"]),
                version(2, &[]),
                version(3, &["salaryUpperBound", "status"]),
            ],
        };
        check(
            history_lines(&history),
            "- — Staff Engineer\n\
             paraform:a1  (3 versions)\n\
             2025-12-01T08:00:00Z  run 1     first seen\n\
             2025-12-02T08:00:00Z  run 2     no field changed\n\
             2025-12-03T08:00:00Z  run 3     salaryUpperBound, status\n",
        );
        let one = RoleHistory {
            versions: vec![version(1, &[])],
            ..history
        };
        assert!(history_lines(&one)[1].ends_with("(1 version)"));
    }

    fn explained(role: RoleRow) -> RoleExplained {
        RoleExplained {
            role,
            engineer_score: None,
            headhunter_score: None,
            excitement_score: None,
            reasons: Vec::new(),
            signals: Vec::new(),
            breakdown: None,
            company_notes: None,
            detail_fetched_at: None,
        }
    }

    #[test]
    fn explain_of_a_role_not_evaluated_says_how_to_evaluate_it() {
        let role = explained(RoleRow {
            status: crate::store::RoleStatus::Gone,
            gone_at: Some("2025-12-18T08:00:00Z".into()),
            url: None,
            ..row("paraform:a1", "Acme", "Staff Engineer")
        });
        check(
            explain_lines(&role, None),
            "Acme — Staff Engineer\n\
             paraform:a1  (gone since 2025-12-18T08:00:00Z)\n\
             -\n\
             \n\
             not evaluated yet: run `air-demand requalify`\n",
        );
    }

    #[test]
    fn explain_shows_every_reason_score_and_what_the_model_said() {
        let component = |name: &str, weight: f64, value: f64, detail: &str| Component {
            name: name.into(),
            weight,
            value,
            detail: detail.into(),
        };
        let breakdown = Breakdown {
            engineer: Score {
                value: 0.7,
                components: vec![component("salary", 0.3, 0.9, "$210000 max")],
            },
            headhunter: Score {
                value: 0.6,
                components: vec![],
            },
            excitement: Score {
                value: 0.2,
                components: vec![component("model", 0.0, 0.2, "a strong seed round")],
            },
            combined: 0.65,
            defaulted: vec!["headcount: missing, 1".into()],
        };
        let role = RoleExplained {
            engineer_score: Some(0.7),
            headhunter_score: Some(0.6),
            excitement_score: None,
            reasons: vec!["Salary $210K clears the floor".into()],
            // Stored as "not json": the store reads it as none.
            signals: Vec::new(),
            breakdown: Some(breakdown),
            company_notes: Some("Seed, 12 people".into()),
            ..explained(RoleRow {
                tier: Some(Tier::Qualified),
                trend: Some(Trend::Hired),
                combined_score: Some(0.65),
                ..row("paraform:a1", "Acme", "Staff Engineer")
            })
        };
        let intel = crate::llm::RoleIntel {
            funding_stage: Some("Seed".into()),
            ..Default::default()
        };
        let answer = CachedAnswer {
            key: "k".into(),
            task: "role_intel".into(),
            model: "sim/model".into(),
            prompt_version: "1".into(),
            subject: None,
            answer: Some(serde_json::to_string(&intel).unwrap()),
            error: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_usd: 0.0,
            created_at: "2025-12-19T08:00:00Z".into(),
        };
        let lines = explain_lines(&role, Some(&answer));
        let facts: Vec<String> = intel
            .facts()
            .into_iter()
            .map(|(label, value)| format!("  {label}: {value}\n"))
            .collect();
        assert_eq!(facts.len(), 1, "{facts:?}");
        check(
            lines,
            &format!(
                "Acme — Staff Engineer\n\
                 paraform:a1  (active)\n\
                 https://www.paraform.com/paraform:a1\n\
                 \n\
                 Tier QUALIFIED, trend hired\n\
                 \x20 Salary $210K clears the floor\n\
                 Scores: combined 0.65 (engineer 0.70, headhunter 0.60); excitement -\n\
                 \x20 engineer 0.7\n\
                 \x20   0.30 × salary                 0.9    $210000 max\n\
                 \x20 headhunter 0.6\n\
                 \x20 excitement 0.2\n\
                 \x20   + model                  0.2    a strong seed round\n\
                 Defaulted inputs\n\
                 \x20 • headcount: missing, 1\n\
                 Company notes: Seed, 12 people\n\
                 Excitement (model): a strong seed round\n\
                 Model intel (sim/model, from the company notes and selling points, 2025-12-19T08:00:00Z)\n\
                 {}",
                facts.concat()
            ),
        );
    }
}
