//! Fetching: every source's listing, then the details of Paraform's roles
//! the plan wants and whose tier is worth one.

use std::collections::HashMap;

use super::plan::Plan;
use super::{Scope, ScrapeOptions, SourceFetch, shorten};
use crate::assess::{intel_of, parse_detail};
use crate::config::{Config, Env};
use crate::fetch::paraform::{Access, Limits, Paraform, RoleList};
use crate::fetch::{FetchError, HttpClient, boards, careers};
use crate::progress::Progress;
use crate::rules::Rules;
use crate::session::{SESSION_ENV, Session};
use crate::spool::SpooledTexts;
use crate::store::Db;

/// Every enabled source's listing (and Paraform's details), one after the
/// other; a source that fails fails alone.
pub(super) async fn fetch_sources(
    config: &Config,
    env: &Env,
    options: &ScrapeOptions,
    db: &Db,
    plan: &Plan<'_>,
    rules: &Rules,
    active_careers: &HashMap<String, std::collections::HashSet<String>>,
) -> Vec<SourceFetch> {
    let mut fetches = Vec::new();
    if config.paraform.enabled {
        options.progress.step("fetching Paraform roles");
        fetches.push(fetch_paraform(config, env, options, db, plan, rules).await);
    }
    if config.boards.enabled && !config.companies.is_empty() {
        options.progress.step("fetching company boards");
        fetches.extend(fetch_boards(config).await);
        if config.companies.iter().any(|c| c.careers.is_some()) {
            options.progress.step("reading careers pages");
            fetches.extend(fetch_careers(config, db, active_careers, options.now).await);
        }
    }
    fetches
}

/// Every followed company's boards, one request at a time through one
/// polite client (as Paraform's: delay, retries, timeout). A board that
/// fails fails alone.
async fn fetch_boards(config: &Config) -> Vec<SourceFetch> {
    let settings = &config.boards;
    let client = HttpClient::new(&settings.http());
    let mut fetches = Vec::new();
    for company in &config.companies {
        for (source, board) in company.boards() {
            let Some(kind) = boards::Kind::from_source(source) else {
                continue;
            };
            // Already lower case when the config was read; made sure here.
            let board = &board.to_ascii_lowercase();
            let base_url = settings.base_url(kind);
            let before = client.as_ref().map(|c| c.request_count()).unwrap_or(0);
            let result = match &client {
                Ok(client) => {
                    boards::list_jobs(client, base_url, kind, board, settings.max_board_bytes).await
                }
                Err(err) => Err(FetchError::Request {
                    procedure: "client".into(),
                    detail: err.to_string(),
                }),
            };
            let after = client.as_ref().map(|c| c.request_count()).unwrap_or(0);
            fetches.push(SourceFetch {
                scope: Scope::Board {
                    kind: crate::company::Board::Api(kind),
                    board: board.to_string(),
                    company: company.name.clone(),
                },
                result,
                details: SpooledTexts::default(),
                detail_errors: Vec::new(),
                requests: after - before,
                route: None,
                pages: Vec::new(),
            });
        }
    }
    fetches
}

