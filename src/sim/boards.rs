//! The company boards the simulator serves, in the three APIs' own shapes
//! (SPEC §3a): Greenhouse `GET /v1/boards/{board}/jobs`, Lever
//! `GET /v0/postings/{site}` (paged with `skip`/`limit`), Ashby
//! `GET /posting-api/job-board/{board}`. An unknown board is a 404, as on
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

impl Boards {
    /// Boards for the three companies with the most listed roles, one on
    /// each API: every one of their Paraform roles posted there too (same
    /// title), plus two openings of their own.
    pub(crate) fn generate(listed: &[Value]) -> (Boards, Vec<FollowedBoard>) {
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
            };
            return Response::json(404, &body);
        };
        match kind {
            Kind::Greenhouse => {
                Response::json(200, &json!({"jobs": jobs, "meta": {"total": jobs.len()}}))
            }
            Kind::Lever => {
                let param = |name: &str| {
                    query
                        .split('&')
                        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                        .and_then(|v| v.parse::<usize>().ok())
                };
                let skip = param("skip").unwrap_or(0);
                let limit = param("limit").unwrap_or(usize::MAX);
                let page: Vec<&Value> = jobs.iter().skip(skip).take(limit).collect();
                Response::json(200, &json!(page))
            }
            Kind::Ashby => Response::json(200, &json!({"apiVersion": "1", "jobs": jobs})),
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
        Fault::EmptyList => match kind {
            Kind::Lever => Response::json(200, &json!([])),
            _ => Response::json(200, &json!({"jobs": []})),
        },
        Fault::WrongShape => Response::json(200, &json!({"unexpected": true})),
        Fault::Flood { items } => {
            let items = super::http::flood(items);
            let body = match kind {
                Kind::Lever => [b"[".as_slice(), &items, b"]"].concat(),
                _ => [br#"{"jobs":["#.as_slice(), &items, b"]}"].concat(),
            };
            Response {
                body,
                ..Response::json(200, &json!(null))
            }
        }
        Fault::Endless => {
            let mut response = Response::json(200, &json!(null));
            response.body = br#"{"jobs":["#.to_vec();
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

/// A job of `kind` in that API's shape: `id`, title, one location, and a
/// salary range where the API carries one (Lever, Ashby).
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
    }
}
