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

    /// Rows in one of our tables (reports and benchmarks).
    pub fn count_rows(&self, table: &str) -> Result<i64> {
        const TABLES: [&str; 5] = ["runs", "roles", "role_versions", "changes", "digests"];
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
