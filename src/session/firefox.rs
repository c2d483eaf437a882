//! Firefox's cookies: a profile's `cookies.sqlite` (table `moz_cookies`),
//! read from a private copy because a running Firefox holds a lock on it (as
//! yt-dlp's `--cookies-from-browser` does), and the default profile found
//! through `profiles.ini` in the usual homes (plain, XDG, snap, flatpak,
//! macOS). This reads a foreign file of Firefox's, never our database.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};

use super::CookieRecord;

/// Where Firefox keeps `profiles.ini`, relative to the home directory.
pub const PROFILE_ROOTS: &[&str] = &[
    ".mozilla/firefox",
    ".config/mozilla/firefox",
    "snap/firefox/common/.mozilla/firefox",
    ".var/app/org.mozilla.firefox/.mozilla/firefox",
    "Library/Application Support/Firefox",
];

/// Rows kept from one cookie database at most (the caller's filter first).
const MAX_ROWS: usize = 10_000;

/// The cookies read, and the profile they came from.
pub struct FirefoxCookies {
    pub profile: PathBuf,
    pub cookies: Vec<CookieRecord>,
}

/// The cookies of `profile` (a profile directory, or its cookies.sqlite),
/// else of the default profile found under `home`, that `keep(host, name)`
/// accepts. The database is copied (with its `-wal` and `-shm`) into a
/// private directory under `temp_parent`, read there, and the copy removed.
pub fn read_profile(
    profile: Option<&Path>,
    home: Option<&Path>,
    temp_parent: &Path,
    keep: impl Fn(&str, &str) -> bool,
) -> Result<FirefoxCookies> {
    let (profile, database) = match profile {
        Some(given) => {
            let database = if given.is_file() {
                given.to_path_buf()
            } else {
                given.join("cookies.sqlite")
            };
            if !database.is_file() {
                bail!(
                    "no cookies.sqlite in {}: give a Firefox profile directory (Firefox's about:profiles shows each one's Root Directory)",
                    given.display()
                );
            }
            (given.to_path_buf(), database)
        }
        None => {
            let Some(home) = home else {
                bail!(
                    "HOME is not set, so no Firefox profile can be found: give the profile directory, `air-demand session import --from-firefox PROFILE_DIR`"
                );
            };
            let profile = default_profile(home)?;
            let database = profile.join("cookies.sqlite");
            (profile, database)
        }
    };
    let cookies = read_copy(&database, temp_parent, keep)?;
    Ok(FirefoxCookies { profile, cookies })
}

/// The default profile in each home `profiles.ini` names (its `[Install…]`
/// section's `Default=`, else the `[Profile…]` with `Default=1`, else the
/// only profile) that has a cookies.sqlite; of several, the one used last.
pub fn default_profile(home: &Path) -> Result<PathBuf> {
    let mut looked = Vec::new();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    let mut unnamed = Vec::new();
    for root in PROFILE_ROOTS.iter().map(|root| home.join(root)) {
        let ini = root.join("profiles.ini");
        looked.push(ini.display().to_string());
        let text = match std::fs::read(&ini) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err).with_context(|| format!("reading {}", ini.display())),
        };
        let Some(relative) = default_in_ini(&text) else {
            unnamed.push(ini.display().to_string());
            continue;
        };
        let profile = root.join(relative);
        let database = profile.join("cookies.sqlite");
        match std::fs::metadata(&database) {
            Ok(meta) if meta.is_file() => {
                let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                found.push((used, profile));
            }
            _ => looked.push(database.display().to_string()),
        }
    }
    if let Some((_, profile)) = found.into_iter().max_by_key(|(used, _)| *used) {
        return Ok(profile);
    }
    let unnamed = if unnamed.is_empty() {
        String::new()
    } else {
        format!(
            " ({} names no default profile among several)",
            unnamed.join(", ")
        )
    };
    bail!(
        "no Firefox profile with cookies found: looked for {}{unnamed}; give the profile directory, `air-demand session import --from-firefox PROFILE_DIR` (Firefox's about:profiles shows each one's Root Directory)",
        looked.join(", ")
    )
}

