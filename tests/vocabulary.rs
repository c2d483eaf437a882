//! The headhunter's words (issue 24): a demo's changes page, role pages,
//! feed and digest say "Salary max $210K → $225K" and "United Kingdom",
//! never an API's field name or a location slug. (A role page's "Every
//! field" section shows the role as Paraform sends it, and says so: it is
//! left out.)

mod common;

use std::path::{Path, PathBuf};

use common::run_in;

/// Every tracked field's stored name: none may reach people.
const RAW_FIELDS: &[&str] = &[
    "salaryLowerBound",
    "salaryUpperBound",
    "salary_min",
    "salary_max",
    "percent_fee",
    "hiring_count",
    "approved_recruiters_count",
    "total_interviewing",
    "total_hired",
    "not_accepting_recruiters",
];

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A role page without its raw "Every field" section.
fn without_raw_fields(page: &str) -> String {
    let Some(start) = page.find("<details class=\"fields\">") else {
        return page.to_string();
    };
    match page[start..].find("</details>") {
        Some(end) => format!("{}{}", &page[..start], &page[start + end..]),
        None => page.to_string(),
    }
}

#[test]
fn a_demo_speaks_the_headhunters_words() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["demo", "--dir", "out", "--rounds", "6"], &[]).expect(0);
    let out = dir.path().join("out");
    let site = files_under(&out)
        .into_iter()
        .find(|p| p.ends_with("changes.html"))
        .expect("a changes page")
        .parent()
        .unwrap()
        .to_path_buf();
    let lists: toml::Value = toml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference-lists.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    let slugs: Vec<String> = lists["display"]["locations"]
        .as_table()
        .unwrap()
        .keys()
        .cloned()
        .collect();

    let mut texts: Vec<(String, String)> = vec![
        (
            "changes.html".into(),
            std::fs::read_to_string(site.join("changes.html")).unwrap(),
        ),
        (
            "feed.atom".into(),
            std::fs::read_to_string(site.join("feed.atom")).unwrap(),
        ),
        ("demo output".into(), run.stdout()),
    ];
    for page in files_under(&site.join("roles")) {
        texts.push((
            page.display().to_string(),
            without_raw_fields(&std::fs::read_to_string(&page).unwrap()),
        ));
    }
    let digests: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert!(!digests.is_empty(), "the demo writes a digest");
    for digest in digests {
        texts.push((
            digest.display().to_string(),
            std::fs::read_to_string(&digest).unwrap(),
        ));
    }
    // The demo changes salaries, fees, recruiters and places: the words
    // for them are there.
    let changes = &texts[0].1;
    assert!(
        changes.contains("Salary max") || changes.contains("Fee "),
        "{changes}"
    );

    let mut problems = Vec::new();
    for (what, text) in &texts {
        for field in RAW_FIELDS {
            if text.contains(field) {
                problems.push(format!("{what}: field name {field}"));
            }
        }
        for slug in slugs.iter().filter(|s| s.contains('_') || s.len() > 3) {
            // A slug as a word of its own: `new_york`, `london` (not the
            // "London" people write).
            let found = text.match_indices(slug.as_str()).any(|(at, _)| {
                let before = text[..at].chars().next_back();
                let after = text[at + slug.len()..].chars().next();
                let edge = |c: Option<char>| {
                    c.is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '-' && c != '/')
                };
                edge(before) && edge(after)
            });
            if found {
                problems.push(format!("{what}: location slug {slug}"));
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The terminal's role table lists Paraform roles only (the demo follows
    // three company boards, whose roles are company signals).
    let config = out.join("demo.toml");
    let table = run_in(
        dir.path(),
        &["--config", config.to_str().unwrap(), "roles", "--all"],
        &[],
    )
    .expect(0)
    .stdout();
    assert!(table.contains("paraform:"), "{table}");
    for board in ["greenhouse:", "lever:", "ashby:"] {
        assert!(!table.contains(board), "{table}");
    }

    // The feed's ids do not name the site's address (a new base_url is no
    // new entries), and its time is its newest entry's.
    let feed = &texts[1].1;
    let tags = |name: &str| -> Vec<String> {
        feed.split(&format!("<{name}>"))
            .skip(1)
            .filter_map(|rest| rest.split_once(&format!("</{name}>")))
            .map(|(value, _)| value.to_string())
            .collect()
    };
    let ids = tags("id");
    assert!(ids.len() > 1, "{feed}");
    assert!(
        ids.iter().all(|id| id.starts_with("tag:air-demand,2025:")),
        "{ids:?}"
    );
    let updated = tags("updated");
    let newest_entry = updated[1..].iter().max().unwrap();
    assert_eq!(&updated[0], newest_entry, "{feed}");
}
