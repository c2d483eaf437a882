//! The company careers pages the simulator serves (SPEC §3b): a site's
//! listing at `/careers-sites/{site}`, its job pages at
//! `/careers-sites/{site}/jobs/{slug}`, and the host's `/robots.txt`. The
//! pages publish schema.org `JobPosting`s as JSON-LD in the shapes real
//! careers pages use ([`CareersShape`]), answer conditional requests
//! (`ETag`, `Last-Modified`, 304) and take their faults from
//! [`super::Target::Careers`]'s queue. Tests set sites up posting by
//! posting ([`posting`]).
//!
//! Titles and the rest come from tests and may be hostile: text in the
//! HTML is escaped, and `</` in a JSON-LD block is written `<\/`, so that
//! nothing in a posting can close its `<script>` element.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Fault;
use super::http::Response;

/// The path every careers site lives under.
pub(crate) const SITES_PREFIX: &str = "/careers-sites/";
/// The host's robots rules, for every site on it.
pub(crate) const ROBOTS_PATH: &str = "/robots.txt";
/// The robots rules served until a test replaces them: they keep crawlers
/// out of a path no test site uses, so they forbid nothing by default.
pub(crate) const DEFAULT_ROBOTS: &str = "User-agent: *\nDisallow: /careers-sites/private/\n";

/// How a site lays its postings out in JSON-LD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareersShape {
    /// One `<script type="application/ld+json">` block per posting.
    Single,
    /// One block holding a JSON array of the postings.
    Array,
    /// One block whose `@graph` holds a `WebPage` and then the postings.
    Graph,
    /// One `ItemList` block, each posting the `item` of a `ListItem`.
    ItemList,
    /// One `Organization` block carrying the postings as the `itemOffered`
    /// of its `makesOffer` offers: postings as values inside other objects.
    Nested,
    /// The listing carries no posting (only an `Organization` block) and
    /// links to one job page per posting, each carrying its posting.
    Linked,
}

/// A company whose careers site the simulator made up (`SimOptions::boards`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedCareers {
    pub company: String,
    /// The site's name: its listing is `Simulator::careers_url(site)`.
    pub site: String,
}

/// Every careers site, the robots rules, and what each page last looked like.
#[derive(Debug)]
pub(crate) struct Careers {
    pub(crate) sites: HashMap<String, Site>,
    /// The body of `/robots.txt`, served as set.
    pub(crate) robots: String,
    /// The status `/robots.txt` answers with (200 unless a test sets a
    /// failing one: 404 for none, 503 for a site that cannot tell).
    pub(crate) robots_status: u16,
    /// By request path: the page's current validators.
    validators: HashMap<String, Validators>,
}

/// One careers site.
#[derive(Debug)]
pub(crate) struct Site {
    pub(crate) shape: CareersShape,
    /// When set, a block of broken JSON comes before the good ones.
    pub(crate) malformed: bool,
    /// What the job page of a posting taken off the site answers: 404 or 410.
    pub(crate) gone_status: u16,
    /// The postings, in page order.
    pub(crate) postings: Vec<Value>,
    /// Every job-page slug the site has ever had, so that a page taken down
    /// answers `gone_status` while one that never existed answers 404.
    published: HashSet<String>,
}

/// A page's `ETag` and `Last-Modified`.
#[derive(Debug, Clone)]
struct Validators {
    etag: String,
    last_modified: DateTime<Utc>,
}

/// What a careers request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Page {
    Listing {
        site: String,
    },
    Job {
        site: String,
        slug: String,
    },
    Robots,
    /// Under `/careers-sites/` but neither a listing nor a job page.
    Unknown,
}

/// The careers page a request path names, if it is one.
pub(crate) fn route(path: &str) -> Option<Page> {
    if path == ROBOTS_PATH {
        return Some(Page::Robots);
    }
    let rest = path.strip_prefix(SITES_PREFIX)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let parts: Vec<&str> = rest.split('/').collect();
    let page = match parts.as_slice() {
        [site] if !site.is_empty() => Page::Listing {
            site: site.to_string(),
        },
        [site, "jobs", slug] if !site.is_empty() && !slug.is_empty() => Page::Job {
            site: site.to_string(),
            slug: slug.to_string(),
        },
        _ => Page::Unknown,
    };
    Some(page)
}

/// A schema.org `JobPosting` as careers pages publish it, after Google's
/// job-posting structured-data documentation: identifier, dates, employer,
/// an HTML description, a place (or, for `Remote`, telecommuting from the
/// USA) and, when given, a yearly salary range in USD. A location of the
/// form `City, XX` names the region too.
pub fn posting(id: &str, title: &str, location: &str, salary: Option<(i64, i64)>) -> Value {
    let mut posting = json!({
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": title,
        "identifier": {"@type": "PropertyValue", "name": "Acme", "value": id},
        "datePosted": "2026-11-20",
        "validThrough": "2027-02-20T00:00",
        "employmentType": "FULL_TIME",
        "hiringOrganization": {
            "@type": "Organization",
            "name": "Acme",
            "sameAs": "https://acme.example",
        },
        "description": format!(
            "<p>Join Acme as {}.</p><p>You will build things with a small team.</p>",
            crate::intel::escape_html(title)
        ),
    });
    if location.trim().eq_ignore_ascii_case("remote") {
        posting["jobLocationType"] = json!("TELECOMMUTE");
        posting["applicantLocationRequirements"] = json!({"@type": "Country", "name": "USA"});
    } else {
        let mut address = json!({
            "@type": "PostalAddress",
            "addressLocality": location.trim(),
            "addressCountry": "US",
        });
        if let Some((city, region)) = location.rsplit_once(',') {
            let region = region.trim();
            if region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase()) {
                address["addressLocality"] = json!(city.trim());
                address["addressRegion"] = json!(region);
            }
        }
        posting["jobLocation"] = json!({"@type": "Place", "address": address});
    }
    if let Some((min, max)) = salary {
        posting["baseSalary"] = json!({
            "@type": "MonetaryAmount",
            "currency": "USD",
            "value": {"@type": "QuantitativeValue", "minValue": min, "maxValue": max, "unitText": "YEAR"},
        });
    }
    posting
}

impl Default for Careers {
    fn default() -> Careers {
        Careers {
            sites: HashMap::new(),
            robots: DEFAULT_ROBOTS.to_string(),
            robots_status: 200,
            validators: HashMap::new(),
        }
    }
}

impl Site {
    fn new(shape: CareersShape) -> Site {
        Site {
            shape,
            malformed: false,
            gone_status: 404,
            postings: Vec::new(),
            published: HashSet::new(),
        }
    }

