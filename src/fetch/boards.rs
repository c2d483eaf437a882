//! The companies' own job boards (SPEC §3a): the public posting APIs of
//! Greenhouse, Lever and Ashby. No login; one request per board (Lever's
//! big boards page). Each answer is read strictly: a 404 is "no such board",
//! an HTML page or a cut body is an error, never "no jobs".

use serde_json::Value;
use serde_json::value::RawValue;

use super::paraform::RoleList;
use super::rawjson::members;
use super::{BodyLimit, FetchError, HttpClient};
use crate::role::RoleColumns;

/// Lever answers at most this many postings per request.
const LEVER_PAGE: usize = 100;
/// A guard against a board that never stops paginating.
const MAX_PAGES: usize = 200;

/// The three board APIs; `source()` is `roles.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Greenhouse,
    Lever,
    Ashby,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Greenhouse, Kind::Lever, Kind::Ashby];

    pub fn source(self) -> &'static str {
        match self {
            Kind::Greenhouse => "greenhouse",
            Kind::Lever => "lever",
            Kind::Ashby => "ashby",
        }
    }

    pub fn from_source(source: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.source() == source)
    }

    /// People's name for it: "Greenhouse".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Greenhouse => "Greenhouse",
            Kind::Lever => "Lever",
            Kind::Ashby => "Ashby",
        }
    }

    /// The board's list call, from the API's base URL.
    pub fn url(self, base_url: &str, board: &str, skip: usize) -> String {
        let base = base_url.trim_end_matches('/');
        match self {
            Kind::Greenhouse => format!("{base}/v1/boards/{board}/jobs?content=true"),
            Kind::Lever => {
                format!("{base}/v0/postings/{board}?mode=json&skip={skip}&limit={LEVER_PAGE}")
            }
            Kind::Ashby => {
                format!("{base}/posting-api/job-board/{board}?includeCompensation=true")
            }
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
        let url = kind.url(base_url, board, skip);
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

/// What a board job says, read the same way from the three shapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Job {
    pub title: Option<String>,
    /// Every location named, as given.
    pub locations: Vec<String>,
    pub url: Option<String>,
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    /// When the board says it was posted or last updated (RFC 3339).
    pub posted_at: Option<String>,
}

/// Reads a job of `kind`; fields that are missing or odd are `None`.
pub fn job(kind: Kind, raw: &Value) -> Job {
    let text = |path: &str| crate::role::text_at(raw, path);
    let number = |path: &str| {
        crate::role::value_at(raw, path)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n > 0.0)
            .map(|n| n.round() as i64)
    };
    match kind {
        Kind::Greenhouse => Job {
            title: text("title"),
            locations: text("location.name").into_iter().collect(),
            url: text("absolute_url"),
            // Greenhouse publishes pay only inside the HTML content.
            salary_min: None,
            salary_max: None,
            posted_at: text("updated_at"),
        },
        Kind::Lever => Job {
            title: text("text"),
            locations: {
                let mut all: Vec<String> = text("categories.location").into_iter().collect();
                if let Some(Value::Array(more)) =
                    crate::role::value_at(raw, "categories.allLocations")
                {
                    for place in more.iter().filter_map(Value::as_str) {
                        if !all.iter().any(|p| p == place) {
                            all.push(place.to_string());
                        }
                    }
                }
                all
            },
            url: text("hostedUrl"),
            salary_min: number("salaryRange.min"),
            salary_max: number("salaryRange.max"),
            posted_at: crate::role::value_at(raw, "createdAt")
                .and_then(Value::as_i64)
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(crate::role::timestamp),
        },
        Kind::Ashby => {
            let mut locations: Vec<String> = text("location").into_iter().collect();
            if let Some(Value::Array(more)) = raw.get("secondaryLocations") {
                for place in more
                    .iter()
                    .filter_map(|p| p.get("location").and_then(Value::as_str))
                {
                    if !locations.iter().any(|l| l == place) {
                        locations.push(place.to_string());
                    }
                }
            }
            // The salary component of the compensation summary, if any.
            let salary = raw
                .pointer("/compensation/summaryComponents")
                .and_then(Value::as_array)
                .and_then(|parts| {
                    parts.iter().find(|p| {
                        p.get("compensationType").and_then(Value::as_str) == Some("Salary")
                    })
                });
            let bound = |key: &str| {
                salary
                    .and_then(|s| s.get(key))
                    .and_then(Value::as_f64)
                    .filter(|n| n.is_finite() && *n > 0.0)
                    .map(|n| n.round() as i64)
            };
            Job {
                title: text("title"),
                locations,
                url: text("jobUrl"),
                salary_min: bound("minValue"),
                salary_max: bound("maxValue"),
                posted_at: text("publishedAt"),
            }
        }
    }
}

