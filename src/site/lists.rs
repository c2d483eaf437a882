//! The pages and files that list every role (`index.html`, `all.html`,
//! `roles.json`, `roles.csv`), written from rows kept beside the site.
//!
//! A role's four rows (its index row, all-roles row, JSON entry and CSV
//! line) are made once per version of the role, from its view as read,
//! and kept in `.<site>.lists`; its view (`views::cache`) says where
//! ([`RowsAt`]). A build writes each list by copying the rows in list
//! order, making only those of roles read again. What a row shows that
//! moves without its role changing (the NEW mark, the age, the manager's
//! last activity, the responsiveness) is a slot in the kept row
//! ([`Slot`]), filled from the view as of this build.
//!
//! The file grows by appending; once it holds more than twice what the
//! rows need, a build writes it again, rows in list order, under a new id.
//! Its id is in the views file: a views file and a rows file that do not
//! belong together, or a row that is not wholly in the file, make the rows
//! again. The rows are read through a window, so memory does not follow
//! the number of roles.

use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use askama::Template;

use super::feeds::{self, JsonArray};
use super::pages::{self, ROWS, SLOT, Slot};
use crate::views::{RoleView, RowsAt, SiteData};

/// The start of the file: its format, then its id.
const MAGIC: &[u8] = b"air-demand list rows 1\n";
const HEADER: u64 = MAGIC.len() as u64 + 8;

/// What the file may hold beyond twice the rows in use before a build
/// writes it again.
const SLACK: u64 = 64 * 1024;

/// How far ahead a read in list order reads.
const WINDOW: usize = 256 * 1024;

/// What [`write`] did.
pub struct Listed {
    /// Files written (the others linked from the live site).
    pub written: usize,
    /// The id of the file of rows the views now point into.
    pub rows_id: u64,
    /// Whether any view's rows moved: the views file must be written.
    pub moved: bool,
}