    /// Remembers the slugs of the current postings; called after every change.
    fn note_published(&mut self) {
        let slugs: Vec<String> = self
            .postings
            .iter()
            .enumerate()
            .map(|(at, posting)| slug(posting, at))
            .collect();
        self.published.extend(slugs);
    }
}

impl Careers {
    /// Opens (or replaces) a site: not malformed, 404 for pages taken down.
    /// The slugs it had before still count as taken down, not unknown.
    pub(crate) fn set(&mut self, site: &str, shape: CareersShape, postings: Vec<Value>) {
        let mut new = Site::new(shape);
        if let Some(old) = self.sites.remove(site) {
            new.published = old.published;
        }
        new.postings = postings;
        new.note_published();
        self.sites.insert(site.to_string(), new);
    }

    /// Changes a site; a site not opened yet starts empty, in the
    /// `Single` shape.
    pub(crate) fn edit(&mut self, site: &str, edit: impl FnOnce(&mut Site)) {
        let entry = self
            .sites
            .entry(site.to_string())
            .or_insert_with(|| Site::new(CareersShape::Single));
        edit(entry);
        entry.note_published();
    }

    /// A careers site for the seventh company by listed roles (or, with
    /// fewer companies, a made-up one), in the `ItemList` shape: each of
    /// its Paraform roles posted there too (same title), plus one opening
    /// of its own, all with salaries.
    pub(crate) fn generate(listed: &[Value]) -> (Careers, Vec<FollowedCareers>) {
        let counts = super::boards::company_counts(listed);
        let named = counts.get(6).and_then(|(company, _)| {
            let site = crate::discover::slugs(company).into_iter().next()?;
            Some((company.clone(), site))
        });
        let (company, site) =
            named.unwrap_or_else(|| ("Northwind Labs".to_string(), "northwind-labs".to_string()));
        let mut postings: Vec<Value> = listed
            .iter()
            .filter(|r| r.pointer("/company/name").and_then(Value::as_str) == Some(&company))
            .enumerate()
            .map(|(i, role)| {
                let title = role
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("Engineer");
                let code = role
                    .get("locations")
                    .and_then(Value::as_array)
                    .and_then(|places| places.iter().find_map(Value::as_str))
                    .unwrap_or("remote");
                let (place, country) = place_of(code);
                let low = role.get("salaryLowerBound").and_then(Value::as_i64);
                let high = role.get("salaryUpperBound").and_then(Value::as_i64);
                let salary = match (low, high) {
                    (Some(low), Some(high)) if low <= high => (low, high),
                    (_, Some(high)) => (high * 4 / 5, high),
                    _ => (160_000, 210_000),
                };
                let mut posting = posting(&format!("p-{i}"), title, &place, Some(salary));
                if let Some(address) = posting.pointer_mut("/jobLocation/address") {
                    address["addressCountry"] = json!(country);
                }
                posting
            })
            .collect();
        postings.push(posting(
            "own-0",
            "Recruiting Coordinator",
            "Remote",
            Some((90_000, 120_000)),
        ));
        for posting in &mut postings {
            posting["hiringOrganization"]["name"] = json!(company);
            posting["identifier"]["name"] = json!(company);
            posting["url"] = json!(made_up_url(&site, posting));
        }
        let mut careers = Careers::default();
        careers.set(&site, CareersShape::ItemList, postings);
        (careers, vec![FollowedCareers { company, site }])
    }

    /// One round on the generated site: one more opening (identifier
    /// `r{round}`), and the first posting's top salary 5,000 higher.
    pub(crate) fn advance(&mut self, followed: &[FollowedCareers], round: u64) {
        let Some(first) = followed.first() else {
            return;
        };
        let company = first.company.clone();
        self.edit(&first.site, |site| {
            if let Some(max) = site
                .postings
                .first_mut()
                .and_then(|p| p.pointer_mut("/baseSalary/value/maxValue"))
                && let Some(value) = max.as_i64()
            {
                *max = json!(value + 5_000);
            }
            let titles = ["Founding Engineer", "Data Engineer", "Developer Advocate"];
            let title = titles[(round % 3) as usize];
            let mut new = posting(
                &format!("r{round}"),
                title,
                "Remote",
                Some((150_000, 190_000)),
            );
            new["hiringOrganization"]["name"] = json!(company);
            new["identifier"]["name"] = json!(company);
            new["url"] = json!(made_up_url(&first.site, &new));
            site.postings.push(new);
        });
    }
}

/// Where a generated posting says it lives: a made-up address, as the
/// boards' jobs have, so no link of the demo points at the simulator.
fn made_up_url(site: &str, posting: &Value) -> String {
    format!("https://careers.{site}.example/jobs/{}", slug(posting, 0))
}

/// A Paraform location code (`new_york`) as a careers page writes the
/// place (`New York, NY`), with its country.
fn place_of(code: &str) -> (String, &'static str) {
    let known = match code {
        "new_york" => Some("New York, NY"),
        "brooklyn" => Some("Brooklyn, NY"),
        "jersey_city" => Some("Jersey City, NJ"),
        "san_francisco" => Some("San Francisco, CA"),
        "south_bay_area" => Some("San Jose, CA"),
        "seattle" => Some("Seattle, WA"),
        "austin" => Some("Austin, TX"),
        "london" | "united_kingdom" | "uk" => return ("London".to_string(), "GB"),
        _ => None,
    };
    if let Some(place) = known {
        return (place.to_string(), "US");
    }
    if code.to_ascii_lowercase().contains("remote") {
        return ("Remote".to_string(), "US");
    }
    let words: Vec<String> = code
        .split(['_', ' '])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect();
    if words.is_empty() {
        return ("Remote".to_string(), "US");
    }
    (words.join(" "), "US")
}

/// What a request says about the copy the client holds: its path (the
/// key of the page's validators) and its conditional headers as sent.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Conditions<'a> {
    pub(crate) path: &'a str,
    pub(crate) if_none_match: Option<&'a str>,
    pub(crate) if_modified_since: Option<&'a str>,
}

impl Page {
    /// Whether a queued careers fault applies: listings and job pages
    /// take one, `robots.txt` and unknown paths never.
    pub(crate) fn takes_faults(&self) -> bool {
        matches!(self, Page::Listing { .. } | Page::Job { .. })
    }
}

