//! Careers pages (issue 27) through the binary against the simulator's
//! careers sites: schema.org JobPostings read in every published shape,
//! versions and changes like any role, removal only after a full read,
//! robots.txt obeyed and unchanged pages answered 304.

mod common;

use air_demand::sim::{CareersShape, Fault, Target, careers_posting};
use common::Sandbox;
use serde_json::json;

/// A sandbox following Acme's careers page on the simulator, `site`.
fn following(shape: CareersShape, postings: Vec<serde_json::Value>) -> Sandbox {
    let s = Sandbox::new();
    s.sim.set_careers("acme", shape, postings);
    s.follow(&format!(
        "[[companies]]\nname = \"Acme Robotics\"\ncareers = \"{}\"\n",
        s.sim.careers_url("acme")
    ));
    s
}

fn three() -> Vec<serde_json::Value> {
    vec![
        careers_posting(
            "p-1",
            "Staff Engineer",
            "New York, NY",
            Some((200_000, 250_000)),
        ),
        careers_posting("p-2", "Platform Engineer", "Remote", None),
        careers_posting("p-3", "Designer", "London", Some((90_000, 110_000))),
    ]
}

fn kinds(s: &Sandbox, role_id: &str) -> Vec<String> {
    s.strings(&format!(
        "select kind || coalesce(' ' || field, '') from changes where role_id = '{role_id}' order by id"
    ))
}

fn status(s: &Sandbox, role_id: &str) -> String {
    s.strings(&format!("select status from roles where id = '{role_id}'"))
        .pop()
        .unwrap_or_default()
}

fn last_errors(s: &Sandbox) -> String {
    s.strings("select status || ' ' || errors from runs order by id desc limit 1")
        .pop()
        .unwrap_or_default()
}

const P1: &str = "careers:127.0.0.1/p-1";

#[test]
fn every_published_shape_is_read() {
    for shape in [
        CareersShape::Single,
        CareersShape::Array,
        CareersShape::Graph,
        CareersShape::ItemList,
        CareersShape::Nested,
        CareersShape::Linked,
    ] {
        let s = following(shape, three());
        s.scrape().expect(0);
        assert_eq!(
            s.strings(
                "select id from roles where source = 'careers' and status = 'active' order by id"
            ),
            [P1, "careers:127.0.0.1/p-2", "careers:127.0.0.1/p-3"],
            "{shape:?}"
        );
        assert_eq!(
            s.strings(&format!(
                "select company || ' | ' || title || ' | ' || salary_min || '-' || salary_max || ' | ' || coalesce(tier, 'no tier') || ' | ' || substr(posted_at, 1, 10) from roles where id = '{P1}'"
            )),
            ["Acme Robotics | Staff Engineer | 200000-250000 | no tier | 2026-11-20"],
            "{shape:?}"
        );
        assert_eq!(last_errors(&s), "ok []", "{shape:?}");
    }
}

#[test]
fn a_posting_appears_changes_salary_and_title_disappears_and_comes_back() {
    let s = following(CareersShape::ItemList, three());
    s.scrape().expect(0);
    assert_eq!(kinds(&s, P1), ["NEW"]);
    let url = s.strings(&format!("select url from roles where id = '{P1}'"));
    assert_eq!(url, [format!("{}/jobs/p-1", s.sim.careers_url("acme"))]);
    // Remote is read from jobLocationType TELECOMMUTE.
    assert_eq!(
        s.strings("select json_extract(raw, '$.jobLocation') from roles where id = 'careers:127.0.0.1/p-2'"),
        ["[\"Remote\"]"]
    );

    s.sim.edit_careers("acme", |postings| {
        postings[0]["baseSalary"]["value"]["maxValue"] = json!(270_000);
        postings[0]["title"] = json!("Staff Platform Engineer");
    });
    s.scrape().expect(0);
    assert_eq!(
        kinds(&s, P1),
        ["NEW", "SALARY_INCREASE salary_max", "TITLE_CHANGE title"]
    );
    assert_eq!(
        s.count(&format!(
            "select count(*) from role_versions where role_id = '{P1}'"
        )),
        2
    );

    let removed = std::cell::RefCell::new(None);
    s.sim.edit_careers("acme", |postings| {
        *removed.borrow_mut() = Some(postings.remove(0));
    });
    s.scrape().expect(0);
    assert_eq!(status(&s, P1), "gone");
    assert_eq!(
        kinds(&s, P1).last().map(String::as_str),
        Some("DISAPPEARED status")
    );
    assert_eq!(
        s.count("select count(*) from roles where status = 'gone'"),
        1
    );

    s.sim.edit_careers("acme", |postings| {
        postings.push(removed.borrow_mut().take().unwrap());
    });
    s.scrape().expect(0);
    assert_eq!(status(&s, P1), "active");
    assert_eq!(
        kinds(&s, P1).last().map(String::as_str),
        Some("REAPPEARED status")
    );
}