/// Writes the four lists of `data.roles` into `staging`, the rows from
/// `rows_file` (whose id the views file named, `kept_id`) where a view
/// has them; with `live`, `roles.json` and `roles.csv` are linked from
/// the live site, where they are as this build would write them.
pub(super) fn write(
    staging: &super::Staging,
    data: &mut SiteData,
    rows_file: &Path,
    kept_id: Option<u64>,
    live: Option<&Path>,
) -> Result<Listed> {
    let live_bytes = data
        .roles
        .iter()
        .filter_map(|view| view.moving.rows)
        .map(|rows| rows.len())
        .sum();
    let mut rows = RowFile::open(rows_file, kept_id, live_bytes)?;
    let (index_head, index_tail) = split_page(&pages::index_page(data), "index.html")?;
    let (all_head, all_tail) = split_page(&pages::all_page(data), "all.html")?;
    let mut written = 2;
    let mut index = staging.writer("index.html")?;
    let mut all = staging.writer("all.html")?;
    let linked = |path: &str| {
        live.is_some_and(|live| {
            staging
                .path_of(path)
                .is_ok_and(|to| std::fs::hard_link(live.join(path), to).is_ok())
        })
    };
    let mut json = if linked("roles.json") {
        None
    } else {
        written += 1;
        Some(staging.writer("roles.json")?)
    };
    let mut csv = if linked("roles.csv") {
        None
    } else {
        written += 1;
        Some(staging.writer("roles.csv")?)
    };
    let rewriting = rows.rewriting();
    let mut json_array = JsonArray::default();
    let mut made = Vec::new();
    let io = |e: std::io::Error| anyhow::Error::from(e).context("writing the role lists");
    index.1.write_all(index_head.as_bytes()).map_err(io)?;
    all.1.write_all(all_head.as_bytes()).map_err(io)?;
    if let Some(csv) = &mut csv {
        csv.1.write_all(&feeds::csv_header()?).map_err(io)?;
    }
    for view in &mut data.roles {
        let kept = match view.moving.rows {
            // A qualified role's rows hold its index row.
            Some(at) if at.lens[0] > 0 || !view.qualified => {
                rows.get(at).map_err(io)?.map(|text| (at, text))
            }
            _ => None,
        };
        let (at, text) = match kept {
            Some(kept) if !rewriting => kept,
            Some((at, text)) => {
                made.clear();
                made.extend_from_slice(text.as_bytes());
                (
                    rows.put(&made, at.lens).map_err(io)?,
                    std::str::from_utf8(&made)?,
                )
            }
            None => {
                let lens = make_rows(view, &mut made)?;
                (
                    rows.put(&made, lens).map_err(io)?,
                    std::str::from_utf8(&made)?,
                )
            }
        };
        let [index_row, all_row, json_entry, csv_line] = parts(text, at.lens).unwrap_or_default();
        if view.qualified {
            fill(&mut index.1, index_row, view).map_err(io)?;
        }
        fill(&mut all.1, all_row, view).map_err(io)?;
        if let Some(json) = &mut json {
            json_array
                .entry(&mut json.1, json_entry.as_bytes())
                .map_err(io)?;
        }
        if let Some(csv) = &mut csv {
            csv.1.write_all(csv_line.as_bytes()).map_err(io)?;
        }
        view.moving.rows = Some(at);
    }
    index.1.write_all(index_tail.as_bytes()).map_err(io)?;
    all.1.write_all(all_tail.as_bytes()).map_err(io)?;
    if let Some(json) = &mut json {
        std::mem::take(&mut json_array)
            .end(&mut json.1)
            .map_err(io)?;
    }
    for (path, mut out) in [Some(index), Some(all), json, csv].into_iter().flatten() {
        out.flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // A file written again has a new id, which the views must name.
    let moved = rows.put > 0 || rows.rewriting();
    let rows_id = rows.finish()?;
    Ok(Listed {
        written,
        rows_id,
        moved,
    })
}

/// A list page rendered around its rows: what comes before them and after.
fn split_page(page: &impl Template, name: &str) -> Result<(String, String)> {
    let page = page.render().with_context(|| format!("rendering {name}"))?;
    let (head, tail) = page
        .split_once(ROWS)
        .with_context(|| format!("{name} has no place for its rows"))?;
    Ok((head.to_string(), tail.to_string()))
}

/// Makes `view`'s four rows into `out`; their lengths.
fn make_rows(view: &RoleView, out: &mut Vec<u8>) -> Result<[u32; 4]> {
    out.clear();
    let mut lens = [0; 4];
    let mut mark = |out: &Vec<u8>, at: usize, from: usize| -> Result<usize> {
        lens[at] = u32::try_from(out.len() - from).context("a role's row is over 4 GB")?;
        Ok(out.len())
    };
    if view.qualified {
        pages::index_row(view)
            .write_into(out)
            .context("rendering a row of index.html")?;
    }
    let from = mark(out, 0, 0)?;
    pages::all_row(view)
        .write_into(out)
        .context("rendering a row of all.html")?;
    let from = mark(out, 1, from)?;
    out.extend_from_slice(feeds::json_entry(view)?.as_bytes());
    let from = mark(out, 2, from)?;
    out.extend_from_slice(&feeds::csv_record(view)?);
    mark(out, 3, from)?;
    Ok(lens)
}

/// The four rows in `text`; `None` unless each ends where a character does.
fn parts(text: &str, lens: [u32; 4]) -> Option<[&str; 4]> {
    let mut rest = text;
    let mut parts = [""; 4];
    for (part, len) in parts.iter_mut().zip(lens) {
        let len = len as usize;
        *part = rest.get(..len)?;
        rest = rest.get(len..)?;
    }
    Some(parts)
}

/// Writes a kept row with its slots filled for `view` as it is now.
fn fill(out: &mut impl std::io::Write, row: &str, view: &RoleView) -> std::io::Result<()> {
    let mut rest = row;
    while let Some(at) = rest.find(char::from(SLOT)) {
        out.write_all(&rest.as_bytes()[..at])?;
        let name = rest.as_bytes().get(at + 1).copied();
        if let Some(slot) = name.and_then(Slot::named) {
            pages::row_slot(view, slot).write_into(out)?;
        }
        // A slot's name is a letter: past it is a character's start.
        let Some(after) = rest.get(at + 2..) else {
            return Ok(());
        };
        rest = after;
    }
    out.write_all(rest.as_bytes())
}

/// The file of kept rows: read where the views point, written by
/// appending, or written again whole (in list order) under a new id.
struct RowFile {
    /// The file as the build found it, when it is the views' file.
    kept: Option<(std::fs::File, u64)>,
    /// A window of it, read ahead in list order.
    window: Vec<u8>,
    window_at: u64,
    out: std::io::BufWriter<std::fs::File>,
    /// Where the next row goes.
    out_at: u64,
    /// Writing again: the new file, renamed over the old at the end.
    new: Option<(PathBuf, PathBuf)>,
    id: u64,
    /// Rows written.
    put: usize,
}

impl RowFile {
    fn open(path: &Path, kept_id: Option<u64>, live_bytes: u64) -> Result<RowFile> {
        let kept = std::fs::File::open(path).ok().and_then(|file| {
            let len = file.metadata().ok()?.len();
            let mut header = [0; HEADER as usize];
            file.read_exact_at(&mut header, 0).ok()?;
            let (magic, id) = header.split_at(MAGIC.len());
            let id = u64::from_le_bytes(id.try_into().ok()?);
            (magic == MAGIC && Some(id) == kept_id).then_some((file, id, len))
        });
        let (out, out_at, new, id, kept) = match kept {
            // Appended to while it is mostly rows in use.
            Some((file, id, len)) if len <= 2 * live_bytes + SLACK => {
                let out = std::fs::OpenOptions::new()
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                (out, len, None, id, Some((file, len)))
            }
            kept => {
                let mut name = path.as_os_str().to_owned();
                name.push(".new");
                let new = PathBuf::from(name);
                let id = new_id();
                let out = std::fs::File::create(&new)
                    .and_then(|mut out| {
                        out.write_all(&[MAGIC, &id.to_le_bytes()].concat())?;
                        Ok(out)
                    })
                    .with_context(|| format!("writing {}", new.display()))?;
                let kept = kept.map(|(file, _, len)| (file, len));
                (out, HEADER, Some((new, path.to_path_buf())), id, kept)
            }
        };
        Ok(RowFile {
            kept,
            window: Vec::new(),
            window_at: 0,
            out: std::io::BufWriter::with_capacity(WINDOW, out),
            out_at,
            new,
            id,
            put: 0,
        })
    }

    /// Whether every row is written to a new file.
    fn rewriting(&self) -> bool {
        self.new.is_some()
    }

    /// The kept rows at `at`; `None` when they are not wholly in the kept
    /// file, are not four rows of text, or hold a NUL, which no row does
    /// (a file whose length was written before its bytes, as a crash can
    /// leave it).
    fn get(&mut self, at: RowsAt) -> std::io::Result<Option<&str>> {
        let Some((file, len)) = &self.kept else {
            return Ok(None);
        };
        let end = at.at.checked_add(at.len());
        if at.at < HEADER || end.is_none_or(|end| end > *len) {
            return Ok(None);
        }
        let want = at.len() as usize;
        let window_end = self.window_at + self.window.len() as u64;
        if at.at < self.window_at || at.at + want as u64 > window_end {
            // In list order, the next rows follow these: read ahead. After
            // a jump, only these.
            let ahead = if at.at == window_end { WINDOW } else { 0 };
            let size = want.max(ahead).min((len - at.at) as usize);
            self.window.resize(size, 0);
            file.read_exact_at(&mut self.window, at.at)?;
            self.window_at = at.at;
        }
        let from = (at.at - self.window_at) as usize;
        let bytes = &self.window[from..from + want];
        Ok(std::str::from_utf8(bytes)
            .ok()
            .filter(|text| !text.contains('\0') && parts(text, at.lens).is_some()))
    }

    /// Writes `bytes` (rows of these `lens`) at the end; where they are.
    fn put(&mut self, bytes: &[u8], lens: [u32; 4]) -> std::io::Result<RowsAt> {
        self.out.write_all(bytes)?;
        let at = RowsAt {
            at: self.out_at,
            lens,
        };
        self.out_at += bytes.len() as u64;
        self.put += 1;
        Ok(at)
    }

    /// Flushes the rows written, and puts a new file in place; its id.
    fn finish(self) -> Result<u64> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .context("writing the kept rows")?;
        drop(file);
        if let Some((new, path)) = &self.new {
            std::fs::rename(new, path)
                .with_context(|| format!("moving {} to {}", new.display(), path.display()))?;
        }
        Ok(self.id)
    }
}

