//! The SQLite file: opening it (WAL, migrations), and every SQL statement the
//! program runs. Nothing outside this module speaks SQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::role::timestamp;
use crate::track::FieldChange;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The database: one connection, migrated on open.
pub struct Db {
    conn: Connection,
    path: Option<PathBuf>,
}

/// What the tracker and the evaluator need to know about a stored role.
#[derive(Debug, Clone)]
pub struct StoredRole {
    pub id: String,
    pub active: bool,
    pub content_hash: String,
    pub raw: String,
    /// The latest detail JSON, if a detail call ever succeeded.
    pub detail: Option<String>,
    pub evaluation: Option<Evaluation>,
}

/// Recent changes per role id: (kind, new value), oldest first.
pub type RecentChanges = HashMap<String, Vec<(String, Option<String>)>>;

/// A role's stored verdict, as written: equal values mean nothing to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub tier: String,
    pub combined_score: f64,
    pub engineer_score: f64,
    pub headhunter_score: f64,
    pub excitement_score: f64,
    /// JSON array of strings.
    pub reasons: String,
    /// JSON array of strings.
    pub signals: String,
    /// JSON object.
    pub score_breakdown: String,
    pub trend: Option<String>,
}

/// The clean text read from a detail payload, for its columns.
#[derive(Debug, Clone, Default)]
pub struct DetailWrite<'a> {
    pub detail: &'a str,
    pub company_notes: Option<&'a str>,
    pub selling_points: Option<&'a str>,
    pub description: Option<&'a str>,
    pub equity: Option<&'a str>,
    /// JSON array of strings.
    pub requirements: String,
}

/// Everything `roles --explain` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleExplained {
    pub role: RoleRow,
    pub engineer_score: Option<f64>,
    pub headhunter_score: Option<f64>,
    pub excitement_score: Option<f64>,
    pub reasons: Option<String>,
    pub signals: Option<String>,
    pub score_breakdown: Option<String>,
    pub company_notes: Option<String>,
    pub detail_fetched_at: Option<String>,
}

/// A role row as written by a scrape.
#[derive(Debug, Clone)]
pub struct RoleWrite<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub external_id: &'a str,
    pub columns: &'a crate::role::RoleColumns,
    pub content_hash: &'a str,
    pub raw: &'a str,
}

/// Final numbers of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunCounts {
    pub seen: u64,
    pub new: u64,
    pub changed: u64,
    pub gone: u64,
    pub reappeared: u64,
    pub qualified: u64,
    pub requests: u64,
}

/// A row of `runs`, for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub trigger: String,
    pub roles_seen: i64,
    pub roles_new: i64,
    pub roles_changed: i64,
    pub roles_gone: i64,
    pub roles_reappeared: i64,
    pub roles_qualified: i64,
    pub errors: Vec<String>,
    pub duration_ms: Option<i64>,
}

/// A role as listed by `roles`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleRow {
    pub id: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub url: Option<String>,
    pub status: String,
    pub tier: Option<String>,
    pub combined_score: Option<f64>,
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    pub fee_percent: Option<f64>,
    pub posted_at: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub gone_at: Option<String>,
    pub trend: Option<String>,
}

/// Everything the site shows of a role.
#[derive(Debug, Clone)]
pub struct SiteRole {
    pub row: RoleRow,
    pub engineer_score: Option<f64>,
    pub headhunter_score: Option<f64>,
    pub excitement_score: Option<f64>,
    pub raw: String,
    pub detail: Option<String>,
    pub reasons: Option<String>,
    pub signals: Option<String>,
    pub score_breakdown: Option<String>,
    pub last_changed_at: String,
}

/// A version of a role, without its JSON.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub id: i64,
    pub run_id: i64,
    pub observed_at: String,
}

/// A row of `digests`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DigestRow {
    pub id: i64,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// `sending`, `sent`, `failed`.
    pub status: String,
    pub transport: String,
    pub recipients: String,
    pub subject: String,
    pub role_count: i64,
    pub error: Option<String>,
    pub period: Option<String>,
    pub message_id: Option<String>,
    pub last_change_id: Option<i64>,
}

