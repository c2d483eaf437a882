//! The `alerts` table: one row per incident, from opening to recovery.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Row, params};

use super::Db;
use crate::role::timestamp;

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

impl Db {
    /// Alerts that are open, or resolved but whose recovery message is unsent.
    pub fn pending_alerts(&self) -> Result<Vec<AlertRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, incident, message, opened_at, alerted_at, resolved_at, recovery_sent_at FROM alerts
             WHERE resolved_at IS NULL OR (alerted_at IS NOT NULL AND recovery_sent_at IS NULL) ORDER BY id",
        )?;
        let rows = stmt.query_map([], alert_row)?;
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
}

fn alert_row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get("id")?,
        incident: r.get("incident")?,
        message: r.get("message")?,
        opened_at: r.get("opened_at")?,
        alerted_at: r.get("alerted_at")?,
        resolved_at: r.get("resolved_at")?,
        recovery_sent_at: r.get("recovery_sent_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::at;
    use super::Db;
    use crate::role::timestamp;

    fn pending_ids(db: &Db) -> Vec<i64> {
        db.pending_alerts().unwrap().iter().map(|a| a.id).collect()
    }

    #[test]
    fn an_opened_alert_is_pending_with_every_field() {
        let db = Db::open_in_memory().unwrap();
        let id = db
            .open_alert("scrapes-failing", "3 scrapes failed", at(0))
            .unwrap();
        let alert = db.pending_alerts().unwrap().remove(0);
        assert_eq!(alert.id, id);
        assert_eq!(alert.incident, "scrapes-failing");
        assert_eq!(alert.message, "3 scrapes failed");
        assert_eq!(alert.opened_at, timestamp(at(0)));
        assert_eq!(alert.alerted_at, None);
        assert_eq!(alert.resolved_at, None);
        assert_eq!(alert.recovery_sent_at, None);
    }

    #[test]
    fn marks_set_each_time_in_its_own_column() {
        let db = Db::open_in_memory().unwrap();
        let id = db
            .open_alert("session-expired", "log in again", at(0))
            .unwrap();
        db.mark_alert(id, "alerted_at", at(1)).unwrap();
        db.mark_alert(id, "resolved_at", at(2)).unwrap();
        // Resolved, but the recovery message is owed: still pending.
        let alert = db.pending_alerts().unwrap().remove(0);
        assert_eq!(alert.alerted_at, Some(timestamp(at(1))));
        assert_eq!(alert.resolved_at, Some(timestamp(at(2))));
        assert_eq!(alert.recovery_sent_at, None);

        db.mark_alert(id, "recovery_sent_at", at(3)).unwrap();
        assert!(db.pending_alerts().unwrap().is_empty());
    }

    #[test]
    fn a_resolved_alert_that_never_went_out_is_not_pending() {
        let db = Db::open_in_memory().unwrap();
        let quiet = db.open_alert("digest-failed", "smtp", at(0)).unwrap();
        let open = db.open_alert("session-expiring", "2 days", at(1)).unwrap();
        db.mark_alert(quiet, "resolved_at", at(2)).unwrap();
        assert_eq!(pending_ids(&db), [open]);
    }

    #[test]
    fn mark_alert_refuses_other_columns() {
        let db = Db::open_in_memory().unwrap();
        let id = db.open_alert("digest-failed", "smtp", at(0)).unwrap();
        let error = db.mark_alert(id, "message", at(1)).unwrap_err();
        assert_eq!(error.to_string(), "no alert column message");
        assert_eq!(db.pending_alerts().unwrap()[0].message, "smtp");
    }
}
