//! `companies discover`: board names proposed for the companies seen on
//! Paraform. Each company's name gives a couple of slugs ("Acme Robotics":
//! `acmerobotics`, `acme-robotics`), tried politely against the six
//! board APIs; a 404 means no. Companies already followed, and boards the
//! config already names, are not asked about; an API that cannot be reached
//! (DNS, a refused connection) is said once and not asked again this run.
//! It prints what it found and writes nothing unless asked; `--write` appends `[[companies]]` entries to the config
//! file as text, so its comments stay, one entry at a time: one that would
//! not read (a name too long for a board, a board proposed twice) is
//! skipped with a note.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::company::key as company_key;
use crate::config::Config;
use crate::fetch::boards::{self, Kind};
use crate::fetch::{FetchError, HttpClient};
use crate::store::Db;

/// One board found for a company.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub company: String,
    pub kind: Kind,
    pub board: String,
    pub open_roles: usize,
}

/// What a run of `discover` saw.
#[derive(Debug, Default)]
pub struct Discovery {
    pub found: Vec<Found>,
    /// Companies asked about, and the questions that failed (not 404).
    pub asked: usize,
    pub failures: Vec<String>,
    /// The APIs that could not be reached (each said once in `failures`).
    pub unreachable: Vec<Kind>,
    /// Requests sent, retries included.
    pub requests: u64,
}

/// The slugs a company's boards are likely to be called, most likely first.
pub fn slugs(name: &str) -> Vec<String> {
    // Board names are ASCII (letters, digits, '-'): other letters drop out.
    let words: Vec<String> = company_key(name)
        .split(' ')
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let mut slugs = vec![words.concat(), words.join("-")];
    slugs.retain(|s| !s.is_empty());
    slugs.dedup();
    slugs
}

/// Asks every board API about the `limit` companies with the most active
/// Paraform roles that are not followed yet. A board the config already
/// follows (under any company's name) is not asked about; an API that
/// cannot be reached is reported once, and skipped for the companies after.
pub async fn discover(config: &Config, db: &Db, limit: usize) -> Result<Discovery> {
    let followed: HashSet<String> = config
        .companies
        .iter()
        .map(|c| company_key(&c.name))
        .collect();
    let followed_boards: HashSet<(&str, &str)> =
        config.companies.iter().flat_map(|c| c.boards()).collect();
    let companies: Vec<String> = db
        .active_companies()?
        .into_iter()
        .filter(|name| !followed.contains(&company_key(name)))
        .take(limit)
        .collect();
    let settings = &config.boards;
    let client = HttpClient::new(&settings.http())
        .context("starting the HTTP client")?
        .unreachable_once();
    let mut discovery = Discovery {
        asked: companies.len(),
        ..Discovery::default()
    };
    for company in companies {
        for kind in Kind::ALL {
            if discovery.unreachable.contains(&kind) {
                continue;
            }
            let base_url = settings.base_url(kind);
            for slug in slugs(&company) {
                if followed_boards.contains(&(kind.source(), slug.as_str())) {
                    continue;
                }
                match boards::find_jobs(&client, base_url, kind, &slug, settings.max_board_bytes)
                    .await
                {
                    Ok(None) => continue,
                    Ok(Some(jobs)) => {
                        discovery.found.push(Found {
                            company: company.clone(),
                            kind,
                            board: slug,
                            open_roles: jobs.len(),
                        });
                        break;
                    }
                    Err(err @ FetchError::Unreachable { .. }) => {
                        discovery
                            .failures
                            .push(format!("{} (not asked again this run): {err}", kind.name()));
                        discovery.unreachable.push(kind);
                        break;
                    }
                    Err(err) => {
                        discovery.failures.push(format!("{company}: {err}"));
                        break;
                    }
                }
            }
        }
    }
    discovery.requests = client.request_count();
    Ok(discovery)
}

