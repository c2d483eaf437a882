//! The Paraform source: its tRPC calls, and reading their answers strictly
//! enough that a login page or a cut-off body is never taken for "no roles".

use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{COOKIE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::{FetchError, HttpClient, RawResponse};
use crate::session::Session;

pub const SOURCE: &str = "paraform";
pub const LIST_PROCEDURE: &str = "activeRoles.searchActiveRoles";
pub const SIMPLE_PROCEDURE: &str = "role.getRoleByIdSimple";
pub const DETAILED_PROCEDURE: &str = "role.getRoleByIdDetailed";
/// A guard against a server that never stops paginating.
const MAX_PAGES: usize = 1000;

/// A logged-in view of Paraform.
pub struct Paraform<'a> {
    client: &'a HttpClient,
    base_url: String,
    session: &'a Session,
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

/// The answer of one call, after the tRPC envelope is removed.
#[derive(Debug, PartialEq)]
pub enum Payload {
    /// Every role at once (what Paraform has returned so far).
    All(Vec<Value>),
    /// One page; `next_cursor` is `None` on the last.
    Page {
        items: Vec<Value>,
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
        })
    }

    /// Every active role, following pages if the server paginates.
    pub async fn list_roles(&self) -> Result<Vec<Value>, FetchError> {
        let mut roles = Vec::new();
        let mut cursor: Option<Value> = None;
        let mut seen_cursors = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut input = empty_filters();
            if let Some(cursor) = &cursor {
                input["cursor"] = cursor.clone();
            }
            let data = self.call(LIST_PROCEDURE, &input).await?;
            match list_payload(LIST_PROCEDURE, data)? {
                Payload::All(items) => {
                    roles.extend(items);
                    return Ok(roles);
                }
                Payload::Page { items, next_cursor } => {
                    roles.extend(items);
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
        let input = json!({ "role_id": role_id });
        let mut detail =
            object_payload(SIMPLE_PROCEDURE, self.call(SIMPLE_PROCEDURE, &input).await?)?;
        if with_description {
            let detailed = object_payload(
                DETAILED_PROCEDURE,
                self.call(DETAILED_PROCEDURE, &input).await?,
            )?;
            for (key, value) in detailed {
                // The simple call's fields win; the detailed one adds what it lacks.
                detail.entry(key).or_insert(value);
            }
        }
        Ok(Value::Object(detail))
    }

    /// One tRPC query; the answer's `result.data.json`.
    pub async fn call(&self, procedure: &str, input: &Value) -> Result<Value, FetchError> {
        let url = trpc_url(&self.base_url, procedure, input);
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
        let response = self
            .client
            .get(&url, headers, procedure)
            .await
            .map_err(|err| {
                err.checking("the network, [paraform] base_url and any proxy (HTTPS_PROXY)")
            })?;
        interpret(procedure, &response, self.session)
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

/// Turns a response into its `result.data.json`, or the precise reason it
/// has none.
pub fn interpret(
    procedure: &str,
    response: &RawResponse,
    session: &Session,
) -> Result<Value, FetchError> {
    let status = response.status;
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
    let parsed: Option<Value> = serde_json::from_str(&response.body).ok();
    if let Some(code) = parsed.as_ref().and_then(trpc_error_code) {
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
    let Some(mut parsed) = parsed else {
        let looks_like_html = response
            .content_type
            .as_deref()
            .is_some_and(|t| t.contains("html"))
            || response.body.trim_start().starts_with('<');
        let detail = if looks_like_html {
            "an HTML page instead of JSON".to_string()
        } else if response.body.trim().is_empty() {
            "an empty body".to_string()
        } else {
            format!(
                "invalid JSON ({} bytes, possibly cut off)",
                response.body.len()
            )
        };
        return Err(malformed(procedure, &detail));
    };
    match parsed.pointer_mut("/result/data/json") {
        Some(data) => Ok(data.take()),
        None => Err(malformed(procedure, "no result.data.json in the answer")),
    }
}

/// A list call's payload: every role, or one page of them.
pub fn list_payload(procedure: &str, data: Value) -> Result<Payload, FetchError> {
    match data {
        Value::Array(items) => Ok(Payload::All(items)),
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => Ok(Payload::Page {
                items,
                next_cursor: map.remove("nextCursor").filter(|c| !c.is_null()),
            }),
            _ => Err(malformed(procedure, "an object without an items list")),
        },
        _ => Err(malformed(
            procedure,
            "the payload is neither a list nor a page",
        )),
    }
}

/// A detail call's payload: one object.
pub fn object_payload(
    procedure: &str,
    data: Value,
) -> Result<serde_json::Map<String, Value>, FetchError> {
    match data {
        Value::Object(map) => Ok(map),
        _ => Err(malformed(procedure, "the payload is not an object")),
    }
}

fn trpc_error_code(parsed: &Value) -> Option<String> {
    let error = parsed.get("error")?;
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
