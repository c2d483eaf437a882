//! Company boards (issue 15) through the binary against the simulator's
//! Greenhouse, Lever and Ashby APIs: board roles are roles, with versions,
//! changes and the same removal safety, per board.

mod common;

use air_demand::fetch::boards::Kind;
use air_demand::sim::{Fault, Target, board_job};
use common::Sandbox;

const COMPANIES: &str = "[[companies]]\nname = \"Acme Robotics\"\nlever = \"acme\"\nashby = \"acme-ai\"\n\n[[companies]]\nname = \"Globex\"\ngreenhouse = \"globex\"\n";

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.follow(COMPANIES);
    s.sim.set_board(
        Kind::Lever,
        "acme",
        vec![
            board_job(
                Kind::Lever,
                "l-1",
                "Backend Engineer",
                "London",
                Some((150_000, 190_000)),
            ),
            board_job(Kind::Lever, "l-2", "ML Engineer", "Remote", None),
        ],
    );
    s.sim.set_board(
        Kind::Ashby,
        "acme-ai",
        vec![board_job(
            Kind::Ashby,
            "a-1",
            "Founding Engineer",
            "San Francisco",
            Some((180_000, 230_000)),
        )],
    );
    s.sim.set_board(
        Kind::Greenhouse,
        "globex",
        vec![board_job(
            Kind::Greenhouse,
            "g-1",
            "Staff Engineer",
            "New York, NY",
            None,
        )],
    );
    s
}

fn kinds(s: &Sandbox, role_id: &str) -> Vec<String> {
    s.strings(&format!(
        "select kind || coalesce(' ' || field, '') from changes where role_id = '{role_id}' order by id"
    ))
}

#[test]
fn a_board_role_appears_changes_salary_disappears_and_comes_back() {
    let s = sandbox();
    s.scrape().expect(0);
    let id = "lever:acme/l-1";
    assert_eq!(
        s.strings(&format!(
            "select source || ' ' || company || ' ' || title || ' ' || salary_min || '-' || salary_max || ' ' || coalesce(tier, 'no tier') from roles where id = '{id}'"
        )),
        ["lever Acme Robotics Backend Engineer 150000-190000 no tier"]
    );
    assert_eq!(
        s.count("select count(*) from roles where source = 'ashby'"),
        1
    );
    // Ids are `<source>:<board>/<job id>`; the external id is the part after the colon.
    assert_eq!(
        s.count("select count(*) from roles where source = 'greenhouse' and external_id like 'globex/%' and id = 'greenhouse:' || external_id"),
        1
    );
    assert_eq!(kinds(&s, id), ["NEW"]);

    s.sim.edit_board(Kind::Lever, "acme", |jobs| {
        jobs[0]["salaryRange"]["max"] = serde_json::json!(210_000);
    });
    s.scrape().expect(0);
    assert_eq!(kinds(&s, id), ["NEW", "SALARY_INCREASE salary_max"]);
    assert_eq!(
        s.count(&format!(
            "select count(*) from role_versions where role_id = '{id}'"
        )),
        2
    );

    let removed = std::cell::RefCell::new(None);
    s.sim.edit_board(Kind::Lever, "acme", |jobs| {
        *removed.borrow_mut() = Some(jobs.remove(0));
    });
    s.scrape().expect(0);
    assert_eq!(
        kinds(&s, id),
        ["NEW", "SALARY_INCREASE salary_max", "DISAPPEARED status"]
    );
    assert_eq!(
        s.strings(&format!("select status from roles where id = '{id}'")),
        ["gone"]
    );
    // The other board of the same company, and the other company, untouched.
    assert_eq!(
        s.count("select count(*) from roles where status = 'gone'"),
        1
    );

    s.sim.edit_board(Kind::Lever, "acme", |jobs| {
        jobs.push(removed.borrow_mut().take().unwrap());
    });
    s.scrape().expect(0);
    assert_eq!(
        kinds(&s, id),
        [
            "NEW",
            "SALARY_INCREASE salary_max",
            "DISAPPEARED status",
            "REAPPEARED status"
        ]
    );
    assert_eq!(
        s.strings(&format!("select status from roles where id = '{id}'")),
        ["active"]
    );
}