#[test]
fn a_posting_past_its_valid_through_is_closed() {
    let s = following(CareersShape::Array, three());
    s.sim.edit_careers("acme", |postings| {
        postings[0]["validThrough"] = json!("2099-01-01");
        postings[1]["validThrough"] = json!("2020-01-01T00:00:00Z");
    });
    s.scrape().expect(0);
    // Already closed when first seen: never stored as open.
    assert_eq!(
        s.count("select count(*) from roles where id = 'careers:127.0.0.1/p-2'"),
        0
    );
    assert_eq!(status(&s, P1), "active");
    // Closed by its own date while the page still carries it.
    s.sim.edit_careers("acme", |postings| {
        postings[0]["validThrough"] = json!("2020-06-01");
    });
    s.scrape().expect(0);
    assert_eq!(status(&s, P1), "gone");
    assert_eq!(kinds(&s, P1), ["NEW", "DISAPPEARED status"]);
    assert_eq!(status(&s, "careers:127.0.0.1/p-3"), "active");
    // A page that still carries closed postings is still asked for
    // conditionally, and a 304 changes nothing.
    let not_modified = s.sim.careers_not_modified("/careers-sites/acme");
    s.scrape().expect(0);
    assert_eq!(
        s.sim.careers_not_modified("/careers-sites/acme"),
        not_modified + 1
    );
    assert_eq!(kinds(&s, P1), ["NEW", "DISAPPEARED status"]);
}

#[test]
fn a_posting_on_its_own_page_is_gone_only_when_unlinked_and_its_page_says_so() {
    let s = following(CareersShape::Linked, three());
    s.scrape().expect(0);
    assert_eq!(
        s.count("select count(*) from roles where source = 'careers' and status = 'active'"),
        3
    );
    // The page fails while still linked: kept, and the run says why.
    s.sim.inject(Target::Careers, Fault::Skip, 1);
    s.sim.inject(Target::Careers, Fault::ServerError, 3);
    s.scrape().expect(0);
    assert_eq!(status(&s, P1), "active");
    assert!(
        last_errors(&s).contains("its postings are kept"),
        "{}",
        last_errors(&s)
    );
    s.sim.clear_faults();

    // Unlinked and 404: gone.
    s.sim.edit_careers("acme", |postings| {
        postings.remove(0);
    });
    s.scrape().expect(0);
    assert_eq!(status(&s, P1), "gone");
    assert_eq!(kinds(&s, P1), ["NEW", "DISAPPEARED status"]);
    assert_eq!(
        s.count("select count(*) from roles where source = 'careers' and status = 'active'"),
        2
    );
    // A gone page is not asked about again.
    let asked = s.sim.careers_requests("/careers-sites/acme/jobs/p-1");
    s.scrape().expect(0);
    assert_eq!(
        s.sim.careers_requests("/careers-sites/acme/jobs/p-1"),
        asked
    );
}

