//! The static report site, generated from the database alone and published
//! atomically: pages are built in a sibling staging directory, then swapped
//! with the live one in a single rename, so a reader never sees half a site
//! and a failed or killed build leaves the previous site whole.

pub mod charts;
pub mod feeds;
pub mod health_files;
mod lists;
pub mod pages;

use std::collections::{HashMap, HashSet};
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

/// Beside the site (`.<site>.pages`): the role pages of `.<site>.roles/`,
/// each with the key of what it was rendered from (`<key>\t<path>` a
/// line), so that the next build keeps the pages whose key did not move.
const PAGES: &str = "pages";

/// Beside the site (`.<site>.roles/`): the role pages, kept from build to
/// build. The site's `roles` is a symlink to it.
const ROLES: &str = "roles";

/// Beside the site (`.<site>.spare/`): files kept to write role pages into
/// ([`RoleStore`]).
const SPARE: &str = "spare";

/// Beside the site (`.<site>.views`): the role views of the last build,
/// each with its role's stamp ([`crate::views::cache`]).
const VIEWS: &str = "views";

/// Beside the site (`.<site>.lists`): the rows of the pages and files that
/// list every role, kept from build to build ([`lists`]).
const LISTS: &str = "lists";

/// What a build did.
#[derive(Debug)]
pub struct SiteReport {
    pub dir: PathBuf,
    pub roles: usize,
    /// Files rendered and written by this build.
    pub written: usize,
    /// Role pages whose inputs did not change, left as they were in the
    /// role pages kept beside the site ([`RoleStore`]).
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
    // Each phase's time and the peak memory so far, for
    // `RUST_LOG=air_demand::site=debug`.
    let phase = |name: &str| {
        tracing::debug!(
            "site: {name} done at {:?}, peak {}",
            started.elapsed(),
            peak_memory()
        )
    };
    let fingerprint = build_fingerprint(&rules.lists);
    let views_file = sibling(&site_dir, VIEWS);
    let kept = std::fs::File::open(&views_file).ok().and_then(|file| {
        let mut file = std::io::BufReader::with_capacity(256 * 1024, file);
        crate::views::cache::read(&mut file, &fingerprint)
    });
    let (kept_rows, kept) = match kept {
        Some((rows, views)) => (Some(rows), views),
        None => (None, Vec::new()),
    };
    let kept_count = kept.len();
    phase("kept views");
    let mut data = crate::views::load_keeping(db, &rules.lists, as_of(db, now)?, kept)?;
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
    {
        let pages: [(&str, &dyn askama::DynTemplate); 3] = [
            ("changes.html", &pages::changes_page(&data)),
            ("gone.html", &pages::gone_page(&data)),
            ("companies.html", &pages::companies_page(&data, &companies)),
        ];
        for (path, page) in pages {
            staging.write_with(path, |out| page.dyn_write_into(out))?;
            written += 1;
        }
    }
    // What the lists show of a role never moves with the clock: with no
    // role read again, `roles.json` and `roles.csv` are the live site's,
    // linked, not written.
    let shown = data.roles.len() + data.gone.len() + data.board_roles.len();
    let unchanged = kept_count > 0 && data.views_read == 0 && kept_count == shown;
    let listed = lists::write(
        &staging,
        &mut data,
        &sibling(&site_dir, LISTS),
        kept_rows,
        unchanged.then_some(site_dir.as_path()),
    )?;
    written += listed.written;
    phase("lists and feeds");
    written += company_pages(db, &data, &companies, &staging)?;
    phase("company pages");
    let store = RoleStore::open(&site_dir, &staging)?;
    let pages = role_pages(db, &data, &fingerprint, &store)?;
    written += pages.written;
    phase("role pages");
    staging.publish(&site_dir)?;
    store.finish(&pages.listed)?;
    if data.views_read > 0 || kept_count != shown || listed.moved {
        let views = data.roles.iter().chain(&data.gone).chain(&data.board_roles);
        // The site is live: a views file not written costs the next build
        // time, not this one its success.
        if let Err(e) = write_whole_with(&views_file, |out| {
            crate::views::cache::write(out, &fingerprint, listed.rows_id, views)
        }) {
            let _ = std::fs::remove_file(&views_file);
            tracing::warn!("the next build reads every role: {e:#}");
        }
    }
    phase("publish");
    Ok(SiteReport {
        dir: site_dir,
        roles: shown,
        written,
        kept: pages.kept,
        duration: started.elapsed(),
    })
}

