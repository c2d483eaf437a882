//! Fetching from sources over HTTP: one polite client with retries, and the
//! source adapters built on it. Nothing outside this module does HTTP.

pub mod boards;
#[cfg(feature = "browser")]
pub mod browser;
#[cfg(not(feature = "browser"))]
#[path = "no_browser.rs"]
pub mod browser;
pub mod careers;
pub mod llm;
pub mod paraform;
pub mod rawjson;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};

/// Why a fetch failed. Callers branch on the kind: an expired session is
/// reported differently from a flaky network, and none of them means "zero roles".
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The full sentence to show, with what to do.
    #[error("{0}")]
    SessionExpired(String),
    #[error("{0}")]
    SessionMissing(String),
    /// A bot-protection edge wants a browser and none could answer it: the
    /// full sentence, with what to do.
    #[error("{0}")]
    Challenge(String),
    /// The browser that makes the requests would not start or stopped.
    #[error("{0}")]
    Browser(String),
    #[error("{procedure}: still rate limited (HTTP 429) after {}", attempts_text(*attempts))]
    RateLimited { procedure: String, attempts: u32 },
    #[error("{procedure}: {detail} after {}", attempts_text(*attempts))]
    Transient {
        procedure: String,
        detail: String,
        attempts: u32,
    },
    /// The server could not be reached at all (connection refused, DNS,
    /// timeout): `check` says what to look at.
    #[error("{procedure}: {detail} after {}; check {check}", attempts_text(*attempts))]
    Unreachable {
        procedure: String,
        detail: String,
        attempts: u32,
        check: String,
    },
    #[error("{procedure}: HTTP {status}")]
    Status { procedure: String, status: u16 },
    #[error("{procedure} returned a malformed response: {detail}")]
    Malformed { procedure: String, detail: String },
    #[error("{procedure}: {detail}")]
    Request { procedure: String, detail: String },
    /// The body outgrew its cap; reading stopped there, and it is not retried
    /// (an endless or bloated answer would only cost the same again).
    #[error("{procedure}: the {what} is larger than {}", size_text(*limit))]
    TooLarge {
        procedure: String,
        what: String,
        limit: u64,
    },
}

/// "64 MiB", "1536 KiB", "1000 bytes": the cap as people set it.
pub fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    const GIB: u64 = 1024 * MIB;
    match bytes {
        b if b >= GIB && b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// The most a response body may hold, and what to call it in the error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyLimit {
    pub bytes: u64,
    /// "list response", "detail response".
    pub what: &'static str,
}

/// "1 attempt", "3 attempts".
fn attempts_text(attempts: u32) -> String {
    format!("{attempts} attempt{}", if attempts == 1 { "" } else { "s" })
}

impl FetchError {
    /// Names what to check when the server was unreachable (the source knows
    /// its config keys); other kinds are returned unchanged.
    pub fn checking(self, what: &str) -> FetchError {
        match self {
            FetchError::Unreachable {
                procedure,
                detail,
                attempts,
                ..
            } => FetchError::Unreachable {
                procedure,
                detail,
                attempts,
                check: what.to_string(),
            },
            other => other,
        }
    }
}

/// How one attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attempt {
    Status(u16),
    Timeout,
    Connect,
    /// The connection broke while the body was being read.
    Body,
    /// Anything else (a bad URL, a TLS setup error): retrying will not help.
    Other,
}

/// Retry timeouts, connection errors, broken bodies, 408, 429 and 5xx; never
/// other 4xx, which will not change by asking again.
pub fn should_retry(attempt: Attempt) -> bool {
    match attempt {
        Attempt::Status(status) => status == 408 || status == 429 || (500..=599).contains(&status),
        Attempt::Timeout | Attempt::Connect | Attempt::Body => true,
        Attempt::Other => false,
    }
}

