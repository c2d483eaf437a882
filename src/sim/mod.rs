//! A simulated Paraform marketplace: Paraform's tRPC API shape served over HTTP on 127.0.0.1 from synthetic, seeded data.
//!
//! The integration tests and the `demo` command point the real fetcher at it.
//! The data is deterministic for a seed and a `now`, and is built so the
//! default rules of SCORING.md produce every tier (see `generate`). Between
//! scrapes, [`Simulator::advance`] moves the marketplace one round: volatile
//! fields change, some roles are edited, added, removed and brought back.
//! [`Simulator::inject`] makes the next requests misbehave in the ways the
//! real site does (errors, rate limits, expired sessions, broken bodies).
//!
//! The same port also speaks an OpenAI-compatible chat-completions API
//! ([`LLM_PATH`], base URL [`Simulator::llm_base_url`]) whose model answers
//! from the input text by fixed rules (`llm`), so that the model-backed
//! features run offline, free and deterministically, and fail on request
//! (`Target::Llm`) as a model provider does.
//!
//! It also serves company careers pages (`careers`): listings and job pages
//! publishing schema.org `JobPosting` JSON-LD in the shapes real sites use
//! ([`CareersShape`]), a `robots.txt`, and answers to conditional requests.

mod boards;
mod careers;
mod generate;
mod http;
pub mod llm;
pub(crate) mod market;
mod server;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use market::Market;
use server::{SESSION_COOKIE, Shared, State, lock};

pub use boards::{FollowedBoard, job as board_job};
pub use careers::{CareersShape, FollowedCareers, posting as careers_posting};
pub use server::{CHALLENGED, DETAILED_PROCEDURE, LIST_PROCEDURE, LLM_PATH, SIMPLE_PROCEDURE};

/// The most roles `simulate --roles` builds: far more than Paraform lists,
/// and still a marketplace generated in seconds.
pub const MAX_ROLES: usize = 100_000;

/// How to build the simulated marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Same seed and `now`, same marketplace.
    pub seed: u64,
    /// How many roles the listing starts with.
    pub roles: usize,
    /// The value the `__Secure-next-auth.session-token` cookie must carry.
    pub session_token: String,
    /// The simulator's clock; every timestamp is relative to it.
    pub now: DateTime<Utc>,
    /// When set, the list call answers `{"items", "nextCursor"}` pages of this size.
    pub page_size: Option<usize>,
    /// When set, a few roles carry script tags and other hostile text, and
    /// every model answer carries [`llm::HOSTILE_ANSWER`].
    pub hostile: bool,
    /// When set, the six companies with the most roles get a board each
    /// (one per board API) that moves every round: see
    /// [`Simulator::generated_boards`]; and the seventh gets a careers
    /// site: see [`Simulator::generated_careers`].
    pub boards: bool,
    /// "Browser required" from the start: see [`Simulator::require_browser`].
    pub browser_required: bool,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            seed: 42,
            roles: 60,
            session_token: "sim-session-token".to_string(),
            now: Utc::now(),
            page_size: None,
            hostile: false,
            boards: false,
            browser_required: false,
        }
    }
}

/// Which calls a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `activeRoles.searchActiveRoles`.
    List,
    /// `role.getRoleByIdSimple` and `role.getRoleByIdDetailed`.
    Detail,
    /// `POST /v1/chat/completions`, the model API.
    Llm,
    /// Every company board call (Greenhouse, Lever, Ashby).
    Board,
    /// Every careers listing and job page (not `robots.txt`), in an HTML
    /// site's forms: the model faults answer 500, `Html` and `WrongShape`
    /// a page without postings, `EmptyList` the site with none.
    Careers,
}