/// The most memory this process has held (`VmHWM`), for the debug log;
/// `?` where the system does not say.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{} MB", kb / 1024))
        })
        .unwrap_or_else(|| "?".to_string())
}

/// Writes a page per company of the Companies page, with its roles' latest
/// changes: one pass over the changes, newest first, until every company
/// has its timeline.
fn company_pages(
    db: &Db,
    data: &crate::views::SiteData,
    companies: &[crate::views::companies::CompanyView],
    staging: &Staging,
) -> Result<usize> {
    /// The timeline shows this many changes, newest first.
    const TIMELINE: usize = 50;
    // Each role of a company: its company, and its view.
    let mut company_of: HashMap<&str, (usize, &crate::views::RoleView)> = HashMap::new();
    for (at, company) in companies.iter().enumerate() {
        let paraform = company.paraform_roles.iter().map(|&i| &data.roles[i]);
        let board = company.board_roles.iter().map(|&i| &data.board_roles[i]);
        for view in paraform.chain(board) {
            company_of.insert(view.id.as_str(), (at, view));
        }
    }
    let mut timelines: Vec<Vec<crate::store::ChangeRow>> = vec![Vec::new(); companies.len()];
    let mut open = companies.len();
    if open > 0 {
        db.each_change_newest_first(None, |change| {
            if let Some(&(at, _)) = company_of.get(change.role_id.as_str()) {
                let timeline = &mut timelines[at];
                if timeline.len() < TIMELINE {
                    timeline.push(change);
                    if timeline.len() == TIMELINE {
                        open -= 1;
                    }
                }
            }
            open > 0
        })?;
    }
    let mut written = 0;
    for (company, rows) in companies.iter().zip(timelines) {
        let view = |id: &str| company_of.get(id).map(|&(_, view)| view);
        let changes = crate::views::change_views_of(&rows, view, &data.lists);
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
struct RolePages<'a> {
    written: usize,
    kept: usize,
    /// Every role page of this build with its key.
    listed: Vec<(&'a str, u64)>,
}

/// Writes a page per role into the role pages kept beside the site
/// ([`RoleStore`]). A page whose key (its role's [`page_key`] and stamp,
/// with what else the page shows: its NEW mark, the role's board status
/// and briefing, the configured lists, and this program) is the one the
/// last build wrote is left as it is. The others are rendered a batch of
/// roles at a time, each batch over as many threads as there are cores (at
/// most 4): a page depends only on its role and the shared data.
///
/// [`page_key`]: crate::views::RoleView::page_key
fn role_pages<'a>(
    db: &Db,
    data: &'a crate::views::SiteData,
    build: &str,
    store: &RoleStore,
) -> Result<RolePages<'a>> {
    use std::hash::{Hash, Hasher};
    // Hashed once, not with every page: it names the lists, some kilobytes.
    let build = {
        let mut hasher = std::hash::DefaultHasher::new();
        build.hash(&mut hasher);
        hasher.finish()
    };
    let mut listed = Vec::new();
    let mut render: Vec<&crate::views::RoleView> = Vec::new();
    for view in data.roles.iter().chain(&data.gone).chain(&data.board_roles) {
        let mut hasher = std::hash::DefaultHasher::new();
        build.hash(&mut hasher);
        view.page_key.hash(&mut hasher);
        // Its stamp: whatever else its page shows of the stored role (the
        // order of its lists, its fields) was written since.
        view.moving.stamp.hash(&mut hasher);
        // Its NEW mark: a page is written again once when the mark goes.
        view.is_new.hash(&mut hasher);
        pages::board_status(data, view).hash(&mut hasher);
        data.briefings
            .get(&view.id)
            .map(|b| (&b.created_at, &b.model, &b.prompt_version))
            .hash(&mut hasher);
        let key = hasher.finish();
        if !store.holds(&view.page, key) {
            render.push(view);
        }
        listed.push((view.page.as_str(), key));
    }
    let kept = listed.len() - render.len();
    store.forget(&listed, render.iter().map(|view| view.page.as_str()))?;
    let mut written = 0;
    for chunk in render.chunks(crate::views::ROLE_BATCH) {
        let views: HashMap<&str, &crate::views::RoleView> =
            chunk.iter().map(|view| (view.id.as_str(), *view)).collect();
        let ids: Vec<&str> = views.keys().copied().collect();
        let batch = db.site_roles_by_ids(&ids, true)?;
        let histories = crate::views::Histories::load(db, &ids)?;
        let pages = crate::views::par_map(&batch, |role| -> Result<usize> {
            let Some(view) = views.get(role.row.id.as_str()) else {
                return Ok(0);
            };
            let detail = crate::views::role_detail(role);
            let page = pages::role_page(data, view, &detail, &histories)
                .with_context(|| format!("rendering the page of {}", view.id))?;
            store.put(&view.page, &page)?;
            Ok(1)
        });
        for page in pages {
            written += page?;
        }
    }
    Ok(RolePages {
        written,
        kept,
        listed,
    })
}

