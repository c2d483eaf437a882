//! The plan of a run: from the listing, the stored summaries and the rules
//! alone, which roles are quiet (listed exactly as stored, nothing they
//! depend on moved), which are worth a detail call, and whether a stored
//! verdict still stands. Pure: no store, no network.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::assess::evaluation_key;
use crate::fetch::paraform::{self, ListedRole, RoleList};
use crate::role::RoleId;
use crate::store::RoleSummary;

/// What a run knows before it fetches: the stored summaries of Paraform's
/// roles and the fingerprints of the rules and the model settings.
pub struct Plan<'a> {
    pub stored: &'a HashMap<String, RoleSummary>,
    /// `assess::rules_key` of the rules in force.
    pub rules_key: String,
    /// With `[llm]` on: `llm::enrich::settings_key` of its settings.
    pub model_settings: Option<String>,
    pub now: DateTime<Utc>,
}

/// A listed role that may be worth a detail call.
pub struct Wanted<'l> {
    pub id: String,
    pub external_id: String,
    /// Its listing (`None`: listed exactly as stored, never detailed).
    pub listed: Option<&'l ListedRole>,
    /// A detail is stored: its intel counts for the tier.
    pub has_detail: bool,
}

impl<'a> Plan<'a> {
    /// The quiet roles, by the hash of their stored text (what the listing
    /// is compared with): active, and, with `[llm]` on, with model answers
    /// settled from exactly what they are now. A quiet role is neither
    /// parsed nor read nor evaluated: it is seen.
    pub fn quiet_texts(&self) -> HashMap<&'a str, &'a str> {
        self.stored
            .values()
            .filter(|s| s.active && self.model_quiet(s))
            .filter_map(|s| {
                let (source, external) = RoleId::parts(&s.id)?;
                (source == paraform::SOURCE).then_some((s.raw_hash.as_deref()?, external))
            })
            .collect()
    }

    /// Whether a role's model answers were settled from what it is now
    /// (always, with `[llm]` off): same text, detail, rules and model
    /// settings, and its company excitement not stale.
    fn model_quiet(&self, s: &RoleSummary) -> bool {
        if self.model_settings.is_none() {
            return true;
        }
        let Some(raw_hash) = s.raw_hash.as_deref() else {
            return false;
        };
        let fresh = s.model_until.as_deref().is_none_or(|until| {
            DateTime::parse_from_rfc3339(until).is_ok_and(|u| u.with_timezone(&Utc) > self.now)
        });
        fresh
            && s.model_key.as_deref()
                == self
                    .model_key(raw_hash, s.detail_fetched_at.as_deref())
                    .as_deref()
    }

    /// The key a role's settled model answers are filed under: its text,
    /// its detail, the rules and the model settings. `None` with `[llm]` off.
    pub fn model_key(&self, raw_hash: &str, detail_fetched_at: Option<&str>) -> Option<String> {
        let settings = self.model_settings.as_deref()?;
        Some(crate::track::text_hash(&format!(
            "{settings}\n{}\n{raw_hash}\n{}",
            self.rules_key,
            detail_fetched_at.unwrap_or("-")
        )))
    }

    /// A role's evaluation key (see `assess::evaluation_key`).
    pub fn evaluation_key(
        &self,
        input: &str,
        detail_fetched_at: Option<&str>,
        model: &str,
    ) -> String {
        evaluation_key(&self.rules_key, input, detail_fetched_at, model)
    }

    /// Whether a role's stored verdict stands without `[llm]`: it has one,
    /// and its key is the one its input, detail and the rules make now.
    pub fn verdict_stands(
        &self,
        s: &RoleSummary,
        input: &str,
        detail_fetched_at: Option<&str>,
    ) -> bool {
        s.tier.is_some()
            && s.evaluation_key.as_deref()
                == Some(self.evaluation_key(input, detail_fetched_at, "").as_str())
    }

