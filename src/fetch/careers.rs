//! Careers pages (SPEC §3b): a followed company's own careers page, read
//! for its schema.org `JobPosting`s (`crate::careers` reads a page; this
//! fetches them). When the page carries no postings, the job pages it links
//! are read instead, at most `max_pages` a run, least recently read first.
//!
//! Politeness: the host's `robots.txt` is obeyed (read again after a day),
//! every page is asked for conditionally (`If-None-Match`,
//! `If-Modified-Since`) so an unchanged one costs a 304, and requests go
//! one at a time through the `[boards]` client with its delay, retries and
//! size cap.
//!
//! Removal safety: a failing listing fails the company (nobody is gone on
//! its word). A posting on its own job page is gone only when the listing
//! no longer links that page and the page answers 404/410 or no longer
//! carries it; a job page not read this run (left for the next, failing,
//! or disallowed) keeps its postings. A posting past its `validThrough` is
//! closed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use reqwest::Url;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH};

use super::paraform::RoleList;
use super::{BodyLimit, FetchError, HttpClient, RawResponse};
use crate::careers::{self, Posting, Robots};
use crate::store::{CachedPosting, CareersPage};

/// `robots.txt` is read again once it is older than this (RFC 9309 asks
/// crawlers not to keep it longer than a day).
const ROBOTS_HOURS: i64 = 24;
/// A larger `robots.txt` is an error (RFC 9309 asks parsers for 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// One followed careers page.
#[derive(Debug, Clone)]
pub struct Site<'a> {
    pub url: Url,
    /// Lower case, as role ids name it.
    pub host: String,
    pub link_pattern: Option<&'a str>,
    pub max_pages: usize,
    /// The size cap of one page (`[boards] max_board_bytes`).
    pub max_bytes: u64,
}

/// What reading one site gave: its postings as a listing of roles (external
/// id `<host>/<posting id>`, the posting's JSON), notes for the run's
/// errors, and what to keep of the pages read (written with the roles).
#[derive(Debug, Default)]
pub struct CareersRead {
    pub list: RoleList,
    pub notes: Vec<String>,
    pub pages: Vec<PageUpdate>,
}

/// A change to the `careers_pages` table.
#[derive(Debug, Clone, PartialEq)]
pub enum PageUpdate {
    Save(CareersPage),
    /// The page answered 404 or 410.
    Forget(String),
}

/// Reads `site`. `cached` is what its host's pages answered before (by
/// URL); `active` the external ids of its active roles: a page that carried
/// a posting not active now is asked for in full, so that a 304 never
/// stands for a role that is not there.
pub async fn read_site(
    client: &HttpClient,
    site: &Site<'_>,
    cached: &HashMap<String, CareersPage>,
    active: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<CareersRead, FetchError> {
    let mut read = Reading {
        client,
        site,
        cached,
        active,
        now,
        out: CareersRead::default(),
        seen: HashSet::new(),
    };
    let robots = read.robots().await?;
    let listing = site.url.as_str();
    if !robots.allows(&path_of(&site.url)) {
        return Err(FetchError::Request {
            procedure: shown_path(listing),
            detail: "robots.txt disallows the careers page, so it is not read".into(),
        });
    }
    let before = read.conditional(listing);
    let response = read
        .get(listing, before, site.max_bytes, "careers page")
        .await
        .map_err(|err| {
            err.checking("the network, the careers URL in [[companies]] and [boards]")
        })?;
    let links = match response.status {
        304 if before.is_some() => {
            let page = before.cloned().unwrap_or_default();
            for posting in &page.postings {
                read.add_cached(posting);
            }
            read.save(CareersPage {
                checked_at: crate::role::timestamp(now),
                ..page.clone()
            });
            page.links
        }
        200 => {
            let page = careers::read_page(&response.body, listing, site.link_pattern);
            read.note_all(&site.url, page.notes);
            let mut carried = Vec::new();
            for posting in &page.postings {
                carried.extend(read.add_posting(posting));
            }
            let links = if page.postings.is_empty() {
                page.job_links
            } else {
                Vec::new()
            };
            read.save(read.page(listing, &response, carried, links.clone()));
            links
        }
        301 | 302 | 303 | 307 | 308 => {
            let to = response
                .location
                .as_deref()
                .map(|l| crate::text::terminal(l, 200))
                .unwrap_or_default();
            return Err(FetchError::Request {
                procedure: shown_path(listing),
                detail: format!(
                    "the careers page redirects (HTTP {}) to {to}; set careers in [[companies]] to where it leads",
                    response.status
                ),
            });
        }
        404 | 410 => {
            return Err(FetchError::Request {
                procedure: shown_path(listing),
                detail: format!(
                    "no such page (HTTP {}): check careers in [[companies]]",
                    response.status
                ),
            });
        }
        status => {
            return Err(FetchError::Status {
                procedure: shown_path(listing),
                status,
            });
        }
    };
    if read.seen.is_empty() {
        read.follow(&links, &robots).await;
    }
    Ok(read.out)
}

/// One site being read.
struct Reading<'a> {
    client: &'a HttpClient,
    site: &'a Site<'a>,
    cached: &'a HashMap<String, CareersPage>,
    active: &'a HashSet<String>,
    now: DateTime<Utc>,
    out: CareersRead,
    /// External ids already listed, closed or kept: a posting on two pages
    /// counts once.
    seen: HashSet<String>,
}

