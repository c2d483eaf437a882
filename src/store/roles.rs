//! The `roles` table: the latest state of every role, its verdict and its
//! detail text.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Db, StoreTx};
use crate::role::timestamp;

/// What the tracker and the evaluator need to know about a stored role.
#[derive(Debug, Clone)]
pub struct StoredRole {
    pub id: String,
    pub active: bool,
    pub content_hash: String,
    pub raw: String,
    /// The latest detail JSON, if a detail call ever succeeded.
    pub detail: Option<String>,
    pub evaluation: Option<Evaluation>,
}

/// A role's stored verdict, as written: equal values mean nothing to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub tier: String,
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
    pub trend: Option<String>,
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
}

/// Everything `roles --explain` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleExplained {
    pub role: RoleRow,
    pub engineer_score: Option<f64>,
    pub headhunter_score: Option<f64>,
    pub excitement_score: Option<f64>,
    pub reasons: Option<String>,
    pub signals: Option<String>,
    pub score_breakdown: Option<String>,
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
}

/// A role as listed by `roles`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleRow {
    pub id: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub url: Option<String>,
    pub status: String,
    pub tier: Option<String>,
    pub combined_score: Option<f64>,
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    pub fee_percent: Option<f64>,
    pub posted_at: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub gone_at: Option<String>,
    pub trend: Option<String>,
}

/// Everything the site shows of a role.
#[derive(Debug, Clone)]
pub struct SiteRole {
    pub row: RoleRow,
    pub engineer_score: Option<f64>,
    pub headhunter_score: Option<f64>,
    pub excitement_score: Option<f64>,
    pub raw: String,
    pub detail: Option<String>,
    pub reasons: Option<String>,
    pub signals: Option<String>,
    pub score_breakdown: Option<String>,
    pub last_changed_at: String,
}

/// Which roles `list_roles` returns.
#[derive(Debug, Clone, Default)]
pub struct RoleFilter {
    pub include_gone: bool,
    pub tier: Option<String>,
    pub limit: Option<u64>,
}

