//! The Paraform source: its tRPC calls, and reading their answers strictly
//! enough that a login page or a cut-off body is never taken for "no roles".

use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{COOKIE, HeaderMap, HeaderValue};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::rawjson::{self, members};
use super::{BodyLimit, FetchError, HttpClient, RawResponse};
use crate::role::external_id;
use crate::session::Session;
use crate::spool::{Spool, Spooled};

pub const SOURCE: &str = crate::role::PARAFORM;
pub const LIST_PROCEDURE: &str = "activeRoles.searchActiveRoles";
pub const SIMPLE_PROCEDURE: &str = "role.getRoleByIdSimple";
pub const DETAILED_PROCEDURE: &str = "role.getRoleByIdDetailed";
/// A guard against a server that never stops paginating.
const MAX_PAGES: usize = 1000;
/// The largest list response read (one page, when the server paginates):
/// Paraform's whole listing is a few MiB; far more is a broken or hostile server.
pub const DEFAULT_MAX_LIST_BYTES: u64 = 64 * 1024 * 1024;
/// The largest detail response read: one role with its description.
pub const DEFAULT_MAX_DETAIL_BYTES: u64 = 8 * 1024 * 1024;
/// How deep one role (or detail) may nest: serde_json's recursion limit,
/// which keeps the recursive readers after it (hashing, diffing, dropping) safe.
pub const MAX_ROLE_DEPTH: usize = 127;

/// The caps on response bodies, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub list_bytes: u64,
    pub detail_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            list_bytes: DEFAULT_MAX_LIST_BYTES,
            detail_bytes: DEFAULT_MAX_DETAIL_BYTES,
        }
    }
}

/// How Paraform is reached (`[paraform] fetch`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FetchMode {
    /// The HTTP client with the session's cookie.
    Direct,
    /// `fetch()` inside a headless Chromium page at `base_url`, every call.
    Browser,
    /// Direct until an answer is a browser challenge, then the browser for
    /// the rest of the run.
    #[default]
    Auto,
}

impl FetchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchMode::Direct => "direct",
            FetchMode::Browser => "browser",
            FetchMode::Auto => "auto",
        }
    }
}

/// How a run's Paraform calls went (`runs.paraform_fetch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Direct,
    /// Through the browser, as `fetch = "browser"` asks.
    Browser,
    /// `auto`: an answer was a browser challenge, and the calls from there
    /// on went through the browser.
    BrowserAfterChallenge,
}

impl Route {
    pub const ALL: [Route; 3] = [Route::Direct, Route::Browser, Route::BrowserAfterChallenge];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::Browser => "browser",
            Route::BrowserAfterChallenge => "browser-after-challenge",
        }
    }

    pub fn parse(text: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// How to reach Paraform: the mode, and the browser to use when it comes
/// to that (`None`: none was found on this machine).
#[derive(Debug, Clone)]
pub struct Access {
    pub mode: FetchMode,
    pub browser: Option<std::path::PathBuf>,
}

impl Default for Access {
    fn default() -> Access {
        Access {
            mode: FetchMode::Direct,
            browser: None,
        }
    }
}

/// A logged-in view of Paraform.
pub struct Paraform<'a> {
    client: &'a HttpClient,
    base_url: String,
    session: &'a Session,
    limits: Limits,
    access: Access,
    /// The browser page the calls go through, once they do.
    page: tokio::sync::OnceCell<super::browser::PageFetcher>,
    /// The call whose answer was a challenge (`auto`), once one was.
    challenged: std::sync::Mutex<Option<String>>,
}

/// The empty search filters a browser sends to list every active role (API.md).
pub fn empty_filters() -> Value {
    json!({"client":false,"statuses":[],"smart_filters":[],"location":[],"workplace":[],
        "role_type":[],"industry":[],"tech_stack":[],"size":[],
        "yoe_experience":{"min":null,"max":null},"salary":{"min":null,"max":null},
        "investors":[],"visa":[],"talent_density":[],"show_favourites":false,
        "show_agency_roles":false,"role_statuses":[],"ideal_company_ids":[],
        "hiring_count":{"min":null,"max":null},"rating":{"min":null,"max":null},
        "last_active":{"min":null,"max":null},"ai_role_titles":[],
        "currently_interviewing":false,"last_funding_round":[],
        "posted_at":{"min":null,"max":null},"responsiveness":{"min":null,"max":null},
        "active_interviews":{"min":null,"max":null},"account_manager":[],"recruiter":[],
        "not_applied":false,"matchProfilePreferences":false,"query":""})
}

