//! Record: the whole run in one transaction. Each source's roles (new,
//! changed, gone, back, seen), the closing of boards no longer followed,
//! then the verdicts already prepared, and the run's row.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::prepare::Prepared;
use super::sources::BATCH;
use super::{Scope, ScrapeReport, SourceFetch, shorten};
use crate::assess::{TREND_WINDOW_DAYS, record_verdict, trend_of};
use crate::config::Config;
use crate::fetch::boards;
use crate::fetch::careers::PageUpdate;
use crate::fetch::paraform::RoleList;
use crate::role::{RoleId, paraform_columns};
use crate::spool::SpooledTexts;
use crate::store::{Db, Evaluation, RoleSummary, RoleWrite, RunCounts, RunStatus, StoreTx};
use crate::track::{ChangeKind, FieldChange, diff, text_hash};

/// The stored board roles, every board's (followed or not): each followed
/// board's removals are judged against its own roles only, and the roles of
/// the others are closed as no longer followed.
#[derive(Debug, Default)]
pub(super) struct StoredBoards {
    /// By [`Scope::prefix`], then by canonical id (see [`canonical_board_id`]).
    by_board: HashMap<String, HashMap<String, RoleSummary>>,
    /// Roles stored twice under two spellings of one board (`greenhouse:Acme/1`
    /// and `greenhouse:acme/1`, left by versions that read board names with
    /// case): the one not kept in `by_board`. Never listed again, so closed
    /// as no longer followed when active.
    duplicates: Vec<RoleSummary>,
}

impl StoredBoards {
    /// The external ids (`<host>/<posting id>`) of the active careers
    /// roles, by their board's prefix (`careers:acme.com/`).
    pub(super) fn active_careers(&self) -> HashMap<String, HashSet<String>> {
        let prefix = format!("{}:", crate::company::CAREERS);
        self.by_board
            .iter()
            .filter(|(board, _)| board.starts_with(&prefix))
            .map(|(board, roles)| {
                let active = roles
                    .values()
                    .filter(|role| role.active)
                    .filter_map(|role| Some(RoleId::parse(&role.id)?.external().to_string()))
                    .collect();
                (board.clone(), active)
            })
            .collect()
    }
}

/// A board role's id in its one spelling, with its board's prefix:
/// `greenhouse:Acme/123` → (`greenhouse:acme/`, `greenhouse:acme/123`).
/// Board names are read without regard to case (as the three APIs read
/// them); the job id keeps its case. `None` for an id of another shape.
fn canonical_board_id(id: &str) -> Option<(String, String)> {
    let id = RoleId::parse(id)?;
    let (board, job) = id.board_and_job()?;
    let board = board.to_ascii_lowercase();
    let canonical = RoleId::board_job(id.source(), &board, job).into_string();
    Some((RoleId::board_prefix(id.source(), &board), canonical))
}

/// Groups stored board roles by board, each by its canonical id.
///
/// Ids stored by older versions keep their case (`greenhouse:Acme/123`):
/// nothing is rewritten, they are matched to what a board lists without
/// regard to case, and updated under the id they were first stored with.
/// Where one role is stored under two spellings, the one already in the
/// canonical spelling wins (else the active one, else the first by id).
fn group_board_roles(roles: impl IntoIterator<Item = RoleSummary>) -> StoredBoards {
    let mut roles: Vec<RoleSummary> = roles.into_iter().collect();
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    let mut stored = StoredBoards::default();
    for role in roles {
        let Some((prefix, canonical)) = canonical_board_id(&role.id) else {
            continue;
        };
        let board = stored.by_board.entry(prefix).or_default();
        let rank = |r: &RoleSummary| (r.id == canonical, r.active);
        match board.get(&canonical) {
            Some(kept) if rank(kept) >= rank(&role) => stored.duplicates.push(role),
            _ => {
                if let Some(replaced) = board.insert(canonical, role) {
                    stored.duplicates.push(replaced);
                }
            }
        }
    }
    stored
}

