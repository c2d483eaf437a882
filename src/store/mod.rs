//! The SQLite file: opening it (WAL, migrations) and the transaction a run
//! writes through. Every SQL statement of the program lives in this module,
//! one file per table; nothing outside it speaks SQL.
//!
//! Rows are read by column name, never by position: every SELECT names (or
//! aliases) what it reads, and each row type has one function that reads it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, Transaction};

mod alerts;
mod backup;
mod careers;
mod changes;
mod digests;
mod llm;
mod roles;
mod runs;

pub use alerts::AlertRow;
pub use careers::{CachedPosting, CareersPage};
pub use changes::{
    ChangeRow, KEYFRAME_INTERVAL, RecentChanges, RoleHistory, VersionJson, VersionRow,
};
pub use digests::{DigestRow, DigestStatus, DigestWrite};
pub use llm::{CachedAnswer, LlmUsage};
pub use roles::{
    DetailWrite, Evaluation, RoleExplained, RoleFilter, RoleRow, RoleStamp, RoleStatus,
    RoleSummary, RoleWrite, SiteRole, StoredRole,
};
pub use runs::{RunCounts, RunRow, RunStatus};

/// Typed values stored as their text: the migration's CHECK lists the same
/// words, and the types' `as_str`/`parse` are the one spelling in Rust.
macro_rules! text_column {
    ($($type:ty),*) => {$(
        impl rusqlite::types::ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }
        impl rusqlite::types::FromSql for $type {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
                <$type>::parse(text).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(
                        format!("{text:?} is not a known {}", stringify!($type)).into(),
                    )
                })
            }
        }
    )*};
}

/// Shows the stored word.
macro_rules! display_as_str {
    ($($type:ty),*) => {$(
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    )*};
}

display_as_str!(
    crate::evaluate::Tier,
    crate::evaluate::Trend,
    crate::track::ChangeKind,
    RunStatus,
    DigestStatus,
    RoleStatus
);

text_column!(
    crate::evaluate::Tier,
    crate::evaluate::Trend,
    crate::track::ChangeKind,
    RunStatus,
    DigestStatus,
    RoleStatus
);

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The database: one connection, migrated on open.
pub struct Db {
    conn: Connection,
    path: Option<PathBuf>,
}

/// The writes of one run, committed together or not at all.
pub struct StoreTx<'a> {
    tx: Transaction<'a>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and its parent
    /// directories, switches to WAL, and applies pending migrations.
    pub fn open(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating database directory {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening database {}", path.display()))?;
        let mut db = Db {
            conn,
            path: Some(path.to_path_buf()),
        };
        db.prepare()
            .with_context(|| format!("preparing database {}", path.display()))?;
        Ok(db)
    }

    /// A private in-memory database with the full schema, for tests.
    pub fn open_in_memory() -> Result<Db> {
        let mut db = Db {
            conn: Connection::open_in_memory()?,
            path: None,
        };
        db.prepare()?;
        Ok(db)
    }

    /// The connection, for tests that damage the database underneath.
    #[cfg(test)]
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn prepare(&mut self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(10))?;
        // Every statement a run repeats per role stays prepared (16 by default).
        self.conn.set_prepared_statement_cache_capacity(64);
        // journal_mode answers with a row, so it cannot go through execute().
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get("journal_mode"))?;
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        self.check_ours()?;
        // refinery's own errors quote whole migrations; one line instead.
        embedded::migrations::runner()
            .run(&mut self.conn)
            .map_err(|err| {
                let text = err.to_string();
                let first = text.lines().next().unwrap_or("").trim();
                anyhow::anyhow!(
                    "applying the schema failed ({}): restore a backup, or start a new database file",
                    crate::text::cut(first, 200)
                )
            })?;
        // Once, after V8: old full copies become patches (SQL cannot diff).
        self.compact_version_history()?;
        // Once, after V13: patches against the version before become
        // patches against their keyframe, what the view now reads.
        self.rebase_version_history()?;
        Ok(())
    }

    /// Refuses a file that is not ours: another program's database (tables
    /// but no migration history), or one a newer air-demand migrated.
    fn check_ours(&self) -> Result<()> {
        let table_count = |name: &str| -> Result<i64> {
            Ok(self.conn.query_row(
                "SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table' AND name LIKE ?1",
                [name],
                |r| r.get("n"),
            )?)
        };
        let history = table_count("refinery_schema_history")? > 0;
        if !history {
            if table_count("%")? > 0 {
                return Err(StoreError::Foreign.into());
            }
            return Ok(());
        }
        let known = embedded::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap_or(0);
        let version = self.schema_version()?;
        if version > known {
            return Err(StoreError::NewerSchema { version, known }.into());
        }
        Ok(())
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The newest applied migration's version.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) AS version FROM refinery_schema_history",
            [],
            |r| r.get("version"),
        )?)
    }

    /// Starts the one transaction a run's writes go through.
    pub fn transaction(&mut self) -> Result<StoreTx<'_>> {
        Ok(StoreTx {
            tx: self.conn.transaction()?,
        })
    }
}

