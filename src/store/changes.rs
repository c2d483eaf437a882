//! The `changes` table and role history: what moved on a role and when, and
//! every distinct content of it (`role_version_data`, read by people through
//! the `role_versions` view).
//!
//! A version is stored whole (a keyframe) or as a JSON merge patch against
//! its chain's keyframe, the role's latest keyframe before it
//! (`crate::patch`): history then grows with the fields that change, not
//! with copies of the whole role, and any version is one patch away from
//! its keyframe, here (in Rust, from the table) and in the view (in SQL,
//! one `json_patch` without recursion, which other tools such as DuckDB can
//! read). A keyframe every `KEYFRAME_INTERVAL` versions bounds how much a
//! patch gathers. Databases written before V13 held patches against the
//! version just before; `Db::prepare` rewrites them once
//! (`rebase_version_history`).

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde_json::Value;

use super::{Db, StoreTx};
use crate::patch;
use crate::role::timestamp;
use crate::track::{ChangeKind, FieldChange};

/// A role's versions are stored whole at least once every this many (its
/// first, then the 17th, 33rd, …), so a patch gathers the changes of at most
/// 15 versions. The V8 migration's comments and docs/database.md name the
/// same number.
pub const KEYFRAME_INTERVAL: usize = 16;

/// Roles whose chained patches are rewritten per transaction when a
/// database from before V13 is opened: a crash loses at most one batch's
/// work, and another process opening the file waits a batch, not the lot.
const REBASE_BATCH: usize = 200;

/// Recent changes per role id: (kind, new value), oldest first.
pub type RecentChanges = HashMap<String, Vec<(ChangeKind, Option<String>)>>;

/// A change as listed by `changes`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeRow {
    pub id: i64,
    pub role_id: String,
    /// `None` for changes made by `requalify`.
    pub run_id: Option<i64>,
    pub detected_at: String,
    pub kind: ChangeKind,
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

/// A version of a role with its full JSON, rebuilt from keyframe and patches.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionJson {
    pub id: i64,
    pub run_id: i64,
    pub observed_at: String,
    pub content_hash: String,
    /// The top-level fields that differ from the version before (empty for
    /// the first): what the version's patch touches.
    pub changed: Vec<String>,
    /// Stored whole rather than as a patch: how it is stored, not what it is.
    #[serde(skip)]
    pub keyframe: bool,
    /// The role's JSON as it was observed (volatile fields included).
    pub raw: Value,
}

/// A role and every version of it, oldest first (`roles --history`).
#[derive(Debug, Clone)]
pub struct RoleHistory {
    pub id: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub versions: Vec<VersionJson>,
}

impl Db {
    /// Changes newest first, one at a time (a cold start of 100,000 roles
    /// detects 100,000 changes in one run): those detected at or after
    /// `since`, or all, until `each` says to stop (false). Without the
    /// role's title and company.
    pub fn each_change_newest_first(
        &self,
        since: Option<DateTime<Utc>>,
        mut each: impl FnMut(ChangeRow) -> bool,
    ) -> Result<()> {
        // Two statements, so that a window reads through `detected_at`'s index.
        let window = match since {
            Some(_) => "c.detected_at >= ?1",
            None => "?1 IS NULL",
        };
        let mut stmt = self.conn.prepare(&format!(
            "{BARE_CHANGE_SELECT} WHERE {window} ORDER BY c.id DESC"
        ))?;
        let names = super::ColumnNames::of(&stmt);
        let since = since.map(timestamp);
        for row in stmt.query_map([since], |r| change_row(&names.of_row(r)))? {
            if !each(row?) {
                break;
            }
        }
        Ok(())
    }