#[test]
fn a_failing_empty_or_halved_careers_page_marks_nobody_gone() {
    let s = following(CareersShape::Graph, three());
    s.scrape().expect(0);

    s.sim.inject(Target::Careers, Fault::ServerError, 3);
    s.scrape().expect(3);
    assert!(
        last_errors(&s).starts_with("partial"),
        "{}",
        last_errors(&s)
    );
    assert!(
        last_errors(&s).contains("no role was marked gone"),
        "{}",
        last_errors(&s)
    );
    s.sim.clear_faults();

    s.sim.inject(Target::Careers, Fault::Html, 1);
    s.scrape().expect(3);
    assert!(
        last_errors(&s).contains("returned zero roles"),
        "{}",
        last_errors(&s)
    );

    s.sim.edit_careers("acme", |postings| postings.truncate(1));
    s.scrape().expect(3);
    assert!(
        last_errors(&s).contains("fewer than half"),
        "{}",
        last_errors(&s)
    );
    assert_eq!(
        s.count("select count(*) from roles where status = 'gone'"),
        0
    );
    assert_eq!(
        s.count("select count(*) from changes where kind = 'DISAPPEARED'"),
        0
    );
}

#[test]
fn malformed_json_ld_is_skipped_with_a_note() {
    let s = following(CareersShape::Single, three());
    s.sim.set_careers_malformed("acme", true);
    s.scrape().expect(0);
    assert_eq!(
        s.count("select count(*) from roles where source = 'careers' and status = 'active'"),
        3
    );
    let errors = last_errors(&s);
    assert!(errors.starts_with("ok"), "{errors}");
    assert!(errors.contains("is not valid JSON"), "{errors}");
}

#[test]
fn a_path_robots_txt_disallows_is_never_requested() {
    let s = following(CareersShape::Linked, three());
    s.sim
        .set_robots("User-agent: *\nDisallow: /careers-sites/acme/jobs/p-2\n");
    s.scrape().expect(0);
    assert_eq!(s.sim.careers_requests("/careers-sites/acme/jobs/p-2"), 0);
    assert_eq!(s.sim.careers_requests("/careers-sites/acme/jobs/p-1"), 1);
    assert_eq!(
        s.strings("select id from roles where source = 'careers' order by id"),
        [P1, "careers:127.0.0.1/p-3"]
    );
    assert!(
        last_errors(&s).contains("robots.txt disallows"),
        "{}",
        last_errors(&s)
    );

    // A careers page robots.txt disallows is not read at all.
    let s = following(CareersShape::Array, three());
    s.sim
        .set_robots("User-agent: air-demand\nDisallow: /careers-sites/\n");
    s.scrape().expect(3);
    assert_eq!(s.sim.careers_requests("/careers-sites/acme"), 0);
    assert!(last_errors(&s).contains("robots.txt disallows the careers page"));
}

#[test]
fn an_unchanged_careers_page_costs_one_conditional_request() {
    let s = following(CareersShape::ItemList, three());
    s.scrape().expect(0);
    let listing = "/careers-sites/acme";
    assert_eq!(s.sim.careers_requests(listing), 1);
    assert_eq!(s.sim.careers_requests("/robots.txt"), 1);
    s.scrape().expect(0);
    s.scrape().expect(0);
    // One request a run, each answered 304; robots.txt is kept for a day.
    assert_eq!(s.sim.careers_requests(listing), 3);
    assert_eq!(s.sim.careers_not_modified(listing), 2);
    assert_eq!(s.sim.careers_requests("/robots.txt"), 1);
    assert_eq!(
        s.count("select count(*) from roles where source = 'careers' and status = 'active'"),
        3
    );
    assert_eq!(
        s.count("select count(*) from changes where role_id like 'careers:%'"),
        3
    );
    // A change is read in full.
    s.sim.edit_careers("acme", |postings| {
        postings[2]["title"] = json!("Senior Designer");
    });
    s.scrape().expect(0);
    assert_eq!(s.sim.careers_not_modified(listing), 2);
    assert_eq!(
        kinds(&s, "careers:127.0.0.1/p-3"),
        ["NEW", "TITLE_CHANGE title"]
    );
}

