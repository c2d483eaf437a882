//! One policy for published text (issue 22): whatever hidden or control
//! characters the scraped text and the model's answers carry, no file the
//! site, `export` or the digest publishes holds a bidi control, a
//! zero-width character or a control character other than a line break or
//! a tab; and neither does `--json`. Numbers no one can believe (a salary of
//! 1e30) are shown as unreadable, never as 30 digits.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use air_demand::sim::SimOptions;
use common::{Sandbox, Tool, require, sim_options};
use kuchikiki::traits::TendrilSink;
use serde_json::{Value, json};

/// What no published text may hold: bidi controls and zero-width marks
/// (as `text::clean` knows them) and every control character but `\n`,
/// `\r` and `\t`.
fn forbidden(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    ) || (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Where `text` holds a forbidden character: its code and what is around it.
fn problems_in(what: &str, text: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if forbidden(c) {
            let around: String = chars[i.saturating_sub(30)..(i + 30).min(chars.len())]
                .iter()
                .collect();
            out.push(format!("{what}: U+{:04X} in {around:?}", c as u32));
            return;
        }
    }
}

/// Every string in a JSON document (names and values), decoded: `\u001b`
/// written as an escape is still an escape character.
fn json_problems(what: &str, value: &Value, out: &mut Vec<String>) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(s) => problems_in(what, s, out),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (key, value) in map {
                    problems_in(what, key, out);
                    stack.push(value);
                }
            }
            _ => {}
        }
    }
}

/// Every text node and attribute value of an HTML document, with its
/// character references decoded (`&#x202e;` is U+202E).
fn html_problems(what: &str, html: &str, out: &mut Vec<String>) {
    let document = kuchikiki::parse_html().one(html).document_node;
    for node in document.descendants() {
        if let Some(text) = node.as_text() {
            problems_in(what, &text.borrow(), out);
        }
        if let Some(element) = node.as_element() {
            for (_, attribute) in element.attributes.borrow().map.iter() {
                problems_in(what, &attribute.value, out);
            }
        }
    }
}

/// Checks one published file by what it is: its bytes as text always, and
/// what they decode to for JSON and HTML.
fn file_problems(path: &Path, out: &mut Vec<String>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let what = path.display().to_string();
    let text = String::from_utf8(bytes).unwrap_or_else(|_| panic!("{what} is not UTF-8"));
    problems_in(&what, &text, out);
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => {
            let value: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
            json_problems(&what, &value, out);
        }
        Some("html") => html_problems(&what, &text, out),
        _ => {}
    }
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The message's subject and each part's decoded content, by Python's
/// `email` package.
fn email_texts(path: &Path) -> Vec<String> {
    let script = r#"
import email, json, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
texts = [str(m["subject"])] + [p.get_content() for p in m.walk() if not p.is_multipart()]
print(json.dumps(texts))
"#;
    let output = Command::new(require(Tool::Python3))
        .args(["-c", script, path.to_str().expect("a UTF-8 path")])
        .output()
        .expect("running python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the parts as JSON")
}

/// The test config with a site URL and a digest written to files.
fn configure_digest(s: &Sandbox) {
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    let config = config.replace(
        "[site]\ndir = \"site\"\n",
        "[site]\ndir = \"site\"\nbase_url = \"https://demand.example.com\"\n",
    );
    s.write_file(
        "air-demand.toml",
        &format!(
            "{config}\n[digest]\nto = [\"head@hunter.example\"]\nfrom = \"Air Demand <digest@demand.example.com>\"\ntransport = \"file\"\noutbox = \"outbox\"\n"
        ),
    );
}

/// The hidden characters the test plants itself (the simulator's hostile
/// option plants its own in titles, names, details and model answers).
const HIDDEN: &str = "\u{202e}\u{200b}\u{2066}\u{2069}\u{1b}[31m\u{7}";

