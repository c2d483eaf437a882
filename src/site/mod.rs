//! The static report site, generated from the database alone and published
//! atomically: pages are built in a sibling staging directory, then swapped
//! with the live one in a single rename, so a reader never sees half a site
//! and a failed or killed build leaves the previous site whole.

pub mod charts;
pub mod feeds;
pub mod health_files;
pub mod pages;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::health::Health;
use crate::store::Db;

/// The inline SVG charts of one build.
#[derive(Debug, Clone, Default)]
pub struct Charts {
    /// Active and qualified roles over time (one point per run).
    pub activity: String,
    /// New vs gone roles per day.
    pub new_vs_gone: String,
    /// Fee distribution of qualified roles.
    pub fees: String,
    /// Salary (upper bound) distribution of qualified roles.
    pub salaries: String,
}

/// Marks a directory as written by air-demand: only such directories are
/// ever replaced or deleted.
pub const MARKER: &str = ".air-demand-site";

/// What a build did.
#[derive(Debug)]
pub struct SiteReport {
    pub dir: PathBuf,
    pub files: usize,
    pub roles: usize,
    pub duration: Duration,
}

impl SiteReport {
    /// `site: 73 roles, 85 files in 0.3s at /srv/site`
    pub fn summary_line(&self) -> String {
        format!(
            "site: {} roles, {} files in {:.1}s at {}",
            self.roles,
            self.files,
            self.duration.as_secs_f64(),
            self.dir.display()
        )
    }
}

/// Builds the whole site from the database and publishes it.
/// `health` is the caller's (`schedule::health`): the site shows it as it is.
pub fn build(config: &Config, db: &Db, now: DateTime<Utc>, health: &Health) -> Result<SiteReport> {
    let started = Instant::now();
    let site_dir = checked_site_dir(config)?;
    let rules = config.rules()?;
    let _lock = SiteLock::acquire(&site_dir)?;
    let staging = Staging::create(&site_dir)?;
    let mut data = crate::views::load(db, &rules.lists, now)?;
    let companies = crate::views::companies::companies(&data, &config.companies, now);
    data.board_status = crate::views::companies::board_status(&data, &companies);
    let charts = charts::build(&data);

    let mut files = 0;
    let mut write = |path: &str, content: &str| -> Result<()> {
        staging.write(path, content)?;
        files += 1;
        Ok(())
    };
    write("assets/style.css", pages::STYLE_CSS)?;
    write("assets/table.js", pages::TABLE_JS)?;
    write(
        "charts.html",
        &pages::charts_page(&data, &charts).context("rendering charts.html")?,
    )?;
    write(
        "health.html",
        &pages::health_page(&data, health, &charts).context("rendering health.html")?,
    )?;
    write("feed.atom", &feeds::atom(&data, &config.site.base_url))?;
    write("health.json", &crate::text::json_pretty(health)?)?;
    write("robots.txt", "User-agent: *\nDisallow: /\n")?;
    // The pages and feeds that list every role are written as they render:
    // at 100,000 roles each would be a string of a hundred megabytes.
    let pages: [(&str, &dyn askama::DynTemplate); 5] = [
        ("index.html", &pages::index_page(&data)),
        ("all.html", &pages::all_page(&data)),
        ("changes.html", &pages::changes_page(&data)),
        ("gone.html", &pages::gone_page(&data)),
        ("companies.html", &pages::companies_page(&data, &companies)),
    ];
    for (path, page) in pages {
        staging.write_with(path, |out| page.dyn_write_into(out))?;
        files += 1;
    }
    staging.write_with("roles.json", |out| {
        feeds::write_roles_json(&data.roles, out)
    })?;
    staging.write_with("roles.csv", |out| feeds::write_roles_csv(&data.roles, out))?;
    files += 2;
    let views = data
        .roles
        .iter()
        .chain(&data.gone)
        .chain(&data.board_roles)
        .map(|v| (v.id.as_str(), v));
    let views: std::collections::HashMap<&str, &crate::views::RoleView> = views.collect();
    files += company_pages(db, &data, &companies, &views, &staging)?;
    let roles = role_pages(db, &data, &views, &staging)?;
    files += roles;
    staging.publish(&site_dir)?;
    Ok(SiteReport {
        dir: site_dir,
        files,
        roles,
        duration: started.elapsed(),
    })
}

