//! The qualification and scoring rules as data: thresholds, weights, value
//! tables and reference lists. The defaults reproduce SCORING.md; the user
//! overrides them in `[qualification]`, `[scoring]` and a lists file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The reference lists shipped with the program (`data/reference-lists.toml`).
pub const DEFAULT_LISTS_TOML: &str = include_str!("../data/reference-lists.toml");

/// Everything `evaluate` needs, loaded and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub qualification: QualificationRules,
    pub scoring: ScoringRules,
    pub lists: Lists,
}

impl Rules {
    /// The built-in rules of SCORING.md.
    pub fn defaults() -> Rules {
        Rules {
            qualification: QualificationRules::default(),
            scoring: ScoringRules::default(),
            lists: Lists::defaults(),
        }
    }
}

/// Hard filters and quality signals (`[qualification]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QualificationRules {
    /// A lists file that replaces the built-in reference lists.
    pub lists_file: Option<PathBuf>,
    /// The only `status` that passes.
    pub status: String,
    /// `salaryUpperBound` must be at least this (missing fails).
    pub min_salary: f64,
    /// `percent_fee` must be at least this (missing counts as 0).
    pub min_fee_percent: f64,
    /// `workplace_type` values that pass the location filter on their own.
    pub remote_workplace_types: Vec<String>,
    /// Quality signals needed for QUALIFIED (fewer, but some, is MAYBE).
    pub qualified_min_signals: usize,
    /// Funding strictly above this is a signal.
    pub signal_funding_above: f64,
    /// `last_funding_round` values that are a signal.
    pub signal_stages: Vec<String>,
    pub signal_size_min: f64,
    pub signal_size_max: f64,
    pub signal_manager_rating_min: f64,
    /// `responsiveness_days` strictly below this is a signal.
    pub signal_responsiveness_below_days: f64,
    /// At most this many interview stages (and more than 0) is a signal.
    pub signal_interview_stages_max: f64,
}

impl Default for QualificationRules {
    fn default() -> Self {
        QualificationRules {
            lists_file: None,
            status: "ACTIVE".into(),
            min_salary: 200_000.0,
            min_fee_percent: 14.0,
            remote_workplace_types: vec!["remote".into()],
            qualified_min_signals: 3,
            signal_funding_above: 5_000_000.0,
            signal_stages: strings(&[
                "SEED", "SERIES_A", "SERIES_B", "SERIES_C", "SERIES_D", "SERIES_E",
            ]),
            signal_size_min: 10.0,
            signal_size_max: 500.0,
            signal_manager_rating_min: 4.0,
            signal_responsiveness_below_days: 3.0,
            signal_interview_stages_max: 6.0,
        }
    }
}

/// One row of a value table: applies when `min ≤ x ≤ max` (either bound may
/// be left out). The first matching row wins.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub value: f64,
}

/// A value table: the first matching band, else `otherwise`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub bands: Vec<Band>,
    pub otherwise: f64,
}

impl Table {
    pub fn value(&self, x: f64) -> f64 {
        self.bands
            .iter()
            .find(|b| b.min.is_none_or(|min| x >= min) && b.max.is_none_or(|max| x <= max))
            .map_or(self.otherwise, |b| b.value)
    }
}

fn table(bands: &[(Option<f64>, Option<f64>, f64)], otherwise: f64) -> Table {
    Table {
        bands: bands
            .iter()
            .map(|&(min, max, value)| Band { min, max, value })
            .collect(),
        otherwise,
    }
}