pub(super) fn board_summaries(db: &Db) -> Result<StoredBoards> {
    let mut roles = Vec::new();
    let sources = boards::Kind::ALL
        .map(boards::Kind::source)
        .into_iter()
        .chain([crate::company::CAREERS]);
    for source in sources {
        roles.extend(db.role_summaries(Some(source))?.into_values());
    }
    Ok(group_board_roles(roles))
}

/// What every stage of recording a run needs to know.
pub(super) struct RunContext<'a> {
    pub config: &'a Config,
    pub run_id: i64,
    pub now: DateTime<Utc>,
    pub started: Instant,
    /// The verdicts computed before the transaction, and the model's usage.
    pub prepared: &'a Prepared,
}

/// Writes the whole run in one transaction and closes its row.
pub(super) fn record_run(
    db: &mut Db,
    run: &RunContext<'_>,
    fetches: &[SourceFetch],
    stored: &HashMap<String, RoleSummary>,
    stored_boards: &StoredBoards,
) -> Result<ScrapeReport> {
    let no_roles = HashMap::new();
    let tx = db.transaction()?;
    let mut counts = RunCounts::default();
    let mut errors = Vec::new();
    let mut failed_sources = 0;
    let mut suspicious = false;
    for fetch in fetches {
        counts.requests += fetch.requests;
        if let Some(route) = fetch.route {
            tx.record_paraform_fetch(run.run_id, route.as_str())?;
        }
        let stored = match &fetch.scope {
            Scope::Paraform => stored,
            Scope::Board { .. } => stored_boards
                .by_board
                .get(&fetch.scope.prefix())
                .unwrap_or(&no_roles),
        };
        let mut lines = SourceErrors::new(&fetch.scope.label());
        match &fetch.result {
            Err(err) => {
                failed_sources += 1;
                lines.push(
                    "failure",
                    format!("{}: {err}; no role was marked gone", fetch.scope.label()),
                );
            }
            Ok(list) => {
                let source = SourceRun {
                    scope: &fetch.scope,
                    run_id: run.run_id,
                    now: run.now,
                    base_url: run.config.paraform.link_base(),
                };
                let outcome = source.record(&tx, list, stored, &mut counts, &mut lines)?;
                for page in &fetch.pages {
                    match page {
                        PageUpdate::Save(page) => tx.save_careers_page(page)?,
                        PageUpdate::Forget(url) => tx.forget_careers_page(url)?,
                    }
                }
                suspicious |= outcome == Completeness::Suspicious;
                for line in &fetch.detail_errors {
                    lines.push("role details", line.clone());
                }
                // Board roles are company signals, not placements: no tier.
                if fetch.scope == Scope::Paraform {
                    write_verdicts(&tx, run, list, &fetch.details, stored)?;
                }
            }
        }
        errors.extend(lines.into_lines());
    }
    close_unfollowed(&tx, run, fetches, stored_boards)?;
    let status = if fetches.is_empty() {
        errors.push("no source is enabled in the config ([paraform] enabled = false)".into());
        RunStatus::Failed
    } else if failed_sources == fetches.len() {
        RunStatus::Failed
    } else if failed_sources > 0 || suspicious {
        RunStatus::Partial
    } else {
        RunStatus::Ok
    };
    let model = &run.prepared.enrichment;
    errors.extend(model.warnings.iter().cloned());
    if run.config.llm.enabled {
        tx.record_llm_usage(run.run_id, &model.usage)?;
    }
    counts.qualified = tx.count_qualified()?;
    let duration = run.started.elapsed();
    let finished = run.now + chrono::Duration::from_std(duration).unwrap_or_default();
    tx.finish_run(run.run_id, status, &counts, &errors, finished, duration)?;
    tx.commit()?;
    Ok(ScrapeReport {
        run_id: run.run_id,
        status,
        counts,
        errors,
        duration,
    })
}

