//! ARCHITECTURE.md's invariant "the module graph of `src/` has no cycle",
//! checked: every module's `crate::…` and `super::…` references (tests
//! left out) form a graph with no cycle, between top-level modules and
//! between any two modules of which neither contains the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `src/sim/boards.rs` → `sim::boards`; `src/sim/mod.rs` → `sim`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The paths a module's code names: `crate::a::b::C` → `a::b::C`,
/// `super::x` (from `m::n`) → `m::x`, including `use super::{x, y}`.
fn references(module: &str, code: &str) -> Vec<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let parent: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    let parent = parent[..parent.len().saturating_sub(1)].join("::");
    for (prefix, base) in [("crate::", String::new()), ("super::", parent)] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            // Not the tail of a longer path (`foo_crate::`).
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let join = |path: &str| {
                if base.is_empty() {
                    path.to_string()
                } else {
                    format!("{base}::{path}")
                }
            };
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let item = item.trim().split(' ').next().unwrap_or("");
                    if !item.is_empty() {
                        out.push(join(item));
                    }
                }
            } else {
                let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
                out.push(join(rest[..end].trim_end_matches(':')));
            }
        }
    }
    out
}

/// The longest known module that `path` starts with.
fn module_named<'a>(path: &str, modules: &'a BTreeSet<String>) -> Option<&'a String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get(&candidate))
}

fn related(a: &str, b: &str) -> bool {
    let inside = |outer: &str, inner: &str| inner.starts_with(&format!("{outer}::"));
    a == b || inside(a, b) || inside(b, a)
}

/// Groups of modules that reach one another (Tarjan), larger than one.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(edges) = s.graph.get(v) {
            for w in edges {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.out.push(group);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

#[test]
fn the_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut fine: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for path in references(&module, code) {
            let Some(target) = module_named(&path, &modules) else {
                continue;
            };
            if !related(&module, target) {
                fine.entry(module.clone())
                    .or_default()
                    .insert(target.clone());
            }
            let (from, to) = (
                module.split("::").next().unwrap_or(""),
                target.split("::").next().unwrap_or(""),
            );
            if from != to && !from.is_empty() && !to.is_empty() {
                top.entry(from.to_string())
                    .or_default()
                    .insert(to.to_string());
            }
        }
    }
    assert!(
        fine.values().map(BTreeSet::len).sum::<usize>() > 50,
        "the check found too few references to be reading the code: {fine:?}"
    );
    let found: Vec<Vec<String>> = cycles(&top).into_iter().chain(cycles(&fine)).collect();
    assert!(
        found.is_empty(),
        "modules that import one another: {}",
        found
            .iter()
            .map(|group| group.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("; ")
    );
}

#[test]
fn the_check_sees_a_cycle_when_there_is_one() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("c".into()).or_default().insert("d".into());
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        references(
            "sim::boards",
            "use super::{http::Response, Fault};\nlet x = crate::fetch::boards::Kind::A;"
        ),
        vec![
            "fetch::boards::Kind::A",
            "sim::http::Response",
            "sim::Fault"
        ]
    );
}
