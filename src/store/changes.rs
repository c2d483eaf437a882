//! The `changes` and `role_versions` tables: what moved on a role and when,
//! and every distinct content of it.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Row, params};

use super::{Db, StoreTx};
use crate::role::timestamp;
use crate::track::{ChangeKind, FieldChange};

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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, db_with_run, insert_roles};
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

        let by_role = db.changes_by_role().unwrap();
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

        let versions = db.versions_by_role().unwrap();
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
}
