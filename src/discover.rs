//! `companies discover`: board names proposed for the companies seen on
//! Paraform. Each company's name gives a couple of slugs ("Acme Robotics":
//! `acmerobotics`, `acme-robotics`), tried politely against the three
//! board APIs; a 404 means no. It prints what it found and writes nothing
//! unless asked; `--write` appends `[[companies]]` entries to the config
//! file as text, so its comments stay.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::config::Config;
use crate::fetch::boards::{self, Kind};
use crate::llm::normalise_company;
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
}

/// The slugs a company's boards are likely to be called, most likely first.
pub fn slugs(name: &str) -> Vec<String> {
    // Board names are ASCII (letters, digits, '-'): other letters drop out.
    let words: Vec<String> = normalise_company(name)
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

/// Asks the three APIs about the `limit` companies with the most active
/// Paraform roles that are not followed yet.
pub async fn discover(config: &Config, db: &Db, limit: usize) -> Result<Discovery> {
    let followed: HashSet<String> = config
        .companies
        .iter()
        .map(|c| normalise_company(&c.name))
        .collect();
    let companies: Vec<String> = db
        .active_companies()?
        .into_iter()
        .filter(|name| !followed.contains(&normalise_company(name)))
        .take(limit)
        .collect();
    let settings = &config.boards;
    let client = boards::client(settings).context("starting the HTTP client")?;
    let mut discovery = Discovery {
        asked: companies.len(),
        ..Discovery::default()
    };
    for company in companies {
        for kind in Kind::ALL {
            let base_url = boards::base_url(settings, kind);
            for slug in slugs(&company) {
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
                    Err(err) => {
                        discovery.failures.push(format!("{company}: {err}"));
                        break;
                    }
                }
            }
        }
    }
    Ok(discovery)
}

/// The `[[companies]]` entries for what was found, one per company.
pub fn entries(found: &[Found]) -> String {
    let mut text = String::new();
    let mut companies: Vec<&str> = found.iter().map(|f| f.company.as_str()).collect();
    companies.dedup();
    for company in companies {
        text.push_str(&format!(
            "\n[[companies]]   # added by `air-demand companies discover`\nname = {}\n",
            toml_string(company)
        ));
        for f in found.iter().filter(|f| f.company == company) {
            text.push_str(&format!(
                "{} = {}\n",
                f.kind.source(),
                toml_string(&f.board)
            ));
        }
    }
    text
}

/// Appends `entries` to the config file, checking first that the result
/// still reads; the file is replaced in one rename.
pub fn append_to_config(path: &Path, entries: &str) -> Result<()> {
    if !path.exists() {
        bail!(
            "--write needs a config file, and {} does not exist: create it with `air-demand init`",
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let separator = if text.ends_with('\n') { "" } else { "\n" };
    let updated = format!("{text}{separator}{entries}");
    Config::parse(&updated, path).context("the config with the new entries would not read")?;
    let staging = path.with_extension("toml.new");
    std::fs::write(&staging, &updated).with_context(|| format!("writing {}", staging.display()))?;
    std::fs::rename(&staging, path).with_context(|| format!("replacing {}", path.display()))
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
        let config = Config::parse(&entries(&found), Path::new("t.toml")).unwrap();
        assert_eq!(config.companies.len(), 1);
        assert_eq!(config.companies[0].name, "Acme \"Robotics\"");
        assert_eq!(
            config.companies[0].boards(),
            [("lever", "acmerobotics"), ("ashby", "acmerobotics")]
        );
    }
}
