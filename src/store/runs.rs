//! The `runs` table: a scrape's row from `running` to its outcome.

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Db, StoreTx};
use crate::role::timestamp;

/// A run's status: `running` from its start, then `ok`, `partial` (something
/// failed or looked wrong, and nothing was lost) or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Ok,
    Partial,
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Running,
        RunStatus::Ok,
        RunStatus::Partial,
        RunStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// A run that finished and kept what it fetched (ok or partial).
    pub fn is_good(self) -> bool {
        matches!(self, RunStatus::Ok | RunStatus::Partial)
    }
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
    pub status: RunStatus,
    pub trigger: String,
    pub roles_seen: i64,
    pub roles_new: i64,
    pub roles_changed: i64,
    pub roles_gone: i64,
    pub roles_reappeared: i64,
    pub roles_qualified: i64,
    pub errors: Vec<String>,
    pub duration_ms: Option<i64>,
    /// Model requests sent (`[llm]`), tokens, cost in USD, and why calls stopped.
    pub llm_calls: i64,
    pub llm_tokens: i64,
    pub llm_cost_usd: f64,
    pub llm_error: Option<String>,
    /// How the run reached Paraform: `direct`, `browser`,
    /// `browser-after-challenge`; `None` when it did not.
    pub paraform_fetch: Option<String>,
}

impl Db {
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

    /// Every run, oldest first (the charts' time axis).
    pub fn all_runs(&self) -> Result<Vec<RunRow>> {
        let mut stmt = self.conn.prepare(&format!("{RUN_SELECT} ORDER BY id"))?;
        let rows = stmt.query_map([], run_row)?;
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

impl StoreTx<'_> {
    /// Records how the run reached Paraform (`Route::as_str`).
    pub fn record_paraform_fetch(&self, run_id: i64, route: &str) -> Result<()> {
        self.execute(
            "UPDATE runs SET paraform_fetch = ?2 WHERE id = ?1",
            params![run_id, route],
        )?;
        Ok(())
    }

    /// Closes the run row with its outcome, inside the run's transaction.
    pub fn finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        counts: &RunCounts,
        errors: &[String],
        now: DateTime<Utc>,
        duration: Duration,
    ) -> Result<()> {
        self.execute(
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
}

/// The columns `run_row` reads, by name.
const RUN_SELECT: &str =
    "SELECT id, started_at, finished_at, status, trigger, roles_seen, roles_new,
        roles_changed, roles_gone, roles_reappeared, roles_qualified, errors, duration_ms,
        llm_calls, llm_tokens, llm_cost_usd, llm_error, paraform_fetch FROM runs";

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    let errors: String = r.get("errors")?;
    Ok(RunRow {
        id: r.get("id")?,
        started_at: r.get("started_at")?,
        finished_at: r.get("finished_at")?,
        status: r.get("status")?,
        trigger: r.get("trigger")?,
        roles_seen: r.get("roles_seen")?,
        roles_new: r.get("roles_new")?,
        roles_changed: r.get("roles_changed")?,
        roles_gone: r.get("roles_gone")?,
        roles_reappeared: r.get("roles_reappeared")?,
        roles_qualified: r.get("roles_qualified")?,
        // A hand-edited errors column must not stop a report.
        errors: serde_json::from_str(&errors).unwrap_or_else(|_| vec![errors]),
        duration_ms: r.get("duration_ms")?,
        llm_calls: r.get("llm_calls")?,
        llm_tokens: r.get("llm_tokens")?,
        llm_cost_usd: r.get("llm_cost_usd")?,
        llm_error: r.get("llm_error")?,
        paraform_fetch: r.get("paraform_fetch")?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fixtures::at;
    use super::{Db, RunCounts, RunStatus};
    use crate::role::timestamp;

    #[test]
    fn a_started_run_is_running_until_finished() {
        let mut db = Db::open_in_memory().unwrap();
        let id = db.start_run(at(0), "schedule").unwrap();
        let run = db.run(id).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Running);
        assert_eq!(run.trigger, "schedule");
        assert_eq!(run.started_at, timestamp(at(0)));
        assert_eq!(run.finished_at, None);
        assert_eq!(run.errors, Vec::<String>::new());
        assert_eq!(run.duration_ms, None);

        let counts = RunCounts {
            seen: 7,
            new: 6,
            changed: 5,
            gone: 4,
            reappeared: 3,
            qualified: 2,
            requests: 1,
        };
        let tx = db.transaction().unwrap();
        let errors = vec!["one source failed".to_string()];
        tx.finish_run(
            id,
            RunStatus::Partial,
            &counts,
            &errors,
            at(2),
            Duration::from_millis(1234),
        )
        .unwrap();
        tx.commit().unwrap();

        // Each count lands in its own column: distinct values catch a swap.
        let run = db.run(id).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Partial);
        assert_eq!(run.finished_at, Some(timestamp(at(2))));
        assert_eq!(
            [
                run.roles_seen,
                run.roles_new,
                run.roles_changed,
                run.roles_gone,
                run.roles_reappeared,
                run.roles_qualified
            ],
            [7, 6, 5, 4, 3, 2]
        );
        assert_eq!(run.errors, errors);
        assert_eq!(run.duration_ms, Some(1234));
        let requests: i64 = db
            .conn
            .query_row("SELECT requests FROM runs WHERE id = ?1", [id], |r| {
                r.get("requests")
            })
            .unwrap();
        assert_eq!(requests, 1);
    }

    #[test]
    fn a_failed_run_keeps_its_errors() {
        let db = Db::open_in_memory().unwrap();
        let id = db.start_run(at(0), "manual").unwrap();
        let errors = vec!["first".to_string(), "second".to_string()];
        db.fail_run(id, at(1), &errors).unwrap();
        let run = db.run(id).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.finished_at, Some(timestamp(at(1))));
        assert_eq!(run.errors, errors);
    }