/// Writes a page per company of the Companies page, with its roles' latest
/// changes.
fn company_pages(
    db: &Db,
    data: &crate::views::SiteData,
    companies: &[crate::views::companies::CompanyView],
    views: &std::collections::HashMap<&str, &crate::views::RoleView>,
    staging: &Staging,
) -> Result<usize> {
    /// The timeline shows this many changes, newest first.
    const TIMELINE: usize = 50;
    let mut written = 0;
    for company in companies {
        let ids: Vec<&str> = company
            .paraform_roles
            .iter()
            .map(|&i| data.roles[i].id.as_str())
            .chain(
                company
                    .board_roles
                    .iter()
                    .map(|&i| data.board_roles[i].id.as_str()),
            )
            .collect();
        let mut rows: Vec<crate::store::ChangeRow> =
            db.changes_by_role(&ids)?.into_values().flatten().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.id));
        rows.truncate(TIMELINE);
        let roles: Vec<crate::views::RoleView> = rows
            .iter()
            .filter_map(|c| views.get(c.role_id.as_str()).map(|v| (*v).clone()))
            .collect();
        let changes = crate::views::change_views(&rows, &roles, &data.lists);
        let page = pages::company_page(data, company, changes)
            .with_context(|| format!("rendering the page of {}", company.name))?;
        staging.write(&company.page, &page)?;
        written += 1;
    }
    Ok(written)
}

/// Renders and writes every role page, a batch of roles at a time, each
/// batch over as many threads as there are cores (at most 4): a page
/// depends only on its role and the shared data. Returns how many were
/// written.
fn role_pages(
    db: &Db,
    data: &crate::views::SiteData,
    views: &std::collections::HashMap<&str, &crate::views::RoleView>,
    staging: &Staging,
) -> Result<usize> {
    let mut written = 0;
    db.site_roles_in_batches(true, crate::views::ROLE_BATCH, |batch| {
        let ids: Vec<&str> = batch.iter().map(|r| r.row.id.as_str()).collect();
        let histories = crate::views::Histories::load(db, &ids)?;
        let pages = crate::views::par_map(&batch, |role| -> Result<usize> {
            let Some(view) = views.get(role.row.id.as_str()) else {
                return Ok(0);
            };
            let detail = crate::views::role_detail(role);
            let page = pages::role_page(data, view, &detail, &histories)
                .with_context(|| format!("rendering the page of {}", view.id))?;
            staging.write(&view.page, &page)?;
            Ok(1)
        });
        for page in pages {
            written += page?;
        }
        Ok(())
    })?;
    Ok(written)
}

/// The configured site directory, refused when publishing there could
/// destroy something that is not ours.
pub fn checked_site_dir(config: &Config) -> Result<PathBuf> {
    let configured = config.site_dir();
    let dir = absolute(&configured)?;
    let refuse = |why: &str| -> Result<PathBuf> {
        bail!(
            "refusing to publish the site into {}: {why}; set [site] dir to a directory of its own",
            dir.display()
        )
    };
    if dir.parent().is_none() {
        return refuse("it is the root directory");
    }
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from)
        && absolute(&home).is_ok_and(|home| home == dir)
    {
        return refuse("it is the home directory");
    }
    let config_dir = absolute(&config.base_dir)?;
    if config_dir == dir {
        return refuse("it is the config file's directory");
    }
    if config_dir.starts_with(&dir) {
        return refuse("it contains the config file");
    }
    if absolute(&config.database_path())?.starts_with(&dir) {
        return refuse("it contains the database");
    }
    if dir.exists() {
        if !dir.is_dir() {
            return refuse("it is not a directory");
        }
        let ours = dir.join(MARKER).exists();
        let empty = std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !ours && !empty {
            return refuse("it holds files air-demand did not write");
        }
    }
    Ok(dir)
}