/// The roles of a listing: those read, and those that could not be read on
/// their own (each a problem to record, never a reason to drop the rest).
/// The roles' texts are in its spool, not on the heap.
#[derive(Debug, Default)]
pub struct RoleList {
    /// Roles to look at, in listing order: new, or their text changed.
    pub roles: Vec<ListedRole>,
    /// Ids of listed roles whose text is exactly what is stored (see
    /// [`Unchanged`]): kept as ids only, so a quiet listing of 100,000 roles
    /// costs a few megabytes, not the listing.
    pub unchanged: Vec<String>,
    /// The first [`MAX_UNREADABLE_KEPT`] roles that could not be read, in
    /// listing order (the rest are counted in `unreadable_count`: a listing
    /// of a million broken items costs a number, not a million records).
    pub unreadable: Vec<UnreadableRole>,
    /// The ids of every unreadable role whose id could be read: listed, so
    /// never marked gone.
    pub unreadable_ids: Vec<String>,
    /// How many listed roles could not be read, in all.
    pub unreadable_count: usize,
    /// Ids of listed roles the listing itself closes (a careers posting
    /// past its `validThrough`): counted as listed, and marked gone.
    pub closed: Vec<String>,
    /// The texts of `roles`.
    spool: Spool,
}

/// A listed role as received: where its JSON text is (read again only
/// where needed, with [`RoleList::text`]) and its place in the whole listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRole {
    pub position: usize,
    text: Spooled,
    /// Its id, when it has one (read once, when listed).
    pub external_id: Option<String>,
    /// `track::content_hash` of it (computed once, when listed).
    pub content_hash: String,
    /// `track::evaluation_input` of it (computed once, when listed).
    pub evaluation_input: String,
}

/// The external id of the stored role whose text has this sha256, if any:
/// a role listed exactly as stored is not parsed at all, only counted as
/// seen (its text holds its id, so equal text is the same role).
pub type Unchanged<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Unreadable roles kept with their place and problem; the rest are counted.
pub const MAX_UNREADABLE_KEPT: usize = 20;

/// A listed role that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableRole {
    /// Its place in the whole listing (0-based, across pages).
    pub position: usize,
    /// Its id, when that much could be read.
    pub id: Option<String>,
    /// What is wrong, as a clause: "it is nested more than 127 levels deep".
    pub problem: String,
}

impl RoleList {
    /// A listed role's JSON text, as received.
    pub fn text(&self, role: &ListedRole) -> std::io::Result<String> {
        self.spool.get(role.text)
    }

    /// A listed role's JSON. The text parsed once already when it was
    /// listed, so this fails only if the spool cannot be read; then `Null`.
    pub fn value(&self, role: &ListedRole) -> Value {
        self.text(role)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null)
    }

    /// Adds a listed role from its text, parsed in full once to refuse what
    /// cannot be read (too deep): an unreadable one is noted by its place
    /// (and id, when that much reads). `id_of` reads the external id.
    pub(crate) fn push_listed(&mut self, text: &str, id_of: impl Fn(&Value) -> Option<String>) {
        let position = self.len();
        match serde_json::from_str::<Value>(text) {
            Ok(role) => {
                // No id, no role: it cannot be stored or followed, so it is
                // neither spooled nor hashed.
                let Some(external_id) = id_of(&role) else {
                    self.push_unreadable(UnreadableRole {
                        position,
                        id: None,
                        problem: "it has no id".into(),
                    });
                    return;
                };
                let content_hash = crate::track::content_hash(&role);
                let listed = ListedRole {
                    position,
                    text: self.spool.put(text),
                    external_id: Some(external_id),
                    evaluation_input: crate::track::evaluation_input(&role, &content_hash),
                    content_hash,
                };
                self.roles.push(listed);
            }
            Err(err) => self.push_unreadable(UnreadableRole {
                position,
                id: id_of_unreadable(text, id_of),
                problem: format!("it is {}", unreadable(&err)),
            }),
        }
    }

    /// A role listed where it could not be read this run (a careers job
    /// page left for the next run, or one that failed): never marked gone,
    /// and not a problem of the listing.
    pub(crate) fn keep(&mut self, id: String) {
        self.unreadable_ids.push(id);
    }

    /// A role the listing closes itself: see [`RoleList::closed`].
    pub(crate) fn close(&mut self, id: String) {
        self.closed.push(id);
    }

    /// Counts an unreadable role, keeps its id, and keeps it whole while
    /// fewer than [`MAX_UNREADABLE_KEPT`] are.
    fn push_unreadable(&mut self, role: UnreadableRole) {
        self.unreadable_count += 1;
        if let Some(id) = &role.id {
            self.unreadable_ids.push(id.clone());
        }
        if self.unreadable.len() < MAX_UNREADABLE_KEPT {
            self.unreadable.push(role);
        }
    }

    /// How many roles were listed, read or not.
    pub fn len(&self) -> usize {
        self.roles.len() + self.unchanged.len() + self.unreadable_count
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a later page, whose positions count from its own start.
    fn append(&mut self, page: RoleList) -> std::io::Result<()> {
        if self.is_empty() {
            *self = page;
            return Ok(());
        }
        let offset = self.len();
        for role in page.roles {
            let text = self.spool.put(&page.spool.get(role.text)?);
            self.roles.push(ListedRole {
                position: role.position + offset,
                text,
                ..role
            });
        }
        self.unchanged.extend(page.unchanged);
        let room = MAX_UNREADABLE_KEPT.saturating_sub(self.unreadable.len());
        self.unreadable.extend(
            page.unreadable
                .into_iter()
                .take(room)
                .map(|u| UnreadableRole {
                    position: u.position + offset,
                    ..u
                }),
        );
        self.unreadable_ids.extend(page.unreadable_ids);
        self.unreadable_count += page.unreadable_count;
        Ok(())
    }
}