/// The default profile's path in a `profiles.ini`, as written (relative to
/// the ini's directory, or absolute).
fn default_in_ini(text: &str) -> Option<String> {
    let sections = ini_sections(text);
    let value = |section: &[(String, String)], key: &str| {
        section
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    if let Some(path) = sections
        .iter()
        .filter(|(name, _)| name.starts_with("Install"))
        .find_map(|(_, keys)| value(keys, "Default"))
    {
        return Some(path);
    }
    let profiles: Vec<&Vec<(String, String)>> = sections
        .iter()
        .filter(|(name, keys)| name.starts_with("Profile") && value(keys, "Path").is_some())
        .map(|(_, keys)| keys)
        .collect();
    if let Some(path) = profiles
        .iter()
        .find(|keys| value(keys, "Default").as_deref() == Some("1"))
        .and_then(|keys| value(keys, "Path"))
    {
        return Some(path);
    }
    match profiles.as_slice() {
        [only] => value(only, "Path"),
        _ => None,
    }
}

/// `[Section]` then `key=value` lines; `;` and `#` start comments.
fn ini_sections(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with([';', '#']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.trim().to_string(), Vec::new()));
        } else if let (Some((key, value)), Some(section)) =
            (line.split_once('='), sections.last_mut())
        {
            section
                .1
                .push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    sections
}

/// A private directory (mode 0700) removed, with what it holds, when dropped.
struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    fn new(parent: &Path) -> Result<PrivateDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!(".air-demand-firefox-{}-{n}", std::process::id()));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&path) {
                Ok(()) => return Ok(PrivateDir { path }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => {}
                Err(err) => {
                    return Err(err).with_context(|| {
                        format!("creating a private directory in {}", parent.display())
                    });
                }
            }
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Copies `database` (and its `-wal`/`-shm`, which hold its latest writes)
/// and reads `moz_cookies` from the copy.
fn read_copy(
    database: &Path,
    temp_parent: &Path,
    keep: impl Fn(&str, &str) -> bool,
) -> Result<Vec<CookieRecord>> {
    let dir = PrivateDir::new(temp_parent)?;
    let copy = dir.path.join("cookies.sqlite");
    std::fs::copy(database, &copy)
        .with_context(|| format!("copying {} to read it", database.display()))?;
    for suffix in ["-wal", "-shm"] {
        let side = sibling(database, suffix);
        if side.is_file() {
            std::fs::copy(&side, sibling(&copy, suffix))
                .with_context(|| format!("copying {} to read it", side.display()))?;
        }
    }
    let not_firefox = |err: rusqlite::Error| {
        anyhow::anyhow!(
            "{} is not a Firefox cookie database ({err}): give a Firefox profile directory",
            database.display()
        )
    };
    // Read-write: the copy is ours, and SQLite may need to fold its WAL in.
    let connection = Connection::open_with_flags(
        &copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(not_firefox)?;
    // Cookies of Firefox's default container first; an old Firefox has no
    // originAttributes or sameSite column.
    let mut statement = connection
        .prepare(
            "SELECT name, value, host, path, expiry, isSecure, isHttpOnly, sameSite \
             FROM moz_cookies ORDER BY originAttributes <> '', id",
        )
        .or_else(|_| {
            connection.prepare(
                "SELECT name, value, host, path, expiry, isSecure, isHttpOnly, NULL FROM moz_cookies",
            )
        })
        .map_err(not_firefox)?;
    let mut rows = statement.query([]).map_err(not_firefox)?;
    let mut cookies = Vec::new();
    while let Some(row) = rows.next().map_err(not_firefox)? {
        let text = |at: usize| row.get::<_, Option<String>>(at).ok().flatten();
        let (Some(name), Some(value), Some(host)) = (text(0), text(1), text(2)) else {
            continue;
        };
        if !keep(&host, &name) {
            continue;
        }
        let number = |at: usize| row.get::<_, Option<f64>>(at).ok().flatten();
        cookies.push(CookieRecord {
            name,
            value,
            domain: host,
            path: text(3).unwrap_or_else(|| "/".into()),
            // Recent Firefox stores milliseconds; `install_cookies` reads
            // a value past 1e11 as such.
            expires: number(4).filter(|e| *e > 0.0),
            secure: number(5).is_some_and(|n| n != 0.0),
            http_only: number(6).is_some_and(|n| n != 0.0),
            same_site: number(7).and_then(|n| {
                let name = match n as i64 {
                    0 => "None",
                    1 => "Lax",
                    2 => "Strict",
                    _ => return None,
                };
                Some(name.to_string())
            }),
        });
        if cookies.len() >= MAX_ROWS {
            break;
        }
    }
    Ok(cookies)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}
