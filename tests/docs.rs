//! The documents tell the truth about the repository: every file they name
//! and every relative link they make exists, and none of them points the
//! reader at an issue number (issues live outside the repository; the
//! documents say what the code does, not which ticket asked for it).

use std::path::{Path, PathBuf};

/// README.md, ARCHITECTURE.md and every page under docs/.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    out.extend(pages);
    out
}

/// Directories of the repository whose files a document may name in
/// backticks (`src/fetch/mod.rs`). Paths under `target/` and the demo's
/// outputs under `data/demo-*` are made by commands, so they are left out.
const TRACKED: &[&str] = &[
    "src/",
    "tests/",
    "docs/",
    "migrations/",
    "templates/",
    "deploy/",
    "benches/",
    ".ci/",
    "prompts/",
];

/// The spans between backticks that look like a repository path.
fn named_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| TRACKED.iter().any(|dir| span.starts_with(dir)))
        .filter(|span| !span.contains(char::is_whitespace) && !span.contains('*'))
        .flat_map(|span| {
            // `src/store/mod.rs:120` and `docs/x.md#anchor` name the file.
            let end = span.find([':', '#']).unwrap_or(span.len());
            expand_braces(&span[..end])
        })
        .collect()
}

/// `src/store/{runs,roles}.rs` → `src/store/runs.rs`, `src/store/roles.rs`
/// (one group, as the documents write it).
fn expand_braces(path: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (path.find('{'), path.find('}')) else {
        return vec![path.to_string()];
    };
    if close < open {
        return vec![path.to_string()];
    }
    path[open + 1..close]
        .split(',')
        .map(|part| format!("{}{part}{}", &path[..open], &path[close + 1..]))
        .collect()
}

/// The targets of inline links `[text](target)` that are not web addresses.
fn relative_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = &rest[..end];
        let is_web = target.contains("://") || target.starts_with("mailto:");
        if !is_web && !target.starts_with('#') && !target.is_empty() {
            let file = target.split('#').next().unwrap_or(target);
            out.push(file.to_string());
        }
    }
    out
}

/// "issue 14", "Issue #3", "issues 20–22": a number after the word issue.
fn issue_mentions(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("issue") {
        let start = from + at;
        from = start + "issue".len();
        let after = lower[from..].trim_start_matches(['s', ' ', '#']);
        if after.starts_with(|c: char| c.is_ascii_digit()) {
            let line_start = lower[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = lower[start..].find('\n').map_or(lower.len(), |i| start + i);
            out.push(text[line_start..line_end].trim().to_string());
        }
    }
    out
}

#[test]
fn every_file_a_document_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for doc in documents(root) {
        let text = std::fs::read_to_string(&doc).unwrap();
        for path in named_paths(&text) {
            if !root.join(&path).exists() {
                missing.push(format!("{}: `{path}`", doc.display()));
            }
        }
        let dir = doc.parent().unwrap();
        for link in relative_links(&text) {
            if !dir.join(&link).exists() {
                missing.push(format!("{}: link ({link})", doc.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but not in the repository:\n{}",
        missing.join("\n")
    );
}

#[test]
fn no_document_names_an_issue_number() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for doc in documents(root) {
        let text = std::fs::read_to_string(&doc).unwrap();
        for line in issue_mentions(&text) {
            found.push(format!("{}: {line}", doc.display()));
        }
    }
    assert!(
        found.is_empty(),
        "issue numbers in the documents:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checks_find_what_they_look_for() {
    assert_eq!(
        named_paths("see `src/fetch/mod.rs:12` and `docs/a.md#x`, not `target/x` or `src/*.rs`"),
        ["src/fetch/mod.rs", "docs/a.md"]
    );
    assert_eq!(named_paths("`src/{a,b}.rs`"), ["src/a.rs", "src/b.rs"]);
    assert_eq!(
        relative_links("[a](docs/a.md#b) [w](https://x.org) [s](#top)"),
        ["docs/a.md"]
    );
    assert_eq!(
        issue_mentions("Before issue 14 it was slow.\nAn issue here."),
        ["Before issue 14 it was slow."]
    );
    assert_eq!(issue_mentions("see issues #20"), ["see issues #20"]);
}
