//! A minimal HTTP/1.1 server for the simulator: one request per connection, tRPC-shaped answers, an OpenAI-compatible chat-completions endpoint, company boards and careers pages, injected faults.

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

use super::http::{Response, flood};
use super::llm;
use super::market::{DetailKind, Market};
use super::{Fault, Target};

pub const LIST_PROCEDURE: &str = "activeRoles.searchActiveRoles";
pub const SIMPLE_PROCEDURE: &str = "role.getRoleByIdSimple";
pub const DETAILED_PROCEDURE: &str = "role.getRoleByIdDetailed";
pub(crate) const SESSION_COOKIE: &str = "__Secure-next-auth.session-token";
/// The model API: `{base_url}/chat/completions` for a `base_url` of `.../v1`.
pub const LLM_PATH: &str = "/v1/chat/completions";

/// The request head may not be larger than this.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A client that sends no complete head in this time is dropped; the same
/// again for a body.
const READ_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// A POST body may not be larger than this (413 otherwise): a prompt of a
/// few detail pages is tens of KiB.
pub(crate) const MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;
/// Model requests kept for `Simulator::llm_requests`: the most recent ones,
/// so that a long `simulate` does not grow without end.
const MAX_LOGGED_LLM_REQUESTS: usize = 1_000;
/// ... and at most this many body bytes of them.
const MAX_LOGGED_LLM_BYTES: usize = 64 * 1024 * 1024;

/// Everything the server and the `Simulator` handle share.
pub(crate) struct State {
    pub(crate) market: Market,
    pub(crate) session_token: String,
    pub(crate) page_size: Option<usize>,
    pub(crate) list_faults: VecDeque<Fault>,
    /// While set, model answers wait to be sent until it is cleared
    /// ([`super::Simulator::hold_model`]).
    pub(crate) model_held: bool,
    pub(crate) detail_faults: VecDeque<Fault>,
    pub(crate) requests: HashMap<String, usize>,
    /// `SimOptions::hostile`: every model answer carries hostile markup.
    pub(crate) hostile: bool,
    pub(crate) llm_faults: VecDeque<Fault>,
    /// Model requests by task name (known tasks only), faulted ones included.
    pub(crate) llm_calls: HashMap<&'static str, usize>,
    /// Every model request so far; numbers the completions.
    pub(crate) llm_seen: u64,
    /// The most recent model requests, oldest first.
    pub(crate) llm_log: VecDeque<LlmRecord>,
    /// The body bytes `llm_log` holds.
    pub(crate) llm_log_bytes: usize,
    /// The company boards (Greenhouse, Lever, Ashby) and their fault queue.
    pub(crate) boards: super::boards::Boards,
    /// The boards `SimOptions::boards` made up, moved by every round.
    pub(crate) generated_boards: Vec<super::boards::FollowedBoard>,
    pub(crate) board_faults: VecDeque<Fault>,
    /// The careers sites, the host's robots.txt and the pages' validators.
    pub(crate) careers: super::careers::Careers,
    /// The careers site `SimOptions::boards` made up, moved by every round.
    pub(crate) generated_careers: Vec<super::careers::FollowedCareers>,
    pub(crate) careers_faults: VecDeque<Fault>,
    /// "Browser required": API calls without the clearance cookie that the
    /// home page's script sets get a 403 challenge page, as a bot-protection
    /// edge answers a client that runs no JavaScript.
    pub(crate) browser_required: bool,
}

