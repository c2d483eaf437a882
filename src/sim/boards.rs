//! The company boards the simulator serves, in the APIs' own shapes
//! (SPEC §3a): Greenhouse `GET /v1/boards/{board}/jobs`, Lever
//! `GET /v0/postings/{site}` (paged with `skip`/`limit`), Ashby
//! `GET /posting-api/job-board/{board}`, Workable
//! `GET /api/v1/widget/accounts/{account}`, SmartRecruiters
//! `GET /v1/companies/{id}/postings` (paged with `offset`/`limit`), and
//! Recruitee, which names the company in its host, at
//! `GET /recruitee/{company}/api/offers/` (`[boards] recruitee_url =
//! "{simulator}/recruitee/{company}"`). An unknown board is a 404, as on
//! the real APIs. Tests set boards up job by job ([`job`]); faults come
//! from [`super::Target::Board`]'s queue.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::Fault;
use super::http::Response;
use crate::fetch::boards::Kind;

/// The boards, by API and board name, each with its open jobs in order.
#[derive(Debug, Default)]
pub(crate) struct Boards {
    pub(crate) jobs: HashMap<(Kind, String), Vec<Value>>,
}

/// The API and board a request path names, if it is a board call.
pub(crate) fn route(path: &str) -> Option<(Kind, String)> {
    let (kind, rest) = if let Some(rest) = path.strip_prefix("/v1/boards/") {
        (Kind::Greenhouse, rest.strip_suffix("/jobs")?)
    } else if let Some(rest) = path.strip_prefix("/v0/postings/") {
        (Kind::Lever, rest)
    } else if let Some(rest) = path.strip_prefix("/posting-api/job-board/") {
        (Kind::Ashby, rest)
    } else if let Some(rest) = path.strip_prefix("/api/v1/widget/accounts/") {
        (Kind::Workable, rest)
    } else if let Some(rest) = path.strip_prefix("/v1/companies/") {
        (Kind::SmartRecruiters, rest.strip_suffix("/postings")?)
    } else if let Some(rest) = path.strip_prefix("/recruitee/") {
        (
            Kind::Recruitee,
            rest.strip_suffix("/api/offers/")
                .or_else(|| rest.strip_suffix("/api/offers"))?,
        )
    } else {
        return None;
    };
    // As on the real APIs, a board name is read without regard to case.
    (!rest.is_empty() && !rest.contains('/')).then(|| (kind, rest.to_ascii_lowercase()))
}

/// A company whose board the simulator made up (`SimOptions::boards`).
#[derive(Debug, Clone, PartialEq)]
pub struct FollowedBoard {
    pub company: String,
    pub kind: Kind,
    pub board: String,
}