#[test]
fn a_failing_or_empty_board_marks_nobody_gone_and_says_so() {
    let s = sandbox();
    s.scrape().expect(0);
    let active = s.count("select count(*) from roles where status = 'active'");

    // Every board call fails (500 after the retry): the run is partial.
    s.sim.inject(Target::Board, Fault::ServerError, 100);
    s.scrape().expect(3);
    s.sim.clear_faults();
    assert_eq!(
        s.count("select count(*) from roles where status = 'active'"),
        active
    );
    let errors = s
        .strings("select errors from runs order by id desc limit 1")
        .remove(0);
    assert!(
        errors.contains("lever board acme") && errors.contains("no role was marked gone"),
        "{errors}"
    );

    // One board answers empty: its roles stay, and the run says why.
    s.sim.set_board(Kind::Lever, "acme", Vec::new());
    s.scrape().expect(3);
    assert_eq!(
        s.count("select count(*) from roles where status = 'active'"),
        active
    );
    let errors = s
        .strings("select errors from runs order by id desc limit 1")
        .remove(0);
    assert!(
        errors.contains("lever board acme returned zero roles; nobody was marked gone"),
        "{errors}"
    );

    // A cut-off answer is an error, not an empty board.
    s.sim.inject(Target::Board, Fault::Truncated, 100);
    s.scrape().expect(3);
    s.sim.clear_faults();
    assert_eq!(
        s.count("select count(*) from roles where status = 'active'"),
        active
    );
}

#[test]
fn a_board_with_no_openings_and_none_before_is_not_a_failure() {
    let s = Sandbox::new();
    s.follow("[[companies]]\nname = \"Quiet Co\"\nlever = \"quiet\"\n");
    s.sim.set_board(Kind::Lever, "quiet", Vec::new());
    s.scrape().expect(0);
    assert_eq!(
        s.strings("select errors from runs order by id desc limit 1"),
        ["[]"]
    );
}

#[test]
fn an_unknown_board_is_a_clear_error_and_paraform_goes_on() {
    let s = Sandbox::new();
    s.follow("[[companies]]\nname = \"Nobody\"\nashby = \"no-such-board\"\n");
    s.scrape().expect(3);
    let errors = s
        .strings("select errors from runs order by id desc limit 1")
        .remove(0);
    assert!(
        errors.contains("ashby board no-such-board") && errors.contains("no such board (HTTP 404)"),
        "{errors}"
    );
    assert!(s.count("select count(*) from roles where source = 'paraform'") > 0);
    assert!(
        s.count("select count(*) from roles where source = 'paraform' and tier is not null") > 0,
        "Paraform roles are still evaluated"
    );
}

/// A Paraform role of the sandbox's marketplace: (id, company, title).
fn paraform_role(s: &Sandbox) -> (String, String, String) {
    let row = s
        .strings("select id || char(9) || company || char(9) || title from roles where source = 'paraform' and status = 'active' and company is not null and title is not null order by id limit 1")
        .remove(0);
    let mut parts = row.split('\t').map(str::to_string);
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

fn read(s: &Sandbox, page: &str) -> String {
    std::fs::read_to_string(s.path().join("site").join(page)).unwrap()
}

#[test]
fn a_paraform_role_shows_whether_its_company_still_posts_it_on_its_own_board() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let (id, company, title) = paraform_role(&s);
    let page = format!("roles/{}", air_demand::views::page_file(&id));
    s.run(&["site"]).expect(0);
    assert!(
        read(&s, &page).contains("not followed"),
        "an unfollowed company"
    );

    // Followed, and the same role (title in other case) on its Ashby board
    // with a pay range of its own; plus two other openings.
    s.follow(&format!(
        "[[companies]]\nname = \"{company}\"\nashby = \"own\"\n"
    ));
    s.sim.set_board(
        Kind::Ashby,
        "own",
        vec![
            board_job(
                Kind::Ashby,
                "same",
                &title.to_uppercase(),
                "Remote",
                Some((111_000, 122_000)),
            ),
            board_job(
                Kind::Ashby,
                "x-1",
                "Sales Lead <script>alert(1)</script>",
                "Remote",
                None,
            ),
            board_job(Kind::Ashby, "x-2", "Designer", "Remote", None),
        ],
    );
    s.run(&["scrape"]).expect(0);
    let role_page = read(&s, &page);
    assert!(
        role_page.contains("On the company&#39;s own board")
            || role_page.contains("On the company's own board"),
        "no board line"
    );
    assert!(
        role_page.contains("yes (its own posting says $111K–$122K)"),
        "{}",
        &role_page[role_page.find("own board").unwrap_or(0)..][..300.min(role_page.len())]
    );
    let companies = read(&s, "companies.html");
    assert!(
        companies.contains(&company.replace('&', "&#38;")) || companies.contains(&company),
        "the company is listed"
    );
    assert!(
        !companies.contains("<script>alert(1)"),
        "board text is escaped"
    );
    assert!(
        s.path().join("site/companies").read_dir().unwrap().count() > 0,
        "company pages"
    );

    // Pulled from its own board: the Paraform page says since when.
    s.sim.edit_board(Kind::Ashby, "own", |jobs| {
        jobs.remove(0);
    });
    s.run(&["scrape"]).expect(0);
    assert!(
        read(&s, &page).contains("no longer (since "),
        "the board posting is gone"
    );
}