/// One model request as received, for tests.
#[derive(Debug, Clone)]
pub(crate) struct LlmRecord {
    /// The JSON body; a body that is not JSON is kept as a JSON string.
    pub(crate) body: Value,
    pub(crate) authorization: Option<String>,
    bytes: usize,
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

/// A parsed request. Only a POST has its body read (the model API); the
/// Paraform calls are GETs and a body sent with them is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) cookies: Vec<(String, String)>,
    /// The `Authorization` header as sent (`Bearer sk-...`), if any.
    pub(crate) authorization: Option<String>,
    /// `Content-Length`; a value too large for u64 reads as `u64::MAX`.
    pub(crate) content_length: Option<u64>,
    /// `If-None-Match` as sent (entity tags, comma-separated), if any.
    pub(crate) if_none_match: Option<String>,
    /// `If-Modified-Since` as sent (an HTTP date), if any.
    pub(crate) if_modified_since: Option<String>,
    pub(crate) body: Vec<u8>,
}

async fn handle_connection(mut stream: TcpStream, state: Shared) {
    let response = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => error_page(408, "request head not received in time"),
        Ok(Err(HeadError::Closed)) => return,
        Ok(Err(HeadError::TooLarge)) => error_page(431, "request head larger than 64 KiB"),
        Ok(Ok((head, rest))) => match parse_head(&head) {
            None => error_page(400, "malformed request"),
            Some(request) if request.method == "POST" => {
                match read_body(&mut stream, request, rest).await {
                    Ok(request) => respond(&state, &request),
                    Err(None) => return,
                    Err(Some(refusal)) => refusal,
                }
            }
            Some(request) => respond(&state, &request),
        },
    };
    if response.delay_millis > 0 {
        tokio::time::sleep(StdDuration::from_millis(response.delay_millis)).await;
    }
    while response.held && lock(&state).model_held {
        tokio::time::sleep(StdDuration::from_millis(10)).await;
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

/// The head (without the blank line) and the bytes read after it, which
/// begin the body.
async fn read_head(stream: &mut TcpStream) -> Result<(Vec<u8>, Vec<u8>), HeadError> {
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
        // Only the new bytes (and the three before them) can complete the end.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..read]);
        if let Some(end) = head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = from + end;
            let rest = head.split_off(end + 4);
            head.truncate(end);
            return Ok((head, rest));
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Reads a POST body of exactly `Content-Length` bytes, `rest` being those
/// already read with the head. `Err(Some(response))` refuses the request
/// (411 without a length, 413 over [`MAX_BODY_BYTES`], 408 when slow);
/// `Err(None)` means the client hung up.
async fn read_body(
    stream: &mut TcpStream,
    mut request: Request,
    mut rest: Vec<u8>,
) -> Result<Request, Option<Response>> {
    let Some(length) = request.content_length else {
        return Err(Some(refusal(&request, 411, "Content-Length is required")));
    };
    if length > MAX_BODY_BYTES {
        return Err(Some(refusal(
            &request,
            413,
            "request body larger than 4 MiB",
        )));
    }
    // Bounded by MAX_BODY_BYTES just above.
    let length = length as usize;
    let read = async {
        let mut chunk = [0u8; 16 * 1024];
        while rest.len() < length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(read) => rest.extend_from_slice(&chunk[..read]),
            }
        }
        true
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Err(_) => {
            return Err(Some(refusal(
                &request,
                408,
                "request body not received in time",
            )));
        }
        Ok(false) => return Err(None),
        Ok(true) => {}
    }
    // One request per connection: anything after the body is ignored.
    rest.truncate(length);
    request.body = rest;
    Ok(request)
}

/// An early refusal, in the error shape of the API the path belongs to.
fn refusal(request: &Request, status: u16, message: &str) -> Response {
    if request.path == LLM_PATH {
        llm_error(status, message)
    } else {
        error_page(status, message)
    }
}