/// What the role pages' keys and the kept views share: this program (what
/// it was built from, `build.rs`: a rebuilt program renders every page
/// again, a copy of the same one keeps them) and the configured lists the
/// pages' words come from.
fn build_fingerprint(lists: &crate::rules::Lists) -> String {
    format!("{}\n{lists:?}", env!("AIR_DEMAND_BUILD_ID"))
}

/// The role pages, kept beside the site from build to build
/// (`.<site>.roles/`, which the site's `roles` links to), and what each was
/// rendered from ([`PAGES`]). A build writes only the pages whose key
/// moved, each whole (written in a spare file, then exchanged with the old
/// page in one `renameat2`), and removes the pages of roles the site no
/// longer shows once the new site is live. The list is written last;
/// before any page is rewritten, the list is written without it, so a page
/// a killed build may have half-done is never taken as current: the next
/// build renders it again.
///
/// Spare files (`.<site>.spare/`): a replaced or removed page is kept
/// there, and the next build writes a page into it instead of creating a
/// file. A page's file is then never created nor freed, only rewritten and
/// exchanged: on a filesystem that searches its free inodes past every
/// recently freed one (ext4 without a journal), creating a thousand files
/// right after freeing a thousand costs more than rendering them. A spare
/// is reused by the build after the one that set it aside, never the same
/// one, so a page a reader was still reading is not rewritten under it.
struct RoleStore {
    /// `.<site>.roles/`.
    dir: PathBuf,
    /// `.<site>.pages`.
    list: PathBuf,
    /// The pages the list names (`roles/<file>.html`) and their keys, by
    /// [`name_key`] of the file: at 100,000 pages the names alone would be
    /// megabytes.
    keys: HashMap<u64, u64>,
    /// The file names in `dir` when the build began, by [`name_key`].
    present: HashSet<u64>,
    /// `.<site>.spare/`.
    spare_dir: PathBuf,
    /// The names of the spare files this build may write into, a line each.
    spares: std::sync::Mutex<String>,
    /// Names this build gives the files it creates there: `<pid>-<n>`.
    next_spare: std::sync::atomic::AtomicUsize,
    pid: u32,
    /// Whether new files must be made readable to the site's group.
    grant_files: bool,
    /// Pages this build wrote.
    written: std::sync::atomic::AtomicUsize,
}