/// A way for one request to misbehave. The model API ([`Target::Llm`])
/// answers in its own error shape (`{"error":{"code","message"}}`) and has
/// no form of the faults that only a website shows (a redirect to the
/// login page, HTML, an endless or empty list, the wrong shape): those
/// answer 500 there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 with a tRPC error body.
    ServerError,
    /// 429 with a `Retry-After` header.
    RateLimited { retry_after_secs: u64 },
    /// 401 with the tRPC UNAUTHORIZED body, as for an expired session; for
    /// the model, "No auth credentials found", as for a missing or revoked key.
    Unauthorized,
    /// 402 "Insufficient credits", as when the model account runs dry: not
    /// worth retrying. The Paraform calls answer 500.
    PaymentRequired,
    /// 200 with a normal chat-completion envelope (usage included, so it is
    /// paid for) whose content is not JSON: a model that ignored the schema.
    /// The Paraform calls answer 500.
    InvalidAnswer,
    /// 302 to `/login?callbackUrl=...`, the other face of an expired session.
    RedirectToLogin,
    /// 200 with the normal JSON body cut in half (Content-Length matches the cut body).
    Truncated,
    /// 200 with an HTML login page.
    Html,
    /// 200 with a JSON list that never ends (no Content-Length): the same
    /// role again and again until the client hangs up.
    Endless,
    /// 200 with an empty list (`[]`, or an empty page when paginating).
    EmptyList,
    /// 200 with a list of this many empty objects `{}`: roles that cannot
    /// be read (no id), a hostile or broken server's flood.
    Flood { items: u32 },
    /// 200 with valid JSON of the wrong shape: `{"unexpected":true}` as payload.
    WrongShape,
    /// The normal answer, after a pause.
    Slow { millis: u64 },
    /// The normal answer: a placeholder that aims the faults queued after it
    /// at a later request (the second page, say).
    Skip,
}

/// How many listed roles one round edits (a tracked edit each): the churn.
/// Every round also refreshes the volatile fields of every active role,
/// removes one to three roles, may bring one back and posts two to four.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EditShare {
    /// 10 to 15% of the listing, drawn per round: [`Simulator::advance`].
    #[default]
    Drawn,
    /// This percentage of the listing (at most 100), rounded up to a whole role.
    Percent(u8),
}

/// What one [`Simulator::advance`] did, for assertions and demo output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundSummary {
    pub round: u64,
    /// New role ids, posted at the new `now`.
    pub added: Vec<String>,
    /// Role ids taken off the listing (kept aside; they may return).
    pub removed: Vec<String>,
    /// Role ids removed in an earlier round and listed again.
    pub returned: Vec<String>,
    /// Tracked edits as (role id, field name), e.g. `"percent_fee"`.
    pub edited: Vec<(String, &'static str)>,
    /// Role ids whose `locations` were only reordered: not a change.
    pub reordered: Vec<String>,
}

/// A running simulated marketplace. Dropping it stops the server.
pub struct Simulator {
    state: Shared,
    port: u16,
    session_token: String,
    /// Dropping the sender tells the accept loop to stop.
    shutdown: Option<oneshot::Sender<()>>,
    runner: Runner,
}

enum Runner {
    Task(tokio::task::JoinHandle<()>),
    Thread(Option<std::thread::JoinHandle<()>>),
}