impl StoreTx<'_> {
    pub fn commit(self) -> Result<()> {
        self.tx.commit().context("committing the run")
    }

    /// Runs one statement, prepared once per transaction: a run writes the
    /// same few statements for thousands of roles.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }
}

/// What the per-table tests share: a fixed clock and rows to build on.
/// A file this air-demand cannot use, said once, here.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "this file is an SQLite database of another program (its tables are not air-demand's): point [database] path at an air-demand database or a new file"
    )]
    Foreign,
    #[error(
        "this database was written by a newer air-demand (schema version {version}; this one knows up to {known}): upgrade air-demand, or use a backup made by this version"
    )]
    NewerSchema { version: i64, known: i64 },
}

/// What kind of trouble the store is in, read from an error's causes
/// (SQLite's codes and [`StoreError`]), for `main` and `status` to advise
/// on; `None` for anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    DiskFull,
    ReadOnly,
    Damaged,
    NewerSchema,
    Foreign,
}

impl Problem {
    pub fn of(err: &anyhow::Error) -> Option<Problem> {
        use rusqlite::ErrorCode;
        err.chain().find_map(|cause| {
            if let Some(store) = cause.downcast_ref::<StoreError>() {
                return Some(match store {
                    StoreError::Foreign => Problem::Foreign,
                    StoreError::NewerSchema { .. } => Problem::NewerSchema,
                });
            }
            match cause.downcast_ref::<rusqlite::Error>()? {
                rusqlite::Error::SqliteFailure(e, _) => match e.code {
                    ErrorCode::DiskFull => Some(Problem::DiskFull),
                    ErrorCode::ReadOnly | ErrorCode::PermissionDenied => Some(Problem::ReadOnly),
                    ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => Some(Problem::Damaged),
                    _ => None,
                },
                _ => None,
            }
        })
    }

    /// What to do, as the end of the error's line (`: …`); empty where the
    /// error already says it.
    pub fn advice(self) -> &'static str {
        match self {
            Problem::DiskFull => {
                ": free space on the disk that holds the database and run again (nothing was written)"
            }
            Problem::ReadOnly => ": make the database file and its directory writable by this user",
            Problem::Damaged => ": restore the latest backup (air-demand backup makes them)",
            Problem::NewerSchema | Problem::Foreign => "",
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::{Db, RoleWrite};
    use crate::role::RoleColumns;

    /// The tests' clock: `at(0)` is 2026-01-02T03:04:05Z, `at(n)` n minutes later.
    pub fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + Duration::minutes(minutes)
    }

    pub fn columns(title: &str) -> RoleColumns {
        RoleColumns {
            title: Some(title.to_string()),
            company: Some("Acme".to_string()),
            url: Some(format!("https://example.test/{title}")),
            salary_min: Some(150_000),
            salary_max: Some(200_000),
            fee_percent: Some(20.0),
            posted_at: Some("2026-01-01T00:00:00Z".to_string()),
        }
    }

