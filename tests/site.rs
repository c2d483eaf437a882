//! The static site end to end (SPEC §6): built by the real binary from a
//! simulated marketplace, served by a real nginx, read by headless Chromium,
//! checked by html5ever, feedparser and Python's csv module.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use air_demand::sim::SimOptions;
use air_demand::site::pages::html5_errors;
use air_demand::views::page_file;
use common::web::{
    Chromium, Load, Nginx, elements, parse_html, python, run_probe, run_probe_with, write_probe,
    write_probe_sized,
};
use common::{Run, Sandbox, Tool, command_in, require, run_in, sim_options};
use kuchikiki::NodeRef;
use serde_json::{Value, json};

const QUALIFIED_SQL: &str =
    "select id from roles where status = 'active' and tier in ('QUALIFIED', 'MAYBE')";
const ACTIVE_SQL: &str = "select id from roles where status = 'active'";

fn hostile_sandbox() -> Sandbox {
    Sandbox::with(SimOptions {
        hostile: true,
        ..sim_options()
    })
}

fn site_dir(s: &Sandbox) -> PathBuf {
    s.path().join("site")
}

/// `scrape` building the site, as cron runs it.
fn scrape_with_site(s: &Sandbox) -> Run {
    s.run(&["scrape"]).expect(0).stdout_has("site: ")
}

fn id_set(s: &Sandbox, sql: &str) -> BTreeSet<String> {
    s.strings(sql).into_iter().collect()
}

/// Every file under `dir`, by path relative to it (with `/`).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("under the root");
                let name = relative.to_string_lossy().replace('\\', "/");
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                out.insert(name, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn html_pages(dir: &Path) -> Vec<(String, String)> {
    snapshot(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".html"))
        .map(|(name, bytes)| {
            let text =
                String::from_utf8(bytes).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"));
            (name, text)
        })
        .collect()
}

fn text_of(doc: &NodeRef, selector: &str) -> Option<String> {
    doc.select_first(selector).ok().map(|n| n.text_contents())
}

fn attr_of(node: &kuchikiki::NodeDataRef<kuchikiki::ElementData>, name: &str) -> String {
    node.attributes
        .borrow()
        .get(name)
        .unwrap_or_default()
        .to_string()
}

/// A row of `#roles-table` as the DOM has it.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    fee: String,
    score: f64,
    tier: String,
    search: String,
    hidden: bool,
    title: String,
    href: String,
    company: String,
}

fn table_rows(doc: &NodeRef) -> Vec<Row> {
    doc.select("#roles-table tbody tr")
        .expect("a valid selector")
        .map(|tr| {
            let title = tr.as_node().select_first("a.title").ok();
            Row {
                id: attr_of(&tr, "data-role-id"),
                fee: attr_of(&tr, "data-fee"),
                score: attr_of(&tr, "data-score").parse().unwrap_or(f64::NAN),
                tier: attr_of(&tr, "data-tier"),
                search: attr_of(&tr, "data-search"),
                hidden: tr.attributes.borrow().contains("hidden"),
                title: title
                    .as_ref()
                    .map(|a| a.text_contents())
                    .unwrap_or_default(),
                href: title
                    .as_ref()
                    .map(|a| attr_of(a, "href"))
                    .unwrap_or_default(),
                company: text_of(tr.as_node(), "td.company").unwrap_or_default(),
            }
        })
        .collect()
}

/// The three roles `make_hostile` rewrote: (title role, company role, salary role).
fn hostile_roles(s: &Sandbox) -> (String, String, String) {
    let one = |sql: &str| -> String {
        let ids = s.strings(sql);
        assert_eq!(ids.len(), 1, "{sql}: {ids:?}");
        ids[0].clone()
    };
    (
        one("select id from roles where title like '%<script>alert(''title'')</script>%'"),
        one("select id from roles where company like '%<img src=x onerror=alert(1)>%'"),
        one(
            "select id from roles where json_extract(raw, '$.salary_string') like '%<svg/onload=alert(''salary'')>%'",
        ),
    )
}

/// Everything in a rendered DOM that would run or load scraped content:
/// scripts other than the site's own, inline handlers, `javascript:` URLs,
/// frames and plugins.
fn active_content(label: &str, doc: &NodeRef, allowed_script: Option<&str>) -> Vec<String> {
    let mut found = Vec::new();
    let mut scripts = 0;
    for element in elements(doc) {
        let tag = element.tag.as_str();
        if element.attr("id") == Some("__probe_hook") {
            continue;
        }
        match tag {
            "script" => {
                scripts += 1;
                let src = element.attr("src");
                if allowed_script.is_none() || src != allowed_script {
                    found.push(format!(
                        "{label}: <script src={src:?}> (allowed: {allowed_script:?})"
                    ));
                }
            }
            "iframe" | "frame" | "frameset" | "object" | "embed" | "applet" | "base" | "portal" => {
                found.push(format!("{label}: a <{tag}> element {:?}", element.attrs));
            }
            "meta"
                if element
                    .attr("http-equiv")
                    .is_some_and(|v| v.eq_ignore_ascii_case("refresh")) =>
            {
                found.push(format!("{label}: a meta refresh"));
            }
            _ => {}
        }
        for (name, value) in &element.attrs {
            if name.to_ascii_lowercase().starts_with("on") {
                found.push(format!("{label}: <{tag} {name}={value:?}>"));
            }
            let url_attribute = matches!(
                name.as_str(),
                "href"
                    | "src"
                    | "action"
                    | "formaction"
                    | "data"
                    | "poster"
                    | "background"
                    | "srcdoc"
            );
            let squeezed: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if name == "srcdoc"
                || (url_attribute
                    && ["javascript:", "vbscript:", "data:text/html"]
                        .iter()
                        .any(|scheme| squeezed.starts_with(scheme)))
            {
                found.push(format!("{label}: <{tag} {name}={value:?}>"));
            }
        }
    }
    if scripts > 1 {
        found.push(format!("{label}: {scripts} scripts"));
    }
    found
}

/// The `<title>` the generator wrote into `page` (what scripts must not change).
fn file_title(dir: &Path, page: &str) -> String {
    let html =
        std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("reading {page}: {e}"));
    text_of(&parse_html(&html), "title").unwrap_or_else(|| panic!("{page} has no <title>"))
}