#[test]
fn the_digest_lists_a_company_that_opened_three_roles_and_a_pulled_posting() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let (_, company, title) = paraform_role(&s);
    s.follow(&format!(
        "[[companies]]\nname = \"{company}\"\nlever = \"own\"\n\n[digest]\nto = [\"head@hunter.example\"]\nfrom = \"Air Demand <digest@demand.example.com>\"\ntransport = \"file\"\noutbox = \"outbox\"\n"
    ));
    s.sim.set_board(
        Kind::Lever,
        "own",
        vec![board_job(Kind::Lever, "same", &title, "Remote", None)],
    );
    s.scrape().expect(0);
    s.run(&["digest"]).expect(0);

    // Since that digest: three openings, and the Paraform role's own posting pulled.
    s.sim.set_board(
        Kind::Lever,
        "own",
        ["Platform Engineer", "Data Engineer", "Solutions Architect"]
            .iter()
            .enumerate()
            .map(|(i, t)| board_job(Kind::Lever, &format!("n-{i}"), t, "Remote", None))
            .collect(),
    );
    // Four roles listed against one before: the board is complete, so the
    // pulled posting counts as gone.
    s.scrape().expect(0);
    s.run(&["digest", "--force", "--out", "second.eml"])
        .expect(0);
    let eml = std::fs::read_to_string(s.path().join("second.eml")).unwrap();
    let text = eml.replace("=\r\n", "").replace("=\n", "");
    assert!(text.contains("Company moves"), "no Company moves section");
    let moves = &text[text.find("Company moves").unwrap()..];
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
fn discover_proposes_boards_by_slug_and_writes_only_when_asked() {
    let s = Sandbox::new();
    s.follow("");
    s.scrape().expect(0);
    let (_, company, _) = paraform_role(&s);
    let slug = air_demand::discover::slugs(&company).remove(0);
    s.sim.set_board(
        Kind::Greenhouse,
        &slug,
        vec![board_job(
            Kind::Greenhouse,
            "g-1",
            "Staff Engineer",
            "Remote",
            None,
        )],
    );
    let before = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    let run = s
        .run(&["companies", "discover", "--limit", "100"])
        .expect(0)
        .stdout_has(&format!("greenhouse = \"{slug}\" (1 open role)"))
        .stdout_has("nothing written");
    assert!(
        run.stdout().contains("found boards for 1"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap(),
        before,
        "the config was written without --write"
    );
    s.run(&["companies", "discover", "--write", "--limit", "100"])
        .expect(0)
        .stdout_has("added 1 company to");
    let after = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    assert!(
        after.starts_with(&before),
        "the config's text (and comments) kept"
    );
    assert!(after.contains(&format!("greenhouse = \"{slug}\"")));
    // The next scrape follows it; and a second discover skips it.
    s.scrape().expect(0);
    assert_eq!(
        s.count(&format!(
            "select count(*) from roles where id like 'greenhouse:{slug}/%'"
        )),
        1
    );
    s.run(&["companies", "discover", "--limit", "100"])
        .expect(0)
        .stdout_has("found boards for 0");
}

#[test]
fn a_rate_limited_or_slow_board_is_retried_and_read() {
    let s = sandbox();
    // One 429 (Retry-After 0) and one slow answer: retried, then read whole.
    s.sim.inject(
        Target::Board,
        Fault::RateLimited {
            retry_after_secs: 0,
        },
        1,
    );
    s.sim.inject(Target::Board, Fault::Slow { millis: 50 }, 1);
    s.scrape().expect(0);
    assert_eq!(
        s.count("select count(*) from roles where source in ('greenhouse', 'lever', 'ashby')"),
        4
    );
    assert!(
        s.sim.board_requests(Kind::Lever, "acme") >= 2,
        "the 429 was retried"
    );
}

/// Replaces `from` (once, and it must be there) in the sandbox's config.
fn edit_config(s: &Sandbox, from: &str, to: &str) {
    let path = s.path().join("air-demand.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} is not in the config");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The "Open on its board" cell of a company's row on the Companies page.
fn open_on_its_board(s: &Sandbox, company: &str) -> String {
    let page = read(s, "companies.html");
    let row = page
        .split("<tr>")
        .find(|row| row.contains(&format!(">{company}</a></td>")))
        .unwrap_or_else(|| panic!("{company} is not on the Companies page"));
    let cell = row.split("<td").nth(4).unwrap();
    let text = &cell[cell.find('>').unwrap() + 1..];
    text[..text.find("</td>").unwrap()].to_string()
}

const OPEN_ON_BOARDS: &str =
    "select count(*) from roles where source != 'paraform' and status = 'active'";

#[test]
fn a_board_name_in_another_case_is_the_same_board() {
    let s = sandbox();
    s.run(&["scrape"]).expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 4);
    assert_eq!(open_on_its_board(&s, "Acme Robotics"), "3");

    edit_config(&s, "lever = \"acme\"", "lever = \"Acme\"");
    edit_config(&s, "greenhouse = \"globex\"", "greenhouse = \"GLOBEX\"");
    s.run(&["scrape"]).expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 4, "no role opened twice");
    assert_eq!(
        s.count("select count(*) from roles where source != 'paraform'"),
        4
    );
    assert_eq!(
        s.strings(
            "select kind || ' ' || count(*) from changes where role_id not like 'paraform:%' group by kind"
        ),
        ["NEW 4"],
        "nothing opened, closed or unfollowed"
    );
    assert_eq!(open_on_its_board(&s, "Acme Robotics"), "3");
    assert_eq!(open_on_its_board(&s, "Globex"), "1");

    // A database from before board names were read in lower case holds
    // `lever:Acme/l-1`: it is the same role, kept under its id.
    let db = s.db();
    db.execute_batch(
        "PRAGMA foreign_keys = OFF;
         UPDATE role_rows SET id = 'lever:Acme/l-1', external_id = 'Acme/l-1' WHERE id = 'lever:acme/l-1';
         UPDATE role_seen SET role_id = 'lever:Acme/l-1' WHERE role_id = 'lever:acme/l-1';
         UPDATE role_version_data SET role_id = 'lever:Acme/l-1' WHERE role_id = 'lever:acme/l-1';
         UPDATE changes SET role_id = 'lever:Acme/l-1' WHERE role_id = 'lever:acme/l-1';",
    )
    .unwrap();
    drop(db);
    s.sim.edit_board(Kind::Lever, "acme", |jobs| {
        jobs[0]["salaryRange"]["max"] = serde_json::json!(210_000);
    });
    s.run(&["scrape"]).expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 4);
    assert_eq!(
        kinds(&s, "lever:Acme/l-1"),
        ["NEW", "SALARY_INCREASE salary_max"]
    );
    assert_eq!(
        s.count("select count(*) from roles where id = 'lever:acme/l-1'"),
        0,
        "not opened again under the new spelling"
    );
}