impl<'a> Reading<'a> {
    /// For messages: `careers page at acme.com`.
    fn label(&self) -> String {
        format!(
            "careers page at {}",
            crate::text::terminal(&self.site.host, 100)
        )
    }

    /// The host's rules: from the stored copy while it is less than a day
    /// old, else asked for (conditionally). A missing `robots.txt` (4xx)
    /// allows everything; one that cannot be read (5xx, unreachable) allows
    /// nothing this run, as RFC 9309 asks.
    async fn robots(&mut self) -> Result<Robots, FetchError> {
        let Ok(url) = self.site.url.join("/robots.txt") else {
            return Ok(Robots::allow_all());
        };
        let url = url.to_string();
        let stored = self.cached.get(&url).filter(|p| p.robots.is_some());
        let fresh = stored.is_some_and(|p| {
            careers::instant(&p.checked_at).is_some_and(|at| {
                self.now - at < chrono::Duration::hours(ROBOTS_HOURS) && at <= self.now
            })
        });
        if let Some(page) = stored.filter(|_| fresh) {
            return Ok(Robots::parse(page.robots.as_deref().unwrap_or("")));
        }
        let failed = |detail: String| FetchError::Request {
            procedure: "/robots.txt".into(),
            detail: format!(
                "robots.txt could not be read ({detail}), so nothing was read this run"
            ),
        };
        let response = self
            .get(&url, stored, MAX_ROBOTS_BYTES, "robots.txt")
            .await
            .map_err(|err| failed(err.to_string()))?;
        let text = match response.status {
            304 if stored.is_some() => stored.and_then(|p| p.robots.clone()).unwrap_or_default(),
            200 => response.body.clone(),
            400..=499 => String::new(),
            status => return Err(failed(format!("HTTP {status}"))),
        };
        let mut page = self.page(&url, &response, Vec::new(), Vec::new());
        if response.status == 304
            && let Some(stored) = stored
        {
            page.etag = stored.etag.clone();
            page.last_modified = stored.last_modified.clone();
        }
        page.robots = Some(text.clone());
        self.save(page);
        Ok(Robots::parse(&text))
    }

