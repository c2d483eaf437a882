//! Texts a run holds until its transaction, kept off the heap.
//!
//! A cold run of 100,000 roles receives about 260 MB of listed JSON and
//! tens of thousands of details before it records anything. A [`Spool`]
//! keeps the last few MiB in memory and writes the rest to an unnamed
//! temporary file (gone when the spool is dropped, or the process dies), so
//! the run's memory is the ids and hashes, not the texts. If the file cannot
//! be written (no temporary directory, a full disk), the texts stay in
//! memory, as they did before, and one warning says so.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// How much a spool holds in memory before it writes to its file.
const IN_MEMORY_BYTES: usize = 4 * 1024 * 1024;

/// Append-only storage of texts, each read back by its [`Spooled`] handle.
#[derive(Debug, Default)]
pub struct Spool {
    /// Bytes `file_len..` of the spool: texts not yet written out.
    memory: Vec<u8>,
    file: Option<File>,
    /// Bytes `..file_len` are in the file.
    file_len: u64,
    /// The file could not be written: everything stays in `memory`.
    in_memory_only: bool,
}

/// Where one text is in its spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spooled {
    offset: u64,
    len: usize,
}

impl Spool {
    /// Stores `text` and returns its handle.
    pub fn put(&mut self, text: &str) -> Spooled {
        let at = Spooled {
            offset: self.file_len + self.memory.len() as u64,
            len: text.len(),
        };
        self.memory.extend_from_slice(text.as_bytes());
        if self.memory.len() >= IN_MEMORY_BYTES && !self.in_memory_only {
            self.write_out();
        }
        at
    }

    /// The text at `at`, which this spool returned.
    pub fn get(&self, at: Spooled) -> io::Result<String> {
        let bytes = if at.offset >= self.file_len {
            let start = (at.offset - self.file_len) as usize;
            self.memory
                .get(start..start + at.len)
                .ok_or_else(|| io::Error::other("a spooled text is out of range"))?
                .to_vec()
        } else {
            let file = self
                .file
                .as_ref()
                .ok_or_else(|| io::Error::other("a spooled text is out of range"))?;
            let mut bytes = vec![0; at.len];
            file.read_exact_at(&mut bytes, at.offset)?;
            bytes
        };
        String::from_utf8(bytes).map_err(|_| io::Error::other("a spooled text is not UTF-8"))
    }

    /// Moves the in-memory texts to the file (whole texts only: a text is
    /// either in the file or in memory).
    fn write_out(&mut self) {
        let written = (|| -> io::Result<()> {
            if self.file.is_none() {
                self.file = Some(unnamed_file()?);
            }
            if let Some(file) = &self.file {
                file.write_all_at(&self.memory, self.file_len)?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => {
                self.file_len += self.memory.len() as u64;
                self.memory.clear();
            }
            Err(err) => {
                tracing::warn!(
                    "could not spool the run's texts to a temporary file ({err}); keeping them in memory"
                );
                self.in_memory_only = true;
            }
        }
    }
}

/// Texts by key (a run's fetched details by role id), in a [`Spool`].
#[derive(Debug, Default)]
pub struct SpooledTexts {
    spool: Spool,
    at: HashMap<String, Spooled>,
}

impl SpooledTexts {
    /// Stores `text` under `key`, replacing what it held.
    pub fn insert(&mut self, key: String, text: &str) {
        let at = self.spool.put(text);
        self.at.insert(key, at);
    }

    /// The text under `key`, if any.
    pub fn get(&self, key: &str) -> Option<io::Result<String>> {
        self.at.get(key).map(|at| self.spool.get(*at))
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.at.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

/// A new file in the temporary directory, readable only by us, whose name
/// is removed at once: the file lives as long as the handle.
fn unnamed_file() -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        ".air-demand-spool-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_back_from_memory_and_from_the_file() {
        let mut spool = Spool::default();
        let big = "é".repeat(IN_MEMORY_BYTES / 3);
        let mut handles: Vec<(Spooled, String)> = (0..5)
            .map(|i| {
                let text = format!("{i}:{big}");
                (spool.put(&text), text)
            })
            .collect();
        handles.push((spool.put(""), String::new()));
        assert!(spool.file_len > 0, "spilled to the file");
        assert!(!spool.memory.is_empty(), "the last texts are in memory");
        for (at, text) in handles {
            assert_eq!(spool.get(at).unwrap(), text);
        }
    }
}