/// Closes the active roles of every board no longer followed (its company
/// entry removed, its board name removed or changed, or `[boards]` turned
/// off) with `UNFOLLOWED`: gone from our watch, not from the company's
/// board, so never `DISAPPEARED` and not counted as gone. Whether the board
/// answered does not matter: what is followed is the config's word. A run
/// with no source at all (a failed run) closes nothing.
///
/// Such a role, followed and listed again later, is simply active again
/// (no `REAPPEARED`: it never left the board as far as anyone knows, and
/// the digest must not call it opened); see `SourceRun::record_role`.
pub(super) fn close_unfollowed(
    tx: &StoreTx<'_>,
    run: &RunContext<'_>,
    fetches: &[SourceFetch],
    stored_boards: &StoredBoards,
) -> Result<()> {
    if fetches.is_empty() {
        return Ok(());
    }
    let followed: HashSet<String> = fetches
        .iter()
        .filter(|f| matches!(f.scope, Scope::Board { .. }))
        .map(|f| f.scope.prefix())
        .collect();
    let unfollowed = stored_boards
        .by_board
        .iter()
        .filter(|(prefix, _)| !followed.contains(*prefix))
        .flat_map(|(_, roles)| roles.values());
    let mut closing: Vec<&RoleSummary> = unfollowed
        .chain(&stored_boards.duplicates)
        .filter(|role| role.active)
        .collect();
    closing.sort_by(|a, b| a.id.cmp(&b.id));
    for role in closing {
        tx.mark_gone(&role.id, run.now)?;
        let change = FieldChange::new(
            ChangeKind::Unfollowed,
            "status",
            Some("active".into()),
            Some("gone".into()),
        );
        tx.insert_change(&role.id, Some(run.run_id), run.now, &change)?;
    }
    Ok(())
}