/// Parses a request head (without the blank line); `None` for anything that
/// is not a plausible HTTP/1.x request, including an unreadable or
/// conflicting `Content-Length`.
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
    let mut request = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        ..Request::default()
    };
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("cookie") {
            for pair in value.split(';') {
                if let Some((name, value)) = pair.split_once('=') {
                    request
                        .cookies
                        .push((name.trim().to_string(), value.trim().to_string()));
                }
            }
        } else if name.eq_ignore_ascii_case("authorization") {
            request.authorization = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("if-none-match") {
            // Several header lines make one comma-separated list.
            request.if_none_match = Some(match request.if_none_match.take() {
                Some(seen) => format!("{seen}, {value}"),
                None => value.to_string(),
            });
        } else if name.eq_ignore_ascii_case("if-modified-since") {
            request.if_modified_since = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // All digits, so the only failure is overflow: too large.
            let length = value.parse().unwrap_or(u64::MAX);
            if request.content_length.is_some_and(|seen| seen != length) {
                return None;
            }
            request.content_length = Some(length);
        }
    }
    Some(request)
}

/// Answers one request against the shared state.
pub(crate) fn respond(state: &Mutex<State>, request: &Request) -> Response {
    if request.method == "POST" && request.path == LLM_PATH {
        return chat_completion(state, request);
    }
    if request.method == "POST" && request.path == SIGN_IN_PATH {
        return signed_in(&lock(state).session_token);
    }
    if request.method != "GET" {
        return error_page(404, "not found");
    }
    if request.path == "/login" {
        return Response::html(200, LOGIN_FORM);
    }
    if request.path == "/" {
        let state = lock(state);
        return Response::html(200, &home_page(state.browser_required));
    }
    if let Some(page) = super::careers::route(&request.path) {
        return careers(&mut lock(state), &page, request);
    }
    if let Some((kind, board)) = super::boards::route(&request.path) {
        let mut state = lock(state);
        *state
            .requests
            .entry(format!("{}:{board}", kind.source()))
            .or_default() += 1;
        let normal = state.boards.answer(kind, &board, &request.query);
        return match state.board_faults.pop_front() {
            None => normal,
            Some(fault) => super::boards::misbehave(fault, normal, kind),
        };
    }
    let Some(procedure) = request.path.strip_prefix("/api/trpc/") else {
        // Counted by path, for tests that wait for a browser to get there.
        *lock(state)
            .requests
            .entry(request.path.clone())
            .or_default() += 1;
        return error_page(404, "not found");
    };
    let mut state = lock(state);
    if state.browser_required
        && !request
            .cookies
            .iter()
            .any(|(n, v)| n == CLEARANCE_COOKIE && v == CLEARANCE)
    {
        *state.requests.entry(CHALLENGED.to_string()).or_default() += 1;
        return challenge_page();
    }
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
        // Never a tRPC procedure: these went to `chat_completion`, the
        // boards and the careers pages.
        Target::Llm | Target::Board | Target::Careers => None,
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

/// A careers page (listing, job page, robots.txt): counted by path, and
/// its 304s apart; a listing or job page takes the next careers fault.
fn careers(state: &mut State, page: &super::careers::Page, request: &Request) -> Response {
    *state
        .requests
        .entry(format!("careers:{}", request.path))
        .or_default() += 1;
    let fault = if page.takes_faults() {
        state.careers_faults.pop_front()
    } else {
        None
    };
    let conditions = super::careers::Conditions {
        path: &request.path,
        if_none_match: request.if_none_match.as_deref(),
        if_modified_since: request.if_modified_since.as_deref(),
    };
    let now = state.market.now();
    let response = state.careers.answer(page, conditions, fault, now);
    if response.status == 304 {
        *state
            .requests
            .entry(format!("careers-304:{}", request.path))
            .or_default() += 1;
    }
    response
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
        return listing(roles, None);
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
    listing(items, Some(next_cursor))
}

/// A listing answer, the roles serialised straight from the market: a
/// 10,000-role listing is not cloned first (that made the simulator, not
/// the scraper, the slow side of the benchmark).
fn listing(roles: &[Value], next_cursor: Option<Value>) -> Response {
    let mut body = br#"{"result":{"data":{"json":"#.to_vec();
    if next_cursor.is_some() {
        body.extend_from_slice(br#"{"items":"#);
    }
    // Writing into a Vec cannot fail; an empty list is the harmless fallback.
    if serde_json::to_writer(&mut body, roles).is_err() {
        body.extend_from_slice(b"[]");
    }
    if let Some(cursor) = next_cursor {
        body.extend_from_slice(format!(r#","nextCursor":{cursor}}}"#).as_bytes());
    }
    body.extend_from_slice(b"}}}");
    Response {
        body,
        ..Response::json(200, &Value::Null)
    }
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
        Fault::Truncated => normal.cut_in_half(),
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
        Fault::Flood { items } => {
            let mut body = br#"{"result":{"data":{"json":["#.to_vec();
            body.extend(flood(items));
            body.extend_from_slice(b"]}}}");
            Response {
                body,
                ..Response::json(200, &json!(null))
            }
        }
        // Model faults: the Paraform calls have no such failure.
        Fault::PaymentRequired | Fault::InvalidAnswer => {
            trpc_error(500, "INTERNAL_SERVER_ERROR", "Internal error", procedure)
        }
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

/// One chat-completion request: recorded, counted, then answered from its
/// first user message, unless a queued model fault says otherwise. A fault
/// is taken by every request, even a malformed one, as on the Paraform side.
/// The answer is worked out after the lock is released, so that a long
/// prompt holds up no other request.
fn chat_completion(state: &Mutex<State>, request: &Request) -> Response {
    let parsed: Result<Value, String> = serde_json::from_slice(&request.body)
        .map_err(|error| format!("request body is not JSON: {error}"));
    let chat = parsed
        .as_ref()
        .map_err(Clone::clone)
        .and_then(ChatRequest::read);
    let (number, fault, hostile, held) = {
        let mut state = lock(state);
        // Counted by the task it names, even when the rest of it is wrong.
        if let Some(task) = parsed.as_ref().ok().and_then(task_of) {
            *state.llm_calls.entry(task).or_default() += 1;
        }
        state.llm_seen += 1;
        record_llm(
            &mut state,
            LlmRecord {
                body: parsed.unwrap_or_else(|_| {
                    Value::String(String::from_utf8_lossy(&request.body).into_owned())
                }),
                authorization: request.authorization.clone(),
                bytes: request.body.len(),
            },
        );
        (
            state.llm_seen,
            state.llm_faults.pop_front(),
            state.hostile,
            state.model_held,
        )
    };
    let chat = match chat {
        Ok(chat) => chat,
        // A fault still decides how the request fails; a malformed request
        // has no answer to cut, delay or replace.
        Err(message) => {
            let bad = llm_error(400, &message);
            return match fault {
                None | Some(Fault::Skip | Fault::Truncated | Fault::InvalidAnswer) => bad,
                Some(Fault::Slow { millis }) => Response {
                    delay_millis: millis,
                    ..bad
                },
                Some(fault) => llm_fault(fault),
            };
        }
    };
    let content = match llm::answer(chat.task, &chat.input, hostile) {
        Ok(answer) => answer.to_string(),
        Err(message) => return llm_error(400, &message),
    };
    let completion = |content: &str| Response::json(200, &envelope(number, &chat, content));
    let response = match fault {
        None | Some(Fault::Skip) => completion(&content),
        Some(Fault::InvalidAnswer) => completion(llm::INVALID_ANSWER),
        Some(Fault::Slow { millis }) => Response {
            delay_millis: millis,
            ..completion(&content)
        },
        Some(Fault::Truncated) => {
            let mut response = completion(&content);
            let half = response.body.len() / 2;
            response.body.truncate(half);
            response
        }
        Some(fault) => llm_fault(fault),
    };
    Response { held, ..response }
}

/// Keeps a model request for the tests, forgetting the oldest ones beyond
/// the bounds.
fn record_llm(state: &mut State, record: LlmRecord) {
    state.llm_log_bytes += record.bytes;
    state.llm_log.push_back(record);
    while state.llm_log.len() > MAX_LOGGED_LLM_REQUESTS
        || (state.llm_log_bytes > MAX_LOGGED_LLM_BYTES && state.llm_log.len() > 1)
    {
        if let Some(old) = state.llm_log.pop_front() {
            state.llm_log_bytes -= old.bytes;
        }
    }
}

/// The answer of a model fault that replaces the answer altogether.
fn llm_fault(fault: Fault) -> Response {
    match fault {
        Fault::Unauthorized => llm_error(401, "No auth credentials found"),
        Fault::PaymentRequired => llm_error(402, "Insufficient credits"),
        Fault::RateLimited { retry_after_secs } => {
            let mut response = llm_error(429, "Rate limit exceeded: too many requests");
            response
                .headers
                .push(("Retry-After", retry_after_secs.to_string()));
            response
        }
        Fault::ServerError => llm_error(500, "Internal server error"),
        other => llm_error(
            500,
            &format!("Internal server error (fault {other:?} has no model form)"),
        ),
    }
}

/// What the simulator needs of a chat-completion request, checked.
struct ChatRequest {
    model: String,
    task: &'static str,
    /// The first user message: the text the answer is read from.
    input: String,
    /// Characters in all message contents, for the usage.
    prompt_chars: usize,
}

impl ChatRequest {
    fn read(body: &Value) -> Result<ChatRequest, String> {
        let model = match body.get("model") {
            Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
            _ => return Err("model must be a non-empty string".to_string()),
        };
        if body
            .get("temperature")
            .is_some_and(|t| !t.is_null() && !t.is_number())
        {
            return Err("temperature must be a number".to_string());
        }
        if body
            .get("max_tokens")
            .is_some_and(|m| !m.is_null() && m.as_u64().is_none_or(|m| m == 0))
        {
            return Err("max_tokens must be a positive integer".to_string());
        }
        let format = body.get("response_format");
        if format.and_then(|f| f.get("type")).and_then(Value::as_str) != Some("json_schema") {
            return Err("response_format.type must be \"json_schema\"".to_string());
        }
        let schema = format.and_then(|f| f.get("json_schema"));
        let Some(task) = task_of(body) else {
            return Err(format!(
                "response_format.json_schema.name must be one of {}",
                llm::TASKS.join(", ")
            ));
        };
        if schema
            .and_then(|s| s.get("schema"))
            .is_some_and(|s| !s.is_object())
        {
            return Err("response_format.json_schema.schema must be an object".to_string());
        }
        let Some(messages) = body.get("messages").and_then(Value::as_array) else {
            return Err("messages must be an array".to_string());
        };
        let mut input = None;
        let mut prompt_chars = 0usize;
        for (at, message) in messages.iter().enumerate() {
            let role = message.get("role").and_then(Value::as_str);
            let content = message.get("content").and_then(Value::as_str);
            let (Some(role), Some(content)) = (role, content) else {
                return Err(format!(
                    "messages[{at}] must have a string role and a string content"
                ));
            };
            prompt_chars += content.chars().count();
            if role == "user" && input.is_none() {
                input = Some(content.to_string());
            }
        }
        let Some(input) = input else {
            return Err("messages must include a user message".to_string());
        };
        Ok(ChatRequest {
            model,
            task,
            input,
            prompt_chars,
        })
    }
}

/// The known task a request names in `response_format.json_schema.name`.
fn task_of(body: &Value) -> Option<&'static str> {
    let name = body
        .pointer("/response_format/json_schema/name")
        .and_then(Value::as_str)?;
    llm::TASKS.iter().copied().find(|task| *task == name)
}

/// A `chat.completion` envelope carrying `content`, with usage and cost.
fn envelope(number: u64, chat: &ChatRequest, content: &str) -> Value {
    let prompt = chat.prompt_chars.div_ceil(4) as u64;
    let completion = content.chars().count().div_ceil(4) as u64;
    let usage = llm::usage(
        &chat.model,
        prompt,
        completion,
        cost(&chat.model, prompt, completion),
    );
    json!({
        "id": format!("sim-chatcmpl-{number}"),
        "object": "chat.completion",
        "model": chat.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }],
        "usage": usage,
    })
}

/// USD for the tokens at a price per million: Gemini Flash-Lite, Flash, or
/// a generic price for anything else; to 9 decimals.
pub(crate) fn cost(model: &str, prompt: u64, completion: u64) -> f64 {
    let model = model.to_ascii_lowercase();
    let (input, output) = if model.contains("flash-lite") {
        (0.10, 0.40)
    } else if model.contains("flash") {
        (0.30, 2.50)
    } else {
        (1.0, 2.0)
    };
    let usd = (prompt as f64 * input + completion as f64 * output) / 1e6;
    (usd * 1e9).round() / 1e9
}

/// An OpenAI-style error body.
fn llm_error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &json!({"error": {"code": status, "message": message}}),
    )
}

