//! Requests made the way a browser makes them: `fetch()` inside a headless
//! Chromium page at the site's base URL, carrying the session's cookies and
//! whatever the site's own scripts set there (a bot-protection clearance,
//! say). This is how the system we replace called Paraform, every time.
//! Each request goes through the shared client's politeness and retries
//! (`HttpClient::with_retries`), and its answer is read in the page under
//! the same size cap as a direct one.

use std::path::Path;
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::{CookieParam, TimeSinceEpoch};
use serde::Deserialize;

use super::{Attempt, BodyLimit, FetchError, HttpClient, Outcome, RawResponse, is_challenge};
use crate::browser::{Chromium, Window};
use crate::session::Session;

/// A headless browser with one page open at the site, ready to fetch.
/// Dropping it kills the browser (see [`Chromium`]).
pub struct PageFetcher {
    page: Page,
    timeout: Duration,
    /// Last, so that the page's handle goes before the browser does.
    chromium: Chromium,
}

impl PageFetcher {
    /// Starts `executable` headless, gives it the session's cookies for
    /// `base_url`'s host and opens `base_url`, so that the site's own
    /// scripts run as for a person. `timeout` bounds each request.
    pub async fn open(
        executable: &Path,
        base_url: &str,
        session: &Session,
        timeout: Duration,
    ) -> Result<PageFetcher, FetchError> {
        let failed = |detail: String| FetchError::Browser(detail);
        // A DevTools command outlives the page's own timeout a little, so
        // that a slow answer is the page's timeout (retried), not a
        // broken connection.
        let chromium = Chromium::launch(
            executable,
            Window::Headless,
            timeout + Duration::from_secs(10),
        )
        .await
        .map_err(|err| failed(err.to_string()))?;
        // One at a time: a cookie the browser finds invalid is left out
        // rather than failing the others (the session cookie among them).
        for cookie in session_cookies(session, base_url) {
            let name = cookie.name.clone();
            if let Err(err) = chromium.browser.set_cookies(vec![cookie]).await {
                tracing::warn!("the browser refused the session's cookie {name}: {err}");
            }
        }
        let page = chromium
            .browser
            .new_page(base_url)
            .await
            .map_err(|err| failed(format!("cannot open {base_url} in the browser: {err}")))?;
        // The site's scripts (a challenge among them) run on load.
        let _ = page.wait_for_navigation().await;
        Ok(PageFetcher {
            page,
            timeout,
            chromium,
        })
    }

    /// GETs `url` with `fetch()` in the page, through `client`'s retries
    /// and politeness; the answer is cut off at `limit` in the page.
    pub async fn get(
        &self,
        client: &HttpClient,
        url: &str,
        procedure: &str,
        limit: BodyLimit,
    ) -> Result<RawResponse, FetchError> {
        client
            .with_retries(procedure, limit, || self.attempt(url, limit.bytes))
            .await
    }

    /// Closes the browser (dropping does too, less politely).
    pub async fn close(self) {
        let PageFetcher { page, chromium, .. } = self;
        let _ = tokio::time::timeout(Duration::from_secs(2), page.close()).await;
        chromium.close().await;
    }

    async fn attempt(&self, url: &str, limit: u64) -> Outcome {
        let script = format!(
            "({FETCH_IN_PAGE})({}, {limit}, {})",
            serde_json::to_string(url).unwrap_or_else(|_| "\"\"".into()),
            self.timeout.as_millis()
        );
        let answer = match self.page.evaluate(script).await {
            Ok(result) => result.into_value::<PageAnswer>(),
            Err(err) => {
                return Outcome::Failed {
                    attempt: Attempt::Other,
                    detail: format!("the browser stopped or stopped answering ({err})"),
                };
            }
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                return Outcome::Failed {
                    attempt: Attempt::Other,
                    detail: format!("the page's answer could not be read ({err})"),
                };
            }
        };
        if answer.too_large {
            return Outcome::TooLarge;
        }
        if let Some(failure) = answer.failed {
            let detail = crate::text::cut(&crate::text::one_line(&answer.detail), 200);
            return Outcome::Failed {
                attempt: if failure == "timeout" {
                    Attempt::Timeout
                } else {
                    Attempt::Connect
                },
                detail: format!("the page's fetch() failed: {detail}"),
            };
        }
        let status = answer.status;
        let retry_after = answer
            .retry_after
            .as_deref()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Outcome::Answer {
            response: RawResponse {
                status,
                location: answer.location,
                challenge: is_challenge(status, answer.content_type.as_deref(), answer.mitigated),
                content_type: answer.content_type,
                body: answer.body,
                ..RawResponse::default()
            },
            retry_after,
        }
    }
}

/// What the page's script returns.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PageAnswer {
    status: u16,
    location: Option<String>,
    content_type: Option<String>,
    retry_after: Option<String>,
    mitigated: bool,
    body: String,
    too_large: bool,
    /// "timeout" or "network": no answer at all.
    failed: Option<String>,
    detail: String,
}

/// `fetch(url)` in the page with the page's cookies, its body read chunk by
/// chunk and given up past `limit` bytes, aborted after `timeoutMs`. A
/// redirect is followed, and reported as one (to the login page, say).
const FETCH_IN_PAGE: &str = r#"async (url, limit, timeoutMs) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const r = await fetch(url, {credentials: 'include', headers: {accept: 'application/json'}, signal: controller.signal});
    const header = (name) => r.headers.get(name);
    const answer = {status: r.status, contentType: header('content-type'), retryAfter: header('retry-after'),
                    mitigated: header('cf-mitigated') !== null};
    if (r.redirected) { answer.status = 302; answer.location = r.url; }
    if (Number(header('content-length') || 0) > limit) { controller.abort(); return {tooLarge: true}; }
    const chunks = []; let size = 0;
    if (r.body) {
      const reader = r.body.getReader();
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        size += value.length;
        if (size > limit) { controller.abort(); return {tooLarge: true}; }
        chunks.push(value);
      }
    }
    const bytes = new Uint8Array(size); let at = 0;
    for (const chunk of chunks) { bytes.set(chunk, at); at += chunk.length; }
    answer.body = new TextDecoder('utf-8').decode(bytes);
    return answer;
  } catch (e) {
    return {failed: e && e.name === 'AbortError' ? 'timeout' : 'network', detail: String(e && e.message || e)};
  } finally {
    clearTimeout(timer);
  }
}"#;

/// The session's cookies for `base_url`'s host, as the browser takes them.
/// A host-only cookie is given by URL (so `__Host-` cookies keep their
/// rules); one for a parent domain keeps its domain.
fn session_cookies(session: &Session, base_url: &str) -> Vec<CookieParam> {
    let Some(host) = reqwest::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    else {
        return Vec::new();
    };
    session
        .cookies()
        .into_iter()
        .filter(|c| crate::session::domain_matches(&c.domain, &host))
        .map(|c| {
            let prefixed = c.name.starts_with("__Secure-") || c.name.starts_with("__Host-");
            let mut param = CookieParam::new(c.name, c.value);
            if c.domain.starts_with('.') {
                param.domain = Some(c.domain);
            } else {
                param.url = Some(base_url.to_string());
            }
            param.path = Some(c.path).filter(|p| !p.is_empty());
            // The prefixes demand Secure; an export that lost the flag
            // would have the browser refuse the cookie.
            param.secure = Some(c.secure || prefixed);
            param.http_only = Some(c.http_only);
            param.expires = c.expires.filter(|e| *e > 0.0).map(TimeSinceEpoch::new);
            param
        })
        .collect()
}