    /// Changes detected at or after `since`, oldest first.
    pub fn list_changes(&self, since: DateTime<Utc>) -> Result<Vec<ChangeRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "{CHANGE_SELECT} WHERE c.detected_at >= ?1 ORDER BY c.id"
        ))?;
        let rows = stmt.query_map([timestamp(since)], |r| change_row(r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The changes of the roles `ids`, grouped by role, oldest first;
    /// without their roles' titles and companies (a role page names its
    /// changes after its view).
    pub fn changes_by_role(&self, ids: &[&str]) -> Result<HashMap<String, Vec<ChangeRow>>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{BARE_CHANGE_SELECT} WHERE c.role_id IN (SELECT value FROM json_each(?1)) ORDER BY c.id"
        ))?;
        let mut grouped: HashMap<String, Vec<ChangeRow>> = HashMap::new();
        for row in stmt.query_map([serde_json::to_string(ids)?], |r| change_row(r))? {
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
        let rows = stmt.query_map([after_id], |r| change_row(r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The changes one run wrote, in order.
    pub fn changes_in_run(&self, run_id: i64) -> Result<Vec<ChangeRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "{CHANGE_SELECT} WHERE c.run_id = ?1 ORDER BY c.id"
        ))?;
        let rows = stmt.query_map([run_id], |r| change_row(r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The versions of the roles `ids`: each one's id, run and time (not its
    /// JSON), grouped by role, oldest first.
    pub fn versions_by_role(&self, ids: &[&str]) -> Result<HashMap<String, Vec<VersionRow>>> {
        // The table, not the view: the view would rebuild every JSON unasked.
        let mut stmt = self.conn.prepare_cached(
            "SELECT role_id, id, run_id, observed_at FROM role_version_data
             WHERE role_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
        )?;
        let mut grouped: HashMap<String, Vec<VersionRow>> = HashMap::new();
        let rows = stmt.query_map([serde_json::to_string(ids)?], |r| {
            Ok((r.get::<_, String>("role_id")?, version_row(r)?))
        })?;
        for row in rows {
            let (role_id, version) = row?;
            grouped.entry(role_id).or_default().push(version);
        }
        Ok(grouped)
    }

    /// A role (by id, or by its source's id) and every version of it with
    /// its full JSON, oldest first; `None` when there is no such role.
    pub fn role_history(&self, id: &str) -> Result<Option<RoleHistory>> {
        let role = self
            .conn
            .query_row(
                "SELECT id, title, company FROM roles
                 WHERE id = ?1 OR external_id = ?1 ORDER BY id = ?1 DESC LIMIT 1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>("id")?,
                        r.get::<_, Option<String>>("title")?,
                        r.get::<_, Option<String>>("company")?,
                    ))
                },
            )
            .optional()?;
        let Some((id, title, company)) = role else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DATA_COLUMNS} FROM role_version_data WHERE role_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([&id], data_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut versions: Vec<VersionJson> = Vec::with_capacity(rows.len());
        let mut replay = Replay::new(Layout::FromKeyframe);
        for row in rows {
            let raw = replay.next(&row).with_context(|| {
                format!(
                    "version {} of {id} cannot be read: its stored JSON is not valid",
                    row.id
                )
            })?;
            let changed = versions
                .last()
                .map(|previous| patch::touched_fields(&previous.raw, &raw))
                .unwrap_or_default();
            versions.push(VersionJson {
                id: row.id,
                run_id: row.run_id,
                observed_at: row.observed_at,
                content_hash: row.content_hash,
                changed,
                keyframe: row.keyframe,
                raw,
            });
        }
        Ok(Some(RoleHistory {
            id,
            title,
            company,
            versions,
        }))
    }

    /// Rewrites history that is still all full copies (as the V8 migration
    /// left it) as patches with a keyframe every `KEYFRAME_INTERVAL`, role by
    /// role, in one transaction that also drops the migration's marker table;
    /// without the marker there is nothing to do. Run on every open, right
    /// after the migrations (SQL cannot compute merge patches). Every
    /// version's JSON is the same before and after.
    pub(super) fn compact_version_history(&mut self) -> Result<()> {
        // A read first: opening a compacted file takes no write lock.
        if !table_exists(&self.conn, COMPACTION_MARKER)? {
            return Ok(());
        }
        // IMMEDIATE: a second process opening the file at the same moment
        // waits, then finds the marker gone.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !table_exists(&tx, COMPACTION_MARKER)? {
            return Ok(());
        }
        let role_ids: Vec<String> = {
            let mut stmt = tx.prepare("SELECT DISTINCT role_id FROM role_version_data")?;
            stmt.query_map([], |r| r.get("role_id"))?
                .collect::<rusqlite::Result<_>>()?
        };
        for role_id in &role_ids {
            // All copies: they read the same in either layout.
            rewrite_role(&tx, role_id, Layout::Chained)
                .with_context(|| format!("compacting the versions of {role_id}"))?;
        }
        tx.execute_batch(&format!("DROP TABLE {COMPACTION_MARKER}"))?;
        tx.commit()
            .context("committing the compacted version history")?;
        Ok(())
    }

    /// Rewrites the patches of a database from before V13, each against the
    /// version before it, as patches against their chain's keyframe (what
    /// the V13 view reads), `REBASE_BATCH` roles per transaction: each role
    /// leaves `role_version_rebase_pending` in the transaction that rewrites
    /// it, and the table goes when it is empty. Idempotent and resumable
    /// (a killed open leaves the roles not yet done listed); without the
    /// table there is nothing to do. Every version's JSON is the same before
    /// and after.
    pub(super) fn rebase_version_history(&mut self) -> Result<()> {
        while self.rebase_version_batch(REBASE_BATCH)? {}
        Ok(())
    }

    /// One transaction of [`Db::rebase_version_history`]: at most `limit`
    /// roles. Whether there may be more to do.
    fn rebase_version_batch(&mut self, limit: usize) -> Result<bool> {
        if !table_exists(&self.conn, REBASE_MARKER)? {
            return Ok(false);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have finished it while this one waited.
        if !table_exists(&tx, REBASE_MARKER)? {
            return Ok(false);
        }
        let role_ids: Vec<String> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT role_id FROM {REBASE_MARKER} ORDER BY role_id LIMIT ?1"
            ))?;
            stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                r.get("role_id")
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        for role_id in &role_ids {
            rewrite_role(&tx, role_id, Layout::Chained)
                .with_context(|| format!("rewriting the versions of {role_id}"))?;
            tx.execute(
                &format!("DELETE FROM {REBASE_MARKER} WHERE role_id = ?1"),
                [role_id],
            )?;
        }
        let more = !role_ids.is_empty();
        if !more {
            tx.execute_batch(&format!("DROP TABLE {REBASE_MARKER}"))?;
        }
        tx.commit()
            .context("committing rewritten version history")?;
        Ok(more)
    }
}

