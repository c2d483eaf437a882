//! The companies' own job boards (SPEC §3a): the public posting APIs of
//! Greenhouse, Lever, Ashby, Workable, SmartRecruiters and Recruitee. No
//! login; one request per board (Lever's and SmartRecruiters' big boards
//! page). Each answer is read strictly: a 404 is "no such board", an HTML
//! page or a cut body is an error, never "no jobs".

use serde_json::value::RawValue;

use super::paraform::RoleList;
use super::rawjson::members;
use super::{BodyLimit, FetchError, HttpClient};

/// Lever and SmartRecruiters answer at most this many postings per request.
const PAGE: usize = 100;
/// A guard against a board that never stops paginating.
const MAX_PAGES: usize = 200;

pub use crate::company::Kind;

/// A board's list call, from the API's base URL (Recruitee's names the
/// company in its host: `https://{company}.recruitee.com`).
fn list_url(kind: Kind, base_url: &str, board: &str, skip: usize) -> String {
    let base = base_url.trim_end_matches('/');
    match kind {
        Kind::Greenhouse => format!("{base}/v1/boards/{board}/jobs?content=true"),
        Kind::Lever => format!("{base}/v0/postings/{board}?mode=json&skip={skip}&limit={PAGE}"),
        Kind::Ashby => {
            format!("{base}/posting-api/job-board/{board}?includeCompensation=true")
        }
        Kind::Workable => format!("{base}/api/v1/widget/accounts/{board}"),
        Kind::SmartRecruiters => {
            format!("{base}/v1/companies/{board}/postings?offset={skip}&limit={PAGE}")
        }
        Kind::Recruitee => format!("{}/api/offers/", base.replace("{company}", board)),
    }
}

/// Whether `kind` pages its list (and so may have more after a full page).
fn pages(kind: Kind) -> bool {
    matches!(kind, Kind::Lever | Kind::SmartRecruiters)
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
                kind.job_id(raw).map(|id| format!("{board}/{id}"))
            });
        }
        if !pages(kind) || count < PAGE {
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

/// The jobs of one answer, each unparsed: Lever answers the list itself,
/// the others wrap it (`jobs`, SmartRecruiters `content`, Recruitee
/// `offers`).
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
    let member = match kind {
        Kind::Lever => None,
        Kind::Greenhouse | Kind::Ashby | Kind::Workable => Some("jobs"),
        Kind::SmartRecruiters => Some("content"),
        Kind::Recruitee => Some("offers"),
    };
    let list = match member {
        None => body,
        Some(name) => {
            let [jobs] = members(body, [&[name]]).map_err(unreadable)?;
            jobs.ok_or_else(|| format!("no {name} list in the answer"))?
                .get()
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
    fn each_api_is_asked_at_its_own_address() {
        assert_eq!(
            list_url(Kind::Workable, "https://apply.workable.com/", "acme", 0),
            "https://apply.workable.com/api/v1/widget/accounts/acme"
        );
        assert_eq!(
            list_url(
                Kind::SmartRecruiters,
                "https://api.smartrecruiters.com",
                "Acme",
                100
            ),
            "https://api.smartrecruiters.com/v1/companies/Acme/postings?offset=100&limit=100"
        );
        assert_eq!(
            list_url(
                Kind::Recruitee,
                "https://{company}.recruitee.com",
                "acme",
                0
            ),
            "https://acme.recruitee.com/api/offers/"
        );
        assert_eq!(
            list_url(
                Kind::Recruitee,
                "http://127.0.0.1:9/recruitee/{company}",
                "acme",
                0
            ),
            "http://127.0.0.1:9/recruitee/acme/api/offers/"
        );
    }

    #[test]
    fn an_answer_that_is_not_a_jobs_list_is_an_error() {
        assert!(jobs_of(Kind::Ashby, r#"{"jobs": [{"id": 1}]}"#).is_ok());
        assert_eq!(
            jobs_of(
                Kind::SmartRecruiters,
                r#"{"totalFound": 2, "content": [{"id": "1"}, {"id": "2"}]}"#
            )
            .unwrap()
            .len(),
            2
        );
        assert_eq!(
            jobs_of(Kind::Recruitee, r#"{"offers": [{"id": 7}]}"#)
                .unwrap()
                .len(),
            1
        );
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
            (Kind::SmartRecruiters, r#"{"jobs": []}"#, "no content list"),
            (Kind::Recruitee, r#"{"offers": {}}"#, "not a list"),
        ] {
            let err = jobs_of(kind, body).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }
}
