//! The rules in force, written out for people: `air-demand rules` prints
//! this, and `docs/scoring.md` is this for the built-in defaults (a unit test
//! keeps the two equal, so the documentation cannot drift from the code).

use std::fmt::Write;

use super::MISSING;
use crate::role::format_number;
use crate::rules::{Band, Rules, Table};

/// The rules as Markdown. `source` says where they come from ("the built-in
/// defaults", "air-demand.toml").
pub fn describe(rules: &Rules, source: &str) -> String {
    let q = &rules.qualification;
    let s = &rules.scoring;
    let l = &rules.lists;
    let t = &s.tables;
    let e = &s.excitement;
    let m = &MISSING;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };

    line("# Qualification and scoring rules".into());
    line(String::new());
    line(format!(
        "The rules in force, from {source}. `air-demand rules` prints the rules of your own \
         configuration; `[qualification]`, `[scoring]` and `lists_file` change them (see the README). \
         Field names are Paraform's. Text comparisons ignore case."
    ));
    line(String::new());

    line("## Hard filters".into());
    line(String::new());
    line("A role must pass every filter; each failure is recorded as a reason.".into());
    line(String::new());
    line(format!("1. `status` is `{}`.", q.status));
    line("2. `not_accepting_recruiters` is not true.".into());
    line(format!(
        "3. Location: some `locations[]` slug is in the NYC-metro list ({}) or the London list ({}), \
         or `workplace_type` is one of {}. A role that lists no locations passes when its detail \
         text names one of those places, with a signal saying where it was read.",
        code_list(&l.locations.nyc_metro),
        code_list(&l.locations.london),
        code_list(&q.remote_workplace_types)
    ));
    line(format!(
        "4. Role type: some `role_types[]` is a core engineering type ({}). A role whose \
         engineering types are all secondary ({}) fails with its own reason.",
        code_list(&l.role_types.core),
        code_list(&l.role_types.secondary)
    ));
    line(format!(
        "5. No mobile role type ({}).",
        code_list(&l.role_types.mobile)
    ));
    line(format!(
        "6. `salaryUpperBound` is at least ${} (missing fails).",
        num(q.min_salary)
    ));
    line(format!(
        "7. `percent_fee` is at least {}% (missing or 0 counts as 0 and fails).",
        format_number(q.min_fee_percent)
    ));
    line(String::new());

    line("## Quality signals".into());
    line(String::new());
    line(format!(
        "1. Some investor is on the tier-1 list ({} names). Investors match as whole words: \
         \"Sequoia Capital China\" matches \"sequoia\", \"Neal Arthur\" does not match \"nea\".",
        l.investors.tier1.len()
    ));
    line(format!(
        "2. The funding amount is above ${} (`company.fundingAmount` such as \"$16.25M\"; \
         K, M and B multiply; unreadable text is 0).",
        num(q.signal_funding_above)
    ));
    line(format!(
        "3. `company.company_metadata.last_funding_round` is one of {}.",
        code_list(&q.signal_stages)
    ));
    line(format!(
        "4. `company.size` (else `team_size`) is between {} and {}.",
        format_number(q.signal_size_min),
        format_number(q.signal_size_max)
    ));
    line(format!(
        "5. `manager_rating` is at least {}.",
        format_number(q.signal_manager_rating_min)
    ));
    line(format!(
        "6. `responsiveness_days` is present and below {}.",
        format_number(q.signal_responsiveness_below_days)
    ));
    line(format!(
        "7. `interview_stages` is present, above 0 and at most {}.",
        format_number(q.signal_interview_stages_max)
    ));
    line("8. `role_metadata.highlights` is not empty.".into());
    line(String::new());

    line("## Tiers".into());
    line(String::new());
    line(format!(
        "- Any hard filter failed: **SKIP**, except when the only failure is the location and \
         the role lists no locations: **LOCATION_UNCERTAIN**.\n\
         - Otherwise {} or more quality signals: **QUALIFIED**; 1 to {}: **MAYBE**; none: **SKIP**.\n\
         - QUALIFIED and MAYBE roles count as qualified.",
        q.qualified_min_signals,
        q.qualified_min_signals.saturating_sub(1)
    ));
    line(String::new());

    line("## Unset inputs".into());
    line(String::new());
    let zeros = if s.zero_means_unset.is_empty() {
        "Every 0 is a real value.".to_string()
    } else {
        format!(
            "Zero is unset too for {}, where Paraform sends 0 for \"not set\" (the fee filter \
             above still reads the fee as sent). Every other 0 is a real value: \
             `responsiveness_days` 0 answers the same day, `approved_recruiters_count` 0 means \
             no competition.",
            code_list(&s.zero_means_unset)
        )
    };
    line(format!(
        "A number that is absent, null or not a number is unset. {zeros} An unset input takes \
         the default written next to it below, and `roles --explain` lists it under \
         \"Defaulted inputs\" with the reason."
    ));
    line(String::new());

    line("## Engineer score".into());
    line(String::new());
    line("Each component is rounded to 3 decimals, the weighted sum to 2.".into());
    line(String::new());
    line("| component | weight | value |".into());
    line("|---|---|---|".into());
    line(format!(
        "| compensation | {} | `salaryUpperBound`: {}; missing or 0 → {} |",
        weight(s.engineer.compensation),
        bands(&t.compensation.bands),
        num(t.compensation.otherwise)
    ));
    line(format!(
        "| company quality | {} | 0.5 × investors + 0.5 × funding |",
        weight(s.engineer.company_quality)
    ));
    line(format!(
        "| role impact | {} | 0.5 × title + 0.3 × openings + 0.2 × size |",
        weight(s.engineer.role_impact)
    ));
    line(format!(
        "| process | {} | 0.4 × stages + 0.3 × responsiveness + 0.3 × min(1, badges) |",
        weight(s.engineer.process)
    ));
    line(format!(
        "| tech modernity | {} | 0.6 × min(1, modern / {}) + 0.4 × industry |",
        weight(s.engineer.tech_modernity),
        format_number(s.modern_tech_target)
    ));
    line(String::new());
    line(
        "- investors: no investors → 0.3; else min(1, 0.30 × tier-1 + 0.15 × tier-2), each \
         investor counted once, tier-1 first."
            .into(),
    );
    line(format!(
        "- funding: 0.6 × amount + 0.4 × stage. Amount: {}. Stage (`last_funding_round`): {}; \
         anything else {}.",
        table(&t.funding_amount),
        pairs(s.stage_values.iter()),
        num(s.stage_otherwise)
    ));
    line(format!(
        "- title (`name`): contains {} → 1.0; contains {} → 0.8; else 0.6.",
        quoted_list(&s.title_top),
        quoted_list(&s.title_senior)
    ));
    line(format!(
        "- openings: min(1, `hiring_count` / 3); unset → read as {} opening, so {:.3}.",
        format_number(m.hiring_count),
        (m.hiring_count / 3.0).min(1.0)
    ));
    line(format!(
        "- size (`company.size`, unset → {}): {}.",
        num(m.company_size),
        table(&t.company_size)
    ));
    line(format!(
        "- stages (`interview_stages`, unset → {}): {}.",
        num(m.interview_stages),
        table(&t.interview_stages)
    ));
    line(format!(
        "- responsiveness (`responsiveness_days`, unset → {}): 1 − clamp01(days / 5).",
        num(m.responsiveness_days)
    ));
    line(format!(
        "- badges (`role_metadata.highlights`), summed: {}.",
        pairs(s.badge_values.iter())
    ));
    line(format!(
        "- modern: how many of `tech_stack` are in {}.",
        code_list(&s.modern_tech)
    ));
    line(format!(
        "- industry: 1.0 if `company.industries` meets {}, else 0.5.",
        code_list(&s.engineer_industries)
    ));
    line(String::new());

    line("## Headhunter score".into());
    line(String::new());
    line("| component | weight | value |".into());
    line("|---|---|---|".into());
    line(format!(
        "| placement probability | {} | 0.4 × rating + 0.3 × responsiveness + 0.3 × min(1, badges) |",
        weight(s.headhunter.placement)
    ));
    line(format!(
        "| commission value | {} | 0.5 × fee + 0.3 × openings + 0.2 × bonus |",
        weight(s.headhunter.commission)
    ));
    line(format!(
        "| competition | {} | 0.5 × recruiters + 0.3 × track record + 0.2 × pipeline |",
        weight(s.headhunter.competition)
    ));
    line(format!(
        "| candidate fit | {} | 0.5 × type + 0.5 × location |",
        weight(s.headhunter.candidate_fit)
    ));
    line(String::new());
    line(format!(
        "- rating (`manager_rating`, unset → {}): clamp01((rating − 3) / 2).",
        num(m.manager_rating)
    ));
    line(format!(
        "- fee (`percent_fee`, unset → {}): {}.",
        num(m.fee_percent),
        table(&t.fee)
    ));
    line(format!(
        "- bonus: 1.0 if the highlights contain `{}`, else 0.5.",
        s.bonus_badge
    ));
    line(format!(
        "- recruiters (`approved_recruiters_count`, unset → {}): {}.",
        num(m.recruiters),
        table(&t.recruiters)
    ));
    line(format!(
        "- track record (`total_hired`, unset → {}): {}.",
        num(m.total_hired),
        table(&t.track_record)
    ));
    line(format!(
        "- pipeline (`total_interviewing`, unset → {}): {}.",
        num(m.total_interviewing),
        table(&t.pipeline)
    ));
    line(format!(
        "- type: 1.0 if `role_types` meets {}, else 0.6.",
        code_list(&s.fit_role_types)
    ));
    line("- location: 1.0 if the location filter passes, else 0.5.".into());
    line(String::new());

    line("## Combined score".into());
    line(String::new());
    line(format!(
        "combined = round({} × engineer + {} × headhunter, 2). Roles are ranked by tier, then \
         by the combined score.",
        num(s.combined_engineer_weight),
        num(s.combined_headhunter_weight)
    ));
    line(String::new());

    line("## Excitement score".into());
    line(String::new());
    line(format!(
        "Company momentum, shown beside the scores and not part of the combined score. A \
         company on the hot list ({} names) → {}. Otherwise the sum of the parts below, capped \
         at 1 and rounded to 2:",
        l.companies.hot.len(),
        num(e.hot_company)
    ));
    line(String::new());
    line(format!(
        "- investors: 1, 2, 3 or more tier-1 → {}; no tier-1 → 0.15 × min(1, 0.15 × tier-2 + \
         0.15 × angels), or 0.15 × 0.3 with no investors at all;",
        e.tier1_points
            .iter()
            .map(|p| num(*p))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    line(format!("- funding: {};", table(&e.funding)));
    line(format!(
        "- industry: meets {} → {}; else meets {} → {};",
        code_list(&e.ai_industries),
        num(e.ai_industry_points),
        code_list(&e.other_industries),
        num(e.other_industry_points)
    ));
    line(format!(
        "- founded (`company.foundingYear`, unset → {}) in {} or later → {};",
        format_number(m.founding_year),
        e.founded_from_year,
        num(e.young_company_points)
    ));
    line(format!(
        "- size (`company.size`, unset → {}): {};",
        num(m.company_size),
        table(&e.size)
    ));
    line(format!(
        "- title contains {} → {}.",
        quoted_list(&e.title_words),
        num(e.title_points)
    ));
    line(String::new());

    line("## Trends".into());
    line(String::new());
    line(
        "From a role's changes of the last 7 days: **hired** if `total_hired` rose; else \
         **surging** if `total_interviewing` rose; else **stalled** if it fell to 0."
            .into(),
    );
    line(String::new());

    line("## Reference lists".into());
    line(String::new());
    line(format!(
        "From {}. Names match as whole words, ignoring case.",
        match &q.lists_file {
            Some(path) => format!("`{}`", path.display()),
            None => "the built-in `data/reference-lists.toml`".into(),
        }
    ));
    line(String::new());
    line(format!(
        "- tier-1 investors: {}",
        quoted_list(&l.investors.tier1)
    ));
    line(format!(
        "- tier-2 investors: {}",
        quoted_list(&l.investors.tier2)
    ));
    line(format!("- angels: {}", quoted_list(&l.investors.angels)));
    line(format!(
        "- hot companies: {}",
        quoted_list(&l.companies.hot)
    ));
    out
}

/// A number as people write it: 0.85, 14, 200,000.
fn num(x: f64) -> String {
    let text = format_number(x);
    if x.abs() < 10_000.0 || x.fract() != 0.0 {
        return text;
    }
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}")
}

