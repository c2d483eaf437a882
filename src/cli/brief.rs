//! `brief ID`: a role's briefing, written by the model (`[llm]`), read
//! back or written again (`--regenerate`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use super::open_existing;
use crate::config::{Config, Env};

/// `brief ID`: a role's briefing; `--regenerate` writes it again from the
/// stored detail (one model call, whatever the cache holds).
pub async fn brief(
    config: &Config,
    env: &Env,
    id: &str,
    regenerate: bool,
    json: bool,
) -> Result<ExitCode> {
    let db = open_existing(config)?;
    let Some(role) = db.explain_role(id)? else {
        bail!("no role with id {id:?}; `air-demand roles --all` lists them");
    };
    let role_id = role.role.id.clone();
    let answer = if regenerate {
        let stored = db
            .stored_role(&role_id)?
            .context("the role vanished while being read")?;
        let Some(detail) = crate::assess::parse_detail(stored.detail.as_deref()) else {
            bail!(
                "role {role_id} has no stored detail to brief from: a scrape fetches it once the role passes the hard filters"
            );
        };
        let raw: serde_json::Value = serde_json::from_str(&stored.raw).unwrap_or_default();
        let rules = config.rules()?;
        let answer = crate::llm::enrich::regenerate_briefing(
            &config.llm,
            env,
            &raw,
            &detail,
            &rules,
            Utc::now(),
        )
        .await
        .map_err(|err| anyhow::anyhow!("the briefing of {role_id} was not written: {err}"))?;
        db.save_llm_answer(&answer)
            .and_then(|()| db.set_briefing_key(&role_id, &answer.key))
            .context("keeping the new briefing")?;
        answer
    } else {
        match db.role_briefing(&role_id)? {
            Some(answer) => answer,
            None => bail!(
                "role {role_id} has no briefing: with [llm] enabled, a scrape writes one for QUALIFIED roles with a combined score of at least {:.2}; `air-demand brief {id} --regenerate` writes one now",
                config.llm.briefing_min_score
            ),
        }
    };
    let Some(briefing) = answer
        .answer
        .as_deref()
        .and_then(|a| serde_json::from_str::<crate::llm::Briefing>(a).ok())
    else {
        bail!(
            "the stored briefing of {role_id} cannot be read; `air-demand brief {id} --regenerate` writes it again"
        );
    };
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "role": role_id, "model": answer.model, "prompt_version": answer.prompt_version,
            "created_at": answer.created_at, "briefing": briefing,
        });
        out.write_all(crate::text::json_pretty(&value)?.as_bytes())?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = |t: &Option<String>| crate::text::terminal(t.as_deref().unwrap_or("-"), 200);
    writeln!(
        out,
        "Briefing: {} — {}",
        text(&role.role.company),
        text(&role.role.title)
    )?;
    let (gaps, of) = briefing.gaps();
    writeln!(
        out,
        "Written by the model {} on {} (prompt v{}); not checked by a person. {gaps} of {of} parts need research (marked ?).",
        crate::text::terminal(&answer.model, 80),
        answer.created_at,
        crate::text::terminal(&answer.prompt_version, 20)
    )?;
    writeln!(out)?;
    for line in briefing.terminal_lines() {
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}
