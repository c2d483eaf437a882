//! `changes --since`: what changed, one line per change as people say it
//! (`changes_lines`, pure), or the rows as JSON.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{open_existing, parse_since, write_lines};
use crate::config::Config;
use crate::rules::Lists;
use crate::store::ChangeRow;
use crate::text::terminal;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::ChangeKind;

    fn check(lines: Vec<String>, expected: &str) {
        assert_eq!(super::super::lines_text(&lines), expected);
    }

    #[test]
    fn changes_are_said_as_people_say_them_then_counted() {
        let change =
            |kind: ChangeKind, field: Option<&str>, old: Option<&str>, new: Option<&str>| {
                ChangeRow {
                    id: 1,
                    role_id: "paraform:a1".into(),
                    run_id: Some(2),
                    detected_at: "2025-12-19T08:00:00Z".into(),
                    kind,
                    field: field.map(str::to_string),
                    old_value: old.map(str::to_string),
                    new_value: new.map(str::to_string),
                    title: Some("Staff Engineer".into()),
                    company: Some("Acme".into()),
                }
            };
        let since = DateTime::parse_from_rfc3339("2025-12-18T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let lists = Lists::defaults();
        let rows = [
            change(ChangeKind::New, None, None, None),
            change(
                ChangeKind::SalaryIncrease,
                Some("salaryUpperBound"),
                Some("200000"),
                Some("210000"),
            ),
        ];
        let said = crate::vocab::terminal_line(
            &lists,
            ChangeKind::SalaryIncrease,
            Some("salaryUpperBound"),
            Some("200000"),
            Some("210000"),
        );
        // Kinds are padded to one column.
        check(
            changes_lines(&rows, &lists, since),
            &format!(
                "2025-12-19T08:00:00Z  NEW                Paraform  Acme — Staff Engineer\n\
                 2025-12-19T08:00:00Z  SALARY_INCREASE    Paraform  Acme — Staff Engineer{said}\n\
                 2 changes since 2025-12-18T08:00:00Z\n"
            ),
        );
        check(
            changes_lines(&rows[..1], &lists, since),
            "2025-12-19T08:00:00Z  NEW                Paraform  Acme — Staff Engineer\n\
             1 change since 2025-12-18T08:00:00Z\n",
        );
    }
}