/// The companies of the listed roles with how many roles each lists, most
/// first (ties by name): the order in which the simulator gives them
/// boards and a careers site.
pub(crate) fn company_counts(listed: &[Value]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for role in listed {
        let Some(company) = role.pointer("/company/name").and_then(Value::as_str) else {
            continue;
        };
        match counts.iter_mut().find(|(c, _)| c == company) {
            Some((_, n)) => *n += 1,
            None => counts.push((company.to_string(), 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

impl Boards {
    /// Boards for the six companies with the most listed roles, one on
    /// each API: every one of their Paraform roles posted there too (same
    /// title), plus two openings of their own.
    pub(crate) fn generate(listed: &[Value]) -> (Boards, Vec<FollowedBoard>) {
        let counts = company_counts(listed);
        let mut boards = Boards::default();
        let mut followed = Vec::new();
        for ((company, _), kind) in counts.into_iter().zip(Kind::ALL) {
            let Some(board) = crate::discover::slugs(&company).into_iter().next() else {
                continue;
            };
            let mut jobs: Vec<Value> = listed
                .iter()
                .filter(|r| r.pointer("/company/name").and_then(Value::as_str) == Some(&company))
                .enumerate()
                .map(|(i, r)| {
                    let title = r.get("name").and_then(Value::as_str).unwrap_or("Engineer");
                    job(kind, &format!("p-{i}"), title, "Remote", None)
                })
                .collect();
            for (i, title) in ["Recruiting Coordinator", "Product Designer"]
                .iter()
                .enumerate()
            {
                jobs.push(job(kind, &format!("own-{i}"), title, "Remote", None));
            }
            boards.jobs.insert((kind, board.clone()), jobs);
            followed.push(FollowedBoard {
                company,
                kind,
                board,
            });
        }
        (boards, followed)
    }

    /// One round on the generated boards: the first opens three roles, and
    /// the second pulls the oldest posting it shares with Paraform.
    pub(crate) fn advance(&mut self, followed: &[FollowedBoard], round: u64) {
        if let Some(first) = followed.first()
            && let Some(jobs) = self.jobs.get_mut(&(first.kind, first.board.clone()))
        {
            for (i, title) in ["Staff Engineer", "Platform Engineer", "Solutions Engineer"]
                .iter()
                .enumerate()
            {
                jobs.push(job(
                    first.kind,
                    &format!("r{round}-{i}"),
                    title,
                    "Remote",
                    None,
                ));
            }
        }
        if let Some(second) = followed.get(1)
            && let Some(jobs) = self.jobs.get_mut(&(second.kind, second.board.clone()))
            && let Some(at) = jobs.iter().position(|j| {
                j.get("requisition_id")
                    .or_else(|| j.get("id"))
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with("p-"))
            })
            && jobs.len() > 3
        {
            jobs.remove(at);
        }
    }

    /// The answer to a board call, before any fault.
    pub(crate) fn answer(&self, kind: Kind, board: &str, query: &str) -> Response {
        let Some(jobs) = self.jobs.get(&(kind, board.to_string())) else {
            let body = match kind {
                Kind::Greenhouse => json!({"status": 404, "error": "Job not found"}),
                Kind::Lever => json!({"ok": false, "error": "Document not found"}),
                Kind::Ashby => json!({"success": false, "error": "Job board not found"}),
                Kind::Workable => json!({"error": "Not found"}),
                Kind::SmartRecruiters => {
                    json!({"code": "COMPANY_NOT_FOUND", "message": "Company not found"})
                }
                Kind::Recruitee => json!({"error": "Not found"}),
            };
            return Response::json(404, &body);
        };
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse::<usize>().ok())
        };
        match kind {
            Kind::Greenhouse => {
                Response::json(200, &json!({"jobs": jobs, "meta": {"total": jobs.len()}}))
            }
            Kind::Lever => {
                let skip = param("skip").unwrap_or(0);
                let limit = param("limit").unwrap_or(usize::MAX);
                let page: Vec<&Value> = jobs.iter().skip(skip).take(limit).collect();
                Response::json(200, &json!(page))
            }
            Kind::Ashby => Response::json(200, &json!({"apiVersion": "1", "jobs": jobs})),
            Kind::Workable => Response::json(
                200,
                &json!({"name": board, "description": null, "jobs": jobs}),
            ),
            Kind::SmartRecruiters => {
                let offset = param("offset").unwrap_or(0);
                let limit = param("limit").unwrap_or(10).min(100);
                let page: Vec<&Value> = jobs.iter().skip(offset).take(limit).collect();
                Response::json(
                    200,
                    &json!({"offset": offset, "limit": limit, "totalFound": jobs.len(), "content": page}),
                )
            }
            Kind::Recruitee => Response::json(200, &json!({"offers": jobs})),
        }
    }
}

/// A board's answer misbehaving as `fault` does.
pub(crate) fn misbehave(fault: Fault, normal: Response, kind: Kind) -> Response {
    match fault {
        Fault::ServerError | Fault::PaymentRequired | Fault::InvalidAnswer => {
            Response::json(500, &json!({"error": "Internal Server Error"}))
        }
        Fault::RateLimited { retry_after_secs } => {
            let mut response = Response::json(429, &json!({"error": "Too Many Requests"}));
            response
                .headers
                .push(("Retry-After", retry_after_secs.to_string()));
            response
        }
        Fault::Unauthorized => Response::json(403, &json!({"error": "Forbidden"})),
        Fault::Truncated => normal.cut_in_half(),
        Fault::Html | Fault::RedirectToLogin => {
            Response::html(200, "<!DOCTYPE html><title>Jobs</title>")
        }
        Fault::EmptyList => match list_member(kind) {
            None => Response::json(200, &json!([])),
            Some(name) => Response::json(200, &json!({ name: [] })),
        },
        Fault::WrongShape => Response::json(200, &json!({"unexpected": true})),
        Fault::Flood { items } => {
            let items = super::http::flood(items);
            let body = match list_member(kind) {
                None => [b"[".as_slice(), &items, b"]"].concat(),
                Some(name) => [format!("{{\"{name}\":[").as_bytes(), &items, b"]}"].concat(),
            };
            Response {
                body,
                ..Response::json(200, &json!(null))
            }
        }
        Fault::Endless => {
            let mut response = Response::json(200, &json!(null));
            response.body = match list_member(kind) {
                None => b"[".to_vec(),
                Some(name) => format!("{{\"{name}\":[").into_bytes(),
            };
            response.endless = Some(br#"{"id":1,"title":"Again"},"#.to_vec());
            response
        }
        Fault::Skip => normal,
        Fault::Slow { millis } => Response {
            delay_millis: millis,
            ..normal
        },
    }
}

/// The member of a board's answer that holds its jobs; `None`: the answer
/// is the list (Lever).
fn list_member(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Lever => None,
        Kind::Greenhouse | Kind::Ashby | Kind::Workable => Some("jobs"),
        Kind::SmartRecruiters => Some("content"),
        Kind::Recruitee => Some("offers"),
    }
}

/// A job of `kind` in that API's shape: `id` (Workable's `shortcode`),
/// title, one location (`Remote` marks a remote job the API's own way),
/// and a salary range where the API carries one (Lever, Ashby, Recruitee).
pub fn job(kind: Kind, id: &str, title: &str, location: &str, salary: Option<(u64, u64)>) -> Value {
    match kind {
        Kind::Greenhouse => {
            let numeric: u64 = id
                .bytes()
                .fold(4_000_000, |n, b| n * 31 % 9_000_000 + u64::from(b));
            json!({
                "id": numeric,
                "internal_job_id": numeric + 1,
                "title": title,
                "updated_at": "2026-11-20T10:00:00-05:00",
                "requisition_id": id,
                "location": {"name": location},
                "absolute_url": format!("https://boards.greenhouse.io/sim/jobs/{numeric}"),
                "metadata": null,
                "content": "&lt;p&gt;Build things.&lt;/p&gt;",
                "departments": [{"id": 1, "name": "Engineering"}],
                "offices": [{"id": 2, "name": location}],
            })
        }
        Kind::Lever => {
            let mut job = json!({
                "id": id,
                "text": title,
                "createdAt": 1_764_000_000_000u64,
                "hostedUrl": format!("https://jobs.lever.co/sim/{id}"),
                "applyUrl": format!("https://jobs.lever.co/sim/{id}/apply"),
                "categories": {"location": location, "team": "Engineering", "commitment": "Full-time", "department": "R&D"},
                "descriptionPlain": "Build things.",
                "workplaceType": "hybrid",
            });
            if let Some((min, max)) = salary {
                job["salaryRange"] = json!({"min": min, "max": max, "currency": "USD", "interval": "per-year-salary"});
            }
            job
        }
        Kind::Ashby => {
            let mut job = json!({
                "id": id,
                "title": title,
                "department": "Engineering",
                "team": "Platform",
                "employmentType": "FullTime",
                "location": location,
                "secondaryLocations": [],
                "isRemote": location == "Remote",
                "workplaceType": "Hybrid",
                "publishedAt": "2026-11-01T00:00:00.000+00:00",
                "jobUrl": format!("https://jobs.ashbyhq.com/sim/{id}"),
                "descriptionHtml": "<p>Build things.</p>",
                "descriptionPlain": "Build things.",
            });
            if let Some((min, max)) = salary {
                job["compensation"] = json!({"summaryComponents": [{
                    "compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD",
                    "minValue": min, "maxValue": max
                }]});
            }
            job
        }
        Kind::Workable => {
            let remote = location == "Remote";
            let city = if remote { "" } else { location };
            json!({
                "title": title,
                "shortcode": id,
                "code": "",
                "employment_type": "Full-time",
                "telecommuting": remote,
                "department": "Engineering",
                "url": format!("https://apply.workable.com/j/{id}"),
                "shortlink": format!("https://apply.workable.com/j/{id}"),
                "application_url": format!("https://apply.workable.com/j/{id}/apply"),
                "published_on": "2026-11-20",
                "created_at": "2026-11-20",
                "country": "United States",
                "city": city,
                "state": "",
                "locations": [{"country": "United States", "countryCode": "US", "city": city, "region": "", "hidden": false}],
            })
        }
        Kind::SmartRecruiters => {
            let remote = location == "Remote";
            json!({
                "id": id,
                "name": title,
                "uuid": format!("uuid-{id}"),
                "refNumber": format!("REF-{id}"),
                "company": {"identifier": "sim", "name": "Sim"},
                "releasedDate": "2026-11-20T10:00:00.000Z",
                "location": {
                    "city": if remote { "" } else { location },
                    "country": "us",
                    "remote": remote,
                    "fullLocation": if remote { "Remote".to_string() } else { format!("{location}, United States") },
                },
                "typeOfEmployment": {"id": "permanent", "label": "Full-time"},
                "ref": format!("https://api.smartrecruiters.com/v1/companies/sim/postings/{id}"),
            })
        }
        Kind::Recruitee => {
            let numeric: u64 = id
                .bytes()
                .fold(7_000, |n, b| n * 31 % 900_000 + u64::from(b));
            let mut job = json!({
                "id": numeric,
                "slug": id,
                "title": title,
                "location": location,
                "city": if location == "Remote" { "" } else { location },
                "country": "United States",
                "remote": location == "Remote",
                "careers_url": format!("https://sim.recruitee.com/o/{id}"),
                "published_at": "2026-11-20 10:00:00 UTC",
                "created_at": "2026-11-19 10:00:00 UTC",
                "employment_type_code": "fulltime",
            });
            if let Some((min, max)) = salary {
                job["salary"] = json!({"min": min.to_string(), "max": max.to_string(), "currency": "USD", "period": "year"});
            }
            job
        }
    }
}
