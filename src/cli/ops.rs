//! Operating the installation: `init`, `status`, `backup`, `export`,
//! `site`, `rules` and `requalify`. `status`'s text comes from pure
//! functions (`status_lines`, `unreadable_text`, `unusable_config_text`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use super::{ExportFormat, open_existing, write_lines, write_out};
use crate::config::{Config, DEFAULT_CONFIG_TOML, Env};
use crate::health::Health;
use crate::logs::Level;
use crate::store::Db;
use crate::text::terminal;

/// `init`: the commented default config, and the database it names.
pub fn init(config_path: &Path, force: bool) -> Result<ExitCode> {
    if config_path.exists() && !force {
        bail!(
            "{} already exists; use --force to overwrite it",
            config_path.display()
        );
    }
    if let Some(dir) = config_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(config_path, DEFAULT_CONFIG_TOML)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::load(config_path)?;
    let db = Db::open(&config.database_path())?;
    say!("wrote {}", config_path.display())?;
    say!(
        "database {} (schema version {})",
        config.database_path().display(),
        db.schema_version()?
    )?;
    say!("next: `air-demand session import FILE`, then `air-demand scrape`")?;
    Ok(ExitCode::SUCCESS)
}

/// `status`: exit 0 healthy, 1 degraded, 2 unhealthy (an unreadable database too).
pub fn status(config: &Config, env: &Env, json: bool) -> Result<ExitCode> {
    let path = config.database_path();
    let health = if !path.exists() {
        Err(anyhow::anyhow!("no database at {}", path.display()))
    } else {
        Db::open(&path).and_then(|db| {
            let health = crate::schedule::health(config, env, &db, Utc::now())?;
            // A damaged page can hide behind queries that never touch it.
            let check = db.quick_check().unwrap_or_else(|err| format!("{err:#}"));
            Ok(if check == "ok" {
                health
            } else {
                health.with_problem(crate::health::Level::Unhealthy, damaged(&check))
            })
        })
    };
    let health = match health {
        Ok(health) => health,
        Err(err) => {
            let damaged = crate::store::Problem::of(&err) == Some(crate::store::Problem::Damaged);
            write_out(&unreadable_text(&format!("{err:#}"), damaged, json))?;
            return Ok(ExitCode::from(2));
        }
    };
    let code = match health.status {
        crate::health::Level::Healthy => 0,
        crate::health::Level::Degraded => 1,
        crate::health::Level::Unhealthy => 2,
    };
    if json {
        say!("{}", crate::text::json_pretty(&health)?)?;
    } else {
        write_lines(&status_lines(&health))?;
    }
    Ok(ExitCode::from(code))
}

/// `status` for people: the level, each problem, then one line for each
/// part of the report.
pub fn status_lines(health: &Health) -> Vec<String> {
    let mut lines = vec![health.status.as_str().to_string()];
    for problem in &health.problems {
        lines.push(format!("  ! {}", terminal(problem, 200)));
    }
    lines.push(match &health.last_run {
        Some(run) => format!(
            "last run:    #{} {} {} ({:.1} h ago): {} seen, {} new, {} changed, {} gone, {} errors",
            run.id,
            run.status,
            run.started_at,
            health.last_run_age_hours.unwrap_or_default(),
            run.roles_seen,
            run.roles_new,
            run.roles_changed,
            run.roles_gone,
            run.errors.len()
        ),
        None => "last run:    none yet".into(),
    });
    lines.push(format!(
        "failed runs in a row: {}",
        health.consecutive_failed_scrapes
    ));
    lines.push(match &health.last_digest {
        Some(d) => format!(
            "last digest: {} {} ({:.1} h ago){}",
            d.status,
            d.created_at,
            health.last_digest_age_hours.unwrap_or_default(),
            d.error
                .as_deref()
                .map(|e| format!(": {}", terminal(e, 160)))
                .unwrap_or_default()
        ),
        None => "last digest: none yet".into(),
    });
    lines.push(format!("session:     {}", health.session.message));
    if let Some(note) = &health.paraform_fetch_note {
        lines.push(format!("paraform:    {note}"));
    }
    lines.push(format!(
        "database:    {} ({:.1} MB, schema version {}, {} active roles)",
        health.database.path,
        health.database.bytes as f64 / 1e6,
        health.database.schema_version,
        health.database.active_roles
    ));
    let llm = &health.llm;
    if llm.enabled || llm.total_calls > 0 {
        lines.push(format!(
            "model:       last run {} calls, {} tokens, ${:.4}; in all {} calls, ${:.4}{}",
            llm.last_run_calls,
            llm.last_run_tokens,
            llm.last_run_cost_usd,
            llm.total_calls,
            llm.total_cost_usd,
            if llm.enabled { "" } else { " ([llm] is off)" }
        ));
    }
    lines.push(format!(
        "next:        scrape {}, digest {}",
        health.next_scrape.as_deref().unwrap_or("not scheduled"),
        health.next_digest.as_deref().unwrap_or("not scheduled")
    ));
    lines
}

