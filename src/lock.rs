//! Lock files beside the database: one keeps two writers (scrapes,
//! requalify) from running at once, another two digest sends.

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Held for as long as the value lives; the OS releases it if the process dies,
/// so a killed run never leaves a stale lock behind.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
    pub path: PathBuf,
}

impl WriterLock {
    /// Takes the lock beside the database (`<db>.lock`) or says who holds it.
    pub fn acquire(db_path: &Path) -> Result<WriterLock> {
        match WriterLock::try_acquire(db_path, "lock")? {
            Ok(lock) => Ok(lock),
            Err((path, by)) => bail!(
                "another air-demand scrape is already running (lock {} held{by}); wait for it to finish",
                path.display()
            ),
        }
    }

    /// Held by a scrape while it asks the model (`<db>.asking.lock`), with
    /// the writer lock let go: `None` while another process asks.
    pub fn acquire_asking(db_path: &Path) -> Result<Option<WriterLock>> {
        Ok(WriterLock::try_acquire(db_path, "asking.lock")?.ok())
    }

    /// Whether a scrape is asking the model now (its run row is `running`
    /// and alive, though it holds no writer lock).
    pub fn someone_asking(db_path: &Path) -> Result<bool> {
        Ok(WriterLock::acquire_asking(db_path)?.is_none())
    }

    /// The digest sender's lock (`<db>.digest.lock`); `None` while another
    /// process sends.
    pub fn acquire_digest(db_path: &Path) -> Result<Option<WriterLock>> {
        Ok(WriterLock::try_acquire(db_path, "digest.lock")?.ok())
    }

    /// `<db>.<suffix>`, taken; or, when held, its path and " by process N".
    #[allow(clippy::type_complexity)]
    fn try_acquire(
        db_path: &Path,
        suffix: &str,
    ) -> Result<std::result::Result<WriterLock, (PathBuf, String)>> {
        let path = PathBuf::from(format!("{}.{suffix}", db_path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let by = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" by {holder}")
                };
                return Ok(Err((path, by)));
            }
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("locking {}", path.display()));
            }
        }
        // Who holds it, for the message above; best effort.
        let _ = file
            .set_len(0)
            .and_then(|_| write!(file, "process {}", std::process::id()));
        Ok(Ok(WriterLock { _file: file, path }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.sqlite");
        let first = WriterLock::acquire(&db).unwrap();
        let err = WriterLock::acquire(&db).unwrap_err().to_string();
        assert!(err.contains("already running"), "{err}");
        assert!(
            err.contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        drop(first);
        WriterLock::acquire(&db).unwrap();
        // The digest's lock is another file: a scrape does not block it.
        let digest = WriterLock::acquire_digest(&db).unwrap().unwrap();
        assert!(WriterLock::acquire_digest(&db).unwrap().is_none());
        drop(digest);
        assert!(WriterLock::acquire_digest(&db).unwrap().is_some());
    }
}