/// A digest about to be sent.
#[derive(Debug, Clone)]
pub struct DigestWrite<'a> {
    pub period: &'a str,
    pub transport: &'a str,
    /// JSON array of addresses.
    pub recipients: &'a str,
    pub subject: &'a str,
    pub role_count: i64,
    pub message_id: &'a str,
    pub since: DateTime<Utc>,
    pub last_change_id: Option<i64>,
}

/// A row of `alerts`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub incident: String,
    pub message: String,
    pub opened_at: String,
    pub alerted_at: Option<String>,
    pub resolved_at: Option<String>,
    pub recovery_sent_at: Option<String>,
}

/// Which roles `list_roles` returns.
#[derive(Debug, Clone, Default)]
pub struct RoleFilter {
    pub include_gone: bool,
    pub tier: Option<String>,
    pub limit: Option<u64>,
}

/// A change as listed by `changes`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeRow {
    pub id: i64,
    pub role_id: String,
    /// `None` for changes made by `requalify`.
    pub run_id: Option<i64>,
    pub detected_at: String,
    pub kind: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and its parent
    /// directories, switches to WAL, and applies pending migrations.
    pub fn open(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating database directory {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening database {}", path.display()))?;
        let mut db = Db {
            conn,
            path: Some(path.to_path_buf()),
        };
        db.prepare()
            .with_context(|| format!("preparing database {}", path.display()))?;
        Ok(db)
    }

    /// A private in-memory database with the full schema, for tests.
    pub fn open_in_memory() -> Result<Db> {
        let mut db = Db {
            conn: Connection::open_in_memory()?,
            path: None,
        };
        db.prepare()?;
        Ok(db)
    }

    fn prepare(&mut self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(10))?;
        // journal_mode answers with a row, so it cannot go through execute().
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        embedded::migrations::runner()
            .run(&mut self.conn)
            .context("applying migrations")?;
        Ok(())
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The newest applied migration's version.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history",
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks runs left `running` by a killed process as failed. Call only
    /// while holding the scrape lock, when no run can be in progress.
    pub fn fail_abandoned_runs(&self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE runs SET status = 'failed', finished_at = ?1,
                 errors = json_insert(errors, '$[#]', 'the process stopped before the run finished; nothing it fetched was kept')
             WHERE status = 'running'",
            params![timestamp(now)],
        )?)
    }

    /// Writes the run's row as `running`, committed at once so that a killed
    /// process leaves a trace.
    pub fn start_run(&self, now: DateTime<Utc>, trigger: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (started_at, status, trigger) VALUES (?1, 'running', ?2)",
            params![timestamp(now), trigger],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Closes a run as failed outside any transaction (after the run's own
    /// transaction was rolled back).
    pub fn fail_run(&self, run_id: i64, now: DateTime<Utc>, errors: &[String]) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET status = 'failed', finished_at = ?2, errors = ?3 WHERE id = ?1",
            params![run_id, timestamp(now), serde_json::to_string(errors)?],
        )?;
        Ok(())
    }

    /// Every stored role (of one source, or all), keyed by role id.
    pub fn stored_roles(&self, source: Option<&str>) -> Result<HashMap<String, StoredRole>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, status, content_hash, raw, detail, tier, combined_score, engineer_score,
                    headhunter_score, excitement_score, reasons, signals, score_breakdown, trend
             FROM roles WHERE ?1 IS NULL OR source = ?1",
        )?;
        let rows = stmt.query_map([source], |r| {
            let tier: Option<String> = r.get(5)?;
            let evaluation = match tier {
                None => None,
                Some(tier) => Some(Evaluation {
                    tier,
                    combined_score: r.get::<_, Option<f64>>(6)?.unwrap_or_default(),
                    engineer_score: r.get::<_, Option<f64>>(7)?.unwrap_or_default(),
                    headhunter_score: r.get::<_, Option<f64>>(8)?.unwrap_or_default(),
                    excitement_score: r.get::<_, Option<f64>>(9)?.unwrap_or_default(),
                    reasons: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                    signals: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                    score_breakdown: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
                    trend: r.get(13)?,
                }),
            };
            Ok(StoredRole {
                id: r.get(0)?,
                active: r.get::<_, String>(1)? == "active",
                content_hash: r.get(2)?,
                raw: r.get(3)?,
                detail: r.get(4)?,
                evaluation,
            })
        })?;
        let mut roles = HashMap::new();
        for role in rows {
            let role = role?;
            roles.insert(role.id.clone(), role);
        }
        Ok(roles)
    }

    /// One role with its verdict, by full id or by external id.
    pub fn explain_role(&self, id: &str) -> Result<Option<RoleExplained>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {ROLE_COLUMNS}, engineer_score, headhunter_score, excitement_score,
                            reasons, signals, score_breakdown, company_notes, detail_fetched_at
                     FROM roles WHERE id = ?1 OR external_id = ?1 ORDER BY id = ?1 DESC LIMIT 1"
                ),
                [id],
                |r| {
                    Ok(RoleExplained {
                        role: role_row(r)?,
                        engineer_score: r.get(15)?,
                        headhunter_score: r.get(16)?,
                        excitement_score: r.get(17)?,
                        reasons: r.get(18)?,
                        signals: r.get(19)?,
                        score_breakdown: r.get(20)?,
                        company_notes: r.get(21)?,
                        detail_fetched_at: r.get(22)?,
                    })
                },
            )
            .optional()?)
    }

    /// Starts the one transaction a run's writes go through.
    pub fn transaction(&mut self) -> Result<StoreTx<'_>> {
        Ok(StoreTx {
            tx: self.conn.transaction()?,
        })
    }

    pub fn list_roles(&self, filter: &RoleFilter) -> Result<Vec<RoleRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ROLE_COLUMNS} FROM roles
             WHERE (?1 OR status = 'active') AND (?2 IS NULL OR tier = ?2)
             ORDER BY status,
                 CASE tier WHEN 'QUALIFIED' THEN 0 WHEN 'MAYBE' THEN 1 WHEN 'LOCATION_UNCERTAIN' THEN 2
                           WHEN 'SKIP' THEN 3 ELSE 4 END,
                 combined_score DESC NULLS LAST, posted_at DESC, id
             LIMIT ?3"
        ))?;
        let limit = filter.limit.map(|l| l as i64).unwrap_or(-1);
        let rows = stmt.query_map(params![filter.include_gone, filter.tier, limit], role_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Changes detected at or after `since`, oldest first.
    pub fn list_changes(&self, since: DateTime<Utc>) -> Result<Vec<ChangeRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "{CHANGE_SELECT} WHERE c.detected_at >= ?1 ORDER BY c.id"
        ))?;
        let rows = stmt.query_map([timestamp(since)], change_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Active roles per tier (unevaluated roles under `-`), in tier order.
    pub fn tier_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT COALESCE(tier, '-'), COUNT(*) FROM roles WHERE status = 'active' GROUP BY 1
             ORDER BY CASE tier WHEN 'QUALIFIED' THEN 0 WHEN 'MAYBE' THEN 1
                      WHEN 'LOCATION_UNCERTAIN' THEN 2 WHEN 'SKIP' THEN 3 ELSE 4 END",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every role with what the site shows of it.
    pub fn site_roles(&self) -> Result<Vec<SiteRole>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ROLE_COLUMNS}, engineer_score, headhunter_score, excitement_score, raw, detail,
                    reasons, signals, score_breakdown, last_changed_at
             FROM roles
             ORDER BY status,
                 CASE tier WHEN 'QUALIFIED' THEN 0 WHEN 'MAYBE' THEN 1 WHEN 'LOCATION_UNCERTAIN' THEN 2
                           WHEN 'SKIP' THEN 3 ELSE 4 END,
                 combined_score DESC NULLS LAST, id"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(SiteRole {
                row: role_row(r)?,
                engineer_score: r.get(15)?,
                headhunter_score: r.get(16)?,
                excitement_score: r.get(17)?,
                raw: r.get(18)?,
                detail: r.get(19)?,
                reasons: r.get(20)?,
                signals: r.get(21)?,
                score_breakdown: r.get(22)?,
                last_changed_at: r.get(23)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every change, grouped by role, oldest first.
    pub fn changes_by_role(&self) -> Result<HashMap<String, Vec<ChangeRow>>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{CHANGE_SELECT} ORDER BY c.id"))?;
        let mut grouped: HashMap<String, Vec<ChangeRow>> = HashMap::new();
        for row in stmt.query_map([], change_row)? {
            let row = row?;
            grouped.entry(row.role_id.clone()).or_default().push(row);
        }
        Ok(grouped)
    }

    /// Every version's id, run and time (not its JSON), grouped by role.
    pub fn versions_by_role(&self) -> Result<HashMap<String, Vec<VersionRow>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT role_id, id, run_id, observed_at FROM role_versions ORDER BY id")?;
        let mut grouped: HashMap<String, Vec<VersionRow>> = HashMap::new();
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                VersionRow {
                    id: r.get(1)?,
                    run_id: r.get(2)?,
                    observed_at: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            let (role_id, version) = row?;
            grouped.entry(role_id).or_default().push(version);
        }
        Ok(grouped)
    }

    /// Every run, oldest first (the charts' time axis).
    pub fn all_runs(&self) -> Result<Vec<RunRow>> {
        let mut stmt = self.conn.prepare(&format!("{RUN_SELECT} ORDER BY id"))?;
        let rows = stmt.query_map([], run_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks digests left `sending` by a stopped process as failed, so the
    /// next run sends them again.
    pub fn fail_interrupted_digests(&self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE digests SET status = 'failed', error = 'the process stopped while sending'
             WHERE status = 'sending'",
            [],
        )?)
    }

    /// The digest sent for `period`, if any.
    pub fn sent_digest(&self, period: &str) -> Result<Option<DigestRow>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "{DIGEST_SELECT} WHERE period = ?1 AND status = 'sent' ORDER BY id DESC LIMIT 1"
                ),
                [period],
                digest_row,
            )
            .optional()?)
    }

    /// The newest digest that was sent.
    pub fn last_sent_digest(&self) -> Result<Option<DigestRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{DIGEST_SELECT} WHERE status = 'sent' ORDER BY id DESC LIMIT 1"),
                [],
                digest_row,
            )
            .optional()?)
    }

    /// The newest digest, whatever became of it.
    pub fn last_digest(&self) -> Result<Option<DigestRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{DIGEST_SELECT} ORDER BY id DESC LIMIT 1"),
                [],
                digest_row,
            )
            .optional()?)
    }

    /// Records a digest as `sending` before it goes out.
    pub fn insert_digest(&self, digest: &DigestWrite<'_>, now: DateTime<Utc>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO digests (created_at, status, transport, recipients, subject, role_count, period,
                 message_id, since, last_change_id)
             VALUES (?1, 'sending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                timestamp(now),
                digest.transport,
                digest.recipients,
                digest.subject,
                digest.role_count,
                digest.period,
                digest.message_id,
                timestamp(digest.since),
                digest.last_change_id
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Closes a digest as `sent` (with `sent_at`) or `failed` (with the error).
    pub fn finish_digest(&self, id: i64, outcome: Result<DateTime<Utc>, &str>) -> Result<()> {
        match outcome {
            Ok(sent_at) => self.conn.execute(
                "UPDATE digests SET status = 'sent', sent_at = ?2, error = NULL WHERE id = ?1",
                params![id, timestamp(sent_at)],
            )?,
            Err(error) => self.conn.execute(
                "UPDATE digests SET status = 'failed', error = ?2 WHERE id = ?1",
                params![id, error],
            )?,
        };
        Ok(())
    }

    /// Alerts that are open, or resolved but whose recovery message is unsent.
    pub fn pending_alerts(&self) -> Result<Vec<AlertRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, incident, message, opened_at, alerted_at, resolved_at, recovery_sent_at FROM alerts
             WHERE resolved_at IS NULL OR (alerted_at IS NOT NULL AND recovery_sent_at IS NULL) ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AlertRow {
                id: r.get(0)?,
                incident: r.get(1)?,
                message: r.get(2)?,
                opened_at: r.get(3)?,
                alerted_at: r.get(4)?,
                resolved_at: r.get(5)?,
                recovery_sent_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn open_alert(&self, incident: &str, message: &str, now: DateTime<Utc>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO alerts (incident, message, opened_at) VALUES (?1, ?2, ?3)",
            params![incident, message, timestamp(now)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Sets one of the alert's times: `alerted_at`, `resolved_at` or `recovery_sent_at`.
    pub fn mark_alert(&self, id: i64, column: &str, now: DateTime<Utc>) -> Result<()> {
        anyhow::ensure!(
            ["alerted_at", "resolved_at", "recovery_sent_at"].contains(&column),
            "no alert column {column}"
        );
        self.conn.execute(
            &format!("UPDATE alerts SET {column} = ?2 WHERE id = ?1"),
            params![id, timestamp(now)],
        )?;
        Ok(())
    }

    /// A consistent copy of the live database (SQLite's online backup),
    /// safe while another process writes.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        let mut target =
            Connection::open(dest).with_context(|| format!("creating {}", dest.display()))?;
        let backup = rusqlite::backup::Backup::new(&self.conn, &mut target)?;
        backup
            .run_to_completion(256, Duration::from_millis(20), None)
            .with_context(|| format!("copying the database to {}", dest.display()))?;
        drop(backup);
        // The copy is one self-contained file: rollback journal, not WAL, so
        // opening it (the integrity check, an analyst) leaves no -wal/-shm beside it.
        target
            .query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
            .with_context(|| format!("finishing the copy at {}", dest.display()))?;
        Ok(())
    }

    /// `PRAGMA integrity_check` of the database at `path`: "ok" or the problems.
    pub fn integrity_check(path: &Path) -> Result<String> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(lines.join("; "))
    }

    /// Rows in one of our tables (reports and benchmarks).
    pub fn count_rows(&self, table: &str) -> Result<i64> {
        const TABLES: [&str; 5] = ["runs", "roles", "role_versions", "changes", "digests"];
        anyhow::ensure!(TABLES.contains(&table), "no table {table:?}");
        Ok(self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    }

    /// Bytes on disk: the database file and its WAL.
    pub fn size_bytes(&self) -> u64 {
        let Some(path) = &self.path else { return 0 };
        ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Changes newer than the change `after_id`, oldest first.
    pub fn changes_after(&self, after_id: i64) -> Result<Vec<ChangeRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{CHANGE_SELECT} WHERE c.id > ?1 ORDER BY c.id"))?;
        let rows = stmt.query_map([after_id], change_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The changes one run wrote, in order.
    pub fn changes_in_run(&self, run_id: i64) -> Result<Vec<ChangeRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "{CHANGE_SELECT} WHERE c.run_id = ?1 ORDER BY c.id"
        ))?;
        let rows = stmt.query_map([run_id], change_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn run(&self, run_id: i64) -> Result<Option<RunRow>> {
        Ok(self
            .conn
            .query_row(&format!("{RUN_SELECT} WHERE id = ?1"), [run_id], run_row)
            .optional()?)
    }

    /// The newest runs first.
    pub fn recent_runs(&self, limit: u64) -> Result<Vec<RunRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{RUN_SELECT} ORDER BY id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit as i64], run_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

const DIGEST_SELECT: &str =
    "SELECT id, created_at, sent_at, status, transport, recipients, subject,
        role_count, error, period, message_id, last_change_id FROM digests";

fn digest_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DigestRow> {
    Ok(DigestRow {
        id: r.get(0)?,
        created_at: r.get(1)?,
        sent_at: r.get(2)?,
        status: r.get(3)?,
        transport: r.get(4)?,
        recipients: r.get(5)?,
        subject: r.get(6)?,
        role_count: r.get(7)?,
        error: r.get(8)?,
        period: r.get(9)?,
        message_id: r.get(10)?,
        last_change_id: r.get(11)?,
    })
}

const ROLE_COLUMNS: &str = "id, title, company, url, status, tier, combined_score, salary_min,
        salary_max, fee_percent, posted_at, first_seen_at, last_seen_at, gone_at, trend";

fn role_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoleRow> {
    Ok(RoleRow {
        id: r.get(0)?,
        title: r.get(1)?,
        company: r.get(2)?,
        url: r.get(3)?,
        status: r.get(4)?,
        tier: r.get(5)?,
        combined_score: r.get(6)?,
        salary_min: r.get(7)?,
        salary_max: r.get(8)?,
        fee_percent: r.get(9)?,
        posted_at: r.get(10)?,
        first_seen_at: r.get(11)?,
        last_seen_at: r.get(12)?,
        gone_at: r.get(13)?,
        trend: r.get(14)?,
    })
}

const CHANGE_SELECT: &str = "SELECT c.id, c.role_id, c.run_id, c.detected_at, c.kind, c.field,
        c.old_value, c.new_value, r.title, r.company FROM changes c JOIN roles r ON r.id = c.role_id";

fn change_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        id: r.get(0)?,
        role_id: r.get(1)?,
        run_id: r.get(2)?,
        detected_at: r.get(3)?,
        kind: r.get(4)?,
        field: r.get(5)?,
        old_value: r.get(6)?,
        new_value: r.get(7)?,
        title: r.get(8)?,
        company: r.get(9)?,
    })
}

