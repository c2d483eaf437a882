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