/// The wait before retry number `retry` (0-based): `Retry-After` when the
/// server gave one (capped), else `base` doubled per retry plus up to 50% jitter.
pub fn backoff(retry: u32, base: Duration, retry_after: Option<Duration>, jitter: f64) -> Duration {
    const MAX_WAIT: Duration = Duration::from_secs(300);
    if let Some(wait) = retry_after {
        return wait.min(MAX_WAIT);
    }
    let doubled = base.saturating_mul(2u32.saturating_pow(retry.min(16)));
    doubled
        .mul_f64(1.0 + 0.5 * jitter.clamp(0.0, 1.0))
        .min(MAX_WAIT)
}

/// How the shared client asks a server: the four numbers that `[paraform]`,
/// `[boards]` and `[llm]` each set under the same names (their `http()`),
/// checked when the config is read. The one way to a client is
/// [`HttpClient::new`] with one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// Per request; 0 is read as 1 (no request can answer in no time).
    pub timeout_secs: u64,
    /// Retries after the first attempt, for what [`should_retry`] allows.
    pub max_retries: u32,
    /// The first retry waits about this long; each further one doubles it
    /// ([`backoff`]), unless the server says how long (`Retry-After`).
    pub retry_base_ms: u64,
    /// Politeness: the least time between the starts of two requests.
    pub request_delay_ms: u64,
}

impl HttpConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    pub fn retry_base(&self) -> Duration {
        Duration::from_millis(self.retry_base_ms)
    }

    pub fn request_delay(&self) -> Duration {
        Duration::from_millis(self.request_delay_ms)
    }
}

/// A finished HTTP exchange that was not retried away.
#[derive(Debug, Clone, Default)]
pub struct RawResponse {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    /// The validators, for a conditional request next time (`ETag`,
    /// `Last-Modified`), as sent; at most [`MAX_VALIDATOR`] bytes each.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: String,
    /// A bot-protection edge asked for a browser ([`is_challenge`]).
    pub challenge: bool,
}

/// A longer validator is not kept: no server needs one, and it would be
/// stored and sent back.
pub const MAX_VALIDATOR: usize = 256;

/// Whether an answer is a browser challenge (bot protection, a JavaScript
/// check) rather than the server's own: a 403 or 503 with an HTML page, or
/// any answer carrying `cf-mitigated`. Such an answer is never retried by
/// the HTTP client: asking the same way again gets the same page.
pub fn is_challenge(status: u16, content_type: Option<&str>, cf_mitigated: bool) -> bool {
    cf_mitigated
        || ((status == 403 || status == 503)
            && content_type.is_some_and(|t| t.to_ascii_lowercase().contains("html")))
}

/// How one attempt at an exchange ended, for [`HttpClient::with_retries`].
#[derive(Debug)]
pub enum Outcome {
    /// An answer. Retried when its status is one [`should_retry`] allows
    /// (unless it is a challenge), honouring `retry_after`.
    Answer {
        response: RawResponse,
        retry_after: Option<Duration>,
    },
    /// No answer: what kind of failure, described without URLs.
    Failed { attempt: Attempt, detail: String },
    /// The body outgrew its cap.
    TooLarge,
}

/// One client for all requests: timeouts, gzip, a user agent, no redirects
/// followed (a redirect to /login must be seen), politeness and retries.
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
    last_request: Mutex<Option<Instant>>,
    requests: AtomicU64,
    /// No retry waits past this (`with_deadline`).
    deadline: Option<Instant>,
    /// A server that cannot be reached is asked again (`unreachable_once`).
    retry_unreachable: bool,
}

/// Names the browser to use (`session login --browser` wins over it).
pub const BROWSER_ENV: &str = "AIR_DEMAND_BROWSER";

pub const USER_AGENT: &str = concat!("air-demand/", env!("CARGO_PKG_VERSION"));

