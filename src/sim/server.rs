//! A minimal HTTP/1.1 server for the simulator: one request per connection, tRPC-shaped answers, injected faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as StdDuration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::market::{DetailKind, Market};
use super::{Fault, Target};

pub const LIST_PROCEDURE: &str = "activeRoles.searchActiveRoles";
pub const SIMPLE_PROCEDURE: &str = "role.getRoleByIdSimple";
pub const DETAILED_PROCEDURE: &str = "role.getRoleByIdDetailed";
pub(crate) const SESSION_COOKIE: &str = "__Secure-next-auth.session-token";

/// The request head may not be larger than this.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A client that sends no complete head in this time is dropped.
const READ_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// Everything the server and the `Simulator` handle share.
pub(crate) struct State {
    pub(crate) market: Market,
    pub(crate) session_token: String,
    pub(crate) page_size: Option<usize>,
    pub(crate) list_faults: VecDeque<Fault>,
    pub(crate) detail_faults: VecDeque<Fault>,
    pub(crate) requests: HashMap<String, usize>,
}

pub(crate) type Shared = Arc<Mutex<State>>;

/// Locks the state; a panic elsewhere while holding the lock must not take
/// the whole simulator down, so poisoning is ignored.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accepts connections until `shutdown` fires or its sender is dropped.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    state: Shared,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(handle_connection(stream, state.clone()));
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(StdDuration::from_millis(20)).await,
            },
        }
    }
}

/// A parsed request head; the body, if any, is ignored (every call is a GET).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) cookies: Vec<(String, String)>,
}

/// A response, and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay_millis: u64,
    /// When set, sent again and again after `body` until the client hangs
    /// up, and no Content-Length is announced.
    pub(crate) endless: Option<Vec<u8>>,
}

impl Response {
    fn json(status: u16, body: &Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            delay_millis: 0,
            endless: None,
        }
    }

    fn html(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            delay_millis: 0,
            endless: None,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nConnection: close\r\n",
            self.status,
            reason_phrase(self.status),
            self.content_type,
        );
        if self.endless.is_none() {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

async fn handle_connection(mut stream: TcpStream, state: Shared) {
    let response = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => error_page(408, "request head not received in time"),
        Ok(Err(HeadError::Closed)) => return,
        Ok(Err(HeadError::TooLarge)) => error_page(431, "request head larger than 64 KiB"),
        Ok(Ok(head)) => match parse_head(&head) {
            Some(request) => respond(&state, &request),
            None => error_page(400, "malformed request"),
        },
    };
    if response.delay_millis > 0 {
        tokio::time::sleep(StdDuration::from_millis(response.delay_millis)).await;
    }
    // The client may already be gone; there is nobody to tell.
    let sent = stream.write_all(&response.to_bytes()).await;
    if let (Ok(()), Some(unit)) = (sent, &response.endless) {
        // Writes in blocks of about 64 KiB until the client hangs up.
        let block = unit.repeat((64 * 1024 / unit.len().max(1)).max(1));
        while stream.write_all(&block).await.is_ok() {}
    }
    let _ = stream.shutdown().await;
}

enum HeadError {
    Closed,
    TooLarge,
}

async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|_| HeadError::Closed)?;
        if read == 0 {
            // A partial head is garbage, but there is no one left to answer.
            return Err(HeadError::Closed);
        }
        head.extend_from_slice(&chunk[..read]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Parses a request head (without the blank line); `None` for anything that
/// is not a plausible HTTP/1.x request.
pub(crate) fn parse_head(head: &[u8]) -> Option<Request> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !version.starts_with("HTTP/1.")
        || !target.starts_with('/')
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
    {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut cookies = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("cookie") {
            continue;
        }
        for pair in value.split(';') {
            if let Some((name, value)) = pair.split_once('=') {
                cookies.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        cookies,
    })
}

/// Answers one request against the shared state.
pub(crate) fn respond(state: &Mutex<State>, request: &Request) -> Response {
    if request.method != "GET" {
        return error_page(404, "not found");
    }
    if request.path == "/login" {
        return Response::html(200, LOGIN_PAGE);
    }
    let Some(procedure) = request.path.strip_prefix("/api/trpc/") else {
        return error_page(404, "not found");
    };
    let mut state = lock(state);
    *state.requests.entry(procedure.to_string()).or_default() += 1;

    let authorized = request
        .cookies
        .iter()
        .any(|(name, value)| name == SESSION_COOKIE && *value == state.session_token);
    if !authorized {
        return trpc_error(401, "UNAUTHORIZED", "UNAUTHORIZED", procedure);
    }
    let target = match procedure {
        LIST_PROCEDURE => Target::List,
        SIMPLE_PROCEDURE | DETAILED_PROCEDURE => Target::Detail,
        _ => {
            let message = format!("No \"query\"-procedure on path \"{procedure}\"");
            return trpc_error(404, "NOT_FOUND", &message, procedure);
        }
    };
    let fault = match target {
        Target::List => state.list_faults.pop_front(),
        Target::Detail => state.detail_faults.pop_front(),
    };
    let normal = match input(&request.query) {
        Err(message) => trpc_error(400, "BAD_REQUEST", &message, procedure),
        Ok(input) => match procedure {
            LIST_PROCEDURE => list(&state, &input, procedure),
            SIMPLE_PROCEDURE => detail(&state, &input, procedure, DetailKind::Simple),
            _ => detail(&state, &input, procedure, DetailKind::Detailed),
        },
    };
    match fault {
        None => normal,
        Some(fault) => misbehave(fault, normal, request, procedure, target),
    }
}

/// The `json` object inside the `input` query parameter; no parameter at all
/// means empty filters.
fn input(query: &str) -> Result<Value, String> {
    let Some(raw) = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("input="))
    else {
        return Ok(json!({}));
    };
    // Form encoding writes spaces as '+'; a literal '+' arrives as %2B.
    let spaced = raw.replace('+', " ");
    let decoded = percent_decode_str(&spaced)
        .decode_utf8()
        .map_err(|_| "input is not UTF-8".to_string())?;
    let parsed: Value =
        serde_json::from_str(&decoded).map_err(|error| format!("input is not JSON: {error}"))?;
    match parsed.get("json") {
        Some(inner) => Ok(inner.clone()),
        None if parsed.is_object() => Ok(json!({})),
        None => Err("input must be an object".to_string()),
    }
}