/// `status` when the database cannot be read (`error`: why, as one line;
/// `damaged`: SQLite found a damaged page, see `store::Problem`):
/// unhealthy, as text or as JSON.
pub fn unreadable_text(error: &str, damaged_file: bool, json: bool) -> String {
    // A damaged page that status's own queries hit, not only the check.
    let problem = if damaged_file {
        damaged(error)
    } else {
        format!("database unreadable: {error}")
    };
    if json {
        format!("{}\n", unhealthy_json(&problem))
    } else {
        format!("unhealthy\n  ! {problem}\n")
    }
}

/// `status` when the config cannot be used (`problem`: one sentence):
/// unhealthy, as text or as JSON.
pub fn unusable_config_text(problem: &str, json: bool) -> String {
    if json {
        format!("{}\n", unhealthy_json(problem))
    } else {
        format!("unhealthy: {problem}\n")
    }
}

/// The JSON `status --json` prints when there is no report to give.
fn unhealthy_json(problem: &str) -> serde_json::Value {
    serde_json::json!({"status": "unhealthy", "problems": [problem]})
}

/// The problem of a damaged database, with what SQLite said of it.
fn damaged(said: &str) -> String {
    format!(
        "the database is damaged ({}): restore the latest backup (air-demand backup) or ask sqlite3 .recover",
        terminal(said, 200)
    )
}