    #[test]
    fn abandoned_runs_are_failed_with_a_reason_and_finished_ones_are_left() {
        let mut db = Db::open_in_memory().unwrap();
        let finished = db.start_run(at(0), "manual").unwrap();
        let tx = db.transaction().unwrap();
        tx.finish_run(
            finished,
            RunStatus::Ok,
            &RunCounts::default(),
            &[],
            at(1),
            Duration::ZERO,
        )
        .unwrap();
        tx.commit().unwrap();
        let abandoned = db.start_run(at(2), "manual").unwrap();

        assert_eq!(db.fail_abandoned_runs(at(3)).unwrap(), 1);
        let run = db.run(abandoned).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.finished_at, Some(timestamp(at(3))));
        assert_eq!(run.errors.len(), 1);
        assert!(
            run.errors[0].contains("the process stopped"),
            "{:?}",
            run.errors
        );
        assert_eq!(db.run(finished).unwrap().unwrap().status, RunStatus::Ok);
        assert_eq!(db.fail_abandoned_runs(at(4)).unwrap(), 0);
    }

    #[test]
    fn runs_list_oldest_first_or_newest_first() {
        let db = Db::open_in_memory().unwrap();
        let ids: Vec<i64> = (0..3)
            .map(|n| db.start_run(at(n), "manual").unwrap())
            .collect();
        let all: Vec<i64> = db.all_runs().unwrap().iter().map(|r| r.id).collect();
        assert_eq!(all, ids);
        let recent: Vec<i64> = db.recent_runs(2).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(recent, vec![ids[2], ids[1]]);
        assert!(db.run(ids[2] + 1).unwrap().is_none());
    }

    #[test]
    fn a_hand_edited_errors_column_is_reported_as_text() {
        let db = Db::open_in_memory().unwrap();
        let id = db.start_run(at(0), "manual").unwrap();
        db.conn
            .execute("UPDATE runs SET errors = 'not json' WHERE id = ?1", [id])
            .unwrap();
        assert_eq!(db.run(id).unwrap().unwrap().errors, vec!["not json"]);
    }
}
