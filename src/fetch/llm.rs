//! The model client: one OpenAI-compatible `POST {base_url}/chat/completions`
//! (OpenRouter by default; a local Ollama or llama.cpp server unchanged),
//! asking for a strict JSON Schema answer. Retries (429 honouring
//! `Retry-After`, 5xx, timeouts) come from the shared client; a refused key
//! or an empty account (401, 402, 403) is its own error, since asking again
//! cannot help and the caller stops calling for the run. The key is sent in
//! a sensitive header and never appears in an error, a log or a page.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::{BodyLimit, FetchError, HttpClient, HttpConfig};

/// The most an answer's body may hold: a briefing is a few KiB.
const MAX_ANSWER_BYTES: u64 = 2 * 1024 * 1024;

/// The most tokens one call is counted for, each way: no model reads or
/// writes a billion tokens in one answer. A larger count (`u64::MAX` from a
/// broken provider) saturates here, so that sums over a run and the stored
/// `i64` counters never wrap.
pub const MAX_TOKENS_PER_CALL: u64 = 1_000_000_000;

/// The most one call can believably cost, in USD: what `[llm]
/// max_cost_per_run_usd` allows for a whole run at most. A reported cost
/// above it, or below zero, is an error and the answer is not used.
pub const MAX_COST_PER_CALL_USD: f64 = 1000.0;

/// How to reach the model.
#[derive(Clone)]
pub struct ChatSettings {
    /// `https://openrouter.ai/api/v1`, `http://127.0.0.1:11434/v1`, …
    pub base_url: String,
    /// Optional for a local server.
    pub api_key: Option<String>,
    /// Timeout, retries, backoff and pause, as `[llm]` sets them. Concurrency
    /// is the caller's: the pause (0 by default) spaces the starts of calls.
    pub http: HttpConfig,
    pub temperature: f64,
    pub max_tokens: u32,
    /// No retry waits past this: the end of the run's model phase.
    pub deadline: Option<std::time::Instant>,
}

impl std::fmt::Debug for ChatSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<hidden>"))
            .finish_non_exhaustive()
    }
}

/// One question: the task's system prompt, the input, and the schema.
pub struct ChatRequest<'a> {
    /// The schema name (`role_intel`, …), also used in errors.
    pub name: &'a str,
    pub model: &'a str,
    pub system: &'a str,
    pub user: &'a str,
    pub schema: &'a Value,
    /// A re-ask: the model's previous answer and what was wrong with it.
    pub correction: Option<(&'a str, &'a str)>,
}

/// What came back: the message content (still to be read as the type) and
/// what it cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatAnswer {
    pub content: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// USD, as OpenRouter reports it (`usage.cost`); 0 where not reported.
    pub cost: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// 401, 402 or 403: the key is wrong, or the account has no credits.
    /// Calling again this run cannot help.
    #[error("{0}")]
    Refused(String),
    /// Anything else that left no answer (timeouts and 5xx after retries,
    /// a malformed envelope, another 4xx); the role keeps the rules' verdict.
    #[error("{0}")]
    Failed(String),
}

pub struct ChatClient {
    http: HttpClient,
    url: String,
    settings: ChatSettings,
    openrouter: bool,
}

impl ChatClient {
    pub fn new(settings: ChatSettings) -> Result<ChatClient, FetchError> {
        let mut http = HttpClient::new(&settings.http)?;
        if let Some(deadline) = settings.deadline {
            http = http.with_deadline(deadline);
        }
        let base = settings.base_url.trim_end_matches('/');
        Ok(ChatClient {
            http,
            url: format!("{base}/chat/completions"),
            openrouter: base.contains("openrouter.ai"),
            settings,
        })
    }

    /// HTTP requests sent, retries included.
    pub fn request_count(&self) -> u64 {
        self.http.request_count()
    }

    /// The timeout, retries, backoff and pause the client asks with.
    pub fn http_config(&self) -> &HttpConfig {
        self.http.config()
    }