/// The answer of one list call, after the tRPC envelope is removed.
#[derive(Debug)]
pub enum Payload {
    /// Every role at once (what Paraform has returned so far).
    All(RoleList),
    /// One page; `next_cursor` is `None` on the last.
    Page {
        items: RoleList,
        next_cursor: Option<Value>,
    },
}

impl<'a> Paraform<'a> {
    /// Refuses a session whose cookie has expired, or was set for another
    /// host than `base_url`'s (it would never be sent), before any request.
    pub fn new(
        client: &'a HttpClient,
        base_url: &str,
        session: &'a Session,
        now: DateTime<Utc>,
        limits: Limits,
        access: Access,
    ) -> Result<Paraform<'a>, FetchError> {
        if session.is_expired(now) {
            return Err(session_expired(session));
        }
        if let Some(mismatch) = session.host_mismatch(base_url) {
            return Err(FetchError::SessionMissing(mismatch));
        }
        Ok(Paraform {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            session,
            limits,
            access,
            page: tokio::sync::OnceCell::new(),
            challenged: std::sync::Mutex::new(None),
        })
    }

    /// How the calls so far went.
    pub fn route(&self) -> Route {
        let challenged = self
            .challenged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        match (self.access.mode, challenged) {
            (FetchMode::Browser, _) => Route::Browser,
            (_, true) => Route::BrowserAfterChallenge,
            _ => Route::Direct,
        }
    }

    /// The call whose answer was a browser challenge, if one was (`auto`).
    pub fn challenged_at(&self) -> Option<String> {
        self.challenged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Closes the browser, if one was started (dropping kills it too).
    pub async fn close(self) {
        if let Some(page) = self.page.into_inner() {
            page.close().await;
        }
    }

    /// Every active role, following pages if the server paginates.
    pub async fn list_roles(&self) -> Result<RoleList, FetchError> {
        self.list_roles_except(&|_| None).await
    }

    /// The listing, with the roles `unchanged` recognises kept as ids only.
    pub async fn list_roles_except(
        &self,
        unchanged: Unchanged<'_>,
    ) -> Result<RoleList, FetchError> {
        let limit = BodyLimit {
            bytes: self.limits.list_bytes,
            what: "list response",
        };
        let mut roles = RoleList::default();
        let mut cursor: Option<Value> = None;
        let mut seen_cursors = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut input = empty_filters();
            if let Some(cursor) = &cursor {
                input["cursor"] = cursor.clone();
            }
            let response = self.fetch(LIST_PROCEDURE, &input, limit).await?;
            let data = interpret(LIST_PROCEDURE, &response, self.session)?;
            match list_payload_except(LIST_PROCEDURE, data, unchanged)? {
                Payload::All(items) => {
                    roles.append(items).map_err(spool_failed)?;
                    return Ok(roles);
                }
                Payload::Page { items, next_cursor } => {
                    roles.append(items).map_err(spool_failed)?;
                    let Some(next) = next_cursor else {
                        return Ok(roles);
                    };
                    if !seen_cursors.insert(next.to_string()) {
                        return Err(malformed(LIST_PROCEDURE, "the pagination cursor repeated"));
                    }
                    cursor = Some(next);
                }
            }
        }
        Err(malformed(
            LIST_PROCEDURE,
            &format!("more than {MAX_PAGES} pages"),
        ))
    }

    /// A role's detail: `role.getRoleByIdSimple`, plus the full description
    /// from `role.getRoleByIdDetailed` when `with_description`.
    pub async fn role_detail(
        &self,
        role_id: &str,
        with_description: bool,
    ) -> Result<Value, FetchError> {
        let limit = BodyLimit {
            bytes: self.limits.detail_bytes,
            what: "detail response",
        };
        let input = json!({ "role_id": role_id });
        let response = self.fetch(SIMPLE_PROCEDURE, &input, limit).await?;
        let mut detail = object_payload(
            SIMPLE_PROCEDURE,
            interpret(SIMPLE_PROCEDURE, &response, self.session)?,
        )?;
        drop(response);
        if with_description {
            let response = self.fetch(DETAILED_PROCEDURE, &input, limit).await?;
            let detailed = object_payload(
                DETAILED_PROCEDURE,
                interpret(DETAILED_PROCEDURE, &response, self.session)?,
            )?;
            for (key, value) in detailed {
                // The simple call's fields win; the detailed one adds what it lacks.
                detail.entry(key).or_insert(value);
            }
        }
        Ok(Value::Object(detail))
    }

    /// One tRPC query, its body capped at `limit`; read it with [`interpret`].
    /// Direct or through the browser, as [`Access`] says: in `auto`, the
    /// first challenge moves this call and every later one to the browser.
    async fn fetch(
        &self,
        procedure: &str,
        input: &Value,
        limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        let url = trpc_url(&self.base_url, procedure, input);
        if self.page.initialized() || self.access.mode == FetchMode::Browser {
            return self.through_browser(&url, procedure, limit).await;
        }
        let response = self.direct(&url, procedure, limit).await?;
        if !response.challenge {
            return Ok(response);
        }
        let status = response.status;
        match (self.access.mode, &self.access.browser) {
            (FetchMode::Auto, Some(_)) => {
                tracing::warn!(
                    procedure,
                    status,
                    "Paraform answered with a browser challenge; the rest of this run goes through Chromium"
                );
                *self.challenged.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(procedure.to_string());
                self.through_browser(&url, procedure, limit).await
            }
            (FetchMode::Auto, None) => Err(FetchError::Challenge(format!(
                "{procedure}: Paraform answered with a browser challenge (HTTP {status}), and no Chromium or Chrome was found to answer it: install one (`sudo apt-get install chromium`) or name it with {}",
                super::BROWSER_ENV
            ))),
            _ => Err(FetchError::Challenge(format!(
                "{procedure}: Paraform answered with a browser challenge (HTTP {status}): set [paraform] fetch = \"auto\" (or \"browser\") so that air-demand fetches through Chromium"
            ))),
        }
    }

    /// The call made by `fetch()` in the browser page, started on first use.
    async fn through_browser(
        &self,
        url: &str,
        procedure: &str,
        limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        let page = self
            .page
            .get_or_try_init(|| async {
                let Some(executable) = &self.access.browser else {
                    return Err(FetchError::Browser(format!(
                        "[paraform] fetch = \"browser\" needs Chromium or Chrome, and none was found: install one (`sudo apt-get install chromium`) or name it with {}",
                        super::BROWSER_ENV
                    )));
                };
                super::browser::PageFetcher::open(
                    executable,
                    &self.base_url,
                    self.session,
                    self.client.timeout(),
                )
                .await
            })
            .await?;
        page.get(self.client, url, procedure, limit).await
    }

    /// The call made by the HTTP client with the session's cookie.
    async fn direct(
        &self,
        url: &str,
        procedure: &str,
        limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let host = reqwest::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if let Some(cookies) = self.session.cookie_header(&host) {
            let mut value = HeaderValue::from_str(&cookies).map_err(|_| FetchError::Request {
                procedure: procedure.into(),
                detail: "the session file holds a cookie that is not valid in a header".into(),
            })?;
            value.set_sensitive(true);
            headers.insert(COOKIE, value);
        }
        self.client
            .get(url, headers, procedure, limit)
            .await
            .map_err(|err| {
                err.checking("the network, [paraform] base_url and any proxy (HTTPS_PROXY)")
            })
    }
}

