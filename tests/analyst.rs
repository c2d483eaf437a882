//! The database read whole by an analyst's tools (issue 24): DuckDB (the
//! pinned Python package and its sqlite extension, offline) attaches a demo
//! database and reads `role_versions`, `roles` and `changes` exactly as
//! SQLite does, JSON columns as text its JSON functions read, both through
//! `ATTACH` and `sqlite_scan`; and every example query of docs/database.md
//! runs in sqlite3 and, unless marked SQLite-only, in DuckDB.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{Tool, duckdb_python, require, run_in};
use serde_json::Value;

/// One demo database for the whole file, built by the binary: a few rounds
/// of the simulated marketplace, with the model on (so `llm_cache` and the
/// briefing keys have rows) and its company boards (board roles, gone and
/// unfollowed kinds).
fn demo_db() -> &'static Path {
    static DEMO: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DEMO.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        run_in(
            dir.path(),
            &["demo", "--llm", "--dir", "out", "--rounds", "6"],
            &[],
        )
        .expect(0);
        let path = dir.path().join("out/demo.sqlite");
        assert!(path.is_file(), "the demo wrote no {}", path.display());
        (dir, path)
    });
    path
}

/// `tests/duckdb_reader.py` with `args`, its stdout as JSON.
#[track_caller]
fn duckdb(args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/duckdb_reader.py");
    let output = duckdb_python()
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "duckdb_reader.py {args:?}: {}\n--- stderr\n{stderr}",
        output.status
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("duckdb_reader.py printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// Every row of `relation` as SQLite gives it, in id order, each column as
/// a JSON value, plus `json_id`: SQLite's `json_extract(raw, '$.id')` as text
/// (Workable's jobs carry theirs as `$.shortcode`, careers postings as
/// `$.identifier`).
fn sqlite_rows(db: &Path, relation: &str) -> Vec<BTreeMap<String, Value>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("opening the demo database");
    let json_id = if relation == "changes" {
        "NULL"
    } else {
        "CAST(coalesce(json_extract(raw, '$.id'), json_extract(raw, '$.shortcode'), json_extract(raw, '$.identifier')) AS TEXT)"
    };
    let sql = format!("SELECT *, {json_id} AS json_id FROM {relation} ORDER BY id");
    let mut stmt = conn.prepare(&sql).expect("preparing");
    let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let rows = stmt
        .query_map([], |row| {
            let mut map = BTreeMap::new();
            for (i, name) in names.iter().enumerate() {
                use rusqlite::types::ValueRef;
                let value = match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(x) => Value::from(x),
                    ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => Value::from("<blob in SQLite>"),
                };
                map.insert(name.clone(), value);
            }
            Ok(map)
        })
        .expect("querying");
    rows.map(Result::unwrap).collect()
}

/// Two cells alike: the same JSON, numbers within a rounding of each other
/// (a float printed by Python and read by serde_json may be an ulp off).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