#[test]
fn the_roles_of_a_board_no_longer_followed_are_closed_as_unfollowed() {
    let s = sandbox();
    s.run(&["scrape"]).expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 4);

    // Acme's Ashby board and the whole of Globex are no longer followed.
    edit_config(&s, "ashby = \"acme-ai\"\n", "");
    edit_config(
        &s,
        "[[companies]]\nname = \"Globex\"\ngreenhouse = \"globex\"\n",
        "",
    );
    s.run(&["scrape"]).expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 2, "only Acme's Lever roles");
    let globex = s
        .strings("select id from roles where id like 'greenhouse:globex/%'")
        .remove(0);
    for id in ["ashby:acme-ai/a-1", globex.as_str()] {
        assert_eq!(kinds(&s, id), ["NEW", "UNFOLLOWED status"], "{id}");
        assert_eq!(
            s.strings(&format!("select status from roles where id = '{id}'")),
            ["gone"]
        );
    }
    assert_eq!(
        s.count("select count(*) from changes where kind = 'DISAPPEARED'"),
        0
    );
    assert_eq!(
        s.strings("select roles_gone || ' ' || status from runs order by id desc limit 1"),
        ["0 ok"],
        "not counted as gone"
    );
    assert_eq!(open_on_its_board(&s, "Acme Robotics"), "2");
    let page = format!(
        "companies/{}",
        air_demand::views::page_file("company:acme robotics")
    );
    let acme = read(&s, &page);
    assert!(acme.contains("no longer followed since"), "{acme}");
    assert!(!acme.contains(">gone "), "not called gone");
    let role_page = read(
        &s,
        &format!(
            "roles/{}",
            air_demand::views::page_file("ashby:acme-ai/a-1")
        ),
    );
    assert!(role_page.contains("NO LONGER FOLLOWED") && !role_page.contains(">GONE<"));

    // A quiet run changes nothing more; following again brings them back
    // as they were, active, without calling them new or back.
    s.run(&["scrape"]).expect(0);
    assert_eq!(
        s.count("select count(*) from changes where kind = 'UNFOLLOWED'"),
        2
    );
    edit_config(
        &s,
        "lever = \"acme\"\n",
        "lever = \"acme\"\nashby = \"acme-ai\"\n",
    );
    s.run(&["scrape"]).expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 3);
    assert_eq!(kinds(&s, "ashby:acme-ai/a-1"), ["NEW", "UNFOLLOWED status"]);
    assert_eq!(
        s.strings("select roles_new || ' ' || roles_reappeared from runs order by id desc limit 1"),
        ["0 0"]
    );
    assert_eq!(open_on_its_board(&s, "Acme Robotics"), "3");

    // Turning the boards off follows none of them.
    edit_config(&s, "[boards]\n", "[boards]\nenabled = false\n");
    s.run(&["scrape"]).expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 0);
    assert_eq!(
        s.count("select count(*) from changes where kind = 'DISAPPEARED'"),
        0
    );
}