/// `<base>/api/trpc/<procedure>?input=<url-encoded {"json": input}>`.
pub fn trpc_url(base_url: &str, procedure: &str, input: &Value) -> String {
    let input = json!({ "json": input }).to_string();
    format!(
        "{}/api/trpc/{procedure}?input={}",
        base_url.trim_end_matches('/'),
        utf8_percent_encode(&input, NON_ALPHANUMERIC)
    )
}

/// Turns a response into its `result.data.json`, still unparsed, or the
/// precise reason it has none.
///
/// The body is checked as JSON without building it: serde_json skips raw
/// values iteratively, with no recursion limit, so a role nested deeper than
/// the limit cannot make the whole answer unreadable. Only the few envelope
/// levels are parsed here; the payload is read by [`list_payload`] or
/// [`object_payload`].
pub fn interpret<'a>(
    procedure: &str,
    response: &'a RawResponse,
    session: &Session,
) -> Result<&'a RawValue, FetchError> {
    let status = response.status;
    if response.challenge {
        // Even through the browser: the edge did not let it through.
        return Err(FetchError::Challenge(format!(
            "{procedure}: Paraform answered with a browser challenge (HTTP {status}) that the browser did not pass: sign in again with `air-demand session login` and retry"
        )));
    }
    if status == 401 || status == 403 {
        return Err(session_rejected(session));
    }
    if (300..400).contains(&status) {
        let location = response.location.as_deref().unwrap_or("");
        if location.contains("/login") || location.contains("/signin") {
            return Err(session_rejected(session));
        }
        return Err(FetchError::Status {
            procedure: procedure.into(),
            status,
        });
    }
    // One pass checks the whole body and finds both members.
    let parsed = members(&response.body, [&["error"], &["result", "data", "json"]]);
    let error = parsed
        .as_ref()
        .ok()
        .and_then(|[error, _]| *error)
        .and_then(trpc_error_code);
    if let Some(code) = error {
        if code == "UNAUTHORIZED" || code == "FORBIDDEN" {
            return Err(session_rejected(session));
        }
        return Err(malformed(
            procedure,
            &format!("the server answered with error {code}"),
        ));
    }
    if status != 200 {
        return Err(FetchError::Status {
            procedure: procedure.into(),
            status,
        });
    }
    let [_, data] = parsed.map_err(|err| malformed(procedure, &unparsable(response, &err)))?;
    data.ok_or_else(|| malformed(procedure, "no result.data.json in the answer"))
}