/// Every followed careers page, one request at a time through the boards'
/// client. A site that fails fails alone; what its pages answered is
/// written with its roles.
async fn fetch_careers(
    config: &Config,
    db: &Db,
    active_careers: &HashMap<String, std::collections::HashSet<String>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<SourceFetch> {
    let settings = &config.boards;
    let client = HttpClient::new(&settings.http());
    let mut fetches = Vec::new();
    for company in &config.companies {
        let Some((url, host)) = company.careers_page() else {
            continue;
        };
        let site = careers::Site {
            url,
            host: host.clone(),
            link_pattern: company.job_link_pattern.as_deref(),
            max_pages: company.max_pages(),
            max_bytes: settings.max_board_bytes,
        };
        // A page is asked for conditionally only while every posting it
        // carried is one of the site's active roles.
        let prefix = crate::role::RoleId::board_prefix(crate::company::CAREERS, &host);
        let none = std::collections::HashSet::new();
        let active = active_careers.get(&prefix).unwrap_or(&none);
        let before = client.as_ref().map(|c| c.request_count()).unwrap_or(0);
        let result = async {
            let client = client.as_ref().map_err(|err| FetchError::Request {
                procedure: "client".into(),
                detail: err.to_string(),
            })?;
            let cached = db.careers_pages(&host).map_err(|err| FetchError::Request {
                procedure: format!("careers page at {host}"),
                detail: format!("reading what its pages answered before failed: {err:#}"),
            })?;
            careers::read_site(client, &site, &cached, active, now).await
        }
        .await;
        let after = client.as_ref().map(|c| c.request_count()).unwrap_or(0);
        let (result, notes, pages) = match result {
            Ok(read) => (Ok(read.list), read.notes, read.pages),
            Err(err) => (Err(err), Vec::new(), Vec::new()),
        };
        fetches.push(SourceFetch {
            scope: Scope::Board {
                kind: crate::company::Board::Careers,
                board: host,
                company: company.name.clone(),
            },
            result,
            details: SpooledTexts::default(),
            detail_errors: notes,
            requests: after - before,
            route: None,
            pages,
        });
    }
    fetches
}

async fn fetch_paraform(
    config: &Config,
    env: &Env,
    options: &ScrapeOptions,
    db: &Db,
    plan: &Plan<'_>,
    rules: &Rules,
) -> SourceFetch {
    let now = options.now;
    let settings = &config.paraform;
    let client = HttpClient::new(&settings.http());
    let mut details = SpooledTexts::default();
    let mut detail_errors = Vec::new();
    let mut route = None;
    let result = async {
        let client = client.as_ref().map_err(|err| FetchError::Request {
            procedure: "client".into(),
            detail: err.to_string(),
        })?;
        let session = load_session(config, env)?;
        let limits = Limits {
            list_bytes: settings.max_list_bytes,
            detail_bytes: settings.max_detail_bytes,
        };
        let access = Access {
            mode: settings.fetch,
            browser: find_browser(env),
        };
        let paraform = Paraform::new(client, &settings.base_url, &session, now, limits, access)?;
        // Whatever happens below, the browser (if one started) is closed:
        // by `close` here, or by dropping `paraform` on an early return.
        let fetched =
            fetch_listing_and_details(&paraform, config, options, db, plan, rules).await;
        let fetched = fetched.map(|(roles, texts, errors)| {
            details = texts;
            detail_errors = errors;
            roles
        });
        route = Some(paraform.route());
        if let Some(procedure) = paraform.challenged_at() {
            detail_errors.push(format!(
                "paraform: {procedure} was answered with a browser challenge; the rest of the run went through headless Chromium"
            ));
        }
        paraform.close().await;
        fetched
    }
    .await;
    let requests = client.map(|c| c.request_count()).unwrap_or(0);
    SourceFetch {
        scope: Scope::Paraform,
        result,
        details,
        detail_errors,
        requests,
        route,
        pages: Vec::new(),
    }
}

/// The browser `[paraform] fetch` may come to: `AIR_DEMAND_BROWSER`, else
/// the first Chromium or Chrome on `PATH`; none in a build without the
/// `browser` feature.
fn find_browser(env: &Env) -> Option<std::path::PathBuf> {
    #[cfg(feature = "browser")]
    {
        crate::browser::find(
            None,
            env.var(crate::fetch::BROWSER_ENV),
            std::env::var_os("PATH"),
        )
        .ok()
    }
    #[cfg(not(feature = "browser"))]
    {
        let _ = env;
        None
    }
}

/// The listing, then the details of the roles worth one (their texts,
/// and the detail calls that failed).
async fn fetch_listing_and_details(
    paraform: &Paraform<'_>,
    config: &Config,
    options: &ScrapeOptions,
    db: &Db,
    plan: &Plan<'_>,
    rules: &Rules,
) -> Result<(RoleList, SpooledTexts, Vec<String>), FetchError> {
    let settings = &config.paraform;
    let mut details = SpooledTexts::default();
    let mut detail_errors = Vec::new();
    // A quiet role (listed exactly as stored, nothing it depends on
    // moved) is only counted as seen.
    let quiet = plan.quiet_texts();
    let unchanged = |text_hash: &str| quiet.get(text_hash).map(|id| id.to_string());
    let roles = paraform.list_roles_except(&unchanged).await?;
    if settings.fetch_details {
        let candidates = detail_candidates(&roles, plan, db, rules);
        options
            .progress
            .counted("fetching role details", candidates.len() as u64);
        let wanted = DetailRequest {
            // A briefing reads the full description (getRoleByIdDetailed).
            with_description: settings.fetch_description || config.llm.enabled,
            progress: &options.progress,
        };
        fetch_details(
            paraform,
            &candidates,
            &wanted,
            &mut details,
            &mut detail_errors,
        )
        .await;
    }
    Ok((roles, details, detail_errors))
}

/// Stored roles read per statement when a run needs their details.
pub(super) const BATCH: usize = 256;

/// The roles the plan wants detailed whose tier (with what is stored of
/// their detail, read a batch at a time) is worth a detail call: any but
/// SKIP. Unreadable stored rows count as no detail.
fn detail_candidates(
    list: &RoleList,
    plan: &Plan<'_>,
    db: &Db,
    rules: &Rules,
) -> Vec<(String, String)> {
    let mut candidates = Vec::new();
    for batch in plan.detail_wanted(list).chunks(BATCH) {
        let with_detail: Vec<&str> = batch
            .iter()
            .filter(|w| w.has_detail)
            .map(|w| w.id.as_str())
            .collect();
        let stored = if with_detail.is_empty() {
            HashMap::new()
        } else {
            db.stored_roles_in(&with_detail).unwrap_or_default()
        };
        for wanted in batch {
            let Some(listed) = wanted.listed else {
                // Never detailed, and its stored tier is a candidate's.
                candidates.push((wanted.id.clone(), wanted.external_id.clone()));
                continue;
            };
            let raw = list.value(listed);
            let detail = stored
                .get(&wanted.id)
                .and_then(|p| parse_detail(p.detail.as_deref()));
            let intel = intel_of(detail.as_ref(), rules);
            if crate::evaluate::tier(&raw, &intel, rules).is_candidate() {
                candidates.push((wanted.id.clone(), wanted.external_id.clone()));
            }
        }
    }
    candidates
}

/// After this many failed detail calls in a row the rest are left for the
/// next run: the source is clearly unwell, and each failure costs retries.
const MAX_DETAIL_FAILURES_IN_A_ROW: usize = 3;

struct DetailRequest<'a> {
    with_description: bool,
    progress: &'a Progress,
}