fn fees(rows: &[Value]) -> Vec<f64> {
    rows.iter()
        .map(|r| {
            r["fee"]
                .as_str()
                .and_then(|f| f.parse().ok())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Drives `index.html` in a probe: sort by fee twice, then search for `QUERY`.
const SORT_AND_SEARCH: &str = r#"
    var table = doc.getElementById("roles-table");
    function visible() {
      return Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
        return !row.hidden && win.getComputedStyle(row).display !== "none";
      });
    }
    function snap() {
      return visible().map(function (row) {
        return { id: row.getAttribute("data-role-id"), fee: row.getAttribute("data-fee") };
      });
    }
    function count() {
      var output = doc.getElementById("shown-count");
      return output ? output.textContent : null;
    }
    var form = doc.querySelector("form.filters");
    var out = { title: doc.title, formHidden: !form || form.hidden, before: snap(), countBefore: count() };
    var fee = table.querySelector('thead th button[data-key="fee"]');
    fee.click();
    await sleep(50);
    out.feeFirst = snap();
    out.feeFirstSort = fee.closest("th").getAttribute("aria-sort");
    fee.click();
    await sleep(50);
    out.feeSecond = snap();
    out.feeSecondSort = fee.closest("th").getAttribute("aria-sort");
    var search = doc.getElementById("search");
    search.value = QUERY;
    search.dispatchEvent(new win.Event("input", { bubbles: true }));
    await sleep(600);
    out.searched = snap();
    out.countAfter = count();
    out.scripts = Array.prototype.filter.call(doc.scripts, function (s) { return s.id !== "__probe_hook"; })
      .map(function (s) { return s.getAttribute("src") || "inline: " + s.textContent.slice(0, 80); });
    return out;
"#;

/// What every page looks like to a script once loaded.
const INERT: &str = r#"
    await sleep(200);
    return {
      title: doc.title,
      scripts: Array.prototype.filter.call(doc.scripts, function (s) { return s.id !== "__probe_hook"; })
        .map(function (s) { return s.getAttribute("src") || "inline: " + s.textContent.slice(0, 80); }),
      frames: doc.querySelectorAll("iframe, object, embed").length,
      images: Array.prototype.map.call(doc.images, function (i) { return i.getAttribute("src"); })
    };
"#;

#[test]
fn nginx_serves_a_site_chromium_sorts_and_filters_and_no_scraped_script_runs() {
    let s = hostile_sandbox();
    scrape_with_site(&s);
    let (hostile_title, hostile_company, hostile_salary) = hostile_roles(&s);
    // A role gets a change besides NEW: its fee goes to 30 %.
    let edited = s
        .strings(&format!(
            "{QUALIFIED_SQL} and coalesce(fee_percent, 0) != 30 and id not in ('{hostile_title}', '{hostile_company}', '{hostile_salary}') order by combined_score desc"
        ))
        .into_iter()
        .next()
        .expect("a qualified role to edit");
    let external = edited.strip_prefix("paraform:").expect("a paraform id");
    s.sim.edit_role(external, |r| r["percent_fee"] = json!(30));
    scrape_with_site(&s);
    assert_eq!(
        s.count(&format!(
            "select count(*) from changes where role_id = '{edited}' and kind = 'FEE_CHANGE'"
        )),
        1
    );
    // The SQL in the salary string is only text.
    assert!(s.count("select count(*) from roles") > 0);

    let dir = site_dir(&s);
    let nginx = Nginx::serve(&dir);
    let context = |what: &str, dom: &str| format!("{what}\n--- DOM\n{dom}\n{}", nginx.logs());

    // The qualified table, as Chromium renders it after table.js ran.
    let dom = Chromium::dump_dom(&nginx.url("index.html"));
    let doc = parse_html(&dom);
    let rows = table_rows(&doc);
    let shown: BTreeSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    let expected = id_set(&s, QUALIFIED_SQL);
    assert!(expected.len() >= 5, "too few qualified roles: {expected:?}");
    assert_eq!(shown, expected, "{}", context("the table's rows", &dom));
    assert_eq!(rows.len(), expected.len(), "duplicate rows");
    assert!(
        rows.iter().all(|r| !r.hidden),
        "{}",
        context("hidden rows at first", &dom)
    );
    // Score order: QUALIFIED first, best combined score first within a tier.
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let tier_rank = |t: &str| if t == "qualified" { 0 } else { 1 };
        assert!(
            tier_rank(&a.tier) < tier_rank(&b.tier) || (a.tier == b.tier && a.score >= b.score),
            "rows out of score order: {a:?} then {b:?}"
        );
    }
    let form_hidden = doc
        .select_first("form.filters")
        .map(|f| f.attributes.borrow().contains("hidden"))
        .unwrap_or(true);
    assert!(
        !form_hidden,
        "{}",
        context("the script did not show the filter form", &dom)
    );
    for row in &rows {
        assert_eq!(row.href, format!("roles/{}", page_file(&row.id)), "{row:?}");
    }
    // Scraped text is shown as text, not markup.
    let title_text = s
        .strings(&format!(
            "select title from roles where id = '{hostile_title}'"
        ))
        .remove(0);
    let company_text = s
        .strings(&format!(
            "select company from roles where id = '{hostile_company}'"
        ))
        .remove(0);
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no row for {id}"))
    };
    assert!(
        title_text.contains("<script>alert('title')</script>"),
        "{title_text}"
    );
    // Shown as one clean line: the hidden characters the simulator adds are gone.
    let shown = air_demand::text::one_line;
    assert_ne!(
        shown(&title_text),
        title_text,
        "no hidden characters planted"
    );
    assert_eq!(row(&hostile_title).title, shown(&title_text));
    assert_eq!(row(&hostile_company).company, shown(&company_text));
    assert_eq!(row(&edited).fee.parse::<f64>(), Ok(30.0), "the edited fee");
    assert_eq!(text_of(&doc, "title"), Some(file_title(&dir, "index.html")));
    let problems = active_content("index.html", &doc, Some("assets/table.js"));
    assert!(
        problems.is_empty(),
        "{}",
        context(&problems.join("\n"), &dom)
    );

    // Sorting and searching, driven in a same-origin iframe.
    let (query, matches) = search_term(&s, &rows, &[&hostile_title, &hostile_company]);
    write_probe(
        &dir,
        "__probe-sort.html",
        &["index.html"],
        &SORT_AND_SEARCH.replace("QUERY", &common::web::js_value(&json!(query))),
    );
    let results = run_probe(&nginx, "__probe-sort.html");
    let probe = &results[0];
    let out = &probe["result"];
    let show = || serde_json::to_string_pretty(probe).unwrap_or_default();
    assert_eq!(
        probe["dialogs"],
        json!([]),
        "a payload opened a dialog\n{}",
        show()
    );
    assert_eq!(
        out["title"],
        json!(file_title(&dir, "index.html")),
        "{}",
        show()
    );
    assert_eq!(out["scripts"], json!(["assets/table.js"]), "{}", show());
    assert_eq!(out["formHidden"], json!(false), "{}", show());
    let before = out["before"].as_array().expect("rows before").clone();
    let first = out["feeFirst"]
        .as_array()
        .expect("rows after a click")
        .clone();
    let second = out["feeSecond"]
        .as_array()
        .expect("rows after two clicks")
        .clone();
    assert_eq!(
        ids(&before),
        rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        "{}",
        show()
    );
    let sorted = |rows: &[Value]| ids(rows).into_iter().collect::<BTreeSet<_>>();
    assert_eq!(sorted(&first), expected, "sorting lost rows\n{}", show());
    assert_eq!(sorted(&second), expected, "sorting lost rows\n{}", show());
    assert_ne!(
        ids(&first),
        ids(&before),
        "sorting by fee changed nothing\n{}",
        show()
    );
    let (down, up) = (fees(&first), fees(&second));
    assert!(
        down.windows(2).all(|w| w[0] >= w[1]),
        "first click: fees not descending {down:?}\n{}",
        show()
    );
    assert!(
        up.windows(2).all(|w| w[0] <= w[1]),
        "second click: fees not ascending {up:?}\n{}",
        show()
    );
    assert!(down.first() > down.last(), "all fees equal: {down:?}");
    assert_eq!(out["feeFirstSort"], json!("descending"));
    assert_eq!(out["feeSecondSort"], json!("ascending"));
    let searched = sorted(out["searched"].as_array().expect("rows after search"));
    assert_eq!(searched, matches, "search for {query:?}\n{}", show());
    let count_after = out["countAfter"].as_str().unwrap_or_default();
    assert!(
        count_after.starts_with(&format!("{} of {}", matches.len(), expected.len())),
        "#shown-count after the search: {count_after:?} (before: {})",
        out["countBefore"]
    );
    assert_ne!(out["countBefore"], out["countAfter"]);

    // The role page shows the fee change and both versions.
    let page = format!("roles/{}", page_file(&edited));
    let role_dom = Chromium::dump_dom(&nginx.url(&page));
    let role_doc = parse_html(&role_dom);
    let history: Vec<String> = role_doc
        .select("table.changes tbody tr")
        .expect("selector")
        .map(|tr| tr.text_contents())
        .collect();
    assert!(
        history
            .iter()
            .any(|row| row.contains("Fee") && row.contains("→ 30%")),
        "{}",
        context(&format!("{page}: no fee change in {history:?}"), &role_dom)
    );
    assert!(history.len() >= 2, "history of {page}: {history:?}");
    let versions: Vec<String> = role_doc
        .select("ol.versions > li")
        .expect("selector")
        .map(|li| li.text_contents())
        .collect();
    let stored = s.count(&format!(
        "select count(*) from role_versions where role_id = '{edited}'"
    ));
    assert_eq!(
        versions.len() as i64,
        stored,
        "{}",
        context("the version timeline", &role_dom)
    );
    assert!(
        versions[0].contains("Version 2")
            && versions[0].contains("Fee")
            && versions[0].contains("→ 30%"),
        "newest version first: {versions:?}"
    );
    assert!(
        versions.last().is_some_and(|v| v.contains("Version 1")),
        "{versions:?}"
    );
    let problems = active_content(&page, &role_doc, None);
    assert!(
        problems.is_empty(),
        "{}",
        context(&problems.join("\n"), &role_dom)
    );

    // The hostile roles' pages: the detail HTML is sanitised, the text escaped.
    let hostile_pages: Vec<String> = [&hostile_title, &hostile_company, &hostile_salary]
        .iter()
        .map(|id| format!("roles/{}", page_file(id)))
        .collect();
    for (id, page) in [&hostile_title, &hostile_company, &hostile_salary]
        .iter()
        .zip(&hostile_pages)
    {
        let dom = Chromium::dump_dom(&nginx.url(page));
        let doc = parse_html(&dom);
        let problems = active_content(page, &doc, None);
        assert!(
            problems.is_empty(),
            "{}",
            context(&problems.join("\n"), &dom)
        );
        assert_eq!(text_of(&doc, "title"), Some(file_title(&dir, page)));
        let body = text_of(&doc, "body").unwrap_or_default();
        let title = s
            .strings(&format!("select title from roles where id = '{id}'"))
            .remove(0);
        assert_eq!(
            text_of(&doc, "h1"),
            Some(air_demand::text::one_line(&title)),
            "{page}"
        );
        if *id == &hostile_salary {
            assert!(
                body.contains("\"><svg/onload=alert('salary')>'; DROP TABLE roles;--"),
                "{}",
                context("the hostile salary text is not shown", &dom)
            );
        }
        // Sanitised prose keeps the harmless text around the payloads.
        assert!(
            body.contains("Click for perks") || body.contains("See our deck"),
            "{}",
            context("company notes", &dom)
        );
        assert!(
            !body.contains("evil.invalid"),
            "{page}: the iframe URL leaked into the text"
        );
    }

    // No dialog, no changed title, no foreign script on any page.
    let mut targets = vec![
        "all.html".to_string(),
        "changes.html".to_string(),
        "gone.html".to_string(),
        "charts.html".to_string(),
        "health.html".to_string(),
        page.clone(),
    ];
    targets.extend(hostile_pages);
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    write_probe(&dir, "__probe-inert.html", &target_refs, INERT);
    let results = run_probe(&nginx, "__probe-inert.html");
    assert_eq!(results.len(), targets.len());
    for (target, probe) in targets.iter().zip(&results) {
        let show = serde_json::to_string_pretty(probe).unwrap_or_default();
        assert_eq!(
            probe["dialogs"],
            json!([]),
            "{target}: a payload opened a dialog\n{show}"
        );
        assert_eq!(
            probe["result"]["title"],
            json!(file_title(&dir, target)),
            "{target}\n{show}"
        );
        assert_eq!(probe["result"]["frames"], json!(0), "{target}\n{show}");
        let scripts = probe["result"]["scripts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let own = if target.starts_with("roles/") {
            "../assets/table.js"
        } else {
            "assets/table.js"
        };
        assert!(
            scripts.iter().all(|s| s == own),
            "{target}: scripts {scripts:?}\n{show}"
        );
        let images = probe["result"]["images"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            !images.contains(&json!("x")),
            "{target}: a scraped <img> was rendered\n{show}"
        );
    }
}