/// Why a body is not JSON at all. A body that stops inside a value was cut
/// off; one with a wrong character was not.
fn unparsable(response: &RawResponse, err: &serde_json::Error) -> String {
    let body = &response.body;
    let looks_like_html = response
        .content_type
        .as_deref()
        .is_some_and(|t| t.contains("html"))
        || body.trim_start().starts_with('<');
    if looks_like_html {
        "an HTML page instead of JSON".to_string()
    } else if body.trim().is_empty() {
        "an empty body".to_string()
    } else if err.is_eof() {
        format!(
            "invalid JSON: the body stops after {} bytes, in the middle of a value (cut off)",
            body.len()
        )
    } else {
        format!("invalid JSON ({err}; {} bytes)", body.len())
    }
}

/// A list call's payload: every role, or one page of them.
pub fn list_payload(procedure: &str, data: &RawValue) -> Result<Payload, FetchError> {
    list_payload_except(procedure, data, &|_| None)
}

/// [`list_payload`], with the roles `unchanged` recognises kept as ids only.
pub fn list_payload_except(
    procedure: &str,
    data: &RawValue,
    unchanged: Unchanged<'_>,
) -> Result<Payload, FetchError> {
    if data.get().starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(data.get())
            .map_err(|err| malformed(procedure, &format!("the list is {}", unreadable(&err))))?;
        return Ok(Payload::All(read_roles(items, unchanged)));
    }
    if !data.get().starts_with('{') {
        return Err(malformed(
            procedure,
            "the payload is neither a list nor a page",
        ));
    }
    let page = rawjson::page(data.get())
        .map_err(|err| malformed(procedure, &format!("the page is {}", unreadable(&err))))?;
    let Some(items) = page.items else {
        return Err(malformed(procedure, "an object without an items list"));
    };
    let next_cursor = match page.next_cursor {
        None => None,
        Some(raw) => {
            let cursor: Value = serde_json::from_str(raw.get()).map_err(|err| {
                malformed(
                    procedure,
                    &format!("the pagination cursor is {}", unreadable(&err)),
                )
            })?;
            Some(cursor).filter(|cursor| !cursor.is_null())
        }
    };
    Ok(Payload::Page {
        items: read_roles(items, unchanged),
        next_cursor,
    })
}

/// Each element of a JSON array read on its own, with the normal depth
/// limit: one that fails is noted by position (and id, when readable).
fn read_roles(items: Vec<&RawValue>, unchanged: Unchanged<'_>) -> RoleList {
    let mut list = RoleList::default();
    for item in items {
        // Same text as stored: the role was read whole before; nothing of
        // it is read now.
        if let Some(id) = unchanged(&crate::track::text_hash(item.get())) {
            list.unchanged.push(id);
            continue;
        }
        list.push_listed(item.get(), external_id);
    }
    list
}