impl RoleStore {
    fn open(site_dir: &Path, staging: &Staging) -> Result<RoleStore> {
        let dir = sibling(site_dir, ROLES);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if staging.shared {
            grant(&dir, 0o050)?;
        }
        let present = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|entry| entry.ok())
            .map(|entry| name_key(&entry.file_name().to_string_lossy()))
            .collect();
        let list = sibling(site_dir, PAGES);
        let keys = read_page_list(&list);
        let spare_dir = sibling(site_dir, SPARE);
        std::fs::create_dir_all(&spare_dir)
            .with_context(|| format!("creating {}", spare_dir.display()))?;
        let mut spares = String::new();
        // Past every name this process gave there before (`new_spare`).
        let pid = std::process::id();
        let ours = format!("{pid}-");
        let mut next_spare = 0;
        for entry in std::fs::read_dir(&spare_dir)
            .with_context(|| format!("reading {}", spare_dir.display()))?
            .filter_map(|entry| entry.ok())
        {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(n) = name
                .strip_prefix(&ours)
                .and_then(|n| n.parse::<usize>().ok())
            {
                next_spare = next_spare.max(n.saturating_add(1));
            }
            // Only names this program gives: one a line.
            if entry.file_type().is_ok_and(|t| t.is_file()) && !name.contains('\n') {
                spares.push_str(name);
                spares.push('\n');
            }
        }
        Ok(RoleStore {
            dir,
            list,
            keys,
            present,
            spare_dir,
            spares: std::sync::Mutex::new(spares),
            next_spare: std::sync::atomic::AtomicUsize::new(next_spare),
            pid,
            grant_files: staging.grant_files,
            written: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Whether the page at `page` is there, rendered from `key`.
    fn holds(&self, page: &str, key: u64) -> bool {
        file_key(page)
            .is_some_and(|file| self.keys.get(&file) == Some(&key) && self.present.contains(&file))
    }

    /// Before `rewritten` (pages of `listed` it does not hold) are written:
    /// the list names only the pages of `listed` it holds, unless it names
    /// none of `rewritten` already.
    fn forget<'a>(
        &self,
        listed: &[(&str, u64)],
        mut rewritten: impl Iterator<Item = &'a str>,
    ) -> Result<()> {
        if !rewritten.any(|page| file_key(page).is_some_and(|file| self.keys.contains_key(&file))) {
            return Ok(());
        }
        let kept = listed.iter().copied();
        self.write_list(kept.filter(|&(page, key)| self.holds(page, key)))
    }

    /// Writes a rendered page in place: into a spare file (or a new one
    /// beside them), then exchanged with the old page, which becomes a
    /// spare for the next build; a page not there yet is renamed into
    /// place (same filesystem: both are beside the site).
    fn put(&self, page: &str, content: &str) -> Result<()> {
        use std::io::Write as _;
        let file = page
            .strip_prefix("roles/")
            .with_context(|| format!("{page} is not a role page"))?;
        self.written
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let spare = self.spares.lock().ok().and_then(|mut spares| {
            let end = spares.len().checked_sub(1)?;
            let start = spares[..end].rfind('\n').map_or(0, |at| at + 1);
            let spare = self.spare_dir.join(&spares[start..end]);
            spares.truncate(start);
            Some(spare)
        });
        let reused = spare.is_some();
        let incoming = spare.unwrap_or_else(|| self.new_spare());
        // Written over, then cut to length, not truncated first: ext4
        // writes a file emptied by truncation out to disk when it is
        // closed (`auto_da_alloc`), which would cost every page a flush.
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&incoming)
            .and_then(|mut out| {
                out.write_all(content.as_bytes())?;
                out.set_len(content.len() as u64)
            })
            .with_context(|| format!("writing {}", incoming.display()))?;
        if self.grant_files && !reused {
            grant(&incoming, 0o040)?;
        }
        let to = self.dir.join(file);
        // A page not there when the build began has no old page to keep.
        let there = self.present.contains(&name_key(file));
        match there.then(|| exchange(&incoming, &to)) {
            Some(Ok(())) => Ok(()),
            _ => std::fs::rename(&incoming, &to),
        }
        .with_context(|| format!("moving {} to {}", incoming.display(), to.display()))
    }

    /// A name no file among the spares has, for a file this build puts
    /// there: unique within the build by its counter, which starts past
    /// the names an earlier build of this process left (`run` builds many
    /// times in one process; other processes have other names).
    fn new_spare(&self) -> PathBuf {
        let n = self
            .next_spare
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.spare_dir.join(format!("{}-{n}", self.pid))
    }