impl Careers {
    /// Answers a careers request at the market's `now`: as `fault` (taken
    /// from the careers queue by the caller) says, else the page with its
    /// validators, or 304 when the client's copy is current.
    pub(crate) fn answer(
        &mut self,
        page: &Page,
        request: Conditions,
        fault: Option<Fault>,
        now: DateTime<Utc>,
    ) -> Response {
        let normal = match page {
            Page::Robots if self.robots_status != 200 => {
                Response::html(self.robots_status, &simple_page("Robots", "Not here."))
            }
            Page::Robots => Response {
                content_type: "text/plain; charset=utf-8",
                ..Response::html(200, &self.robots)
            },
            Page::Listing { site } => match self.sites.get(site) {
                Some(found) => Response::html(200, &listing_page(site, found)),
                None => not_found(),
            },
            Page::Job { site, slug } => match self.sites.get(site) {
                Some(found) => job_page(site, found, slug),
                None => not_found(),
            },
            Page::Unknown => not_found(),
        };
        match fault {
            None | Some(Fault::Skip) => self.conditional(request, normal, now),
            Some(Fault::Slow { millis }) => Response {
                delay_millis: millis,
                ..self.conditional(request, normal, now)
            },
            Some(fault) => {
                let site = match page {
                    Page::Listing { site } | Page::Job { site, .. } => site.as_str(),
                    Page::Robots | Page::Unknown => "",
                };
                let shape = self
                    .sites
                    .get(site)
                    .map_or(CareersShape::Single, |found| found.shape);
                misbehave(fault, normal, site, shape)
            }
        }
    }

    /// Gives a 200 its `ETag` and `Last-Modified`, and answers 304 when the
    /// request's validators say the client has this body already.
    ///
    /// `Last-Modified` is the market clock when the path first served its
    /// current body, but always after the path's previous `Last-Modified`:
    /// a page changed twice between rounds (the clock stands still between
    /// them) still reads as modified to a client that sends only
    /// `If-Modified-Since`.
    fn conditional(
        &mut self,
        request: Conditions,
        mut response: Response,
        now: DateTime<Utc>,
    ) -> Response {
        if response.status != 200 {
            return response;
        }
        let etag = etag_of(&response.body);
        let now = whole_seconds(now);
        let validators = match self.validators.get(request.path) {
            Some(current) if current.etag == etag => current.clone(),
            previous => {
                let last_modified = match previous {
                    Some(previous) if previous.last_modified >= now => {
                        previous.last_modified + chrono::Duration::seconds(1)
                    }
                    _ => now,
                };
                let fresh = Validators {
                    etag,
                    last_modified,
                };
                self.validators
                    .insert(request.path.to_string(), fresh.clone());
                fresh
            }
        };
        let headers = vec![
            ("ETag", validators.etag.clone()),
            ("Last-Modified", http_date(validators.last_modified)),
        ];
        if !not_modified(request, &validators) {
            response.headers.extend(headers);
            return response;
        }
        Response {
            status: 304,
            headers,
            body: Vec::new(),
            ..response
        }
    }
}

/// Whether the request's `If-None-Match` (when sent) or else its
/// `If-Modified-Since` matches the page as it is.
fn not_modified(request: Conditions, validators: &Validators) -> bool {
    if let Some(tags) = request.if_none_match {
        let ours = bare_tag(&validators.etag);
        return tags
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || (!tag.is_empty() && bare_tag(tag) == ours));
    }
    let Some(since) = request.if_modified_since.and_then(parse_http_date) else {
        return false;
    };
    since >= validators.last_modified
}

/// An entity tag without its weakness mark and quotes.
fn bare_tag(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"')
}