/// What `discover --careers URL` read on a careers page.
#[derive(Debug, Clone, PartialEq)]
pub struct CareersFound {
    /// `--name`, else the postings' `hiringOrganization`, else the host.
    pub company: String,
    pub url: String,
    /// Open postings read (on the page, or on the job pages it links).
    pub postings: usize,
    /// The first few postings' titles.
    pub titles: Vec<String>,
    /// What was skipped on the way (malformed JSON-LD, disallowed pages).
    pub notes: Vec<String>,
    pub requests: u64,
}

/// Job pages `discover --careers` reads at most, for a page that links them.
const DISCOVER_PAGES: usize = 10;

/// Reads the careers page at `url` as a scrape would (robots.txt obeyed,
/// linked job pages followed, [`DISCOVER_PAGES`] at most), to show what
/// following it would give. Nothing is stored.
pub async fn discover_careers(
    config: &Config,
    url: &str,
    name: Option<&str>,
) -> Result<CareersFound> {
    let Some((parsed, host)) = crate::config::careers_page(url) else {
        bail!("--careers {url:?} is not an http(s) URL such as \"https://acme.com/careers\"");
    };
    let settings = &config.boards;
    let client = HttpClient::new(&settings.http()).context("starting the HTTP client")?;
    let site = crate::fetch::careers::Site {
        url: parsed,
        host: host.clone(),
        link_pattern: None,
        max_pages: DISCOVER_PAGES,
        max_bytes: settings.max_board_bytes,
    };
    let read = crate::fetch::careers::read_site(
        &client,
        &site,
        &Default::default(),
        &Default::default(),
        chrono::Utc::now(),
    )
    .await?;
    let postings: Vec<serde_json::Value> =
        read.list.roles.iter().map(|r| read.list.value(r)).collect();
    let organization = postings.iter().find_map(|p| {
        crate::role::text_at(p, "hiringOrganization").filter(|n| !n.trim().is_empty())
    });
    let company = name
        .map(str::to_string)
        .or(organization)
        .unwrap_or_else(|| host.clone());
    Ok(CareersFound {
        company: crate::text::one_line(&company),
        url: url.to_string(),
        postings: postings.len(),
        titles: postings
            .iter()
            .filter_map(|p| crate::role::text_at(p, "title"))
            .take(5)
            .collect(),
        notes: read.notes,
        requests: client.request_count(),
    })
}

/// The `[[companies]]` entry following a careers page.
pub fn careers_entry(found: &CareersFound) -> (String, String) {
    let text = format!(
        "\n[[companies]]   # added by `air-demand companies discover --careers`\nname = {}\ncareers = {}\n",
        toml_string(&found.company),
        toml_string(&found.url)
    );
    (found.company.clone(), text)
}

/// The `[[companies]]` entries for what was found, one per company, each
/// with the company's name and its entry's text.
pub fn entries(found: &[Found]) -> Vec<(String, String)> {
    let mut companies: Vec<&str> = found.iter().map(|f| f.company.as_str()).collect();
    companies.dedup();
    companies
        .into_iter()
        .map(|company| {
            let mut text = format!(
                "\n[[companies]]   # added by `air-demand companies discover`\nname = {}\n",
                toml_string(company)
            );
            for f in found.iter().filter(|f| f.company == company) {
                text.push_str(&format!(
                    "{} = {}\n",
                    f.kind.source(),
                    toml_string(&f.board)
                ));
            }
            (company.to_string(), text)
        })
        .collect()
}

/// What `--write` did: the companies added, and a note per entry skipped.
#[derive(Debug, Default, PartialEq)]
pub struct Written {
    pub added: Vec<String>,
    pub skipped: Vec<String>,
}