/// An absolute path with `.`/`..` resolved and symlinks followed as far as
/// the path exists.
fn absolute(path: &Path) -> Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    if let Ok(real) = joined.canonicalize() {
        return Ok(real);
    }
    let mut normal = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    match (normal.parent(), normal.file_name()) {
        (Some(parent), Some(name)) => match parent.canonicalize() {
            Ok(parent) => Ok(parent.join(name)),
            Err(_) => Ok(normal),
        },
        _ => Ok(normal),
    }
}

/// Keeps two builds of the same site apart (`site` while `scrape` publishes).
struct SiteLock {
    _file: std::fs::File,
}

impl SiteLock {
    fn acquire(site_dir: &Path) -> Result<SiteLock> {
        let path = sibling(site_dir, "lock");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(SiteLock { _file: file })
    }
}

/// `<parent>/.<name>.<suffix>`: our own files beside the site directory.
fn sibling(site_dir: &Path, suffix: &str) -> PathBuf {
    let name = site_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "site".into());
    site_dir.with_file_name(format!(".{name}.{suffix}"))
}

/// The directory a build writes into before it goes live.
struct Staging {
    dir: PathBuf,
    published: bool,
}

impl Staging {
    fn create(site_dir: &Path) -> Result<Staging> {
        remove_stale_staging(site_dir);
        let dir = sibling(site_dir, &format!("building-{}", std::process::id()));
        if dir.exists() {
            remove_ours(&dir)?;
        }
        std::fs::create_dir_all(dir.join("roles"))
            .with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(
            dir.join(MARKER),
            "Written by air-demand; replaced on every build.\n",
        )
        .with_context(|| format!("writing {}", dir.join(MARKER).display()))?;
        Ok(Staging {
            dir,
            published: false,
        })
    }

    /// Writes one file; `relative` is always a path we generated.
    fn write(&self, relative: &str, content: &str) -> Result<()> {
        let path = self.path_of(relative)?;
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))
    }

    /// Writes the file at `relative` as `write` produces it, through a buffer.
    fn write_with(
        &self,
        relative: &str,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<()> {
        use std::io::Write as _;
        let path = self.path_of(relative)?;
        let file =
            std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
        write(&mut out)
            .and_then(|()| out.flush())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The path of `relative` in the staging directory, its parent created.
    fn path_of(&self, relative: &str) -> Result<PathBuf> {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        Ok(path)
    }

    /// Swaps the staging directory in as the live site.
    fn publish(mut self, site_dir: &Path) -> Result<()> {
        share_with_group(&self.dir)?;
        let install = |staging: &Path| {
            std::fs::rename(staging, site_dir).with_context(|| {
                format!("publishing {} as {}", staging.display(), site_dir.display())
            })
        };
        if !site_dir.exists() {
            install(&self.dir)?;
            self.published = true;
            return Ok(());
        }
        if exchange(&self.dir, site_dir).is_ok() {
            // The staging path now holds the previous site.
            self.published = true;
            return remove_ours(&self.dir);
        }
        // No atomic exchange on this system: two renames, a moment apart.
        let old = sibling(site_dir, &format!("old-{}", std::process::id()));
        std::fs::rename(site_dir, &old)
            .with_context(|| format!("moving the old site to {}", old.display()))?;
        install(&self.dir)?;
        self.published = true;
        remove_ours(&old)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = remove_ours(&self.dir);
        }
    }
}

