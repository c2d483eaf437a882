//! The file as a whole: online backup, integrity check, and its size in
//! bytes and rows (for reports and benchmarks).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::Connection;

use super::Db;

impl Db {
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
            .query_map([], |r| r.get("integrity_check"))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(lines.join("; "))
    }

    /// `PRAGMA quick_check` of this database: "ok" or the problems (at most
    /// a few, on one line). Reads every page, so `status` runs it, not every
    /// site build.
    pub fn quick_check(&self) -> Result<String> {
        let mut stmt = self.conn.prepare("PRAGMA quick_check(5)")?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(lines.join("; "))
    }

    /// Rows in one of our tables (reports and benchmarks).
    pub fn count_rows(&self, table: &str) -> Result<i64> {
        const TABLES: [&str; 6] = [
            "runs",
            "roles",
            "role_rows",
            "role_versions",
            "changes",
            "digests",
        ];
        anyhow::ensure!(TABLES.contains(&table), "no table {table:?}");
        Ok(self.conn.query_row(
            &format!("SELECT COUNT(*) AS row_count FROM {table}"),
            [],
            |r| r.get("row_count"),
        )?)
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
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{db_with_run, insert_roles};
    use super::Db;

    #[test]
    fn count_rows_counts_our_tables_and_refuses_others() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1", "paraform:2"]);
        assert_eq!(db.count_rows("runs").unwrap(), 1);
        assert_eq!(db.count_rows("roles").unwrap(), 2);
        assert_eq!(db.count_rows("role_versions").unwrap(), 2);
        assert_eq!(db.count_rows("changes").unwrap(), 0);
        assert_eq!(db.count_rows("digests").unwrap(), 0);
        let error = db.count_rows("alerts; DROP TABLE runs").unwrap_err();
        assert!(error.to_string().starts_with("no table"), "{error}");
        assert!(db.count_rows("refinery_schema_history").is_err());
    }

    #[test]
    fn a_backup_is_a_whole_checked_copy() {
        let dir = tempfile::tempdir().unwrap();
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let copy = dir.path().join("copy.db");
        db.backup_to(&copy).unwrap();
        assert_eq!(Db::integrity_check(&copy).unwrap(), "ok");

        let reopened = Db::open(&copy).unwrap();
        assert_eq!(reopened.count_rows("roles").unwrap(), 1);
        assert_eq!(
            reopened.run(run_id).unwrap().unwrap().started_at,
            "2026-01-02T03:04:05Z"
        );
        assert!(reopened.size_bytes() > 0);
    }

    #[test]
    fn an_in_memory_database_has_no_size_on_disk() {
        assert_eq!(Db::open_in_memory().unwrap().size_bytes(), 0);
    }

    #[test]
    fn integrity_check_names_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.db");
        let error = Db::integrity_check(&missing).unwrap_err();
        assert!(format!("{error:#}").contains("missing.db"), "{error:#}");
    }
}
