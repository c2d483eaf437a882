//! Tests of the simulator through its public handle and real HTTP requests.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};

use chrono::TimeZone;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::market::{DetailKind, Market};
use super::server::{Request, parse_head};
use super::*;
use crate::evaluate::Tier;

/// The top-level keys of a role in searchActiveRoles.sample.json.
const SAMPLE_ROLE_KEYS: &[&str] = &[
    "id",
    "name",
    "createdAt",
    "status",
    "paraform_owner",
    "company",
    "role_settings",
    "role_boost",
    "role_metadata",
    "role_timer",
    "is_posted_recently",
    "priority",
    "manager_rating",
    "hiring_count",
    "hiring_count_max",
    "tech_stack",
    "locations",
    "role_types",
    "investors",
    "workplace_type",
    "salary_string",
    "salary_number",
    "salaryLowerBound",
    "salaryUpperBound",
    "currencyType",
    "equity",
    "base_bounty",
    "bounty",
    "bounty_string",
    "retainer",
    "weekly_retainer",
    "percent_fee",
    "feature_flags",
    "yoe_string",
    "yoe_min",
    "yoe_max",
    "yoe_experience",
    "hiring_count_text",
    "bonus_string",
    "team_size",
    "funding",
    "founding_year",
    "website",
    "visa_text",
    "one_liner",
    "interview_stages",
    "experience_count",
    "submitted",
    "total_interviewing",
    "total_hired",
    "interviewing",
    "hired",
    "applied_for_role",
    "not_accepting_recruiters",
    "user_status",
    "user_role_approval",
    "user_request_date",
    "withdraw_allowed",
    "is_invite",
    "invite_message",
    "invited_at",
    "allow_custom_rate",
    "favourite",
    "recruiter_note",
    "recruiter_last_active",
    "manager_last_active",
    "posted_at",
    "max_capacity",
    "first_submission_reward",
    "responsiveness_days",
    "approved_recruiters_count",
    "hide_from_recruiters",
];

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 10, 12, 0, 0).unwrap()
}

fn options() -> SimOptions {
    SimOptions {
        now: fixed_now(),
        ..SimOptions::default()
    }
}

