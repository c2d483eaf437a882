//! The `digests` table: each digest recorded as `sending` before it goes
//! out, then closed as `sent` or `failed`.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::Db;
use crate::role::timestamp;

/// A digest's status: `sending` while it goes out, then `sent` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestStatus {
    Sending,
    Sent,
    Failed,
}

impl DigestStatus {
    pub const ALL: [DigestStatus; 3] = [
        DigestStatus::Sending,
        DigestStatus::Sent,
        DigestStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DigestStatus::Sending => "sending",
            DigestStatus::Sent => "sent",
            DigestStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<DigestStatus> {
        DigestStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A row of `digests`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DigestRow {
    pub id: i64,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub status: DigestStatus,
    pub transport: String,
    /// A JSON array as stored; `status --json` and `health.json` show it
    /// as an array.
    #[serde(serialize_with = "json_list")]
    pub recipients: String,
    pub subject: String,
    pub role_count: i64,
    pub error: Option<String>,
    pub period: Option<String>,
    pub message_id: Option<String>,
    pub last_change_id: Option<i64>,
}

/// Stored JSON list text as a list: `["a@example.com"]` → an array (text
/// that is not a list of strings is one item, as it stands).
fn json_list<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(list) => list.serialize(serializer),
        Err(_) => [text].serialize(serializer),
    }
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

    /// How many digests were sent for `period` (more than one only by --force).
    pub fn sent_digest_count(&self, period: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) AS sent FROM digests WHERE period = ?1 AND status = 'sent'",
            [period],
            |r| r.get("sent"),
        )?)
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::at;
    use super::{Db, DigestStatus, DigestWrite};
    use crate::role::timestamp;

    fn write<'a>(period: &'a str, message_id: &'a str) -> DigestWrite<'a> {
        DigestWrite {
            period,
            transport: "file",
            recipients: "[\"ops@example.test\"]",
            subject: "3 roles",
            role_count: 3,
            message_id,
            since: at(-60),
            last_change_id: Some(17),
        }
    }

    #[test]
    fn an_inserted_digest_is_sending_with_every_field() {
        let db = Db::open_in_memory().unwrap();
        assert!(db.last_digest().unwrap().is_none());
        let id = db
            .insert_digest(&write("2026-01-02", "<m1@example.test>"), at(0))
            .unwrap();
        let row = db.last_digest().unwrap().unwrap();
        assert_eq!(row.id, id);
        // People's JSON (`status --json`) has the recipients as an array.
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["recipients"], serde_json::json!(["ops@example.test"]));
        assert_eq!(row.created_at, timestamp(at(0)));
        assert_eq!(row.sent_at, None);
        assert_eq!(row.status, DigestStatus::Sending);
        assert_eq!(row.transport, "file");
        assert_eq!(row.recipients, "[\"ops@example.test\"]");
        assert_eq!(row.subject, "3 roles");
        assert_eq!(row.role_count, 3);
        assert_eq!(row.error, None);
        assert_eq!(row.period.as_deref(), Some("2026-01-02"));
        assert_eq!(row.message_id.as_deref(), Some("<m1@example.test>"));
        assert_eq!(row.last_change_id, Some(17));
        let since: String = db
            .conn
            .query_row("SELECT since FROM digests WHERE id = ?1", [id], |r| {
                r.get("since")
            })
            .unwrap();
        assert_eq!(since, timestamp(at(-60)));
        // Sending is not sent.
        assert!(db.sent_digest("2026-01-02").unwrap().is_none());
        assert!(db.last_sent_digest().unwrap().is_none());
    }

    #[test]
    fn a_sent_digest_is_found_by_period_and_a_failed_one_is_not() {
        let db = Db::open_in_memory().unwrap();
        let sent = db
            .insert_digest(&write("2026-01-01", "<a>"), at(0))
            .unwrap();
        db.finish_digest(sent, Ok(at(1))).unwrap();
        let failed = db
            .insert_digest(&write("2026-01-02", "<b>"), at(2))
            .unwrap();
        db.finish_digest(failed, Err("smtp said no")).unwrap();

        let row = db.sent_digest("2026-01-01").unwrap().unwrap();
        assert_eq!(row.id, sent);
        assert_eq!(row.status, DigestStatus::Sent);
        assert_eq!(row.sent_at, Some(timestamp(at(1))));
        assert!(db.sent_digest("2026-01-02").unwrap().is_none());
        assert_eq!(db.last_sent_digest().unwrap().unwrap().id, sent);

        let last = db.last_digest().unwrap().unwrap();
        assert_eq!(last.id, failed);
        assert_eq!(last.status, DigestStatus::Failed);
        assert_eq!(last.error.as_deref(), Some("smtp said no"));

        // A retry that succeeds clears the error.
        db.finish_digest(failed, Ok(at(3))).unwrap();
        let retried = db.sent_digest("2026-01-02").unwrap().unwrap();
        assert_eq!(retried.error, None);
        assert_eq!(db.last_sent_digest().unwrap().unwrap().id, failed);
    }

    #[test]
    fn the_newest_sent_digest_of_a_period_wins() {
        let db = Db::open_in_memory().unwrap();
        let first = db
            .insert_digest(&write("2026-01-01", "<a>"), at(0))
            .unwrap();
        db.finish_digest(first, Ok(at(1))).unwrap();
        let forced = db
            .insert_digest(&write("2026-01-01", "<b>"), at(2))
            .unwrap();
        db.finish_digest(forced, Ok(at(3))).unwrap();
        assert_eq!(db.sent_digest("2026-01-01").unwrap().unwrap().id, forced);
    }

    #[test]
    fn interrupted_digests_fail_and_finished_ones_are_left() {
        let db = Db::open_in_memory().unwrap();
        let sent = db
            .insert_digest(&write("2026-01-01", "<a>"), at(0))
            .unwrap();
        db.finish_digest(sent, Ok(at(1))).unwrap();
        let interrupted = db
            .insert_digest(&write("2026-01-02", "<b>"), at(2))
            .unwrap();

        assert_eq!(db.fail_interrupted_digests().unwrap(), 1);
        let row = db.last_digest().unwrap().unwrap();
        assert_eq!(row.id, interrupted);
        assert_eq!(row.status, DigestStatus::Failed);
        assert_eq!(
            row.error.as_deref(),
            Some("the process stopped while sending")
        );
        assert_eq!(db.sent_digest("2026-01-01").unwrap().unwrap().id, sent);
        assert_eq!(db.fail_interrupted_digests().unwrap(), 0);
    }
}

#[cfg(test)]
mod claims {
    use super::super::fixtures::at;
    use super::{Db, DigestWrite};

    /// The database itself refuses a second digest in flight for a period
    /// (the sender's lock keeps processes apart; this is the backstop).
    #[test]
    fn one_digest_in_flight_per_period() {
        let db = Db::open_in_memory().unwrap();
        let row = |period| DigestWrite {
            period,
            transport: "file",
            recipients: "[]",
            subject: "s",
            role_count: 0,
            message_id: "<m>",
            since: at(0),
            last_change_id: None,
        };
        let first = db.insert_digest(&row("2025-12-19"), at(1)).unwrap();
        assert!(db.insert_digest(&row("2025-12-19"), at(2)).is_err());
        // Another period is free; so is this one once the first is closed.
        db.insert_digest(&row("2025-12-20"), at(2)).unwrap();
        db.finish_digest(first, Ok(at(3))).unwrap();
        db.insert_digest(&row("2025-12-19"), at(4)).unwrap();
        // A stopped process's claim is released by the next sender.
        assert_eq!(db.fail_interrupted_digests().unwrap(), 2);
        db.insert_digest(&row("2025-12-19"), at(5)).unwrap();
    }
}
