//! The static report site, generated from the database alone and published
//! atomically: pages are built in a sibling staging directory, then swapped
//! with the live one in a single rename, so a reader never sees half a site
//! and a failed or killed build leaves the previous site whole.

pub mod charts;
pub mod feeds;
pub mod health_files;
pub mod pages;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Lists the live site's role pages, each with the key of what it was
/// rendered from (`<key>\t<path>` a line), so that the next build keeps the
/// pages whose key did not move. A dotfile: nginx serves none.
pub const PAGES: &str = ".air-demand-pages";

/// What a build did.
#[derive(Debug)]
pub struct SiteReport {
    pub dir: PathBuf,
    pub roles: usize,
    /// Files rendered and written by this build.
    pub written: usize,
    /// Role pages whose inputs did not change, taken from the live site as
    /// they were (a hard link, or a copy where links are impossible).
    pub kept: usize,
    pub duration: Duration,
}

impl SiteReport {
    /// `site: 73 roles, 15 pages written, 70 kept in 0.3s at /srv/site`
    pub fn summary_line(&self) -> String {
        format!(
            "site: {} roles, {} pages written, {} kept in {:.1}s at {}",
            self.roles,
            self.written,
            self.kept,
            self.duration.as_secs_f64(),
            self.dir.display()
        )
    }
}