fn url(sim: &Simulator, procedure: &str, input: &Value) -> String {
    let input = json!({ "json": input }).to_string();
    format!(
        "{}/api/trpc/{procedure}?input={}",
        sim.base_url(),
        utf8_percent_encode(&input, NON_ALPHANUMERIC)
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn call(sim: &Simulator, procedure: &str, input: Value) -> reqwest::Response {
    client()
        .get(url(sim, procedure, &input))
        .header(
            "Cookie",
            format!(
                "other=1; __Secure-next-auth.session-token={}",
                sim.session_token()
            ),
        )
        .send()
        .await
        .unwrap()
}

/// The status of one tRPC call.
async fn call_status(sim: &Simulator, procedure: &str, input: Value) -> u16 {
    call(sim, procedure, input).await.status().as_u16()
}

async fn call_json(sim: &Simulator, procedure: &str, input: Value) -> (u16, Value) {
    let response = call(sim, procedure, input).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn first_id(sim: &Simulator) -> String {
    sim.active_ids().into_iter().next().unwrap()
}

#[test]
fn same_seed_same_market_and_different_seed_differs() {
    let listing = |seed: u64| {
        let market = Market::generate(seed, 60, fixed_now(), false);
        let details: Vec<Value> = market
            .listed_ids()
            .iter()
            .map(|id| market.detail(id, DetailKind::Detailed).unwrap())
            .collect();
        (
            json!(market.listed()).to_string(),
            json!(details).to_string(),
        )
    };
    assert_eq!(listing(42), listing(42));
    assert_ne!(listing(42).0, listing(43).0);

    let ids = Market::generate(42, 60, fixed_now(), false).listed_ids();
    assert_eq!(ids.len(), 60);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 60);
    for id in &ids {
        assert!(id.starts_with("clsim") && id.len() == 25, "{id}");
    }
}

#[test]
fn rounds_are_deterministic() {
    let run = || {
        let mut market = Market::generate(7, 40, fixed_now(), false);
        let summaries: Vec<RoundSummary> = (0..4)
            .map(|_| market.advance(chrono::Duration::hours(12)))
            .collect();
        (summaries, json!(market.listed()).to_string())
    };
    assert_eq!(run(), run());
}

#[tokio::test]
async fn list_serves_every_role_with_the_sample_fields() {
    let sim = Simulator::start(options()).await.unwrap();
    let (status, body) = call_json(&sim, LIST_PROCEDURE, json!({})).await;
    assert_eq!(status, 200);
    let roles = body["result"]["data"]["json"].as_array().unwrap();
    assert_eq!(roles.len(), 60);

    // Only a missing fee may be absent, and only on the roles meant to lack one.
    let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
    for role in roles {
        for key in SAMPLE_ROLE_KEYS {
            if role.get(*key).is_none() {
                *missing.entry(key).or_default() += 1;
            }
        }
        assert!(role["posted_at"].as_str().unwrap().ends_with('Z'));
        let posted = DateTime::parse_from_rfc3339(role["posted_at"].as_str().unwrap()).unwrap();
        assert!(fixed_now() - posted.with_timezone(&Utc) <= chrono::Duration::days(60));
    }
    assert!(
        missing.keys().all(|key| *key == "percent_fee"),
        "{missing:?}"
    );
    assert_eq!(sim.requests(LIST_PROCEDURE), 1);
}

#[tokio::test]
async fn missing_or_wrong_cookie_is_unauthorized() {
    let sim = Simulator::start(options()).await.unwrap();
    let no_cookie = client()
        .get(url(&sim, LIST_PROCEDURE, &json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(no_cookie.status().as_u16(), 401);
    let body: Value = no_cookie.json().await.unwrap();
    // error.unauthorized.sample.json
    let mut expected = json!({"error": {"json": {
        "message": "UNAUTHORIZED",
        "code": -32001,
        "data": {"code": "UNAUTHORIZED", "httpStatus": 401, "path": "activeRoles.searchActiveRoles"},
    }}});
    assert_eq!(body, expected);

    let wrong = client()
        .get(url(&sim, SIMPLE_PROCEDURE, &json!({"role_id": "x"})))
        .header("Cookie", "__Secure-next-auth.session-token=stale")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    expected["error"]["json"]["data"]["path"] = json!(SIMPLE_PROCEDURE);
    assert_eq!(wrong.json::<Value>().await.unwrap(), expected);
    assert_eq!(sim.requests(LIST_PROCEDURE), 1);
    assert_eq!(sim.requests(SIMPLE_PROCEDURE), 1);
}

#[tokio::test]
async fn details_answer_known_ids_and_not_unknown_ones() {
    let sim = Simulator::start(options()).await.unwrap();
    let id = first_id(&sim);
    let (status, simple) = call_json(&sim, SIMPLE_PROCEDURE, json!({"role_id": id})).await;
    assert_eq!(status, 200);
    let simple = &simple["result"]["data"]["json"];
    assert_eq!(simple["id"], json!(id));
    assert!(simple["companyTip"].as_str().unwrap().starts_with("<p>"));
    assert!(simple["selling_points"].as_str().unwrap().contains("<li>"));
    assert!(simple["requirements"][0]["requirement"].is_string());

    let (_, detailed) = call_json(&sim, DETAILED_PROCEDURE, json!({"role_id": id})).await;
    let detailed = &detailed["result"]["data"]["json"];
    assert!(detailed["description"].as_str().unwrap().contains("<h3>"));
    assert!(detailed["company"]["description"].is_string());
    assert!(detailed["role_question"].is_array());

    let (status, missing) =
        call_json(&sim, SIMPLE_PROCEDURE, json!({"role_id": "clsimnope"})).await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["json"]["data"]["code"], "NOT_FOUND");

    sim.set_detail(&id, json!({"id": id, "companyTip": "<p>override</p>"}));
    let (_, overridden) = call_json(&sim, SIMPLE_PROCEDURE, json!({"role_id": id})).await;
    assert_eq!(
        overridden["result"]["data"]["json"]["companyTip"],
        "<p>override</p>"
    );
}

#[tokio::test]
async fn every_fault_misbehaves_once_then_service_resumes() {
    let sim = Simulator::start(options()).await.unwrap();
    let id = first_id(&sim);
    let list = || call(&sim, LIST_PROCEDURE, json!({}));

    sim.inject(Target::List, Fault::ServerError, 1);
    assert_eq!(list().await.status().as_u16(), 500);

    sim.inject(
        Target::List,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
        1,
    );
    let limited = list().await;
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");

    sim.inject(Target::List, Fault::Unauthorized, 1);
    let unauthorized = list().await;
    assert_eq!(unauthorized.status().as_u16(), 401);
    let body: Value = unauthorized.json().await.unwrap();
    assert_eq!(body["error"]["json"]["data"]["code"], "UNAUTHORIZED");

    sim.inject(Target::List, Fault::RedirectToLogin, 1);
    let redirect = list().await;
    assert_eq!(redirect.status().as_u16(), 302);
    let location = redirect.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("/login?callbackUrl=%2Fapi%2Ftrpc%2F"),
        "{location}"
    );

    sim.inject(Target::List, Fault::Truncated, 1);
    let truncated = list().await;
    assert_eq!(truncated.status().as_u16(), 200);
    let length: usize = truncated.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = truncated.bytes().await.unwrap();
    assert_eq!(bytes.len(), length);
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    sim.inject(Target::List, Fault::Html, 1);
    let html = list().await;
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.text().await.unwrap().contains("<form"));

    sim.inject(Target::List, Fault::Endless, 1);
    let mut endless = list().await;
    assert_eq!(endless.status().as_u16(), 200);
    assert!(endless.headers().get("content-length").is_none());
    let mut read = 0;
    while read <= 4 * 1024 * 1024 {
        read += endless
            .chunk()
            .await
            .unwrap()
            .expect("the body went on")
            .len();
    }
    drop(endless);

    sim.inject(Target::List, Fault::EmptyList, 1);
    let empty: Value = list().await.json().await.unwrap();
    assert_eq!(empty, json!({"result": {"data": {"json": []}}}));

    sim.inject(Target::List, Fault::WrongShape, 1);
    let wrong: Value = list().await.json().await.unwrap();
    assert_eq!(wrong["result"]["data"]["json"], json!({"unexpected": true}));

    sim.inject(Target::Detail, Fault::Slow { millis: 150 }, 1);
    let started = std::time::Instant::now();
    let (status, slow) = call_json(&sim, SIMPLE_PROCEDURE, json!({"role_id": id})).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    assert_eq!(status, 200);
    assert_eq!(slow["result"]["data"]["json"]["id"], json!(id));

    // Queued faults run in order, each `times` times, then service resumes;
    // Skip lets one request through untouched.
    sim.inject(Target::Detail, Fault::Skip, 1);
    sim.inject(Target::Detail, Fault::ServerError, 2);
    sim.inject(Target::Detail, Fault::WrongShape, 1);
    let detail = || call(&sim, DETAILED_PROCEDURE, json!({"role_id": id}));
    assert_eq!(detail().await.status().as_u16(), 200);
    assert_eq!(detail().await.status().as_u16(), 500);
    assert_eq!(detail().await.status().as_u16(), 500);
    let shape: Value = detail().await.json().await.unwrap();
    assert_eq!(shape["result"]["data"]["json"]["unexpected"], true);
    assert_eq!(detail().await.status().as_u16(), 200);
    let (status, body) = call_json(&sim, LIST_PROCEDURE, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["data"]["json"].as_array().unwrap().len(), 60);
    assert_eq!(sim.requests(LIST_PROCEDURE), 10);
}

#[tokio::test]
async fn pages_cover_every_role_exactly_once() {
    let sim = Simulator::start(SimOptions {
        page_size: Some(7),
        ..options()
    })
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut input = json!({"query": ""});
        if !cursor.is_null() {
            input["cursor"] = cursor.clone();
        }
        let (status, body) = call_json(&sim, LIST_PROCEDURE, input).await;
        assert_eq!(status, 200);
        let page = &body["result"]["data"]["json"];
        for role in page["items"].as_array().unwrap() {
            seen.push(role["id"].as_str().unwrap().to_string());
        }
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(cursor.is_string());
    }
    assert_eq!(seen, sim.active_ids());
    assert_eq!(sim.requests(LIST_PROCEDURE), 9);

    let (status, _) = call_json(&sim, LIST_PROCEDURE, json!({"cursor": "garbage"})).await;
    assert_eq!(status, 400);
}