/// A site built beside its live copy in a setgid directory that its group
/// may read (deploy/install.sh makes `/var/www/air-demand` so, group
/// `www-data`) is for that group: nginx reads it. The setgid bit already
/// gives every file the group; read access comes from the umask, and one
/// stricter than the units' 0027 (077, say) would hide the site from nginx.
/// Then the group gets read on the files and search on the directories.
/// Nothing is done when the staging directory already grants them (the
/// umask is the process's, the same for every file of the build).
fn share_with_group(staging: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| -> Result<u32> {
        let meta = std::fs::symlink_metadata(path)
            .with_context(|| format!("reading the mode of {}", path.display()))?;
        Ok(meta.permissions().mode() & 0o7777)
    };
    let Some(parent) = staging.parent() else {
        return Ok(());
    };
    let shared = mode(parent)?;
    if shared & 0o2000 == 0 || shared & 0o050 != 0o050 {
        return Ok(());
    }
    if mode(staging)? & 0o050 == 0o050 && mode(&staging.join(MARKER))? & 0o040 == 0o040 {
        return Ok(());
    }
    let grant = |path: &Path, bits: u32| -> Result<()> {
        let current = mode(path)?;
        if current & bits == bits {
            return Ok(());
        }
        let set = |mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        // systemd's RestrictSUIDSGID= refuses a chmod naming the setgid
        // bit; without it the directory still keeps its group.
        set(current | bits)
            .or_else(|_| set((current & 0o777) | bits))
            .with_context(|| format!("letting the group read {}", path.display()))
    };
    let mut dirs = vec![staging.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        grant(&dir, 0o050)?;
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                grant(&entry.path(), 0o040)?;
            }
        }
    }
    Ok(())
}

/// Atomically exchanges two directories (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Deletes a directory only if it carries our marker.
fn remove_ours(dir: &Path) -> Result<()> {
    if !dir.join(MARKER).exists() {
        bail!(
            "not deleting {}: it was not written by air-demand",
            dir.display()
        );
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))
}

/// Staging directories left by killed builds. A build killed between
/// creating its staging directory and writing the marker into it leaves an
/// unmarked skeleton (an empty `roles/`): removing empty directories
/// deletes no file, so that one goes too.
fn remove_stale_staging(site_dir: &Path) {
    let (Some(parent), Some(name)) = (site_dir.parent(), site_dir.file_name()) else {
        return;
    };
    let prefix = format!(".{}.building-", name.to_string_lossy());
    let old_prefix = format!(".{}.old-", name.to_string_lossy());
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with(&prefix) || file_name.starts_with(&old_prefix) {
            let path = entry.path();
            if remove_ours(&path).is_err() {
                let _ = std::fs::remove_dir(path.join("roles"));
                let _ = std::fs::remove_dir(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_staging_goes_but_nothing_unmarked_with_files_in_it() {
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        let marked = parent.path().join(".site.building-1");
        std::fs::create_dir_all(marked.join("roles")).unwrap();
        std::fs::write(marked.join(MARKER), "").unwrap();
        std::fs::write(marked.join("index.html"), "x").unwrap();
        // Killed before its marker was written.
        let skeleton = parent.path().join(".site.building-2");
        std::fs::create_dir_all(skeleton.join("roles")).unwrap();
        // Not ours: unmarked, with a file in it.
        let foreign = parent.path().join(".site.old-3");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("keep.txt"), "x").unwrap();
        remove_stale_staging(&site);
        assert!(!marked.exists());
        assert!(!skeleton.exists());
        assert!(foreign.join("keep.txt").exists());
    }

    #[test]
    fn a_site_in_a_setgid_directory_is_readable_by_its_group_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        let set = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let check = |parent_mode: u32, shared: bool| {
            let parent = tempfile::tempdir().unwrap();
            set(parent.path(), parent_mode);
            // What a build leaves under umask 077 (the group's bits gone).
            let staging = parent.path().join(".site.building-1");
            std::fs::create_dir_all(staging.join("roles")).unwrap();
            for file in [MARKER, "index.html", "roles/a.html"] {
                std::fs::write(staging.join(file), "x").unwrap();
                set(&staging.join(file), 0o600);
            }
            set(&staging.join("roles"), 0o2700);
            set(&staging, 0o2700);
            share_with_group(&staging).unwrap();
            let (dir, file) = if shared {
                (0o2750, 0o640)
            } else {
                (0o2700, 0o600)
            };
            assert_eq!(mode(&staging), dir, "{parent_mode:o}");
            assert_eq!(mode(&staging.join("roles")), dir, "{parent_mode:o}");
            for file_name in [MARKER, "index.html", "roles/a.html"] {
                assert_eq!(mode(&staging.join(file_name)), file, "{parent_mode:o}");
            }
        };
        check(0o2750, true);
        check(0o2770, true);
        // Not setgid, or not for the group to read: the umask stands.
        check(0o750, false);
        check(0o2700, false);
    }
}