impl StoreTx<'_> {
    /// Records a new version of a role: `raw` is the role as observed
    /// (volatile fields included), and reading the version back gives it
    /// (as JSON: the same value, not always the same text). Stored as a
    /// merge patch against the keyframe of the role's latest chain (found
    /// within the last `KEYFRAME_INTERVAL` rows), or whole when `store_as`
    /// says so.
    pub fn insert_version(
        &self,
        role_id: &str,
        run_id: i64,
        now: DateTime<Utc>,
        content_hash: &str,
        raw: &str,
    ) -> Result<()> {
        let chain = latest_chain(&self.tx, role_id)?;
        let keyframe = chain_keyframe(&chain);
        let new = serde_json::from_str::<Value>(raw).ok();
        let stored = store_as(keyframe.as_ref(), chain.len(), raw, new.as_ref());
        self.execute(
            "INSERT INTO role_version_data
                 (role_id, run_id, observed_at, content_hash, keyframe, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                role_id,
                run_id,
                timestamp(now),
                content_hash,
                stored.keyframe,
                stored.body
            ],
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
        self.execute(
            "INSERT INTO changes (role_id, run_id, detected_at, kind, field, old_value, new_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                role_id,
                run_id,
                timestamp(now),
                change.kind,
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
                r.get::<_, ChangeKind>("kind")?,
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
     FROM changes c JOIN role_rows r ON r.id = c.role_id";

/// [`CHANGE_SELECT`] without the role's title and company (`None`): for
/// readers that name a change after the role's view, which every role has
/// (a join per change costs a build of 10,000 roles 0.03 s).
const BARE_CHANGE_SELECT: &str = "SELECT c.id AS id, c.role_id AS role_id, c.run_id AS run_id,
        c.detected_at AS detected_at, c.kind AS kind, c.field AS field, c.old_value AS old_value,
        c.new_value AS new_value, NULL AS title, NULL AS company
     FROM changes c";

fn change_row(r: &impl super::Columns) -> rusqlite::Result<ChangeRow> {
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

/// A `role_version_data` row as stored: a full copy or a patch.
#[derive(Debug)]
struct DataRow {
    id: i64,
    run_id: i64,
    observed_at: String,
    content_hash: String,
    keyframe: bool,
    body: String,
}

/// The columns `data_row` reads.
const DATA_COLUMNS: &str = "id, run_id, observed_at, content_hash, keyframe, body";

fn data_row(r: &Row<'_>) -> rusqlite::Result<DataRow> {
    Ok(DataRow {
        id: r.get("id")?,
        run_id: r.get("run_id")?,
        observed_at: r.get("observed_at")?,
        content_hash: r.get("content_hash")?,
        keyframe: r.get("keyframe")?,
        body: r.get("body")?,
    })
}

/// How one version is written.
#[derive(Debug, PartialEq)]
struct Stored {
    keyframe: bool,
    body: String,
}

/// Whole or as a patch against `keyframe`, the value of the keyframe that
/// starts the role's latest chain, which holds `chain_length` versions:
/// whole when the role has no version yet (or its keyframe cannot be read),
/// when its chain already holds `KEYFRAME_INTERVAL` versions, when `raw` is
/// not JSON, when no merge patch can express the change from the keyframe
/// (a member set to null), and when the patch would not be smaller than the
/// copy (a patch gathers every change since its keyframe: once it weighs a
/// copy, a new keyframe costs no more and restarts the gathering, so
/// storage keeps growing with change). A whole version keeps `raw`'s text
/// as it is; a patch is minified JSON.
///
/// The patch is read back and replayed before it is trusted: serde_json
/// (without `float_roundtrip`) may read a float it printed one ulp off, and
/// a version must rebuild to exactly what was observed; such a rare change
/// is stored whole.
fn store_as(
    keyframe: Option<&Value>,
    chain_length: usize,
    raw: &str,
    new: Option<&Value>,
) -> Stored {
    let patch = match (keyframe, new) {
        (Some(keyframe), Some(new)) if (1..KEYFRAME_INTERVAL).contains(&chain_length) => {
            patch::diff(keyframe, new)
                .map(|patch| patch.to_string())
                .filter(|text| {
                    serde_json::from_str::<Value>(text)
                        .is_ok_and(|read| patch::apply(keyframe.clone(), &read) == *new)
                })
        }
        _ => None,
    };
    match patch {
        Some(body) if body.len() < raw.len() => Stored {
            keyframe: false,
            body,
        },
        _ => Stored {
            keyframe: true,
            body: raw.to_string(),
        },
    }
}

/// The role's latest keyframe and the versions after it, oldest first: what
/// the next version is stored against (empty when it has no version). One
/// backward walk of the index, at most `KEYFRAME_INTERVAL` rows: a chain is
/// never longer (a longer one would have no keyframe here, and the next
/// version is then stored whole).
fn latest_chain(conn: &Connection, role_id: &str) -> Result<Vec<DataRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DATA_COLUMNS} FROM role_version_data
         WHERE role_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let limit = i64::try_from(KEYFRAME_INTERVAL).unwrap_or(i64::MAX);
    let mut chain = Vec::new();
    for row in stmt.query_map(params![role_id, limit], data_row)? {
        let row = row?;
        let keyframe = row.keyframe;
        chain.push(row);
        if keyframe {
            break;
        }
    }
    chain.reverse();
    Ok(chain)
}

/// The JSON of a chain's keyframe, or `None` when the chain does not start
/// with one or its body is not JSON.
fn chain_keyframe(chain: &[DataRow]) -> Option<Value> {
    let first = chain.first().filter(|row| row.keyframe)?;
    serde_json::from_str(&first.body).ok()
}

/// What a stored patch is a patch against.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// The version just before it: how air-demand wrote patches from V8 to
    /// V12 (a version was rebuilt by replaying its chain).
    Chained,
    /// Its chain's keyframe, the role's latest keyframe before it: how they
    /// are written from V13 on, and what the `role_versions` view reads.
    FromKeyframe,
}

/// Reads one role's stored rows back into whole versions, oldest first.
struct Replay {
    layout: Layout,
    /// The value of the latest keyframe read (`None` if it was unreadable).
    keyframe: Option<Value>,
    /// The value of the row read last (`None` if it was unreadable).
    previous: Option<Value>,
}

impl Replay {
    fn new(layout: Layout) -> Replay {
        Replay {
            layout,
            keyframe: None,
            previous: None,
        }
    }

    /// The next row's JSON: a keyframe's body, or its patch applied to what
    /// the layout says it is against; `None` when that cannot be read, or
    /// the row's own body is not JSON.
    fn next(&mut self, row: &DataRow) -> Option<Value> {
        let body = serde_json::from_str::<Value>(&row.body).ok();
        let value = if row.keyframe {
            self.keyframe = body.clone();
            body
        } else {
            let base = match self.layout {
                Layout::Chained => self.previous.as_ref(),
                Layout::FromKeyframe => self.keyframe.as_ref(),
            };
            base.zip(body)
                .map(|(base, patch)| patch::apply(base.clone(), &patch))
        };
        self.previous = value.clone();
        value
    }
}

/// The marker tables of the two one-time rewrites done on open.
const COMPACTION_MARKER: &str = "role_version_compaction_pending";
const REBASE_MARKER: &str = "role_version_rebase_pending";

/// Whether a table of that name exists.
fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get("n"),
    )?;
    Ok(tables > 0)
}