#[test]
fn advance_adds_removes_edits_and_brings_roles_back() {
    let sim = Simulator::start_in_thread(options()).unwrap();
    let start = sim.now();
    let mut returned = 0;
    for round in 1..=8 {
        let before: Vec<Value> = sim
            .active_ids()
            .iter()
            .map(|id| sim.role(id).unwrap())
            .collect();
        let summary = sim.advance(chrono::Duration::hours(12));
        assert_eq!(summary.round, round);
        assert!((2..=4).contains(&summary.added.len()), "{summary:?}");
        assert!((1..=3).contains(&summary.removed.len()), "{summary:?}");
        assert!(!summary.edited.is_empty());
        let listed = sim.active_ids();
        for id in &summary.added {
            assert!(listed.contains(id));
            assert_eq!(
                sim.role(id).unwrap()["posted_at"],
                json!(generate::timestamp(sim.now()))
            );
        }
        for id in &summary.removed {
            assert!(!listed.contains(id));
            assert!(sim.role(id).is_some(), "removed roles are kept aside");
        }
        for (id, field) in &summary.edited {
            if summary.returned.contains(id) {
                continue;
            }
            let old = before.iter().find(|role| role["id"] == json!(id)).unwrap();
            assert_ne!(old[*field], sim.role(id).unwrap()[*field], "{id} {field}");
        }
        for id in &summary.reordered {
            let old = before.iter().find(|role| role["id"] == json!(id)).unwrap();
            let new = sim.role(id).unwrap();
            assert_ne!(old["locations"], new["locations"]);
            let set = |role: &Value| {
                let mut all: Vec<String> = role["locations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_str().unwrap().to_string())
                    .collect();
                all.sort();
                all
            };
            assert_eq!(set(old), set(&new));
        }
        returned += summary.returned.len();
    }
    assert!(returned > 0, "no removed role came back in 8 rounds");
    assert_eq!(sim.now() - start, chrono::Duration::hours(96));
}

#[test]
fn test_hooks_change_what_is_served() {
    let sim = Simulator::start_in_thread(options()).unwrap();
    let id = first_id(&sim);
    sim.edit_role(&id, |role| role["percent_fee"] = json!(21.0));
    assert_eq!(sim.role(&id).unwrap()["percent_fee"], json!(21.0));

    sim.remove_role(&id);
    assert!(!sim.active_ids().contains(&id));
    sim.restore_role(&id);
    assert!(sim.active_ids().contains(&id));

    let mut copy = sim.role(&id).unwrap();
    copy["id"] = json!("clsimhandmade00000000000");
    sim.add_role(copy);
    assert_eq!(sim.active_ids()[60], "clsimhandmade00000000000");
    assert!(sim.role("clsimhandmade00000000000").is_some());

    // Roles without an id and duplicates are served as given, after the original.
    let mut duplicate = sim.role(&id).unwrap();
    duplicate["name"] = json!("A duplicate");
    sim.add_role(duplicate);
    let mut anonymous = sim.role(&id).unwrap();
    anonymous.as_object_mut().unwrap().remove("id");
    sim.add_role(anonymous);
    assert_eq!(sim.active_ids().len(), 62);
    assert_ne!(sim.role(&id).unwrap()["name"], "A duplicate");
    let served = lock(&sim.state).market.listed().to_vec();
    assert_eq!(served.len(), 63);
    assert_eq!(served[61]["name"], "A duplicate");
    assert!(served[62].get("id").is_none());
}

/// Sends raw bytes and returns the raw answer.
fn raw(sim: &Simulator, request: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", sim.port())).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn garbage_gets_400_and_dropping_stops_the_server() {
    let sim = Simulator::start_in_thread(options()).unwrap();
    assert!(raw(&sim, b"\x00\xff garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    assert!(raw(&sim, b"GET nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400"));
    assert!(raw(&sim, b"GET /elsewhere HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70_000));
    assert!(raw(&sim, huge.as_bytes()).starts_with("HTTP/1.1 431"));
    let token = sim.session_token();
    let bad_input = format!(
        "GET /api/trpc/{LIST_PROCEDURE}?input=%7Bnot-json HTTP/1.1\r\nCookie: __Secure-next-auth.session-token={token}\r\n\r\n"
    );
    assert!(raw(&sim, bad_input.as_bytes()).starts_with("HTTP/1.1 400"));

    let port = sim.port();
    drop(sim);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn storage_state_carries_the_session_cookie() {
    let sim = Simulator::start_in_thread(options()).unwrap();
    let state: Value = serde_json::from_str(&sim.storage_state_json(1_767_225_600)).unwrap();
    let session = &state["cookies"][0];
    assert_eq!(session["name"], "__Secure-next-auth.session-token");
    assert_eq!(session["value"], "sim-session-token");
    assert_eq!(session["domain"], "127.0.0.1");
    assert_eq!(session["expires"], 1_767_225_600);
    assert_eq!(state["cookies"][1]["expires"], -1);
}

#[test]
fn hostile_text_appears_only_when_asked() {
    let hostile = Market::generate(42, 60, fixed_now(), true);
    let listing = json!(hostile.listed()).to_string();
    assert!(listing.contains("Staff Engineer <script>alert('title')</script>"));
    assert!(listing.contains("<img src=x onerror=alert(1)>"));
    assert!(listing.contains("DROP TABLE"));
    let tips: String = hostile
        .listed_ids()
        .iter()
        .map(|id| hostile.detail(id, DetailKind::Simple).unwrap()["companyTip"].to_string())
        .collect();
    for nasty in ["<script>", "onclick=", "javascript:alert(1)", "<iframe"] {
        assert!(tips.contains(nasty), "{nasty}");
    }
    let calm = Market::generate(42, 60, fixed_now(), false);
    assert!(!json!(calm.listed()).to_string().contains("<script>"));
    // Hostile roles keep their tiers.
    let tiers = |market: &Market| -> Vec<Tier> {
        market
            .listed()
            .iter()
            .map(|role| classify(role).0)
            .collect()
    };
    assert_eq!(tiers(&hostile), tiers(&calm));
}

#[test]
fn parse_head_reads_method_path_query_and_cookies() {
    /// Method, path, query and cookies, or `None` for a rejected head.
    type Parsed<'a> = Option<(&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)])>;
    fn check(head: &str, expected: Parsed) {
        let expected = expected.map(|(method, path, query, cookies)| Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            cookies: cookies
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Request::default()
        });
        assert_eq!(parse_head(head.as_bytes()), expected, "{head}");
    }
    check(
        "GET /api/trpc/x?input=1 HTTP/1.1\r\nHost: a\r\ncookie: a=1; b=2",
        Some(("GET", "/api/trpc/x", "input=1", &[("a", "1"), ("b", "2")])),
    );
    check("GET / HTTP/1.0", Some(("GET", "/", "", &[])));
    check("GET / HTTP/2", None);
    check("GET /  HTTP/1.1", None);
    check("get / HTTP/1.1", None);
    check("GET / HTTP/1.1\r\nno colon here", None);
}

#[test]
fn parse_head_reads_authorization_and_content_length() {
    let head = |extra: &str| {
        parse_head(format!("POST /v1/chat/completions HTTP/1.1\r\n{extra}").as_bytes())
    };
    let request = head("authorization:  Bearer sk-sim-1 \r\nContent-Length: 42").unwrap();
    assert_eq!(request.authorization.as_deref(), Some("Bearer sk-sim-1"));
    assert_eq!(request.content_length, Some(42));
    assert!(request.body.is_empty());
    let request = head("Content-Length: 7\r\ncontent-length: 7").unwrap();
    assert_eq!(request.content_length, Some(7));
    assert_eq!(request.authorization, None);
    let huge = head("Content-Length: 99999999999999999999999").unwrap();
    assert_eq!(huge.content_length, Some(u64::MAX));
    for bad in [
        "Content-Length: 7\r\nContent-Length: 8",
        "Content-Length: -1",
        "Content-Length: 1e3",
        "Content-Length: ",
        "Content-Length: 4 2",
    ] {
        assert_eq!(head(bad), None, "{bad}");
    }
}

// The model API (`POST /v1/chat/completions`).

const ROLE_INTEL_INPUT: &str = "Company: Acme\nRole: Senior Backend Engineer\n\n\
Company notes:\n\
Backed by Kleiner; founders previously built payments infrastructure at a public fintech. Team of 40 in New York.\n\
Hybrid, three days a week in our London office.\n\n\
Selling points:\n\
- Series A, $20M raised\n\
- Fast process: offer within 2 weeks";

const EXCITEMENT_INPUT: &str = "Company: Acme\nIndustries: ai, fintech\nInvestors: Sequoia, Elad Gil\n\
Funding: $20M\nStage: SERIES_A\nSize: 40\nFounded: 2021\nAbout: Ledgers for robots\n\n\
Company notes:\nBacked by a16z.";

const BRIEFING_INPUT: &str = "Company: Acme\nRole: Senior Backend Engineer\nWorkplace: hybrid\n\
Experience: 5+ years building production software\nInterview stages: 4\nCandidates interviewing: 3\n\n\
Description:\nWhat you'll do\n• Own the payments ledger\n\n\
Requirements:\n- MUST_HAVE: 5+ years building backend services\n- NICE_TO_HAVE: Go or Python in production\n\n\
Screening questions:\n- Why are you interested in this company?";

/// Every field of each task's answer, as the schemas name them.
const ROLE_INTEL_FIELDS: &[&str] = &[
    "investors",
    "angels",
    "funding_stage",
    "funding_amount",
    "founder_background",
    "employee_count",
    "growth_stage",
    "process_speed",
    "urgency_level",
    "runway_signal",
    "partnerships",
    "extracted_location",
    "location_confidence",
    "positive_signals",
    "negative_signals",
];

const SYSTEM_PROMPT: &str = "You read recruiting text and answer JSON only.";

fn chat_body(task: &str, input: &str) -> Value {
    json!({
        "model": "google/gemini-2.5-flash-lite",
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": input},
        ],
        "temperature": 0,
        "max_tokens": 2000,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": task, "strict": true, "schema": {"type": "object"},
        }},
    })
}

async fn chat(sim: &Simulator, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/chat/completions", sim.llm_base_url()))
        .bearer_auth("sk-sim-test")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The status and the answer of a task, read from the envelope's content.
async fn ask(sim: &Simulator, task: &str, input: &str) -> (u16, Value, Value) {
    let response = chat(sim, &chat_body(task, input)).await;
    let status = response.status().as_u16();
    let envelope: Value = response.json().await.unwrap();
    let content = envelope["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let answer = serde_json::from_str(&content).unwrap_or(Value::Null);
    (status, envelope, answer)
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn each_task_answers_json_with_every_field_in_an_openai_envelope() {
    let sim = Simulator::start(options()).await.unwrap();
    assert_eq!(sim.llm_base_url(), format!("{}/v1", sim.base_url()));
    assert_eq!(
        format!("{}/chat/completions", sim.llm_base_url()),
        format!("{}{LLM_PATH}", sim.base_url())
    );

    let (status, envelope, intel) = ask(&sim, "role_intel", ROLE_INTEL_INPUT).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&intel), sorted(ROLE_INTEL_FIELDS));
    assert_eq!(envelope["id"], "sim-chatcmpl-1");
    assert_eq!(envelope["object"], "chat.completion");
    assert_eq!(envelope["model"], "google/gemini-2.5-flash-lite");
    assert_eq!(envelope["choices"][0]["index"], 0);
    assert_eq!(envelope["choices"][0]["message"]["role"], "assistant");
    assert_eq!(envelope["choices"][0]["finish_reason"], "stop");
    let content = envelope["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    let prompt_chars = SYSTEM_PROMPT.chars().count() + ROLE_INTEL_INPUT.chars().count();
    let (p, c) = (
        prompt_chars.div_ceil(4) as u64,
        content.chars().count().div_ceil(4) as u64,
    );
    let usage = &envelope["usage"];
    assert_eq!(usage["prompt_tokens"], p);
    assert_eq!(usage["completion_tokens"], c);
    assert_eq!(usage["total_tokens"], p + c);
    let cost = usage["cost"].as_f64().unwrap();
    assert!(
        (cost - (p as f64 * 0.10e-6 + c as f64 * 0.40e-6)).abs() < 1e-9,
        "{cost}"
    );

    let (status, envelope, excitement) = ask(&sim, "company_excitement", EXCITEMENT_INPUT).await;
    assert_eq!(status, 200);
    assert_eq!(envelope["id"], "sim-chatcmpl-2");
    assert_eq!(keys(&excitement), ["reasoning", "score", "signals"]);
    // Sequoia (the Investors line) and a16z (the notes): 0.55 + 2 × 0.10.
    assert_eq!(excitement["score"], json!(0.75));
    assert!(excitement["reasoning"].as_str().unwrap().contains("Acme"));
    assert!(
        excitement["signals"]
            .as_array()
            .unwrap()
            .contains(&json!("backed by Andreessen Horowitz"))
    );

    let (status, _, briefing) = ask(&sim, "briefing", BRIEFING_INPUT).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&briefing),
        [
            "credibility",
            "interview",
            "must_haves",
            "nice_to_haves",
            "problem",
            "red_flags",
            "role"
        ]
    );
    assert_eq!(
        keys(&briefing["problem"]),
        [
            "problem_statement",
            "solution_approach",
            "technical_challenge",
            "why_now"
        ]
    );
    assert_eq!(
        keys(&briefing["credibility"]),
        [
            "customer_status",
            "founder_background",
            "team_pedigree",
            "traction_metrics"
        ]
    );
    assert_eq!(
        keys(&briefing["role"]),
        [
            "core_responsibility",
            "day_to_day_tasks",
            "impact_statement"
        ]
    );
    assert_eq!(
        keys(&briefing["interview"]),
        ["evaluation_criteria", "prep_needed", "stages"]
    );
    for section in ["problem", "credibility", "role", "interview"] {
        for (key, value) in briefing[section].as_object().unwrap() {
            let list = matches!(
                key.as_str(),
                "day_to_day_tasks" | "stages" | "evaluation_criteria" | "prep_needed"
            );
            assert_eq!(value.is_array(), list, "{section}.{key}");
            assert!(list || value.is_string(), "{section}.{key}");
        }
    }
    assert_eq!(
        briefing["must_haves"],
        json!(["Must: 5+ years building backend services"])
    );
    assert_eq!(
        briefing["nice_to_haves"],
        json!(["Nice: Go or Python in production"])
    );
    // Three candidates interviewing is no competition worth flagging.
    assert_eq!(briefing["red_flags"], json!([]));

    // The same input, the same answer: the model is deterministic.
    let (_, _, again) = ask(&sim, "role_intel", ROLE_INTEL_INPUT).await;
    assert_eq!(again, intel);

    assert_eq!(sim.llm_calls("role_intel"), 2);
    assert_eq!(sim.llm_calls("company_excitement"), 1);
    assert_eq!(sim.llm_calls("briefing"), 1);
    assert_eq!(sim.llm_calls("summarize"), 0);
    let requests = sim.llm_requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0], chat_body("role_intel", ROLE_INTEL_INPUT));
    assert_eq!(
        requests[2]["response_format"]["json_schema"]["name"],
        "briefing"
    );
    assert_eq!(
        sim.llm_authorizations(),
        vec![Some("Bearer sk-sim-test".to_string()); 4]
    );
    // Model calls are not Paraform calls.
    assert_eq!(sim.requests(LIST_PROCEDURE), 0);
}

