//! The companies' own job boards (SPEC §3a): the public posting APIs of
//! Greenhouse, Lever and Ashby. No login; one request per board (Lever's
//! big boards page). Each answer is read strictly: a 404 is "no such board",
//! an HTML page or a cut body is an error, never "no jobs".

use serde_json::value::RawValue;

use super::paraform::RoleList;
use super::rawjson::members;
use super::{BodyLimit, FetchError, HttpClient};

/// Lever answers at most this many postings per request.
const LEVER_PAGE: usize = 100;
/// A guard against a board that never stops paginating.
const MAX_PAGES: usize = 200;

pub use crate::company::Kind;

/// A board's list call, from the API's base URL.
fn list_url(kind: Kind, base_url: &str, board: &str, skip: usize) -> String {
    let base = base_url.trim_end_matches('/');
    match kind {
        Kind::Greenhouse => format!("{base}/v1/boards/{board}/jobs?content=true"),
        Kind::Lever => {
            format!("{base}/v0/postings/{board}?mode=json&skip={skip}&limit={LEVER_PAGE}")
        }
        Kind::Ashby => {
            format!("{base}/posting-api/job-board/{board}?includeCompensation=true")
        }
    }
}

/// Every open job of one board, as roles: external id `<board>/<job id>`,
/// the job's JSON as received.
pub async fn list_jobs(
    client: &HttpClient,
    base_url: &str,
    kind: Kind,
    board: &str,
    max_bytes: u64,
) -> Result<RoleList, FetchError> {
    find_jobs(client, base_url, kind, board, max_bytes)
        .await?
        .ok_or_else(|| FetchError::Request {
            procedure: format!("{} board {board}", kind.name()),
            detail: format!(
                "no such board (HTTP 404): check the {} name in [[companies]]",
                kind.source()
            ),
        })
}

/// [`list_jobs`], with a board that does not exist (404) as `None`.
pub async fn find_jobs(
    client: &HttpClient,
    base_url: &str,
    kind: Kind,
    board: &str,
    max_bytes: u64,
) -> Result<Option<RoleList>, FetchError> {
    let procedure = format!("{} board {board}", kind.name());
    let limit = BodyLimit {
        bytes: max_bytes,
        what: "board answer",
    };
    let mut list = RoleList::default();
    let mut skip = 0;
    for _ in 0..MAX_PAGES {
        let url = list_url(kind, base_url, board, skip);
        let response = client
            .get(&url, json_headers(), &procedure, limit)
            .await
            .map_err(|err| err.checking("the network, [boards] and any proxy (HTTPS_PROXY)"))?;
        if response.status == 404 {
            return Ok(None);
        }
        if response.status != 200 {
            return Err(FetchError::Status {
                procedure,
                status: response.status,
            });
        }
        let jobs = jobs_of(kind, &response.body).map_err(|detail| FetchError::Malformed {
            procedure: procedure.clone(),
            detail,
        })?;
        let count = jobs.len();
        for job in jobs {
            list.push_listed(job.get(), |raw| {
                crate::role::external_id(raw).map(|id| format!("{board}/{id}"))
            });
        }
        if kind != Kind::Lever || count < LEVER_PAGE {
            return Ok(Some(list));
        }
        skip += count;
    }
    Err(FetchError::Malformed {
        procedure,
        detail: format!("more than {MAX_PAGES} pages"),
    })
}

fn json_headers() -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    headers
}

/// The jobs of one answer, each unparsed: Greenhouse and Ashby wrap them in
/// `{"jobs": [...]}`, Lever answers the list itself.
fn jobs_of(kind: Kind, body: &str) -> Result<Vec<&RawValue>, String> {
    let unreadable = |err: serde_json::Error| {
        if body.trim_start().starts_with('<') {
            "an HTML page instead of JSON".to_string()
        } else if err.is_eof() {
            format!("the body stops after {} bytes (cut off)", body.len())
        } else {
            format!("invalid JSON ({err})")
        }
    };
    let list = match kind {
        Kind::Lever => body,
        Kind::Greenhouse | Kind::Ashby => {
            let [jobs] = members(body, [&["jobs"]]).map_err(unreadable)?;
            jobs.ok_or("no jobs list in the answer")?.get()
        }
    };
    serde_json::from_str::<Vec<&RawValue>>(list).map_err(|err| {
        if err.is_data() {
            "the jobs are not a list".to_string()
        } else {
            unreadable(err)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_that_is_not_a_jobs_list_is_an_error() {
        assert!(jobs_of(Kind::Ashby, r#"{"jobs": [{"id": 1}]}"#).is_ok());
        assert_eq!(
            jobs_of(Kind::Ashby, r#"{"jobs": [{"id": 1}]}"#)
                .unwrap()
                .len(),
            1
        );
        for (kind, body, expected) in [
            (Kind::Greenhouse, "<html>login</html>", "HTML page"),
            (Kind::Greenhouse, r#"{"jobs": [{"id": 1}"#, "cut off"),
            (Kind::Ashby, r#"{"apiVersion": "1"}"#, "no jobs list"),
            (Kind::Lever, r#"{"ok": false}"#, "not a list"),
        ] {
            let err = jobs_of(kind, body).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }
}