impl Simulator {
    /// Starts the server on the current tokio runtime; returns once the
    /// listener is bound.
    pub async fn start(opts: SimOptions) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let session_token = opts.session_token.clone();
        let state = new_state(opts);
        let (shutdown, stop) = oneshot::channel();
        let task = tokio::spawn(server::accept_loop(listener, state.clone(), stop));
        Ok(Simulator {
            state,
            port,
            session_token,
            shutdown: Some(shutdown),
            runner: Runner::Task(task),
        })
    }

    /// Starts the server on its own runtime in a background thread, for
    /// synchronous callers; returns once the listener is bound.
    pub fn start_in_thread(opts: SimOptions) -> std::io::Result<Simulator> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let session_token = opts.session_token.clone();
        let state = new_state(opts);
        let (shutdown, stop) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("paraform-sim".to_string())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            server::accept_loop(listener, thread_state, stop).await;
                        }
                        Err(error) => {
                            let _ = ready_tx.send(Err(error));
                        }
                    }
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => return Err(std::io::Error::other("simulator thread ended early")),
        }
        Ok(Simulator {
            state,
            port,
            session_token,
            shutdown: Some(shutdown),
            runner: Runner::Thread(Some(thread)),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT/v1`: the model client's `base_url`, to which it
    /// appends `/chat/completions`.
    pub fn llm_base_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn session_token(&self) -> String {
        self.session_token.clone()
    }

    /// A Playwright `storage_state` file for this simulator: the session
    /// cookie expiring at `expires_unix`, plus a browser-session csrf cookie.
    /// Cookies are not `secure`, since the simulator speaks plain HTTP.
    pub fn storage_state_json(&self, expires_unix: i64) -> String {
        let cookie = |name: &str, value: &str, expires: i64| {
            json!({
                "name": name,
                "value": value,
                "domain": "127.0.0.1",
                "path": "/",
                "expires": expires,
                "httpOnly": true,
                "secure": false,
                "sameSite": "Lax",
            })
        };
        let state = json!({
            "cookies": [
                cookie(SESSION_COOKIE, &self.session_token, expires_unix),
                cookie("__Host-next-auth.csrf-token", "sim-csrf-token", -1),
            ],
            "origins": [],
        });
        serde_json::to_string_pretty(&state).unwrap_or_else(|_| state.to_string())
    }

    /// Moves the marketplace (and any generated boards) one round and its
    /// clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) -> RoundSummary {
        self.advance_with(by, EditShare::Drawn)
    }

    /// [`Simulator::advance`] with a chosen share of edited roles, e.g.
    /// `EditShare::Percent(3)` for a quiet marketplace (the bench's churn).
    /// `EditShare::Drawn` is exactly `advance`.
    pub fn advance_with(&self, by: chrono::Duration, edits: EditShare) -> RoundSummary {
        let mut state = lock(&self.state);
        let summary = state.market.advance_with(by, edits);
        let followed = state.generated_boards.clone();
        state.boards.advance(&followed, summary.round);
        let followed = state.generated_careers.clone();
        state.careers.advance(&followed, summary.round);
        summary
    }

    /// The `[boards]` URL keys aiming every board API at the simulator, as
    /// TOML lines.
    pub fn board_urls_toml(&self) -> String {
        let base = self.base_url();
        crate::fetch::boards::Kind::ALL
            .iter()
            .map(|kind| format!("{}_url = \"{}\"\n", kind.source(), board_url(&base, *kind)))
            .collect()
    }

    /// Aims every board API of `boards` at the simulator.
    pub fn point_boards(&self, boards: &mut crate::config::BoardsConfig) {
        let base = self.base_url();
        for kind in crate::fetch::boards::Kind::ALL {
            *boards.base_url_mut(kind) = board_url(&base, kind);
        }
    }

    /// The boards `SimOptions::boards` made up, to follow in a config.
    pub fn generated_boards(&self) -> Vec<FollowedBoard> {
        lock(&self.state).generated_boards.clone()
    }

    /// The careers site `SimOptions::boards` made up (none without it), to
    /// follow in a config at [`Simulator::careers_url`].
    pub fn generated_careers(&self) -> Vec<FollowedCareers> {
        lock(&self.state).generated_careers.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.state).market.now()
    }

    /// Makes the next `times` requests to `target` misbehave with `fault`,
    /// after any faults already queued. Only requests that pass the session
    /// check take a fault from the queue; every chat-completion request
    /// takes one from the model's queue. Each target has its own queue.
    pub fn inject(&self, target: Target, fault: Fault, times: usize) {
        let mut state = lock(&self.state);
        let queue = match target {
            Target::List => &mut state.list_faults,
            Target::Detail => &mut state.detail_faults,
            Target::Llm => &mut state.llm_faults,
            Target::Board => &mut state.board_faults,
            Target::Careers => &mut state.careers_faults,
        };
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Forgets the faults not used yet.
    /// While `held`, the model's answers wait (the request is received and
    /// counted, the answer is not sent) until this is called with `false`:
    /// a test's way to keep a scrape in its model phase.
    pub fn hold_model(&self, held: bool) {
        lock(&self.state).model_held = held;
    }

    pub fn clear_faults(&self) {
        let mut state = lock(&self.state);
        state.list_faults.clear();
        state.detail_faults.clear();
        state.llm_faults.clear();
        state.board_faults.clear();
        state.careers_faults.clear();
    }

    /// Opens (or replaces) a company board with these jobs, in the API's
    /// shape ([`board_job`]).
    pub fn set_board(&self, kind: crate::fetch::boards::Kind, board: &str, jobs: Vec<Value>) {
        lock(&self.state)
            .boards
            .jobs
            .insert((kind, board.to_ascii_lowercase()), jobs);
    }

    /// Edits a board's jobs in place (adds, removes, changes); a board not
    /// opened yet starts empty.
    pub fn edit_board(
        &self,
        kind: crate::fetch::boards::Kind,
        board: &str,
        edit: impl FnOnce(&mut Vec<Value>),
    ) {
        let mut state = lock(&self.state);
        edit(
            state
                .boards
                .jobs
                .entry((kind, board.to_ascii_lowercase()))
                .or_default(),
        );
    }

    /// How many requests a board received, faulted ones included.
    pub fn board_requests(&self, kind: crate::fetch::boards::Kind, board: &str) -> usize {
        let key = format!("{}:{}", kind.source(), board.to_ascii_lowercase());
        lock(&self.state).requests.get(&key).copied().unwrap_or(0)
    }

    /// Opens (or replaces) a careers site with these postings
    /// ([`careers_posting`]) in `shape`, well-formed, its job pages taken
    /// down answering 404.
    pub fn set_careers(&self, site: &str, shape: CareersShape, postings: Vec<Value>) {
        lock(&self.state).careers.set(site, shape, postings);
    }

    /// Edits a careers site's postings in place (adds, removes, changes); a
    /// site not opened yet starts empty, in the `Single` shape.
    pub fn edit_careers(&self, site: &str, edit: impl FnOnce(&mut Vec<Value>)) {
        lock(&self.state)
            .careers
            .edit(site, |found| edit(&mut found.postings));
    }

    /// Whether the site's listing carries a block of broken JSON before its
    /// good blocks.
    pub fn set_careers_malformed(&self, site: &str, malformed: bool) {
        lock(&self.state)
            .careers
            .edit(site, |found| found.malformed = malformed);
    }

    /// What the job page of a posting taken off the site answers: 410, or
    /// 404 (the default; any other status reads as 404). A page that never
    /// existed answers 404 either way.
    pub fn set_careers_gone_status(&self, site: &str, status: u16) {
        let status = if status == 410 { 410 } else { 404 };
        lock(&self.state)
            .careers
            .edit(site, |found| found.gone_status = status);
    }

    /// `{base_url}/careers-sites/{site}`: the site's listing.
    pub fn careers_url(&self, site: &str) -> String {
        format!("{}/careers-sites/{site}", self.base_url())
    }

    /// Replaces the host's `/robots.txt`, served exactly as given.
    pub fn set_robots(&self, text: &str) {
        lock(&self.state).careers.robots = text.to_string();
    }

    /// Makes `/robots.txt` answer `status` (200 serves the rules again).
    pub fn set_robots_status(&self, status: u16) {
        lock(&self.state).careers.robots_status = status;
    }

    /// How many requests a careers page (listing, job page, robots.txt)
    /// received, faulted and 304 ones included. `path` is the request
    /// path (`/careers-sites/acme`); a full URL is read for its path.
    pub fn careers_requests(&self, path: &str) -> usize {
        let key = format!("careers:{}", path_of(path));
        lock(&self.state).requests.get(&key).copied().unwrap_or(0)
    }

    /// How many requests for a careers page were answered 304 Not Modified.
    pub fn careers_not_modified(&self, path: &str) -> usize {
        let key = format!("careers-304:{}", path_of(path));
        lock(&self.state).requests.get(&key).copied().unwrap_or(0)
    }

    /// How many chat-completion requests for `task` (`role_intel`,
    /// `company_excitement`, `briefing`) arrived, faulted ones included.
    pub fn llm_calls(&self, task: &str) -> usize {
        lock(&self.state).llm_calls.get(task).copied().unwrap_or(0)
    }

    /// The chat-completion request bodies received, oldest first (a body
    /// that is not JSON appears as a JSON string). Only the most recent
    /// 1,000 are kept.
    pub fn llm_requests(&self) -> Vec<Value> {
        lock(&self.state)
            .llm_log
            .iter()
            .map(|record| record.body.clone())
            .collect()
    }

    /// The `Authorization` header of each request in [`Self::llm_requests`]
    /// (`Some("Bearer ...")`), `None` where there was none.
    pub fn llm_authorizations(&self) -> Vec<Option<String>> {
        lock(&self.state)
            .llm_log
            .iter()
            .map(|record| record.authorization.clone())
            .collect()
    }

    /// Turns "browser required" on or off: API calls without the clearance
    /// cookie that the home page's script sets get a 403 challenge page
    /// (counted under [`CHALLENGED`]).
    pub fn require_browser(&self, on: bool) {
        lock(&self.state).browser_required = on;
    }

    /// How many requests named `procedure` arrived, failed ones included;
    /// a path the simulator does not serve is counted by its path.
    pub fn requests(&self, procedure: &str) -> usize {
        lock(&self.state)
            .requests
            .get(procedure)
            .copied()
            .unwrap_or(0)
    }

    /// Ids the listing currently returns, in order, whatever their `status`
    /// (roles added without an id are left out; duplicates appear twice).
    pub fn active_ids(&self) -> Vec<String> {
        lock(&self.state).market.listed_ids()
    }

    /// A listed or removed role, as the list call serves it.
    pub fn role(&self, id: &str) -> Option<Value> {
        lock(&self.state).market.role(id).cloned()
    }

    /// Edits a listed or removed role in place; unknown ids are ignored.
    pub fn edit_role(&self, id: &str, edit: impl FnOnce(&mut Value)) {
        lock(&self.state).market.edit_role(id, edit);
    }

    /// Appends a role to the listing as given, even without an `id` or with
    /// an id already listed (the original stays first). A detail payload is
    /// generated from its fields unless its id already has one.
    pub fn add_role(&self, role: Value) {
        lock(&self.state).market.add_role(role);
    }

    /// Hides a role from the listing, keeping it aside for `restore_role`.
    pub fn remove_role(&self, id: &str) {
        lock(&self.state).market.remove_role(id);
    }

    pub fn restore_role(&self, id: &str) {
        lock(&self.state).market.restore_role(id);
    }

    /// Serves `detail` verbatim as the payload of both detail procedures for `id`.
    pub fn set_detail(&self, id: &str, detail: Value) {
        lock(&self.state).market.set_detail(id, detail);
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        match &mut self.runner {
            Runner::Task(task) => task.abort(),
            Runner::Thread(thread) => {
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// Serves a simulated marketplace on 127.0.0.1:`port` (0 picks a free port)
/// until the process ends. Prints nothing: the caller knows the options.
pub async fn serve_forever(opts: SimOptions, port: u16) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let state = new_state(opts);
    // Held for the whole call, so the loop never sees a shutdown.
    let (_shutdown, stop) = oneshot::channel();
    server::accept_loop(listener, state, stop).await;
    Ok(())
}

/// The boards a simulator started with `opts` makes up (none unless
/// `opts.boards`), without starting it: for `simulate` to print.
pub fn boards_of(opts: &SimOptions) -> Vec<FollowedBoard> {
    if !opts.boards {
        return Vec::new();
    }
    let market = Market::generate(opts.seed, opts.roles, opts.now, opts.hostile);
    boards::Boards::generate(market.listed()).1
}

/// The careers site `opts` makes up (with `boards`), as
/// [`Simulator::generated_careers`] will name it.
pub fn careers_of(opts: &SimOptions) -> Vec<FollowedCareers> {
    if !opts.boards {
        return Vec::new();
    }
    let market = Market::generate(opts.seed, opts.roles, opts.now, opts.hostile);
    careers::Careers::generate(market.listed()).1
}

fn new_state(opts: SimOptions) -> Shared {
    let market = Market::generate(opts.seed, opts.roles, opts.now, opts.hostile);
    let (boards, generated_boards) = if opts.boards {
        boards::Boards::generate(market.listed())
    } else {
        (boards::Boards::default(), Vec::new())
    };
    let (careers, generated_careers) = if opts.boards {
        careers::Careers::generate(market.listed())
    } else {
        (careers::Careers::default(), Vec::new())
    };
    Arc::new(Mutex::new(State {
        market,
        session_token: opts.session_token,
        page_size: opts.page_size,
        list_faults: VecDeque::new(),
        detail_faults: VecDeque::new(),
        requests: HashMap::new(),
        hostile: opts.hostile,
        llm_faults: VecDeque::new(),
        model_held: false,
        llm_calls: HashMap::new(),
        llm_seen: 0,
        llm_log: VecDeque::new(),
        llm_log_bytes: 0,
        boards,
        generated_boards,
        board_faults: VecDeque::new(),
        careers,
        generated_careers,
        careers_faults: VecDeque::new(),
        browser_required: opts.browser_required,
    }))
}

#[cfg(test)]
mod tests;

/// Where the simulator serves the board API of `kind`: every API at its
/// own address, Recruitee's (which names the company in the host) under
/// `/recruitee/{company}`.
fn board_url(base: &str, kind: crate::fetch::boards::Kind) -> String {
    match kind {
        crate::fetch::boards::Kind::Recruitee => format!("{base}/recruitee/{{company}}"),
        _ => base.to_string(),
    }
}

/// The path of a request path or URL, without its query: what the careers
/// counts are kept under.
fn path_of(path_or_url: &str) -> &str {
    let path = match path_or_url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => path_or_url,
    };
    path.split(['?', '#']).next().unwrap_or(path)
}
