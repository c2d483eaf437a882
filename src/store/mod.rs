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
mod changes;
mod digests;
mod roles;
mod runs;

pub use alerts::AlertRow;
pub use changes::{ChangeRow, RecentChanges, VersionRow};
pub use digests::{DigestRow, DigestWrite};
pub use roles::{
    DetailWrite, Evaluation, RoleExplained, RoleFilter, RoleRow, RoleWrite, SiteRole, StoredRole,
};
pub use runs::{RunCounts, RunRow};

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

    fn prepare(&mut self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(10))?;
        // journal_mode answers with a row, so it cannot go through execute().
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get("journal_mode"))?;
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        embedded::migrations::runner()
            .run(&mut self.conn)
            .context("applying migrations")?;
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
}