/// The id of a role that could not be read whole: only its `id` member is
/// parsed (the others are skipped without recursion), then read by `id_of`.
fn id_of_unreadable(text: &str, id_of: impl Fn(&Value) -> Option<String>) -> Option<String> {
    let [id] = members(text, [&["id"]]).ok()?;
    let id: Value = serde_json::from_str(id?.get()).ok()?;
    id_of(&json!({ "id": id }))
}

/// What is wrong with a value that passed the syntax check but could not be
/// read, as a phrase after "is".
fn unreadable(err: &serde_json::Error) -> String {
    if err.to_string().starts_with("recursion limit exceeded") {
        format!("nested more than {MAX_ROLE_DEPTH} levels deep")
    } else {
        format!("unreadable ({err})")
    }
}

/// A detail call's payload: one object, read with the normal depth limit.
pub fn object_payload(
    procedure: &str,
    data: &RawValue,
) -> Result<serde_json::Map<String, Value>, FetchError> {
    match serde_json::from_str::<Value>(data.get()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed(procedure, "the payload is not an object")),
        Err(err) => Err(malformed(
            procedure,
            &format!("the payload is {}", unreadable(&err)),
        )),
    }
}

/// The code of a tRPC error member (`{"error": ...}`), if it names one.
fn trpc_error_code(error: &RawValue) -> Option<String> {
    let error: Value = serde_json::from_str(error.get()).ok()?;
    let code = error
        .pointer("/json/data/code")
        .or_else(|| error.pointer("/json/message"))
        .or_else(|| error.pointer("/data/code"))
        .or_else(|| error.get("message"))?;
    Some(
        code.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| code.to_string()),
    )
}

fn spool_failed(err: std::io::Error) -> FetchError {
    FetchError::Request {
        procedure: LIST_PROCEDURE.into(),
        detail: format!("keeping the listing in a temporary file failed: {err}"),
    }
}

fn malformed(procedure: &str, detail: &str) -> FetchError {
    FetchError::Malformed {
        procedure: procedure.into(),
        detail: detail.into(),
    }
}

fn session_expired(session: &Session) -> FetchError {
    let date = session
        .expires_at()
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "an unknown date".into());
    FetchError::SessionExpired(format!(
        "Paraform session expired on {date}: export a new one and run `air-demand session import FILE`"
    ))
}