/// Appends the entries that fit to `text`, one at a time: an entry is kept
/// only if the config still reads with it (so a board name that is not one,
/// or one board proposed for two spellings of a company, is skipped with a
/// note and the rest go on). Returns the new text and what happened.
pub fn append_entries(
    text: &str,
    entries: &[(String, String)],
    origin: &Path,
) -> (String, Written) {
    let mut updated = text.to_string();
    let mut written = Written::default();
    // Companies in the config, by normalised name: "Acme Robotics, Inc." is
    // another spelling of "Acme Robotics", whatever boards it gave.
    let mut names: HashSet<String> = Config::parse(text, origin)
        .map(|c| c.companies.iter().map(|c| company_key(&c.name)).collect())
        .unwrap_or_default();
    for (company, entry) in entries {
        let name = company_key(company);
        if names.contains(&name) {
            written.skipped.push(format!(
                "{}: another spelling of a company already in the config",
                crate::text::terminal(company, 80)
            ));
            continue;
        }
        let separator = if updated.is_empty() || updated.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let candidate = format!("{updated}{separator}{entry}");
        match Config::parse(&candidate, origin) {
            Ok(_) => {
                updated = candidate;
                names.insert(name);
                written.added.push(company.clone());
            }
            Err(err) => written.skipped.push(format!(
                "{}: {}",
                crate::text::terminal(company, 80),
                crate::text::terminal(&err.root_cause().to_string(), 300)
            )),
        }
    }
    (updated, written)
}

/// Appends the entries that fit to the config file ([`append_entries`]).
/// The file is edited in place: through a symlink, the file it points to is
/// replaced (the link stays a link), with its mode kept; the new text is
/// written to a temporary file beside it and renamed over it, so a reader
/// sees the old file or the new one, never half.
pub fn append_to_config(path: &Path, entries: &[(String, String)]) -> Result<Written> {
    if !path.exists() {
        bail!(
            "--write needs a config file, and {} does not exist: create it with `air-demand init`",
            path.display()
        );
    }
    let target = std::fs::canonicalize(path)
        .with_context(|| format!("finding the file {} names", path.display()))?;
    let text =
        std::fs::read_to_string(&target).with_context(|| format!("reading {}", path.display()))?;
    let (updated, written) = append_entries(&text, entries, path);
    if written.added.is_empty() {
        return Ok(written);
    }
    replace_file(&target, &updated)?;
    Ok(written)
}

/// Replaces `target` (a regular file) with `text` in one rename, keeping
/// its permissions, owner and group (a config owned root:air-demand, edited
/// by root, stays readable by the service).
fn replace_file(target: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let dir = target.parent().unwrap_or(Path::new("."));
    let metadata =
        std::fs::metadata(target).with_context(|| format!("reading {}", target.display()))?;
    let permissions = metadata.permissions();
    let mut staging = tempfile::Builder::new()
        .prefix(".air-demand-config.")
        .tempfile_in(dir)
        .with_context(|| format!("writing beside {}", target.display()))?;
    staging
        .write_all(text.as_bytes())
        .and_then(|()| staging.as_file().set_permissions(permissions))
        .and_then(|()| staging.as_file().sync_all())
        .with_context(|| format!("writing beside {}", target.display()))?;
    std::os::unix::fs::fchown(
        staging.as_file(),
        Some(metadata.uid()),
        Some(metadata.gid()),
    )
    .with_context(|| {
        format!(
            "{} could not keep its owner and group (uid {}, gid {}): run this as its owner or as root",
            target.display(),
            metadata.uid(),
            metadata.gid()
        )
    })?;
    staging
        .persist(target)
        .map_err(|err| err.error)
        .with_context(|| format!("replacing {}", target.display()))?;
    Ok(())
}