/// A company name to search for among the table's rows (not a hostile one),
/// preferring one that matches a single row, and the rows it must leave.
fn search_term(s: &Sandbox, rows: &[Row], avoid: &[&str]) -> (String, BTreeSet<String>) {
    let mut best: Option<(String, BTreeSet<String>)> = None;
    for row in rows.iter().filter(|r| !avoid.contains(&r.id.as_str())) {
        let company = s
            .strings(&format!(
                "select company from roles where id = '{}'",
                row.id
            ))
            .remove(0);
        let terms: Vec<String> = company
            .to_lowercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        if terms.is_empty() {
            continue;
        }
        let matches: BTreeSet<String> = rows
            .iter()
            .filter(|r| terms.iter().all(|t| r.search.contains(t.as_str())))
            .map(|r| r.id.clone())
            .collect();
        assert!(
            matches.contains(&row.id),
            "{company:?} does not match its own row {row:?}"
        );
        if best.as_ref().is_none_or(|(_, b)| matches.len() < b.len()) {
            best = Some((company, matches));
        }
    }
    let (company, matches) = best.expect("a company to search for");
    assert!(matches.len() < rows.len(), "{company:?} matches every row");
    (company, matches)
}

#[test]
fn every_page_is_valid_html5_and_the_data_files_parse() {
    let s = hostile_sandbox();
    s.scrape().expect(0);
    s.sim.advance(chrono::Duration::hours(6));
    scrape_with_site(&s);
    let dir = site_dir(&s);
    let active = id_set(&s, ACTIVE_SQL);
    assert!(
        s.count("select count(*) from roles where status = 'gone'") > 0,
        "advance removed nothing"
    );

    let pages = html_pages(&dir);
    let role_pages = pages
        .iter()
        .filter(|(name, _)| name.starts_with("roles/"))
        .count();
    assert_eq!(
        role_pages as i64,
        s.count("select count(*) from roles"),
        "one page per role"
    );
    for top in [
        "index.html",
        "all.html",
        "changes.html",
        "gone.html",
        "charts.html",
        "health.html",
    ] {
        assert!(pages.iter().any(|(name, _)| name == top), "no {top}");
    }
    let mut invalid = Vec::new();
    for (name, html) in &pages {
        let errors = html5_errors(html);
        if !errors.is_empty() {
            invalid.push(format!("{name}: {errors:?}"));
        }
    }
    assert!(
        invalid.is_empty(),
        "HTML5 parse errors:\n{}",
        invalid.join("\n")
    );

    let feed = dir.join("feed.atom");
    require(Tool::Feedparser);
    let parsed = python(
        "import feedparser, sys\n\
         d = feedparser.parse(sys.argv[1])\n\
         assert not d.bozo, d.bozo_exception\n\
         assert d.version == 'atom10', d.version\n\
         assert all(e.get('title') and e.get('link') and e.get('id') for e in d.entries)\n\
         print(len(d.entries))",
        &[feed.to_str().expect("UTF-8 path")],
    )
    .expect_success();
    let entries: usize = parsed.stdout.trim().parse().expect("an entry count");
    assert!(entries > 0, "an empty feed\n{}", parsed.describe());

    let json_text = std::fs::read_to_string(dir.join("roles.json")).expect("roles.json");
    let roles: Value = serde_json::from_str(&json_text).expect("roles.json parses");
    let list = roles.as_array().expect("roles.json is an array");
    let json_ids: Vec<String> = list
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_string())
        .collect();
    assert_eq!(json_ids.len(), active.len(), "roles.json entries");
    assert_eq!(json_ids.into_iter().collect::<BTreeSet<_>>(), active);

    let csv = dir.join("roles.csv");
    let read = python(
        "import csv, json, sys\n\
         with open(sys.argv[1], newline='', encoding='utf-8') as f:\n\
         \x20   rows = list(csv.reader(f, strict=True))\n\
         print(json.dumps(rows))",
        &[csv.to_str().expect("UTF-8 path")],
    )
    .expect_success();
    let rows: Vec<Vec<String>> = serde_json::from_str(&read.stdout).expect("the csv as JSON");
    assert_eq!(rows[0][0], "id", "header: {:?}", rows[0]);
    assert!(
        rows.iter().all(|r| r.len() == rows[0].len()),
        "ragged CSV rows"
    );
    let csv_ids: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(csv_ids.len(), active.len(), "roles.csv lines");
    assert_eq!(csv_ids.into_iter().collect::<BTreeSet<_>>(), active);

    let health: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("health.json")).expect("health.json"),
    )
    .expect("health.json parses");
    assert!(health["status"].is_string(), "{health}");
}