fn success(payload: Value) -> Value {
    json!({"result": {"data": {"json": payload}}})
}

/// The listing. Filters are accepted and ignored: the real site returns every
/// active role for empty filters, which is all the scraper sends.
fn list(state: &State, input: &Value, procedure: &str) -> Response {
    let roles = state.market.listed();
    let Some(page_size) = state.page_size else {
        return Response::json(200, &success(json!(roles)));
    };
    let offset = match input.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(cursor) => match cursor.as_str().and_then(decode_cursor) {
            Some(offset) => offset,
            None => return trpc_error(400, "BAD_REQUEST", "invalid cursor", procedure),
        },
    };
    let page_size = page_size.max(1);
    let end = offset.saturating_add(page_size).min(roles.len());
    let items = roles.get(offset.min(end)..end).unwrap_or_default();
    let next_cursor = if end < roles.len() {
        json!(encode_cursor(end))
    } else {
        Value::Null
    };
    Response::json(
        200,
        &success(json!({"items": items, "nextCursor": next_cursor})),
    )
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("sim-offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("sim-offset:")?.parse().ok()
}

fn detail(state: &State, input: &Value, procedure: &str, kind: DetailKind) -> Response {
    let Some(id) = input.get("role_id").and_then(Value::as_str) else {
        return trpc_error(400, "BAD_REQUEST", "role_id is required", procedure);
    };
    match state.market.detail(id, kind) {
        Some(payload) => Response::json(200, &success(payload)),
        None => trpc_error(404, "NOT_FOUND", "Role not found", procedure),
    }
}

fn misbehave(
    fault: Fault,
    normal: Response,
    request: &Request,
    procedure: &str,
    target: Target,
) -> Response {
    match fault {
        Fault::ServerError => trpc_error(500, "INTERNAL_SERVER_ERROR", "Internal error", procedure),
        Fault::RateLimited { retry_after_secs } => {
            let mut response = trpc_error(429, "TOO_MANY_REQUESTS", "Rate limited", procedure);
            response
                .headers
                .push(("Retry-After", retry_after_secs.to_string()));
            response
        }
        Fault::Unauthorized => trpc_error(401, "UNAUTHORIZED", "UNAUTHORIZED", procedure),
        Fault::RedirectToLogin => {
            let original = if request.query.is_empty() {
                request.path.clone()
            } else {
                format!("{}?{}", request.path, request.query)
            };
            let mut response = Response::html(302, "");
            response.headers.push((
                "Location",
                format!(
                    "/login?callbackUrl={}",
                    utf8_percent_encode(&original, NON_ALPHANUMERIC)
                ),
            ));
            response
        }
        Fault::Truncated => {
            let mut response = normal;
            let half = response.body.len() / 2;
            response.body.truncate(half);
            response.status = 200;
            response
        }
        Fault::Html => Response::html(200, LOGIN_PAGE),
        Fault::Endless => {
            let mut response = Response::json(200, &json!(null));
            response.body = br#"{"result":{"data":{"json":["#.to_vec();
            response.endless = Some(
                br#"{"id":"sim-endless","name":"The same role again","status":"ACTIVE"},"#.to_vec(),
            );
            response
        }
        Fault::EmptyList => {
            let paginated = target == Target::List
                && normal.status == 200
                && serde_json::from_slice::<Value>(&normal.body)
                    .is_ok_and(|body| body["result"]["data"]["json"].get("items").is_some());
            let payload = if paginated {
                json!({"items": [], "nextCursor": null})
            } else {
                json!([])
            };
            Response::json(200, &success(payload))
        }
        Fault::WrongShape => Response::json(200, &success(json!({"unexpected": true}))),
        Fault::Skip => normal,
        Fault::Slow { millis } => Response {
            delay_millis: millis,
            ..normal
        },
    }
}

/// A tRPC error body in the shape of `error.unauthorized.sample.json`.
pub(crate) fn trpc_error(status: u16, code: &str, message: &str, procedure: &str) -> Response {
    let numeric = match code {
        "BAD_REQUEST" => -32600,
        "UNAUTHORIZED" => -32001,
        "NOT_FOUND" => -32004,
        "TOO_MANY_REQUESTS" => -32029,
        _ => -32603,
    };
    Response::json(
        status,
        &json!({"error": {"json": {
            "message": message,
            "code": numeric,
            "data": {"code": code, "httpStatus": status, "path": procedure},
        }}}),
    )
}

fn error_page(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"error": message}))
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// What a browser sees when its session is gone.
pub(crate) const LOGIN_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Log in | Paraform</title></head><body><main><h1>Welcome back</h1>\
<form method=\"post\" action=\"/api/auth/signin/email\"><label>Email <input type=\"email\" name=\"email\"></label>\
<button type=\"submit\">Continue with email</button></form></main></body></html>";