#[test]
fn discover_reads_a_careers_page_and_writes_its_entry_when_asked() {
    let s = Sandbox::new();
    s.sim.set_careers("globex", CareersShape::Linked, three());
    s.follow("");
    let url = s.sim.careers_url("globex");
    s.run(&["companies", "discover", "--careers", &url])
        .expect(0)
        .stdout_has("3 open postings")
        .stdout_has("Staff Engineer")
        .stdout_has("nothing written");
    s.run(&[
        "companies",
        "discover",
        "--careers",
        &url,
        "--name",
        "Globex",
        "--write",
    ])
    .expect(0)
    .stdout_has("added Globex");
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    assert!(config.contains(&format!("careers = \"{url}\"")), "{config}");
    s.scrape().expect(0);
    assert_eq!(
        s.strings("select distinct company from roles where source = 'careers'"),
        ["Globex"]
    );
    // A page with no postings says so and writes nothing.
    s.sim.set_careers("empty", CareersShape::Array, Vec::new());
    s.run(&[
        "companies",
        "discover",
        "--careers",
        &s.sim.careers_url("empty"),
        "--write",
    ])
    .expect(0)
    .stdout_has("cannot be followed");
}

#[test]
fn a_careers_posting_shows_on_its_company_page_and_beside_the_paraform_role() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let row = s
        .strings("select id || char(9) || company || char(9) || title from roles where source = 'paraform' and status = 'active' and company is not null and title is not null order by id limit 1")
        .remove(0);
    let parts: Vec<&str> = row.split('\t').collect();
    let (id, company, title) = (parts[0], parts[1], parts[2]);
    s.sim.set_careers(
        "own",
        CareersShape::Linked,
        vec![
            careers_posting("same", title, "Remote", Some((111_000, 122_000))),
            careers_posting(
                "x-1",
                "Sales Lead <script>alert(1)</script>",
                "Remote",
                None,
            ),
        ],
    );
    s.follow(&format!(
        "[[companies]]\nname = \"{company}\"\ncareers = \"{}\"\n",
        s.sim.careers_url("own")
    ));
    s.run(&["scrape"]).expect(0);
    let read = |page: &str| std::fs::read_to_string(s.path().join("site").join(page)).unwrap();
    let role_page = read(&format!("roles/{}", air_demand::views::page_file(id)));
    assert!(
        role_page.contains("yes (its own posting says $111K–$122K)"),
        "{}",
        &role_page[role_page.find("own board").unwrap_or(0)..][..300.min(role_page.len())]
    );
    let company_page = std::fs::read_dir(s.path().join("site/companies"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .find(|page| page.contains("careers page: "))
        .expect("a company page naming its careers page");
    assert!(
        company_page.contains("Sales Lead &#60;script&#62;")
            || company_page.contains("Sales Lead &lt;script&gt;")
    );
    assert!(!company_page.contains("<script>alert(1)"));

    // Pulled from its careers site (unlinked, its page 410): the Paraform
    // page says since when.
    s.sim.set_careers_gone_status("own", 410);
    s.sim.edit_careers("own", |postings| {
        postings.remove(0);
    });
    s.run(&["scrape"]).expect(0);
    assert!(
        read(&format!("roles/{}", air_demand::views::page_file(id))).contains("no longer (since "),
        "the careers posting is gone"
    );
}

#[test]
fn robots_txt_that_cannot_be_read_stops_the_site_and_none_allows_everything() {
    let s = following(CareersShape::Array, three());
    s.scrape().expect(0);
    // A day later (its stored copy aged by hand) robots.txt is asked for
    // again; a site that cannot answer it (5xx) is not read this run, and
    // nobody is gone.
    let robots = s.sim.careers_requests("/robots.txt");
    s.sim.set_robots_status(503);
    s.db()
        .execute(
            "update careers_pages set checked_at = '2020-01-01T00:00:00Z' where url like '%/robots.txt'",
            [],
        )
        .unwrap();
    s.scrape().expect(3);
    assert!(s.sim.careers_requests("/robots.txt") > robots);
    assert_eq!(s.sim.careers_requests("/careers-sites/acme"), 1);
    assert!(
        last_errors(&s).contains("robots.txt could not be read"),
        "{}",
        last_errors(&s)
    );
    assert_eq!(
        s.count("select count(*) from roles where status = 'gone'"),
        0
    );
    // No robots.txt at all (404): everything is allowed.
    s.sim.set_robots_status(404);
    s.scrape().expect(0);
    assert_eq!(s.sim.careers_requests("/careers-sites/acme"), 2);
}

#[test]
fn the_digest_counts_careers_openings_and_a_pulled_posting_among_company_moves() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let row = s
        .strings("select company || char(9) || title from roles where source = 'paraform' and status = 'active' and company is not null and title is not null order by id limit 1")
        .remove(0);
    let (company, title) = row.split_once('\t').unwrap();
    s.sim.set_careers(
        "own",
        CareersShape::Graph,
        vec![careers_posting("same", title, "Remote", None)],
    );
    s.follow(&format!(
        "[[companies]]\nname = \"{company}\"\ncareers = \"{}\"\n\n[digest]\nto = [\"head@hunter.example\"]\nfrom = \"Air Demand <digest@demand.example.com>\"\ntransport = \"file\"\noutbox = \"outbox\"\n",
        s.sim.careers_url("own")
    ));
    s.scrape().expect(0);
    s.run(&["digest"]).expect(0);

    // Since that digest: three openings, and the Paraform role's own
    // posting taken off the careers page.
    s.sim.edit_careers("own", |postings| {
        postings.clear();
        for (i, title) in ["Platform Engineer", "Data Engineer", "Solutions Architect"]
            .iter()
            .enumerate()
        {
            postings.push(careers_posting(&format!("n-{i}"), title, "Remote", None));
        }
    });
    s.scrape().expect(0);
    s.run(&["digest", "--force", "--out", "second.eml"])
        .expect(0);
    let eml = std::fs::read_to_string(s.path().join("second.eml")).unwrap();
    let text = eml.replace("=\r\n", "").replace("=\n", "");
    let moves = &text[text.find("Company moves").expect("a Company moves section")..];
    assert!(
        moves.contains("opened 3 roles on its own board"),
        "{}",
        &moves[..600.min(moves.len())]
    );
    assert!(
        text.contains("pulled from the company"),
        "the pulled posting is not named"
    );
}

#[test]
fn an_unfollowed_careers_page_closes_its_postings_and_following_it_again_reopens_them() {
    let s = following(CareersShape::ItemList, three());
    s.scrape().expect(0);
    // The entry removed: its postings are closed as no longer followed.
    s.write_config("");
    s.follow("");
    s.scrape().expect(0);
    assert_eq!(kinds(&s, P1), ["NEW", "UNFOLLOWED status"]);
    assert_eq!(
        s.count("select count(*) from roles where source = 'careers' and status = 'active'"),
        0
    );
    // Followed again: the page unchanged, but asked for in full (its
    // stored copy names closed roles), and the postings simply active.
    s.write_config("");
    s.follow(&format!(
        "[[companies]]\nname = \"Acme Robotics\"\ncareers = \"{}\"\n",
        s.sim.careers_url("acme")
    ));
    let not_modified = s.sim.careers_not_modified("/careers-sites/acme");
    s.scrape().expect(0);
    assert_eq!(
        s.sim.careers_not_modified("/careers-sites/acme"),
        not_modified
    );
    assert_eq!(
        s.count("select count(*) from roles where source = 'careers' and status = 'active'"),
        3
    );
    assert_eq!(kinds(&s, P1), ["NEW", "UNFOLLOWED status"]);
}