#[test]
fn discover_writes_the_good_proposals_through_the_symlink_keeping_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    s.follow("");
    s.scrape().expect(0);
    // Four Paraform companies: two spellings of one, one whose board name
    // would be too long, and a good one.
    let long = format!("Very{}", "long".repeat(30));
    let names = [
        "Acme Robotics",
        "Acme Robotics, Inc.",
        long.as_str(),
        "Globex Labs",
    ];
    let ids = s.strings("select external_id from roles where source = 'paraform' and status = 'active' order by id limit 4");
    for (id, name) in ids.iter().zip(names) {
        s.sim
            .edit_role(id, |role| role["company"]["name"] = serde_json::json!(name));
    }
    s.scrape().expect(0);
    let job = |kind| vec![board_job(kind, "j-1", "Staff Engineer", "Remote", None)];
    s.sim
        .set_board(Kind::Greenhouse, "acmerobotics", job(Kind::Greenhouse));
    s.sim
        .set_board(Kind::Lever, &long.to_lowercase(), job(Kind::Lever));
    s.sim.set_board(Kind::Ashby, "globexlabs", job(Kind::Ashby));

    // The config is a symlink to a file of mode 0640 elsewhere.
    let real = s.path().join("etc").join("air-demand.toml");
    std::fs::create_dir(real.parent().unwrap()).unwrap();
    let link = s.path().join("air-demand.toml");
    std::fs::rename(&link, &real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let before = std::fs::read_to_string(&real).unwrap();

    let run = s
        .run(&["companies", "discover", "--write", "--limit", "1000"])
        .expect(0)
        .stdout_has("skipped Acme Robotics, Inc.: another spelling")
        .stdout_has("is not a board name")
        .stdout_has("added 2 companies to");
    assert!(
        run.stdout().matches("skipped ").count() == 2,
        "{}",
        run.stdout()
    );
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let after = std::fs::read_to_string(&real).unwrap();
    assert!(after.starts_with(&before), "the config's text kept");
    assert!(after.contains("name = \"Acme Robotics\"\ngreenhouse = \"acmerobotics\""));
    assert!(after.contains("name = \"Globex Labs\"\nashby = \"globexlabs\""));
    assert!(!after.contains("Inc.") && !after.contains("Verylong"));
    // And it reads: the next scrape follows both.
    s.scrape().expect(0);
    assert_eq!(s.count(OPEN_ON_BOARDS), 2);
}