    /// The request body for `request` (public for tests).
    pub fn body(&self, request: &ChatRequest<'_>) -> Value {
        let mut messages = vec![
            json!({"role": "system", "content": request.system}),
            json!({"role": "user", "content": request.user}),
        ];
        if let Some((previous, problem)) = request.correction {
            messages.push(json!({"role": "assistant", "content": previous}));
            messages.push(json!({"role": "user", "content": format!(
                "That answer could not be used: {problem}. Answer again with only the JSON object, matching the schema exactly."
            )}));
        }
        let mut body = json!({
            "model": request.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": request.name, "strict": true, "schema": request.schema},
            },
        });
        if self.openrouter {
            // Only providers that honour the schema may answer; the cost comes back in `usage`.
            body["provider"] = json!({"require_parameters": true});
            body["usage"] = json!({"include": true});
        }
        body
    }

    /// Asks once (the shared client retries what is worth retrying).
    pub async fn complete(&self, request: &ChatRequest<'_>) -> Result<ChatAnswer, ChatError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.settings.api_key
            && let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {key}"))
        {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let procedure = format!("model {}", request.name);
        let limit = BodyLimit {
            bytes: MAX_ANSWER_BYTES,
            what: "model answer",
        };
        let response = self
            .http
            .post_json(&self.url, headers, &self.body(request), &procedure, limit)
            .await
            .map_err(|err| {
                ChatError::Failed(err.checking("[llm] base_url and timeout_secs").to_string())
            })?;
        read_response(response.status, &response.body, request.name)
    }
}

/// Reads a chat-completions response (public for tests).
pub fn read_response(status: u16, body: &str, name: &str) -> Result<ChatAnswer, ChatError> {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    if status != 200 {
        let message = parsed
            .as_ref()
            .and_then(|v| v["error"]["message"].as_str())
            .map(|m| format!(": {}", crate::text::terminal(m, 160)))
            .unwrap_or_default();
        return Err(match status {
            401 | 403 => ChatError::Refused(format!(
                "the model provider refused the API key (HTTP {status}{message}); model calls stopped for this run: check OPENROUTER_API_KEY or LLM_API_KEY"
            )),
            402 => ChatError::Refused(format!(
                "the model provider says the account has no credits (HTTP 402{message}); model calls stopped for this run: add credits, or lower [llm] max_cost_per_run_usd"
            )),
            _ => ChatError::Failed(format!("model {name}: HTTP {status}{message}")),
        });
    }
    let Some(envelope) = parsed else {
        return Err(ChatError::Failed(format!(
            "model {name}: the response is not JSON"
        )));
    };
    let content = envelope["choices"][0]["message"]["content"]
        .as_str()
        .ok_or_else(|| {
            ChatError::Failed(format!("model {name}: the response has no message content"))
        })?;
    let usage = &envelope["usage"];
    let count = |key: &str| usage[key].as_u64().unwrap_or(0).min(MAX_TOKENS_PER_CALL);
    // Not reported (a local server) is free; a figure no call can cost is
    // not believed, and neither is the answer that came with it.
    let cost = usage["cost"].as_f64().unwrap_or(0.0);
    if !(0.0..=MAX_COST_PER_CALL_USD).contains(&cost) {
        return Err(ChatError::Failed(format!(
            "model {name}: the provider reported a cost of {} for one call, which cannot be right; the answer was not used",
            usd_rounded(cost)
        )));
    }
    Ok(ChatAnswer {
        content: content.to_string(),
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
        cost,
    })
}