/// DuckDB's rows equal SQLite's, cell by cell, the first difference named.
#[track_caller]
fn assert_same_rows(duck: &Value, sqlite: &[BTreeMap<String, Value>], what: &str) {
    let rows = duck["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), sqlite.len(), "{what}: how many rows");
    for (duck_row, sqlite_row) in rows.iter().zip(sqlite) {
        for (name, expected) in sqlite_row {
            let got = &duck_row[name.as_str()];
            assert!(
                same(got, expected),
                "{what}, row id {}: {name} is {got} in DuckDB, {expected} in SQLite",
                sqlite_row["id"]
            );
        }
    }
}

#[test]
fn duckdb_attaches_the_database_and_reads_versions_roles_and_changes_as_sqlite_does() {
    let db = demo_db();
    let db_text = db.to_str().expect("a UTF-8 path");
    let read = duckdb(&["read", db_text]);

    let patches: i64 = rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM role_version_data WHERE keyframe = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(patches > 0, "the demo stored some versions as patches");

    for how in ["attach", "scan"] {
        for relation in ["role_versions", "roles", "changes"] {
            let what = format!("{how} {relation}");
            let duck = &read[how][relation];
            let sqlite = sqlite_rows(db, relation);
            assert!(!sqlite.is_empty(), "{what}: the demo has rows");
            assert_same_rows(duck, &sqlite, &what);
            let types = &duck["types"];
            assert_eq!(
                types["id"],
                if relation == "roles" {
                    "VARCHAR"
                } else {
                    "BIGINT"
                },
                "{what}"
            );
            // Every text column is text: JSON, ids and times alike.
            for (name, value) in &sqlite[0] {
                let expected = match value {
                    Value::String(_) => "VARCHAR",
                    _ => continue,
                };
                if name != "json_id" {
                    assert_eq!(types[name.as_str()], expected, "{what}: {name}");
                }
            }
        }
        // JSON columns are text that DuckDB's JSON functions read: every
        // version's and role's `$.id`, as SQLite reads it.
        for relation in ["role_versions", "roles"] {
            let rows = read[how][relation]["rows"].as_array().unwrap();
            assert!(
                rows.iter().all(|r| r["json_id"].is_string()),
                "{how} {relation}: json_extract_string(raw, '$.id', '$.shortcode' or '$.identifier') read every raw"
            );
            let types = &read[how][relation]["types"];
            assert_eq!(types["raw"], "VARCHAR", "{how} {relation}");
        }
        let roles = &read[how]["roles"]["types"];
        for json_column in [
            "reasons",
            "signals",
            "score_breakdown",
            "detail",
            "requirements",
        ] {
            assert_eq!(roles[json_column], "VARCHAR", "{how} roles.{json_column}");
        }
        assert_eq!(roles["combined_score"], "DOUBLE", "{how}");
        let others = &read[format!("{how}_types").as_str()];
        for (table, json_column) in [
            ("runs", "errors"),
            ("digests", "recipients"),
            ("llm_cache", "answer"),
        ] {
            assert_eq!(
                others[table][json_column], "VARCHAR",
                "{how} {table}.{json_column}"
            );
        }
        assert_eq!(
            read[how]["role_versions"]["types"]["run_id"], "BIGINT",
            "{how}"
        );
    }
}

#[test]
fn the_json_export_is_typed() {
    let db = demo_db();
    let out = db.parent().expect("the demo's directory");
    let run = run_in(
        out,
        &["--config", "demo.toml", "export", "--format", "json"],
        &[],
    )
    .expect(0);
    let roles: Value = serde_json::from_str(&run.stdout()).expect("export prints JSON");
    let roles = roles.as_array().expect("a list of roles");
    assert!(!roles.is_empty(), "the demo has active roles");
    let numbers = [
        "combined_score",
        "engineer_score",
        "headhunter_score",
        "excitement_score",
        "salary_min",
        "salary_max",
        "fee_percent",
        "openings",
        "raised_usd",
    ];
    for role in roles {
        for name in numbers {
            assert!(
                role[name].is_number() || role[name].is_null(),
                "{name} is neither a number nor null: {role}"
            );
        }
        for name in ["investors", "locations", "reasons"] {
            assert!(role[name].is_array(), "{name} is not a list: {role}");
        }
        // No figure is left as text: a text that reads as a number is one.
        for (name, value) in role.as_object().unwrap() {
            if let Some(text) = value.as_str() {
                assert!(
                    text.trim().parse::<f64>().is_err()
                        || ["title", "company"].contains(&name.as_str()),
                    "{name} is a number written as text: {role}"
                );
            }
        }
    }
    // Each figure is known for some role (not null everywhere).
    for name in numbers {
        assert!(
            roles.iter().any(|r| r[name].is_number()),
            "{name} is null for every role"
        );
    }
}

/// A ```sql block of docs/database.md and where it must run.
struct Example {
    line: usize,
    sql: String,
    sqlite: bool,
    duckdb: bool,
}

/// Every ```sql block of docs/database.md: `sqlite-only` and `duckdb-only`
/// after `sql` say where it runs; plain blocks run in both.
fn examples() -> Vec<Example> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/database.md"))
        .expect("reading docs/database.md");
    let mut examples = Vec::new();
    let mut open: Option<Example> = None;
    for (index, line) in text.lines().enumerate() {
        match open.as_mut() {
            None => {
                let Some(info) = line.strip_prefix("```sql") else {
                    continue;
                };
                let marks: Vec<&str> = info.split_whitespace().collect();
                assert!(
                    marks
                        .iter()
                        .all(|m| ["sqlite-only", "duckdb-only"].contains(m)),
                    "docs/database.md line {}: unknown mark in {line:?}",
                    index + 1
                );
                open = Some(Example {
                    line: index + 1,
                    sql: String::new(),
                    sqlite: !marks.contains(&"duckdb-only"),
                    duckdb: !marks.contains(&"sqlite-only"),
                });
            }
            Some(example) if line.starts_with("```") => {
                assert!(!example.sql.trim().is_empty(), "an empty block");
                examples.push(open.take().unwrap());
            }
            Some(example) => {
                example.sql.push_str(line);
                example.sql.push('\n');
            }
        }
    }
    assert!(
        open.is_none(),
        "docs/database.md: a ```sql block is not closed"
    );
    examples
}

/// A block's statements, one per `;` at the end of a line.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    assert!(
        current.trim().is_empty(),
        "a statement without `;`: {current}"
    );
    out
}

#[test]
fn every_example_query_of_the_database_page_runs_in_sqlite3_and_duckdb() {
    let db = demo_db();
    let examples = examples();
    let sqlite3 = require(Tool::Sqlite3);
    let mut in_sqlite = 0;
    let mut for_duckdb = Vec::new();
    for example in &examples {
        if example.sqlite {
            let mut child = Command::new(sqlite3)
                .args(["-batch", "-bail", "-readonly"])
                .arg(db)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("running sqlite3");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(example.sql.as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success() && output.stderr.is_empty(),
                "docs/database.md line {}, in sqlite3: {}\n{}\n--- stderr\n{}",
                example.line,
                output.status,
                example.sql,
                String::from_utf8_lossy(&output.stderr)
            );
            in_sqlite += 1;
        }
        if example.duckdb {
            for statement in statements(&example.sql) {
                for_duckdb.push((example.line, statement));
            }
        }
    }
    assert!(in_sqlite >= 5, "{in_sqlite} blocks ran in sqlite3");
    assert!(
        for_duckdb.len() >= 8,
        "{} statements for DuckDB",
        for_duckdb.len()
    );
    assert!(
        for_duckdb.iter().any(|(_, s)| s.contains("role_versions")),
        "a DuckDB example reads role_versions"
    );

    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("statements.json");
    let texts: Vec<&str> = for_duckdb.iter().map(|(_, s)| s.as_str()).collect();
    std::fs::write(&list, serde_json::to_string(&texts).unwrap()).unwrap();
    let results = duckdb(&[
        "queries",
        db.to_str().expect("a UTF-8 path"),
        list.to_str().expect("a UTF-8 path"),
    ]);
    let results = results.as_array().expect("one result a statement");
    assert_eq!(results.len(), for_duckdb.len());
    for ((line, statement), result) in for_duckdb.iter().zip(results) {
        assert!(
            result["error"].is_null(),
            "docs/database.md block at line {line}, in DuckDB: {}\n{statement}",
            result["error"]
        );
    }
}