    /// Once the new site is live: the pages of roles it no longer shows
    /// removed, and the list of pages written.
    fn finish(self, listed: &[(&str, u64)]) -> Result<()> {
        let files: HashSet<u64> = listed
            .iter()
            .filter_map(|(page, _)| file_key(page))
            .collect();
        let unlisted = if self.present.iter().all(|file| files.contains(file)) {
            Vec::new()
        } else {
            std::fs::read_dir(&self.dir)
                .with_context(|| format!("reading {}", self.dir.display()))?
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name())
                .filter(|file| !files.contains(&name_key(&file.to_string_lossy())))
                .collect()
        };
        for file in unlisted {
            let path = self.dir.join(file);
            std::fs::rename(&path, self.new_spare())
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                })
                .with_context(|| format!("removing {}", path.display()))?;
        }
        self.write_list(listed.iter().copied())?;
        self.trim_spares()
    }

    /// Keeps as many spares as this build wrote pages and a few hundred
    /// more: what the next build likely needs, not every page ever
    /// replaced or removed.
    fn trim_spares(&self) -> Result<()> {
        const MORE: usize = 256;
        let spares = || {
            std::fs::read_dir(&self.spare_dir)
                .with_context(|| format!("reading {}", self.spare_dir.display()))
                .map(|dir| dir.filter_map(|entry| entry.ok()))
        };
        let keep = self.written.load(std::sync::atomic::Ordering::Relaxed) + MORE;
        // Counted first: at 100,000 pages their names are megabytes.
        if spares()?.count() <= keep {
            return Ok(());
        }
        let mut names: Vec<std::ffi::OsString> = spares()?.map(|entry| entry.file_name()).collect();
        names.sort();
        for path in names
            .iter()
            .skip(keep)
            .map(|name| self.spare_dir.join(name))
        {
            std::fs::remove_file(&path)
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                })
                .with_context(|| format!("removing {}", path.display()))?;
        }
        Ok(())
    }

    /// The list of `pages` and their keys (`<key>\t<page>` a line),
    /// replaced in one rename.
    fn write_list<'p>(&self, pages: impl Iterator<Item = (&'p str, u64)>) -> Result<()> {
        use std::io::Write as _;
        write_whole_with(&self.list, |out| {
            for (page, key) in pages {
                writeln!(out, "{key:016x}\t{page}")?;
            }
            Ok(())
        })
    }
}

/// What [`RoleStore`] holds of a page's or a file's name. Two names of a
/// store would share one once in 10^9 builds of 100,000 pages (and even
/// then a page is taken for current only if its key matches too).
fn name_key(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    name.hash(&mut hasher);
    hasher.finish()
}

/// [`name_key`] of a role page's file (`roles/<file>`).
fn file_key(page: &str) -> Option<u64> {
    page.strip_prefix("roles/").map(name_key)
}

/// Writes `path` whole, as `write` produces it: beside it first, through a
/// buffer, then renamed over it.
fn write_whole_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    use std::io::Write as _;
    let mut new = path.as_os_str().to_owned();
    new.push(".new");
    let new = PathBuf::from(new);
    let file = std::fs::File::create(&new).with_context(|| format!("writing {}", new.display()))?;
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
    write(&mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("writing {}", new.display()))?;
    std::fs::rename(&new, path).with_context(|| format!("writing {}", path.display()))
}

/// The list of role pages and their keys ([`PAGES`]); none when it cannot
/// be read (the first build, or one by an older version).
fn read_page_list(path: &Path) -> HashMap<u64, u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, path)| is_role_page(path))
        .filter_map(|(key, page)| Some((file_key(page)?, u64::from_str_radix(key, 16).ok()?)))
        .collect()
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
    /// The site is for the group of its setgid parent ([`share_with_group`]).
    shared: bool,
    /// Shared, and this process's umask hides files from the group: each
    /// role page is made readable to it as it is written.
    grant_files: bool,
}

