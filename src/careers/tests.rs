//! JSON-LD shapes as careers pages publish them, written by hand from
//! schema.org's `JobPosting` and Google's job-posting structured-data
//! documentation (its examples' fields and nesting), and `robots.txt` rules
//! as RFC 9309 describes them.

use super::*;

const PAGE: &str = "https://acme.example/careers";

fn page_with(blocks: &[&str], body: &str) -> String {
    let scripts: String = blocks
        .iter()
        .map(|b| format!("<script type=\"application/ld+json\">{b}</script>\n"))
        .collect();
    format!(
        "<!DOCTYPE html><html><head><title>Careers</title>{scripts}</head><body>{body}</body></html>"
    )
}

/// Google's example, nearly as published: identifier as a PropertyValue,
/// one Place with a PostalAddress, pay by the hour, HTML in the description.
const GOOGLE: &str = r#"{
  "@context" : "https://schema.org/",
  "@type" : "JobPosting",
  "title" : "Software Engineer",
  "description" : "<p>Google aspires to be an organization that reflects the globally diverse audience that our products and technology serve.</p><p>We believe in <b>balance</b>.</p>",
  "identifier": {
    "@type": "PropertyValue",
    "name": "Google",
    "value": "1234567"
  },
  "datePosted" : "2017-01-18",
  "validThrough" : "2017-03-18T00:00",
  "employmentType" : "CONTRACTOR",
  "hiringOrganization" : {
    "@type" : "Organization",
    "name" : "Google",
    "sameAs" : "https://www.google.com",
    "logo" : "https://www.example.com/images/logo.png"
  },
  "jobLocation": {
  "@type": "Place",
    "address": {
    "@type": "PostalAddress",
    "streetAddress": "1600 Amphitheatre Pkwy",
    "addressLocality": "Mountain View",
    "addressRegion": "CA",
    "postalCode": "94043",
    "addressCountry": "US"
    }
  },
  "baseSalary": {
    "@type": "MonetaryAmount",
    "currency": "USD",
    "value": {
      "@type": "QuantitativeValue",
      "value": 40.00,
      "unitText": "HOUR"
    }
  }
}"#;

#[test]
fn reads_a_single_posting_as_google_documents_it() {
    let page = read_page(&page_with(&[GOOGLE], ""), PAGE, None);
    assert_eq!(page.notes, Vec::<String>::new());
    assert_eq!(page.postings.len(), 1);
    let p = &page.postings[0];
    assert_eq!(p.id, "1234567");
    assert_eq!(p.title.as_deref(), Some("Software Engineer"));
    // No `url`: the page it was read from.
    assert_eq!(p.url, PAGE);
    assert_eq!(p.date_posted.as_deref(), Some("2017-01-18"));
    assert_eq!(p.valid_through.as_deref(), Some("2017-03-18T00:00"));
    assert_eq!(p.employment_type.as_deref(), Some("CONTRACTOR"));
    assert_eq!(p.locations, ["Mountain View, CA, US"]);
    assert!(!p.remote);
    assert_eq!(p.hiring_organization.as_deref(), Some("Google"));
    let salary = p.salary.as_ref().unwrap();
    assert_eq!(
        (salary.value, salary.unit.as_deref()),
        (Some(40.0), Some("HOUR"))
    );
    // $40 an hour is $83,200 a year, for comparing; stored as given.
    assert_eq!(salary.yearly(), (Some(83_200), Some(83_200)));
    assert_eq!(p.to_json()["baseSalary"]["value"], 40.0);
    let description = p.description.as_deref().unwrap();
    assert!(description.starts_with("Google aspires"), "{description}");
    assert!(!description.contains('<'), "{description}");
}

#[test]
fn reads_arrays_graphs_item_lists_and_nested_postings() {
    let posting = |id: &str, title: &str| {
        format!(
            r#"{{"@type": "JobPosting", "title": "{title}", "identifier": "{id}", "url": "/careers/{id}"}}"#
        )
    };
    let array = format!(
        "[{}, {}]",
        posting("a1", "Backend"),
        posting("a2", "Frontend")
    );
    let graph = format!(
        r#"{{"@context": "https://schema.org", "@graph": [{{"@type": "Organization", "name": "Acme"}}, {{"@type": "WebSite", "url": "https://acme.example"}}, {}]}}"#,
        posting("g1", "Data")
    );
    let item_list = format!(
        r#"{{"@context": "https://schema.org", "@type": "ItemList", "itemListElement": [
            {{"@type": "ListItem", "position": 1, "item": {}}},
            {{"@type": "ListItem", "position": 2, "item": {}}},
            {}]}}"#,
        posting("l1", "SRE"),
        posting("l2", "Security"),
        posting("l3", "Platform")
    );
    let nested = format!(
        r#"{{"@type": "WebPage", "mainEntity": {{"@type": "Organization", "name": "Acme", "hasJobPosting": [{}]}}}}"#,
        posting("n1", "ML")
    );
    // The type as a list, or with schema.org's prefixes.
    let typed = r#"[{"@type": ["JobPosting"], "title": "T1", "identifier": 7},
                    {"@type": "schema:JobPosting", "title": "T2", "identifier": {"@type": "PropertyValue", "value": 8}},
                    {"@type": "http://schema.org/JobPosting", "title": "T3", "url": "https://acme.example/careers/t3?ref=x"}]"#;
    let page = read_page(
        &page_with(&[&array, &graph, &item_list, &nested, typed], ""),
        PAGE,
        None,
    );
    assert_eq!(page.notes, Vec::<String>::new());
    let ids: Vec<&str> = page.postings.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "a1",
            "a2",
            "g1",
            "l1",
            "l2",
            "l3",
            "n1",
            "7",
            "8",
            "careers/t3"
        ]
    );
    assert_eq!(page.postings[0].url, "https://acme.example/careers/a1");
    assert_eq!(page.postings[6].title.as_deref(), Some("ML"));
}

