//! `companies discover`: board names proposed for the companies seen on
//! Paraform, printed, and with `--write` appended to the config.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::open_existing;
use crate::config::Config;

/// `companies discover [--write] [--limit N]`.
pub(super) async fn discover(
    config: &Config,
    config_path: &Path,
    write: bool,
    limit: usize,
) -> Result<ExitCode> {
    if write && !config_path.exists() {
        bail!(
            "--write needs a config file, and {} does not exist: create it with `air-demand init`",
            config_path.display()
        );
    }
    let db = open_existing(config)?;
    let discovery = crate::discover::discover(config, &db, limit).await?;
    for found in &discovery.found {
        say!(
            "{}: {} = {:?} ({} open role{})",
            crate::text::terminal(&found.company, 80),
            found.kind.source(),
            found.board,
            found.open_roles,
            if found.open_roles == 1 { "" } else { "s" }
        )?;
    }
    for failure in &discovery.failures {
        say!("could not ask: {}", crate::text::terminal(failure, 200))?;
    }
    if discovery.asked > 0 && discovery.unreachable.len() == crate::fetch::boards::Kind::ALL.len() {
        bail!(
            "could not reach any board API (each said once above): check the network, [boards] and any proxy (HTTPS_PROXY)"
        );
    }
    let companies: std::collections::HashSet<&str> =
        discovery.found.iter().map(|f| f.company.as_str()).collect();
    say!(
        "asked about {} compan{} not followed yet; found boards for {}",
        discovery.asked,
        if discovery.asked == 1 { "y" } else { "ies" },
        companies.len()
    )?;
    if discovery.found.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if write {
        let written = crate::discover::append_to_config(
            config_path,
            &crate::discover::entries(&discovery.found),
        )?;
        for note in &written.skipped {
            say!("skipped {note}")?;
        }
        if written.added.is_empty() {
            say!("nothing written: no proposal fits the config")?;
        } else {
            say!(
                "added {} compan{} to {}",
                written.added.len(),
                if written.added.len() == 1 { "y" } else { "ies" },
                config_path.display()
            )?;
        }
    } else {
        say!("nothing written: run again with --write to add them to the config")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `companies discover --careers URL [--name NAME] [--write]`.
pub(super) async fn discover_careers(
    config: &Config,
    config_path: &Path,
    write: bool,
    url: &str,
    name: Option<&str>,
) -> Result<ExitCode> {
    if write && !config_path.exists() {
        bail!(
            "--write needs a config file, and {} does not exist: create it with `air-demand init`",
            config_path.display()
        );
    }
    let found = crate::discover::discover_careers(config, url, name).await?;
    for note in &found.notes {
        say!("note: {}", crate::text::terminal(note, 300))?;
    }
    say!(
        "{}: careers = {:?}: {} open posting{} read as schema.org JobPosting ({} request{})",
        crate::text::terminal(&found.company, 80),
        crate::text::terminal(&found.url, 200),
        found.postings,
        if found.postings == 1 { "" } else { "s" },
        found.requests,
        if found.requests == 1 { "" } else { "s" }
    )?;
    for title in &found.titles {
        say!("  {}", crate::text::terminal(title, 120))?;
    }
    if found.postings == 0 {
        say!(
            "nothing written: the page carries no JobPosting JSON-LD and links no job pages that do; it cannot be followed as a careers page"
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if write {
        let written = crate::discover::append_to_config(
            config_path,
            &[crate::discover::careers_entry(&found)],
        )?;
        for note in &written.skipped {
            say!("skipped {note}")?;
        }
        if !written.added.is_empty() {
            say!(
                "added {} to {}",
                crate::text::terminal(&found.company, 80),
                config_path.display()
            )?;
        }
    } else {
        say!("nothing written: run again with --write to follow it")?;
    }
    Ok(ExitCode::SUCCESS)
}
