//! The simulator's HTTP responses, shared by the marketplace and the
//! company boards and careers pages it serves (`server`, `boards`,
//! `careers`): what is sent, not how.

use serde_json::Value;

/// A response, and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay_millis: u64,
    /// Sent only once the simulator stops holding model answers.
    pub(crate) held: bool,
    /// When set, sent again and again after `body` until the client hangs
    /// up, and no Content-Length is announced.
    pub(crate) endless: Option<Vec<u8>>,
}

impl Response {
    pub(crate) fn json(status: u16, body: &Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            delay_millis: 0,
            held: false,
            endless: None,
        }
    }

    /// [`Fault::Truncated`]: a 200 whose body stops halfway (Content-Length
    /// matching the cut body).
    pub(crate) fn cut_in_half(mut self) -> Response {
        let half = self.body.len() / 2;
        self.body.truncate(half);
        self.status = 200;
        self
    }

    pub(crate) fn html(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            delay_millis: 0,
            held: false,
            endless: None,
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nConnection: close\r\n",
            self.status,
            reason_phrase(self.status),
            self.content_type,
        );
        // A 304 has no body, and its Content-Length would have to be the
        // length of the body it stands for: none is sent.
        if self.endless.is_none() && self.status != 304 {
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

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        404 => "Not Found",
        408 => "Request Timeout",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// `{},{},…`: `items` empty objects, comma-separated.
pub(crate) fn flood(items: u32) -> Vec<u8> {
    let mut bytes = b"{},".repeat(items as usize);
    bytes.pop();
    bytes
}