/// An id for a new file of rows: random, so no two files share one.
fn new_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// `index.html` (or with `all`, `all.html`) whole, its rows made afresh.
#[cfg(test)]
pub(super) fn page_html(data: &SiteData, all: bool) -> String {
    let (head, tail) = if all {
        split_page(&pages::all_page(data), "all.html")
    } else {
        split_page(&pages::index_page(data), "index.html")
    }
    .unwrap();
    let mut out = head.into_bytes();
    let mut made = Vec::new();
    for view in data.roles.iter().filter(|view| all || view.qualified) {
        let lens = make_rows(view, &mut made).unwrap();
        let [index_row, all_row, ..] = parts(std::str::from_utf8(&made).unwrap(), lens).unwrap();
        fill(&mut out, if all { all_row } else { index_row }, view).unwrap();
    }
    out.extend_from_slice(tail.as_bytes());
    String::from_utf8(out).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::{Text, Texts};

    fn view(n: usize) -> RoleView {
        let id = format!("paraform:{n}");
        RoleView {
            page: format!("roles/{}", crate::views::page_file(&id)),
            id,
            title: format!("Engineer {n} <script>alert(1)</script> \"q\" é"),
            company: format!("Acme & {}", n % 7),
            url: Some(format!("https://www.paraform.com/role/{n}?a=1&b=2")),
            status: "active",
            tier: if n.is_multiple_of(3) {
                "QUALIFIED"
            } else {
                "SKIP"
            },
            qualified: n.is_multiple_of(3),
            score: n as f64 / 100.0,
            age_days: Some(n as i64 % 9),
            is_new: n.is_multiple_of(4),
            texts: Texts::of(&[
                (Text::age_text, &format!("{}d", n % 9)),
                (Text::last_active, "2025-12-19"),
                (Text::last_active_sort, "2025-12-19T10:00:00Z"),
                (Text::responsiveness_text, "1.5d"),
                (Text::locations, "Remote, =cmd"),
            ]),
            reasons: crate::views::Lines::of(["✗ salary", "✓ remote"]),
            ..RoleView::default()
        }
    }

    fn data(roles: Vec<RoleView>) -> SiteData {
        SiteData {
            roles,
            ..SiteData::empty(chrono::Utc::now())
        }
    }

    /// The four lists of a build from kept rows, beside the four made
    /// afresh.
    fn build(
        site: &Path,
        data: &mut SiteData,
        kept: Option<u64>,
    ) -> (Listed, Vec<(String, String)>) {
        let staging = super::super::Staging::create(site).unwrap();
        let listed = write(
            &staging,
            data,
            &site.with_file_name(".site.lists"),
            kept,
            None,
        )
        .unwrap();
        let read = |name: &str| std::fs::read_to_string(staging.dir.join(name)).unwrap();
        let found = vec![
            (read("index.html"), page_html(data, false)),
            (read("all.html"), page_html(data, true)),
            (read("roles.json"), feeds::roles_json(&data.roles).unwrap()),
            (read("roles.csv"), feeds::roles_csv(&data.roles)),
        ];
        (listed, found)
    }

    #[test]
    fn lists_from_kept_rows_are_the_lists_made_afresh_and_the_file_stays_near_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        let rows = dir.path().join(".site.lists");
        let mut data = data((0..60).map(view).collect());
        let mut kept = None;
        let mut rewritten = 0;
        for round in 0..24 {
            // Some roles read again (their rows made), the others' moving
            // parts moved; the order changes.
            for (at, view) in data.roles.iter_mut().enumerate() {
                if (at + round) % 5 == 0 {
                    *view = crate::views::RoleView {
                        title: format!("Engineer {at}, round {round}"),
                        ..self::view(at)
                    };
                } else {
                    view.is_new = !view.is_new;
                    view.age_days = Some(round as i64);
                    view.texts = view.texts.with(&[(Text::age_text, &format!("{round}d"))]);
                }
            }
            data.roles.rotate_left(7);
            let (listed, found) = build(&site, &mut data, kept);
            for (built, afresh) in &found {
                assert_eq!(built, afresh, "round {round}");
            }
            assert!(listed.moved, "round {round}: rows made");
            if kept.is_some_and(|id| id != listed.rows_id) {
                rewritten += 1;
            }
            kept = Some(listed.rows_id);
            let live: u64 = data
                .roles
                .iter()
                .filter_map(|v| v.moving.rows)
                .map(|r| r.len())
                .sum();
            let len = std::fs::metadata(&rows).unwrap().len();
            // At most twice the rows in use, and what this build added.
            assert!(
                len <= 3 * live + SLACK + HEADER,
                "round {round}: {len} for {live}"
            );
        }
        assert!(rewritten >= 2, "written again {rewritten} times");
        // With nothing read again, nothing is written to it.
        let before = std::fs::read(&rows).unwrap();
        let (listed, found) = build(&site, &mut data, kept);
        assert!(!listed.moved);
        assert_eq!(std::fs::read(&rows).unwrap(), before);
        for (built, afresh) in &found {
            assert_eq!(built, afresh);
        }
        // A role kept unqualified that is qualified now (its stamp would
        // have moved; here only its view did) gets its index row.
        let (at, view) = data
            .roles
            .iter_mut()
            .enumerate()
            .find(|(_, view)| !view.qualified)
            .unwrap();
        view.qualified = true;
        let id = view.id.clone();
        let (listed, found) = build(&site, &mut data, kept);
        kept = Some(listed.rows_id);
        assert!(
            found[0].0.contains(&format!("data-role-id=\"{id}\"")),
            "{at}"
        );
        for (built, afresh) in &found {
            assert_eq!(built, afresh);
        }
        let before = std::fs::read(&rows).unwrap();
        // A file that is cut short, zeros where its rows were (its length
        // written before its bytes), another build's, or gone: the rows are
        // made again.
        let damage: [&dyn Fn(); 4] = [
            &|| std::fs::write(&rows, &before[..before.len() / 2]).unwrap(),
            &|| {
                let mut zeroed = before.clone();
                let half = zeroed.len() / 2;
                zeroed[half..].fill(0);
                std::fs::write(&rows, zeroed).unwrap()
            },
            &|| {
                let mut other = before.clone();
                other[MAGIC.len()] ^= 1;
                std::fs::write(&rows, other).unwrap()
            },
            &|| std::fs::remove_file(&rows).unwrap(),
        ];
        for (case, damage) in damage.iter().enumerate() {
            std::fs::write(&rows, &before).unwrap();
            damage();
            let (listed, found) = build(&site, &mut data, kept);
            for (built, afresh) in &found {
                assert_eq!(built, afresh, "damage {case}");
            }
            assert!(listed.moved, "damage {case}");
            kept = Some(listed.rows_id);
        }
    }
}