    /// What `url` answered before, when a 304 may stand for it: every
    /// posting it carried is an active role, or past its `validThrough`
    /// (closed, and closed again by a 304).
    fn conditional(&self, url: &str) -> Option<&'a CareersPage> {
        let (active, now) = (self.active, self.now);
        self.cached.get(url).filter(|page| {
            page.postings.iter().all(|p| {
                active.contains(&p.id) || careers::expired(p.valid_through.as_deref(), now)
            })
        })
    }

    /// GETs `url`, conditionally when `before` has validators.
    async fn get(
        &self,
        url: &str,
        before: Option<&CareersPage>,
        bytes: u64,
        what: &'static str,
    ) -> Result<RawResponse, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        );
        if let Some(page) = before {
            let value =
                |v: &Option<String>| v.as_deref().and_then(|v| HeaderValue::from_str(v).ok());
            if let Some(etag) = value(&page.etag) {
                headers.insert(IF_NONE_MATCH, etag);
            }
            if let Some(since) = value(&page.last_modified) {
                headers.insert(IF_MODIFIED_SINCE, since);
            }
        }
        // The run's errors put the site's label before it.
        let procedure = shown_path(url);
        self.client
            .get(url, headers, &procedure, BodyLimit { bytes, what })
            .await
    }

    /// The row to keep for a page that answered `response`.
    fn page(
        &self,
        url: &str,
        response: &RawResponse,
        postings: Vec<CachedPosting>,
        links: Vec<String>,
    ) -> CareersPage {
        CareersPage {
            url: url.to_string(),
            host: self.site.host.clone(),
            etag: response.etag.clone(),
            last_modified: response.last_modified.clone(),
            checked_at: crate::role::timestamp(self.now),
            postings,
            links,
            robots: None,
        }
    }

    fn save(&mut self, page: CareersPage) {
        self.out.pages.push(PageUpdate::Save(page));
    }

    fn note(&mut self, line: String) {
        self.out.notes.push(format!("{}: {line}", self.label()));
    }

    fn note_all(&mut self, url: &Url, notes: Vec<String>) {
        for note in notes {
            self.note(format!("{}: {note}", shown_path(url.as_str())));
        }
    }

    /// Lists a posting read from a page (closed when past its
    /// `validThrough`); what the page is to remember of it. `None` when
    /// another page listed it already.
    fn add_posting(&mut self, posting: &Posting) -> Option<CachedPosting> {
        let id = format!("{}/{}", self.site.host, posting.id);
        if !self.seen.insert(id.clone()) {
            return None;
        }
        if posting.expired(self.now) {
            self.out.list.close(id.clone());
        } else {
            let text = posting.to_json().to_string();
            self.out.list.push_listed(&text, |_| Some(id.clone()));
        }
        Some(CachedPosting {
            id,
            valid_through: posting.valid_through.clone(),
        })
    }

    /// Lists a posting of a page that answered 304: as stored.
    fn add_cached(&mut self, posting: &CachedPosting) {
        if !self.seen.insert(posting.id.clone()) {
            return;
        }
        if careers::expired(posting.valid_through.as_deref(), self.now) {
            self.out.list.close(posting.id.clone());
        } else {
            self.out.list.unchanged.push(posting.id.clone());
        }
    }

    /// Keeps the postings a page carried: it was not read this run.
    fn keep(&mut self, page: Option<&CareersPage>) {
        self.keep_postings(page.map(|p| p.postings.as_slice()).unwrap_or_default());
    }

    /// Keeps `postings`: listed, but not read this run.
    fn keep_postings(&mut self, postings: &[CachedPosting]) {
        for posting in postings {
            if self.seen.insert(posting.id.clone()) {
                self.out.list.keep(posting.id.clone());
            }
        }
    }

    /// Reads the job pages of a listing that carries no postings: the
    /// linked ones least recently read first, then the pages that carried
    /// postings before and are linked no more (to learn whether those are
    /// gone), `max_pages` in all.
    async fn follow(&mut self, links: &[String], robots: &Robots) {
        let cached = self.cached;
        let linked: HashSet<&str> = links.iter().map(String::as_str).collect();
        let mut order: Vec<&str> = links.iter().map(String::as_str).collect();
        // Never read (None) first; the sort is stable, so the page's order
        // holds among equals.
        order.sort_by_key(|url| cached.get(*url).map(|p| p.checked_at.as_str()));
        let mut unlinked: Vec<&str> = cached
            .values()
            .filter(|p| {
                p.robots.is_none()
                    && p.url != self.site.url.as_str()
                    && !p.postings.is_empty()
                    && !linked.contains(p.url.as_str())
            })
            .map(|p| p.url.as_str())
            .collect();
        unlinked.sort_unstable();
        let mut budget = self.site.max_pages;
        let mut left = 0;
        for url in order.into_iter().chain(unlinked) {
            let is_linked = linked.contains(url);
            let before = cached.get(url);
            let allowed = Url::parse(url).is_ok_and(|u| robots.allows(&path_of(&u)));
            if !allowed {
                self.note(format!(
                    "robots.txt disallows {}; not read",
                    shown_path(url)
                ));
                self.keep(before);
                continue;
            }
            if budget == 0 {
                left += 1;
                self.keep(before);
                continue;
            }
            budget -= 1;
            let conditional = self.conditional(url);
            let response = self
                .get(url, conditional, self.site.max_bytes, "job page")
                .await;
            match response {
                Ok(r) if r.status == 304 && conditional.is_some() => {
                    let page = conditional.cloned().unwrap_or_default();
                    for posting in &page.postings {
                        self.add_cached(posting);
                    }
                    self.save(CareersPage {
                        checked_at: crate::role::timestamp(self.now),
                        ..page
                    });
                }
                Ok(r) if r.status == 200 => {
                    let page = careers::read_page(&r.body, url, None);
                    if let Ok(at) = Url::parse(url) {
                        self.note_all(&at, page.notes);
                    }
                    let mut carried = Vec::new();
                    for posting in &page.postings {
                        carried.extend(self.add_posting(posting));
                    }
                    // A linked page that stopped carrying a posting keeps it
                    // until the listing stops linking the page.
                    if is_linked && let Some(before) = before {
                        let now: HashSet<&str> = carried.iter().map(|p| p.id.as_str()).collect();
                        let missing: Vec<CachedPosting> = before
                            .postings
                            .iter()
                            .filter(|p| !now.contains(p.id.as_str()))
                            .cloned()
                            .collect();
                        self.keep_postings(&missing);
                        carried.extend(missing);
                    }
                    let row = self.page(url, &r, carried, Vec::new());
                    self.save(row);
                }
                Ok(r) if r.status == 404 || r.status == 410 => {
                    if is_linked {
                        self.note(format!(
                            "{} is linked but answered HTTP {}; its postings are kept",
                            shown_path(url),
                            r.status
                        ));
                        self.keep(before);
                    }
                    self.out.pages.push(PageUpdate::Forget(url.to_string()));
                }
                Ok(r) => {
                    self.note(format!(
                        "{} answered HTTP {}; its postings are kept",
                        shown_path(url),
                        r.status
                    ));
                    self.keep(before);
                }
                Err(err) => {
                    self.note(format!("{err}; its postings are kept"));
                    self.keep(before);
                }
            }
        }
        if left > 0 {
            self.note(format!(
                "{left} more job pages are left for the next run (max_pages = {})",
                self.site.max_pages
            ));
        }
    }
}

/// A URL's path and query, as `robots.txt` rules match them.
fn path_of(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

/// A page's path for messages: scraped, so one bounded line.
fn shown_path(url: &str) -> String {
    let path = Url::parse(url).map_or_else(|_| url.to_string(), |u| path_of(&u));
    crate::text::terminal(&path, 120)
}