impl Db {
    /// Every stored role (of one source, or all), keyed by role id.
    pub fn stored_roles(&self, source: Option<&str>) -> Result<HashMap<String, StoredRole>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, status, content_hash, raw, detail, tier, combined_score, engineer_score,
                    headhunter_score, excitement_score, reasons, signals, score_breakdown, trend
             FROM roles WHERE ?1 IS NULL OR source = ?1",
        )?;
        let rows = stmt.query_map([source], stored_role)?;
        let mut roles = HashMap::new();
        for role in rows {
            let role = role?;
            roles.insert(role.id.clone(), role);
        }
        Ok(roles)
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
             WHERE (?1 OR status = 'active') AND (?2 IS NULL OR tier = ?2)
             ORDER BY status,
                 CASE tier WHEN 'QUALIFIED' THEN 0 WHEN 'MAYBE' THEN 1 WHEN 'LOCATION_UNCERTAIN' THEN 2
                           WHEN 'SKIP' THEN 3 ELSE 4 END,
                 combined_score DESC NULLS LAST, posted_at DESC, id
             LIMIT ?3"
        ))?;
        let limit = filter.limit.map(|l| l as i64).unwrap_or(-1);
        let rows = stmt.query_map(params![filter.include_gone, filter.tier, limit], role_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Active roles per tier (unevaluated roles under `-`), in tier order.
    pub fn tier_counts(&self) -> Result<Vec<(String, i64)>> {
        // The aliases differ from `tier` on purpose: ORDER BY must still see
        // the column (NULL for unevaluated), not the `-` shown for it.
        let mut stmt = self.conn.prepare(
            "SELECT COALESCE(tier, '-') AS tier_shown, COUNT(*) AS role_count FROM roles
             WHERE status = 'active' GROUP BY 1
             ORDER BY CASE tier WHEN 'QUALIFIED' THEN 0 WHEN 'MAYBE' THEN 1
                      WHEN 'LOCATION_UNCERTAIN' THEN 2 WHEN 'SKIP' THEN 3 ELSE 4 END",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get("tier_shown")?, r.get("role_count")?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every role with what the site shows of it.
    pub fn site_roles(&self) -> Result<Vec<SiteRole>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ROLE_COLUMNS}, engineer_score, headhunter_score, excitement_score, raw, detail,
                    reasons, signals, score_breakdown, last_changed_at
             FROM roles
             ORDER BY status,
                 CASE tier WHEN 'QUALIFIED' THEN 0 WHEN 'MAYBE' THEN 1 WHEN 'LOCATION_UNCERTAIN' THEN 2
                           WHEN 'SKIP' THEN 3 ELSE 4 END,
                 combined_score DESC NULLS LAST, id"
        ))?;
        let rows = stmt.query_map([], site_role)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl StoreTx<'_> {
    pub fn insert_role(&self, role: &RoleWrite<'_>, now: DateTime<Utc>) -> Result<()> {
        let now = timestamp(now);
        let c = role.columns;
        self.tx.execute(
            "INSERT INTO roles (id, source, external_id, title, company, url, status,
                 first_seen_at, last_seen_at, last_changed_at, salary_min, salary_max,
                 fee_percent, posted_at, content_hash, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?7, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
                role.raw
            ],
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
        self.tx.execute(
            "UPDATE roles SET title = ?2, company = ?3, url = ?4, status = 'active', gone_at = NULL,
                 last_seen_at = ?5, last_changed_at = CASE WHEN ?6 THEN ?5 ELSE last_changed_at END,
                 salary_min = ?7, salary_max = ?8, fee_percent = ?9, posted_at = ?10,
                 content_hash = ?11, raw = ?12
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
                role.raw
            ],
        )?;
        Ok(())
    }

    pub fn mark_gone(&self, role_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.tx.execute(
            "UPDATE roles SET status = 'gone', gone_at = ?2 WHERE id = ?1",
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
        self.tx.execute(
            "UPDATE roles SET tier = ?2, combined_score = ?3, engineer_score = ?4,
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
        self.tx.execute(
            "UPDATE roles SET detail = ?2, detail_fetched_at = ?3, company_notes = ?4,
                 selling_points = ?5, description = ?6, equity = ?7, requirements = ?8
             WHERE id = ?1",
            params![
                role_id,
                d.detail,
                timestamp(now),
                d.company_notes,
                d.selling_points,
                d.description,
                d.equity,
                d.requirements
            ],
        )?;
        Ok(())
    }

    /// Active roles that count as qualified (QUALIFIED or MAYBE).
    pub fn count_qualified(&self) -> Result<u64> {
        let n: i64 = self.tx.query_row(
            "SELECT COUNT(*) AS qualified FROM roles
             WHERE status = 'active' AND tier IN ('QUALIFIED', 'MAYBE')",
            [],
            |r| r.get("qualified"),
        )?;
        Ok(n as u64)
    }
}

/// The columns `role_row` reads, by name; queries add their own after it.
const ROLE_COLUMNS: &str = "id, title, company, url, status, tier, combined_score, salary_min,
        salary_max, fee_percent, posted_at, first_seen_at, last_seen_at, gone_at, trend";

fn role_row(r: &Row<'_>) -> rusqlite::Result<RoleRow> {
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
        reasons: r.get("reasons")?,
        signals: r.get("signals")?,
        score_breakdown: r.get("score_breakdown")?,
        company_notes: r.get("company_notes")?,
        detail_fetched_at: r.get("detail_fetched_at")?,
    })
}

fn site_role(r: &Row<'_>) -> rusqlite::Result<SiteRole> {
    Ok(SiteRole {
        row: role_row(r)?,
        engineer_score: r.get("engineer_score")?,
        headhunter_score: r.get("headhunter_score")?,
        excitement_score: r.get("excitement_score")?,
        raw: r.get("raw")?,
        detail: r.get("detail")?,
        reasons: r.get("reasons")?,
        signals: r.get("signals")?,
        score_breakdown: r.get("score_breakdown")?,
        last_changed_at: r.get("last_changed_at")?,
    })
}

/// A stored role; its verdict exists once a tier was written.
fn stored_role(r: &Row<'_>) -> rusqlite::Result<StoredRole> {
    let tier: Option<String> = r.get("tier")?;
    let evaluation = match tier {
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
    };
    Ok(StoredRole {
        id: r.get("id")?,
        active: r.get::<_, String>("status")? == "active",
        content_hash: r.get("content_hash")?,
        raw: r.get("raw")?,
        detail: r.get("detail")?,
        evaluation,
    })
}