#[test]
fn no_published_file_carries_a_bidi_zero_width_or_control_character() {
    let s = Sandbox::with(SimOptions {
        hostile: true,
        ..sim_options()
    });
    configure_digest(&s);
    s.enable_llm("briefing_min_score = 0.5");
    s.run(&["scrape"]).expect(0).stdout_has("site: ");
    // A change whose values carry hidden characters: a new location.
    let moved = s
        .strings(
            "select id from roles where status = 'active' and tier = 'QUALIFIED' order by id limit 1",
        )
        .remove(0);
    s.sim
        .edit_role(moved.strip_prefix("paraform:").unwrap(), |role| {
            role["locations"] = json!(["new_york", format!("mars{HIDDEN}")]);
        });
    s.run(&["scrape"]).expect(0).stdout_has("site: ");

    // The hostile text is really in the database, scraped and model-written.
    let holding = |sql: &str| {
        s.count(&format!(
            "select count(*) from {sql} like '%' || char(8238) || '%'"
        ))
    };
    assert!(holding("roles where title") > 0, "no RLO in a title");
    assert!(
        holding("roles where company") > 0,
        "no RLO in a company name"
    );
    assert!(holding("role_rows where detail") > 0, "no RLO in a detail");
    assert!(holding("changes where new_value") > 0, "no RLO in a change");
    // (The model's answers carried them too; they are cleaned when read.)
    assert!(s.sim.llm_calls("briefing") > 0, "no briefing was asked");
    assert!(
        s.count("select count(*) from roles where briefing_key is not null") > 0,
        "no briefing was written"
    );

    s.run(&["export", "--format", "csv", "--out", "roles-export.csv"])
        .expect(0);
    s.run(&["export", "--format", "json", "--out", "roles-export.json"])
        .expect(0);
    s.run(&["digest", "--out", "digest.eml"]).expect(0);

    let mut problems = Vec::new();
    let site = files_under(&s.path().join("site"));
    assert!(site.len() > 40, "too few site files: {site:?}");
    for path in &site {
        file_problems(path, &mut problems);
    }
    for name in ["roles-export.csv", "roles-export.json", "digest.eml"] {
        file_problems(&s.path().join(name), &mut problems);
    }
    for (i, text) in email_texts(&s.path().join("digest.eml")).iter().enumerate() {
        problems_in(&format!("digest.eml part {i}"), text, &mut problems);
    }
    // `--json` keeps the field names and cleans the values.
    for args in [
        &["roles", "--all", "--json"][..],
        &["changes", "--since", "7d", "--json"],
        &["roles", "--explain", &moved, "--json"],
        &["status", "--json"],
    ] {
        let run = s.run(args);
        let stdout = run.stdout();
        let value: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"));
        json_problems(&format!("{args:?}"), &value, &mut problems);
        problems_in(&format!("{args:?}"), &stdout, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The text around the hidden characters is still there, and lines are lines.
    let role_page = std::fs::read_to_string(
        s.path()
            .join("site/roles")
            .join(air_demand::views::page_file(&moved)),
    )
    .unwrap();
    assert!(
        role_page.contains("mars[31m"),
        "the location's text is gone"
    );
    let csv = std::fs::read_to_string(s.path().join("roles-export.csv")).unwrap();
    assert!(csv.contains("<script>alert('title')</script>[31m"), "{csv}");
}

/// A run of `digits` or more decimal digits in `text`: a number printed in
/// full that no one can read (`$9223372036854776K`, a cost of 1e308).
fn long_number(text: &str, digits: usize) -> Option<String> {
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else if run.len() >= digits {
            return Some(run);
        } else {
            run.clear();
        }
    }
    None
}

fn last_run(s: &Sandbox, column: &str) -> String {
    s.strings(&format!(
        "select coalesce(cast({column} as text), '-') from runs order by id desc limit 1"
    ))
    .remove(0)
}

/// A provider whose usage cannot be believed: token counts of `u64::MAX`
/// saturate (the answers are used, nothing wraps negative), and a cost of
/// 1e308 is an error with a figure a person can read, the answer unused.
#[test]
fn absurd_model_usage_saturates_or_is_refused_and_never_prints_300_digits() {
    use air_demand::sim::llm::{HUGE_COST_MODEL, HUGE_TOKENS_MODEL};
    let s = Sandbox::new();
    let models = |model: &str| {
        format!(
            "intel_model = \"{model}\"\nexcitement_model = \"{model}\"\nbriefing_model = \"{model}\"\nbriefing_min_score = 0.5"
        )
    };
    s.enable_llm(&models(HUGE_TOKENS_MODEL));
    s.run(&["scrape"]).expect(0);
    let calls: i64 = last_run(&s, "llm_calls").parse().unwrap();
    let tokens: i64 = last_run(&s, "llm_tokens").parse().unwrap();
    assert!(calls > 0, "no model call");
    let per_call = air_demand::fetch::llm::MAX_TOKENS_PER_CALL as i64;
    assert_eq!(tokens, calls * 2 * per_call, "tokens saturate per call");
    assert!(
        s.count("select count(*) from llm_cache where prompt_tokens < 0 or completion_tokens < 0")
            == 0
    );
    assert!(s.count("select count(*) from roles where intel_key is not null") > 0);

    // The same roles asked of a model that claims 1e308 dollars a call.
    s.write_config("");
    s.enable_llm(&models(HUGE_COST_MODEL));
    let run = s.run(&["scrape"]).expect(0);
    let said = format!("{}{}", run.stderr(), last_run(&s, "errors"));
    assert!(
        said.contains(
            "the provider reported a cost of $1.0e308 for one call, which cannot be right; the answer was not used"
        ),
        "{said}"
    );
    assert_eq!(last_run(&s, "llm_cost_usd"), "0.0");
    assert_eq!(
        s.count(&format!(
            "select count(*) from llm_cache where model = '{HUGE_COST_MODEL}' and answer is not null"
        )),
        0,
        "an answer with an absurd cost was used"
    );

    // Nowhere a person looks shows a number of 300 digits, or a negative count.
    let mut shown = vec![
        ("status".to_string(), s.run(&["status"]).stdout()),
        (
            "status --json".to_string(),
            s.run(&["status", "--json"]).stdout(),
        ),
        ("scrape".to_string(), said),
    ];
    for file in ["health.html", "health.json"] {
        shown.push((
            file.to_string(),
            std::fs::read_to_string(s.path().join("site").join(file)).unwrap(),
        ));
    }
    for (what, text) in shown {
        assert_eq!(long_number(&text, 25), None, "{what}: {text}");
        assert!(!text.contains(" -2 tokens"), "{what}: {text}");
    }
    let status: Value = serde_json::from_str(&s.run(&["status", "--json"]).stdout()).unwrap();
    assert!(
        status["llm"]["total_tokens"]
            .as_i64()
            .is_some_and(|t| t > 0),
        "{status}"
    );
}

/// A role from the fixture, with its salary bounds replaced.
fn role_paid(id: &str, lower: Value, upper: Value) -> Value {
    let text = include_str!("fixtures/searchActiveRoles.sample.json");
    let payload: Value = serde_json::from_str(text).unwrap();
    let mut role = payload["result"]["data"]["json"][0].clone();
    role["id"] = json!(id);
    role["salaryLowerBound"] = lower;
    role["salaryUpperBound"] = upper;
    role
}

/// A salary of 1e30 (or below zero) is "unreadable" on the pages, in the
/// exports, the digest and the terminal, and is neither sorted nor charted
/// as money; the rules still read it as they always did.
#[test]
fn implausible_salaries_are_shown_as_unreadable() {
    let s = Sandbox::new();
    configure_digest(&s);
    s.sim
        .add_role(role_paid("rich-role", json!(200_000), json!(260_000)));
    s.sim
        .add_role(role_paid("negative-role", json!(-5), json!(250_000)));
    s.run(&["scrape"]).expect(0).stdout_has("site: ");
    s.run(&["digest", "--out", "first.eml"]).expect(0);
    s.sim
        .edit_role("rich-role", |role| role["salaryUpperBound"] = json!(1e30));
    s.run(&["scrape"]).expect(0).stdout_has("site: ");
    assert_eq!(
        s.count("select count(*) from changes where role_id = 'paraform:rich-role' and kind = 'SALARY_INCREASE'"),
        1
    );

    let site = s.path().join("site");
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    for id in ["paraform:rich-role", "paraform:negative-role"] {
        let page = read(site.join("roles").join(air_demand::views::page_file(id)));
        assert!(
            page.contains("<dt>Salary</dt><dd>unreadable</dd>") || page.contains(">unreadable<"),
            "{id}: {page}"
        );
    }
    s.run(&["export", "--format", "csv", "--out", "roles.csv"])
        .expect(0);
    let csv = read(s.path().join("roles.csv"));
    let line = csv
        .lines()
        .find(|l| l.starts_with("paraform:rich-role,"))
        .expect("the role in the CSV");
    assert!(line.contains(",unreadable,"), "{line}");
    let table = s.run(&["roles", "--all"]).expect(0).stdout();
    let row = table
        .lines()
        .find(|l| l.contains("paraform:rich-role"))
        .expect("the role in the table");
    assert!(row.contains("unreadable"), "{row}");
    s.run(&["digest", "--out", "second.eml"]).expect(0);
    let digest = email_texts(&s.path().join("second.eml")).join("\n");
    assert!(digest.contains("unreadable"), "{digest}");

    // Sorted and charted as no salary.
    let all = read(site.join("all.html"));
    assert!(all.contains("data-role-id=\"paraform:rich-role\""), "{all}");
    for file in ["all.html", "index.html"] {
        let html = read(site.join(file));
        if let Some(at) = html.find("data-role-id=\"paraform:rich-role\"") {
            let row = &html[at..html[at..].find("</tr>").map_or(html.len(), |end| at + end)];
            assert!(
                row.contains("data-sort=\"\">unreadable</td>"),
                "{file}: {row}"
            );
        }
    }
    let mut everything = vec![
        ("roles --all".to_string(), table),
        ("roles.csv".to_string(), csv),
        ("digest".to_string(), digest),
        (
            "roles --json".to_string(),
            s.run(&["roles", "--all", "--json"]).stdout(),
        ),
    ];
    everything.push((
        "roles --explain".to_string(),
        s.run(&["roles", "--explain", "rich-role"])
            .expect(0)
            .stdout(),
    ));
    for path in files_under(&site) {
        everything.push((path.display().to_string(), read(path)));
    }
    for (what, text) in everything {
        assert!(!text.contains("9223372036854776"), "{what}: {text}");
        assert_eq!(long_number(&text, 20), None, "{what}: {text}");
    }
    let changes = read(site.join("changes.html"));
    assert!(
        changes.contains(
            "<span class=\"change-old\">$260K</span> → <span class=\"change-new\">unreadable</span>"
        ),
        "{changes}"
    );
}