/// Builds the site from the database and publishes it. `health` is the
/// caller's (`schedule::health`): the site shows it as it is.
///
/// The site shows the data as of the newest run (`now` only before the
/// first), so two builds with no run between them write the same files,
/// but for the health page and `health.json`, which tell the time they
/// were checked. A role page whose inputs did not move since the live site
/// was built is taken from it, not rendered again.
pub fn build(config: &Config, db: &Db, now: DateTime<Utc>, health: &Health) -> Result<SiteReport> {
    let started = Instant::now();
    let site_dir = checked_site_dir(config)?;
    let rules = config.rules()?;
    let _lock = SiteLock::acquire(&site_dir)?;
    let staging = Staging::create(&site_dir)?;
    // Each phase's time, for `RUST_LOG=air_demand::site=debug`.
    let phase = |name: &str| tracing::debug!("site: {name} done at {:?}", started.elapsed());
    let mut data = crate::views::load(db, &rules.lists, as_of(db, now)?)?;
    phase("views");
    let companies = crate::views::companies::companies(&data, &config.companies, now);
    data.board_status = crate::views::companies::board_status(&data, &companies);
    let charts = charts::build(&data);
    phase("companies and charts");

    let mut written = 0;
    let mut write = |path: &str, content: &str| -> Result<()> {
        staging.write(path, content)?;
        written += 1;
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
        written += 1;
    }
    staging.write_with("roles.json", |out| {
        feeds::write_roles_json(&data.roles, out)
    })?;
    staging.write_with("roles.csv", |out| feeds::write_roles_csv(&data.roles, out))?;
    written += 2;
    let views = data
        .roles
        .iter()
        .chain(&data.gone)
        .chain(&data.board_roles)
        .map(|v| (v.id.as_str(), v));
    let views: std::collections::HashMap<&str, &crate::views::RoleView> = views.collect();
    phase("lists and feeds");
    written += company_pages(db, &data, &companies, &views, &staging)?;
    phase("company pages");
    let previous = Previous::read(&site_dir);
    let pages = role_pages(db, &data, &rules.lists, &previous, &staging)?;
    written += pages.written;
    phase("role pages");
    staging.publish(&site_dir)?;
    phase("publish");
    Ok(SiteReport {
        dir: site_dir,
        roles: views.len(),
        written,
        kept: pages.kept,
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

/// The time the site shows its data as of: the newest run's start, or
/// `now` before the first run.
fn as_of(db: &Db, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    Ok(db
        .recent_runs(1)?
        .first()
        .and_then(|run| crate::views::parse_time(&run.started_at))
        .unwrap_or(now))
}

/// What [`role_pages`] did.
struct RolePages {
    written: usize,
    kept: usize,
}

/// Writes a page per role. A page whose key (its role's [`page_key`] with
/// what else the page shows: the role's board status and briefing, the
/// configured lists, and this program) is the one the live site lists in
/// [`PAGES`] is taken from the live site. The others are rendered a batch
/// of roles at a time, each batch over as many threads as there are cores
/// (at most 4): a page depends only on its role and the shared data.
///
/// [`page_key`]: crate::views::RoleView::page_key
fn role_pages(
    db: &Db,
    data: &crate::views::SiteData,
    lists: &crate::rules::Lists,
    previous: &Previous,
    staging: &Staging,
) -> Result<RolePages> {
    use std::fmt::Write as _;
    use std::hash::{Hash, Hasher};
    let build = build_fingerprint(lists);
    let mut manifest = String::new();
    let mut render: HashMap<&str, &crate::views::RoleView> = HashMap::new();
    let mut kept = 0;
    for view in data.roles.iter().chain(&data.gone).chain(&data.board_roles) {
        let mut hasher = std::hash::DefaultHasher::new();
        build.hash(&mut hasher);
        view.page_key.hash(&mut hasher);
        pages::board_status(data, view).hash(&mut hasher);
        data.briefings
            .get(&view.id)
            .map(|b| (&b.created_at, &b.model, &b.prompt_version))
            .hash(&mut hasher);
        let key = format!("{:016x}", hasher.finish());
        if previous.keys.get(view.page.as_str()) == Some(&key)
            && staging.keep(&previous.dir, &view.page)
        {
            kept += 1;
        } else {
            render.insert(view.id.as_str(), view);
        }
        let _ = writeln!(manifest, "{key}\t{}", view.page);
    }
    let mut written = 0;
    let ids: Vec<&str> = render.keys().copied().collect();
    for chunk in ids.chunks(crate::views::ROLE_BATCH) {
        let batch = db.site_roles_by_ids(chunk)?;
        let histories = crate::views::Histories::load(db, chunk)?;
        let pages = crate::views::par_map(&batch, |role| -> Result<usize> {
            let Some(view) = render.get(role.row.id.as_str()) else {
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
    }
    staging.write(PAGES, &manifest)?;
    Ok(RolePages { written, kept })
}

/// What the role pages' keys share: this program (the executable's identity:
/// a new build or install renders every page again) and the configured
/// lists the pages' words come from.
fn build_fingerprint(lists: &crate::rules::Lists) -> String {
    use std::os::unix::fs::MetadataExt;
    let program = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            format!(
                "{}:{}:{}:{}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000
            )
        })
        // Unknown: nothing can be kept.
        .unwrap_or_else(|_| format!("{:?}", std::time::SystemTime::now()));
    format!("{program}\n{lists:?}")
}

/// The live site's role pages and their keys ([`PAGES`]); none when there
/// is no live site or it has no list (built by an older version).
struct Previous {
    dir: PathBuf,
    keys: HashMap<String, String>,
}

impl Previous {
    fn read(site_dir: &Path) -> Previous {
        let keys = std::fs::read_to_string(site_dir.join(PAGES))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter(|(_, path)| is_role_page(path))
            .map(|(key, path)| (path.to_string(), key.to_string()))
            .collect();
        Previous {
            dir: site_dir.to_path_buf(),
            keys,
        }
    }
}

/// `roles/<file>.html`, one level, nothing that climbs out.
fn is_role_page(path: &str) -> bool {
    path.strip_prefix("roles/").is_some_and(|file| {
        !file.is_empty()
            && !file.contains(['/', '\\'])
            && !file.starts_with('.')
            && file.ends_with(".html")
    })
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
    /// Set once hard links from the live site failed: copies from then on.
    copying: AtomicBool,
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
            copying: AtomicBool::new(false),
        })
    }

    /// Takes the file at `relative` from the live site `live` as it is: a
    /// hard link, or a copy where links are impossible (another
    /// filesystem, or a file another user owns under
    /// `fs.protected_hardlinks`), with one warning per build. False when
    /// neither works (the file is gone, say): the caller renders it.
    fn keep(&self, live: &Path, relative: &str) -> bool {
        // A role page: `roles/` was made with the staging directory.
        let (from, to) = (live.join(relative), self.dir.join(relative));
        if !self.copying.load(Ordering::Relaxed) {
            match std::fs::hard_link(&from, &to) {
                Ok(()) => return true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
                Err(e) => {
                    tracing::warn!(
                        "site: cannot hard-link unchanged pages from {} ({e}); copying them",
                        live.display()
                    );
                    self.copying.store(true, Ordering::Relaxed);
                }
            }
        }
        std::fs::copy(&from, &to).is_ok()
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
    fn a_kept_page_is_linked_from_the_live_site_or_copied_from_another_filesystem() {
        use std::os::unix::fs::MetadataExt;
        let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();
        let keep_from = |live_parent: &Path| {
            let live = live_parent.join("site");
            std::fs::create_dir_all(live.join("roles")).unwrap();
            std::fs::write(live.join("roles/a.html"), "page a").unwrap();
            let site = tempfile::tempdir().unwrap();
            let staging = Staging::create(&site.path().join("site")).unwrap();
            assert!(staging.keep(&live, "roles/a.html"));
            assert!(
                !staging.keep(&live, "roles/missing.html"),
                "nothing to keep"
            );
            let kept = staging.dir.join("roles/a.html");
            assert_eq!(std::fs::read_to_string(&kept).unwrap(), "page a");
            let linked = inode(&kept) == inode(&live.join("roles/a.html"));
            (linked, staging.copying.load(Ordering::Relaxed))
        };
        // Beside the live site: a hard link, the same file.
        let same = tempfile::tempdir().unwrap();
        assert_eq!(keep_from(same.path()), (true, false));
        // The live site on another filesystem (tmpfs): a copy, and copies
        // from then on.
        let shm = Path::new("/dev/shm");
        let tmp = std::env::temp_dir();
        assert_ne!(
            std::fs::metadata(shm).unwrap().dev(),
            std::fs::metadata(&tmp).unwrap().dev(),
            "this test needs /dev/shm on another filesystem than {}",
            tmp.display()
        );
        let other = tempfile::tempdir_in(shm).unwrap();
        assert_eq!(keep_from(other.path()), (false, true));
    }

    #[test]
    fn only_role_pages_are_taken_from_the_list_of_pages() {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(
            site.path().join(PAGES),
            "0a\troles/a.html\n0b\troles/../../etc/passwd\n0c\tindex.html\n0d\troles/.x.html\nno tab\n",
        )
        .unwrap();
        let previous = Previous::read(site.path());
        assert_eq!(previous.keys.len(), 1);
        assert_eq!(previous.keys["roles/a.html"], "0a");
        assert!(Previous::read(&site.path().join("none")).keys.is_empty());
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