/// `text` as a TOML string, quoted and escaped by the toml crate.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_the_name() {
        assert_eq!(
            slugs("Acme Robotics, Inc."),
            ["acmerobotics", "acme-robotics"]
        );
        assert_eq!(slugs("Supabase"), ["supabase"]);
        assert!(slugs("!!!").is_empty());
        assert_eq!(slugs("Café Zoë"), ["cafzo", "caf-zo"]);
    }

    #[test]
    fn entries_read_back_as_config() {
        let found = [
            Found {
                company: "Acme \"Robotics\"".into(),
                kind: Kind::Ashby,
                board: "acmerobotics".into(),
                open_roles: 3,
            },
            Found {
                company: "Acme \"Robotics\"".into(),
                kind: Kind::Lever,
                board: "acmerobotics".into(),
                open_roles: 1,
            },
        ];
        let (text, written) = append_entries("", &entries(&found), Path::new("t.toml"));
        assert_eq!(written.added, ["Acme \"Robotics\""]);
        let config = Config::parse(&text, Path::new("t.toml")).unwrap();
        assert_eq!(config.companies.len(), 1);
        assert_eq!(config.companies[0].name, "Acme \"Robotics\"");
        assert_eq!(
            config.companies[0].boards(),
            [("lever", "acmerobotics"), ("ashby", "acmerobotics")]
        );
    }

    fn found(company: &str, kind: Kind, board: &str) -> Found {
        Found {
            company: company.into(),
            kind,
            board: board.into(),
            open_roles: 1,
        }
    }

    #[test]
    fn a_bad_or_repeated_entry_is_skipped_and_the_rest_are_written() {
        let long = "a".repeat(101);
        let proposals = [
            found("Acme Robotics", Kind::Greenhouse, "acmerobotics"),
            found("Acme Robotics, Inc.", Kind::Greenhouse, "acmerobotics"),
            found(&long, Kind::Lever, &long),
            // Its board already followed by another entry, in another case.
            found("Initech", Kind::Ashby, "initech"),
            found("Globex", Kind::Ashby, "globex"),
        ];
        let config = "# mine\n[[companies]]\nname = \"Init\"\nashby = \"Initech\"\n";
        let (text, written) = append_entries(config, &entries(&proposals), Path::new("t.toml"));
        assert_eq!(written.added, ["Acme Robotics", "Globex"]);
        assert_eq!(written.skipped.len(), 3, "{:?}", written.skipped);
        assert!(
            written.skipped[0].starts_with("Acme Robotics, Inc.: ")
                && written.skipped[0].contains("another spelling"),
            "{:?}",
            written.skipped
        );
        assert!(written.skipped[1].contains("is not a board name"));
        assert!(
            written.skipped[2].starts_with("Initech: ")
                && written.skipped[2].contains("followed twice"),
            "{:?}",
            written.skipped
        );
        assert!(text.starts_with(config), "the text before is kept");
        let read = Config::parse(&text, Path::new("t.toml")).unwrap();
        let names: Vec<&str> = read.companies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Init", "Acme Robotics", "Globex"]);
        // Nothing fits: nothing changes.
        let (same, written) = append_entries(&text, &entries(&proposals[..2]), Path::new("t"));
        assert_eq!((same, written.added.len()), (text, 0));
    }

    #[test]
    fn the_config_is_edited_through_its_symlink_with_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("etc").join("real.toml");
        std::fs::create_dir(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "# kept\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        // Run as root (as CI does), the owner and group are someone else's,
        // as on a server: root:air-demand.
        use std::os::unix::fs::MetadataExt;
        let root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
        if root {
            std::os::unix::fs::chown(&real, Some(65534), Some(65534)).unwrap();
        }
        let link = dir.path().join("air-demand.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let proposals = [found("Globex", Kind::Ashby, "globex")];
        let written = append_to_config(&link, &entries(&proposals)).unwrap();
        assert_eq!(written.added, ["Globex"]);
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        let text = std::fs::read_to_string(&real).unwrap();
        assert!(text.starts_with("# kept\n") && text.contains("ashby = \"globex\""));
        let mode = std::fs::metadata(&real).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
        if root {
            let kept = std::fs::metadata(&real).unwrap();
            assert_eq!((kept.uid(), kept.gid()), (65534, 65534));
        }
        let others: Vec<_> = std::fs::read_dir(real.parent().unwrap()).unwrap().collect();
        assert_eq!(others.len(), 1, "no staging file left");
    }
}