/// `"` + the first 16 hex digits of the body's SHA-256 + `"`.
fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The instant without its fraction of a second: an HTTP date has none,
/// and a client's `If-Modified-Since` must compare equal to it.
fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// An HTTP date (RFC 7231 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Reads an HTTP date; anything else is `None` (and ignored, as RFC 9110 says).
fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc2822(text) {
        return Some(at.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%a, %d %b %Y %H:%M:%S GMT")
        .ok()
        .map(|at| at.and_utc())
}

/// A careers answer misbehaving as `fault` does, in an HTML site's forms.
/// Never a 304, and without validators.
fn misbehave(fault: Fault, normal: Response, site: &str, shape: CareersShape) -> Response {
    match fault {
        Fault::ServerError | Fault::PaymentRequired | Fault::InvalidAnswer => Response::html(
            500,
            &simple_page(
                "Server error",
                "Something went wrong. Please try again later.",
            ),
        ),
        Fault::RateLimited { retry_after_secs } => {
            let mut response =
                Response::html(429, &simple_page("Too many requests", "Please slow down."));
            response
                .headers
                .push(("Retry-After", retry_after_secs.to_string()));
            response
        }
        Fault::Unauthorized => Response::html(
            401,
            &simple_page("Sign in required", "Please sign in to see this page."),
        ),
        Fault::RedirectToLogin => {
            let mut response = Response::html(302, "");
            response.headers.push(("Location", "/login".to_string()));
            response
        }
        Fault::Truncated => normal.cut_in_half(),
        Fault::Html | Fault::WrongShape => Response::html(
            200,
            &simple_page(
                "Careers",
                "We are updating our careers page. Please check back soon.",
            ),
        ),
        Fault::EmptyList => {
            let empty = Site::new(shape);
            Response::html(200, &listing_page(site, &empty))
        }
        Fault::Flood { items } => {
            let blocks =
                "<script type=\"application/ld+json\">{}</script>\n".repeat(items as usize);
            Response::html(
                200,
                &format!(
                    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Careers</title>\n{blocks}</head>\n<body><main><h1>Careers</h1></main></body>\n</html>\n"
                ),
            )
        }
        Fault::Endless => {
            let mut response = Response::html(
                200,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Careers</title></head>\n<body><main><h1>Open roles</h1><ul>\n",
            );
            let again = crate::intel::escape_html(&job_path(site, "again"));
            response.endless = Some(
                format!("<li><a href=\"{again}\">The same role again</a></li>\n").into_bytes(),
            );
            response
        }
        Fault::Skip => normal,
        Fault::Slow { millis } => Response {
            delay_millis: millis,
            ..normal
        },
    }
}

/// A job page's slug: the posting's identifier (`identifier.value`, or
/// `identifier` as text), else its title, made URL-safe (letters, digits,
/// `-` and `_` kept, anything else `-`); else `job-{position}`.
pub(crate) fn slug(posting: &Value, at: usize) -> String {
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    let identifier = match posting.get("identifier") {
        Some(Value::Object(object)) => object.get("value").and_then(text),
        Some(other) => text(other),
        None => None,
    };
    let source = identifier
        .filter(|id| !id.trim().is_empty())
        .or_else(|| posting.get("title").and_then(text))
        .unwrap_or_default();
    let safe: String = source
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if safe.is_empty() {
        format!("job-{}", at + 1)
    } else {
        safe
    }
}

/// Where the simulator serves a site's job page.
fn job_path(site: &str, slug: &str) -> String {
    format!("{SITES_PREFIX}{site}/jobs/{slug}")
}

/// The posting as served: with the job page's (relative) URL unless it
/// names its own.
fn served(site: &str, posting: &Value, slug: &str) -> Value {
    let mut posting = posting.clone();
    if let Some(object) = posting.as_object_mut()
        && !object.contains_key("url")
    {
        object.insert("url".to_string(), json!(job_path(site, slug)));
    }
    posting
}

/// A posting's title for the page's list of links.
fn title_of(posting: &Value) -> &str {
    posting
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("Open role")
}

/// The organisation a site's Organization block names.
fn organization_of(site: &str, postings: &[Value]) -> String {
    postings
        .iter()
        .find_map(|p| {
            p.pointer("/hiringOrganization/name")
                .and_then(Value::as_str)
        })
        .unwrap_or(site)
        .to_string()
}

/// The listing page of `site`, in its shape.
fn listing_page(site: &str, found: &Site) -> String {
    let postings: Vec<(String, Value)> = found
        .postings
        .iter()
        .enumerate()
        .map(|(at, posting)| {
            let slug = slug(posting, at);
            let served = served(site, posting, &slug);
            (slug, served)
        })
        .collect();
    let all = || postings.iter().map(|(_, posting)| posting.clone());
    let mut blocks = Vec::new();
    if found.malformed {
        blocks.push(BROKEN_BLOCK.to_string());
    }
    let organization = organization_of(site, &found.postings);
    match found.shape {
        CareersShape::Single => blocks.extend(all().map(|posting| script(&posting))),
        CareersShape::Array => blocks.push(script(&Value::Array(all().collect()))),
        CareersShape::Graph => {
            let mut graph = vec![json!({
                "@type": "WebPage",
                "@id": format!("{SITES_PREFIX}{site}#webpage"),
                "name": format!("Careers at {organization}"),
            })];
            graph.extend(all());
            blocks.push(script(
                &json!({"@context": "https://schema.org", "@graph": graph}),
            ));
        }
        CareersShape::ItemList => {
            let items: Vec<Value> = all()
                .enumerate()
                .map(|(at, posting)| {
                    json!({"@type": "ListItem", "position": at + 1, "item": posting})
                })
                .collect();
            blocks.push(script(&json!({
                "@context": "https://schema.org",
                "@type": "ItemList",
                "numberOfItems": items.len(),
                "itemListElement": items,
            })));
        }
        CareersShape::Nested => {
            let offers: Vec<Value> = all()
                .map(|posting| json!({"@type": "Offer", "itemOffered": posting}))
                .collect();
            blocks.push(script(&json!({
                "@context": "https://schema.org",
                "@type": "Organization",
                "name": organization,
                "employee": {"@type": "Person", "name": "Pat Rivera", "jobTitle": "Head of Talent"},
                "makesOffer": offers,
            })));
        }
        CareersShape::Linked => blocks.push(script(&json!({
            "@context": "https://schema.org",
            "@type": "Organization",
            "name": organization,
            "url": format!("{SITES_PREFIX}{site}"),
        }))),
    }
    let links: Vec<(String, &str)> = postings
        .iter()
        .map(|(slug, posting)| (job_path(site, slug), title_of(posting)))
        .collect();
    html_page(
        &format!("Careers at {organization}"),
        "Open roles",
        &blocks,
        &job_list(&links),
    )
}

/// The job page for `slug`: its posting as one JSON-LD object; a posting
/// no longer listed answers the site's `gone_status`, an unknown one 404.
fn job_page(site: &str, found: &Site, slug_asked: &str) -> Response {
    let posting = found
        .postings
        .iter()
        .enumerate()
        .find(|(at, posting)| slug(posting, *at) == slug_asked);
    let Some((_, posting)) = posting else {
        if found.published.contains(slug_asked) && found.gone_status == 410 {
            return Response::html(
                410,
                &simple_page("Job closed", "This job is no longer open."),
            );
        }
        return not_found();
    };
    let posting = served(site, posting, slug_asked);
    let title = title_of(&posting);
    let organization = organization_of(site, &found.postings);
    // Who posted it, and a way back to the listing, as job pages have.
    let main = format!(
        "<p>Posted by {}.</p>\n<p><a href=\"{}\">All open roles</a></p>\n",
        crate::intel::escape_html(&organization),
        crate::intel::escape_html(&format!("{SITES_PREFIX}{site}"))
    );
    let body = html_page(
        &format!("{title} | {organization}"),
        title,
        &[script(&posting)],
        &main,
    );
    Response::html(200, &body)
}

/// The broken block of a malformed page: a posting whose JSON stops short.
const BROKEN_BLOCK: &str = "<script type=\"application/ld+json\">{\"@context\": \"https://schema.org\", \"@type\": \"JobPosting\", \"title\": \"Broken</script>";

/// A JSON-LD block. `</` inside a JSON string is written `<\/` (and `<!--`
/// as `<\u0021--`), both still the same JSON, so nothing in the value can
/// end the script element or open an HTML comment in it.
fn script(value: &Value) -> String {
    let text = value
        .to_string()
        .replace("</", "<\\/")
        .replace("<!--", "<\\u0021--");
    format!("<script type=\"application/ld+json\">{text}</script>")
}

/// A small careers page: JSON-LD blocks in the head, then a heading and
/// `main` (HTML, already escaped).
fn html_page(title: &str, heading: &str, blocks: &[String], main: &str) -> String {
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n",
        crate::intel::escape_html(title)
    );
    for block in blocks {
        page.push_str(block);
        page.push('\n');
    }
    page.push_str(&format!(
        "</head>\n<body>\n<main>\n<h1>{}</h1>\n{main}</main>\n</body>\n</html>\n",
        crate::intel::escape_html(heading)
    ));
    page
}

/// The list of job links, (href, title) each; a line saying there are
/// none when there are none.
fn job_list(links: &[(String, &str)]) -> String {
    if links.is_empty() {
        return "<p>No open roles right now.</p>\n".to_string();
    }
    let mut list = "<ul class=\"jobs\">\n".to_string();
    for (href, text) in links {
        list.push_str(&format!(
            "<li><a href=\"{}\">{}</a></li>\n",
            crate::intel::escape_html(href),
            crate::intel::escape_html(text)
        ));
    }
    list.push_str("</ul>\n");
    list
}

/// A page with a heading and one paragraph, no JSON-LD and no links.
fn simple_page(heading: &str, text: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{heading}</title>\n</head>\n<body>\n<main>\n<h1>{heading}</h1>\n<p>{text}</p>\n</main>\n</body>\n</html>\n"
    )
}