/// The server refused a session we thought valid.
fn session_rejected(session: &Session) -> FetchError {
    let until = match session.expires_at() {
        Some(at) => format!(
            " (its cookie claimed to be valid until {})",
            at.format("%Y-%m-%d")
        ),
        None => String::new(),
    };
    FetchError::SessionExpired(format!(
        "Paraform rejected the session from {}{until}: it has expired or been logged out; export a new one and run `air-demand session import FILE`",
        session.origin
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session::parse(
            include_str!("../../tests/fixtures/storage_state.sample.json"),
            "s",
        )
        .unwrap()
    }

    fn check(status: u16, content_type: &str, body: &str, location: Option<&str>) -> String {
        let response = RawResponse {
            status,
            location: location.map(str::to_string),
            content_type: Some(content_type.into()),
            body: body.into(),
            ..RawResponse::default()
        };
        match interpret(LIST_PROCEDURE, &response, &session())
            .and_then(|d| list_payload(LIST_PROCEDURE, d))
        {
            Ok(Payload::All(items)) => format!("all {}", items.len()),
            Ok(Payload::Page { items, next_cursor }) => {
                format!("page {} {next_cursor:?}", items.len())
            }
            Err(FetchError::SessionExpired(_)) => "expired".into(),
            Err(FetchError::Malformed { detail, .. }) => format!("malformed: {detail}"),
            Err(other) => format!("other: {other}"),
        }
    }

    #[test]
    fn a_challenge_is_neither_a_rejected_session_nor_data() {
        let response = RawResponse {
            status: 403,
            content_type: Some("text/html".into()),
            body: "<html>Just a moment...</html>".into(),
            challenge: true,
            ..RawResponse::default()
        };
        let err = interpret(LIST_PROCEDURE, &response, &session()).unwrap_err();
        assert!(matches!(err, FetchError::Challenge(_)), "{err:?}");
        assert!(err.to_string().contains("browser challenge"), "{err}");
        for route in Route::ALL {
            assert_eq!(Route::parse(route.as_str()), Some(route));
        }
    }

    #[test]
    fn reads_the_sample() {
        let body = include_str!("../../tests/fixtures/searchActiveRoles.sample.json");
        assert_eq!(check(200, "application/json", body, None), "all 1");
    }

    #[test]
    fn reads_pages() {
        let body =
            r#"{"result":{"data":{"json":{"items":[{"id":"a"},{"id":"b"}],"nextCursor":"c2"}}}}"#;
        assert_eq!(
            check(200, "application/json", body, None),
            "page 2 Some(String(\"c2\"))"
        );
        let body = r#"{"result":{"data":{"json":{"items":[],"nextCursor":null}}}}"#;
        assert_eq!(check(200, "application/json", body, None), "page 0 None");
    }

    #[test]
    fn recognises_an_expired_session() {
        let body = include_str!("../../tests/fixtures/error.unauthorized.sample.json");
        assert_eq!(check(401, "application/json", body, None), "expired");
        assert_eq!(check(200, "application/json", body, None), "expired");
        assert_eq!(
            check(302, "text/html", "", Some("/login?callbackUrl=%2F")),
            "expired"
        );
        assert_eq!(
            check(307, "text/html", "", Some("https://www.paraform.com/login")),
            "expired"
        );
    }

    #[test]
    fn never_reads_garbage_as_zero_roles() {
        assert_eq!(
            check(
                200,
                "text/html",
                "<!doctype html><title>Log in</title>",
                None
            ),
            "malformed: an HTML page instead of JSON"
        );
        assert!(
            check(
                200,
                "application/json",
                r#"{"result":{"data":{"json":[{"id"#,
                None
            )
            .starts_with("malformed: invalid JSON")
        );
        assert_eq!(
            check(200, "application/json", "", None),
            "malformed: an empty body"
        );
        assert_eq!(
            check(
                200,
                "application/json",
                r#"{"result":{"data":{"json":{"unexpected":true}}}}"#,
                None
            ),
            "malformed: an object without an items list"
        );
        assert_eq!(
            check(200, "application/json", r#"{"ok":1}"#, None),
            "malformed: no result.data.json in the answer"
        );
        assert_eq!(
            check(
                200,
                "application/json",
                r#"{"result":{"data":{"json":"x"}}}"#,
                None
            ),
            "malformed: the payload is neither a list nor a page"
        );
        assert_eq!(
            check(404, "application/json", "{}", None),
            "other: activeRoles.searchActiveRoles: HTTP 404"
        );
    }

    /// A role `depth` levels deep: the role object, then arrays inside it.
    fn nested_role(id: &str, depth: usize) -> String {
        let arrays = depth - 1;
        format!(
            r#"{{"id":"{id}","x":{}{}}}"#,
            "[".repeat(arrays),
            "]".repeat(arrays)
        )
    }

    fn listing(roles: &[String]) -> RawResponse {
        RawResponse {
            status: 200,
            location: None,
            content_type: Some("application/json".into()),
            body: format!(
                r#"{{"result":{{"data":{{"json":[{}]}}}}}}"#,
                roles.join(",")
            ),
            ..RawResponse::default()
        }
    }

    fn read_listing(response: &RawResponse) -> Result<Payload, FetchError> {
        list_payload(
            LIST_PROCEDURE,
            interpret(LIST_PROCEDURE, response, &session())?,
        )
    }

    #[test]
    fn a_deep_role_is_reported_and_the_others_are_read() {
        let response = listing(&[
            r#"{"id":"a","name":"First"}"#.into(),
            nested_role("deep", 200),
            r#"{"id":"c","name":"Third"}"#.into(),
            nested_role("edge", MAX_ROLE_DEPTH),
        ]);
        let Ok(Payload::All(list)) = read_listing(&response) else {
            panic!("the listing was not read");
        };
        let ids: Vec<_> = list
            .roles
            .iter()
            .map(|r| list.value(r)["id"].clone())
            .collect();
        assert_eq!(ids, vec![json!("a"), json!("c"), json!("edge")]);
        let positions: Vec<usize> = list.roles.iter().map(|r| r.position).collect();
        assert_eq!(positions, vec![0, 2, 3]);
        assert_eq!(
            list.unreadable,
            vec![UnreadableRole {
                position: 1,
                id: Some("deep".into()),
                problem: "it is nested more than 127 levels deep".into(),
            }]
        );
    }

    #[test]
    fn a_role_deep_enough_to_break_a_stack_is_only_skipped() {
        let depth = 1_000_000;
        let abyss = format!(
            r#"{{"x":{}{},"id":7}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let response = listing(&[abyss, r#"{"id":"b"}"#.into()]);
        let Ok(Payload::All(list)) = read_listing(&response) else {
            panic!("the listing was not read");
        };
        let roles: Vec<Value> = list.roles.iter().map(|r| list.value(r)).collect();
        assert_eq!(roles, vec![json!({"id": "b"})]);
        assert_eq!(list.unreadable.len(), 1);
        assert_eq!(list.unreadable[0].id.as_deref(), Some("7"));
        // An id that is itself unreadable is no id.
        let response = listing(&[format!(
            r#"{{"id":{}}}"#,
            "[".repeat(300) + &"]".repeat(300)
        )]);
        let Ok(Payload::All(list)) = read_listing(&response) else {
            panic!("the listing was not read");
        };
        assert_eq!(list.unreadable[0].id, None);
    }

    #[test]
    fn a_flood_of_unreadable_roles_is_counted_not_kept() {
        // Ten thousand roles without an id, and thirty too deep with one.
        let mut items = vec!["{}".to_string(); 10_000];
        items.extend((0..30).map(|i| nested_role(&format!("deep-{i}"), 150)));
        let Ok(Payload::All(list)) = read_listing(&listing(&items)) else {
            panic!("the listing was not read");
        };
        assert_eq!(list.unreadable_count, 10_030);
        assert_eq!(list.len(), 10_030);
        assert_eq!(list.unreadable.len(), MAX_UNREADABLE_KEPT);
        assert_eq!(list.unreadable[0].problem, "it has no id");
        // Every id that could be read is kept: those roles are never gone.
        assert_eq!(list.unreadable_ids.len(), 30);
        assert!(list.roles.is_empty());
    }

    #[test]
    fn pages_number_unreadable_roles_across_the_listing() {
        let mut list = RoleList::default();
        for page in [
            format!(
                r#"{{"items":[{{"id":"a"}},{}],"nextCursor":"n"}}"#,
                nested_role("p1", 150)
            ),
            format!(
                r#"{{"items":[{},{{"id":"b"}}],"nextCursor":null}}"#,
                nested_role("p2", 150)
            ),
        ] {
            let response = RawResponse {
                body: format!(r#"{{"result":{{"data":{{"json":{page}}}}}}}"#),
                ..listing(&[])
            };
            match read_listing(&response) {
                Ok(Payload::Page { items, .. }) => list.append(items).unwrap(),
                other => panic!("{other:?}"),
            }
        }
        let positions: Vec<_> = list.unreadable.iter().map(|u| u.position).collect();
        assert_eq!(positions, vec![1, 2]);
        assert_eq!(
            list.roles.iter().map(|r| r.position).collect::<Vec<_>>(),
            vec![0, 3]
        );
        assert_eq!(list.len(), 4);
    }

    #[test]
    fn a_cut_off_body_says_so_and_other_garbage_does_not() {
        let whole = listing(&[r#"{"id":"a"}"#.into(), nested_role("deep", 300)]);
        let cut = RawResponse {
            body: whole.body[..whole.body.len() - 200].to_string(),
            ..listing(&[])
        };
        assert_eq!(
            check(200, "application/json", &cut.body, None),
            format!(
                "malformed: invalid JSON: the body stops after {} bytes, in the middle of a value (cut off)",
                cut.body.len()
            )
        );
        assert_eq!(
            check(200, "application/json", r#"{"result":x}"#, None),
            "malformed: invalid JSON (expected value at line 1 column 11; 12 bytes)"
        );
        assert_eq!(
            check(200, "application/json", r#"{"result":{}} []"#, None),
            "malformed: invalid JSON (trailing characters at line 1 column 15; 16 bytes)"
        );
    }

    #[test]
    fn a_deep_detail_is_a_clear_error() {
        let response = RawResponse {
            body: format!(
                r#"{{"result":{{"data":{{"json":{}}}}}}}"#,
                nested_role("d", 500)
            ),
            ..listing(&[])
        };
        let data = interpret(SIMPLE_PROCEDURE, &response, &session()).unwrap();
        let err = object_payload(SIMPLE_PROCEDURE, data).unwrap_err();
        assert_eq!(
            err.to_string(),
            "role.getRoleByIdSimple returned a malformed response: the payload is nested more than 127 levels deep"
        );
    }

    #[test]
    fn url_encodes_the_input() {
        let url = trpc_url(
            "http://h/",
            "role.getRoleByIdSimple",
            &json!({"role_id": "a b"}),
        );
        assert_eq!(
            url,
            "http://h/api/trpc/role.getRoleByIdSimple?input=%7B%22json%22%3A%7B%22role%5Fid%22%3A%22a%20b%22%7D%7D"
        );
    }
}