#[test]
fn places_remote_work_salaries_and_types_in_their_several_spellings() {
    let block = r#"{"@context": "https://schema.org", "@type": "JobPosting",
        "title": "  Staff\nEngineer\u0007 ", "identifier": "s-1",
        "employmentType": ["FULL_TIME", "CONTRACTOR"],
        "jobLocation": [
            {"@type": "Place", "address": {"@type": "PostalAddress", "addressLocality": "Brooklyn", "addressRegion": "NY", "addressCountry": {"@type": "Country", "name": "US"}}},
            {"@type": "Place", "address": {"@type": "PostalAddress", "addressLocality": "London", "addressCountry": "GB"}},
            {"@type": "Place", "address": "Berlin, Germany"},
            {"@type": "Place", "name": "Head office"}
        ],
        "jobLocationType": "TELECOMMUTE",
        "applicantLocationRequirements": {"@type": "Country", "name": "USA"},
        "baseSalary": {"@type": "MonetaryAmount", "currency": "USD",
            "value": {"@type": "QuantitativeValue", "minValue": "12,500", "maxValue": 15000, "unitText": "MONTH"}}}"#;
    let page = read_page(&page_with(&[block], ""), PAGE, None);
    let p = &page.postings[0];
    assert_eq!(p.title.as_deref(), Some("Staff Engineer"));
    assert_eq!(p.employment_type.as_deref(), Some("FULL_TIME, CONTRACTOR"));
    assert_eq!(
        p.locations,
        [
            "Brooklyn, NY, US",
            "London, GB",
            "Berlin, Germany",
            "Head office",
            "Remote"
        ]
    );
    assert!(p.remote);
    let salary = p.salary.as_ref().unwrap();
    assert_eq!((salary.min, salary.max), (Some(12_500.0), Some(15_000.0)));
    assert_eq!(salary.yearly(), (Some(150_000), Some(180_000)));
    // A unit that is no period: no yearly figure.
    let odd = Salary {
        unit: Some("PIECE".into()),
        ..salary.clone()
    };
    assert_eq!(odd.yearly(), (None, None));
    // A plain number as the amount, a year by default.
    let plain = r#"{"@type": "JobPosting", "identifier": "p", "baseSalary": {"@type": "MonetaryAmount", "currency": "EUR", "value": 90000}}"#;
    let page = read_page(&page_with(&[plain], ""), PAGE, None);
    assert_eq!(
        page.postings[0].salary.as_ref().unwrap().yearly(),
        (Some(90_000), Some(90_000))
    );
}

#[test]
fn a_malformed_block_is_skipped_with_a_note_and_the_others_read() {
    let blocks = [
        r#"{"@type": "JobPosting", "identifier": "ok-1", "title": "Kept"}"#,
        r#"{"@type": "JobPosting", "identifier": "broken", "title": "#,
        r#"<!-- {"@type": "JobPosting", "identifier": "ok-2", "title": "In a comment"} -->"#,
        r#"{"@type": "JobPosting", "title": "No id and no url"}"#,
        r#"{"@type": "Organization", "name": "Acme"}"#,
    ];
    let page = read_page(&page_with(&blocks, ""), PAGE, None);
    let ids: Vec<&str> = page.postings.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["ok-1", "ok-2"]);
    assert_eq!(page.notes.len(), 2, "{:?}", page.notes);
    assert!(
        page.notes[0].starts_with("JSON-LD block 2 is not valid JSON"),
        "{:?}",
        page.notes
    );
    assert!(
        page.notes[1].contains("neither an identifier nor a URL"),
        "{:?}",
        page.notes
    );
    // Other script types are not read.
    let other = "<script type=\"application/json\">{\"@type\": \"JobPosting\", \"identifier\": \"x\"}</script>";
    assert!(
        read_page(&page_with(&[], other), PAGE, None)
            .postings
            .is_empty()
    );
}