/// A loopback port nobody listens on: connecting is refused at once.
fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// Runs the binary in the sandbox, failing the test if it is still running
/// after a generous hang guard (a loaded machine is slow, not wrong: the
/// assertions are on what it said, never on how long it took).
fn run_guarded(s: &Sandbox, args: &[&str]) -> common::Run {
    use std::time::{Duration, Instant};
    const HANG_GUARD: Duration = Duration::from_secs(300);
    let mut child = common::command_in(s.path(), args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("air-demand {args:?} still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    common::Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        output: child.wait_with_output().unwrap(),
    }
}

#[test]
fn discover_without_the_network_says_so_once_per_api_and_skips_what_is_followed() {
    let s = Sandbox::new();
    s.scrape().expect(0);
    let companies = s.strings(
        "select distinct company from roles where source = 'paraform' and status = 'active' order by company",
    );
    assert!(companies.len() >= 5, "{companies:?}");
    // Greenhouse answers (the simulator); Lever and Ashby cannot be reached.
    // The retry settings are the defaults: a connection failure must not
    // use them, per slug or at all.
    let followed = &companies[0];
    let followed_slug = air_demand::discover::slugs(followed).remove(0);
    let other = &companies[1];
    let other_slug = air_demand::discover::slugs(other).remove(0);
    s.sim.set_board(
        Kind::Greenhouse,
        &other_slug,
        vec![board_job(
            Kind::Greenhouse,
            "g-1",
            "Staff Engineer",
            "Remote",
            None,
        )],
    );
    let config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    s.write_file(
        "air-demand.toml",
        &format!(
            "{config}\n[boards]\n{}lever_url = \"{}\"\nashby_url = \"{}\"\nrequest_delay_ms = 0\n\n\
             [[companies]]\nname = \"Someone Else\"\ngreenhouse = \"{followed_slug}\"\n",
            // Every API at the simulator but Lever's and Ashby's.
            s.sim
                .board_urls_toml()
                .lines()
                .filter(|l| !l.starts_with("lever_url") && !l.starts_with("ashby_url"))
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
            closed_port_url(),
            closed_port_url()
        ),
    );
    let run = run_guarded(&s, &["companies", "discover", "--limit", "100"])
        .expect(0)
        .stdout_has(&format!("greenhouse = \"{other_slug}\" (1 open role)"));
    let out = run.stdout();
    let failures: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("could not ask: "))
        .collect();
    assert_eq!(failures.len(), 2, "one line per unreachable API\n{out}");
    for (line, api) in failures.iter().zip(["Lever", "Ashby"]) {
        assert!(
            line.starts_with(&format!("could not ask: {api} (not asked again this run)")),
            "{out}"
        );
        assert!(line.contains("after 1 attempt;"), "retried: {line}");
    }
    // Every company was asked of Greenhouse, except the board already followed.
    assert_eq!(
        s.sim.board_requests(Kind::Greenhouse, &followed_slug),
        0,
        "{out}"
    );
    assert!(s.sim.board_requests(Kind::Greenhouse, &other_slug) >= 1);
    let last = &companies[companies.len() - 1];
    let last_slug = air_demand::discover::slugs(last).remove(0);
    assert_eq!(
        s.sim.board_requests(Kind::Greenhouse, &last_slug),
        1,
        "{out}"
    );

    // Nothing reachable at all: each API said once, and a failure.
    let mut config = std::fs::read_to_string(s.path().join("air-demand.toml")).unwrap();
    for line in s.sim.board_urls_toml().lines() {
        let key = line.split(" = ").next().unwrap();
        let closed = if key == "recruitee_url" {
            format!("{}/{{company}}", closed_port_url())
        } else {
            closed_port_url()
        };
        config = config.replace(line, &format!("{key} = \"{closed}\""));
    }
    s.write_file("air-demand.toml", &config);
    let requests_before = s.sim.board_requests(Kind::Greenhouse, &other_slug);
    let run = run_guarded(&s, &["companies", "discover", "--limit", "100"])
        .expect(1)
        .stderr_has("could not reach any board API");
    let out = run.stdout();
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("could not ask: "))
            .count(),
        Kind::ALL.len(),
        "{out}"
    );
    assert_eq!(run.stderr().trim().lines().count(), 1, "{}", run.stderr());
    assert_eq!(
        s.sim.board_requests(Kind::Greenhouse, &other_slug),
        requests_before
    );
}