/// The columns of a board role: the company is the followed one's name.
pub fn columns(kind: Kind, raw: &Value, company: &str) -> RoleColumns {
    let job = job(kind, raw);
    RoleColumns {
        title: job.title,
        company: Some(company.to_string()),
        url: job
            .url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        salary_min: job.salary_min,
        salary_max: job.salary_max,
        fee_percent: None,
        posted_at: job.posted_at,
    }
}

/// The tracked changes between two versions of a board job: salary range,
/// location and title. (SPEC §4 has no title kind: a new title is recorded
/// as a STATUS_CHANGE of field `title`, the nearest the contract allows.)
pub fn diff(kind: Kind, old: &Value, new: &Value) -> Vec<crate::track::FieldChange> {
    use crate::track::{ChangeKind, FieldChange};
    let (before, after) = (job(kind, old), job(kind, new));
    let mut changes = Vec::new();
    for (field, was, is) in [
        ("salary_min", before.salary_min, after.salary_min),
        ("salary_max", before.salary_max, after.salary_max),
    ] {
        if was != is {
            let kind = match (was, is) {
                (Some(b), Some(a)) if a > b => ChangeKind::SalaryIncrease,
                (None, Some(_)) => ChangeKind::SalaryIncrease,
                _ => ChangeKind::SalaryDecrease,
            };
            changes.push(FieldChange::new(
                kind,
                field,
                was.map(|n| n.to_string()),
                is.map(|n| n.to_string()),
            ));
        }
    }
    let set = |places: &[String]| {
        let mut sorted: Vec<String> = places.iter().map(|p| p.trim().to_string()).collect();
        sorted.sort();
        sorted.dedup();
        sorted
    };
    let (was, is) = (set(&before.locations), set(&after.locations));
    if was != is {
        changes.push(FieldChange::new(
            ChangeKind::LocationChange,
            "locations",
            Some(was.join(", ")),
            Some(is.join(", ")),
        ));
    }
    if before.title != after.title {
        changes.push(FieldChange::new(
            ChangeKind::StatusChange,
            "title",
            before.title,
            after.title,
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_three_shapes() {
        let greenhouse = json!({"id": 4012345, "title": "Staff Engineer", "updated_at": "2026-11-20T10:00:00-05:00",
            "location": {"name": "New York, NY"}, "absolute_url": "https://boards.greenhouse.io/acme/jobs/4012345"});
        let job = super::job(Kind::Greenhouse, &greenhouse);
        assert_eq!(job.title.as_deref(), Some("Staff Engineer"));
        assert_eq!(job.locations, ["New York, NY"]);
        let lever = json!({"id": "5ac2-11", "text": "Backend Engineer", "createdAt": 1764000000000i64,
            "hostedUrl": "https://jobs.lever.co/acme/5ac2-11", "categories": {"location": "London", "allLocations": ["London", "Remote"]},
            "salaryRange": {"min": 150000, "max": 190000, "currency": "USD", "interval": "per-year-salary"}});
        let job = super::job(Kind::Lever, &lever);
        assert_eq!(
            (job.salary_min, job.salary_max),
            (Some(150000), Some(190000))
        );
        assert_eq!(job.locations, ["London", "Remote"]);
        assert_eq!(job.posted_at.as_deref(), Some("2025-11-24T16:00:00Z"));
        let ashby = json!({"id": "a1b2", "title": "Founding Engineer", "location": "San Francisco",
            "secondaryLocations": [{"location": "Remote"}], "jobUrl": "https://jobs.ashbyhq.com/acme/a1b2",
            "publishedAt": "2026-11-01T00:00:00Z",
            "compensation": {"summaryComponents": [{"compensationType": "EquityPercentage", "minValue": 0.1, "maxValue": 0.5},
                {"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD", "minValue": 180000, "maxValue": 230000}]}});
        let job = super::job(Kind::Ashby, &ashby);
        assert_eq!(
            (job.salary_min, job.salary_max),
            (Some(180000), Some(230000))
        );
        assert_eq!(job.locations, ["San Francisco", "Remote"]);
    }

    #[test]
    fn diffs_salary_location_and_title() {
        let old = json!({"text": "Engineer", "categories": {"location": "London"}, "salaryRange": {"min": 100, "max": 200}});
        let new = json!({"text": "Senior Engineer", "categories": {"location": "Remote"}, "salaryRange": {"min": 100, "max": 250}});
        let kinds: Vec<String> = diff(Kind::Lever, &old, &new)
            .iter()
            .map(|c| format!("{} {}", c.kind.as_str(), c.field.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            kinds,
            [
                "SALARY_INCREASE salary_max",
                "LOCATION_CHANGE locations",
                "STATUS_CHANGE title"
            ]
        );
        assert!(diff(Kind::Lever, &old, &old).is_empty());
    }

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