/// Writes the verdicts prepared for the roles seen in this run (a batch of
/// stored verdicts read at a time, to compare), with the details fetched
/// and the model's keys, after the run's changes (so trends include them).
/// A seen role with none prepared kept its inputs: only its trend can
/// move, as changes age out of the window.
fn write_verdicts(
    tx: &StoreTx<'_>,
    run: &RunContext<'_>,
    list: &RoleList,
    details: &SpooledTexts,
    stored: &HashMap<String, RoleSummary>,
) -> Result<()> {
    let recent = tx.recent_changes(run.now - chrono::Duration::days(TREND_WINDOW_DAYS))?;
    let prepared = run.prepared;
    let ids = prepared.ids();
    for batch in ids.chunks(BATCH) {
        let verdicts = tx.evaluations_in(batch)?;
        for id in batch {
            let Some(role) = prepared.get(id)? else {
                continue;
            };
            if let Some(columns) = &role.detail
                && let Some(text) = details.get(id).transpose()?
            {
                tx.write_detail(id, &columns.write(&text), run.now)?;
            }
            let evaluation = Evaluation {
                trend: trend_of(&recent, id),
                ..role.evaluation
            };
            record_verdict(
                tx,
                id,
                &evaluation,
                verdicts.get(*id),
                Some(run.run_id),
                run.now,
            )?;
            tx.write_evaluation_key(id, &role.key, &role.input)?;
            if let Some(model) = &role.model {
                tx.set_model_keys(
                    id,
                    model.intel_key.as_deref(),
                    model.briefing_key.as_deref(),
                )?;
                tx.write_model_state(id, model.key.as_deref(), model.until.as_deref())?;
            }
        }
    }
    let mut done: HashSet<&str> = ids.iter().copied().collect();
    let listed = list.roles.iter().filter_map(|l| l.external_id.as_deref());
    let quiet = list.unchanged.iter().map(String::as_str);
    for external_id in listed.chain(quiet) {
        let id = RoleId::paraform(external_id).into_string();
        if done.contains(id.as_str()) {
            continue;
        }
        let Some(summary) = stored.get(&id) else {
            continue;
        };
        let trend = trend_of(&recent, &id);
        if trend != summary.trend {
            tx.write_trend(&id, trend)?;
        }
        done.insert(summary.id.as_str());
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
enum Completeness {
    Complete,
    /// Zero roles, or fewer than half of those active before: stored, but
    /// nobody is marked gone on its word.
    Suspicious,
}

/// Recording one source's roles within the run's transaction.
pub(super) struct SourceRun<'a> {
    scope: &'a Scope,
    run_id: i64,
    now: DateTime<Utc>,
    base_url: &'a str,
}

impl SourceRun<'_> {
    fn record(
        &self,
        tx: &StoreTx<'_>,
        list: &RoleList,
        stored: &HashMap<String, RoleSummary>,
        counts: &mut RunCounts,
        errors: &mut SourceErrors,
    ) -> Result<Completeness> {
        // Listed but unreadable: noted, kept as they were, and never gone.
        let unreadable = self.note_unreadable(list, errors);
        let mut seen = HashSet::new();
        // Listed exactly as stored: seen, and that is all (one statement).
        let mut touched = Vec::new();
        for external_id in &list.unchanged {
            let id = RoleId::new(self.scope.source(), external_id).into_string();
            if !seen.insert(id.clone()) {
                errors.push(
                    "repeated ids",
                    format!(
                        "{}: skipped a second role with id {} in one response",
                        self.scope.source(),
                        shorten(external_id)
                    ),
                );
                continue;
            }
            touched.push(id);
        }
        tx.touch_roles(&touched, self.now)?;
        for listed in &list.roles {
            let Some(external_id) = listed.external_id.clone() else {
                errors.push(
                    "roles without an id",
                    format!(
                        "{}: skipped the role at position {}: it has no id",
                        self.scope.source(),
                        listed.position
                    ),
                );
                continue;
            };
            let id = RoleId::new(self.scope.source(), &external_id).into_string();
            if !seen.insert(id.clone()) {
                errors.push(
                    "repeated ids",
                    format!(
                        "{}: skipped a second role with id {} in one response",
                        self.scope.source(),
                        shorten(&external_id)
                    ),
                );
                continue;
            }
            let previous = stored.get(&id);
            let text = list.text(listed)?;
            // Only volatile fields moved: the new text is kept, nothing else.
            if let Some(p) = previous.filter(|p| p.active && p.content_hash == listed.content_hash)
            {
                tx.refresh_raw(&p.id, &text, &text_hash(&text), self.now)?;
                continue;
            }
            let raw: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let role = Listed {
                id: &id,
                external_id: &external_id,
                raw: &raw,
                text: &text,
                content_hash: &listed.content_hash,
            };
            self.record_role(tx, &role, previous, counts)?;
        }
        counts.seen += seen.len() as u64;

        // Closed by the listing itself (past their `validThrough`): listed,
        // and gone.
        let closed: HashSet<String> = list
            .closed
            .iter()
            .map(|external_id| RoleId::new(self.scope.source(), external_id).into_string())
            .filter(|id| !seen.contains(id))
            .collect();
        let listed = seen.union(&unreadable).count() + closed.len();
        let active_before = stored.values().filter(|role| role.active).count();
        let label = self.scope.label();
        // A board with no openings, and none before, has nothing to protect:
        // a company that is not hiring is not a failing source.
        let nothing_to_lose = listed == 0 && active_before == 0;
        let reason = if nothing_to_lose && self.scope != &Scope::Paraform {
            None
        } else if listed == 0 {
            Some(format!(
                "{label} returned zero roles; nobody was marked gone"
            ))
        } else if listed * 2 < active_before {
            Some(format!(
                "{label} returned {listed} roles, fewer than half of the {active_before} active before; nobody was marked gone",
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            errors.push("suspicious listing", reason);
            return Ok(Completeness::Suspicious);
        }
        // By the stored map's key: a board role's canonical id, which an
        // id stored with another case of its board name is not.
        let mut gone: Vec<&RoleSummary> = stored
            .iter()
            .filter(|(key, role)| role.active && !seen.contains(*key) && !unreadable.contains(*key))
            .map(|(_, role)| role)
            .collect();
        gone.sort_by(|a, b| a.id.cmp(&b.id));
        for role in gone {
            tx.mark_gone(&role.id, self.now)?;
            let change = FieldChange::new(
                ChangeKind::Disappeared,
                "status",
                Some("active".into()),
                Some("gone".into()),
            );
            tx.insert_change(&role.id, Some(self.run_id), self.now, &change)?;
            counts.gone += 1;
        }
        Ok(Completeness::Complete)
    }

    /// Records a problem per unreadable role (the first few; then a count)
    /// and returns the ids of those whose id could be read.
    fn note_unreadable(&self, list: &RoleList, errors: &mut SourceErrors) -> HashSet<String> {
        for role in list.unreadable.iter().take(MAX_UNREADABLE_NOTED) {
            let id = match &role.id {
                Some(id) => format!(" (id {})", shorten(id)),
                None => String::new(),
            };
            errors.push(
                "unreadable roles",
                format!(
                    "{}: skipped the role at position {}{id}: {}",
                    self.scope.source(),
                    role.position,
                    role.problem
                ),
            );
        }
        let named = list.unreadable.len().min(MAX_UNREADABLE_NOTED);
        if list.unreadable_count > named {
            errors.push(
                "unreadable roles",
                format!(
                    "{}: skipped {} more roles that could not be read",
                    self.scope.source(),
                    list.unreadable_count - named
                ),
            );
        }
        list.unreadable_ids
            .iter()
            .map(|id| RoleId::new(self.scope.source(), id).into_string())
            .collect()
    }

    fn record_role(
        &self,
        tx: &StoreTx<'_>,
        role: &Listed<'_>,
        stored: Option<&RoleSummary>,
        counts: &mut RunCounts,
    ) -> Result<()> {
        // A role stored under an older spelling of its board keeps its id.
        let id = stored.map_or(role.id, |s| s.id.as_str());
        let (raw, raw_text) = (role.raw, role.text);
        let hash = role.content_hash.to_string();
        let raw_hash = text_hash(raw_text);
        let columns = match self.scope {
            Scope::Paraform => paraform_columns(raw, self.base_url),
            Scope::Board { kind, company, .. } => {
                crate::company::board_columns(*kind, raw, company)
            }
        };
        let write = RoleWrite {
            id,
            source: self.scope.source(),
            external_id: role.external_id,
            columns: &columns,
            content_hash: &hash,
            raw: raw_text,
            raw_hash: &raw_hash,
        };
        let Some(stored) = stored else {
            tx.insert_role(&write, self.now)?;
            tx.insert_version(id, self.run_id, self.now, &hash, raw_text)?;
            tx.insert_change(
                id,
                Some(self.run_id),
                self.now,
                &FieldChange {
                    kind: ChangeKind::New,
                    field: None,
                    old_value: None,
                    new_value: None,
                },
            )?;
            counts.new += 1;
            return Ok(());
        };
        // Closed as no longer followed and followed again: simply active
        // again (see `close_unfollowed`); gone from its board: back.
        if !stored.active && !stored.unfollowed {
            let change = FieldChange::new(
                ChangeKind::Reappeared,
                "status",
                Some("gone".into()),
                Some("active".into()),
            );
            tx.insert_change(id, Some(self.run_id), self.now, &change)?;
            counts.reappeared += 1;
        }
        let content_changed = stored.content_hash != hash;
        if content_changed {
            // An unreadable stored copy (edited by hand) compares as empty.
            let previous: Value = tx
                .stored_role(id)?
                .and_then(|p| serde_json::from_str(&p.raw).ok())
                .unwrap_or(Value::Null);
            tx.insert_version(id, self.run_id, self.now, &hash, raw_text)?;
            let changes = match self.scope {
                Scope::Paraform => diff(&previous, raw),
                Scope::Board { kind, .. } => crate::track::board_diff(*kind, &previous, raw),
            };
            for change in changes {
                tx.insert_change(id, Some(self.run_id), self.now, &change)?;
            }
            counts.changed += 1;
        }
        tx.update_role(&write, content_changed, self.now)
    }
}

/// A listed role being recorded: its ids, JSON, and text as received.
struct Listed<'a> {
    id: &'a str,
    external_id: &'a str,
    raw: &'a Value,
    text: &'a str,
    content_hash: &'a str,
}

/// Unreadable roles named one by one in a run's errors; the rest are counted.
const MAX_UNREADABLE_NOTED: usize = 10;

/// Lines one source may add to a run's errors; the rest are counted.
pub const MAX_ERRORS_PER_SOURCE: usize = 20;

/// One source's lines for the run's errors: the first
/// [`MAX_ERRORS_PER_SOURCE`] as they come, the rest counted by kind and
/// summed up in one closing line. A listing that repeats one id 20,000
/// times costs 21 lines in `runs.errors`, `status` and `health.json`.
struct SourceErrors {
    label: String,
    lines: Vec<String>,
    more: std::collections::BTreeMap<&'static str, u64>,
}

impl SourceErrors {
    fn new(label: &str) -> SourceErrors {
        SourceErrors {
            label: label.to_string(),
            lines: Vec::new(),
            more: Default::default(),
        }
    }

    /// `kind` names what the line is about ("repeated ids"), for the count.
    fn push(&mut self, kind: &'static str, line: String) {
        if self.lines.len() < MAX_ERRORS_PER_SOURCE {
            self.lines.push(line);
        } else {
            *self.more.entry(kind).or_default() += 1;
        }
    }

    fn into_lines(mut self) -> Vec<String> {
        if !self.more.is_empty() {
            let total: u64 = self.more.values().sum();
            let kinds: Vec<String> = self
                .more
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            self.lines.push(format!(
                "{}: and {total} more like this ({})",
                self.label,
                kinds.join(", ")
            ));
        }
        self.lines
    }
}

#[cfg(test)]
mod board_scope_tests {
    use super::*;

    fn summary(id: &str, active: bool) -> RoleSummary {
        RoleSummary {
            id: id.into(),
            active,
            content_hash: "h".into(),
            raw_hash: None,
            detail_fetched_at: None,
            tier: None,
            trend: None,
            evaluation_key: None,
            evaluation_input: None,
            unfollowed: false,
            model_key: None,
            model_until: None,
        }
    }

    #[test]
    fn board_ids_are_compared_without_the_case_of_the_board_name() {
        let check = |id: &str, expected: Option<(&str, &str)>| {
            assert_eq!(
                canonical_board_id(id),
                expected.map(|(p, c)| (p.to_string(), c.to_string())),
                "{id}"
            );
        };
        check(
            "greenhouse:Acme/123",
            Some(("greenhouse:acme/", "greenhouse:acme/123")),
        );
        // The job id keeps its case.
        check(
            "lever:ACME-ai/AbC",
            Some(("lever:acme-ai/", "lever:acme-ai/AbC")),
        );
        check("paraform:abc", None);
    }

    #[test]
    fn a_role_stored_under_two_spellings_is_kept_once() {
        let stored = group_board_roles([
            summary("greenhouse:Acme/1", true),
            summary("greenhouse:acme/1", true),
            summary("greenhouse:Acme/2", true),
            summary("greenhouse:ACME/3", false),
            summary("greenhouse:Acme/3", true),
            summary("lever:globex/9", true),
        ]);
        let acme = &stored.by_board["greenhouse:acme/"];
        let kept = |canonical: &str| acme[canonical].id.as_str();
        // The canonical spelling wins; else the active one; the old id is kept.
        assert_eq!(kept("greenhouse:acme/1"), "greenhouse:acme/1");
        assert_eq!(kept("greenhouse:acme/2"), "greenhouse:Acme/2");
        assert_eq!(kept("greenhouse:acme/3"), "greenhouse:Acme/3");
        let duplicates: Vec<&str> = stored.duplicates.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(duplicates, ["greenhouse:ACME/3", "greenhouse:Acme/1"]);
        assert_eq!(stored.by_board["lever:globex/"].len(), 1);
    }
}

#[cfg(test)]
mod source_errors_tests {
    use super::*;

    #[test]
    fn a_source_names_twenty_lines_and_counts_the_rest_by_kind() {
        let mut lines = SourceErrors::new("lever board echo");
        for i in 0..30 {
            lines.push("repeated ids", format!("repeat {i}"));
        }
        lines.push("role details", "details failed".into());
        let lines = lines.into_lines();
        assert_eq!(lines.len(), MAX_ERRORS_PER_SOURCE + 1);
        assert_eq!(lines[0], "repeat 0");
        assert_eq!(
            lines[MAX_ERRORS_PER_SOURCE],
            "lever board echo: and 11 more like this (10 repeated ids, 1 role details)"
        );
        let mut few = SourceErrors::new("paraform");
        few.push("failure", "one".into());
        assert_eq!(few.into_lines(), vec!["one"]);
    }
}
