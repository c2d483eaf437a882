//! The `llm_cache` table (model answers by input hash), the roles' links to
//! their answers (`intel_key`, `briefing_key`), and each run's model usage.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::{OptionalExtension, Row, params};

use super::{Db, StoreTx};

/// One cached answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedAnswer {
    pub key: String,
    pub task: String,
    pub model: String,
    pub prompt_version: String,
    pub subject: Option<String>,
    /// The bounded JSON read from the model; `None` when it was unusable.
    pub answer: Option<String>,
    pub error: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
    pub created_at: String,
}

/// What a run asked of the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmUsage {
    pub calls: u64,
    pub tokens: u64,
    pub cost_usd: f64,
    /// Why calls stopped for the run (bad key, no credits).
    pub error: Option<String>,
}

const CACHE_COLUMNS: &str = "key, task, model, prompt_version, subject, answer, error,
    prompt_tokens, completion_tokens, cost_usd, created_at";

/// The cache columns of the `c` alias, for joins.
fn prefixed_columns() -> String {
    CACHE_COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cached_answer(r: &Row<'_>) -> rusqlite::Result<CachedAnswer> {
    Ok(CachedAnswer {
        key: r.get("key")?,
        task: r.get("task")?,
        model: r.get("model")?,
        prompt_version: r.get("prompt_version")?,
        subject: r.get("subject")?,
        answer: r.get("answer")?,
        error: r.get("error")?,
        prompt_tokens: r.get("prompt_tokens")?,
        completion_tokens: r.get("completion_tokens")?,
        cost_usd: r.get("cost_usd")?,
        created_at: r.get("created_at")?,
    })
}

impl Db {
    /// The cached answers among `keys`.
    pub fn llm_answers<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<HashMap<String, CachedAnswer>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CACHE_COLUMNS} FROM llm_cache WHERE key = ?1"
        ))?;
        let mut found = HashMap::new();
        for key in keys {
            if found.contains_key(key) {
                continue;
            }
            if let Some(answer) = stmt.query_row([key], cached_answer).optional()? {
                found.insert(key.to_string(), answer);
            }
        }
        Ok(found)
    }

    /// One cached answer.
    pub fn llm_answer(&self, key: &str) -> Result<Option<CachedAnswer>> {
        Ok(self.llm_answers([key])?.remove(key))
    }

    /// Keeps one answer at once, in its own statement, outside any run's
    /// transaction: a run killed or failed a moment later has still paid
    /// for it only once. A key seen again (a company asked again after its
    /// cache days) replaces the old row.
    pub fn save_llm_answer(&self, a: &CachedAnswer) -> Result<()> {
        self.conn
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO llm_cache ({CACHE_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))?
            .execute(params![
                a.key,
                a.task,
                a.model,
                a.prompt_version,
                a.subject,
                a.answer,
                a.error,
                a.prompt_tokens,
                a.completion_tokens,
                a.cost_usd,
                a.created_at
            ])?;
        Ok(())
    }

    /// The briefing answer a role links to, by full or external id.
    pub fn role_briefing(&self, id: &str) -> Result<Option<CachedAnswer>> {
        self.role_answer(id, "briefing_key")
    }

    /// The role intel answer a role's verdict used, by full or external id.
    pub fn role_intel_answer(&self, id: &str) -> Result<Option<CachedAnswer>> {
        self.role_answer(id, "intel_key")
    }

    /// The answer behind one of a role's links (`intel_key`, `briefing_key`).
    fn role_answer(&self, id: &str, link: &'static str) -> Result<Option<CachedAnswer>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {} FROM roles JOIN llm_cache c ON c.key = roles.{link}
                     WHERE roles.id = ?1 OR roles.external_id = ?1
                     ORDER BY roles.id = ?1 DESC LIMIT 1",
                    prefixed_columns()
                ),
                [id],
                cached_answer,
            )
            .optional()?)
    }

    /// Every role's briefing answer, by role id (for the site and digest).
    pub fn briefings(&self) -> Result<HashMap<String, CachedAnswer>> {
        let mut stmt = self.conn.prepare(&format!(
            // From the answers to their roles (`role_rows_briefing`, V18),
            // not through every role's row.
            "SELECT r.id AS role_id, {} FROM llm_cache c JOIN role_rows r ON r.briefing_key = c.key
             WHERE c.answer IS NOT NULL AND r.briefing_key IS NOT NULL",
            prefixed_columns()
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>("role_id")?, cached_answer(r)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Totals over all runs: (calls, tokens, cost). Summed as reals and
    /// saturated: SQLite's integer `SUM` fails on overflow, and a count
    /// stored negative (wrapped by an older version) counts as none.
    pub fn llm_totals(&self) -> Result<(i64, i64, f64)> {
        let (calls, tokens, cost): (f64, f64, f64) = self.conn.query_row(
            "SELECT TOTAL(MAX(llm_calls, 0)) AS calls, TOTAL(MAX(llm_tokens, 0)) AS tokens,
                    TOTAL(llm_cost_usd) AS cost FROM runs",
            [],
            |r| Ok((r.get("calls")?, r.get("tokens")?, r.get("cost")?)),
        )?;
        // `as` saturates a float at the integer's bounds.
        Ok((calls as i64, tokens as i64, cost))
    }

    /// Links a role to its briefing outside a run (`brief --regenerate`).
    pub fn set_briefing_key(&self, role_id: &str, key: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE role_rows SET briefing_key = ?2 WHERE id = ?1",
            params![role_id, key],
        )?;
        Ok(())
    }
}

/// A counter for an `i64` column: at most `i64::MAX`, never wrapped negative.
pub fn saturating_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

impl StoreTx<'_> {
    /// Links a role to the answers its verdict and briefing came from;
    /// writes only when a link changed.
    pub fn set_model_keys(
        &self,
        role_id: &str,
        intel_key: Option<&str>,
        briefing_key: Option<&str>,
    ) -> Result<()> {
        self.execute(
            "UPDATE role_rows SET intel_key = ?2, briefing_key = COALESCE(?3, briefing_key)
             WHERE id = ?1 AND (intel_key IS NOT ?2 OR (?3 IS NOT NULL AND briefing_key IS NOT ?3))",
            params![role_id, intel_key, briefing_key],
        )?;
        Ok(())
    }

    /// A run's model usage, inside its transaction.
    pub fn record_llm_usage(&self, run_id: i64, usage: &LlmUsage) -> Result<()> {
        self.execute(
            "UPDATE runs SET llm_calls = ?2, llm_tokens = ?3, llm_cost_usd = ?4, llm_error = ?5
             WHERE id = ?1",
            params![
                run_id,
                saturating_i64(usage.calls),
                saturating_i64(usage.tokens),
                usage.cost_usd,
                usage.error
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(key: &str, cost: f64) -> CachedAnswer {
        CachedAnswer {
            key: key.into(),
            task: "role_intel".into(),
            model: "m".into(),
            prompt_version: "1".into(),
            subject: Some("paraform:a".into()),
            answer: Some("{}".into()),
            error: None,
            prompt_tokens: 10,
            completion_tokens: 3,
            cost_usd: cost,
            created_at: "2025-12-19T12:00:00Z".into(),
        }
    }

    #[test]
    fn answers_round_trip_and_replace() {
        let db = Db::open_in_memory().unwrap();
        db.save_llm_answer(&answer("k1", 0.5)).unwrap();
        db.save_llm_answer(&answer("k2", 0.25)).unwrap();
        let found = db.llm_answers(["k1", "k2", "k3", "k1"]).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["k1"], answer("k1", 0.5));
        db.save_llm_answer(&answer("k1", 0.75)).unwrap();
        assert_eq!(db.llm_answer("k1").unwrap().unwrap().cost_usd, 0.75);
        assert_eq!(db.llm_answer("nope").unwrap(), None);
    }

    /// Counts no provider can mean are stored saturated and summed
    /// without overflow; none is stored negative.
    #[test]
    fn usage_counters_saturate() {
        let mut db = Db::open_in_memory().unwrap();
        let usage = LlmUsage {
            calls: u64::MAX,
            tokens: u64::MAX,
            cost_usd: 0.5,
            error: None,
        };
        for _ in 0..3 {
            let run = db.start_run(chrono::Utc::now(), "manual").unwrap();
            let tx = db.transaction().unwrap();
            tx.record_llm_usage(run, &usage).unwrap();
            tx.commit().unwrap();
        }
        let runs = db.recent_runs(5).unwrap();
        assert!(runs.iter().all(|r| r.llm_tokens == i64::MAX), "{runs:?}");
        assert_eq!(db.llm_totals().unwrap(), (i64::MAX, i64::MAX, 1.5));
        assert_eq!(saturating_i64(7), 7);
    }

    #[test]
    fn a_bad_task_is_refused_by_the_schema() {
        let db = Db::open_in_memory().unwrap();
        let mut bad = answer("k", 0.0);
        bad.task = "horoscope".into();
        assert!(db.save_llm_answer(&bad).is_err());
        assert_eq!(db.llm_answer("k").unwrap(), None);
    }
}