/// Resolves a relative link from `page` (both relative to the site root);
/// `None` when it climbs out of the site.
fn resolve(page: &str, link: &str) -> Option<String> {
    let path = link.split(['#', '?']).next().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let mut parts: Vec<String> = page.split('/').map(String::from).collect();
    parts.pop();
    for component in Path::new(decoded.as_ref()).components() {
        match component {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

#[test]
fn links_are_relative_and_resolve_pages_are_noindex_and_no_secret_leaks() {
    let s = hostile_sandbox();
    s.scrape().expect(0);
    s.sim.advance(chrono::Duration::hours(6));
    scrape_with_site(&s);
    let dir = site_dir(&s);
    let files = snapshot(&dir);
    let paraform = format!("{}/", s.sim.base_url());

    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, html) in html_pages(&dir) {
        let doc = parse_html(&html);
        let noindex = doc.select("meta[name=robots]").expect("selector").any(|m| {
            attr_of(&m, "content")
                .split(',')
                .any(|v| v.trim() == "noindex")
        });
        if !noindex {
            problems.push(format!("{name}: no <meta name=robots content=noindex>"));
        }
        for element in elements(&doc) {
            for (attr, link) in &element.attrs {
                if !matches!(
                    attr.as_str(),
                    "href" | "src" | "action" | "srcset" | "poster"
                ) {
                    continue;
                }
                checked += 1;
                let tag = &element.tag;
                if link.starts_with("http://") || link.starts_with("https://") {
                    if !link.starts_with(&paraform) {
                        problems.push(format!(
                            "{name}: <{tag} {attr}={link:?}> is absolute and not a Paraform link"
                        ));
                    }
                } else if link.starts_with('/') || link.contains(':') {
                    problems.push(format!("{name}: <{tag} {attr}={link:?}> is not relative"));
                } else if link.starts_with('#') || link.is_empty() {
                    // Same page.
                } else {
                    match resolve(&name, link) {
                        Some(target) if files.contains_key(&target) => {}
                        Some(target) if files.contains_key(&format!("{target}/index.html")) => {}
                        other => problems.push(format!(
                            "{name}: <{tag} {attr}={link:?}> resolves to {other:?}, no such file"
                        )),
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} links checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let token = s.sim.session_token();
    for (name, bytes) in &files {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the session token is in {name}"
        );
    }

    let nginx = Nginx::serve(&dir);
    let health = nginx.get("/health.json");
    assert_eq!(health.status, 200, "{}", nginx.logs());
    assert!(
        health
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        health.headers
    );
    let health: Value = serde_json::from_str(&health.text()).expect("health.json over HTTP");
    assert!(health["status"].is_string(), "{health}");
    let root = nginx.get("/");
    assert_eq!(root.status, 200, "{}", nginx.logs());
    assert_eq!(root.body, files["index.html"]);
}

/// Every file of the site as it was, or a description of what differs.
fn same_site(
    before: &BTreeMap<String, Vec<u8>>,
    now: &BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    let old: BTreeSet<&String> = before.keys().collect();
    let new: BTreeSet<&String> = now.keys().collect();
    if old != new {
        let gone: Vec<_> = old.difference(&new).take(5).collect();
        let added: Vec<_> = new.difference(&old).take(5).collect();
        return Err(format!(
            "listing differs: missing {gone:?}, extra {added:?}"
        ));
    }
    let changed: Vec<&String> = before
        .keys()
        .filter(|k| before[*k] != now[*k])
        .take(5)
        .collect();
    let Some(first) = changed.first() else {
        return Ok(());
    };
    // Where the first of them differs, for the failure message.
    let (a, b) = (&before[*first], &now[*first]);
    let at = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
    let around = |bytes: &[u8]| {
        let start = at.saturating_sub(80);
        String::from_utf8_lossy(&bytes[start..(at + 80).min(bytes.len())]).into_owned()
    };
    Err(format!(
        "files changed: {changed:?}; {first} at byte {at}: {:?} became {:?}",
        around(a),
        around(b)
    ))
}

/// The site in `dir` is whole: index.html parses and every role it links exists.
fn assert_complete(files: &BTreeMap<String, Vec<u8>>, label: &str) {
    let index = String::from_utf8(
        files
            .get("index.html")
            .unwrap_or_else(|| panic!("{label}: no index.html"))
            .clone(),
    )
    .expect("UTF-8");
    assert!(
        html5_errors(&index).is_empty(),
        "{label}: index.html does not parse"
    );
    let doc = parse_html(&index);
    let rows = table_rows(&doc);
    assert!(!rows.is_empty(), "{label}: an empty table");
    for row in rows {
        assert!(
            files.contains_key(&row.href),
            "{label}: {} is linked but missing",
            row.href
        );
    }
    for page in [
        "all.html",
        "changes.html",
        "health.html",
        "feed.atom",
        "roles.json",
        "assets/table.js",
    ] {
        assert!(files.contains_key(page), "{label}: no {page}");
    }
}

fn staging_leftovers(s: &Sandbox) -> Vec<String> {
    std::fs::read_dir(s.path())
        .expect("listing the sandbox")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".site.building-") || n.starts_with(".site.old-"))
        .collect()
}

#[test]
fn a_build_killed_midway_leaves_the_previous_site_whole() {
    let s = Sandbox::with(SimOptions {
        roles: 1000,
        ..sim_options()
    });
    scrape_with_site(&s);
    let dir = site_dir(&s);
    let mut previous = snapshot(&dir);
    assert_complete(&previous, "the first site");
    s.sim.advance(chrono::Duration::hours(6));
    s.scrape().expect(0);

    let mut killed_midway = 0;
    let mut attempts = Vec::new();
    // Each build is killed once it reached a point of its own, seen on disk
    // (not after a delay, which depends on the machine's speed): its staging
    // directory exists, its first page is written, its role pages are being
    // written. Kill points from the start again if a build outran the poll.
    let points = ["", "index.html", "roles/"];
    for point in points.iter().cycle().take(3 * points.len()) {
        let mut child = command_in(s.path(), &["site"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting air-demand site");
        let own_staging = format!(".site.building-{}", child.id());
        let reached = s.path().join(&own_staging).join(point);
        let guard = Instant::now() + Duration::from_secs(300);
        loop {
            let there = if point.ends_with('/') {
                std::fs::read_dir(&reached).is_ok_and(|mut d| d.next().is_some())
            } else {
                reached.exists()
            };
            if there || !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            assert!(Instant::now() < guard, "the build hung before {point:?}");
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill();
        let status = child.wait().expect("waiting for air-demand site");
        let now = snapshot(&dir);
        assert_complete(&now, &format!("after a kill at {own_staging}/{point}"));
        let finished = status.code().is_some();
        let unchanged = same_site(&previous, &now);
        // A killed build leaves its staging directory: proof it was under way.
        let staging = staging_leftovers(&s);
        attempts.push(format!(
            "at {own_staging}/{point}: {status}, {unchanged:?}, staging {staging:?}"
        ));
        if !finished && unchanged.is_ok() && staging.contains(&own_staging) {
            killed_midway += 1;
        }
        if finished || unchanged.is_err() {
            // It got as far as publishing: that complete site is the one to keep.
            previous = now;
        }
        if killed_midway >= 2 {
            break;
        }
    }
    assert!(
        killed_midway >= 1,
        "no kill landed during a build: {attempts:#?}"
    );
    s.run(&["site"]).expect(0).stdout_has("site: ");
    assert_eq!(
        staging_leftovers(&s),
        Vec::<String>::new(),
        "staging directories left"
    );
    let rebuilt = snapshot(&dir);
    assert_complete(&rebuilt, "the rebuilt site");
    assert!(
        same_site(&previous, &rebuilt).is_err(),
        "the rebuild changed nothing"
    );
    let roles = rebuilt.keys().filter(|k| k.starts_with("roles/")).count();
    assert_eq!(roles as i64, s.count("select count(*) from roles"));
}

/// The inode of every role page: a page the build kept is the live one,
/// linked, so its inode stays; a page it wrote is a new file.
fn role_inodes(dir: &Path) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir.join("roles"))
        .expect("listing roles/")
        .map(|e| {
            let e = e.expect("an entry");
            let inode = e.metadata().expect("metadata").ino();
            (format!("roles/{}", e.file_name().to_string_lossy()), inode)
        })
        .collect()
}

/// `site: N roles, W pages written, K kept in …` → (W, K).
fn written_and_kept(run: &Run) -> (usize, usize) {
    let out = run.stdout();
    let line = out
        .lines()
        .find(|l| l.starts_with("site: "))
        .unwrap_or_else(|| panic!("no site line in {out}"));
    let number_before = |word: &str| -> usize {
        let at = line
            .find(word)
            .unwrap_or_else(|| panic!("no {word:?} in {line}"));
        line[..at]
            .split_whitespace()
            .last()
            .unwrap()
            .parse()
            .unwrap()
    };
    (number_before(" pages written"), number_before(" kept"))
}

/// The site without the two files that say when health was checked, which
/// every build writes anew.
fn without_health(mut files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    files.remove("health.html");
    files.remove("health.json");
    files
}

#[test]
fn a_build_writes_only_the_pages_whose_role_changed() {
    let s = Sandbox::new();
    scrape_with_site(&s);
    let dir = site_dir(&s);
    let roles = s.count("select count(*) from roles") as usize;
    let first = snapshot(&dir);
    let first_inodes = role_inodes(&dir);
    assert_eq!(first_inodes.len(), roles);
    let inode_of = |file: &str| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(dir.join(file)).expect("a file").ino()
    };
    let data_files = [inode_of("roles.json"), inode_of("roles.csv")];
    // The role pages are kept beside the site, which links them.
    let link = std::fs::read_link(dir.join("roles")).expect("roles/ a link");
    assert!(dir.join(&link).is_dir(), "{}", link.display());

    // Built again with no run between: not a role page written, and every
    // file as it was (the health files tell the time they were checked).
    let again = s.run(&["site"]).expect(0);
    let (written, kept) = written_and_kept(&again);
    assert_eq!(kept, roles, "every role page kept");
    // What is written is the rest: lists, company pages, feeds, assets
    // (and not the marker, which is not a page), but roles.json and
    // roles.csv: with no role read again, they are the live site's files.
    assert_eq!(
        written,
        first.len() - roles - 1 - 2,
        "only the lists and feeds are written"
    );
    assert_eq!(
        same_site(
            &without_health(first.clone()),
            &without_health(snapshot(&dir))
        ),
        Ok(()),
        "a build with nothing new changed the site"
    );
    assert_eq!(role_inodes(&dir), first_inodes, "role pages were rewritten");
    assert_eq!(
        [inode_of("roles.json"), inode_of("roles.csv")],
        data_files,
        "roles.json and roles.csv are linked from the live site"
    );

    // One role changes (its openings) and one leaves the market.
    let ids = s.sim.active_ids();
    let (changed, removed) = (ids[0].clone(), ids[1].clone());
    s.sim.edit_role(&changed, |r| r["hiring_count"] = json!(9));
    s.sim.remove_role(&removed);
    let run = scrape_with_site(&s);
    let page = |external: &str| format!("roles/{}", page_file(&format!("paraform:{external}")));
    let (changed_page, removed_page) = (page(&changed), page(&removed));
    let (_, kept) = written_and_kept(&run);
    assert_eq!(kept, roles - 2, "all but the two roles' pages kept");
    let now = role_inodes(&dir);
    for (path, inode) in &first_inodes {
        let rewritten = path == &changed_page || path == &removed_page;
        assert_eq!(now[path] != *inode, rewritten, "{path}");
    }
    let files = snapshot(&dir);
    let changed_html = String::from_utf8(files[&changed_page].clone()).unwrap();
    assert!(
        changed_html.contains("Openings</dt><dd>9</dd>"),
        "the new openings"
    );
    // A role gone from the market keeps its page, saying so, and gone.html
    // links it (the site's promise: a gone role's page stays).
    let removed_html = String::from_utf8(files[&removed_page].clone()).unwrap();
    assert!(
        removed_html.contains("GONE"),
        "the gone role's page says so"
    );
    let gone = String::from_utf8(files["gone.html"].clone()).unwrap();
    assert!(
        gone.contains(&removed_page),
        "gone.html links the gone role"
    );
    // The lists were written again: they show the change.
    assert_ne!(files["index.html"], first["index.html"]);
    // No page without a role, no role without a page.
    assert_eq!(now.len(), s.count("select count(*) from roles") as usize);

    // A page deleted by hand is rendered again, and a file that is no
    // role's page is removed; every other page is kept as it is.
    let pages = dir.join("roles").canonicalize().unwrap();
    std::fs::remove_file(pages.join(changed_page.trim_start_matches("roles/"))).unwrap();
    std::fs::write(pages.join("stray.html"), "not a role").unwrap();
    let again = s.run(&["site"]).expect(0);
    let (_, kept) = written_and_kept(&again);
    assert_eq!(kept, now.len() - 1, "all but the deleted page kept");
    assert_eq!(
        std::fs::read(dir.join(&changed_page)).unwrap(),
        files[&changed_page],
        "the deleted page is back as it was"
    );
    assert!(
        !pages.join("stray.html").exists(),
        "the stray file is removed"
    );
    assert_eq!(role_inodes(&dir).len(), now.len());
}

fn config_with_site_dir(s: &Sandbox, dir: &str) {
    let text = std::fs::read_to_string(s.path().join("air-demand.toml")).expect("the config");
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("dir = ") {
                format!("dir = \"{dir}\"")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("dir = ")).count(),
        1,
        "{text}"
    );
    s.write_file("air-demand.toml", &(lines.join("\n") + "\n"));
}

fn assert_refused(run: Run) {
    let run = run.expect(1).stderr_has("refusing to publish the site");
    assert_eq!(
        run.stderr().trim().lines().count(),
        1,
        "not one line: {}",
        run.stderr()
    );
}

#[test]
fn refuses_to_publish_over_what_is_not_its_own() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let before = snapshot(s.path());

    config_with_site_dir(&s, ".");
    assert_refused(s.run(&["site"]));
    config_with_site_dir(&s, "/");
    assert_refused(s.run(&["site"]));
    config_with_site_dir(&s, "site");
    std::fs::create_dir(s.path().join("site")).expect("site dir");
    s.write_file("site/keep.txt", "mine\n");
    assert_refused(s.run(&["site"]));
    assert_refused(s.run(&["scrape"]));

    assert_eq!(
        std::fs::read_to_string(s.path().join("site/keep.txt")).expect("keep.txt is still there"),
        "mine\n"
    );
    let listing: Vec<_> = std::fs::read_dir(s.path().join("site"))
        .expect("site dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        listing,
        vec!["keep.txt"],
        "files were added beside keep.txt"
    );
    // Nothing else in the sandbox was touched but the site dir, the lock and the database.
    let after = snapshot(s.path());
    for (name, bytes) in &before {
        if name.starts_with("data/") || name == "air-demand.toml" {
            continue;
        }
        assert_eq!(after.get(name), Some(bytes), "{name} changed");
    }
    assert!(staging_leftovers(&s).is_empty());
}

#[test]
fn a_fresh_database_builds_a_valid_empty_site() {
    let dir = tempfile::tempdir().expect("temp dir");
    run_in(dir.path(), &["init"], &[]).expect(0);
    run_in(dir.path(), &["site"], &[])
        .expect(0)
        .stdout_has("site: 0 roles");
    let site = dir.path().join("site");
    let pages = html_pages(&site);
    assert!(
        pages.len() >= 6,
        "{:?}",
        pages.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    for (name, html) in &pages {
        let errors = html5_errors(html);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert!(
            html.contains(r#"<meta name="robots" content="noindex">"#),
            "{name}"
        );
    }
    let index = parse_html(
        &pages
            .iter()
            .find(|p| p.0 == "index.html")
            .expect("index.html")
            .1,
    );
    assert!(table_rows(&index).is_empty());
    let roles: Value = serde_json::from_str(
        &std::fs::read_to_string(site.join("roles.json")).expect("roles.json"),
    )
    .expect("JSON");
    assert_eq!(roles, json!([]));
    require(Tool::Feedparser);
    python(
        "import feedparser, sys\n\
         d = feedparser.parse(sys.argv[1])\n\
         assert not d.bozo, d.bozo_exception\n\
         assert d.version == 'atom10', d.version",
        &[site.join("feed.atom").to_str().expect("UTF-8 path")],
    )
    .expect_success();
}

/// What axe-core checks: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its
/// best practices.
const AXE_TAGS: [&str; 6] = [
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22aa",
    "best-practice",
];

/// Checks one page in a probe frame: loads axe-core from the site's own
/// origin (as the site's `script-src 'self'` allows), measures sideways
/// scroll of the page and of its first table's wrapper, lists tap targets
/// under 24 × 24 px (WCAG 2.5.8; a link in a paragraph is exempt as text),
/// links in the content without an underline (axe takes any style that
/// differs from the text's, even a thickness, for one) and inline styles
/// (the site's `style-src 'self'` refuses them), and runs axe. Where there
/// is a "More columns" checkbox it ticks it and checks again.
const ACCESSIBILITY: &str = r##"
    await new Promise(function (done, fail) {
      var script = doc.createElement("script");
      script.src = "/__axe/axe.min.js";
      script.onload = done;
      script.onerror = function () { fail(new Error("axe.min.js did not load")); };
      doc.head.appendChild(script);
    });
    function describe(e) {
      var classes = typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\s+/).join(".") : "";
      return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + classes + " " + JSON.stringify((e.textContent || e.value || "").trim().slice(0, 40));
    }
    function smallTargets() {
      var found = [];
      Array.prototype.forEach.call(doc.querySelectorAll("a[href], button, input, select, textarea, summary"), function (e) {
        var box = e.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) return;
        if (box.width >= 24 && box.height >= 24) return;
        if (e.tagName === "A" && e.closest("p")) return;
        found.push(describe(e) + ": " + Math.round(box.width) + " × " + Math.round(box.height) + " px");
      });
      return found;
    }
    function plainLinks() {
      return Array.prototype.filter.call(doc.querySelectorAll("main a[href], footer a[href]"), function (a) {
        return a.getClientRects().length > 0 && win.getComputedStyle(a).textDecorationLine.indexOf("underline") < 0;
      }).map(describe);
    }
    function measure() {
      var wrap = doc.querySelector(".table-wrap");
      return {
        viewport: doc.documentElement.clientWidth,
        page: doc.scrollingElement.scrollWidth,
        table: wrap ? { scroll: wrap.scrollWidth, client: wrap.clientWidth } : null,
        small: smallTargets(),
        plain: plainLinks(),
        styled: Array.prototype.map.call(doc.querySelectorAll("[style], style"), describe)
      };
    }
    async function audit() {
      var result = await win.axe.run(doc, { runOnly: { type: "tag", values: TAGS }, resultTypes: ["violations"] });
      return result.violations.map(function (v) {
        return {
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map(function (n) { return { target: n.target, summary: n.failureSummary }; })
        };
      });
    }
    var out = { axe: win.axe.version, measured: measure(), violations: await audit() };
    var more = doc.getElementById("more-columns");
    if (more) {
      var extra = doc.querySelector("th.more");
      out.extraBefore = win.getComputedStyle(extra).display;
      more.click();
      out.extraAfter = win.getComputedStyle(extra).display;
      out.moreMeasured = measure();
      out.moreViolations = await audit();
    }
    return out;
"##;

/// One line per violation and per node it names: rule, impact, help, then
/// each node's target and what to fix.
fn axe_violations(label: &str, violations: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for violation in violations.as_array().into_iter().flatten() {
        lines.push(format!(
            "{label}: {} ({}): {}",
            violation["id"].as_str().unwrap_or("?"),
            violation["impact"].as_str().unwrap_or("?"),
            violation["help"].as_str().unwrap_or("?")
        ));
        for node in violation["nodes"].as_array().into_iter().flatten() {
            lines.push(format!(
                "    {} — {}",
                node["target"],
                node["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('\n', " ")
            ));
        }
    }
    lines
}

/// What a measurement of a page says is wrong at that width: sideways
/// scroll of the page, small tap targets, inline styles.
fn layout_problems(label: &str, measured: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let viewport = measured["viewport"].as_i64().unwrap_or(0);
    let page = measured["page"].as_i64().unwrap_or(i64::MAX);
    if viewport == 0 || page > viewport {
        problems.push(format!(
            "{label}: the page scrolls sideways: {page} px wide in a {viewport} px viewport"
        ));
    }
    for target in measured["small"].as_array().into_iter().flatten() {
        problems.push(format!(
            "{label}: a tap target under 24 × 24 px: {}",
            target.as_str().unwrap_or_default()
        ));
    }
    for link in measured["plain"].as_array().into_iter().flatten() {
        problems.push(format!(
            "{label}: a link without an underline, told apart by its colour alone: {}",
            link.as_str().unwrap_or_default()
        ));
    }
    for styled in measured["styled"].as_array().into_iter().flatten() {
        problems.push(format!(
            "{label}: an inline style (refused by the site's style-src 'self'): {}",
            styled.as_str().unwrap_or_default()
        ));
    }
    problems
}

#[test]
fn the_pages_pass_axe_core_on_a_laptop_and_a_phone_and_the_index_fits_a_laptop() {
    let axe = common::web::axe_core();
    let dir = tempfile::tempdir().expect("temp dir");
    // The demo's site: boards, companies, changes over five rounds and the
    // model's briefings, as a headhunter would see it.
    run_in(dir.path(), &["demo", "--llm", "--dir", "out"], &[]).expect(0);
    let site = dir.path().join("out/demo-site");
    std::fs::create_dir_all(site.join("__axe")).expect("creating __axe");
    std::fs::copy(&axe, site.join("__axe/axe.min.js")).expect("copying axe.min.js");
    // The best role's page has the most on it: a briefing, scores, history.
    let index = parse_html(&std::fs::read_to_string(site.join("index.html")).expect("index.html"));
    let role_page = table_rows(&index)
        .first()
        .expect("a qualified role in the demo")
        .href
        .clone();
    assert!(
        std::fs::read_to_string(site.join(&role_page))
            .expect("the role page")
            .contains("class=\"briefing\""),
        "{role_page} has no briefing to check"
    );
    let pages = [
        "index.html",
        role_page.as_str(),
        "companies.html",
        "changes.html",
        "all.html",
    ];
    let nginx = Nginx::serve(&site);
    let script = ACCESSIBILITY.replace("TAGS", &common::web::js_value(&json!(AXE_TAGS)));
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for (width, height) in [(1400, 900), (390, 844)] {
        let probe = format!("__probe-axe-{width}.html");
        write_probe_sized(&site, &probe, &pages, &script, (width, height));
        let results = run_probe_with(
            &nginx,
            &probe,
            Load {
                // Room for the probe's frame: what it checks is drawn.
                window: Some((width + 100, height + 200)),
                // Page time for axe's timers, not the wall clock.
                budget_ms: 600_000,
            },
        );
        assert_eq!(results.len(), pages.len(), "{results:?}");
        for (page, result) in pages.iter().zip(&results) {
            let label = format!("{page} at {width} px");
            let out = &result["result"];
            assert_eq!(
                out["axe"],
                json!(common::web::AXE_CORE_VERSION),
                "{label}: {result}"
            );
            assert_eq!(result["dialogs"], json!([]), "{label}: {result}");
            problems.extend(axe_violations(&label, &out["violations"]));
            problems.extend(layout_problems(&label, &out["measured"]));
            checked.push(format!("{label}: {}", out["measured"]));
            if *page == "index.html" {
                // Hidden extra columns until the box is ticked, CSS alone.
                assert_eq!(out["extraBefore"], json!("none"), "{label}: {result}");
                assert_eq!(out["extraAfter"], json!("table-cell"), "{label}: {result}");
                let more = format!("{label} with more columns");
                problems.extend(axe_violations(&more, &out["moreViolations"]));
                problems.extend(layout_problems(&more, &out["moreMeasured"]));
            }
            // The tables the decision reads fit a laptop whole: no sideways
            // scroll inside their wrapper either.
            if width == 1400 && (*page == "index.html" || *page == "all.html") {
                let table = &out["measured"]["table"];
                let (scroll, client) = (table["scroll"].as_i64(), table["client"].as_i64());
                if scroll.is_none() || scroll > client {
                    problems.push(format!(
                        "{label}: the table scrolls sideways: {scroll:?} px in {client:?} px"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n--- measured\n{}",
        problems.len(),
        problems.join("\n"),
        checked.join("\n")
    );
}

/// Builds kept from build to build (the role views beside the site, taken
/// again where their role's stamp did not move, and brought up to date
/// with the clock and the volatile fields) make the same site as a build
/// from nothing, run after run: through changed, gone and new roles, and
/// rounds that move only the volatile fields the tables show.
#[test]
fn a_site_built_from_what_the_last_build_kept_is_the_site_built_from_nothing() {
    let s = Sandbox::new();
    scrape_with_site(&s);
    let kept_views = s.path().join(".site.views");
    assert!(kept_views.is_file(), "the views are kept beside the site");
    let fresh = |round: usize| {
        // Another site directory: no views, no pages kept.
        let name = format!("fresh-{round}");
        config_with_site_dir(&s, &name);
        s.run(&["site"]).expect(0);
        config_with_site_dir(&s, "site");
        let files = without_health(snapshot(&s.path().join(&name)));
        std::fs::remove_dir_all(s.path().join(&name)).unwrap();
        files
    };
    for round in 1..=4 {
        let ids = s.sim.active_ids();
        match round {
            // A round with no role edited: volatile fields moved (activity
            // times, responsiveness), a few roles gone and new, and ages
            // and NEW marks past a day.
            1 => {
                s.sim.advance_with(
                    chrono::Duration::hours(30),
                    air_demand::sim::EditShare::Percent(0),
                );
            }
            2 => {
                s.sim.edit_role(&ids[0], |r| r["hiring_count"] = json!(7));
                s.sim.remove_role(&ids[1]);
            }
            _ => {
                s.sim.advance_with(
                    chrono::Duration::hours(5),
                    air_demand::sim::EditShare::Percent(10),
                );
            }
        }
        let run = scrape_with_site(&s);
        let (_, kept) = written_and_kept(&run);
        assert!(kept > 0, "round {round}: pages kept");
        assert_eq!(
            same_site(&fresh(round), &without_health(snapshot(&site_dir(&s)))),
            Ok(()),
            "round {round}: the kept build differs from a build from nothing"
        );
    }

    // A damaged file of views is no views: the build reads every role.
    std::fs::write(&kept_views, b"air-demand role views 2\n\xff\xff").unwrap();
    s.run(&["site"]).expect(0);
    assert_eq!(
        same_site(&fresh(9), &without_health(snapshot(&site_dir(&s)))),
        Ok(())
    );

    // A file of kept list rows cut short: the rows not in it are made again.
    let kept_rows = s.path().join(".site.lists");
    let rows = std::fs::read(&kept_rows).expect("the list rows are kept beside the site");
    std::fs::write(&kept_rows, &rows[..rows.len() / 2]).unwrap();
    s.run(&["site"]).expect(0);
    assert_eq!(
        same_site(&fresh(10), &without_health(snapshot(&site_dir(&s)))),
        Ok(())
    );
}