const RUN_SELECT: &str = "SELECT id, started_at, finished_at, status, trigger, roles_seen, roles_new,
        roles_changed, roles_gone, roles_reappeared, roles_qualified, errors, duration_ms FROM runs";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let errors: String = r.get(11)?;
    Ok(RunRow {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        status: r.get(3)?,
        trigger: r.get(4)?,
        roles_seen: r.get(5)?,
        roles_new: r.get(6)?,
        roles_changed: r.get(7)?,
        roles_gone: r.get(8)?,
        roles_reappeared: r.get(9)?,
        roles_qualified: r.get(10)?,
        // A hand-edited errors column must not stop a report.
        errors: serde_json::from_str(&errors).unwrap_or_else(|_| vec![errors]),
        duration_ms: r.get(12)?,
    })
}

/// The writes of one run, committed together or not at all.
pub struct StoreTx<'a> {
    tx: Transaction<'a>,
}

impl StoreTx<'_> {
    pub fn insert_role(&self, role: &RoleWrite<'_>, now: DateTime<Utc>) -> Result<()> {
        let now = timestamp(now);
        let c = role.columns;
        self.tx.execute(
            "INSERT INTO roles (id, source, external_id, title, company, url, status,
                 first_seen_at, last_seen_at, last_changed_at, salary_min, salary_max,
                 fee_percent, posted_at, content_hash, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?7, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                role.id,
                role.source,
                role.external_id,
                c.title,
                c.company,
                c.url,
                now,
                c.salary_min,
                c.salary_max,
                c.fee_percent,
                c.posted_at,
                role.content_hash,
                role.raw
            ],
        )?;
        Ok(())
    }

    /// Refreshes a seen role: columns and raw always (volatile fields move),
    /// `last_changed_at` only when `content_changed`. Brings a gone role back.
    pub fn update_role(
        &self,
        role: &RoleWrite<'_>,
        content_changed: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let c = role.columns;
        self.tx.execute(
            "UPDATE roles SET title = ?2, company = ?3, url = ?4, status = 'active', gone_at = NULL,
                 last_seen_at = ?5, last_changed_at = CASE WHEN ?6 THEN ?5 ELSE last_changed_at END,
                 salary_min = ?7, salary_max = ?8, fee_percent = ?9, posted_at = ?10,
                 content_hash = ?11, raw = ?12
             WHERE id = ?1",
            params![
                role.id,
                c.title,
                c.company,
                c.url,
                timestamp(now),
                content_changed,
                c.salary_min,
                c.salary_max,
                c.fee_percent,
                c.posted_at,
                role.content_hash,
                role.raw
            ],
        )?;
        Ok(())
    }

    pub fn mark_gone(&self, role_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.tx.execute(
            "UPDATE roles SET status = 'gone', gone_at = ?2 WHERE id = ?1",
            params![role_id, timestamp(now)],
        )?;
        Ok(())
    }

    pub fn insert_version(
        &self,
        role_id: &str,
        run_id: i64,
        now: DateTime<Utc>,
        content_hash: &str,
        raw: &str,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO role_versions (role_id, run_id, observed_at, content_hash, raw)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![role_id, run_id, timestamp(now), content_hash, raw],
        )?;
        Ok(())
    }

    /// Records a change; `run_id` is `None` for `requalify`, which is not a run.
    pub fn insert_change(
        &self,
        role_id: &str,
        run_id: Option<i64>,
        now: DateTime<Utc>,
        change: &FieldChange,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO changes (role_id, run_id, detected_at, kind, field, old_value, new_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                role_id,
                run_id,
                timestamp(now),
                change.kind.as_str(),
                change.field,
                change.old_value,
                change.new_value
            ],
        )?;
        Ok(())
    }

    /// Closes the run row with its outcome, inside the run's transaction.
    pub fn finish_run(
        &self,
        run_id: i64,
        status: &str,
        counts: &RunCounts,
        errors: &[String],
        now: DateTime<Utc>,
        duration: Duration,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, roles_seen = ?4, roles_new = ?5,
                 roles_changed = ?6, roles_gone = ?7, roles_reappeared = ?8, roles_qualified = ?9,
                 errors = ?10, duration_ms = ?11, requests = ?12
             WHERE id = ?1",
            params![
                run_id,
                status,
                timestamp(now),
                counts.seen as i64,
                counts.new as i64,
                counts.changed as i64,
                counts.gone as i64,
                counts.reappeared as i64,
                counts.qualified as i64,
                serde_json::to_string(errors)?,
                duration.as_millis() as i64,
                counts.requests as i64
            ],
        )?;
        Ok(())
    }

    /// Changes detected at or after `since`, per role: (kind, new value).
    pub fn recent_changes(&self, since: DateTime<Utc>) -> Result<RecentChanges> {
        let mut stmt = self.tx.prepare(
            "SELECT role_id, kind, new_value FROM changes WHERE detected_at >= ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([timestamp(since)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut changes = RecentChanges::new();
        for row in rows {
            let (role_id, kind, new_value) = row?;
            changes.entry(role_id).or_default().push((kind, new_value));
        }
        Ok(changes)
    }

    pub fn write_evaluation(
        &self,
        role_id: &str,
        e: &Evaluation,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE roles SET tier = ?2, combined_score = ?3, engineer_score = ?4,
                 headhunter_score = ?5, excitement_score = ?6, reasons = ?7, signals = ?8,
                 score_breakdown = ?9, trend = ?10, evaluated_at = ?11
             WHERE id = ?1",
            params![
                role_id,
                e.tier,
                e.combined_score,
                e.engineer_score,
                e.headhunter_score,
                e.excitement_score,
                e.reasons,
                e.signals,
                e.score_breakdown,
                e.trend,
                timestamp(now)
            ],
        )?;
        Ok(())
    }

    pub fn write_detail(
        &self,
        role_id: &str,
        d: &DetailWrite<'_>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE roles SET detail = ?2, detail_fetched_at = ?3, company_notes = ?4,
                 selling_points = ?5, description = ?6, equity = ?7, requirements = ?8
             WHERE id = ?1",
            params![
                role_id,
                d.detail,
                timestamp(now),
                d.company_notes,
                d.selling_points,
                d.description,
                d.equity,
                d.requirements
            ],
        )?;
        Ok(())
    }

    /// Active roles that count as qualified (QUALIFIED or MAYBE).
    pub fn count_qualified(&self) -> Result<u64> {
        let n: i64 = self.tx.query_row(
            "SELECT COUNT(*) FROM roles WHERE status = 'active' AND tier IN ('QUALIFIED', 'MAYBE')",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    pub fn commit(self) -> Result<()> {
        self.tx.commit().context("committing the run")
    }
}