/// Workable, SmartRecruiters and Recruitee boards: each a role store like
/// the first three. A posting appears, is renamed (TITLE_CHANGE), moves or
/// changes pay, goes and comes back; ids are `<source>:<board>/<job id>`
/// (Workable's `shortcode`).
#[test]
fn workable_smartrecruiters_and_recruitee_boards_are_followed_like_the_others() {
    let s = Sandbox::new();
    s.follow(
        "[[companies]]\nname = \"Initech\"\nworkable = \"initech\"\n\n\
         [[companies]]\nname = \"Hooli\"\nsmartrecruiters = \"Hooli\"\n\n\
         [[companies]]\nname = \"Umbrella\"\nrecruitee = \"umbrella\"\n",
    );
    let boards = [
        (Kind::Workable, "initech"),
        (Kind::SmartRecruiters, "hooli"),
        (Kind::Recruitee, "umbrella"),
    ];
    for (kind, board) in boards {
        s.sim.set_board(
            kind,
            board,
            vec![
                board_job(
                    kind,
                    &format!("{}-1", &kind.source()[..1]),
                    "Backend Engineer",
                    "London",
                    Some((150_000, 190_000)),
                ),
                board_job(
                    kind,
                    &format!("{}-2", &kind.source()[..1]),
                    "Designer",
                    "Remote",
                    None,
                ),
            ],
        );
    }
    s.scrape().expect(0);
    for (kind, _) in boards {
        assert_eq!(
            s.count(&format!(
                "select count(*) from roles where source = '{}' and status = 'active' and tier is null",
                kind.source()
            )),
            2,
            "{kind:?}"
        );
    }
    assert_eq!(
        s.strings("select company || ' ' || title || ' ' || coalesce(url, '') from roles where id = 'workable:initech/w-1'"),
        ["Initech Backend Engineer https://apply.workable.com/j/w-1"]
    );
    // The configured name is read without regard to case, as the API does.
    assert_eq!(
        s.count("select count(*) from roles where id = 'smartrecruiters:hooli/s-1'"),
        1
    );
    // Recruitee's id is its numeric `id`; its pay range is read, by the year.
    let recruitee = s
        .strings("select id from roles where source = 'recruitee' and title = 'Backend Engineer'")
        .remove(0);
    assert!(recruitee.starts_with("recruitee:umbrella/"), "{recruitee}");
    assert_eq!(
        s.strings(&format!(
            "select salary_min || '-' || salary_max from roles where id = '{recruitee}'"
        )),
        ["150000-190000"]
    );
    let ids = [
        "workable:initech/w-1".to_string(),
        "smartrecruiters:hooli/s-1".to_string(),
        recruitee.clone(),
    ];

    // Renamed and moved.
    for (kind, board) in boards {
        s.sim.edit_board(kind, board, |jobs| {
            let (title, place) = match kind {
                Kind::SmartRecruiters => ("name", "/location/fullLocation"),
                _ => ("title", ""),
            };
            jobs[0][title] = serde_json::json!("Senior Backend Engineer");
            match kind {
                Kind::Workable => jobs[0]["locations"][0]["city"] = serde_json::json!("Berlin"),
                Kind::SmartRecruiters => {
                    *jobs[0].pointer_mut(place).unwrap() = serde_json::json!("Berlin, Germany")
                }
                _ => jobs[0]["salary"]["max"] = serde_json::json!("210000"),
            }
        });
    }
    s.scrape().expect(0);
    assert_eq!(
        kinds(&s, &ids[0]),
        ["NEW", "LOCATION_CHANGE locations", "TITLE_CHANGE title"]
    );
    assert_eq!(
        kinds(&s, &ids[1]),
        ["NEW", "LOCATION_CHANGE locations", "TITLE_CHANGE title"]
    );
    assert_eq!(
        kinds(&s, &ids[2]),
        ["NEW", "SALARY_INCREASE salary_max", "TITLE_CHANGE title"]
    );

    // Gone from each board, and back.
    let removed = std::cell::RefCell::new(Vec::new());
    for (kind, board) in boards {
        s.sim.edit_board(kind, board, |jobs| {
            removed.borrow_mut().push(jobs.remove(0))
        });
    }
    s.scrape().expect(0);
    for id in &ids {
        assert_eq!(
            kinds(&s, id).last().map(String::as_str),
            Some("DISAPPEARED status"),
            "{id}"
        );
    }
    for ((kind, board), job) in boards.iter().zip(removed.borrow_mut().drain(..)) {
        s.sim.edit_board(*kind, board, |jobs| jobs.push(job));
    }
    s.scrape().expect(0);
    for id in &ids {
        assert_eq!(
            kinds(&s, id).last().map(String::as_str),
            Some("REAPPEARED status"),
            "{id}"
        );
    }

    // A failing, a halved and an empty listing: nobody is marked gone.
    for (kind, board) in boards {
        s.sim.edit_board(kind, board, |jobs| {
            for i in 3..7 {
                let mut more = jobs[0].clone();
                let id = format!("{}-{i}", &kind.source()[..1]);
                match kind {
                    Kind::Workable => more["shortcode"] = serde_json::json!(id),
                    Kind::Recruitee => more["id"] = serde_json::json!(9_000 + i),
                    _ => more["id"] = serde_json::json!(id),
                }
                jobs.push(more);
            }
        });
    }
    s.scrape().expect(0);
    let active =
        s.count("select count(*) from roles where status = 'active' and source <> 'paraform'");
    s.sim.inject(Target::Board, Fault::ServerError, 100);
    s.scrape().expect(3);
    s.sim.clear_faults();
    for (kind, board) in boards {
        s.sim.edit_board(kind, board, |jobs| jobs.truncate(2));
    }
    s.scrape().expect(3);
    // The last run's errors name each board, saying `what` of it.
    let each_board_says = |what: &str| {
        let errors = s
            .strings("select errors from runs order by id desc limit 1")
            .remove(0);
        for (kind, board) in boards {
            let line = format!("{} board {board} {what}", kind.source());
            assert!(errors.contains(&line), "{errors}");
        }
    };
    each_board_says("returned 2 roles, fewer than half of the 6 active before");
    for (kind, board) in boards {
        s.sim.set_board(kind, board, Vec::new());
    }
    s.scrape().expect(3);
    assert_eq!(
        s.count("select count(*) from roles where status = 'active' and source <> 'paraform'"),
        active
    );
    each_board_says("returned zero roles");
}

/// SmartRecruiters answers 100 postings a page: a board of 250 is read in
/// three pages, and every posting is a role.
#[test]
fn a_smartrecruiters_board_is_read_page_by_page() {
    let s = Sandbox::new();
    s.follow("[[companies]]\nname = \"Hooli\"\nsmartrecruiters = \"hooli\"\n");
    s.sim.set_board(
        Kind::SmartRecruiters,
        "hooli",
        (0..250)
            .map(|i| {
                board_job(
                    Kind::SmartRecruiters,
                    &format!("s-{i}"),
                    "Engineer",
                    "London",
                    None,
                )
            })
            .collect(),
    );
    s.scrape().expect(0);
    assert_eq!(
        s.count(
            "select count(*) from roles where source = 'smartrecruiters' and status = 'active'"
        ),
        250
    );
    assert_eq!(s.sim.board_requests(Kind::SmartRecruiters, "hooli"), 3);
}
