//! The `roles` table: the latest state of every role, its verdict and its
//! detail text.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{ColumnNames, Columns, Db, StoreTx};
use crate::evaluate::{Tier, Trend};
use crate::role::timestamp;
use crate::track::ChangeKind;

/// What the tracker and the evaluator need to know about a stored role.
#[derive(Debug, Clone)]
pub struct StoredRole {
    pub id: String,
    pub active: bool,
    pub content_hash: String,
    pub raw: String,
    /// The latest detail JSON, if a detail call ever succeeded.
    pub detail: Option<String>,
    pub detail_fetched_at: Option<String>,
    pub evaluation: Option<Evaluation>,
    /// The `llm_cache` answers its verdict and briefing were made from.
    pub intel_key: Option<String>,
    pub briefing_key: Option<String>,
}

/// What a scrape needs of every stored role to tell what changed, without
/// its JSON: a quiet run of 100,000 roles reads a few megabytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSummary {
    pub id: String,
    pub active: bool,
    pub content_hash: String,
    /// sha256 of `raw` as stored (NULL before schema 7).
    pub raw_hash: Option<String>,
    pub detail_fetched_at: Option<String>,
    pub tier: Option<Tier>,
    pub trend: Option<Trend>,
    /// What the stored verdict was computed from.
    pub evaluation_key: Option<String>,
    /// `track::evaluation_input` of `raw`, part of the key (NULL before
    /// schema 10).
    pub evaluation_input: Option<String>,
    /// Gone because its board was no longer followed (its latest closing
    /// change is `UNFOLLOWED`), not because it left the board.
    pub unfollowed: bool,
    /// What its model answers were last settled from, and until when they
    /// hold (see [`StoreTx::write_model_state`]).
    pub model_key: Option<String>,
    pub model_until: Option<String>,
}

/// A role's stored verdict, as written: equal values mean nothing to write.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    pub tier: Tier,
    pub combined_score: f64,
    pub engineer_score: f64,
    pub headhunter_score: f64,
    pub excitement_score: f64,
    /// JSON array of strings.
    pub reasons: String,
    /// JSON array of strings.
    pub signals: String,
    /// JSON object.
    pub score_breakdown: String,
    pub trend: Option<Trend>,
}

/// The clean text read from a detail payload, for its columns.
#[derive(Debug, Clone, Default)]
pub struct DetailWrite<'a> {
    pub detail: &'a str,
    pub company_notes: Option<&'a str>,
    pub selling_points: Option<&'a str>,
    pub description: Option<&'a str>,
    pub equity: Option<&'a str>,
    /// JSON array of strings.
    pub requirements: String,
    /// What a role page shows of the detail, sanitised (`intel::DetailHtml`).
    pub company_notes_html: Option<&'a str>,
    pub selling_points_html: Option<&'a str>,
    pub description_html: Option<&'a str>,
}

/// Everything `roles --explain` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleExplained {
    pub role: RoleRow,
    pub engineer_score: Option<f64>,
    pub headhunter_score: Option<f64>,
    pub excitement_score: Option<f64>,
    /// The stored verdict, decoded: its reasons and signals (empty before
    /// one), and its score breakdown.
    pub reasons: Vec<String>,
    pub signals: Vec<String>,
    pub breakdown: Option<crate::evaluate::Breakdown>,
    pub company_notes: Option<String>,
    pub detail_fetched_at: Option<String>,
}

/// A role row as written by a scrape.
#[derive(Debug, Clone)]
pub struct RoleWrite<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub external_id: &'a str,
    pub columns: &'a crate::role::RoleColumns,
    pub content_hash: &'a str,
    pub raw: &'a str,
    /// sha256 of `raw`.
    pub raw_hash: &'a str,
}

#[cfg(test)]
impl RoleRow {
    /// An active role with nothing set but its id, seen on 2025-12-19: the
    /// tests' starting point.
    pub(crate) fn sample(id: &str) -> RoleRow {
        RoleRow {
            id: id.into(),
            title: None,
            company: None,
            url: None,
            status: RoleStatus::Active,
            tier: None,
            combined_score: None,
            salary_min: None,
            salary_max: None,
            fee_percent: None,
            posted_at: None,
            first_seen_at: "2025-12-19T00:00:00Z".into(),
            last_seen_at: "2025-12-19T00:00:00Z".into(),
            gone_at: None,
            trend: None,
        }
    }
}

/// What `roles.status` says: `active` (listed by its source's last
/// complete read), or `gone` (closed: `gone_at` says when).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleStatus {
    Active,
    Gone,
}

impl RoleStatus {
    pub const ALL: [RoleStatus; 2] = [RoleStatus::Active, RoleStatus::Gone];

