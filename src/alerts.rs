//! Alerts to the operator by email (the digest's transport): one message when
//! an incident opens (scrapes failing, session expired or expiring, digest
//! failed, model calls refused, Paraform asking for a browser) and one "recovered" message when it clears — not one per failure.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::{Config, Env};
use crate::store::Db;

/// What is wrong right now: (incident key, message).
pub fn current_incidents(
    config: &Config,
    env: &Env,
    db: &Db,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, String)>> {
    let health = crate::health::check(config, env, db, now)?;
    let mut incidents = Vec::new();
    if health.consecutive_failed_scrapes >= config.health.alert_after_failed_scrapes {
        let last_error = health
            .last_run
            .as_ref()
            .and_then(|r| r.errors.first().cloned())
            .unwrap_or_default();
        incidents.push((
            "scrapes-failing",
            format!(
                "{} scrapes in a row failed; the last said: {last_error}",
                health.consecutive_failed_scrapes
            ),
        ));
    }
    if health.session.state.is_broken() {
        incidents.push(("session-expired", health.session.message.clone()));
    } else if health.session.state.needs_attention() {
        incidents.push(("session-expiring", health.session.message.clone()));
    }
    if health.paraform_fetch.as_deref()
        == Some(crate::fetch::paraform::Route::BrowserAfterChallenge.as_str())
    {
        incidents.push((
            "browser-required",
            health.paraform_fetch_note.clone().unwrap_or_default(),
        ));
    }
    if let Some(failing) = &health.llm.failing {
        incidents.push(("llm-failing", failing.clone()));
    }
    if let Some(digest) = db.last_digest()?
        && digest.status == crate::store::DigestStatus::Failed
    {
        incidents.push((
            "digest-failed",
            format!(
                "the digest \"{}\" could not be sent: {}",
                digest.subject,
                digest.error.unwrap_or_default()
            ),
        ));
    }
    Ok(incidents)
}

/// Opens, announces and closes incidents; returns how many messages went out.
pub async fn check_and_notify(config: &Config, env: &Env, now: DateTime<Utc>) -> Result<usize> {
    let db = Db::open(&config.database_path())?;
    let current = current_incidents(config, env, &db, now)?;
    let pending = db.pending_alerts()?;
    let mut sent = 0;
    for (incident, message) in &current {
        let open = pending
            .iter()
            .any(|a| a.incident == *incident && a.resolved_at.is_none());
        if !open {
            db.open_alert(incident, message, now)?;
        }
    }
    for alert in db.pending_alerts()? {
        let still = current
            .iter()
            .any(|(incident, _)| *incident == alert.incident);
        if alert.resolved_at.is_none() && !still {
            db.mark_alert(alert.id, "resolved_at", now)?;
        }
        let resolved = alert.resolved_at.is_some() || !still;
        let (subject, body, column) = if alert.alerted_at.is_none() && !resolved {
            (
                format!("Air Demand alert: {}", title(&alert.incident)),
                format!(
                    "{}\n\nSince {}. Check `air-demand status` on the server.\n",
                    alert.message, alert.opened_at
                ),
                "alerted_at",
            )
        } else if alert.alerted_at.is_some() && resolved {
            (
                format!("Air Demand recovered: {}", title(&alert.incident)),
                format!(
                    "Cleared at {}. It started at {}: {}\n",
                    crate::role::timestamp(now),
                    alert.opened_at,
                    alert.message
                ),
                "recovery_sent_at",
            )
        } else {
            continue;
        };
        match crate::digest::send_notice(config, env, &subject, &body, now).await {
            Ok(()) => {
                db.mark_alert(alert.id, column, now)?;
                sent += 1;
            }
            // Unsent alerts stay pending and are tried at the next check.
            Err(err) => tracing::warn!("could not send the alert \"{subject}\": {err:#}"),
        }
    }
    Ok(sent)
}

fn title(incident: &str) -> &'static str {
    match incident {
        "scrapes-failing" => "scrapes are failing",
        "session-expired" => "the Paraform session has expired",
        "session-expiring" => "the Paraform session expires soon",
        "digest-failed" => "the digest could not be sent",
        "llm-failing" => "model calls are failing",
        "browser-required" => "Paraform asks for a browser",
        _ => "a problem",
    }
}
