//! `health.json` and `health.html` rewritten in the published site, each
//! replaced in one rename, without a whole build: after a digest the site
//! says it was sent (or failed) at once, not at the next scrape. Only a site
//! air-demand already published is touched; a digest never creates one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::health::Health;
use crate::store::Db;

/// Rewrites the two health files of the live site from `health` (the
/// caller's, as for `build`). Returns the site directory, or `None` when
/// there is no published site to update. Waits for a build in progress, so
/// the files land in the site it publishes.
pub fn refresh(
    config: &Config,
    db: &Db,
    now: DateTime<Utc>,
    health: &Health,
) -> Result<Option<PathBuf>> {
    if !is_published(&config.site_dir()) {
        return Ok(None);
    }
    let site_dir = super::checked_site_dir(config)?;
    let rules = config.rules()?;
    let _lock = super::SiteLock::acquire(&site_dir)?;
    // A build may have been publishing while the lock was awaited: look again.
    if !is_published(&site_dir) {
        return Ok(None);
    }
    let data = crate::views::load(db, &rules.lists, super::as_of(db, now)?)?;
    let charts = super::charts::build(&data);
    let page =
        super::pages::health_page(&data, health, &charts).context("rendering health.html")?;
    replace(&site_dir, "health.html", &page)?;
    replace(&site_dir, "health.json", &crate::text::json_pretty(health)?)?;
    Ok(Some(site_dir))
}

/// A directory air-demand published (it carries the marker).
fn is_published(site_dir: &Path) -> bool {
    site_dir.is_dir() && site_dir.join(super::MARKER).is_file()
}

/// Replaces `site_dir/name` with `content` in one rename: written beside it
/// first, with the mode and group of the file it replaces (else of the
/// marker the build wrote), so the web server reads it as it read the old.
fn replace(site_dir: &Path, name: &str, content: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let target = site_dir.join(name);
    let model = std::fs::metadata(&target)
        .or_else(|_| std::fs::metadata(site_dir.join(super::MARKER)))
        .with_context(|| format!("reading {}", target.display()))?;
    let mut staging = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempfile_in(site_dir)
        .with_context(|| format!("writing beside {}", target.display()))?;
    staging
        .write_all(content.as_bytes())
        .and_then(|()| staging.as_file().set_permissions(model.permissions()))
        .and_then(|()| staging.as_file().sync_all())
        .with_context(|| format!("writing beside {}", target.display()))?;
    // The group the old file had, when this user may give it (a setgid
    // site directory gives it anyway); otherwise the directory's rule stands.
    let _ = std::os::unix::fs::fchown(staging.as_file(), None, Some(model.gid()));
    staging
        .persist(&target)
        .map_err(|err| err.error)
        .with_context(|| format!("replacing {}", target.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_file_is_replaced_with_the_old_ones_mode_and_nothing_left_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(super::super::MARKER), "").unwrap();
        let target = dir.path().join("health.json");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        replace(dir.path(), "health.json", "new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A file the build did not write yet takes the marker's mode.
        std::fs::set_permissions(
            dir.path().join(super::super::MARKER),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        replace(dir.path(), "health.html", "page").unwrap();
        let mode = std::fs::metadata(dir.path().join("health.html"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn no_site_is_created() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_published(&dir.path().join("site")));
        std::fs::create_dir(dir.path().join("site")).unwrap();
        assert!(!is_published(&dir.path().join("site")));
    }
}