fn error_page(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"error": message}))
}

/// Where the login form posts; answered with the session cookie.
const SIGN_IN_PATH: &str = "/api/auth/callback/credentials";
/// The cookie the home page's script sets in browser-required mode.
pub(crate) const CLEARANCE_COOKIE: &str = "cf_clearance";
const CLEARANCE: &str = "sim-clearance";
/// Where [`Simulator::requests`] counts the API calls turned away with a
/// challenge page.
pub const CHALLENGED: &str = "challenged";

/// The login page: a form that signs in whoever submits it, and submits
/// itself once loaded (a simulator has no passwords to check).
const LOGIN_FORM: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Log in | Paraform (simulated)</title></head><body><main><h1>Welcome back</h1>\
<form id=\"login\" method=\"post\" action=\"/api/auth/callback/credentials\">\
<label>Email <input type=\"email\" name=\"email\" value=\"headhunter@example.com\"></label>\
<button type=\"submit\">Sign in</button></form>\
<p>This simulated marketplace signs you in by itself.</p>\
<script>window.addEventListener('load', () => setTimeout(() => document.getElementById('login').submit(), 200));</script>\
</main></body></html>";

/// The form's answer: the session cookie (30 days, as NextAuth sets it)
/// and a redirect home.
fn signed_in(token: &str) -> Response {
    let expires = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut response = Response::html(302, "<!DOCTYPE html><title>Signed in</title>");
    response.headers.push(("Location", "/".into()));
    response.headers.push((
        "Set-Cookie",
        format!(
            "{SESSION_COOKIE}={token}; Path=/; Expires={expires}; HttpOnly; Secure; SameSite=Lax"
        ),
    ));
    response
}

/// The home page; in browser-required mode its script sets the clearance
/// cookie, as a bot-protection check does once it is satisfied.
fn home_page(browser_required: bool) -> String {
    let script = if browser_required {
        format!(
            "<script>document.cookie = '{CLEARANCE_COOKIE}={CLEARANCE}; path=/; max-age=3600; SameSite=Lax';</script>"
        )
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Paraform (simulated)</title>{script}</head>\
<body><main><h1>Roles</h1><p>The simulated marketplace.</p></main></body></html>"
    )
}

/// A bot-protection edge's answer to a client without clearance.
fn challenge_page() -> Response {
    let mut response = Response::html(
        403,
        "<!DOCTYPE html><html lang=\"en\"><head><title>Just a moment...</title></head>\
<body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>",
    );
    response.headers.push(("cf-mitigated", "challenge".into()));
    response
}

/// What a browser sees when its session is gone.
pub(crate) const LOGIN_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Log in | Paraform</title></head><body><main><h1>Welcome back</h1>\
<form method=\"post\" action=\"/api/auth/signin/email\"><label>Email <input type=\"email\" name=\"email\"></label>\
<button type=\"submit\">Continue with email</button></form></main></body></html>";