    /// The listed roles that may be worth a detail call: new, changed, or
    /// never detailed. Listed as stored and detailed: they keep what is
    /// stored, so a quiet run makes one list call and nothing more.
    pub fn detail_wanted<'l>(&self, list: &'l RoleList) -> Vec<Wanted<'l>> {
        let mut wanted = Vec::new();
        let mut seen = HashSet::new();
        for listed in &list.roles {
            let Some(external_id) = listed.external_id.clone() else {
                continue;
            };
            let id = RoleId::paraform(&external_id).into_string();
            if !seen.insert(id.clone()) {
                continue;
            }
            let previous = self.stored.get(&id);
            let changed = previous.is_none_or(|p| {
                p.detail_fetched_at.is_none() || p.content_hash != listed.content_hash
            });
            if changed {
                wanted.push(Wanted {
                    has_detail: previous.is_some_and(|p| p.detail_fetched_at.is_some()),
                    id,
                    external_id,
                    listed: Some(listed),
                });
            }
        }
        // Listed as before but never detailed (an earlier detail call
        // failed): worth one if its stored tier says so.
        for external_id in &list.unchanged {
            let id = RoleId::paraform(external_id).into_string();
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(p) = self.stored.get(&id)
                && p.detail_fetched_at.is_none()
                && p.tier.is_some_and(|t| t.is_candidate())
            {
                wanted.push(Wanted {
                    id,
                    external_id: external_id.clone(),
                    listed: None,
                    has_detail: false,
                });
            }
        }
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, raw_hash: &str) -> RoleSummary {
        RoleSummary {
            id: id.into(),
            active: true,
            content_hash: "c".into(),
            raw_hash: Some(raw_hash.into()),
            detail_fetched_at: Some("2026-12-01T06:00:00Z".into()),
            tier: None,
            trend: None,
            evaluation_key: None,
            evaluation_input: None,
            unfollowed: false,
            model_key: None,
            model_until: None,
        }
    }

    fn plan<'a>(stored: &'a HashMap<String, RoleSummary>, model: Option<&str>) -> Plan<'a> {
        Plan {
            stored,
            rules_key: "rules".into(),
            model_settings: model.map(str::to_string),
            now: "2026-12-02T06:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn without_the_model_every_active_role_listed_as_stored_is_quiet() {
        let mut stored = HashMap::new();
        stored.insert("paraform:a".into(), summary("paraform:a", "ha"));
        let mut gone = summary("paraform:b", "hb");
        gone.active = false;
        stored.insert("paraform:b".into(), gone);
        let quiet = plan(&stored, None).quiet_texts();
        assert_eq!(quiet, HashMap::from([("ha", "a")]));
    }

    #[test]
    fn with_the_model_a_role_is_quiet_only_while_its_answers_were_settled_from_what_it_is() {
        let mut stored = HashMap::new();
        let mut settled = summary("paraform:a", "ha");
        let unsettled = summary("paraform:b", "hb");
        let mut stale = summary("paraform:c", "hc");
        {
            let p = plan(&stored, Some("m"));
            settled.model_key = p.model_key("ha", settled.detail_fetched_at.as_deref());
            stale.model_key = p.model_key("hc", stale.detail_fetched_at.as_deref());
        }
        // Its company's excitement went stale yesterday.
        stale.model_until = Some("2026-12-01T06:00:00Z".into());
        for s in [settled, unsettled, stale] {
            stored.insert(s.id.clone(), s);
        }
        assert_eq!(
            plan(&stored, Some("m")).quiet_texts(),
            HashMap::from([("ha", "a")])
        );
        // Other model settings (or rules): nothing is quiet.
        assert!(plan(&stored, Some("other")).quiet_texts().is_empty());
        let mut other_rules = plan(&stored, Some("m"));
        other_rules.rules_key = "new rules".into();
        assert!(other_rules.quiet_texts().is_empty());
    }

    #[test]
    fn a_verdict_stands_while_its_key_is_the_one_its_inputs_make() {
        let stored = HashMap::new();
        let p = plan(&stored, None);
        let mut s = summary("paraform:a", "ha");
        s.evaluation_key = Some(p.evaluation_key("input", Some("t"), ""));
        assert!(!p.verdict_stands(&s, "input", Some("t")), "no tier stored");
        s.tier = Some(crate::evaluate::Tier::Maybe);
        assert!(p.verdict_stands(&s, "input", Some("t")));
        assert!(!p.verdict_stands(&s, "input moved", Some("t")));
        assert!(!p.verdict_stands(&s, "input", Some("new detail")));
    }
}