impl HttpClient {
    /// The client `config` describes (a section's `http()`): every source
    /// and the model are asked through one of these.
    pub fn new(config: &HttpConfig) -> Result<HttpClient, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(config.timeout())
            .connect_timeout(config.timeout().min(Duration::from_secs(10)))
            .gzip(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| FetchError::Request {
                procedure: "client".into(),
                detail: format!("cannot build the HTTP client: {err}"),
            })?;
        Ok(HttpClient {
            client,
            config: *config,
            last_request: Mutex::new(None),
            requests: AtomicU64::new(0),
            deadline: None,
            retry_unreachable: true,
        })
    }

    /// The same client, giving up instead of waiting for a retry that would
    /// start after `deadline` (a `Retry-After` of an hour included): the
    /// failure is returned at once, as after the last retry.
    pub fn with_deadline(mut self, deadline: Instant) -> HttpClient {
        self.deadline = Some(deadline);
        self
    }

    /// The same client, asking once when the server cannot be reached at all
    /// (DNS, refused, no route, no connection in time): for questions whose
    /// caller stops asking that server (`companies discover`), retrying the
    /// connection only delays the one error that matters. Answers that can
    /// change (429, 5xx) and cut bodies are retried as before.
    pub fn unreachable_once(mut self) -> HttpClient {
        self.retry_unreachable = false;
        self
    }

    /// The timeout of one request.
    pub fn timeout(&self) -> Duration {
        self.config.timeout()
    }

    /// What the client was built with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// How many HTTP requests were sent, retries included.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// GETs `url`, retrying what [`should_retry`] allows. `procedure` names
    /// the call in errors and logs; header values are never logged.
    /// The body is read as a stream and given up once it outgrows `limit`,
    /// so memory stays bounded by the cap whatever the server sends.
    pub async fn get(
        &self,
        url: &str,
        headers: HeaderMap,
        procedure: &str,
        limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        self.send(url, headers, None, procedure, limit).await
    }

    /// POSTs `body` as JSON to `url`, with the same retries and caps as
    /// [`HttpClient::get`]. A non-retryable status (401, 402, 400…) comes
    /// back as a response for the caller to read.
    pub async fn post_json(
        &self,
        url: &str,
        headers: HeaderMap,
        body: &serde_json::Value,
        procedure: &str,
        limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        let bytes = serde_json::to_vec(body).map_err(|err| FetchError::Request {
            procedure: procedure.into(),
            detail: format!("cannot encode the request: {err}"),
        })?;
        self.send(url, headers, Some(bytes), procedure, limit).await
    }

    async fn send(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
        procedure: &str,
        limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        self.with_retries(procedure, limit, || {
            let request = match &body {
                None => self.client.get(url),
                Some(bytes) => self
                    .client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(bytes.clone()),
            };
            let sent = request.headers(headers.clone()).send();
            async move {
                match sent.await {
                    Ok(response) => read_attempt(response, limit.bytes).await,
                    Err(err) => Outcome::Failed {
                        attempt: classify(&err),
                        detail: describe(&err),
                    },
                }
            }
        })
        .await
    }

    /// Runs `attempt` until it gives an answer that is not worth asking
    /// again, or the retries run out: politeness before each attempt,
    /// [`should_retry`] and [`backoff`] between them, every attempt counted.
    /// The same for every way of reaching a server (this client, a
    /// browser's `fetch()`).
    pub async fn with_retries<F, Fut>(
        &self,
        procedure: &str,
        limit: BodyLimit,
        mut attempt: F,
    ) -> Result<RawResponse, FetchError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Outcome>,
    {
        let max_attempts = self.config.max_retries + 1;
        let mut attempt_no = 0;
        loop {
            attempt_no += 1;
            self.wait_politely().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let (kind, retry_after, failure) = match attempt().await {
                Outcome::Answer {
                    response,
                    retry_after,
                } => {
                    let status = response.status;
                    if response.challenge || !should_retry(Attempt::Status(status)) {
                        return Ok(response);
                    }
                    (
                        Attempt::Status(status),
                        retry_after,
                        format!("HTTP {status}"),
                    )
                }
                Outcome::TooLarge => {
                    return Err(FetchError::TooLarge {
                        procedure: procedure.into(),
                        what: limit.what.into(),
                        limit: limit.bytes,
                    });
                }
                Outcome::Failed { attempt, detail } => (attempt, None, detail),
            };
            let wait = backoff(
                attempt_no - 1,
                self.config.retry_base(),
                retry_after,
                jitter(),
            );
            let out_of_time = self
                .deadline
                .is_some_and(|deadline| Instant::now() + wait >= deadline);
            let unreachable = kind == Attempt::Connect && !self.retry_unreachable;
            let retry =
                should_retry(kind) && attempt_no < max_attempts && !out_of_time && !unreachable;
            if !retry {
                return Err(match kind {
                    Attempt::Status(429) => FetchError::RateLimited {
                        procedure: procedure.into(),
                        attempts: attempt_no,
                    },
                    Attempt::Other => FetchError::Request {
                        procedure: procedure.into(),
                        detail: failure,
                    },
                    Attempt::Connect | Attempt::Timeout => FetchError::Unreachable {
                        procedure: procedure.into(),
                        detail: failure,
                        attempts: attempt_no,
                        check: "the network and any proxy (HTTPS_PROXY)".into(),
                    },
                    _ => FetchError::Transient {
                        procedure: procedure.into(),
                        detail: failure,
                        attempts: attempt_no,
                    },
                });
            }
            tracing::warn!(
                procedure,
                attempt = attempt_no,
                wait_ms = wait.as_millis() as u64,
                "{failure}; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn wait_politely(&self) {
        let wait = {
            let mut last = self.last_request.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            // `checked_add`: a delay too long for the clock waits as long as tokio can.
            let ready_at = last
                .map(|at| {
                    at.checked_add(self.config.request_delay())
                        .unwrap_or(now + Duration::from_secs(86_400 * 365))
                })
                .unwrap_or(now);
            *last = Some(ready_at.max(now));
            ready_at.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// One exchange of the HTTP client as an [`Outcome`]: the body of an
/// answer worth keeping is read (under `limit`); a retryable one's is not.
async fn read_attempt(response: reqwest::Response, limit: u64) -> Outcome {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let challenge = is_challenge(
        status,
        content_type,
        response.headers().contains_key("cf-mitigated"),
    );
    if should_retry(Attempt::Status(status)) && !challenge {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(parse_retry_after);
        return Outcome::Answer {
            response: RawResponse {
                status,
                ..RawResponse::default()
            },
            retry_after,
        };
    }
    match read_response(response, limit).await {
        Ok(mut raw) => {
            raw.challenge = challenge;
            Outcome::Answer {
                response: raw,
                retry_after: None,
            }
        }
        Err(BodyError::TooLarge) => Outcome::TooLarge,
        // `describe`, never the error itself: its text carries the URL.
        Err(BodyError::Read(err)) => Outcome::Failed {
            attempt: Attempt::Body,
            detail: format!("reading the body failed: {}", describe(&err)),
        },
    }
}

/// Why a body was not read whole.
#[derive(Debug)]
enum BodyError {
    /// More than the cap: announced by Content-Length, or counted while streaming.
    TooLarge,
    Read(reqwest::Error),
}

/// Reads the body chunk by chunk (decompressed bytes, so a gzip bomb counts
/// at its real size) and stops as soon as it would exceed `limit`: the
/// buffer never holds more than `limit` bytes.
async fn read_response(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<RawResponse, BodyError> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let location = header(reqwest::header::LOCATION);
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let validator = |name| header(name).filter(|v: &String| v.len() <= MAX_VALIDATOR);
    let etag = validator(reqwest::header::ETAG);
    let last_modified = validator(reqwest::header::LAST_MODIFIED);
    let status = response.status().as_u16();
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit) {
        return Err(BodyError::TooLarge);
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let expected = announced.map_or(0, |length| usize::try_from(length).unwrap_or(0));
    let mut bytes: Vec<u8> = Vec::with_capacity(expected.min(limit));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if chunk.len() > limit - bytes.len() {
            return Err(BodyError::TooLarge);
        }
        let needed = bytes.len() + chunk.len();
        if needed > bytes.capacity() {
            // Doubling, but never past the cap: the buffer stays within it.
            let grown = bytes.capacity().saturating_mul(2).clamp(needed, limit);
            bytes.reserve_exact(grown - bytes.len());
        }
        bytes.extend_from_slice(&chunk);
    }
    // JSON is UTF-8 (RFC 8259); anything else is shown as is and fails to parse.
    let body = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    };
    Ok(RawResponse {
        status,
        location,
        content_type,
        etag,
        last_modified,
        body,
        challenge: false,
    })
}

/// A connection that could not be made (refused, DNS, no route, or no
/// connection in time) is `Connect`; a server that answers too slowly is
/// `Timeout`.
fn classify(err: &reqwest::Error) -> Attempt {
    if err.is_connect() {
        Attempt::Connect
    } else if err.is_timeout() {
        Attempt::Timeout
    } else if err.is_body() || err.is_decode() || err.is_request() {
        Attempt::Body
    } else {
        Attempt::Other
    }
}

/// The error without its URL: URLs carry query input, and a chain of sources
/// is noise in a one-line message.
fn describe(err: &reqwest::Error) -> String {
    let kind = match classify(err) {
        Attempt::Timeout => "timed out",
        Attempt::Connect => "connection failed",
        Attempt::Body => "connection broke during the response",
        _ => "request failed",
    };
    let mut cause = std::error::Error::source(err);
    let mut innermost = None;
    while let Some(inner) = cause {
        innermost = Some(inner.to_string());
        cause = inner.source();
    }
    match innermost {
        Some(inner) => format!("{kind} ({inner})"),
        None => kind.to_string(),
    }
}

fn parse_retry_after(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let secs = (at.timestamp() - chrono::Utc::now().timestamp()).max(0) as u64;
    Some(Duration::from_secs(secs))
}

/// A number in [0, 1) that differs between calls; enough for spreading retries.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_classification() {
        for (attempt, expected) in [
            (Attempt::Status(500), true),
            (Attempt::Status(502), true),
            (Attempt::Status(503), true),
            (Attempt::Status(429), true),
            (Attempt::Status(408), true),
            (Attempt::Status(200), false),
            (Attempt::Status(302), false),
            (Attempt::Status(400), false),
            (Attempt::Status(401), false),
            (Attempt::Status(403), false),
            (Attempt::Status(404), false),
            (Attempt::Timeout, true),
            (Attempt::Connect, true),
            (Attempt::Body, true),
            (Attempt::Other, false),
        ] {
            assert_eq!(should_retry(attempt), expected, "{attempt:?}");
        }
    }

    #[test]
    fn backoff_doubles_and_honours_retry_after() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(0, base, None, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(1, base, None, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(3, base, None, 0.0), Duration::from_millis(800));
        assert_eq!(backoff(1, base, None, 1.0), Duration::from_millis(300));
        assert_eq!(
            backoff(2, base, Some(Duration::from_secs(7)), 0.5),
            Duration::from_secs(7)
        );
        assert_eq!(backoff(40, base, None, 0.0), Duration::from_secs(300));
        assert_eq!(
            backoff(0, base, Some(Duration::from_secs(9999)), 0.0),
            Duration::from_secs(300)
        );
    }

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the test server does after its response.
    #[derive(Clone, Copy, PartialEq)]
    enum Then {
        Close,
        /// Keeps the connection open, silent, until the client hangs up.
        Hold,
        /// Sends spaces until the client hangs up.
        Endless,
    }

    /// Serves `head_and_body` to every connection on 127.0.0.1, then does
    /// `then`; returns the base URL.
    async fn serve(head_and_body: &'static [u8], then: Then) -> String {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    if stream.write_all(head_and_body).await.is_err() {
                        return;
                    }
                    let block = vec![b' '; 64 * 1024];
                    while then == Then::Endless && stream.write_all(&block).await.is_ok() {}
                    if then == Then::Hold {
                        let _ = stream.read(&mut buf).await;
                    }
                });
            }
        });
        base
    }

    fn client() -> HttpClient {
        HttpClient::new(&HttpConfig {
            timeout_secs: 60,
            max_retries: 2,
            retry_base_ms: 1,
            request_delay_ms: 0,
        })
        .unwrap()
    }

    const LIMIT: BodyLimit = BodyLimit {
        bytes: 1024 * 1024,
        what: "list response",
    };

    /// A URL as long and as private as a real tRPC query.
    fn url(base: &str) -> String {
        format!(
            "{base}/api/trpc/activeRoles.searchActiveRoles?input=%7B%22json%22{}",
            "%7B".repeat(300)
        )
    }

    #[test]
    fn challenges_are_html_refusals_or_marked() {
        assert!(is_challenge(403, Some("text/html; charset=utf-8"), false));
        assert!(is_challenge(503, Some("TEXT/HTML"), false));
        assert!(is_challenge(200, Some("application/json"), true));
        assert!(!is_challenge(403, Some("application/json"), false));
        assert!(!is_challenge(401, Some("text/html"), false));
        assert!(!is_challenge(503, None, false));
        assert!(!is_challenge(200, Some("text/html"), false));
    }

    #[tokio::test]
    async fn a_challenge_is_returned_at_once_not_retried() {
        // A 503 would be retried; a 503 challenge page is what any retry
        // would get again.
        let base = serve(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\ncf-mitigated: challenge\r\nContent-Length: 14\r\nConnection: close\r\n\r\n<html></html>\n",
            Then::Close,
        )
        .await;
        let client = client();
        let response = client
            .get(
                &url(&base),
                HeaderMap::new(),
                "activeRoles.searchActiveRoles",
                LIMIT,
            )
            .await
            .unwrap();
        assert!(response.challenge);
        assert_eq!(response.status, 503);
        assert_eq!(client.request_count(), 1);
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_cap_without_retrying() {
        let base = serve(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
            Then::Endless,
        )
        .await;
        let client = client();
        let err = client
            .get(
                &url(&base),
                HeaderMap::new(),
                "activeRoles.searchActiveRoles",
                LIMIT,
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "activeRoles.searchActiveRoles: the list response is larger than 1 MiB"
        );
        assert_eq!(client.request_count(), 1);
    }

    #[tokio::test]
    async fn an_announced_oversized_body_is_refused_before_reading() {
        // Ten bytes of a "10 GB" body, and the connection stays open: only
        // the Content-Length check can end this before the timeout.
        let base = serve(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n[{\"id\":1},",
            Then::Hold,
        )
        .await;
        let err = client()
            .get(
                &url(&base),
                HeaderMap::new(),
                "role.getRoleByIdSimple",
                BodyLimit {
                    bytes: 8 * 1024 * 1024,
                    what: "detail response",
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "role.getRoleByIdSimple: the detail response is larger than 8 MiB"
        );
    }

    #[tokio::test]
    async fn a_body_at_the_cap_is_read_whole() {
        static BODY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
            let mut bytes = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                1024 * 1024
            )
            .into_bytes();
            bytes.extend(std::iter::repeat_n(b' ', 1024 * 1024 - 2));
            bytes.extend(b"[]");
            bytes
        });
        let base = serve(&BODY, Then::Close).await;
        let raw = client()
            .get(
                &url(&base),
                HeaderMap::new(),
                "activeRoles.searchActiveRoles",
                LIMIT,
            )
            .await
            .unwrap();
        assert_eq!(raw.body.len(), 1024 * 1024);
        assert_eq!(raw.body.trim(), "[]");
    }

    #[tokio::test]
    async fn a_broken_body_names_the_procedure_not_the_url() {
        let base = serve(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"result\":",
            Then::Close,
        )
        .await;
        let client = client();
        let err = client
            .get(
                &url(&base),
                HeaderMap::new(),
                "activeRoles.searchActiveRoles",
                LIMIT,
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("activeRoles.searchActiveRoles: reading the body failed: connection broke during the response"),
            "{err}"
        );
        assert!(err.ends_with("after 3 attempts"), "{err}");
        assert!(
            !err.contains("input=") && !err.contains("127.0.0.1"),
            "{err}"
        );
        assert_eq!(client.request_count(), 3);
    }

    #[test]
    fn sizes_read_as_people_set_them() {
        assert_eq!(size_text(64 * 1024 * 1024), "64 MiB");
        assert_eq!(size_text(1024 * 1024 * 1024), "1 GiB");
        assert_eq!(size_text(1536 * 1024), "1536 KiB");
        assert_eq!(size_text(1000), "1000 bytes");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("3")),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&HeaderValue::from_static("soon")), None);
    }
}