    pub fn as_str(self) -> &'static str {
        match self {
            RoleStatus::Active => "active",
            RoleStatus::Gone => "gone",
        }
    }

    pub fn parse(text: &str) -> Option<RoleStatus> {
        RoleStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A role as listed by `roles`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleRow {
    pub id: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub url: Option<String>,
    pub status: RoleStatus,
    pub tier: Option<Tier>,
    pub combined_score: Option<f64>,
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    pub fee_percent: Option<f64>,
    pub posted_at: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub gone_at: Option<String>,
    pub trend: Option<Trend>,
}

/// Everything the site shows of a role.
#[derive(Debug, Clone)]
pub struct SiteRole {
    /// A gone board role closed because its board is no longer followed
    /// (its last open or close change is `UNFOLLOWED`), not gone from it.
    pub unfollowed: bool,
    /// `status` is `active`, `gone`, or [`UNFOLLOWED_STATUS`].
    pub row: RoleRow,
    pub engineer_score: Option<f64>,
    pub headhunter_score: Option<f64>,
    pub excitement_score: Option<f64>,
    pub raw: String,
    /// SHA-256 of `raw` without its volatile fields.
    pub content_hash: String,
    pub detail_fetched_at: Option<String>,
    /// The detail, read only where its HTML below was never stored.
    pub detail: Option<String>,
    /// The detail's HTML as sanitised when it was fetched.
    pub html: crate::intel::DetailHtml,
    /// The role's newest change row, if any.
    pub last_change_id: Option<i64>,
    /// The stored verdict, decoded: its reasons and signals (empty before
    /// one), and its score breakdown (read only with the detail).
    pub reasons: Vec<String>,
    pub signals: Vec<String>,
    pub breakdown: Option<crate::evaluate::Breakdown>,
    /// When the verdict was last written: a new breakdown has a new time.
    pub evaluated_at: Option<String>,
    pub last_changed_at: String,
    /// The detail's equity text, as stored when the detail was read.
    pub equity: Option<String>,
    /// JSON array of strings, as stored when the detail was read.
    pub requirements: Option<String>,
    /// Its stamp (`role_stamps`), read with the row: the two agree.
    pub stamp: Option<i64>,
}

/// Which roles `list_roles` returns.
#[derive(Debug, Clone, Default)]
pub struct RoleFilter {
    pub include_gone: bool,
    pub tier: Option<Tier>,
    pub limit: Option<u64>,
}

impl Db {
    /// Every stored role (of one source, or all), keyed by role id.
    pub fn stored_roles(&self, source: Option<&str>) -> Result<HashMap<String, StoredRole>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {STORED_ROLE_COLUMNS} FROM roles WHERE ?1 IS NULL OR source = ?1"
        ))?;
        let rows = stmt.query_map([source], stored_role)?;
        let mut roles = HashMap::new();
        for role in rows {
            let role = role?;
            roles.insert(role.id.clone(), role);
        }
        Ok(roles)
    }

    /// Every stored role's summary (of one source, or all), by id.
    pub fn role_summaries(&self, source: Option<&str>) -> Result<HashMap<String, RoleSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, status, content_hash, raw_hash, detail_fetched_at, tier, trend,
                    evaluation_key, evaluation_input, model_key, model_until,
                    CASE WHEN status = 'gone' THEN
                        (SELECT c.kind FROM changes c
                         WHERE c.role_id = role_rows.id
                           AND c.kind IN (?2, ?3, ?4)
                         ORDER BY c.id DESC LIMIT 1) = ?4
                    END AS unfollowed
             FROM role_rows WHERE ?1 IS NULL OR source = ?1",
        )?;
        let closing = [
            ChangeKind::Disappeared,
            ChangeKind::Reappeared,
            ChangeKind::Unfollowed,
        ];
        let rows = stmt.query_map(params![source, closing[0], closing[1], closing[2]], |r| {
            Ok(RoleSummary {
                id: r.get("id")?,
                active: r.get::<_, String>("status")? == "active",
                content_hash: r.get("content_hash")?,
                raw_hash: r.get("raw_hash")?,
                detail_fetched_at: r.get("detail_fetched_at")?,
                tier: r.get("tier")?,
                trend: r.get("trend")?,
                evaluation_key: r.get("evaluation_key")?,
                evaluation_input: r.get("evaluation_input")?,
                unfollowed: r.get::<_, Option<bool>>("unfollowed")?.unwrap_or(false),
                model_key: r.get("model_key")?,
                model_until: r.get("model_until")?,
            })
        })?;
        let mut roles = HashMap::new();
        for role in rows {
            let role = role?;
            roles.insert(role.id.clone(), role);
        }
        Ok(roles)
    }

    /// The stored roles among `ids` in full, by id, in one statement: a
    /// batch of the roles a run prepares (callers keep batches to a few
    /// hundred, so memory follows the batch, not the store).
    pub fn stored_roles_in(&self, ids: &[&str]) -> Result<HashMap<String, StoredRole>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_ROLE_COLUMNS} FROM role_rows WHERE id IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = stmt.query_map([serde_json::to_string(ids)?], stored_role)?;
        let mut roles = HashMap::new();
        for role in rows {
            let role = role?;
            roles.insert(role.id.clone(), role);
        }
        Ok(roles)
    }

    /// One stored role in full (its JSON, detail and verdict).
    pub fn stored_role(&self, id: &str) -> Result<Option<StoredRole>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {STORED_ROLE_COLUMNS} FROM role_rows WHERE id = ?1"
            ))?
            .query_row([id], stored_role)
            .optional()?)
    }

    /// One role with its verdict, by full id or by external id.
    pub fn explain_role(&self, id: &str) -> Result<Option<RoleExplained>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {ROLE_COLUMNS}, engineer_score, headhunter_score, excitement_score,
                            reasons, signals, score_breakdown, company_notes, detail_fetched_at
                     FROM roles WHERE id = ?1 OR external_id = ?1 ORDER BY id = ?1 DESC LIMIT 1"
                ),
                [id],
                role_explained,
            )
            .optional()?)
    }

    pub fn list_roles(&self, filter: &RoleFilter) -> Result<Vec<RoleRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ROLE_COLUMNS} FROM roles
             WHERE source = 'paraform' AND (?1 OR status = 'active') AND (?2 IS NULL OR tier = ?2)
             ORDER BY status,
                 {tier_rank},
                 combined_score DESC NULLS LAST, posted_at DESC, id
             LIMIT ?3",
            tier_rank = Tier::rank_sql("tier")
        ))?;
        let limit = filter.limit.map(|l| l as i64).unwrap_or(-1);
        let rows = stmt.query_map(params![filter.include_gone, filter.tier, limit], |r| {
            role_row(r)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The companies of active Paraform roles, most roles first.
    pub fn active_companies(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT company, COUNT(*) AS role_count FROM roles
             WHERE status = 'active' AND source = 'paraform' AND company IS NOT NULL
               AND trim(company) != ''
             GROUP BY company ORDER BY role_count DESC, company",
        )?;
        let rows = stmt.query_map([], |r| r.get("company"))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Active Paraform roles per tier (`None`: not evaluated yet), best
    /// tier first. (Board roles are never tiered.)
    pub fn tier_counts(&self) -> Result<Vec<(Option<Tier>, i64)>> {
        let mut stmt = self.conn.prepare(&format!(
            // The narrow covering index, not the table: every status check
            // runs this, and the table's rows carry each role's JSON.
            "SELECT tier, COUNT(*) AS role_count FROM role_rows INDEXED BY roles_summary
             WHERE status = 'active' AND source = 'paraform' GROUP BY tier
             ORDER BY {}",
            Tier::rank_sql("tier")
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get("tier")?, r.get("role_count")?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every role with what the site shows of it, in no particular order,
    /// `batch` roles at a time: a build of 100,000 roles holds one batch of
    /// their JSON, never all of it. Without `with_detail`, `detail`, the
    /// stored detail HTML and the score breakdown read as `None`.
    pub fn site_roles_in_batches(
        &self,
        with_detail: bool,
        batch: usize,
        mut each: impl FnMut(Vec<SiteRole>) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(&site_role_select(with_detail))?;
        let names = ColumnNames::of(&stmt);
        let mut rows = stmt.query(params![
            ChangeKind::Disappeared,
            ChangeKind::Reappeared,
            ChangeKind::Unfollowed
        ])?;
        loop {
            let mut roles = Vec::with_capacity(batch);
            while roles.len() < batch.max(1) {
                match rows.next()? {
                    Some(row) => roles.push(site_role(&names.of_row(row))?),
                    None => break,
                }
            }
            if roles.is_empty() {
                return Ok(());
            }
            each(roles)?;
        }
    }

    /// The roles of `ids`, as [`Db::site_roles_in_batches`] reads them, in
    /// no particular order; ids not stored are left out.
    pub fn site_roles_by_ids(&self, ids: &[&str], with_detail: bool) -> Result<Vec<SiteRole>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{} WHERE roles.id IN (SELECT value FROM json_each(?4))",
            site_role_select(with_detail)
        ))?;
        let ids = serde_json::to_string(ids)?;
        let names = ColumnNames::of(&stmt);
        let rows = stmt.query_map(
            params![
                ChangeKind::Disappeared,
                ChangeKind::Reappeared,
                ChangeKind::Unfollowed,
                ids
            ],
            |row| site_role(&names.of_row(row)),
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A role's stamp (`role_stamps`, V18): a new one whenever anything its
/// view or page reads is written; and the two volatile fields a view shows,
/// each the JSON of the value in the role's `raw` (`None` when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStamp {
    pub role_id: String,
    pub stamp: i64,
    pub last_active: Option<String>,
    pub responsiveness: Option<String>,
}

impl Db {
    /// Every role's stamp in the order of its id (as `str` orders them):
    /// a narrow table, read in milliseconds and never held whole.
    pub fn each_role_stamp(&self, mut each: impl FnMut(RoleStamp)) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT role_id, stamp, last_active, responsiveness FROM role_stamps
             ORDER BY role_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(RoleStamp {
                role_id: r.get(0)?,
                stamp: r.get(1)?,
                last_active: r.get(2)?,
                responsiveness: r.get(3)?,
            });
        }
        Ok(())
    }

    #[cfg(test)]
    pub fn role_stamps(&self) -> Result<Vec<RoleStamp>> {
        let mut stamps = Vec::new();
        self.each_role_stamp(|stamp| stamps.push(stamp))?;
        Ok(stamps)
    }
}

/// The query of [`SiteRole`]s, `?1`–`?3` the change kinds that say whether a
/// gone role was unfollowed. With `with_detail`, the stored detail HTML, and
/// the detail itself only where that HTML was never stored (a detail
/// fetched before V15, which the site sanitises itself).
fn site_role_select(with_detail: bool) -> String {
    let (detail, html, breakdown) = if with_detail {
        (
            "CASE WHEN roles.detail IS NOT NULL AND roles.company_notes_html IS NULL
                   AND roles.selling_points_html IS NULL AND roles.description_html IS NULL
              THEN roles.detail END",
            "roles.company_notes_html, roles.selling_points_html, roles.description_html",
            "roles.score_breakdown",
        )
    } else {
        (
            "NULL",
            "NULL AS company_notes_html, NULL AS selling_points_html, NULL AS description_html",
            "NULL",
        )
    };
    // `role_rows` read once (through the `roles` view it would be joined to
    // itself), `last_seen_at` from `role_seen`.
    let columns = ROLE_COLUMNS
        .split(',')
        .map(|c| match c.trim() {
            "last_seen_at" => "s.last_seen_at".to_string(),
            c => format!("roles.{c}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns}, roles.engineer_score, roles.headhunter_score,
                roles.excitement_score, roles.raw, roles.content_hash, roles.detail_fetched_at,
                {detail} AS detail, {html},
                roles.reasons, roles.signals, {breakdown} AS score_breakdown, roles.evaluated_at,
                roles.last_changed_at,
                roles.equity, roles.requirements,
                (SELECT st.stamp FROM role_stamps st WHERE st.role_id = roles.id) AS stamp,
                (SELECT MAX(c.id) FROM changes c WHERE c.role_id = roles.id) AS last_change_id,
                CASE WHEN roles.status = 'gone' THEN
                    (SELECT c.kind FROM changes c
                     WHERE c.role_id = roles.id AND c.kind IN (?1, ?2, ?3)
                     ORDER BY c.id DESC LIMIT 1) = ?3
                END AS unfollowed
         FROM role_rows roles JOIN role_seen s ON s.role_id = roles.id"
    )
}

/// The columns `stored_role` reads.
const STORED_ROLE_COLUMNS: &str =
    "id, status, content_hash, raw, detail, detail_fetched_at, tier, combined_score,
    engineer_score, headhunter_score, excitement_score, reasons, signals, score_breakdown, trend,
    intel_key, briefing_key";

/// The columns of a stored verdict.
const EVALUATION_COLUMNS: &str = "tier, combined_score, engineer_score, headhunter_score,
    excitement_score, reasons, signals, score_breakdown, trend";

impl StoreTx<'_> {
    /// One stored role in full, inside the run's transaction.
    pub fn stored_role(&self, id: &str) -> Result<Option<StoredRole>> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "SELECT {STORED_ROLE_COLUMNS} FROM role_rows WHERE id = ?1"
            ))?
            .query_row([id], stored_role)
            .optional()?)
    }

    /// Moves `last_seen_at` of every role in `ids` in one statement: what a
    /// quiet run writes for the roles it saw unchanged.
    pub fn touch_roles(&self, ids: &[String], now: DateTime<Utc>) -> Result<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(self.execute(
            "UPDATE role_seen SET last_seen_at = ?1 WHERE role_id IN (SELECT value FROM json_each(?2))",
            params![timestamp(now), serde_json::to_string(ids)?],
        )?)
    }

    /// A seen role whose content is unchanged but whose text moved
    /// (volatile fields): the latest text is kept, nothing else changes.
    pub fn refresh_raw(
        &self,
        role_id: &str,
        raw: &str,
        raw_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET raw = ?2, raw_hash = ?3 WHERE id = ?1",
            params![role_id, raw, raw_hash],
        )?;
        self.execute(
            "UPDATE role_seen SET last_seen_at = ?2 WHERE role_id = ?1",
            params![role_id, timestamp(now)],
        )?;
        Ok(())
    }

    /// A role's trend, when only the trend moved (a change aged out of the window).
    pub fn write_trend(&self, role_id: &str, trend: Option<Trend>) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET trend = ?2 WHERE id = ?1",
            params![role_id, trend],
        )?;
        Ok(())
    }

    /// The stored verdicts of the roles among `ids`, by id, in one
    /// statement (a batch of a run's verdicts to write).
    pub fn evaluations_in(&self, ids: &[&str]) -> Result<HashMap<String, Evaluation>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT id, {EVALUATION_COLUMNS} FROM role_rows WHERE id IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = stmt.query_map([serde_json::to_string(ids)?], |r| {
            Ok((r.get::<_, String>("id")?, evaluation(r)?))
        })?;
        let mut found = HashMap::new();
        for row in rows {
            if let (id, Some(evaluation)) = row? {
                found.insert(id, evaluation);
            }
        }
        Ok(found)
    }

    /// What a role's model answers were settled from (`None`: not settled,
    /// asked next run), and until when they hold (`None`: until the key
    /// moves). Written when it changed.
    pub fn write_model_state(
        &self,
        role_id: &str,
        key: Option<&str>,
        until: Option<&str>,
    ) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET model_key = ?2, model_until = ?3
             WHERE id = ?1 AND (model_key IS NOT ?2 OR model_until IS NOT ?3)",
            params![role_id, key, until],
        )?;
        Ok(())
    }

    /// What the role's verdict was computed from (the key, and the role's
    /// evaluation input in it); written when it changed.
    pub fn write_evaluation_key(&self, role_id: &str, key: &str, input: &str) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET evaluation_key = ?2, evaluation_input = ?3
             WHERE id = ?1 AND (evaluation_key IS NOT ?2 OR evaluation_input IS NOT ?3)",
            params![role_id, key, input],
        )?;
        Ok(())
    }

    pub fn insert_role(&self, role: &RoleWrite<'_>, now: DateTime<Utc>) -> Result<()> {
        let now = timestamp(now);
        let c = role.columns;
        self.execute(
            "INSERT INTO role_rows (id, source, external_id, title, company, url, status,
                 first_seen_at, last_changed_at, salary_min, salary_max,
                 fee_percent, posted_at, content_hash, raw, raw_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                role.id,
                role.source,
                role.external_id,
                c.title,
                c.company,
                c.url,
                now,
                c.salary_min,
                c.salary_max,
                c.fee_percent,
                c.posted_at,
                role.content_hash,
                role.raw,
                role.raw_hash
            ],
        )?;
        self.execute(
            "INSERT INTO role_seen (role_id, last_seen_at) VALUES (?1, ?2)",
            params![role.id, now],
        )?;
        Ok(())
    }

    /// Refreshes a seen role: columns and raw always (volatile fields move),
    /// `last_changed_at` only when `content_changed`. Brings a gone role back.
    pub fn update_role(
        &self,
        role: &RoleWrite<'_>,
        content_changed: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let c = role.columns;
        self.execute(
            "UPDATE role_rows SET title = ?2, company = ?3, url = ?4, status = 'active', gone_at = NULL,
                 last_changed_at = CASE WHEN ?6 THEN ?5 ELSE last_changed_at END,
                 salary_min = ?7, salary_max = ?8, fee_percent = ?9, posted_at = ?10,
                 content_hash = ?11, raw = ?12, raw_hash = ?13
             WHERE id = ?1",
            params![
                role.id,
                c.title,
                c.company,
                c.url,
                timestamp(now),
                content_changed,
                c.salary_min,
                c.salary_max,
                c.fee_percent,
                c.posted_at,
                role.content_hash,
                role.raw,
                role.raw_hash
            ],
        )?;
        self.execute(
            "UPDATE role_seen SET last_seen_at = ?2 WHERE role_id = ?1",
            params![role.id, timestamp(now)],
        )?;
        Ok(())
    }

    pub fn mark_gone(&self, role_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET status = 'gone', gone_at = ?2 WHERE id = ?1",
            params![role_id, timestamp(now)],
        )?;
        Ok(())
    }

    pub fn write_evaluation(
        &self,
        role_id: &str,
        e: &Evaluation,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET tier = ?2, combined_score = ?3, engineer_score = ?4,
                 headhunter_score = ?5, excitement_score = ?6, reasons = ?7, signals = ?8,
                 score_breakdown = ?9, trend = ?10, evaluated_at = ?11
             WHERE id = ?1",
            params![
                role_id,
                e.tier,
                e.combined_score,
                e.engineer_score,
                e.headhunter_score,
                e.excitement_score,
                e.reasons,
                e.signals,
                e.score_breakdown,
                e.trend,
                timestamp(now)
            ],
        )?;
        Ok(())
    }

    pub fn write_detail(
        &self,
        role_id: &str,
        d: &DetailWrite<'_>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET detail = ?2, detail_fetched_at = ?3, company_notes = ?4,
                 selling_points = ?5, description = ?6, equity = ?7, requirements = ?8,
                 company_notes_html = ?9, selling_points_html = ?10, description_html = ?11
             WHERE id = ?1",
            params![
                role_id,
                d.detail,
                timestamp(now),
                d.company_notes,
                d.selling_points,
                d.description,
                d.equity,
                d.requirements,
                d.company_notes_html,
                d.selling_points_html,
                d.description_html
            ],
        )?;
        Ok(())
    }

    /// Active roles that count as qualified (QUALIFIED or MAYBE).
    pub fn count_qualified(&self) -> Result<u64> {
        let n: i64 = self.tx.query_row(
            &format!(
                "SELECT COUNT(*) AS qualified FROM roles
                 WHERE status = 'active' AND tier IN {}",
                Tier::qualified_sql()
            ),
            [],
            |r| r.get("qualified"),
        )?;
        Ok(n as u64)
    }
}