#[test]
fn hostile_blocks_are_bounded() {
    // Nested far deeper than a page would: walked to a bound, not through.
    let deep = format!(
        "{}{{\"@type\": \"JobPosting\", \"identifier\": \"deep\"}}{}",
        "{\"a\": ".repeat(100),
        "}".repeat(100)
    );
    let page = read_page(&page_with(&[&deep], ""), PAGE, None);
    assert!(page.postings.is_empty());
    // Too many blocks: the first MAX_BLOCKS read, a note for the rest.
    let one = r#"{"@type": "JobPosting", "identifier": "same"}"#;
    let many = vec![one; MAX_BLOCKS + 3];
    let page = read_page(&page_with(&many, ""), PAGE, None);
    assert_eq!(page.postings.len(), 1, "one per id");
    assert_eq!(page.notes.len(), 1);
    // Script and markup in a title are text; a long one is cut. (In a
    // page, JSON-LD writes `</` as `<\/`, or the script element would end.)
    let loud = format!(
        r#"{{"@type": "JobPosting", "identifier": "x", "title": "<script>alert(1)<\/script>{}"}}"#,
        "A".repeat(5_000)
    );
    let page = read_page(&page_with(&[&loud], ""), PAGE, None);
    let title = page.postings[0].title.clone().unwrap();
    assert!(title.chars().count() <= 300);
    assert!(
        title.starts_with("<script>alert(1)</script>AAA"),
        "kept as text; pages escape it"
    );
}

#[test]
fn job_links_are_same_host_pages_under_the_careers_path_or_the_pattern() {
    let body = r##"
        <a href="/careers/backend-engineer">Backend</a>
        <a href="/careers/backend-engineer#apply">Backend again</a>
        <a href="https://acme.example/careers/designer?src=list">Designer</a>
        <a href="/careers">This page</a>
        <a href="/careers/">This page with a slash</a>
        <a href="/about">About</a>
        <a href="https://jobs.elsewhere.example/careers/x">Elsewhere</a>
        <a href="mailto:jobs@acme.example">Mail</a>
        <a href="/jobs/42">A job outside the path</a>
    "##;
    let page = read_page(&page_with(&[], body), PAGE, None);
    assert_eq!(
        page.job_links,
        [
            "https://acme.example/careers/backend-engineer",
            "https://acme.example/careers/designer?src=list"
        ]
    );
    let page = read_page(&page_with(&[], body), PAGE, Some("/jobs/"));
    assert_eq!(page.job_links, ["https://acme.example/jobs/42"]);
}

#[test]
fn robots_rules_follow_the_group_that_names_us_else_the_star() {
    let text = "
        # comments and blank lines are fine
        User-agent: *
        Disallow: /private
        Allow: /private/open
        Disallow: /*.pdf$
        Disallow: /search?*q=

        User-agent: OtherBot
        Disallow: /
    ";
    let robots = Robots::parse(text);
    assert!(robots.allows("/careers"));
    assert!(!robots.allows("/private/jobs"));
    assert!(robots.allows("/private/open/1"), "the longer Allow wins");
    assert!(!robots.allows("/files/a.pdf"));
    assert!(robots.allows("/files/a.pdf.html"), "$ anchors the end");
    assert!(!robots.allows("/search?x=1&q=rust"));
    assert!(robots.allows("/search"));

    // A group naming us replaces the star's; several agents share a group.
    let ours = Robots::parse(
        "User-agent: *\nDisallow: /\n\nUser-agent: googlebot\nUser-agent: AIR-DEMAND\nDisallow: /careers/secret\n",
    );
    assert!(ours.allows("/careers"));
    assert!(!ours.allows("/careers/secret/1"));
    // Everything disallowed to all, or nothing said.
    assert!(!Robots::parse("User-agent: *\nDisallow: /\n").allows("/careers"));
    assert!(Robots::parse("User-agent: *\nDisallow:\n").allows("/careers"));
    assert!(Robots::parse("garbage\n<html>").allows("/careers"));
    assert!(Robots::allow_all().allows("/anything"));
    // Allow wins a tie of equal length.
    assert!(Robots::parse("User-agent: *\nDisallow: /a\nAllow: /a\n").allows("/a"));
}

#[test]
fn a_page_of_endless_links_keeps_the_first_few_thousand_and_says_so() {
    let links: String = (0..MAX_LINKS + 500)
        .map(|i| {
            format!(
                "<a href=\"/careers/job-{i}\">Job {i}</a><a href=\"/careers/job-{i}\">again</a>"
            )
        })
        .collect();
    let page = read_page(&page_with(&[], &links), PAGE, None);
    assert_eq!(page.job_links.len(), MAX_LINKS);
    assert_eq!(page.job_links[1], "https://acme.example/careers/job-1");
    assert_eq!(
        page.notes,
        [format!(
            "more than {MAX_LINKS} job links on the page; the rest left out"
        )]
    );
}