#[tokio::test]
async fn a_short_form_investor_comes_back_with_its_full_name() {
    let sim = Simulator::start(options()).await.unwrap();
    let (status, _, intel) = ask(&sim, "role_intel", ROLE_INTEL_INPUT).await;
    assert_eq!(status, 200);
    assert_eq!(
        intel["investors"],
        json!([{"name": "Kleiner Perkins", "words": "kleiner"}])
    );
    assert_eq!(intel["funding_stage"], "SERIES_A");
    assert_eq!(intel["funding_amount"], "$20M");
    assert_eq!(intel["employee_count"], 40);
    assert_eq!(intel["process_speed"], "fast");
    assert_eq!(intel["urgency_level"], "high");
    assert_eq!(intel["extracted_location"], "New York");
    assert_eq!(intel["location_confidence"], "medium");
    assert!(
        intel["founder_background"]
            .as_str()
            .unwrap()
            .contains("founders previously built payments")
    );
    assert_eq!(
        intel["positive_signals"],
        json!([
            "Series A, $20M raised",
            "Fast process: offer within 2 weeks"
        ])
    );
    let (_, _, excitement) = ask(
        &sim,
        "company_excitement",
        "Company: Acme\n\nCompany notes:\nBacked by Kleiner.",
    )
    .await;
    assert_eq!(excitement["signals"], json!(["backed by Kleiner Perkins"]));
}

