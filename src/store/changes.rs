//! The `changes` and `role_versions` tables: what moved on a role and when,
//! and every distinct content of it.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Row, params};

use super::{Db, StoreTx};
use crate::role::timestamp;
use crate::track::FieldChange;

/// Recent changes per role id: (kind, new value), oldest first.
pub type RecentChanges = HashMap<String, Vec<(String, Option<String>)>>;

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

/// A version of a role, without its JSON.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub id: i64,
    pub run_id: i64,
    pub observed_at: String,
}

impl Db {
    /// Changes detected at or after `since`, oldest first.
    pub fn list_changes(&self, since: DateTime<Utc>) -> Result<Vec<ChangeRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "{CHANGE_SELECT} WHERE c.detected_at >= ?1 ORDER BY c.id"
        ))?;
        let rows = stmt.query_map([timestamp(since)], change_row)?;
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

    /// Every version's id, run and time (not its JSON), grouped by role.
    pub fn versions_by_role(&self) -> Result<HashMap<String, Vec<VersionRow>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT role_id, id, run_id, observed_at FROM role_versions ORDER BY id")?;
        let mut grouped: HashMap<String, Vec<VersionRow>> = HashMap::new();
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>("role_id")?, version_row(r)?))
        })?;
        for row in rows {
            let (role_id, version) = row?;
            grouped.entry(role_id).or_default().push(version);
        }
        Ok(grouped)
    }
}

impl StoreTx<'_> {
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

    /// Changes detected at or after `since`, per role: (kind, new value).
    pub fn recent_changes(&self, since: DateTime<Utc>) -> Result<RecentChanges> {
        let mut stmt = self.tx.prepare(
            "SELECT role_id, kind, new_value FROM changes WHERE detected_at >= ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([timestamp(since)], |r| {
            Ok((
                r.get::<_, String>("role_id")?,
                r.get::<_, String>("kind")?,
                r.get::<_, Option<String>>("new_value")?,
            ))
        })?;
        let mut changes = RecentChanges::new();
        for row in rows {
            let (role_id, kind, new_value) = row?;
            changes.entry(role_id).or_default().push((kind, new_value));
        }
        Ok(changes)
    }
}

/// The columns `change_row` reads, each aliased to its field's name (the
/// join would otherwise leave the names to SQLite).
const CHANGE_SELECT: &str = "SELECT c.id AS id, c.role_id AS role_id, c.run_id AS run_id,
        c.detected_at AS detected_at, c.kind AS kind, c.field AS field, c.old_value AS old_value,
        c.new_value AS new_value, r.title AS title, r.company AS company
     FROM changes c JOIN roles r ON r.id = c.role_id";

fn change_row(r: &Row<'_>) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        id: r.get("id")?,
        role_id: r.get("role_id")?,
        run_id: r.get("run_id")?,
        detected_at: r.get("detected_at")?,
        kind: r.get("kind")?,
        field: r.get("field")?,
        old_value: r.get("old_value")?,
        new_value: r.get("new_value")?,
        title: r.get("title")?,
        company: r.get("company")?,
    })
}

fn version_row(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        id: r.get("id")?,
        run_id: r.get("run_id")?,
        observed_at: r.get("observed_at")?,
    })
}