/// Weights and value tables of the scores (`[scoring]`). Sub-weights inside
/// a component (e.g. 0.5 × investors + 0.5 × funding) are fixed in code.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringRules {
    /// Number fields (dotted paths) where Paraform sends 0 for "not set":
    /// there 0 reads as missing, so the missing default applies. For every
    /// other number 0 is a real value (SCORING.md). The fee hard filter
    /// reads `percent_fee` as it is.
    pub zero_means_unset: Vec<String>,
    pub combined_engineer_weight: f64,
    pub combined_headhunter_weight: f64,
    pub engineer: EngineerWeights,
    pub headhunter: HeadhunterWeights,
    pub tables: ScoreTables,
    /// `last_funding_round` → funding stage value; others get `stage_otherwise`.
    pub stage_values: BTreeMap<String, f64>,
    pub stage_otherwise: f64,
    /// Highlight badge → value in the process and placement components.
    pub badge_values: BTreeMap<String, f64>,
    pub bonus_badge: String,
    /// Title words (substrings, case-insensitive) that make a title top-level.
    pub title_top: Vec<String>,
    pub title_senior: Vec<String>,
    pub modern_tech: Vec<String>,
    /// How many modern technologies make tech modernity full.
    pub modern_tech_target: f64,
    pub engineer_industries: Vec<String>,
    pub fit_role_types: Vec<String>,
    pub excitement: ExcitementRules,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineerWeights {
    pub compensation: f64,
    pub company_quality: f64,
    pub role_impact: f64,
    pub process: f64,
    pub tech_modernity: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HeadhunterWeights {
    pub placement: f64,
    pub commission: f64,
    pub competition: f64,
    pub candidate_fit: f64,
}

/// The piecewise tables of SCORING.md. Counts and amounts are whole numbers,
/// so "> 0" is written `min = 1` and "> 10" `min = 11`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreTables {
    /// `salaryUpperBound`; missing or 0 uses `otherwise`.
    pub compensation: Table,
    /// Funding amount in dollars.
    pub funding_amount: Table,
    /// `company.size` for role impact.
    pub company_size: Table,
    pub interview_stages: Table,
    pub fee: Table,
    pub recruiters: Table,
    pub track_record: Table,
    pub pipeline: Table,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExcitementRules {
    /// A hot company's excitement, whatever else.
    pub hot_company: f64,
    /// Points for 1, 2, and 3 or more tier-1 investors.
    pub tier1_points: Vec<f64>,
    pub funding: Table,
    pub ai_industries: Vec<String>,
    pub ai_industry_points: f64,
    pub other_industries: Vec<String>,
    pub other_industry_points: f64,
    pub founded_from_year: i64,
    pub young_company_points: f64,
    pub size: Table,
    pub title_words: Vec<String>,
    pub title_points: f64,
}

impl Default for ScoringRules {
    fn default() -> Self {
        ScoringRules {
            zero_means_unset: strings(&[
                "hiring_count",
                "interview_stages",
                "manager_rating",
                "percent_fee",
                "company.size",
                "company.foundingYear",
            ]),
            combined_engineer_weight: 0.45,
            combined_headhunter_weight: 0.55,
            engineer: EngineerWeights::default(),
            headhunter: HeadhunterWeights::default(),
            tables: ScoreTables::default(),
            stage_values: [
                ("PRE_SEED", 0.5),
                ("SEED", 0.6),
                ("SERIES_A", 1.0),
                ("SERIES_B", 0.95),
                ("SERIES_C", 0.85),
                ("SERIES_D", 0.75),
                ("SERIES_D_PLUS", 0.7),
                ("SERIES_E", 0.65),
                ("POST_IPO_EQUITY", 0.5),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
            stage_otherwise: 0.5,
            badge_values: [
                ("NO_FINAL_ROUNDS", 0.3),
                ("TRUSTED_CLIENT", 0.25),
                ("RESPONSIVE", 0.2),
                ("HIRING_MULTIPLE", 0.15),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
            bonus_badge: "ROLE_BONUS".into(),
            title_top: strings(&["head of", "vp", "principal", "staff", "lead"]),
            title_senior: strings(&["senior"]),
            modern_tech: strings(&[
                "react",
                "typescript",
                "python",
                "go",
                "rust",
                "kubernetes",
                "graphql",
                "next",
            ]),
            modern_tech_target: 3.0,
            engineer_industries: strings(&[
                "ai",
                "fintech",
                "developer_tools",
                "cybersecurity",
                "devtools",
            ]),
            fit_role_types: strings(&[
                "full_stack_engineer",
                "backend_engineer",
                "frontend_engineer",
                "data_engineer",
            ]),
            excitement: ExcitementRules::default(),
        }
    }
}

impl Default for EngineerWeights {
    fn default() -> Self {
        EngineerWeights {
            compensation: 0.30,
            company_quality: 0.25,
            role_impact: 0.20,
            process: 0.15,
            tech_modernity: 0.10,
        }
    }
}

impl Default for HeadhunterWeights {
    fn default() -> Self {
        HeadhunterWeights {
            placement: 0.35,
            commission: 0.30,
            competition: 0.20,
            candidate_fit: 0.15,
        }
    }
}

impl Default for ScoreTables {
    fn default() -> Self {
        ScoreTables {
            compensation: table(
                &[
                    (Some(300_000.0), None, 1.0),
                    (Some(250_000.0), None, 0.85),
                    (Some(200_000.0), None, 0.6),
                    (Some(1.0), None, 0.4),
                ],
                0.3,
            ),
            funding_amount: table(
                &[
                    (Some(100e6), None, 1.0),
                    (Some(30e6), None, 0.85),
                    (Some(10e6), None, 0.7),
                    (Some(5e6), None, 0.55),
                    (Some(1.0), None, 0.4),
                ],
                0.3,
            ),
            company_size: table(
                &[
                    (Some(20.0), Some(100.0), 1.0),
                    (Some(10.0), Some(200.0), 0.8),
                ],
                0.6,
            ),
            interview_stages: table(&[(None, Some(4.0), 1.0), (None, Some(6.0), 0.7)], 0.4),
            fee: table(
                &[
                    (Some(18.0), None, 1.0),
                    (Some(16.0), None, 0.8),
                    (Some(14.0), None, 0.5),
                ],
                0.3,
            ),
            recruiters: table(
                &[
                    (None, Some(0.0), 1.0),
                    (None, Some(2.0), 0.8),
                    (None, Some(5.0), 0.6),
                    (None, Some(10.0), 0.4),
                ],
                0.2,
            ),
            track_record: table(&[(Some(2.0), None, 1.0), (Some(1.0), None, 0.8)], 0.5),
            pipeline: table(&[(Some(1.0), Some(5.0), 1.0), (Some(11.0), None, 0.6)], 0.7),
        }
    }
}

impl Default for ExcitementRules {
    fn default() -> Self {
        ExcitementRules {
            hot_company: 0.95,
            tier1_points: vec![0.20, 0.30, 0.40],
            funding: table(
                &[
                    (Some(100e6), None, 0.25),
                    (Some(30e6), None, 0.20),
                    (Some(10e6), None, 0.15),
                    (Some(5e6), None, 0.10),
                ],
                0.0,
            ),
            ai_industries: strings(&["ai", "artificial_intelligence", "machine_learning"]),
            ai_industry_points: 0.15,
            other_industries: strings(&["developer_tools", "devtools", "fintech", "cybersecurity"]),
            other_industry_points: 0.10,
            founded_from_year: 2022,
            young_company_points: 0.05,
            size: table(&[(Some(20.0), Some(100.0), 0.05)], 0.0),
            title_words: strings(&["head of", "vp", "principal", "staff"]),
            title_points: 0.05,
        }
    }
}

/// The reference lists (`reference-lists.toml`): names and slugs the rules
/// match against. Names match case-insensitively as whole words.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Lists {
    pub investors: InvestorLists,
    pub companies: CompanyLists,
    pub locations: LocationLists,
    pub role_types: RoleTypeLists,
    #[serde(default)]
    pub display: DisplayLists,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InvestorLists {
    pub tier1: Vec<String>,
    pub tier2: Vec<String>,
    pub angels: Vec<String>,
    /// Other names of one investor ("andreessen horowitz" = ["a16z"]): a
    /// model's claim is found in the text when any of them is.
    #[serde(default)]
    pub aliases: std::collections::BTreeMap<String, Vec<String>>,
}

impl InvestorLists {
    /// The other names `name` goes by (compared case-insensitively).
    pub fn aliases_of(&self, name: &str) -> Vec<&str> {
        let name = name.trim().to_lowercase();
        let mut found: Vec<&str> = Vec::new();
        for (canonical, others) in &self.aliases {
            let group =
                std::iter::once(canonical.as_str()).chain(others.iter().map(String::as_str));
            if group.clone().any(|n| n.eq_ignore_ascii_case(&name)) {
                found.extend(group.filter(|n| !n.eq_ignore_ascii_case(&name)));
            }
        }
        found
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompanyLists {
    pub hot: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocationLists {
    pub nyc_metro: Vec<String>,
    pub london: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleTypeLists {
    pub core: Vec<String>,
    pub secondary: Vec<String>,
    pub mobile: Vec<String>,
}

/// Short labels for the site and the digest.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DisplayLists {
    pub locations: BTreeMap<String, String>,
    pub role_types: BTreeMap<String, String>,
    pub stages: BTreeMap<String, String>,
}

impl Lists {
    pub fn defaults() -> Lists {
        // The shipped file is checked by a unit test; it cannot fail here.
        toml::from_str(DEFAULT_LISTS_TOML)
            .unwrap_or_else(|err| panic!("built-in reference lists: {err}"))
    }

    /// Parses a lists file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> anyhow::Result<Lists> {
        toml::from_str(text).map_err(|err| crate::toml_error::describe(origin, text, &err))
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lists_parse() {
        let lists =
            Lists::parse(DEFAULT_LISTS_TOML, Path::new("data/reference-lists.toml")).unwrap();
        assert!(lists.investors.tier1.contains(&"sequoia".to_string()));
        assert_eq!(lists.display.locations["new_york"], "New York");
    }

    #[test]
    fn a_typo_in_a_lists_file_names_file_and_key() {
        let text = DEFAULT_LISTS_TOML.replace("[companies]\nhot", "[companies]\nhott");
        let err = Lists::parse(&text, Path::new("my-lists.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("my-lists.toml line"), "{err}");
        assert!(err.contains("hott"), "{err}");
    }

    #[test]
    fn tables_pick_the_first_matching_band() {
        let tables = ScoreTables::default();
        assert_eq!(tables.compensation.value(300_000.0), 1.0);
        assert_eq!(tables.compensation.value(299_999.0), 0.85);
        assert_eq!(tables.compensation.value(200_000.0), 0.6);
        assert_eq!(tables.compensation.value(199_999.0), 0.4);
        assert_eq!(tables.compensation.value(0.0), 0.3);
        assert_eq!(tables.recruiters.value(0.0), 1.0);
        assert_eq!(tables.recruiters.value(2.0), 0.8);
        assert_eq!(tables.recruiters.value(11.0), 0.2);
        assert_eq!(tables.pipeline.value(0.0), 0.7);
        assert_eq!(tables.pipeline.value(5.0), 1.0);
        assert_eq!(tables.pipeline.value(10.0), 0.7);
        assert_eq!(tables.pipeline.value(11.0), 0.6);
        assert_eq!(tables.company_size.value(150.0), 0.8);
        assert_eq!(tables.company_size.value(9.0), 0.6);
    }
}