/// The columns `role_row` reads, by name; queries add their own after it.
const ROLE_COLUMNS: &str = "id, title, company, url, status, tier, combined_score, salary_min,
        salary_max, fee_percent, posted_at, first_seen_at, last_seen_at, gone_at, trend";

fn role_row(r: &impl Columns) -> rusqlite::Result<RoleRow> {
    Ok(RoleRow {
        id: r.get("id")?,
        title: r.get("title")?,
        company: r.get("company")?,
        url: r.get("url")?,
        status: r.get("status")?,
        tier: r.get("tier")?,
        combined_score: r.get("combined_score")?,
        salary_min: r.get("salary_min")?,
        salary_max: r.get("salary_max")?,
        fee_percent: r.get("fee_percent")?,
        posted_at: r.get("posted_at")?,
        first_seen_at: r.get("first_seen_at")?,
        last_seen_at: r.get("last_seen_at")?,
        gone_at: r.get("gone_at")?,
        trend: r.get("trend")?,
    })
}

fn role_explained(r: &Row<'_>) -> rusqlite::Result<RoleExplained> {
    Ok(RoleExplained {
        role: role_row(r)?,
        engineer_score: r.get("engineer_score")?,
        headhunter_score: r.get("headhunter_score")?,
        excitement_score: r.get("excitement_score")?,
        reasons: sentences(r, "reasons")?,
        signals: sentences(r, "signals")?,
        breakdown: breakdown(r)?,
        company_notes: r.get("company_notes")?,
        detail_fetched_at: r.get("detail_fetched_at")?,
    })
}

