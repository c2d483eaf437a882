//! The `digests` table: each digest recorded as `sending` before it goes
//! out, then closed as `sent` or `failed`.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::Db;
use crate::role::timestamp;

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

impl Db {
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
}

/// The columns `digest_row` reads, by name.
const DIGEST_SELECT: &str =
    "SELECT id, created_at, sent_at, status, transport, recipients, subject,
        role_count, error, period, message_id, last_change_id FROM digests";

fn digest_row(r: &Row<'_>) -> rusqlite::Result<DigestRow> {
    Ok(DigestRow {
        id: r.get("id")?,
        created_at: r.get("created_at")?,
        sent_at: r.get("sent_at")?,
        status: r.get("status")?,
        transport: r.get("transport")?,
        recipients: r.get("recipients")?,
        subject: r.get("subject")?,
        role_count: r.get("role_count")?,
        error: r.get("error")?,
        period: r.get("period")?,
        message_id: r.get("message_id")?,
        last_change_id: r.get("last_change_id")?,
    })
}