/// `backup PATH`: online backup to a temporary file beside PATH, checked
/// with `PRAGMA integrity_check`, then renamed into place.
pub fn backup(config: &Config, path: &Path, force: bool) -> Result<ExitCode> {
    if path.exists() && !force {
        bail!(
            "{} already exists; use --force to replace it",
            path.display()
        );
    }
    let db = open_existing(config)?;
    let tmp = PathBuf::from(format!("{}.partial", path.display()));
    remove_partial(&tmp);
    let copied = db
        .backup_to(&tmp)
        .and_then(|()| Db::integrity_check(&tmp))
        .and_then(|check| {
            anyhow::ensure!(
                check == "ok",
                "the copy failed its integrity check ({check}); nothing was written to {}",
                path.display()
            );
            std::fs::rename(&tmp, path)
                .with_context(|| format!("moving the backup to {}", path.display()))
        });
    // Only the copy stays: no temporary file or SQLite side file, whatever happened.
    remove_partial(&tmp);
    copied?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    say!(
        "backup written to {} ({:.1} MB), integrity ok",
        path.display(),
        bytes as f64 / 1e6
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Removes a temporary backup and the journal files SQLite may leave beside it.
fn remove_partial(tmp: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", tmp.display()));
    }
}

/// `export --format csv|json`: the active roles, as the site's roles.csv/json.
pub fn export(
    config: &Config,
    format: ExportFormat,
    out: Option<&Path>,
    force: bool,
) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let lists = config.rules()?.lists;
    let mut roles = crate::views::role_views(&db, &lists, Utc::now())?;
    roles.retain(|r| r.status == "active" && r.is_paraform());
    let text = match format {
        ExportFormat::Csv => crate::site::feeds::roles_csv(&roles),
        ExportFormat::Json => crate::site::feeds::roles_json(&roles)?,
    };
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
        }
        Some(path) => {
            if path.exists() && !force {
                bail!(
                    "{} already exists; use --force to replace it",
                    path.display()
                );
            }
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            crate::logs::line(
                Level::Info,
                &format!("exported {} roles to {}", roles.len(), path.display()),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `site`: rebuild the site from the database.
pub fn site(config: &Config, env: &Env) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let now = Utc::now();
    let health = crate::schedule::health(config, env, &db, now)?;
    let built = crate::site::build(config, &db, now, &health)?;
    say!("{}", built.summary_line())?;
    Ok(ExitCode::SUCCESS)
}

/// `rules`: the rules of this configuration, written out.
pub fn rules(config: &Config, config_path: &Path) -> Result<ExitCode> {
    let rules = config.rules()?;
    let source = if config_path.exists() {
        config_path.display().to_string()
    } else {
        "the built-in defaults".to_string()
    };
    let text = crate::evaluate::describe::describe(&rules, &source);
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `requalify`: every stored role against the current rules; prints the moves.
pub fn requalify(config: &Config) -> Result<ExitCode> {
    if !config.database_path().exists() {
        bail!(
            "no database at {}: run `air-demand scrape` first",
            config.database_path().display()
        );
    }
    let report = crate::assess::requalify(config, Utc::now())?;
    let moved: usize = report.moves.values().sum();
    say!(
        "requalified {} roles: {} verdicts updated, {moved} moved between tiers",
        report.evaluated,
        report.updated
    )?;
    for ((from, to), n) in &report.moves {
        say!("  {from} -> {to}: {n}")?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{DatabaseHealth, LlmHealth, SessionHealth, SessionState};
    use crate::store::{DigestRow, RunRow, RunStatus};

    fn check(lines: Vec<String>, expected: &str) {
        assert_eq!(super::super::lines_text(&lines), expected);
    }

    /// A healthy report of a database that has seen no run yet.
    fn fresh() -> Health {
        Health {
            status: crate::health::Level::Healthy,
            problems: vec![],
            checked_at: "2025-12-19T12:00:00Z".into(),
            last_run: None,
            last_run_age_hours: None,
            last_ok_run_at: None,
            consecutive_failed_scrapes: 0,
            last_digest: None,
            last_digest_age_hours: None,
            session: SessionHealth {
                state: SessionState::Ok,
                expires_at: None,
                days_left: Some(12),
                message: "Paraform session from data/session.json expires in 12 days".into(),
            },
            database: DatabaseHealth {
                path: "data/air-demand.db".into(),
                bytes: 1_234_567,
                schema_version: 13,
                active_roles: 0,
            },
            next_scrape: None,
            next_digest: None,
            llm: LlmHealth::default(),
            paraform_fetch: None,
            paraform_fetch_note: None,
        }
    }

    #[test]
    fn status_of_a_fresh_install() {
        check(
            status_lines(&fresh()),
            "healthy\n\
             last run:    none yet\n\
             failed runs in a row: 0\n\
             last digest: none yet\n\
             session:     Paraform session from data/session.json expires in 12 days\n\
             database:    data/air-demand.db (1.2 MB, schema version 13, 0 active roles)\n\
             next:        scrape not scheduled, digest not scheduled\n",
        );
    }

    #[test]
    fn status_with_runs_a_digest_problems_and_the_model() {
        let run = RunRow {
            id: 7,
            started_at: "2025-12-19T06:00:00Z".into(),
            finished_at: None,
            status: RunStatus::Partial,
            trigger: "schedule".into(),
            roles_seen: 614,
            roles_new: 3,
            roles_changed: 5,
            roles_gone: 1,
            roles_reappeared: 0,
            roles_qualified: 2,
            errors: vec!["one".into()],
            duration_ms: None,
            llm_calls: 0,
            llm_tokens: 0,
            llm_cost_usd: 0.0,
            llm_error: None,
            paraform_fetch: None,
        };
        let digest = DigestRow {
            id: 2,
            created_at: "2025-12-19T07:00:00Z".into(),
            sent_at: None,
            status: crate::store::DigestStatus::Failed,
            transport: "smtp".into(),
            recipients: "[]".into(),
            subject: "digest".into(),
            role_count: 0,
            error: Some("connection\nrefused".into()),
            period: None,
            message_id: None,
            last_change_id: None,
        };
        let health = Health {
            status: crate::health::Level::Degraded,
            problems: vec!["the last digest failed\u{200b}".into()],
            last_run: Some(run),
            last_run_age_hours: Some(6.04),
            consecutive_failed_scrapes: 2,
            last_digest: Some(digest),
            last_digest_age_hours: Some(5.0),
            next_scrape: Some("2025-12-19T18:00:00+00:00".into()),
            next_digest: Some("2025-12-20T07:00:00+00:00".into()),
            llm: LlmHealth {
                enabled: false,
                last_run_calls: 4,
                last_run_tokens: 1200,
                last_run_cost_usd: 0.0123,
                total_calls: 40,
                total_cost_usd: 0.5,
                ..LlmHealth::default()
            },
            paraform_fetch_note: Some("through the browser".into()),
            ..fresh()
        };
        check(
            status_lines(&health),
            "degraded\n\
             \x20 ! the last digest failed\n\
             last run:    #7 partial 2025-12-19T06:00:00Z (6.0 h ago): 614 seen, 3 new, 5 changed, 1 gone, 1 errors\n\
             failed runs in a row: 2\n\
             last digest: failed 2025-12-19T07:00:00Z (5.0 h ago): connection refused\n\
             session:     Paraform session from data/session.json expires in 12 days\n\
             paraform:    through the browser\n\
             database:    data/air-demand.db (1.2 MB, schema version 13, 0 active roles)\n\
             model:       last run 4 calls, 1200 tokens, $0.0123; in all 40 calls, $0.5000 ([llm] is off)\n\
             next:        scrape 2025-12-19T18:00:00+00:00, digest 2025-12-20T07:00:00+00:00\n",
        );
    }

    #[test]
    fn status_without_a_report_is_unhealthy_as_text_or_json() {
        assert_eq!(
            unreadable_text("no database at x.db", false, false),
            "unhealthy\n  ! database unreadable: no database at x.db\n"
        );
        assert_eq!(
            unreadable_text("database disk image is malformed", true, true),
            "{\"problems\":[\"the database is damaged (database disk image is malformed): restore the latest backup (air-demand backup) or ask sqlite3 .recover\"],\"status\":\"unhealthy\"}\n"
        );
        assert_eq!(
            unusable_config_text("the config cannot be used: bad", false),
            "unhealthy: the config cannot be used: bad\n"
        );
        assert_eq!(
            unusable_config_text("bad", true),
            "{\"problems\":[\"bad\"],\"status\":\"unhealthy\"}\n"
        );
    }
}