#[tokio::test]
async fn a_briefing_says_research_needed_for_what_the_text_does_not_say() {
    let sim = Simulator::start(options()).await.unwrap();
    let (status, _, briefing) = ask(&sim, "briefing", BRIEFING_INPUT).await;
    assert_eq!(status, 200);
    let research = |value: &Value| {
        value
            .as_str()
            .is_some_and(|s| s.starts_with("[RESEARCH NEEDED: ") && s.ends_with(']'))
    };
    // No notes, no funding, no selling points: nothing about the company.
    for (key, value) in briefing["problem"].as_object().unwrap() {
        assert!(research(value), "problem.{key}: {value}");
    }
    for (key, value) in briefing["credibility"].as_object().unwrap() {
        assert!(research(value), "credibility.{key}: {value}");
    }
    assert!(research(&briefing["role"]["impact_statement"]));
    // What the text does say is quoted, and the gaps are marked.
    assert_eq!(
        briefing["role"]["core_responsibility"],
        "Own the payments ledger"
    );
    let tasks = briefing["role"]["day_to_day_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[0], "Own the payments ledger");
    assert!(research(&tasks[1]) && research(&tasks[2]));
    assert_eq!(
        briefing["interview"]["stages"],
        json!(["4 stages: [RESEARCH NEEDED: what each stage covers]"])
    );
    assert_eq!(
        briefing["interview"]["evaluation_criteria"],
        json!(["Can they show 5+ years building backend services?"])
    );

    let crowded = BRIEFING_INPUT
        .replace("Candidates interviewing: 3", "Candidates interviewing: 14")
        + "\n\nCompany notes:\nFounded by two ex-Stripe engineers. Revenue grew 3x.\n\nSelling points:\n- Raised $35M";
    let (_, _, briefing) = ask(&sim, "briefing", &crowded).await;
    assert_eq!(
        briefing["red_flags"],
        json!(["14 candidates already interviewing = strong competition"])
    );
    assert_eq!(
        briefing["credibility"]["founder_background"],
        "Founded by two ex-Stripe engineers."
    );
    assert_eq!(
        briefing["credibility"]["traction_metrics"],
        "Revenue grew 3x."
    );
    assert_eq!(briefing["problem"]["why_now"], "Recently raised $35M");
}

#[tokio::test]
async fn hostile_text_or_the_hostile_option_comes_back_in_every_answer() {
    let calm = Simulator::start(options()).await.unwrap();
    let hostile = Simulator::start(SimOptions {
        hostile: true,
        ..options()
    })
    .await
    .unwrap();
    let scraped = format!("{ROLE_INTEL_INPUT}\n- <script>alert('scraped')</script>");
    for task in llm::TASKS {
        let (_, _, answer) = ask(&calm, task, BRIEFING_INPUT).await;
        assert!(!answer.to_string().contains("<script"), "{task}");
        for (sim, input) in [(&hostile, BRIEFING_INPUT), (&calm, scraped.as_str())] {
            let (status, envelope, answer) = ask(sim, task, input).await;
            assert_eq!(status, 200);
            let content = envelope["choices"][0]["message"]["content"]
                .as_str()
                .unwrap();
            assert!(serde_json::from_str::<Value>(content).is_ok());
            let carrier = match *task {
                "role_intel" => answer["positive_signals"]
                    .as_array()
                    .unwrap()
                    .last()
                    .unwrap()
                    .clone(),
                "company_excitement" => answer["reasoning"].clone(),
                _ => {
                    assert!(
                        answer["red_flags"]
                            .as_array()
                            .unwrap()
                            .contains(&json!(llm::HOSTILE_ANSWER))
                    );
                    answer["role"]["core_responsibility"].clone()
                }
            };
            assert!(
                carrier.as_str().unwrap().contains(llm::HOSTILE_ANSWER),
                "{task}: {carrier}"
            );
        }
    }
}

#[tokio::test]
async fn malformed_requests_get_an_openai_style_400() {
    let sim = Simulator::start(options()).await.unwrap();
    let unknown = chat_body("summarize", "x");
    let mut no_user = chat_body("briefing", "x");
    no_user["messages"].as_array_mut().unwrap().pop();
    let mut no_model = chat_body("briefing", "x");
    no_model.as_object_mut().unwrap().remove("model");
    let mut bad_content = chat_body("briefing", "x");
    bad_content["messages"][1]["content"] = json!(["parts"]);
    let mut text_format = chat_body("briefing", "x");
    text_format["response_format"] = json!({"type": "text"});
    let mut bad_tokens = chat_body("briefing", "x");
    bad_tokens["max_tokens"] = json!(-5);
    for body in [
        &unknown,
        &no_user,
        &no_model,
        &bad_content,
        &text_format,
        &bad_tokens,
        &json!([1, 2]),
    ] {
        let response = chat(&sim, body).await;
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], 400, "{body}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let not_json = client()
        .post(format!("{}{LLM_PATH}", sim.base_url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 400);
    let error: Value = not_json.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON")
    );
    // Every request is recorded, the unreadable one as text, unauthenticated as None.
    let requests = sim.llm_requests();
    assert_eq!(requests.len(), 8);
    assert_eq!(requests[7], json!("{not json"));
    assert_eq!(sim.llm_authorizations()[7], None);
    // Counted by the known task they name, however wrong the rest.
    assert_eq!(sim.llm_calls("briefing"), 4);
    assert_eq!(sim.llm_calls("summarize"), 0);
    assert_eq!(ask(&sim, "briefing", "x").await.0, 200);
    assert_eq!(sim.llm_calls("briefing"), 5);
}

#[tokio::test]
async fn every_llm_fault_behaves_as_a_provider_does_and_leaves_paraform_faults_alone() {
    let sim = Simulator::start(options()).await.unwrap();
    // Paraform faults queued first must survive every model request.
    sim.inject(Target::List, Fault::ServerError, 1);
    sim.inject(Target::Detail, Fault::Unauthorized, 1);
    let body = chat_body("role_intel", ROLE_INTEL_INPUT);
    let error_of =
        |status: u16, message: &str| json!({"error": {"code": status, "message": message}});

    sim.inject(Target::Llm, Fault::Unauthorized, 1);
    let unauthorized = chat(&sim, &body).await;
    assert_eq!(unauthorized.status().as_u16(), 401);
    assert_eq!(
        unauthorized.json::<Value>().await.unwrap(),
        error_of(401, "No auth credentials found")
    );

    sim.inject(Target::Llm, Fault::PaymentRequired, 1);
    let payment = chat(&sim, &body).await;
    assert_eq!(payment.status().as_u16(), 402);
    assert_eq!(
        payment.json::<Value>().await.unwrap(),
        error_of(402, "Insufficient credits")
    );

    sim.inject(
        Target::Llm,
        Fault::RateLimited {
            retry_after_secs: 9,
        },
        1,
    );
    let limited = chat(&sim, &body).await;
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers()["retry-after"], "9");
    assert_eq!(limited.json::<Value>().await.unwrap()["error"]["code"], 429);

    sim.inject(Target::Llm, Fault::ServerError, 1);
    let failed = chat(&sim, &body).await;
    assert_eq!(failed.status().as_u16(), 500);
    assert_eq!(failed.json::<Value>().await.unwrap()["error"]["code"], 500);

    sim.inject(Target::Llm, Fault::InvalidAnswer, 1);
    let invalid = chat(&sim, &body).await;
    assert_eq!(invalid.status().as_u16(), 200);
    let envelope: Value = invalid.json().await.unwrap();
    let content = envelope["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    assert!(serde_json::from_str::<Value>(content).is_err(), "{content}");
    assert!(envelope["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert!(envelope["usage"]["cost"].as_f64().unwrap() > 0.0);

    sim.inject(Target::Llm, Fault::Truncated, 1);
    let truncated = chat(&sim, &body).await;
    assert_eq!(truncated.status().as_u16(), 200);
    let bytes = truncated.bytes().await.unwrap();
    assert!(!bytes.is_empty());
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    // A stall past the client's timeout, then the normal answer for whoever waits.
    sim.inject(Target::Llm, Fault::Slow { millis: 400 }, 2);
    let stalled = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(100))
        .build()
        .unwrap()
        .post(format!("{}{LLM_PATH}", sim.base_url()))
        .json(&body)
        .send()
        .await;
    assert!(stalled.is_err_and(|error| error.is_timeout()));
    let started = std::time::Instant::now();
    let (status, _, answer) = ask(&sim, "role_intel", ROLE_INTEL_INPUT).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    assert_eq!(status, 200);
    assert_eq!(
        answer["investors"],
        json!([{"name": "Kleiner Perkins", "words": "kleiner"}])
    );

    // Faults that only a website shows answer 500; Skip lets one through.
    for fault in [
        Fault::RedirectToLogin,
        Fault::Html,
        Fault::Endless,
        Fault::EmptyList,
        Fault::WrongShape,
    ] {
        sim.inject(Target::Llm, fault, 1);
        assert_eq!(chat(&sim, &body).await.status().as_u16(), 500, "{fault:?}");
    }
    sim.inject(Target::Llm, Fault::Skip, 1);
    sim.inject(Target::Llm, Fault::PaymentRequired, 2);
    assert_eq!(chat(&sim, &body).await.status().as_u16(), 200);
    assert_eq!(chat(&sim, &body).await.status().as_u16(), 402);
    assert_eq!(chat(&sim, &body).await.status().as_u16(), 402);
    assert_eq!(chat(&sim, &body).await.status().as_u16(), 200);
    // Faulted requests are counted and recorded like the others.
    assert_eq!(sim.llm_calls("role_intel"), 17);
    assert_eq!(sim.llm_requests().len(), 17);

    // The Paraform queues are intact, and Paraform requests leave the model's alone.
    sim.inject(Target::Llm, Fault::ServerError, 1);
    assert_eq!(call_status(&sim, LIST_PROCEDURE, json!({})).await, 500);
    assert_eq!(call_status(&sim, LIST_PROCEDURE, json!({})).await, 200);
    let id = first_id(&sim);
    assert_eq!(
        call_status(&sim, SIMPLE_PROCEDURE, json!({"role_id": id})).await,
        401
    );
    assert_eq!(
        call_status(&sim, SIMPLE_PROCEDURE, json!({"role_id": id})).await,
        200
    );
    assert_eq!(chat(&sim, &body).await.status().as_u16(), 500);
    assert_eq!(chat(&sim, &body).await.status().as_u16(), 200);

    // The model faults have no Paraform form: 500 there.
    sim.inject(Target::List, Fault::PaymentRequired, 1);
    sim.inject(Target::List, Fault::InvalidAnswer, 1);
    assert_eq!(call_status(&sim, LIST_PROCEDURE, json!({})).await, 500);
    assert_eq!(call_status(&sim, LIST_PROCEDURE, json!({})).await, 500);

    sim.inject(Target::Llm, Fault::ServerError, 3);
    sim.clear_faults();
    assert_eq!(chat(&sim, &body).await.status().as_u16(), 200);
}

#[test]
fn cost_follows_the_model_price() {
    use super::server::cost;
    assert_eq!(cost("google/gemini-2.5-flash-lite", 1_000, 100), 0.00014);
    assert_eq!(cost("google/gemini-2.5-flash", 1_000, 100), 0.00055);
    assert_eq!(cost("GOOGLE/GEMINI-2.5-FLASH-LITE", 1_000, 100), 0.00014);
    assert_eq!(cost("openai/gpt-4o", 1_000, 100), 0.0012);
    assert_eq!(cost("anything", 1, 0), 0.000001);
    assert_eq!(cost("anything", 0, 0), 0.0);
    // Rounded to 9 decimals.
    assert_eq!(cost("google/gemini-2.5-flash-lite", 1, 1), 0.0000005);
    assert_eq!(cost("x", 123_456_789, 0), 123.456789);
}

#[test]
fn post_bodies_are_bounded_and_need_a_length() {
    let sim = Simulator::start_in_thread(options()).unwrap();
    let no_length = raw(
        &sim,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert!(
        no_length.starts_with("HTTP/1.1 411 Length Required\r\n"),
        "{no_length}"
    );
    assert!(
        no_length.ends_with(r#"{"error":{"code":411,"message":"Content-Length is required"}}"#)
    );
    let chunked = raw(
        &sim,
        b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    );
    assert!(chunked.starts_with("HTTP/1.1 411"), "{chunked}");
    let too_large = format!(
        "POST {LLM_PATH} HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        4 * 1024 * 1024 + 1
    );
    let answer = raw(&sim, too_large.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":413"#));
    let absurd =
        format!("POST {LLM_PATH} HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n");
    assert!(raw(&sim, absurd.as_bytes()).starts_with("HTTP/1.1 413"));
    let garbled = format!("POST {LLM_PATH} HTTP/1.1\r\nContent-Length: ten\r\n\r\n");
    assert!(raw(&sim, garbled.as_bytes()).starts_with("HTTP/1.1 400"));
    // None of those reached the model.
    assert!(sim.llm_requests().is_empty());
    // A client that hangs up inside the body gets no answer and leaves no trace.
    {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", sim.port())).unwrap();
        stream
            .write_all(
                format!("POST {LLM_PATH} HTTP/1.1\r\nContent-Length: 100\r\n\r\n{{").as_bytes(),
            )
            .unwrap();
    }

    // A body in pieces, some of it sent with the head, is read whole; bytes
    // past the length are ignored.
    let body = chat_body("role_intel", ROLE_INTEL_INPUT).to_string();
    let (first, second) = body.split_at(body.len() / 3);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", sim.port())).unwrap();
    stream
        .write_all(
            format!(
                "POST {LLM_PATH} HTTP/1.1\r\nAuthorization: Bearer sk-raw\r\nContent-Length: {}\r\n\r\n{first}",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    stream.write_all(second.as_bytes()).unwrap();
    stream.write_all(b"GARBAGE AFTER THE BODY").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("sim-chatcmpl-"));
    assert_eq!(sim.llm_requests().len(), 1);
    assert_eq!(
        sim.llm_authorizations(),
        vec![Some("Bearer sk-raw".to_string())]
    );
}

#[tokio::test]
async fn get_requests_are_unchanged_by_the_model_api() {
    let sim = Simulator::start(options()).await.unwrap();
    // A GET with a body is still answered from its query alone.
    let (status, body) = call_json(&sim, LIST_PROCEDURE, json!({})).await;
    assert_eq!(status, 200);
    let with_body = client()
        .get(url(&sim, LIST_PROCEDURE, &json!({})))
        .header(
            "Cookie",
            format!("{SESSION_COOKIE}={}", sim.session_token()),
        )
        .body("ignored")
        .send()
        .await
        .unwrap();
    assert_eq!(with_body.status().as_u16(), 200);
    assert_eq!(with_body.json::<Value>().await.unwrap(), body);
    // The model API is POST only, and POST is nothing else.
    let get = client()
        .get(format!("{}{LLM_PATH}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 404);
    let post = client()
        .post(url(&sim, LIST_PROCEDURE, &json!({})))
        .header(
            "Cookie",
            format!("{SESSION_COOKIE}={}", sim.session_token()),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 404);
    assert_eq!(sim.requests(LIST_PROCEDURE), 2);
    assert!(sim.llm_requests().is_empty());
}

// A simplified reading of SCORING.md, independent of the generator, to show
// the data produces every tier.

const TIER1: &[&str] = &[
    "sequoia",
    "sequoia capital",
    "a16z",
    "andreessen horowitz",
    "benchmark",
    "greylock",
    "greylock partners",
    "accel",
    "accel partners",
    "general catalyst",
    "lightspeed",
    "lightspeed venture partners",
    "khosla",
    "khosla ventures",
    "founders fund",
    "kleiner perkins",
    "yc",
    "y combinator",
    "index ventures",
    "gv",
    "google ventures",
    "tiger global",
    "tiger global management",
    "coatue",
    "coatue management",
    "thrive capital",
    "bessemer",
    "bessemer venture partners",
    "insight partners",
    "craft ventures",
    "redpoint",
    "redpoint ventures",
    "nea",
    "new enterprise associates",
    "battery ventures",
];
const NYC: &[&str] = &[
    "new_york",
    "new_york_city",
    "nyc",
    "manhattan",
    "brooklyn",
    "queens",
    "bronx",
    "staten_island",
    "jersey_city",
    "hoboken",
    "newark",
];
const LONDON: &[&str] = &[
    "london",
    "greater_london",
    "city_of_london",
    "uk",
    "united_kingdom",
];
const CORE: &[&str] = &[
    "backend_engineer",
    "full_stack_engineer",
    "embedded_firmware_engineer",
    "electrical_engineer",
    "mechanical_engineer",
    "forward_deployed_engineer_solutions_support",
];
const SECONDARY: &[&str] = &[
    "frontend_engineer",
    "infrastructure_devops_sre",
    "data_engineer",
    "security_engineer",
];
const MOBILE: &[&str] = &["mobile_engineer", "ios_engineer", "android_engineer"];
const STAGES: &[&str] = &[
    "SEED", "SERIES_A", "SERIES_B", "SERIES_C", "SERIES_D", "SERIES_E",
];

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(String::from)
        .collect()
}

fn whole_words(name: &str, listed: &str) -> bool {
    let hay = words(name);
    let needle = words(listed);
    hay.windows(needle.len()).any(|window| window == needle)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn funding(text: &str) -> f64 {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, '$' | ',' | ' '))
        .collect();
    let (number, factor) = match cleaned.chars().last() {
        Some('K' | 'k') => (&cleaned[..cleaned.len() - 1], 1e3),
        Some('M' | 'm') => (&cleaned[..cleaned.len() - 1], 1e6),
        Some('B' | 'b') => (&cleaned[..cleaned.len() - 1], 1e9),
        _ => (cleaned.as_str(), 1.0),
    };
    number.parse::<f64>().map_or(0.0, |n| n * factor)
}

fn signals(role: &Value, tier1: impl Fn(&str, &str) -> bool) -> usize {
    let company = &role["company"];
    let size = company["size"].as_f64().or(role["team_size"].as_f64());
    let stages = role["interview_stages"].as_f64();
    [
        strings(&role["investors"])
            .iter()
            .any(|investor| TIER1.iter().any(|listed| tier1(investor, listed))),
        funding(company["fundingAmount"].as_str().unwrap_or_default()) > 5e6,
        company["company_metadata"]["last_funding_round"]
            .as_str()
            .is_some_and(|stage| STAGES.contains(&stage)),
        size.is_some_and(|size| (10.0..=500.0).contains(&size)),
        role["manager_rating"].as_f64().is_some_and(|r| r >= 4.0),
        role["responsiveness_days"]
            .as_f64()
            .is_some_and(|d| d < 3.0),
        stages.is_some_and(|s| s > 0.0 && s <= 6.0),
        !strings(&role["role_metadata"]["highlights"]).is_empty(),
    ]
    .iter()
    .filter(|on| **on)
    .count()
}

/// The tier and the failed hard filters of a role.
fn classify(role: &Value) -> (Tier, Vec<&'static str>) {
    classify_with(role, whole_words)
}

fn classify_with(role: &Value, tier1: impl Fn(&str, &str) -> bool) -> (Tier, Vec<&'static str>) {
    let mut failed = Vec::new();
    if role["status"] != "ACTIVE" {
        failed.push("status");
    }
    if role["not_accepting_recruiters"] == true {
        failed.push("not_accepting_recruiters");
    }
    let locations = strings(&role["locations"]);
    let remote = role["workplace_type"]
        .as_str()
        .is_some_and(|w| w.eq_ignore_ascii_case("remote"));
    if !remote
        && !locations
            .iter()
            .any(|l| NYC.contains(&l.as_str()) || LONDON.contains(&l.as_str()))
    {
        failed.push("location");
    }
    let types = strings(&role["role_types"]);
    if !types.iter().any(|t| CORE.contains(&t.as_str())) {
        if types.iter().any(|t| SECONDARY.contains(&t.as_str())) {
            failed.push("secondary_only");
        } else {
            failed.push("no_core_type");
        }
    }
    if types.iter().any(|t| MOBILE.contains(&t.as_str())) {
        failed.push("mobile");
    }
    if role["salaryUpperBound"].as_f64().unwrap_or(0.0) < 200_000.0 {
        failed.push("salary");
    }
    if role["percent_fee"].as_f64().unwrap_or(0.0) < 14.0 {
        failed.push("fee");
    }
    let count = signals(role, tier1);
    let tier = match (failed.as_slice(), count) {
        (["location"], _) if locations.is_empty() => Tier::LocationUncertain,
        ([_, ..], _) => Tier::Skip,
        (_, 3..) => Tier::Qualified,
        (_, 1..) => Tier::Maybe,
        _ => Tier::Skip,
    };
    if tier == Tier::Skip && failed.is_empty() {
        failed.push("no_signals");
    }
    (tier, failed)
}

#[test]
fn data_exercises_every_tier_and_every_skip_reason() {
    for seed in [42, 1, 2025] {
        let market = Market::generate(seed, 60, fixed_now(), false);
        let mut tiers: BTreeMap<Tier, usize> = BTreeMap::new();
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        let mut resolvable = 0;
        for role in market.listed() {
            let (tier, failed) = classify(role);
            *tiers.entry(tier).or_default() += 1;
            if tier == Tier::Skip {
                assert_eq!(failed.len(), 1, "one reason per skipped role: {failed:?}");
                *reasons.entry(failed[0]).or_default() += 1;
            }
            if tier == Tier::LocationUncertain {
                let id = role["id"].as_str().unwrap();
                let detail = market.detail(id, DetailKind::Detailed).unwrap().to_string()
                    + &market.detail(id, DetailKind::Simple).unwrap().to_string();
                if ["New York", "NYC", "London"]
                    .iter()
                    .any(|c| detail.contains(c))
                {
                    resolvable += 1;
                }
            }
        }
        println!("seed {seed}: {tiers:?} {reasons:?} resolvable {resolvable}");
        assert_eq!(
            tiers.get(&Tier::Qualified),
            Some(&21),
            "seed {seed}: {tiers:?}"
        );
        assert_eq!(tiers.get(&Tier::Maybe), Some(&9), "seed {seed}: {tiers:?}");
        assert_eq!(
            tiers.get(&Tier::LocationUncertain),
            Some(&6),
            "seed {seed}: {tiers:?}"
        );
        assert_eq!(tiers.get(&Tier::Skip), Some(&24), "seed {seed}: {tiers:?}");
        assert_eq!(resolvable, 3);
        for reason in [
            "status",
            "not_accepting_recruiters",
            "location",
            "secondary_only",
            "mobile",
            "salary",
            "fee",
            "no_signals",
        ] {
            assert!(reasons.contains_key(reason), "seed {seed}: no {reason}");
        }

        let roles = market.listed();
        let upper = |value: f64| {
            roles
                .iter()
                .any(|r| r["salaryUpperBound"] == json!(value as i64))
        };
        let fee = |value: f64| roles.iter().any(|r| r["percent_fee"] == json!(value));
        assert!(upper(200_000.0) && upper(199_999.0) && upper(180_000.0));
        assert!(fee(14.0) && fee(13.99));
        let text = json!(roles).to_string();
        for name in [
            "Neal Arthur Partners",
            "Agave Capital",
            "Sequoia Capital China",
            "Linear",
        ] {
            assert!(text.contains(name), "seed {seed}: no {name}");
        }
        // Raw substring matching ("nea" in "Neal", "gv" in "Agave") changes
        // some tiers, so the lookalike names really test the whole-word rule.
        let substring = |investor: &str, listed: &str| investor.to_lowercase().contains(listed);
        assert!(
            roles
                .iter()
                .any(|role| classify(role).0 != classify_with(role, substring).0),
            "seed {seed}"
        );
    }
}

#[tokio::test]
async fn the_login_form_sets_the_session_cookie() {
    let sim = Simulator::start(options()).await.unwrap();
    let page = client()
        .get(format!("{}/login", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("action=\"/api/auth/callback/credentials\""),
        "{page}"
    );
    let signed_in = client()
        .post(format!("{}/api/auth/callback/credentials", sim.base_url()))
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 302);
    assert_eq!(signed_in.headers()["location"], "/");
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("{SESSION_COOKIE}={};", sim.session_token())),
        "{cookie}"
    );
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn browser_required_turns_away_calls_without_clearance() {
    let sim = Simulator::start(options()).await.unwrap();
    sim.require_browser(true);
    let challenged = call(&sim, LIST_PROCEDURE, json!({})).await;
    assert_eq!(challenged.status().as_u16(), 403);
    assert_eq!(challenged.headers()["cf-mitigated"], "challenge");
    assert!(
        challenged.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("html")
    );
    assert_eq!(sim.requests(CHALLENGED), 1);
    assert_eq!(sim.requests(LIST_PROCEDURE), 0);
    // The home page's script sets the clearance; with it, calls go through.
    let home = client().get(sim.base_url()).send().await.unwrap();
    let home = home.text().await.unwrap();
    assert!(
        home.contains("document.cookie = 'cf_clearance=sim-clearance"),
        "{home}"
    );
    let cleared = client()
        .get(url(&sim, LIST_PROCEDURE, &json!({})))
        .header(
            "Cookie",
            format!(
                "{SESSION_COOKIE}={}; cf_clearance=sim-clearance",
                sim.session_token()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status().as_u16(), 200);
    sim.require_browser(false);
    assert_eq!(
        call(&sim, LIST_PROCEDURE, json!({}))
            .await
            .status()
            .as_u16(),
        200
    );
}