fn site_role(r: &impl Columns) -> rusqlite::Result<SiteRole> {
    Ok(SiteRole {
        row: role_row(r)?,
        unfollowed: r.get::<Option<bool>>("unfollowed")? == Some(true),
        engineer_score: r.get("engineer_score")?,
        headhunter_score: r.get("headhunter_score")?,
        excitement_score: r.get("excitement_score")?,
        raw: r.get("raw")?,
        content_hash: r.get("content_hash")?,
        detail_fetched_at: r.get("detail_fetched_at")?,
        detail: r.get("detail")?,
        html: crate::intel::DetailHtml {
            company_notes: r.get("company_notes_html")?,
            selling_points: r.get("selling_points_html")?,
            description: r.get("description_html")?,
        },
        last_change_id: r.get("last_change_id")?,
        reasons: sentences(r, "reasons")?,
        signals: sentences(r, "signals")?,
        breakdown: breakdown(r)?,
        evaluated_at: r.get("evaluated_at")?,
        last_changed_at: r.get("last_changed_at")?,
        equity: r.get("equity")?,
        requirements: r.get("requirements")?,
        stamp: r.get("stamp")?,
    })
}

/// A JSON list of sentences as stored (reasons, signals); empty when NULL
/// or unreadable.
fn sentences(r: &impl Columns, column: &str) -> rusqlite::Result<Vec<String>> {
    Ok(r.get::<Option<String>>(column)?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

/// The stored `score_breakdown`, decoded; `None` when NULL or unreadable.
fn breakdown(r: &impl Columns) -> rusqlite::Result<Option<crate::evaluate::Breakdown>> {
    Ok(crate::evaluate::Breakdown::parse(
        r.get::<Option<String>>("score_breakdown")?.as_deref(),
    ))
}

/// A stored role; its verdict exists once a tier was written.
/// A row's verdict (the columns of [`EVALUATION_COLUMNS`]); none before one.
fn evaluation(r: &Row<'_>) -> rusqlite::Result<Option<Evaluation>> {
    let tier: Option<Tier> = r.get("tier")?;
    Ok(match tier {
        None => None,
        Some(tier) => Some(Evaluation {
            tier,
            combined_score: r
                .get::<_, Option<f64>>("combined_score")?
                .unwrap_or_default(),
            engineer_score: r
                .get::<_, Option<f64>>("engineer_score")?
                .unwrap_or_default(),
            headhunter_score: r
                .get::<_, Option<f64>>("headhunter_score")?
                .unwrap_or_default(),
            excitement_score: r
                .get::<_, Option<f64>>("excitement_score")?
                .unwrap_or_default(),
            reasons: r.get::<_, Option<String>>("reasons")?.unwrap_or_default(),
            signals: r.get::<_, Option<String>>("signals")?.unwrap_or_default(),
            score_breakdown: r
                .get::<_, Option<String>>("score_breakdown")?
                .unwrap_or_default(),
            trend: r.get("trend")?,
        }),
    })
}

fn stored_role(r: &Row<'_>) -> rusqlite::Result<StoredRole> {
    let evaluation = evaluation(r)?;
    Ok(StoredRole {
        id: r.get("id")?,
        active: r.get::<_, String>("status")? == "active",
        content_hash: r.get("content_hash")?,
        raw: r.get("raw")?,
        detail: r.get("detail")?,
        detail_fetched_at: r.get("detail_fetched_at")?,
        evaluation,
        intel_key: r.get("intel_key")?,
        briefing_key: r.get("briefing_key")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, columns, db_with_run, insert_roles, role_write};

    /// Every site role with its detail, in batches of 2 (to cross batches).
    fn site_roles(db: &Db) -> Vec<super::SiteRole> {
        let mut all = Vec::new();
        db.site_roles_in_batches(true, 2, |batch| {
            all.extend(batch);
            Ok(())
        })
        .unwrap();
        all
    }
    use super::{DetailWrite, Evaluation, RoleFilter};
    use crate::evaluate::{Tier, Trend};
    use crate::role::{RoleColumns, timestamp};
    use crate::store::Db;

    fn evaluation(tier: Tier, combined: f64) -> Evaluation {
        Evaluation {
            tier,
            combined_score: combined,
            engineer_score: 1.5,
            headhunter_score: 2.5,
            excitement_score: 3.5,
            reasons: "[\"✓ remote\"]".to_string(),
            signals: "[\"series B\"]".to_string(),
            score_breakdown: "{\"engineer\":[]}".to_string(),
            trend: Some(Trend::Surging),
        }
    }

    fn evaluate(db: &mut Db, id: &str, e: &Evaluation) {
        let tx = db.transaction().unwrap();
        tx.write_evaluation(id, e, at(5)).unwrap();
        tx.commit().unwrap();
    }

    fn listed(db: &Db, filter: &RoleFilter) -> Vec<String> {
        db.list_roles(filter)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    /// `role_stamps` (V18): a new stamp for every write a view reads, none
    /// for a run that moved only volatile fields, whose two shown ones it
    /// keeps; and the trigger's list of volatile fields is
    /// `track::VOLATILE_FIELDS`.
    #[test]
    fn a_roles_stamp_moves_with_what_its_view_reads_and_not_with_volatile_fields() {
        use crate::track::{ChangeKind, FieldChange, VOLATILE_FIELDS};
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1", "paraform:2"]);
        let stamp_of = |db: &Db, id: &str| {
            db.role_stamps()
                .unwrap()
                .into_iter()
                .find(|s| s.role_id == id)
                .unwrap()
        };
        let stamp = |db: &Db| stamp_of(db, "paraform:1");
        let write = |db: &mut Db, raw: &str| {
            let tx = db.transaction().unwrap();
            tx.refresh_raw("paraform:1", raw, "h", at(1)).unwrap();
            tx.commit().unwrap();
        };
        assert_eq!(db.role_stamps().unwrap().len(), 2);
        write(
            &mut db,
            r#"{"id":1,"locations":["NYC","London"],"manager_last_active":"2025-12-19T10:00:00Z","priority":3}"#,
        );
        let first = stamp(&db);
        assert_eq!(
            first.last_active.as_deref(),
            Some(r#""2025-12-19T10:00:00Z""#)
        );
        assert_eq!(first.responsiveness, None);
        // Volatile fields alone: the stamp stays, the shown ones follow.
        write(
            &mut db,
            r#"{"id":1,"locations":["NYC","London"],"manager_last_active":"2025-12-20T10:00:00Z","priority":9,"responsiveness_days":2.5}"#,
        );
        let volatile = stamp(&db);
        assert_eq!(volatile.stamp, first.stamp);
        assert_eq!(volatile.responsiveness.as_deref(), Some("2.5"));
        assert_eq!(
            volatile.last_active.as_deref(),
            Some(r#""2025-12-20T10:00:00Z""#)
        );
        // The same places in another order: a view shows the order.
        write(
            &mut db,
            r#"{"id":1,"locations":["London","NYC"],"manager_last_active":"2025-12-20T10:00:00Z","priority":9,"responsiveness_days":2.5}"#,
        );
        let reordered = stamp(&db);
        assert_ne!(reordered.stamp, first.stamp);
        // Not JSON: no volatile fields, and a new stamp.
        write(&mut db, "not json");
        let broken = stamp(&db);
        assert_ne!(broken.stamp, reordered.stamp);
        assert_eq!(broken.last_active, None);
        // A verdict, and a change recorded of the role.
        evaluate(&mut db, "paraform:1", &evaluation(Tier::Maybe, 1.0));
        let evaluated = stamp(&db);
        assert_ne!(evaluated.stamp, broken.stamp);
        let tx = db.transaction().unwrap();
        let change = FieldChange::new(ChangeKind::TitleChange, "title", None, None);
        tx.insert_change("paraform:1", Some(run_id), at(3), &change)
            .unwrap();
        tx.commit().unwrap();
        assert_ne!(stamp(&db).stamp, evaluated.stamp);
        // The other role's stamp never moved.
        let other = |db: &Db| stamp_of(db, "paraform:2").stamp;
        let before = other(&db);
        write(&mut db, "{}");
        assert_eq!(other(&db), before);

        let trigger: String = db
            .conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'role_stamps_raw'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        for field in VOLATILE_FIELDS {
            // The two shown ones are also read out (`->`).
            let shown = ["manager_last_active", "responsiveness_days"].contains(field);
            assert_eq!(
                trigger.matches(&format!("'$.{field}'")).count(),
                2 + usize::from(shown),
                "{field} in both json_remove lists of role_stamps_raw"
            );
        }
        assert_eq!(
            trigger.matches("'$.").count(),
            2 * VOLATILE_FIELDS.len() + 2
        );
    }

    #[test]
    fn an_inserted_role_is_stored_active_and_unevaluated() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let stored = db.stored_roles(None).unwrap();
        let role = &stored["paraform:1"];
        assert!(role.active);
        assert_eq!(role.content_hash, "hash-1");
        assert_eq!(role.raw, "{\"id\":1}");
        assert_eq!(role.detail, None);
        assert_eq!(role.evaluation, None);
        assert!(
            db.stored_roles(Some("paraform"))
                .unwrap()
                .contains_key("paraform:1")
        );
        assert!(db.stored_roles(Some("elsewhere")).unwrap().is_empty());
    }

    /// Every `RoleRow` field gets a value no other field has, so reading a
    /// column into the wrong field (a shifted position, a wrong name) fails.
    #[test]
    fn every_role_row_field_round_trips_a_distinct_value() {
        let (mut db, run_id) = db_with_run();
        let columns = RoleColumns {
            title: Some("the title".to_string()),
            company: Some("the company".to_string()),
            url: Some("https://example.test/url".to_string()),
            salary_min: Some(111),
            salary_max: Some(222),
            fee_percent: Some(33.5),
            posted_at: Some("2025-12-31T23:59:59Z".to_string()),
        };
        let role = role_write("paraform:distinct", &columns, "h0");
        let tx = db.transaction().unwrap();
        tx.insert_role(&role, at(1)).unwrap();
        tx.insert_version(role.id, run_id, at(1), "h0", role.raw)
            .unwrap();
        tx.update_role(&role, true, at(2)).unwrap();
        let e = Evaluation {
            tier: Tier::Maybe,
            combined_score: 44.25,
            engineer_score: 55.25,
            headhunter_score: 66.25,
            excitement_score: 77.25,
            reasons: "[\"reasons\"]".to_string(),
            signals: "[\"signals\"]".to_string(),
            score_breakdown: "{\"breakdown\":1}".to_string(),
            trend: Some(Trend::Stalled),
        };
        tx.write_evaluation(role.id, &e, at(3)).unwrap();
        tx.write_detail(
            role.id,
            &DetailWrite {
                detail: "{\"detail\":1}",
                company_notes: Some("notes"),
                equity: Some("0.1% equity"),
                requirements: "[\"MUST_HAVE: rust\"]".to_string(),
                ..DetailWrite::default()
            },
            at(4),
        )
        .unwrap();
        tx.mark_gone(role.id, at(5)).unwrap();
        tx.commit().unwrap();

        let filter = RoleFilter {
            include_gone: true,
            ..RoleFilter::default()
        };
        let row = db.list_roles(&filter).unwrap().remove(0);
        assert_eq!(row.id, "paraform:distinct");
        assert_eq!(row.title.as_deref(), Some("the title"));
        assert_eq!(row.company.as_deref(), Some("the company"));
        assert_eq!(row.url.as_deref(), Some("https://example.test/url"));
        assert_eq!(row.status, super::RoleStatus::Gone);
        assert_eq!(row.tier, Some(Tier::Maybe));
        assert_eq!(row.combined_score, Some(44.25));
        assert_eq!(row.salary_min, Some(111));
        assert_eq!(row.salary_max, Some(222));
        assert_eq!(row.fee_percent, Some(33.5));
        assert_eq!(row.posted_at.as_deref(), Some("2025-12-31T23:59:59Z"));
        assert_eq!(row.first_seen_at, timestamp(at(1)));
        assert_eq!(row.last_seen_at, timestamp(at(2)));
        assert_eq!(row.gone_at, Some(timestamp(at(5))));
        assert_eq!(row.trend, Some(Trend::Stalled));

        let explained = db.explain_role("paraform:distinct").unwrap().unwrap();
        assert_eq!(explained.role.salary_max, Some(222));
        assert_eq!(explained.engineer_score, Some(55.25));
        assert_eq!(explained.headhunter_score, Some(66.25));
        assert_eq!(explained.excitement_score, Some(77.25));
        // Decoded as they are read; a breakdown that does not read is none.
        assert_eq!(explained.reasons, ["reasons"]);
        assert_eq!(explained.signals, ["signals"]);
        assert!(explained.breakdown.is_none());
        assert_eq!(explained.company_notes.as_deref(), Some("notes"));
        assert_eq!(explained.detail_fetched_at, Some(timestamp(at(4))));

        let site = site_roles(&db).remove(0);
        assert_eq!(site.row.trend, Some(Trend::Stalled));
        assert_eq!(site.engineer_score, Some(55.25));
        assert_eq!(site.headhunter_score, Some(66.25));
        assert_eq!(site.excitement_score, Some(77.25));
        assert_eq!(site.raw, "{\"id\":1}");
        assert_eq!(site.detail.as_deref(), Some("{\"detail\":1}"));
        assert_eq!(site.equity.as_deref(), Some("0.1% equity"));
        assert_eq!(site.requirements.as_deref(), Some("[\"MUST_HAVE: rust\"]"));
        assert_eq!(site.reasons, ["reasons"]);
        assert_eq!(site.signals, ["signals"]);
        assert!(site.breakdown.is_none());
        assert!(site.evaluated_at.is_some());
        assert_eq!(site.last_changed_at, timestamp(at(2)));
    }

    #[test]
    fn an_update_refreshes_columns_and_moves_last_changed_only_on_new_content() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let changed = RoleColumns {
            salary_max: Some(250_000),
            ..columns("renamed")
        };
        let tx = db.transaction().unwrap();
        tx.update_role(&role_write("paraform:1", &changed, "hash-1"), false, at(1))
            .unwrap();
        tx.commit().unwrap();
        let site = site_roles(&db).remove(0);
        assert_eq!(site.row.title.as_deref(), Some("renamed"));
        assert_eq!(site.row.salary_max, Some(250_000));
        assert_eq!(site.row.last_seen_at, timestamp(at(1)));
        assert_eq!(site.last_changed_at, timestamp(at(0)));

        let tx = db.transaction().unwrap();
        tx.update_role(&role_write("paraform:1", &changed, "hash-2"), true, at(2))
            .unwrap();
        tx.commit().unwrap();
        let site = site_roles(&db).remove(0);
        assert_eq!(site.last_changed_at, timestamp(at(2)));
        assert_eq!(
            db.stored_roles(None).unwrap()["paraform:1"].content_hash,
            "hash-2"
        );
    }

    #[test]
    fn a_gone_role_comes_back_when_seen_again() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let tx = db.transaction().unwrap();
        tx.mark_gone("paraform:1", at(1)).unwrap();
        tx.commit().unwrap();
        assert!(!db.stored_roles(None).unwrap()["paraform:1"].active);
        assert!(listed(&db, &RoleFilter::default()).is_empty());

        let columns = columns("back");
        let tx = db.transaction().unwrap();
        tx.update_role(&role_write("paraform:1", &columns, "hash-1"), false, at(2))
            .unwrap();
        tx.commit().unwrap();
        let row = db.list_roles(&RoleFilter::default()).unwrap().remove(0);
        assert_eq!(row.status, super::RoleStatus::Active);
        assert_eq!(row.gone_at, None);
    }

    #[test]
    fn a_summary_says_whether_a_gone_role_was_unfollowed() {
        use crate::track::{ChangeKind, FieldChange};
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1", "paraform:2"]);
        let close = |db: &mut Db, id: &str, kind: ChangeKind, minute: i64| {
            let tx = db.transaction().unwrap();
            tx.mark_gone(id, at(minute)).unwrap();
            let change = FieldChange::new(kind, "status", Some("active".into()), None);
            tx.insert_change(id, Some(run_id), at(minute), &change)
                .unwrap();
            tx.commit().unwrap();
        };
        close(&mut db, "paraform:1", ChangeKind::Unfollowed, 1);
        close(&mut db, "paraform:2", ChangeKind::Unfollowed, 1);
        // Closed again later as gone from its board: that is the last word.
        close(&mut db, "paraform:2", ChangeKind::Disappeared, 2);
        let summaries = db.role_summaries(None).unwrap();
        assert!(summaries["paraform:1"].unfollowed);
        assert!(!summaries["paraform:2"].unfollowed);
    }

    #[test]
    fn an_evaluation_round_trips_through_stored_roles() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let e = evaluation(Tier::Qualified, 81.5);
        evaluate(&mut db, "paraform:1", &e);
        assert_eq!(
            db.stored_roles(None).unwrap()["paraform:1"].evaluation,
            Some(e)
        );
        let trendless = Evaluation {
            trend: None,
            ..evaluation(Tier::Skip, 0.0)
        };
        evaluate(&mut db, "paraform:1", &trendless);
        assert_eq!(
            db.stored_roles(None).unwrap()["paraform:1"].evaluation,
            Some(trendless)
        );
    }

    #[test]
    fn a_detail_round_trips_through_stored_roles_and_its_columns() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:1"]);
        let tx = db.transaction().unwrap();
        let detail = DetailWrite {
            detail: "{\"companyTip\":\"<p>x</p>\"}",
            company_notes: Some("company notes"),
            selling_points: Some("selling points"),
            description: Some("description"),
            equity: Some("0.1%"),
            requirements: "[\"rust\"]".to_string(),
            company_notes_html: Some("<p>x</p>"),
            ..DetailWrite::default()
        };
        tx.write_detail("paraform:1", &detail, at(3)).unwrap();
        tx.commit().unwrap();
        let stored = &db.stored_roles(None).unwrap()["paraform:1"];
        assert_eq!(stored.detail.as_deref(), Some(detail.detail));
        let (selling_points, description, equity, requirements): (String, String, String, String) =
            db.conn
                .query_row(
                    "SELECT selling_points, description, equity, requirements FROM roles",
                    [],
                    |r| {
                        Ok((
                            r.get("selling_points")?,
                            r.get("description")?,
                            r.get("equity")?,
                            r.get("requirements")?,
                        ))
                    },
                )
                .unwrap();
        assert_eq!(
            [selling_points, description, equity, requirements],
            ["selling points", "description", "0.1%", "[\"rust\"]"]
        );
        let explained = db.explain_role("paraform:1").unwrap().unwrap();
        assert_eq!(explained.company_notes.as_deref(), Some("company notes"));
        assert_eq!(explained.detail_fetched_at, Some(timestamp(at(3))));
    }

    #[test]
    fn list_roles_filters_by_tier_and_status_and_orders_by_tier_then_score() {
        let (mut db, run_id) = db_with_run();
        let ids = [
            "paraform:a",
            "paraform:b",
            "paraform:c",
            "paraform:d",
            "paraform:e",
        ];
        insert_roles(&mut db, run_id, &ids);
        evaluate(&mut db, "paraform:a", &evaluation(Tier::Skip, 90.0));
        evaluate(&mut db, "paraform:b", &evaluation(Tier::Qualified, 50.0));
        evaluate(&mut db, "paraform:c", &evaluation(Tier::Qualified, 70.0));
        evaluate(&mut db, "paraform:d", &evaluation(Tier::Maybe, 99.0));
        let tx = db.transaction().unwrap();
        tx.mark_gone("paraform:e", at(6)).unwrap();
        tx.commit().unwrap();

        let active = listed(&db, &RoleFilter::default());
        assert_eq!(
            active,
            ["paraform:c", "paraform:b", "paraform:d", "paraform:a"]
        );
        let all = listed(
            &db,
            &RoleFilter {
                include_gone: true,
                ..RoleFilter::default()
            },
        );
        assert_eq!(
            all,
            [
                "paraform:c",
                "paraform:b",
                "paraform:d",
                "paraform:a",
                "paraform:e"
            ]
        );
        let qualified = listed(
            &db,
            &RoleFilter {
                tier: Some(Tier::Qualified),
                ..RoleFilter::default()
            },
        );
        assert_eq!(qualified, ["paraform:c", "paraform:b"]);
        let limited = listed(
            &db,
            &RoleFilter {
                limit: Some(1),
                ..RoleFilter::default()
            },
        );
        assert_eq!(limited, ["paraform:c"]);

        // The site reads every role, in no order (`views::role_views` sorts).
        let mut site: Vec<String> = site_roles(&db).into_iter().map(|r| r.row.id).collect();
        site.sort();
        let mut every = all.clone();
        every.sort();
        assert_eq!(site, every);
    }

    #[test]
    fn tier_counts_and_qualified_count_active_roles_only() {
        let (mut db, run_id) = db_with_run();
        insert_roles(
            &mut db,
            run_id,
            &[
                "paraform:1",
                "paraform:2",
                "paraform:3",
                "paraform:4",
                "paraform:5",
            ],
        );
        evaluate(&mut db, "paraform:1", &evaluation(Tier::Skip, 1.0));
        evaluate(&mut db, "paraform:2", &evaluation(Tier::Maybe, 1.0));
        evaluate(&mut db, "paraform:3", &evaluation(Tier::Qualified, 1.0));
        evaluate(&mut db, "paraform:4", &evaluation(Tier::Qualified, 1.0));
        let tx = db.transaction().unwrap();
        tx.mark_gone("paraform:4", at(6)).unwrap();
        assert_eq!(tx.count_qualified().unwrap(), 2);
        tx.commit().unwrap();
        assert_eq!(
            db.tier_counts().unwrap(),
            [
                (Some(Tier::Qualified), 1),
                (Some(Tier::Maybe), 1),
                (Some(Tier::Skip), 1),
                (None, 1)
            ]
        );
    }

    #[test]
    fn explain_finds_a_role_by_full_or_external_id() {
        let (mut db, run_id) = db_with_run();
        insert_roles(&mut db, run_id, &["paraform:42"]);
        assert_eq!(
            db.explain_role("paraform:42").unwrap().unwrap().role.id,
            "paraform:42"
        );
        assert_eq!(
            db.explain_role("42").unwrap().unwrap().role.id,
            "paraform:42"
        );
        assert!(db.explain_role("43").unwrap().is_none());
    }
}