impl Staging {
    fn create(site_dir: &Path) -> Result<Staging> {
        remove_stale_staging(site_dir);
        let dir = sibling(site_dir, &format!("building-{}", std::process::id()));
        if dir.exists() {
            remove_ours(&dir)?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let marker = dir.join(MARKER);
        std::fs::write(&marker, "Written by air-demand; replaced on every build.\n")
            .with_context(|| format!("writing {}", marker.display()))?;
        // `roles` is the pages kept beside the site: `../.<site>.roles`.
        let roles = sibling(site_dir, ROLES);
        let target = Path::new("..").join(roles.file_name().unwrap_or_default());
        std::os::unix::fs::symlink(&target, dir.join("roles")).with_context(|| {
            format!(
                "linking {} to {}",
                dir.join("roles").display(),
                target.display()
            )
        })?;
        let shared = dir.parent().is_some_and(shared_parent);
        let grant_files = shared && mode_of(&marker)? & 0o040 == 0;
        Ok(Staging {
            dir,
            published: false,
            shared,
            grant_files,
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

    /// A file at `relative` to write through a buffer, and its path.
    fn writer(&self, relative: &str) -> Result<(PathBuf, std::io::BufWriter<std::fs::File>)> {
        let path = self.path_of(relative)?;
        let file =
            std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        Ok((path, std::io::BufWriter::with_capacity(256 * 1024, file)))
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
        if self.shared {
            share_with_group(&self.dir)?;
        }
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
fn shared_parent(parent: &Path) -> bool {
    mode_of(parent).is_ok_and(|mode| mode & 0o2000 != 0 && mode & 0o050 == 0o050)
}

/// Gives the group read on the files and search on the directories of
/// `staging`, in a shared site ([`shared_parent`]). Nothing is done when the
/// staging directory already grants them (the umask is the process's, the
/// same for every file of the build).
fn share_with_group(staging: &Path) -> Result<()> {
    if mode_of(staging)? & 0o050 == 0o050 && mode_of(&staging.join(MARKER))? & 0o040 == 0o040 {
        return Ok(());
    }
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

/// The permission bits of `path` (not following a symlink).
fn mode_of(path: &Path) -> Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("reading the mode of {}", path.display()))?;
    Ok(meta.permissions().mode() & 0o7777)
}

/// Adds the group's `bits` to `path`'s mode.
fn grant(path: &Path, bits: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = mode_of(path)?;
    if current & bits == bits {
        return Ok(());
    }
    let set = |mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
    // systemd's RestrictSUIDSGID= refuses a chmod naming the setgid
    // bit; without it the directory still keeps its group.
    set(current | bits)
        .or_else(|_| set((current & 0o777) | bits))
        .with_context(|| format!("letting the group read {}", path.display()))
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
/// empty directory: removing an empty directory deletes no file, so that
/// one goes too.
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
        std::fs::create_dir_all(marked.join("assets")).unwrap();
        std::fs::write(marked.join(MARKER), "").unwrap();
        std::fs::write(marked.join("index.html"), "x").unwrap();
        std::fs::write(marked.join("assets").join("a.css"), "x").unwrap();
        // Killed before its marker was written.
        let skeleton = parent.path().join(".site.building-2");
        std::fs::create_dir_all(&skeleton).unwrap();
        // Not ours: unmarked, with a file in it.
        let foreign = parent.path().join(".site.old-3");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("keep.txt"), "x").unwrap();
        remove_stale_staging(&site);
        assert!(!marked.exists());
        assert!(!skeleton.exists());
        assert!(foreign.join("keep.txt").exists());
    }

    /// One build's role pages: `keys` the page files and the keys they are
    /// rendered from; returns the files written.
    fn build_pages(site: &Path, keys: &[(&str, &str)]) -> Vec<String> {
        let staging = Staging::create(site).unwrap();
        let store = RoleStore::open(site, &staging).unwrap();
        let pages: Vec<(String, u64)> = keys
            .iter()
            .map(|(file, key)| {
                (
                    format!("roles/{file}"),
                    u64::from_str_radix(key, 16).unwrap(),
                )
            })
            .collect();
        let render: Vec<String> = pages
            .iter()
            .filter(|(page, key)| !store.holds(page, *key))
            .map(|(page, _)| page.clone())
            .collect();
        let listed: Vec<(&str, u64)> = pages.iter().map(|(p, k)| (p.as_str(), *k)).collect();
        store
            .forget(&listed, render.iter().map(String::as_str))
            .unwrap();
        for page in &render {
            let key = keys.iter().find(|(f, _)| page.ends_with(f)).unwrap().1;
            store.put(page, &format!("page {key}")).unwrap();
        }
        std::fs::write(staging.dir.join("index.html"), "index").unwrap();
        staging.publish(site).unwrap();
        store.finish(&listed).unwrap();
        render
    }

    #[test]
    fn role_pages_are_kept_beside_the_site_and_written_only_when_their_key_moves() {
        use std::os::unix::fs::MetadataExt;
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        let inode = |file: &str| {
            std::fs::metadata(site.join("roles").join(file))
                .unwrap()
                .ino()
        };
        assert_eq!(
            build_pages(&site, &[("a.html", "1"), ("b.html", "1")]),
            ["roles/a.html", "roles/b.html"]
        );
        // Through the site's `roles`, a relative link: the site works from
        // wherever it is served.
        let link = std::fs::read_link(site.join("roles")).unwrap();
        assert_eq!(link, Path::new("../.site.roles"));
        assert_eq!(
            std::fs::read_to_string(site.join("roles/a.html")).unwrap(),
            "page 1"
        );
        let (a, b) = (inode("a.html"), inode("b.html"));

        // b moves, c arrives, a stays.
        assert_eq!(
            build_pages(&site, &[("a.html", "1"), ("b.html", "2"), ("c.html", "1")]),
            ["roles/b.html", "roles/c.html"]
        );
        assert_eq!(inode("a.html"), a, "a kept as it was");
        assert_ne!(inode("b.html"), b, "b written whole, not in place");
        // b's old page is a spare now, for the next build to write into.
        let spares = || -> Vec<u64> {
            std::fs::read_dir(parent.path().join(".site.spare"))
                .unwrap()
                .map(|e| e.unwrap().metadata().unwrap().ino())
                .collect()
        };
        assert_eq!(spares(), [b]);
        let b2 = inode("b.html");
        // b moves again: written into the spare, which then holds b's
        // previous page; no file created, none freed.
        assert_eq!(
            build_pages(&site, &[("a.html", "1"), ("b.html", "3"), ("c.html", "1")]),
            ["roles/b.html"]
        );
        assert_eq!(inode("b.html"), b, "b written into the spare");
        assert_eq!(spares(), [b2]);
        assert_eq!(
            std::fs::read_to_string(site.join("roles/b.html")).unwrap(),
            "page 3"
        );
        assert_eq!(
            build_pages(&site, &[("a.html", "1"), ("b.html", "2"), ("c.html", "1")]),
            ["roles/b.html"]
        );
        assert_eq!(
            std::fs::read_to_string(site.join("roles/b.html")).unwrap(),
            "page 2"
        );

        // a is no longer shown: its page goes once the site is live.
        assert_eq!(
            build_pages(&site, &[("b.html", "2"), ("c.html", "1")]),
            Vec::<String>::new()
        );
        assert!(!site.join("roles/a.html").exists());

        // A page deleted by hand is written again; a stray file is removed.
        std::fs::remove_file(site.join("roles/b.html")).unwrap();
        std::fs::write(parent.path().join(".site.roles/stray.html"), "x").unwrap();
        assert_eq!(
            build_pages(&site, &[("b.html", "2"), ("c.html", "1")]),
            ["roles/b.html"]
        );
        assert!(!parent.path().join(".site.roles/stray.html").exists());
        // Nothing else beside the site but the pages and their list.
        let mut beside: Vec<String> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        beside.sort();
        assert_eq!(
            beside,
            [".site.pages", ".site.roles", ".site.spare", "site"]
        );
    }

    /// Spares an earlier build in this process left keep their names: a new
    /// spare never takes one, so no old page is lost and no file is written
    /// by two pages.
    #[test]
    fn a_new_spare_never_takes_the_name_of_one_left_before() {
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        let pages = [("a.html", "1"), ("b.html", "1"), ("c.html", "1")];
        build_pages(&site, &pages);
        let spare_dir = parent.path().join(".site.spare");
        let pid = std::process::id();
        for n in 0..2 {
            std::fs::write(spare_dir.join(format!("{pid}-{n}")), "old").unwrap();
        }
        build_pages(&site, &[("a.html", "2"), ("b.html", "2"), ("c.html", "2")]);
        for file in ["a.html", "b.html", "c.html"] {
            assert_eq!(
                std::fs::read_to_string(site.join("roles").join(file)).unwrap(),
                "page 2"
            );
        }
        // Three pages replaced: three old pages are spares, none freed.
        let mut spares: Vec<String> = std::fs::read_dir(&spare_dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        spares.sort();
        assert_eq!(spares, ["page 1", "page 1", "page 1"]);
    }

    #[test]
    fn a_page_a_killed_build_was_writing_is_written_again() {
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        build_pages(&site, &[("a.html", "1"), ("b.html", "1")]);
        // A build that took b off the list to rewrite it, then was killed:
        // b's page may be anything now.
        {
            let staging = Staging::create(&site).unwrap();
            let store = RoleStore::open(&site, &staging).unwrap();
            store
                .forget(
                    &[("roles/a.html", 1), ("roles/b.html", 2)],
                    ["roles/b.html"].into_iter(),
                )
                .unwrap();
            store.put("roles/b.html", "page 2").unwrap();
            std::mem::forget(staging);
        }
        // b back at key 1: written again, not taken for current.
        assert_eq!(
            build_pages(&site, &[("a.html", "1"), ("b.html", "1")]),
            ["roles/b.html"]
        );
        assert_eq!(
            std::fs::read_to_string(site.join("roles/b.html")).unwrap(),
            "page 1"
        );
    }

    #[test]
    fn only_role_pages_are_taken_from_the_list_of_pages() {
        let site = tempfile::tempdir().unwrap();
        let list = site.path().join(".site.pages");
        std::fs::write(
            &list,
            "0a\troles/a.html\n0b\troles/../../etc/passwd\n0c\tindex.html\n0d\troles/.x.html\nno tab\n",
        )
        .unwrap();
        let keys = read_page_list(&list);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[&name_key("a.html")], 0x0a);
        assert!(read_page_list(&site.path().join("none")).is_empty());
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
            assert_eq!(shared_parent(parent.path()), shared, "{parent_mode:o}");
            // What a build leaves under umask 077 (the group's bits gone).
            let staging = parent.path().join(".site.building-1");
            std::fs::create_dir_all(staging.join("assets")).unwrap();
            for file in [MARKER, "index.html", "assets/a.css"] {
                std::fs::write(staging.join(file), "x").unwrap();
                set(&staging.join(file), 0o600);
            }
            set(&staging.join("assets"), 0o2700);
            set(&staging, 0o2700);
            if shared_parent(parent.path()) {
                share_with_group(&staging).unwrap();
            }
            let (dir, file) = if shared {
                (0o2750, 0o640)
            } else {
                (0o2700, 0o600)
            };
            assert_eq!(mode(&staging), dir, "{parent_mode:o}");
            assert_eq!(mode(&staging.join("assets")), dir, "{parent_mode:o}");
            for file_name in [MARKER, "index.html", "assets/a.css"] {
                assert_eq!(mode(&staging.join(file_name)), file, "{parent_mode:o}");
            }
        };
        check(0o2750, true);
        check(0o2770, true);
        // Not setgid, or not for the group to read: the umask stands.
        check(0o750, false);
        check(0o2700, false);
    }

    #[test]
    fn role_pages_in_a_shared_site_are_readable_by_its_group_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        const CHILD: &str = "AIR_DEMAND_TEST_UMASK_SITE";
        // The umask is the process's: the build runs in a child process
        // (this test binary again, this test alone) under umask 077.
        if let Some(site) = std::env::var_os(CHILD) {
            // SAFETY: this process runs this one test and nothing else.
            unsafe { libc::umask(0o077) };
            build_pages(Path::new(&site), &[("a.html", "1")]);
            return;
        }
        let parent = tempfile::tempdir().unwrap();
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o2750)).unwrap();
        let site = parent.path().join("site");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "site::tests::role_pages_in_a_shared_site_are_readable_by_its_group_whatever_the_umask",
                "--test-threads=1",
            ])
            .env(CHILD, &site)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&parent.path().join(".site.roles")), 0o750);
        assert_eq!(mode(&site.join("roles/a.html")), 0o640);
        assert_eq!(mode(&site.join("index.html")), 0o640);
    }
}