/// The 404 of an unknown site or page.
fn not_found() -> Response {
    Response::html(
        404,
        &simple_page("Page not found", "There is no such page on this site."),
    )
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use chrono::TimeZone;

    use super::super::server::{parse_head, respond};
    use super::super::{SimOptions, Simulator, Target};
    use super::*;

    fn options() -> SimOptions {
        SimOptions {
            now: Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap(),
            ..SimOptions::default()
        }
    }

    fn simulator() -> Simulator {
        Simulator::start_in_thread(options()).unwrap()
    }

    /// A GET of `path` with these (name, value) conditional headers,
    /// answered without the network.
    fn get_with(sim: &Simulator, path: &str, headers: &[(&str, &str)]) -> Response {
        let head = headers.iter().fold(
            format!("GET {path} HTTP/1.1\r\nHost: sim"),
            |head, (n, v)| format!("{head}\r\n{n}: {v}"),
        );
        let request = parse_head(head.as_bytes()).unwrap();
        respond(&sim.state, &request)
    }

    fn get(sim: &Simulator, path: &str) -> Response {
        get_with(sim, path, &[])
    }

    fn text(response: &Response) -> String {
        String::from_utf8(response.body.clone()).unwrap()
    }

    fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
        response
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of every JSON-LD block of a page, in order.
    fn blocks(html: &str) -> Vec<String> {
        let open = "<script type=\"application/ld+json\">";
        html.split(open)
            .skip(1)
            .map(|rest| rest.split("</script>").next().unwrap().to_string())
            .collect()
    }

    /// Every object typed `JobPosting` anywhere in `value`.
    fn job_postings(value: &Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| job_postings(v, out)),
            Value::Object(object) => {
                if object.get("@type").and_then(Value::as_str) == Some("JobPosting") {
                    out.push(value.clone());
                } else {
                    object.values().for_each(|v| job_postings(v, out));
                }
            }
            _ => {}
        }
    }

    /// The postings of a page's blocks, all of which must parse.
    fn postings_on(html: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for block in blocks(html) {
            let value: Value = serde_json::from_str(&block)
                .unwrap_or_else(|e| panic!("block does not parse ({e}): {block}"));
            job_postings(&value, &mut out);
        }
        out
    }

    /// The hrefs of a page's links to job pages.
    fn job_links(html: &str) -> Vec<String> {
        html.split("<a href=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_string())
            .filter(|href| href.contains("/jobs/"))
            .collect()
    }

    fn three() -> Vec<Value> {
        vec![
            posting(
                "eng-1",
                "Backend Engineer",
                "Brooklyn, NY",
                Some((150_000, 190_000)),
            ),
            posting("eng 2/b", "Data Engineer", "Remote", None),
            posting("3", "Designer", "Austin", Some((120_000, 140_000))),
        ]
    }

    const SHAPES: [CareersShape; 6] = [
        CareersShape::Single,
        CareersShape::Array,
        CareersShape::Graph,
        CareersShape::ItemList,
        CareersShape::Nested,
        CareersShape::Linked,
    ];

    #[test]
    fn every_shape_publishes_every_posting_as_parseable_json_ld() {
        let sim = simulator();
        let titles = ["Backend Engineer", "Data Engineer", "Designer"];
        let slugs = ["eng-1", "eng-2-b", "3"];
        for shape in SHAPES {
            let site = format!("{shape:?}").to_lowercase();
            sim.set_careers(&site, shape, three());
            for path in [
                format!("/careers-sites/{site}"),
                format!("/careers-sites/{site}/"),
            ] {
                let page = get(&sim, &path);
                assert_eq!(page.status, 200, "{shape:?}");
                assert_eq!(page.content_type, "text/html; charset=utf-8");
                let html = text(&page);
                assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
                let expected: Vec<String> = slugs
                    .iter()
                    .map(|s| format!("/careers-sites/{site}/jobs/{s}"))
                    .collect();
                assert_eq!(job_links(&html), expected, "{shape:?}");
                let found = postings_on(&html);
                if shape == CareersShape::Linked {
                    assert!(found.is_empty(), "a Linked listing carries postings");
                    assert!(html.contains("\"@type\":\"Organization\""));
                    continue;
                }
                let found_titles: Vec<&str> = found.iter().map(title_of).collect();
                assert_eq!(found_titles, titles, "{shape:?}");
                for (posting, url) in found.iter().zip(&expected) {
                    assert_eq!(posting["url"], json!(url), "{shape:?}");
                }
            }
            // Every shape serves the job pages its postings link to.
            for (slug, title) in slugs.iter().zip(titles) {
                let page = get(&sim, &format!("/careers-sites/{site}/jobs/{slug}"));
                assert_eq!(page.status, 200, "{shape:?} {slug}");
                let html = text(&page);
                let found = blocks(&html);
                assert_eq!(found.len(), 1, "{html}");
                let value: Value = serde_json::from_str(&found[0]).unwrap();
                assert_eq!(value["@type"], "JobPosting");
                assert_eq!(value["title"], title);
            }
        }
        // The shapes' own wrappers.
        let outer = |site: &str| -> Value {
            serde_json::from_str(&blocks(&text(&get(&sim, &format!("/careers-sites/{site}"))))[0])
                .unwrap()
        };
        assert_eq!(blocks(&text(&get(&sim, "/careers-sites/single"))).len(), 3);
        assert!(outer("array").is_array());
        assert_eq!(outer("graph")["@graph"][0]["@type"], "WebPage");
        assert_eq!(outer("itemlist")["@type"], "ItemList");
        assert_eq!(outer("itemlist")["itemListElement"][2]["position"], 3);
        assert_eq!(outer("nested")["@type"], "Organization");
        assert_eq!(
            outer("nested")["makesOffer"][0]["itemOffered"]["title"],
            "Backend Engineer"
        );
        // A posting that names its own URL keeps it.
        sim.edit_careers("single", |postings| {
            postings[0]["url"] = json!("https://jobs.example/1");
        });
        let found = postings_on(&text(&get(&sim, "/careers-sites/single")));
        assert_eq!(found[0]["url"], "https://jobs.example/1");
    }

    #[test]
    fn a_malformed_block_comes_first_and_the_rest_still_parse() {
        let sim = simulator();
        for shape in SHAPES {
            let site = format!("{shape:?}").to_lowercase();
            sim.set_careers(&site, shape, three());
            sim.set_careers_malformed(&site, true);
            let html = text(&get(&sim, &format!("/careers-sites/{site}")));
            let all = blocks(&html);
            assert!(serde_json::from_str::<Value>(&all[0]).is_err(), "{shape:?}");
            assert!(all[0].contains("\"JobPosting\""));
            let good: Vec<Value> = all[1..]
                .iter()
                .map(|b| serde_json::from_str(b).unwrap())
                .collect();
            let mut found = Vec::new();
            good.iter().for_each(|v| job_postings(v, &mut found));
            let expected = if shape == CareersShape::Linked { 0 } else { 3 };
            assert_eq!(found.len(), expected, "{shape:?}");
            // Job pages stay well-formed.
            let job = text(&get(&sim, &format!("/careers-sites/{site}/jobs/eng-1")));
            assert_eq!(postings_on(&job).len(), 1, "{shape:?}");
            sim.set_careers_malformed(&site, false);
            let again = text(&get(&sim, &format!("/careers-sites/{site}")));
            assert_eq!(blocks(&again).len(), all.len() - 1, "{shape:?}");
        }
    }

    #[test]
    fn linked_job_pages_serve_their_posting_and_removed_ones_are_gone() {
        let sim = simulator();
        sim.set_careers("acme", CareersShape::Linked, three());
        let page = get(&sim, "/careers-sites/acme/jobs/eng-2-b");
        assert_eq!(page.status, 200);
        let found = postings_on(&text(&page));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["title"], "Data Engineer");
        assert_eq!(found[0]["jobLocationType"], "TELECOMMUTE");
        assert_eq!(found[0]["url"], "/careers-sites/acme/jobs/eng-2-b");

        sim.edit_careers("acme", |postings| {
            postings.remove(1);
        });
        let listing = text(&get(&sim, "/careers-sites/acme"));
        assert_eq!(job_links(&listing).len(), 2);
        let gone = get(&sim, "/careers-sites/acme/jobs/eng-2-b");
        assert_eq!(gone.status, 404);
        assert!(text(&gone).starts_with("<!DOCTYPE html>"));
        sim.set_careers_gone_status("acme", 410);
        assert_eq!(get(&sim, "/careers-sites/acme/jobs/eng-2-b").status, 410);
        // Never on the site, an unknown site, another path: 404 pages.
        assert_eq!(get(&sim, "/careers-sites/acme/jobs/never").status, 404);
        assert_eq!(get(&sim, "/careers-sites/nobody").status, 404);
        assert_eq!(get(&sim, "/careers-sites/nobody/jobs/eng-1").status, 404);
        assert_eq!(get(&sim, "/careers-sites/acme/other/x").status, 404);
        assert_eq!(sim.careers_requests("/careers-sites/acme/jobs/eng-2-b"), 3);
        assert_eq!(sim.careers_requests("/careers-sites/nobody"), 1);
        // Replacing the site keeps 404 for what it took down.
        sim.set_careers("acme", CareersShape::Linked, Vec::new());
        assert_eq!(get(&sim, "/careers-sites/acme/jobs/eng-1").status, 404);
        assert_eq!(
            postings_on(&text(&get(&sim, "/careers-sites/acme"))).len(),
            0
        );
    }

    #[test]
    fn an_etag_round_trip_answers_304_and_counts_it() {
        let sim = simulator();
        sim.set_careers("acme", CareersShape::Single, three());
        let path = "/careers-sites/acme";
        let first = get(&sim, path);
        let etag = header(&first, "ETag").unwrap().to_string();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() == 18,
            "{etag}"
        );
        assert_eq!(
            header(&first, "Last-Modified"),
            Some("Fri, 20 Nov 2026 12:00:00 GMT")
        );
        let again = get_with(&sim, path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        assert_eq!(header(&again, "ETag"), Some(etag.as_str()));
        for tags in [
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".to_string(),
        ] {
            assert_eq!(
                get_with(&sim, path, &[("If-None-Match", &tags)]).status,
                304,
                "{tags}"
            );
        }
        for tags in ["\"other\"", ""] {
            assert_eq!(
                get_with(&sim, path, &[("If-None-Match", tags)]).status,
                200,
                "{tags}"
            );
        }
        // If-None-Match decides over If-Modified-Since.
        let stale = get_with(
            &sim,
            path,
            &[
                ("If-None-Match", "\"other\""),
                ("If-Modified-Since", "Fri, 20 Nov 2026 13:00:00 GMT"),
            ],
        );
        assert_eq!(stale.status, 200);
        assert_eq!(sim.careers_requests(path), 8);
        assert_eq!(sim.careers_not_modified(path), 4);
        assert_eq!(sim.careers_not_modified(&sim.careers_url("acme")), 4);

        // A change is a new ETag, and the old one gets the whole page.
        sim.edit_careers("acme", |postings| {
            postings[0]["title"] = json!("Staff Engineer")
        });
        let changed = get_with(&sim, path, &[("If-None-Match", &etag)]);
        assert_eq!(changed.status, 200);
        let new_etag = header(&changed, "ETag").unwrap();
        assert_ne!(new_etag, etag);
        assert_eq!(
            get_with(&sim, path, &[("If-None-Match", new_etag)]).status,
            304
        );
        // Job pages and robots.txt answer 304 too.
        for page in ["/careers-sites/acme/jobs/3", "/robots.txt"] {
            let first = get(&sim, page);
            let etag = header(&first, "ETag").unwrap();
            assert_eq!(get_with(&sim, page, &[("If-None-Match", etag)]).status, 304);
            assert_eq!(sim.careers_not_modified(page), 1);
        }
    }

    #[test]
    fn if_modified_since_answers_304_until_the_page_changes() {
        let sim = simulator();
        sim.set_careers("acme", CareersShape::ItemList, three());
        let path = "/careers-sites/acme";
        let first = get(&sim, path);
        let since = header(&first, "Last-Modified").unwrap().to_string();
        assert_eq!(since, "Fri, 20 Nov 2026 12:00:00 GMT");
        let ims = |date: &str| get_with(&sim, path, &[("If-Modified-Since", date)]).status;
        assert_eq!(ims(&since), 304);
        assert_eq!(ims("Sat, 21 Nov 2026 00:00:00 GMT"), 304);
        assert_eq!(ims("Fri, 20 Nov 2026 11:59:59 GMT"), 200);
        assert_eq!(ims("not a date"), 200);

        // A round moves the clock; an unchanged page keeps its date.
        sim.advance(chrono::Duration::hours(24));
        assert_eq!(ims(&since), 304);
        sim.edit_careers("acme", |postings| {
            postings.push(posting("4", "SRE", "Remote", None))
        });
        assert_eq!(ims(&since), 200);
        let later = get(&sim, path);
        assert_eq!(
            header(&later, "Last-Modified"),
            Some("Sat, 21 Nov 2026 12:00:00 GMT")
        );
        // Changed again with the clock standing still: still a later date.
        sim.edit_careers("acme", |postings| {
            postings.pop();
        });
        let again = get(&sim, path);
        assert_eq!(
            header(&again, "Last-Modified"),
            Some("Sat, 21 Nov 2026 12:00:01 GMT")
        );
        assert_eq!(ims("Sat, 21 Nov 2026 12:00:00 GMT"), 200);
        assert_eq!(sim.careers_not_modified(path), 3);
    }

    #[test]
    fn robots_txt_is_harmless_by_default_and_replaceable() {
        let sim = simulator();
        let robots = get(&sim, "/robots.txt");
        assert_eq!(robots.status, 200);
        assert_eq!(robots.content_type, "text/plain; charset=utf-8");
        assert_eq!(
            text(&robots),
            "User-agent: *\nDisallow: /careers-sites/private/\n"
        );
        sim.set_robots("User-agent: air-demand\nDisallow: /careers-sites/acme/jobs/\n");
        let robots = get(&sim, "/robots.txt");
        assert_eq!(
            text(&robots),
            "User-agent: air-demand\nDisallow: /careers-sites/acme/jobs/\n"
        );
        sim.set_robots("");
        assert_eq!(text(&get(&sim, "/robots.txt")), "");
        assert_eq!(sim.careers_requests("/robots.txt"), 3);
    }

    #[test]
    fn a_fault_applies_once_to_a_listing_and_never_to_robots() {
        let sim = simulator();
        sim.set_careers("acme", CareersShape::Single, three());
        let path = "/careers-sites/acme";
        let etag = header(&get(&sim, path), "ETag").unwrap().to_string();
        sim.inject(Target::Careers, Fault::ServerError, 1);
        assert_eq!(get(&sim, "/robots.txt").status, 200);
        // Faulted, even when the client's copy is current, and no validators.
        let faulted = get_with(&sim, path, &[("If-None-Match", &etag)]);
        assert_eq!(faulted.status, 500);
        assert!(text(&faulted).starts_with("<!DOCTYPE html>"));
        assert_eq!(header(&faulted, "ETag"), None);
        assert_eq!(
            get_with(&sim, path, &[("If-None-Match", &etag)]).status,
            304
        );
        assert_eq!(sim.careers_requests(path), 3);

        // Queued faults wait for a listing or job page; clear_faults drops them.
        sim.inject(Target::Careers, Fault::Unauthorized, 2);
        assert_eq!(get(&sim, "/careers-sites/acme/jobs/3").status, 401);
        sim.clear_faults();
        assert_eq!(get(&sim, path).status, 200);
    }

    #[test]
    fn every_fault_has_an_html_site_form() {
        let sim = simulator();
        sim.set_careers("acme", CareersShape::Linked, three());
        let path = "/careers-sites/acme";
        let normal = get(&sim, path);
        let etag = header(&normal, "ETag").unwrap().to_string();
        let faulted = |fault: Fault| {
            sim.inject(Target::Careers, fault, 1);
            get_with(&sim, path, &[("If-None-Match", &etag)])
        };
        for fault in [
            Fault::ServerError,
            Fault::PaymentRequired,
            Fault::InvalidAnswer,
        ] {
            assert_eq!(faulted(fault).status, 500, "{fault:?}");
        }
        let limited = faulted(Fault::RateLimited {
            retry_after_secs: 7,
        });
        assert_eq!(
            (limited.status, header(&limited, "Retry-After")),
            (429, Some("7"))
        );
        assert_eq!(faulted(Fault::Unauthorized).status, 401);
        let redirect = faulted(Fault::RedirectToLogin);
        assert_eq!(
            (redirect.status, header(&redirect, "Location")),
            (302, Some("/login"))
        );
        let cut = faulted(Fault::Truncated);
        assert_eq!(cut.status, 200);
        assert_eq!(cut.body, normal.body[..normal.body.len() / 2]);
        for fault in [Fault::Html, Fault::WrongShape] {
            let page = faulted(fault);
            let html = text(&page);
            assert_eq!(page.status, 200);
            assert!(html.contains("We are updating our careers page"), "{html}");
            assert!(blocks(&html).is_empty() && !html.contains("<a "), "{html}");
        }
        let empty = text(&faulted(Fault::EmptyList));
        assert!(
            postings_on(&empty).is_empty() && job_links(&empty).is_empty(),
            "{empty}"
        );
        let flood = text(&faulted(Fault::Flood { items: 5 }));
        assert_eq!(blocks(&flood), vec!["{}"; 5]);
        let endless = faulted(Fault::Endless);
        assert_eq!(endless.status, 200);
        assert!(endless.endless.is_some());
        let slow = faulted(Fault::Slow { millis: 250 });
        assert_eq!((slow.status, slow.delay_millis), (304, 250));
        assert_eq!(faulted(Fault::Skip).status, 304);
        assert_eq!(get(&sim, path).body, normal.body);
    }

    #[test]
    fn hostile_titles_are_escaped_and_cannot_close_the_script() {
        let sim = simulator();
        let hostile = "</script><script>alert(1)</script> & <b>";
        for shape in SHAPES {
            let site = format!("{shape:?}").to_lowercase();
            sim.set_careers(
                &site,
                shape,
                vec![posting("x\"'<>", hostile, "Remote", None)],
            );
            for path in [
                format!("/careers-sites/{site}"),
                format!("/careers-sites/{site}/jobs/x----"),
            ] {
                let html = text(&get(&sim, &path));
                // Outside the JSON-LD blocks no markup of the title survives.
                let outside: String = html
                    .split("<script type=\"application/ld+json\">")
                    .enumerate()
                    .map(|(at, part)| {
                        if at == 0 {
                            part
                        } else {
                            part.split_once("</script>").unwrap().1
                        }
                    })
                    .collect();
                assert!(
                    !outside.contains("<script") && !outside.contains("<b>"),
                    "{outside}"
                );
                assert!(
                    outside.contains(
                        "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;"
                    ),
                    "{shape:?} {path}: {outside}"
                );
                // Inside them `</` is `<\/`: each block ends where it should
                // and still reads back as the same title.
                let found = postings_on(&html);
                if shape == CareersShape::Linked && !path.contains("/jobs/") {
                    assert!(found.is_empty());
                    continue;
                }
                assert!(
                    html.contains("<\\/script><script>alert(1)<\\/script>"),
                    "{html}"
                );
                assert_eq!(found[0]["title"], hostile, "{shape:?} {path}");
            }
        }
    }

    #[test]
    fn the_posting_builder_follows_googles_job_posting_shape() {
        let city = posting(
            "r-1",
            "Backend Engineer",
            "Brooklyn, NY",
            Some((150_000, 190_000)),
        );
        assert_eq!(city["@context"], "https://schema.org/");
        assert_eq!(city["@type"], "JobPosting");
        assert_eq!(city["identifier"]["@type"], "PropertyValue");
        assert_eq!(city["identifier"]["value"], "r-1");
        assert_eq!(city["employmentType"], "FULL_TIME");
        assert_eq!(city["hiringOrganization"]["name"], "Acme");
        assert!(city["description"].as_str().unwrap().starts_with("<p>"));
        assert!(city["datePosted"].as_str().unwrap().len() == 10);
        assert_eq!(
            city["jobLocation"],
            json!({"@type": "Place", "address": {"@type": "PostalAddress",
                "addressLocality": "Brooklyn", "addressRegion": "NY", "addressCountry": "US"}})
        );
        assert_eq!(
            city["baseSalary"],
            json!({"@type": "MonetaryAmount", "currency": "USD", "value": {
                "@type": "QuantitativeValue", "minValue": 150_000, "maxValue": 190_000, "unitText": "YEAR"}})
        );
        assert!(city.get("jobLocationType").is_none());

        let remote = posting("r-2", "Data Engineer", "Remote", None);
        assert_eq!(remote["jobLocationType"], "TELECOMMUTE");
        assert_eq!(
            remote["applicantLocationRequirements"],
            json!({"@type": "Country", "name": "USA"})
        );
        assert!(remote.get("jobLocation").is_none() && remote.get("baseSalary").is_none());
        let town = posting("r-3", "Designer", "Austin", None);
        assert_eq!(town["jobLocation"]["address"]["addressLocality"], "Austin");
        assert!(
            town["jobLocation"]["address"]
                .get("addressRegion")
                .is_none()
        );
    }

    #[test]
    fn slugs_come_from_identifiers_made_url_safe() {
        let check = |posting: Value, expected: &str| assert_eq!(slug(&posting, 4), expected);
        check(
            json!({"identifier": {"value": "a b/c?d_e-9"}}),
            "a-b-c-d_e-9",
        );
        check(json!({"identifier": {"value": 1234}}), "1234");
        check(json!({"identifier": "req-7"}), "req-7");
        check(json!({"title": "Staff Engineer"}), "Staff-Engineer");
        check(json!({}), "job-5");
    }

    #[test]
    fn the_generated_site_moves_every_round() {
        let plain = simulator();
        assert!(plain.generated_careers().is_empty());

        let sim = Simulator::start_in_thread(SimOptions {
            boards: true,
            ..options()
        })
        .unwrap();
        let followed = sim.generated_careers();
        assert_eq!(followed.len(), 1);
        let FollowedCareers { company, site } = followed[0].clone();
        let boarded: Vec<String> = sim
            .generated_boards()
            .into_iter()
            .map(|b| b.company)
            .collect();
        assert!(!boarded.contains(&company), "{company} has a board too");
        assert!(
            sim.careers_url(&site)
                .ends_with(&format!("/careers-sites/{site}"))
        );

        let path = format!("/careers-sites/{site}");
        let read = || {
            let html = text(&get(&sim, &path));
            let outer: Value = serde_json::from_str(&blocks(&html)[0]).unwrap();
            assert_eq!(outer["@type"], "ItemList");
            postings_on(&html)
        };
        let before = read();
        assert!(before.len() >= 2);
        assert!(
            before
                .iter()
                .all(|p| p["hiringOrganization"]["name"] == json!(company))
        );
        assert!(before.iter().all(|p| p.get("baseSalary").is_some()));
        // Places as a careers page writes them, not Paraform's codes.
        assert!(before.iter().all(|p| {
            p.pointer("/jobLocation/address/addressLocality")
                .and_then(Value::as_str)
                .is_none_or(|place| !place.contains('_'))
        }));
        let max = |p: &Value| p["baseSalary"]["value"]["maxValue"].as_i64().unwrap();

        let round = sim.advance(chrono::Duration::hours(24)).round;
        let after = read();
        assert_eq!(after.len(), before.len() + 1);
        assert_eq!(
            after.last().unwrap()["identifier"]["value"],
            format!("r{round}")
        );
        assert_eq!(max(&after[0]), max(&before[0]) + 5_000);
    }

    #[test]
    fn conditional_headers_are_read_and_validators_reach_the_wire() {
        let request = parse_head(
            b"GET /careers-sites/acme HTTP/1.1\r\nif-none-match: \"a\"\r\nIf-None-Match: W/\"b\"\r\nIf-Modified-Since:  Fri, 20 Nov 2026 12:00:00 GMT ",
        )
        .unwrap();
        assert_eq!(request.if_none_match.as_deref(), Some("\"a\", W/\"b\""));
        assert_eq!(
            request.if_modified_since.as_deref(),
            Some("Fri, 20 Nov 2026 12:00:00 GMT")
        );

        let sim = simulator();
        sim.set_careers("acme", CareersShape::Graph, three());
        let raw = |extra: &str| {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", sim.port())).unwrap();
            let head = format!("GET /careers-sites/acme HTTP/1.1\r\nHost: sim\r\n{extra}\r\n");
            stream.write_all(head.as_bytes()).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        };
        let full = raw("");
        assert!(full.starts_with("HTTP/1.1 200 OK\r\n"), "{full}");
        let etag = full
            .lines()
            .find_map(|line| line.strip_prefix("ETag: "))
            .unwrap()
            .to_string();
        assert!(full.contains("\r\nLast-Modified: Fri, 20 Nov 2026 12:00:00 GMT\r\n"));
        let not_modified = raw(&format!("If-None-Match: {etag}\r\n"));
        assert!(
            not_modified.starts_with("HTTP/1.1 304 Not Modified\r\n"),
            "{not_modified}"
        );
        assert!(not_modified.ends_with("\r\n\r\n"), "{not_modified}");
        assert!(!not_modified.contains("Content-Length"));
        assert!(not_modified.contains(&format!("ETag: {etag}\r\n")));
        sim.set_careers_gone_status("acme", 410);
        sim.edit_careers("acme", Vec::clear);
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", sim.port())).unwrap();
        stream
            .write_all(b"GET /careers-sites/acme/jobs/3 HTTP/1.1\r\n\r\n")
            .unwrap();
        let mut gone = String::new();
        stream.read_to_string(&mut gone).unwrap();
        assert!(gone.starts_with("HTTP/1.1 410 Gone\r\n"), "{gone}");
    }
}