/// A dollar figure short enough to read whatever it is: `$12.35`,
/// `$1.0e308`, `$-3.00`.
fn usd_rounded(amount: f64) -> String {
    if amount.abs() < 1e6 {
        format!("${amount:.2}")
    } else {
        format!("${amount:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Usage no provider can mean: counts saturate, a cost is an error
    /// with a figure a person can read.
    #[test]
    fn absurd_usage_saturates_and_absurd_costs_are_errors() {
        let answer = |usage: &str| {
            read_response(
                200,
                &format!(r#"{{"choices":[{{"message":{{"content":"{{}}"}}}}],"usage":{usage}}}"#),
                "briefing",
            )
        };
        let max = u64::MAX;
        let saturated = answer(&format!(
            r#"{{"prompt_tokens":{max},"completion_tokens":{max},"cost":0.5}}"#
        ))
        .unwrap();
        assert_eq!(
            (saturated.prompt_tokens, saturated.completion_tokens),
            (MAX_TOKENS_PER_CALL, MAX_TOKENS_PER_CALL)
        );
        assert_eq!(saturated.cost, 0.5);
        for (cost, figure) in [
            ("1e308", "$1.0e308"),
            ("-3", "$-3.00"),
            ("1000.01", "$1000.01"),
        ] {
            match answer(&format!(r#"{{"cost":{cost}}}"#)) {
                Err(ChatError::Failed(message)) => {
                    assert!(
                        message.contains(&format!(
                            "the provider reported a cost of {figure} for one call, which cannot be right; the answer was not used"
                        )),
                        "{message}"
                    );
                    assert!(message.len() < 200, "{message}");
                }
                other => panic!("{cost}: {other:?}"),
            }
        }
        assert_eq!(answer(r#"{"cost":"n/a"}"#).unwrap().cost, 0.0);
        assert_eq!(answer(r#"{"cost":1000}"#).unwrap().cost, 1000.0);
    }

    #[test]
    fn responses_are_read_with_usage_and_cost() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":"{\"a\":1}"}}],
            "usage":{"prompt_tokens":120,"completion_tokens":30,"cost":0.0000245}}"#;
        let answer = read_response(200, body, "role_intel").unwrap();
        assert_eq!(answer.content, "{\"a\":1}");
        assert_eq!((answer.prompt_tokens, answer.completion_tokens), (120, 30));
        assert!((answer.cost - 0.0000245).abs() < 1e-12);
        // A local server reports no cost.
        let local = r#"{"choices":[{"message":{"content":"{}"}}],"usage":{"prompt_tokens":1}}"#;
        assert_eq!(read_response(200, local, "x").unwrap().cost, 0.0);
    }

    #[test]
    fn refusals_and_failures_are_told_apart() {
        let refused = |status| match read_response(
            status,
            r#"{"error":{"code":1,"message":"Insufficient credits\u001b[31m"}}"#,
            "x",
        ) {
            Err(ChatError::Refused(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(refused(402).contains("no credits (HTTP 402: Insufficient credits"));
        assert!(!refused(402).contains('\u{1b}'));
        assert!(refused(401).contains("refused the API key"));
        assert!(matches!(
            read_response(400, "{}", "x"),
            Err(ChatError::Failed(_))
        ));
        assert!(matches!(
            read_response(200, "not json", "x"),
            Err(ChatError::Failed(_))
        ));
        assert!(matches!(
            read_response(200, r#"{"choices":[]}"#, "x"),
            Err(ChatError::Failed(_))
        ));
    }

    #[test]
    fn the_key_never_shows_in_debug_and_openrouter_gets_its_fields() {
        let settings = ChatSettings {
            base_url: "https://openrouter.ai/api/v1/".into(),
            api_key: Some("sk-or-secret".into()),
            http: HttpConfig {
                timeout_secs: 5,
                max_retries: 0,
                retry_base_ms: 10,
                request_delay_ms: 0,
            },
            temperature: 0.0,
            max_tokens: 100,
            deadline: None,
        };
        assert!(!format!("{settings:?}").contains("sk-or-secret"));
        let client = ChatClient::new(settings.clone()).unwrap();
        assert_eq!(client.url, "https://openrouter.ai/api/v1/chat/completions");
        let schema = json!({"type": "object"});
        let request = ChatRequest {
            name: "role_intel",
            model: "m",
            system: "s",
            user: "u",
            schema: &schema,
            correction: Some(("bad", "expected value at line 1")),
        };
        let body = client.body(&request);
        assert_eq!(body["provider"]["require_parameters"], true);
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(body["messages"].as_array().unwrap().len(), 4);
        assert!(!body.to_string().contains("sk-or-secret"));
        let local = ChatClient::new(ChatSettings {
            base_url: "http://127.0.0.1:11434/v1".into(),
            ..settings
        })
        .unwrap();
        assert!(local.body(&request).get("provider").is_none());
    }
}
