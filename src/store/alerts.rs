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
