//! The roles in the terminal: `roles` (a table), `roles --history`,
//! `roles --explain` and `changes`. Each command reads the database, hands
//! what it read to a pure function that returns the lines people see, and
//! writes them; `--json` writes the rows as they are.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::{open_existing, parse_since, write_lines};
use crate::config::Config;
use crate::evaluate::Breakdown;
use crate::rules::Lists;
use crate::store::{CachedAnswer, ChangeRow, RoleExplained, RoleFilter, RoleHistory, RoleRow};
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

/// `changes --since`: oldest first.
pub fn changes(config: &Config, since: &str, json: bool) -> Result<ExitCode> {
    let since = parse_since(since, Utc::now())?;
    let db = open_existing(config)?;
    let changes = db.list_changes(since)?;
    if json {
        let mut out = std::io::stdout().lock();
        crate::text::write_json_list(&mut out, &changes)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let lists = config.rules()?.lists;
    write_lines(&changes_lines(&changes, &lists, since))?;
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
            let tier = if role.status == "gone" {
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
                            crate::site::model::UNREADABLE_SALARY.into()
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
        let sentences = |text: &Option<String>| -> Vec<String> {
            text.as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default()
        };
        StoredVerdict {
            reasons: sentences(&role.reasons),
            signals: sentences(&role.signals),
            breakdown: Breakdown::parse(role.score_breakdown.as_deref()),
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

/// `changes`: one line per change (when, kind, source, company — title,
/// and the values as people say them), then a count since `since`.
pub fn changes_lines(changes: &[ChangeRow], lists: &Lists, since: DateTime<Utc>) -> Vec<String> {
    let mut lines: Vec<String> = changes
        .iter()
        .map(|change| {
            let values = crate::vocab::terminal_line(
                lists,
                change.kind,
                change.field.as_deref(),
                change.old_value.as_deref(),
                change.new_value.as_deref(),
            );
            format!(
                "{}  {:<18} {:<9} {} — {}{}",
                change.detected_at,
                change.kind,
                crate::vocab::source_name(&change.role_id),
                terminal(change.company.as_deref().unwrap_or("-"), 30),
                terminal(change.title.as_deref().unwrap_or("-"), 50),
                values
            )
        })
        .collect();
    lines.push(format!(
        "{} change{} since {}",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        crate::role::timestamp(since)
    ));
    lines
}