fn weight(x: f64) -> String {
    format!("{x:.2}")
}

fn code_list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted_list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pairs<'a>(items: impl Iterator<Item = (&'a String, &'a f64)>) -> String {
    items
        .map(|(k, v)| format!("`{k}` {}", num(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn band(b: &Band) -> String {
    let range = match (b.min, b.max) {
        (Some(min), Some(max)) => format!("{}–{}", num(min), num(max)),
        (Some(min), None) => format!("≥ {}", num(min)),
        (None, Some(max)) => format!("≤ {}", num(max)),
        (None, None) => "any".into(),
    };
    format!("{range} → {}", num(b.value))
}

fn bands(bands: &[Band]) -> String {
    bands.iter().map(band).collect::<Vec<_>>().join("; ")
}

/// "the first matching band; else" — a table in one line.
fn table(t: &Table) -> String {
    let mut text = String::new();
    if !t.bands.is_empty() {
        let _ = write!(text, "{}; ", bands(&t.bands));
    }
    let _ = write!(text, "else {}", num(t.otherwise));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/scoring.md` is the description of the built-in rules. Regenerate
    /// it with `UPDATE_DOCS=1 cargo test --lib scoring_doc`.
    #[test]
    fn scoring_doc_matches_the_built_in_rules() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scoring.md");
        let expected = describe(&Rules::defaults(), "the built-in defaults");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/scoring.md is out of date: run `UPDATE_DOCS=1 cargo test --lib scoring_doc`"
        );
    }

    #[test]
    fn big_numbers_are_grouped() {
        assert_eq!(num(200_000.0), "200,000");
        assert_eq!(num(100e6), "100,000,000");
        assert_eq!(num(2020.0), "2020");
        assert_eq!(num(0.85), "0.85");
        assert_eq!(num(-12_345.0), "-12,345");
    }

    #[test]
    fn a_changed_rule_shows_in_the_description() {
        let mut rules = Rules::defaults();
        rules.qualification.min_fee_percent = 16.0;
        rules.scoring.zero_means_unset = vec!["hiring_count".into()];
        let text = describe(&rules, "air-demand.toml");
        assert!(text.contains("from air-demand.toml"), "{text}");
        assert!(text.contains("`percent_fee` is at least 16%"), "{text}");
        assert!(
            text.contains("Zero is unset too for `hiring_count`, where"),
            "{text}"
        );
    }
}