/// One role's versions, read in the layout they were written in and
/// rewritten as `insert_version` writes them now: each against the keyframe
/// of its chain, keyframes decided afresh by `store_as`. Only the rows whose
/// storage changes are written.
fn rewrite_role(conn: &Connection, role_id: &str, written_as: Layout) -> Result<()> {
    let rows = {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {DATA_COLUMNS} FROM role_version_data WHERE role_id = ?1 ORDER BY id"
        ))?;
        stmt.query_map([role_id], data_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut update =
        conn.prepare_cached("UPDATE role_version_data SET keyframe = ?2, body = ?3 WHERE id = ?1")?;
    let mut replay = Replay::new(written_as);
    // The new chain: its keyframe's value and how many versions it holds.
    let mut keyframe: Option<Value> = None;
    let mut chain_length = 0;
    for row in &rows {
        // A row this cannot read (edited by hand) stays as it is, and the
        // next readable one starts a new chain.
        let Some(value) = replay.next(row) else {
            keyframe = None;
            chain_length = 0;
            continue;
        };
        // A keyframe's text is kept; a rebuilt patch's is written anew.
        let text = if row.keyframe {
            row.body.clone()
        } else {
            value.to_string()
        };
        let stored = store_as(keyframe.as_ref(), chain_length, &text, Some(&value));
        if stored.keyframe {
            keyframe = Some(value);
            chain_length = 1;
        } else {
            chain_length += 1;
        }
        if stored.keyframe != row.keyframe || stored.body != row.body {
            update.execute(params![row.id, stored.keyframe, stored.body])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::params;
    use serde_json::{Value, json};

    use super::super::fixtures::{at, columns, db_with_run, insert_roles, role_write};
    use super::{KEYFRAME_INTERVAL, Stored, patch, store_as};
    use crate::evaluate::Tier;
    use crate::role::timestamp;
    use crate::store::Db;
    use crate::track::{ChangeKind, FieldChange};

    fn change(kind: ChangeKind, field: &str, old: &str, new: &str) -> FieldChange {
        FieldChange::new(kind, field, Some(old.to_string()), Some(new.to_string()))
    }

    /// Writes `(role, run, minute, change)` rows in one transaction.
    fn record(db: &mut Db, changes: &[(&str, Option<i64>, i64, FieldChange)]) {
        let tx = db.transaction().unwrap();
        for (role_id, run_id, minute, change) in changes {
            tx.insert_change(role_id, *run_id, at(*minute), change)
                .unwrap();
        }
        tx.commit().unwrap();
    }

    fn ids(rows: &[super::ChangeRow]) -> Vec<i64> {
        rows.iter().map(|c| c.id).collect()
    }

    #[test]
    fn a_change_row_carries_every_field_and_its_role() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let salary = change(ChangeKind::SalaryIncrease, "salary_max", "100", "120");
        record(&mut db, &[("paraform:1", Some(run_id), 3, salary)]);
        let row = db.list_changes(at(0)).unwrap().remove(0);
        assert_eq!(row.role_id, "paraform:1");
        assert_eq!(row.run_id, Some(run_id));
        assert_eq!(row.detected_at, timestamp(at(3)));
        assert_eq!(row.kind, ChangeKind::SalaryIncrease);
        assert_eq!(row.field.as_deref(), Some("salary_max"));
        assert_eq!(row.old_value.as_deref(), Some("100"));
        assert_eq!(row.new_value.as_deref(), Some("120"));
        assert_eq!(row.title.as_deref(), Some("paraform:1"));
        assert_eq!(row.company.as_deref(), Some("Acme"));
    }

    #[test]
    fn changes_are_selected_by_time_id_and_run() {
        let (mut db, first_run) = db_with_run();
        let second_run = db.start_run(at(10), "manual").unwrap();
        insert_roles(&mut db, first_run, &["paraform:1", "paraform:2"]);
        let new = FieldChange {
            kind: ChangeKind::New,
            field: None,
            old_value: None,
            new_value: None,
        };
        let fee = change(ChangeKind::FeeChange, "fee_percent", "20", "25");
        let tier = change(
            ChangeKind::TierChange,
            "tier",
            Tier::Maybe.as_str(),
            Tier::Qualified.as_str(),
        );
        record(
            &mut db,
            &[
                ("paraform:1", Some(first_run), 0, new.clone()),
                ("paraform:2", Some(first_run), 0, new),
                ("paraform:1", Some(second_run), 10, fee),
                ("paraform:2", None, 20, tier),
            ],
        );
        let all = db.list_changes(at(0)).unwrap();
        assert_eq!(all.len(), 4);
        let all_ids = ids(&all);

        assert_eq!(ids(&db.list_changes(at(10)).unwrap()), all_ids[2..]);
        assert_eq!(ids(&db.changes_after(all_ids[1]).unwrap()), all_ids[2..]);
        assert!(db.changes_after(all_ids[3]).unwrap().is_empty());
        assert_eq!(ids(&db.changes_in_run(first_run).unwrap()), all_ids[..2]);
        assert_eq!(ids(&db.changes_in_run(second_run).unwrap()), [all_ids[2]]);
        assert_eq!(all[3].run_id, None, "requalify's changes belong to no run");

        let by_role = db.changes_by_role(&["paraform:1", "paraform:2"]).unwrap();
        assert_eq!(ids(&by_role["paraform:1"]), [all_ids[0], all_ids[2]]);
        assert_eq!(ids(&by_role["paraform:2"]), [all_ids[1], all_ids[3]]);
    }

    #[test]
    fn recent_changes_gives_kind_and_new_value_per_role_oldest_first() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1", "paraform:2"]);
        record(
            &mut db,
            &[
                (
                    "paraform:1",
                    Some(run_id),
                    0,
                    change(ChangeKind::HiringIncrease, "hires", "0", "1"),
                ),
                (
                    "paraform:1",
                    Some(run_id),
                    5,
                    change(ChangeKind::HiringIncrease, "hires", "1", "2"),
                ),
                (
                    "paraform:2",
                    Some(run_id),
                    6,
                    change(ChangeKind::InterviewIncrease, "interviews", "3", "4"),
                ),
            ],
        );
        let tx = db.transaction().unwrap();
        let recent = tx.recent_changes(at(5)).unwrap();
        assert_eq!(
            recent["paraform:1"],
            [(ChangeKind::HiringIncrease, Some("2".to_string()))]
        );
        assert_eq!(
            recent["paraform:2"],
            [(ChangeKind::InterviewIncrease, Some("4".to_string()))]
        );
        assert_eq!(tx.recent_changes(at(0)).unwrap()["paraform:1"].len(), 2);
        assert!(tx.recent_changes(at(7)).unwrap().is_empty());
    }

    #[test]
    fn versions_are_grouped_by_role_in_order() {
        let (mut db, first_run) = db_with_run();
        let second_run = db.start_run(at(10), "manual").unwrap();
        insert_roles(&mut db, first_run, &["paraform:1", "paraform:2"]);
        let tx = db.transaction().unwrap();
        tx.insert_version("paraform:1", second_run, at(10), "hash-2", "{\"id\":2}")
            .unwrap();
        tx.commit().unwrap();

        let versions = db.versions_by_role(&["paraform:1", "paraform:2"]).unwrap();
        let first = &versions["paraform:1"];
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].run_id, first_run);
        assert_eq!(first[0].observed_at, timestamp(at(0)));
        assert_eq!(first[1].run_id, second_run);
        assert_eq!(first[1].observed_at, timestamp(at(10)));
        assert!(first[0].id < first[1].id);
        assert_eq!(versions["paraform:2"].len(), 1);
        assert_eq!(db.count_rows("role_versions").unwrap(), 3);
    }

    /// A role JSON of the marketplace's size (~2.6 KB): `n` moves the
    /// fields a run typically sees change, and the volatile ones.
    fn role_json(role: usize, n: usize) -> Value {
        let mut locations = vec!["New York, NY", "San Francisco, CA", "Remote (US)"];
        locations.truncate(1 + (role + n / 3) % 3);
        json!({
            "id": format!("role-{role}"),
            "name": format!("Senior Engineer {role}"),
            "status": "OPEN",
            "salaryLowerBound": 150_000 + role * 1000,
            "salaryUpperBound": 200_000 + role * 1000 + (n / 2) * 5000,
            "percent_fee": 20.0,
            "hiring_count": 1 + n / 5,
            "total_interviewing": n,
            "total_hired": n / 7,
            "approved_recruiters_count": 3 + n,
            "responsiveness_days": 1.5,
            "recruiter_last_active": format!("2026-01-{:02}T10:00:00.000Z", 1 + n % 28),
            "locations": locations,
            "workplace_type": "HYBRID",
            "company": {
                "name": format!("Company {role}"),
                "size": 40 + role,
                "foundingYear": 2019,
                "fundingAmount": "$25M",
                "industries": ["Developer Tools", "Infrastructure"],
                "investors": ["Sequoia", "Benchmark", "Index Ventures"],
            },
            "role_metadata": {"interview_stages": 4, "manager_rating": 4.5},
            "tech_stack": ["Rust", "TypeScript", "PostgreSQL", "Kubernetes", "AWS"],
            "highlights": ["Series B", "Remote friendly", "Top-tier investors"],
            "description": "We are looking for a senior engineer to build the core of our platform. ".repeat(20),
            "requirements": ["5+ years of backend experience", "Distributed systems", "Rust or C++"],
            "equity": if n % 12 == 11 { Value::Null } else { json!("0.1% - 0.3%") },
        })
    }

    /// Every version of a role, rebuilt in SQL by the public view.
    fn view_versions(db: &Db, role_id: &str) -> Vec<Value> {
        let mut stmt = db
            .conn
            .prepare("SELECT raw FROM role_versions WHERE role_id = ?1 ORDER BY id")
            .unwrap();
        stmt.query_map([role_id], |r| r.get::<_, String>("raw"))
            .unwrap()
            .map(|raw| serde_json::from_str(&raw.unwrap()).unwrap())
            .collect()
    }

    /// The view's versions of paraform:1 from the `skip`th on.
    fn view_versions_from(db: &Db, skip: usize) -> Vec<Value> {
        let mut stmt = db
            .conn
            .prepare("SELECT raw FROM role_versions WHERE role_id = 'paraform:1' ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>("raw"))
            .unwrap()
            .skip(skip)
            .map(|raw| serde_json::from_str(&raw.unwrap()).unwrap())
            .collect()
    }

    /// `(keyframe, body)` of a role's stored rows, in order.
    fn stored_rows(db: &Db, role_id: &str) -> Vec<(bool, String)> {
        let mut stmt = db
            .conn
            .prepare("SELECT keyframe, body FROM role_version_data WHERE role_id = ?1 ORDER BY id")
            .unwrap();
        stmt.query_map([role_id], |r| Ok((r.get("keyframe")?, r.get("body")?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn versions_are_patches_between_keyframes_and_read_back_whole() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let total = 2 * KEYFRAME_INTERVAL + 3;
        let mut written = vec![json!({"id": 1})];
        let tx = db.transaction().unwrap();
        for n in 1..total {
            // Never null: only the interval makes keyframes here.
            let mut raw = role_json(1, n);
            raw["equity"] = json!("0.2%");
            tx.insert_version("paraform:1", run_id, at(n as i64), "h", &raw.to_string())
                .unwrap();
            written.push(raw);
        }
        tx.commit().unwrap();

        let rows = stored_rows(&db, "paraform:1");
        assert_eq!(rows.len(), total);
        let keyframes: Vec<usize> = (0..total).filter(|&i| rows[i].0).collect();
        // The first `{"id":1}` is tiny: version 1 is whole too, as its patch
        // would not be smaller than the copy; then one every interval.
        assert_eq!(
            keyframes,
            [0, 1, 1 + KEYFRAME_INTERVAL, 1 + 2 * KEYFRAME_INTERVAL]
        );
        for (keyframe, body) in &rows[2..KEYFRAME_INTERVAL] {
            assert!(!keyframe);
            assert!(body.len() < 300, "a patch, not a copy: {body}");
        }

        let history = db.role_history("paraform:1").unwrap().unwrap();
        let rebuilt: Vec<Value> = history.versions.iter().map(|v| v.raw.clone()).collect();
        assert_eq!(rebuilt, written, "rebuilt in Rust");
        assert_eq!(
            view_versions(&db, "paraform:1"),
            written,
            "rebuilt by the view"
        );
        assert_eq!(history.versions[0].changed, Vec::<String>::new());
        assert_eq!(
            history.versions[3].changed,
            [
                "approved_recruiters_count",
                "locations",
                "recruiter_last_active",
                "total_interviewing"
            ]
        );
        assert_eq!(history.versions[3].run_id, run_id);
        assert_eq!(history.versions[3].observed_at, timestamp(at(3)));
        // The source's own id finds the role too; an unknown one is `None`.
        assert_eq!(db.role_history("1").unwrap().unwrap().id, "paraform:1");
        assert!(db.role_history("paraform:404").unwrap().is_none());
        assert_eq!(db.count_rows("role_versions").unwrap(), total as i64);
    }

    #[test]
    fn a_member_set_to_null_is_stored_whole() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let mut nulled = role_json(1, 3);
        nulled["equity"] = Value::Null;
        let versions = [
            role_json(1, 1),
            role_json(1, 2),
            nulled,          // equity becomes null
            role_json(1, 4), // and a string again
        ];
        let tx = db.transaction().unwrap();
        for (n, raw) in versions.iter().enumerate() {
            tx.insert_version("paraform:1", run_id, at(n as i64), "h", &raw.to_string())
                .unwrap();
        }
        tx.commit().unwrap();
        let kinds: Vec<bool> = stored_rows(&db, "paraform:1").iter().map(|r| r.0).collect();
        assert_eq!(kinds, [true, true, false, true, false]);
        let mut expected = vec![json!({"id": 1})];
        expected.extend(versions);
        assert_eq!(view_versions(&db, "paraform:1"), expected);
        let history = db.role_history("paraform:1").unwrap().unwrap();
        assert_eq!(history.versions[3].changed[0], "approved_recruiters_count");
        assert!(history.versions[3].changed.contains(&"equity".to_string()));
    }

    #[test]
    fn raw_text_is_kept_in_a_keyframe_and_equal_as_json_in_a_patch() {
        let (mut db, run_id) = db_with_run();
        let columns = columns("paraform:1");
        let tx = db.transaction().unwrap();
        tx.insert_role(&role_write("paraform:1", &columns, "h"), at(0))
            .unwrap();
        let spaced = format!("{:#}", role_json(1, 1));
        tx.insert_version("paraform:1", run_id, at(1), "h", &spaced)
            .unwrap();
        tx.insert_version("paraform:1", run_id, at(2), "h", "not json")
            .unwrap();
        tx.insert_version("paraform:1", run_id, at(3), "h", &spaced)
            .unwrap();
        let later = format!("{:#}", role_json(1, 2));
        tx.insert_version("paraform:1", run_id, at(4), "h", &later)
            .unwrap();
        tx.commit().unwrap();
        let rows = stored_rows(&db, "paraform:1");
        assert_eq!(rows[0], (true, spaced.clone()), "kept as it came");
        assert_eq!(rows[1], (true, "not json".to_string()));
        assert_eq!(rows[2], (true, spaced), "no patch on what cannot be read");
        assert!(!rows[3].0);
        let later: Value = serde_json::from_str(&later).unwrap();
        assert_eq!(view_versions_from(&db, 3).last(), Some(&later));
        let history = db.role_history("paraform:1");
        let error = format!("{:#}", history.unwrap_err());
        assert!(error.contains("cannot be read"), "{error}");
    }

    #[test]
    fn store_as_explains_each_keyframe() {
        let old = role_json(1, 1);
        let new = role_json(1, 2);
        let raw = new.to_string();
        let as_patch = store_as(Some(&old), 1, &raw, Some(&new));
        assert!(!as_patch.keyframe);
        assert_eq!(
            patch::apply(old.clone(), &serde_json::from_str(&as_patch.body).unwrap()),
            new
        );
        let whole = |stored: Stored| stored.keyframe && stored.body == raw;
        assert!(whole(store_as(None, 0, &raw, Some(&new))), "first");
        assert!(whole(store_as(Some(&old), 0, &raw, Some(&new))), "no chain");
        assert!(
            whole(store_as(Some(&old), KEYFRAME_INTERVAL, &raw, Some(&new))),
            "interval"
        );
        assert!(!store_as(Some(&old), KEYFRAME_INTERVAL - 1, &raw, Some(&new)).keyframe);
        assert!(whole(store_as(Some(&old), 1, &raw, None)), "not JSON");
        let mut nulled = role_json(1, 3);
        nulled["equity"] = Value::Null;
        let nulled_raw = nulled.to_string();
        assert!(
            store_as(Some(&new), 1, &nulled_raw, Some(&nulled)).keyframe,
            "null"
        );
        // A float serde_json would not read back as the same number.
        let mut exact = new.clone();
        exact["responsiveness_days"] = json!(-915447.1451513661_f64);
        let exact_raw = exact.to_string();
        assert!(
            store_as(Some(&new), 1, &exact_raw, Some(&exact)).keyframe,
            "float"
        );
        let tiny = json!({"a": 1});
        let stored = store_as(Some(&json!({"b": 1})), 1, "{\"a\":1}", Some(&tiny));
        assert!(stored.keyframe, "a patch no smaller than the copy");
    }

    /// A database written by the previous release (schema 7, every version a
    /// full copy) opens, and every version reads the same before and after.
    #[test]
    fn an_old_history_of_copies_migrates_to_patches_losslessly() {
        const ROLES: usize = 6;
        const VERSIONS: usize = 40;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        super::super::embedded::migrations::runner()
            .set_target(refinery::Target::Version(7))
            .run(&mut conn)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO runs (id, started_at, status) VALUES (1, '2026-01-01T00:00:00Z', 'ok')",
        )
        .unwrap();
        let mut before: Vec<(i64, String, Value)> = Vec::new();
        for role in 0..ROLES {
            let id = format!("paraform:role-{role}");
            conn.execute(
                "INSERT INTO roles (id, source, external_id, status, first_seen_at,
                     last_seen_at, content_hash, raw, last_changed_at)
                 VALUES (?1, 'paraform', ?2, 'active', 't', 't', 'h', '{}', 't')",
                [&id, &format!("role-{role}")],
            )
            .unwrap();
        }
        // Interleaved as runs write them: each run, every role that changed.
        for n in 0..VERSIONS {
            for role in 0..ROLES {
                if role % 3 == 2 && n % 2 == 1 {
                    continue;
                }
                let raw = role_json(role, n);
                let text = if role == 0 {
                    format!("{raw:#}")
                } else {
                    raw.to_string()
                };
                conn.execute(
                    "INSERT INTO role_versions (role_id, run_id, observed_at, content_hash, raw)
                     VALUES (?1, 1, ?2, 'h', ?3)",
                    params![
                        format!("paraform:role-{role}"),
                        timestamp(at(n as i64)),
                        text
                    ],
                )
                .unwrap();
                before.push((
                    conn.last_insert_rowid(),
                    format!("paraform:role-{role}"),
                    raw,
                ));
            }
        }
        let bytes_before: i64 = conn
            .query_row("SELECT SUM(length(raw)) FROM role_versions", [], |r| {
                r.get(0)
            })
            .unwrap();
        drop(conn);

        let db = Db::open(&path).unwrap();
        assert!(db.schema_version().unwrap() >= 8, "V8 and any later");
        assert_eq!(db.count_rows("role_versions").unwrap(), before.len() as i64);
        let marker: i64 = db
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'role_version_compaction_pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(marker, 0, "compacted once, marker gone");

        // Every version, by id, through the view (SQL) and in Rust.
        let mut stmt = db
            .conn
            .prepare("SELECT id, role_id, raw FROM role_versions ORDER BY id")
            .unwrap();
        let view: Vec<(i64, String, Value)> = stmt
            .query_map([], |r| {
                let raw: String = r.get("raw")?;
                Ok((
                    r.get("id")?,
                    r.get("role_id")?,
                    serde_json::from_str(&raw).unwrap(),
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        drop(stmt);
        assert_eq!(view, before, "the view rebuilds every version");
        for role in 0..ROLES {
            let id = format!("paraform:role-{role}");
            let history = db.role_history(&id).unwrap().unwrap();
            let rust: Vec<(i64, String, Value)> = history
                .versions
                .iter()
                .map(|v| (v.id, id.clone(), v.raw.clone()))
                .collect();
            let expected: Vec<_> = before.iter().filter(|v| v.1 == id).cloned().collect();
            assert_eq!(rust, expected, "rebuilt in Rust: {id}");

            // A keyframe first and at most every interval; the rest patches.
            let rows = stored_rows(&db, &id);
            assert!(rows[0].0);
            let mut run = 0;
            for (keyframe, body) in &rows {
                run = if *keyframe { 1 } else { run + 1 };
                assert!(run <= KEYFRAME_INTERVAL);
                if !keyframe {
                    assert!(body.len() < 400, "{id}: a patch, not a copy: {body}");
                }
            }
            let patches = rows.iter().filter(|r| !r.0).count();
            assert!(patches * 2 > rows.len(), "{id}: mostly patches");
        }
        // A keyframe kept from the old table keeps its text (role 0's is spaced).
        let first: String = db
            .conn
            .query_row(
                "SELECT raw FROM role_versions WHERE role_id = 'paraform:role-0' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(first, format!("{:#}", role_json(0, 0)));

        let bytes_after: i64 = db
            .conn
            .query_row("SELECT SUM(length(body)) FROM role_version_data", [], |r| {
                r.get(0)
            })
            .unwrap();
        eprintln!(
            "version bytes: {bytes_before} before, {bytes_after} after ({} versions)",
            before.len()
        );
        assert!(
            bytes_after * 4 < bytes_before,
            "{bytes_before} → {bytes_after}"
        );

        // Opening again changes nothing; new versions go on from the chain.
        drop(db);
        let mut db = Db::open(&path).unwrap();
        let after_reopen: i64 = db
            .conn
            .query_row("SELECT SUM(length(body)) FROM role_version_data", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(after_reopen, bytes_after);
        let next = role_json(1, VERSIONS);
        let tx = db.transaction().unwrap();
        tx.insert_version("paraform:role-1", 1, at(99), "h", &next.to_string())
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(view_versions(&db, "paraform:role-1").last(), Some(&next));
    }

    /// `(id, role, JSON)` lists compared, the first difference named (a
    /// whole list of 2.6 KB roles is no failure message).
    fn assert_same_versions(
        actual: &[(i64, String, Value)],
        expected: &[(i64, String, Value)],
        what: &str,
    ) {
        for (a, e) in actual.iter().zip(expected) {
            assert!(
                a == e,
                "{what}: version {} of {} differs from version {} of {} in {:?}",
                a.0,
                a.1,
                e.0,
                e.1,
                patch::touched_fields(&a.2, &e.2)
            );
        }
        assert_eq!(actual.len(), expected.len(), "{what}: how many versions");
    }

    /// A database written by schema 12 (patches against the version before,
    /// read by a recursive view) opens with its patches rewritten against
    /// their keyframes: every version reads the same before and after, in
    /// SQL and in Rust, and an interrupted rewrite goes on where it stopped.
    #[test]
    fn an_old_chained_history_is_rewritten_against_keyframes_losslessly() {
        const ROLES: usize = 5;
        const VERSIONS: usize = 40;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v12.db");
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        super::super::embedded::migrations::runner()
            .set_target(refinery::Target::Version(12))
            .run(&mut conn)
            .unwrap();
        // As air-demand leaves a schema-12 file: V8's compaction done.
        conn.execute_batch(
            "DROP TABLE role_version_compaction_pending;
             INSERT INTO runs (id, started_at, status) VALUES (1, '2026-01-01T00:00:00Z', 'ok')",
        )
        .unwrap();
        let role_id = |role: usize| format!("paraform:role-{role}");
        for role in 0..ROLES {
            conn.execute(
                "INSERT INTO role_rows (id, source, external_id, status, first_seen_at,
                     content_hash, raw, last_changed_at)
                 VALUES (?1, 'paraform', ?2, 'active', 't', 'h', '{}', 't')",
                [role_id(role), format!("role-{role}")],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO role_seen (role_id, last_seen_at) VALUES (?1, 't')",
                [role_id(role)],
            )
            .unwrap();
        }
        // Written as schema 12 wrote them: each version against the one
        // before (`store_as` given the previous version), interleaved by run.
        let mut expected: Vec<(i64, String, Value)> = Vec::new();
        let mut chains: Vec<(Option<Value>, usize)> = vec![(None, 0); ROLES];
        for n in 0..VERSIONS {
            for (role, (previous, length)) in chains.iter_mut().enumerate() {
                if role % 2 == 1 && n % 3 == 1 {
                    continue;
                }
                let value = role_json(role, n);
                let text = if role == 0 {
                    format!("{value:#}")
                } else {
                    value.to_string()
                };
                let stored = store_as(previous.as_ref(), *length, &text, Some(&value));
                *length = if stored.keyframe { 1 } else { *length + 1 };
                *previous = Some(value.clone());
                conn.execute(
                    "INSERT INTO role_version_data
                         (role_id, run_id, observed_at, content_hash, keyframe, body)
                     VALUES (?1, 1, ?2, 'h', ?3, ?4)",
                    params![
                        role_id(role),
                        timestamp(at(n as i64)),
                        stored.keyframe,
                        stored.body
                    ],
                )
                .unwrap();
                expected.push((conn.last_insert_rowid(), role_id(role), value));
            }
        }
        let versions = |conn: &rusqlite::Connection| -> Vec<(i64, String, Value)> {
            let mut stmt = conn
                .prepare("SELECT id, role_id, raw FROM role_versions ORDER BY id")
                .unwrap();
            stmt.query_map([], |r| {
                let raw: String = r.get("raw")?;
                Ok((
                    r.get("id")?,
                    r.get("role_id")?,
                    serde_json::from_str(&raw).unwrap(),
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        };
        assert_same_versions(&versions(&conn), &expected, "schema 12's recursive view");
        let body_bytes = |conn: &rusqlite::Connection| -> i64 {
            conn.query_row("SELECT SUM(length(body)) FROM role_version_data", [], |r| {
                r.get(0)
            })
            .unwrap()
        };
        let chained_bytes = body_bytes(&conn);
        drop(conn);

        // The migrations, then one batch of two roles, as if the process
        // that opened the file had been killed after its first transaction.
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        super::super::embedded::migrations::runner()
            .run(&mut conn)
            .unwrap();
        let mut db = Db {
            conn,
            path: Some(path.clone()),
        };
        let pending = |db: &Db| -> Vec<String> {
            let mut stmt = db
                .conn
                .prepare("SELECT role_id FROM role_version_rebase_pending ORDER BY role_id")
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(pending(&db), (0..ROLES).map(role_id).collect::<Vec<_>>());
        assert!(db.rebase_version_batch(2).unwrap());
        assert_eq!(pending(&db), (2..ROLES).map(role_id).collect::<Vec<_>>());
        let done: Vec<_> = expected
            .iter()
            .filter(|v| v.1 == role_id(0) || v.1 == role_id(1))
            .cloned()
            .collect();
        let read: Vec<_> = versions(&db.conn)
            .into_iter()
            .filter(|v| v.1 == role_id(0) || v.1 == role_id(1))
            .collect();
        assert_same_versions(&read, &done, "the roles of the first batch");
        drop(db);

        let db = Db::open(&path).unwrap();
        assert_same_versions(
            &versions(&db.conn),
            &expected,
            "the view, without recursion",
        );
        let marker: i64 = db
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'role_version_rebase_pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(marker, 0, "rewritten once, marker gone");
        for role in 0..ROLES {
            let history = db.role_history(&role_id(role)).unwrap().unwrap();
            let rust: Vec<(i64, String, Value)> = history
                .versions
                .iter()
                .map(|v| (v.id, role_id(role), v.raw.clone()))
                .collect();
            let wanted: Vec<_> = expected
                .iter()
                .filter(|v| v.1 == role_id(role))
                .cloned()
                .collect();
            assert_same_versions(&rust, &wanted, "rebuilt in Rust");
            // Every patch is against its chain's keyframe, within the interval.
            let rows = stored_rows(&db, &role_id(role));
            let mut keyframe: Option<Value> = None;
            let mut length = 0;
            for ((is_keyframe, body), version) in rows.iter().zip(&wanted) {
                if *is_keyframe {
                    keyframe = Some(serde_json::from_str(body).unwrap());
                    length = 1;
                    continue;
                }
                length += 1;
                assert!(length <= KEYFRAME_INTERVAL);
                let patch: Value = serde_json::from_str(body).unwrap();
                let base = keyframe.clone().unwrap();
                assert_eq!(patch::apply(base, &patch), version.2);
            }
            assert!(rows.iter().filter(|r| !r.0).count() * 2 > rows.len());
        }
        let first: String = db
            .conn
            .query_row(
                "SELECT raw FROM role_versions WHERE role_id = 'paraform:role-0' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            first,
            format!("{:#}", role_json(0, 0)),
            "keyframe text kept"
        );
        let rebased_bytes = body_bytes(&db.conn);
        let copy_bytes: usize = expected.iter().map(|v| v.2.to_string().len()).sum();
        eprintln!(
            "version bytes: {copy_bytes} as copies, {chained_bytes} chained, {rebased_bytes} from keyframes"
        );
        assert!(rebased_bytes * 4 < copy_bytes as i64);

        // Opening again changes nothing; new versions go on from the chain.
        drop(db);
        let mut db = Db::open(&path).unwrap();
        assert_eq!(body_bytes(&db.conn), rebased_bytes);
        let next = role_json(1, VERSIONS);
        let tx = db.transaction().unwrap();
        tx.insert_version(&role_id(1), 1, at(99), "h", &next.to_string())
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(view_versions(&db, &role_id(1)).last(), Some(&next));
    }

    /// V12 rebuilds `changes` for `UNFOLLOWED`: every row, id, index and
    /// foreign key of a schema-11 database survives it.
    #[test]
    fn the_unfollowed_kind_arrives_keeping_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.db");
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        super::super::embedded::migrations::runner()
            .set_target(refinery::Target::Version(11))
            .run(&mut conn)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO runs (id, started_at, status) VALUES (1, '2026-01-01T00:00:00Z', 'ok');
             INSERT INTO role_rows (id, source, external_id, status, first_seen_at, content_hash,
                                    raw, last_changed_at)
             VALUES ('lever:acme/1', 'lever', 'acme/1', 'active', '2026-01-01T00:00:00Z', 'h',
                     '{}', '2026-01-01T00:00:00Z');
             INSERT INTO role_seen (role_id, last_seen_at) VALUES ('lever:acme/1', '2026-01-01T00:00:00Z');
             INSERT INTO changes (id, role_id, run_id, detected_at, kind, field, old_value, new_value)
             VALUES (7, 'lever:acme/1', 1, '2026-01-01T00:00:00Z', 'NEW', NULL, NULL, NULL),
                    (9, 'lever:acme/1', NULL, '2026-01-02T00:00:00Z', 'TIER_CHANGE', 'tier', 'SKIP', 'MAYBE');",
        )
        .unwrap();
        let rows = |conn: &rusqlite::Connection| -> Vec<String> {
            let mut stmt = conn.prepare("SELECT * FROM changes ORDER BY id").unwrap();
            stmt.query_map([], |r| {
                let cells: Vec<String> = (0..8)
                    .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                    .collect();
                Ok(cells.join("|"))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        let before = rows(&conn);
        drop(conn);

        let mut db = Db::open(&path).unwrap();
        assert!(db.schema_version().unwrap() >= 12, "V12 and any later");
        assert_eq!(rows(&db.conn), before);
        let indexes: i64 = db
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'changes'
                   AND name IN ('changes_detected_at', 'changes_role', 'changes_kind')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 3);
        let tx = db.transaction().unwrap();
        let unfollowed = FieldChange::new(ChangeKind::Unfollowed, "status", None, None);
        tx.insert_change("lever:acme/1", Some(1), at(3), &unfollowed)
            .unwrap();
        assert!(
            tx.insert_change("lever:nobody/1", Some(1), at(3), &unfollowed)
                .is_err(),
            "role_id still references the roles"
        );
        tx.commit().unwrap();
        let problems: i64 = db
            .conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(problems, 0);
    }
}