async fn fetch_details(
    paraform: &Paraform<'_>,
    candidates: &[(String, String)],
    wanted: &DetailRequest<'_>,
    details: &mut SpooledTexts,
    errors: &mut Vec<String>,
) {
    let mut failures_in_a_row = 0;
    for (id, external_id) in candidates {
        wanted.progress.advance();
        match paraform
            .role_detail(external_id, wanted.with_description)
            .await
        {
            Ok(detail) => {
                details.insert(id.clone(), &detail.to_string());
                failures_in_a_row = 0;
            }
            Err(FetchError::SessionExpired(message)) => {
                errors.push(format!("paraform: role details stopped: {message}"));
                return;
            }
            Err(err) => {
                errors.push(format!(
                    "paraform: details of role {} not fetched: {err}",
                    shorten(external_id)
                ));
                failures_in_a_row += 1;
                if failures_in_a_row >= MAX_DETAIL_FAILURES_IN_A_ROW {
                    errors.push(format!(
                        "paraform: stopped fetching role details after {MAX_DETAIL_FAILURES_IN_A_ROW} failures in a row; the rest are tried next run"
                    ));
                    return;
                }
            }
        }
    }
}

fn load_session(config: &Config, env: &Env) -> Result<Session, FetchError> {
    match Session::load(&config.session_file(), env.var(SESSION_ENV)) {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(FetchError::SessionMissing(format!(
            "no Paraform session: export one from a logged-in browser and run `air-demand session import FILE` (or set {SESSION_ENV}); looked for {}",
            config.session_file().display()
        ))),
        Err(err) => Err(FetchError::SessionMissing(format!("{err:#}"))),
    }
}