    pub fn role_write<'a>(id: &'a str, columns: &'a RoleColumns, hash: &'a str) -> RoleWrite<'a> {
        RoleWrite {
            id,
            source: "paraform",
            external_id: id.trim_start_matches("paraform:"),
            columns,
            content_hash: hash,
            raw: "{\"id\":1}",
            raw_hash: "raw-hash",
        }
    }

    /// A database with one `running` run (versions need a run to belong to).
    pub fn db_with_run() -> (Db, i64) {
        let db = Db::open_in_memory().unwrap();
        let run_id = db.start_run(at(0), "manual").unwrap();
        (db, run_id)
    }

    /// Inserts active roles, each with one version, in one committed transaction.
    pub fn insert_roles(db: &mut Db, run_id: i64, ids: &[&str]) {
        let tx = db.transaction().unwrap();
        for id in ids {
            let columns = columns(id);
            let role = role_write(id, &columns, "hash-1");
            tx.insert_role(&role, at(0)).unwrap();
            tx.insert_version(id, run_id, at(0), "hash-1", role.raw)
                .unwrap();
        }
        tx.commit().unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::Db;

    #[test]
    fn a_row_read_through_its_column_names_reads_as_by_name() {
        use super::{ColumnNames, Columns};
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn
            .prepare("SELECT 1 AS one, 'two' AS Two, NULL AS three")
            .unwrap();
        let names = ColumnNames::of(&stmt);
        let mut rows = stmt.query([]).unwrap();
        let row = rows.next().unwrap().unwrap();
        let named = names.of_row(row);
        assert_eq!(named.get::<i64>("one").unwrap(), 1);
        // Names are matched regardless of case, as rusqlite matches them.
        assert_eq!(named.get::<String>("two").unwrap(), "two");
        assert_eq!(Columns::get::<String>(row, "TWO").unwrap(), "two");
        assert_eq!(named.get::<Option<i64>>("three").unwrap(), None);
        assert!(matches!(
            named.get::<i64>("four"),
            Err(rusqlite::Error::InvalidColumnName(name)) if name == "four"
        ));
    }

    #[test]
    fn in_memory_database_has_every_migration() {
        let db = Db::open_in_memory().unwrap();
        assert_eq!(db.schema_version().unwrap(), 18);
        assert_eq!(db.path(), None);
    }

    #[test]
    fn foreign_and_newer_databases_are_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("other.db");
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE runs (x); CREATE TABLE notes (y);")
            .unwrap();
        drop(conn);
        let refused = Db::open(&foreign).err().unwrap();
        assert_eq!(super::Problem::of(&refused), Some(super::Problem::Foreign));
        let err = format!("{refused:#}");
        assert!(err.contains("another program"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");

        let newer = dir.path().join("newer.db");
        drop(Db::open(&newer).unwrap());
        let conn = rusqlite::Connection::open(&newer).unwrap();
        conn.execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
             VALUES (99, 'future', '2030-01-01', '0')",
            [],
        )
        .unwrap();
        drop(conn);
        let refused = Db::open(&newer).err().unwrap();
        assert_eq!(
            super::Problem::of(&refused),
            Some(super::Problem::NewerSchema)
        );
        let err = format!("{refused:#}");
        assert!(err.contains("newer air-demand (schema version 99"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn open_creates_directories_and_remembers_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("air.db");
        let db = Db::open(&path).unwrap();
        assert_eq!(db.path(), Some(path.as_path()));
        assert_eq!(db.schema_version().unwrap(), 18);
    }

    #[test]
    fn a_dropped_transaction_writes_nothing() {
        let (mut db, run_id) = super::fixtures::db_with_run();
        {
            let tx = db.transaction().unwrap();
            let columns = super::fixtures::columns("paraform:1");
            let role = super::fixtures::role_write("paraform:1", &columns, "h");
            tx.insert_role(&role, super::fixtures::at(1)).unwrap();
            tx.insert_version("paraform:1", run_id, super::fixtures::at(1), "h", "{}")
                .unwrap();
        }
        assert_eq!(db.count_rows("roles").unwrap(), 0);
        assert_eq!(db.count_rows("role_versions").unwrap(), 0);
    }
}

/// Reading a row's columns by name. rusqlite looks a name up by comparing
/// it with every column's name, each time; a query that reads thousands of
/// rows of dozens of columns (the site's) resolves its names once instead
/// ([`ColumnNames`]).
pub(crate) trait Columns {
    fn get<T: rusqlite::types::FromSql>(&self, name: &str) -> rusqlite::Result<T>;
}

impl Columns for rusqlite::Row<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, name: &str) -> rusqlite::Result<T> {
        rusqlite::Row::get(self, name)
    }
}

/// A statement's column indices by name, read once.
pub(crate) struct ColumnNames(std::collections::HashMap<String, usize>);

impl ColumnNames {
    pub(crate) fn of(stmt: &rusqlite::Statement<'_>) -> ColumnNames {
        ColumnNames(
            stmt.column_names()
                .enumerate()
                .map(|(i, name)| (name.to_ascii_lowercase(), i))
                .collect(),
        )
    }

    /// `row`, read by name through these indices.
    pub(crate) fn of_row<'a, 'r>(&'a self, row: &'a rusqlite::Row<'r>) -> NamedRow<'a, 'r> {
        NamedRow { names: self, row }
    }
}

/// A row read by name through its statement's [`ColumnNames`].
pub(crate) struct NamedRow<'a, 'r> {
    names: &'a ColumnNames,
    row: &'a rusqlite::Row<'r>,
}

impl Columns for NamedRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, name: &str) -> rusqlite::Result<T> {
        let index = self
            .names
            .0
            .get(name)
            .copied()
            .or_else(|| self.names.0.get(&name.to_ascii_lowercase()).copied());
        match index {
            Some(index) => self.row.get(index),
            None => Err(rusqlite::Error::InvalidColumnName(name.to_string())),
        }
    }
}
