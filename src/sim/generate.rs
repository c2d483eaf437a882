//! Synthetic companies, roles and role details, generated deterministically from a seed.
//!
//! Every role is built from a `Plan`: the qualification tier (or the single
//! reason to skip it) that the role is meant to exercise under the default
//! rules of SCORING.md. Company-level quality signals are fixed per company,
//! so a role's own signals (rating, responsiveness, stages, badges) are chosen
//! to land its total where the plan wants it.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

/// What a generated role is meant to exercise under the default rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    Qualified,
    Maybe,
    /// `locations: []`, not remote, otherwise passing. `resolvable` roles name
    /// New York or London somewhere in their detail HTML.
    LocationUncertain {
        resolvable: bool,
    },
    Skip(SkipReason),
}

/// The single hard filter (or the lack of signals) that makes a role SKIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipReason {
    NotActive,
    NotAcceptingRecruiters,
    SanFranciscoOnly,
    SecondaryTypesOnly,
    MobileType,
    SalaryTooLow,
    SalaryJustBelow,
    SalaryMissing,
    FeeTooLow,
    FeeMissing,
    NoSignals,
}

const SKIP_REASONS: [SkipReason; 11] = [
    SkipReason::NotActive,
    SkipReason::NotAcceptingRecruiters,
    SkipReason::SanFranciscoOnly,
    SkipReason::SecondaryTypesOnly,
    SkipReason::MobileType,
    SkipReason::SalaryTooLow,
    SkipReason::SalaryJustBelow,
    SkipReason::FeeTooLow,
    SkipReason::FeeMissing,
    SkipReason::NoSignals,
    SkipReason::SalaryMissing,
];

/// A small splitmix64 generator: deterministic, seedable, good enough for fixtures.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// A generator for one purpose (a round, a role's detail) that does not
    /// disturb the sequence of any other.
    pub(crate) fn derived(seed: u64, salt: u64) -> Rng {
        let mut mixer = Rng::new(seed ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng::new(mixer.next_u64())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % ((hi - lo) as u64 + 1)) as i64
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One item of a non-empty constant table.
    pub(crate) fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// A number with one decimal in `lo..=hi`.
    pub(crate) fn tenths(&mut self, lo: f64, hi: f64) -> f64 {
        self.between((lo * 10.0).round() as i64, (hi * 10.0).round() as i64) as f64 / 10.0
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `count` distinct items of a table, in table order shuffled.
    pub(crate) fn sample<T: Clone>(&mut self, items: &[T], count: usize) -> Vec<T> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        self.shuffle(&mut order);
        order
            .into_iter()
            .take(count)
            .map(|i| items[i].clone())
            .collect()
    }
}

/// Paraform's timestamp format: RFC 3339, milliseconds, `Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A role id in Paraform's cuid-like style, marked as simulated.
pub(crate) fn role_id(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut id = String::from("clsim");
    for _ in 0..20 {
        id.push(ALPHABET[rng.below(ALPHABET.len())] as char);
    }
    id
}

/// Deterministic plans for `count` roles in roughly the proportions the
/// brief asks for: 35% QUALIFIED, 15% MAYBE, 10% LOCATION_UNCERTAIN, the rest
/// SKIP cycling through every reason. Each plan comes with its ordinal among
/// plans of the same kind, which pins boundary values onto the first few.
pub(crate) fn plans(count: usize, rng: &mut Rng) -> Vec<(Plan, usize)> {
    let share = |percent: usize| (count * percent + 50) / 100;
    let mut qualified = share(35);
    let mut maybe = share(15);
    let mut uncertain = share(10);
    // Small markets still show every tier.
    if count >= 4 {
        qualified = qualified.max(1);
        maybe = maybe.max(1);
        uncertain = uncertain.max(1);
    }
    let mut plans = Vec::with_capacity(count);
    for ordinal in 0..count {
        let plan = if ordinal < qualified {
            (Plan::Qualified, ordinal)
        } else if ordinal < qualified + maybe {
            (Plan::Maybe, ordinal - qualified)
        } else if ordinal < qualified + maybe + uncertain {
            let n = ordinal - qualified - maybe;
            (
                Plan::LocationUncertain {
                    resolvable: n.is_multiple_of(2),
                },
                n,
            )
        } else {
            let n = ordinal - qualified - maybe - uncertain;
            (
                Plan::Skip(SKIP_REASONS[n % SKIP_REASONS.len()]),
                n / SKIP_REASONS.len(),
            )
        };
        plans.push(plan);
    }
    rng.shuffle(&mut plans);
    plans
}

/// A plan drawn at random in the same proportions, for roles that appear later.
pub(crate) fn random_plan(rng: &mut Rng) -> Plan {
    let roll = rng.below(100);
    match roll {
        0..35 => Plan::Qualified,
        35..50 => Plan::Maybe,
        50..60 => Plan::LocationUncertain {
            resolvable: rng.chance(50),
        },
        _ => Plan::Skip(rng.pick(&SKIP_REASONS)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Three or four company-level quality signals.
    Strong,
    /// One or two.
    Middling,
    /// None.
    Weak,
}

/// A synthetic company; its roles embed it as `company`.
#[derive(Debug, Clone)]
pub(crate) struct Company {
    name: String,
    slug: String,
    industries: Vec<&'static str>,
    size: Option<i64>,
    funding: &'static str,
    founding_year: i64,
    one_liner: &'static str,
    last_round: Option<&'static str>,
    investors: Vec<String>,
    owner: usize,
    profile: Profile,
    /// How many of SCORING.md's company-level signals (tier-1 investor,
    /// funding > $5M, stage, size) this company carries.
    signals: usize,
}

const NAME_STARTS: &[&str] = &[
    "North", "Lumen", "Vector", "Quill", "Harbor", "Atlas", "Ember", "Cobalt", "Juniper", "Tessel",
    "Orbit", "Prism", "Granite", "Kite", "Meadow", "Signal", "Helio", "Fathom", "Nimbus", "Copper",
    "Basalt", "Lattice", "Tandem", "Wren", "Pylon",
];
const NAME_ENDS: &[&str] = &[
    "Labs", "AI", "Works", "Systems", "Robotics", "Health", "Pay", "Data", "Bio", "Grid", "Stack",
    "Cloud", "Forge", "Logic", "Dynamics",
];
const NAME_SUFFIXES: &[&str] = &["stack", "grid", "forge", "works", "loop", "base", "ly"];
/// Names from the hot list, so the excitement rule fires for some roles.
const HOT_COMPANIES: [(usize, &str); 2] = [(0, "Linear"), (10, "Supabase")];
const COMPANY_COUNT: usize = 25;

const PRODUCTS: &[(&str, &[&str])] = &[
    (
        "Observability for AI agents in production.",
        &["ai", "devtools"],
    ),
    ("Payroll infrastructure for global teams.", &["fintech"]),
    (
        "Autonomous inspection robots for warehouses.",
        &["robotics", "logistics"],
    ),
    (
        "A ledger database for high-volume payments.",
        &["fintech", "developer_tools"],
    ),
    ("Threat detection for cloud workloads.", &["cybersecurity"]),
    (
        "Clinical documentation that writes itself.",
        &["healthcare", "artificial_intelligence"],
    ),
    (
        "Battery analytics for grid-scale storage.",
        &["climate", "energy"],
    ),
    (
        "The issue tracker built for speed.",
        &["developer_tools", "productivity"],
    ),
    (
        "Underwriting models for small-business lending.",
        &["fintech", "machine_learning"],
    ),
    (
        "Firmware for next-generation satellites.",
        &["aerospace", "hardware"],
    ),
    (
        "Postgres development platform.",
        &["developer_tools", "databases"],
    ),
    (
        "Procurement software for mid-market manufacturers.",
        &["enterprise_software"],
    ),
    (
        "Fraud prevention for online marketplaces.",
        &["fintech", "ai"],
    ),
    (
        "Lab automation for protein design.",
        &["biotech", "machine_learning"],
    ),
    (
        "Checkout and loyalty for independent retailers.",
        &["ecommerce"],
    ),
    (
        "Secure access for contractors and vendors.",
        &["cybersecurity", "enterprise_software"],
    ),
];

const TIER1_NAMES: &[&str] = &[
    "Sequoia Capital",
    "Andreessen Horowitz",
    "a16z",
    "Benchmark",
    "Y Combinator",
    "Accel",
    "Founders Fund",
    "Index Ventures",
    "GV",
    "Khosla Ventures",
    "Thrive Capital",
    "Greylock Partners",
    "Lightspeed Venture Partners",
    "General Catalyst",
    "Kleiner Perkins",
    "Redpoint Ventures",
];
/// Tier-2 funds, angels, and names no list contains.
const OTHER_INVESTORS: &[&str] = &[
    "Spark Capital",
    "Felicis",
    "Lux Capital",
    "8VC",
    "Ribbit Capital",
    "First Round Capital",
    "Initialized Capital",
    "NFX",
    "Elad Gil",
    "Nat Friedman",
    "Daniel Gross",
    "Lachy Groom",
    "Gokul Rajaram",
    "Dylan Field",
    "Harborline Ventures",
    "Mistral Peak Capital",
    "Two Rivers Angels",
    "Oakmont Syndicate",
    "Northgate Family Office",
    "An Angel Investor",
];
/// Names that a raw substring match would wrongly count as tier-1
/// ("nea", "gv"); SCORING.md's whole-word rule must not.
const LOOKALIKE_INVESTORS: [&str; 2] = ["Neal Arthur Partners", "Agave Capital"];

const STRONG_FUNDING: &[&str] = &[
    "$16.25M",
    "$31.5M",
    "$8M",
    "$120M",
    "$1.2B",
    "100M",
    "12,000,000",
    "$45M",
    "$62.5M",
    "$210M",
    "$9.75M",
];
/// Amounts that are not above $5M, including the boundary and unparseable text.
const WEAK_FUNDING: &[&str] = &[
    "$750K",
    "$5M",
    "$2.1M",
    "Undisclosed",
    "",
    "$400K",
    "3,500,000",
];
const STRONG_ROUNDS: &[&str] = &[
    "SEED", "SERIES_A", "SERIES_A", "SERIES_B", "SERIES_B", "SERIES_C", "SERIES_D", "SERIES_E",
];
const WEAK_ROUNDS: &[Option<&str>] = &[Some("PRE_SEED"), Some("POST_IPO_EQUITY"), None];
const WEAK_SIZES: &[Option<i64>] = &[Some(4), Some(7), Some(1200), Some(3500), None];

const OWNERS: [(&str, &str); 3] = [
    ("clsimowner0000000001", "Avery Kim"),
    ("clsimowner0000000002", "Jordan Blake"),
    ("clsimowner0000000003", "Sam Okafor"),
];

/// The fixed cast of companies for a seed.
pub(crate) fn companies(rng: &mut Rng) -> Vec<Company> {
    let mut names: Vec<String> = Vec::with_capacity(COMPANY_COUNT);
    let mut out = Vec::with_capacity(COMPANY_COUNT);
    for index in 0..COMPANY_COUNT {
        let profile = match index % 5 {
            1 => Profile::Middling,
            3 => Profile::Weak,
            _ => Profile::Strong,
        };
        let name = match HOT_COMPANIES.iter().find(|(at, _)| *at == index) {
            Some((_, hot)) => hot.to_string(),
            None => invent_name(rng, &names),
        };
        names.push(name.clone());

        // Which of the four company signals this company carries.
        let mut flags = [false; 4];
        let on = match profile {
            Profile::Strong if HOT_COMPANIES.iter().any(|(at, _)| *at == index) => 4,
            Profile::Strong => rng.between(3, 4) as usize,
            Profile::Middling => rng.between(1, 2) as usize,
            Profile::Weak => 0,
        };
        let mut order = [0usize, 1, 2, 3];
        rng.shuffle(&mut order);
        for &flag in order.iter().take(on) {
            flags[flag] = true;
        }
        let [tier1, funded, staged, sized] = flags;

        let mut investors: Vec<String> = Vec::new();
        if tier1 {
            let count = rng.between(1, 3) as usize;
            investors.extend(rng.sample(TIER1_NAMES, count).into_iter().map(String::from));
        }
        let others = rng.between(0, 2) as usize;
        investors.extend(
            rng.sample(OTHER_INVESTORS, others)
                .into_iter()
                .map(String::from),
        );
        if profile != Profile::Strong {
            // Alternating by fifths gives both names to weak and middling companies.
            investors.push(LOOKALIKE_INVESTORS[index / 5 % 2].to_string());
        }
        // Pinned names so every seed shows them: "Sequoia Capital China" is
        // tier-1 by whole words; "Sequoia" plus "Elad Gil" gives the detail
        // text "Backed by Sequoia and Elad Gil".
        if index == 2 {
            investors = vec!["Sequoia Capital China".into(), "Lux Capital".into()];
            flags[0] = true;
        }
        if index == 4 {
            investors = vec!["Sequoia".into(), "Elad Gil".into()];
            flags[0] = true;
        }
        if index == 18 {
            // A company with no investors at all.
            investors.clear();
        }
        let tier1 = flags[0];
        investors.dedup();

        let (one_liner, industries) = match name.as_str() {
            "Linear" => PRODUCTS[7],
            "Supabase" => PRODUCTS[10],
            _ => rng.pick(PRODUCTS),
        };
        let size = if sized {
            Some(rng.between(12, 480))
        } else {
            rng.pick(WEAK_SIZES)
        };
        let slug = name.to_lowercase().replace(' ', "-");
        out.push(Company {
            slug,
            name,
            industries: industries.to_vec(),
            size,
            funding: if funded {
                rng.pick(STRONG_FUNDING)
            } else {
                rng.pick(WEAK_FUNDING)
            },
            founding_year: rng.between(2012, 2024),
            one_liner,
            last_round: if staged {
                Some(rng.pick(STRONG_ROUNDS))
            } else {
                rng.pick(WEAK_ROUNDS)
            },
            investors,
            owner: index % OWNERS.len(),
            profile,
            signals: [tier1, funded, staged, sized]
                .iter()
                .filter(|on| **on)
                .count(),
        });
    }
    out
}

fn invent_name(rng: &mut Rng, taken: &[String]) -> String {
    loop {
        let start = rng.pick(NAME_STARTS);
        // Some companies write their name as one word.
        let name = if rng.chance(30) {
            format!("{start}{}", rng.pick(NAME_SUFFIXES))
        } else {
            format!("{start} {}", rng.pick(NAME_ENDS))
        };
        if !taken.contains(&name) {
            return name;
        }
    }
}

fn owner_json(owner: usize) -> Value {
    let (id, name) = OWNERS[owner % OWNERS.len()];
    json!({"id": id, "name": name, "image": null})
}

fn company_json(company: &Company) -> Value {
    json!({
        "name": company.name,
        "logoUrl": format!("https://cdn.sim.invalid/logo/{}.png", company.slug),
        "industries": company.industries,
        "size": company.size,
        "fundingAmount": company.funding,
        "foundingYear": company.founding_year,
        "websiteUrl": format!("https://{}.example", company.slug),
        "oneLiner": company.one_liner,
        "company_metadata": {
            "paraform_owner": owner_json(company.owner),
            "last_funding_round": company.last_round,
        },
        "team_image_url": null,
    })
}

const CORE_TITLES: &[(&str, &[&str])] = &[
    ("Senior Backend Engineer", &["backend_engineer"]),
    (
        "Staff Software Engineer",
        &["backend_engineer", "full_stack_engineer"],
    ),
    ("Founding Engineer", &["full_stack_engineer"]),
    (
        "Full Stack Engineer",
        &["full_stack_engineer", "frontend_engineer"],
    ),
    ("Senior Full Stack Engineer", &["full_stack_engineer"]),
    (
        "Lead Platform Engineer",
        &["backend_engineer", "infrastructure_devops_sre"],
    ),
    ("Principal Engineer", &["backend_engineer"]),
    (
        "Head of Engineering",
        &["full_stack_engineer", "backend_engineer"],
    ),
    ("Software Engineer, Payments", &["backend_engineer"]),
    (
        "Embedded Firmware Engineer",
        &["embedded_firmware_engineer"],
    ),
    ("Senior Electrical Engineer", &["electrical_engineer"]),
    ("Mechanical Engineer", &["mechanical_engineer"]),
    (
        "Forward Deployed Engineer",
        &["forward_deployed_engineer_solutions_support"],
    ),
    (
        "Senior Data Platform Engineer",
        &["backend_engineer", "data_engineer"],
    ),
    (
        "Backend Engineer, AI Infrastructure",
        &["backend_engineer", "ml_engineer"],
    ),
    ("VP of Engineering", &["full_stack_engineer"]),
];
const SECONDARY_TITLES: &[(&str, &[&str])] = &[
    ("Senior Frontend Engineer", &["frontend_engineer"]),
    ("Site Reliability Engineer", &["infrastructure_devops_sre"]),
    ("Data Engineer", &["data_engineer"]),
    (
        "Security Engineer",
        &["security_engineer", "infrastructure_devops_sre"],
    ),
];
/// Mobile roles also carry a core type, so the mobile rule is their only failure.
const MOBILE_TITLES: &[(&str, &[&str])] = &[
    (
        "Senior iOS Engineer",
        &["ios_engineer", "full_stack_engineer"],
    ),
    (
        "Android Engineer",
        &["android_engineer", "backend_engineer"],
    ),
    (
        "Mobile Engineer (React Native)",
        &["mobile_engineer", "full_stack_engineer"],
    ),
];
/// Locations that pass the location rule, with the workplace they come with.
const PASSING_PLACES: &[(&[&str], &str)] = &[
    (&["new_york"], "Hybrid"),
    (&["new_york"], "On-site"),
    (&["london"], "Hybrid"),
    (&["new_york", "san_francisco"], "Hybrid"),
    (&["brooklyn"], "On-site"),
    (&["jersey_city", "new_york"], "Hybrid"),
    (&["london", "new_york"], "Hybrid"),
    (&["united_kingdom"], "Hybrid"),
    (&["new_york", "london", "san_francisco"], "Hybrid"),
    (&["seattle", "new_york"], "On-site"),
    (&[], "Remote"),
    (&["san_francisco"], "Remote"),
    (&["new_york", "austin"], "Remote"),
];
const SF_PLACES: &[(&[&str], &str)] = &[
    (&["san_francisco"], "Hybrid"),
    (&["san_francisco", "south_bay_area"], "On-site"),
    (&["san_francisco"], "On-site"),
];
const TECH: &[&str] = &[
    "python",
    "go",
    "rust",
    "typescript",
    "react",
    "next",
    "graphql",
    "kubernetes",
    "postgresql",
    "aws",
    "terraform",
    "java",
    "kotlin",
    "ruby",
    "rails",
    "c++",
    "scala",
    "kafka",
    "redis",
    "gcp",
    "docker",
    "elixir",
];
const UPPER_SALARIES: &[i64] = &[
    200_000, 210_000, 225_000, 240_000, 260_000, 275_000, 300_000, 320_000, 350_000, 400_000,
];
const PASSING_FEES: &[f64] = &[14.0, 15.0, 16.0, 17.5, 18.0, 20.0, 22.0, 25.0];
const LOW_FEES: &[f64] = &[13.99, 10.0, 12.5, 8.0];
const HIGHLIGHTS: &[&str] = &[
    "NO_FINAL_ROUNDS",
    "HIRING_MULTIPLE",
    "TRUSTED_CLIENT",
    "RESPONSIVE",
    "ROLE_BONUS",
];
const YEARS: &[(i64, i64)] = &[(2, 5), (3, 6), (4, 8), (5, 10), (7, 12)];
const EQUITY: &[Option<&str>] = &[
    Some("0.1% - 0.3%"),
    Some("0.05% - 0.15%"),
    Some("0.5% - 1.0%"),
    Some("0.25% - 0.5%"),
    None,
];

/// Where a role's detail text places it, for roles whose `locations` say nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocationHint {
    /// Nothing beyond what `locations` says.
    None,
    /// Name a city in `companyTip`.
    InCompanyTip(&'static str),
    /// Name a city in `description`.
    InDescription(&'static str),
}

/// A generated role and what its detail payload should say.
pub(crate) struct Generated {
    pub(crate) role: Value,
    pub(crate) hint: LocationHint,
}

/// Picks the company for a plan: MAYBE roles need a company with at most two
/// signals of its own, signal-less SKIP roles a company with none.
pub(crate) fn company_for<'a>(
    plan: Plan,
    ordinal: usize,
    companies: &'a [Company],
    rng: &mut Rng,
) -> &'a Company {
    // The first qualified roles go to the hot companies (so the excitement
    // rule fires) and to those backed by "Sequoia Capital China" and by
    // "Sequoia" and "Elad Gil", so every seed shows these names.
    if plan == Plan::Qualified
        && let Some(at) = [HOT_COMPANIES[0].0, HOT_COMPANIES[1].0, 2, 4].get(ordinal)
        && let Some(company) = companies.get(*at)
    {
        return company;
    }
    let fits = |company: &&Company| match plan {
        Plan::Maybe => company.profile != Profile::Strong,
        Plan::Skip(SkipReason::NoSignals) => company.profile == Profile::Weak,
        _ => true,
    };
    // The first signal-less role sits at a company backed by "Neal Arthur
    // Partners", so counting it as NEA would visibly change the role's tier.
    let preferred = |company: &&Company| {
        fits(company)
            && (plan != Plan::Skip(SkipReason::NoSignals)
                || ordinal > 0
                || company
                    .investors
                    .iter()
                    .any(|i| i == LOOKALIKE_INVESTORS[0]))
    };
    let mut fitting: Vec<&Company> = companies.iter().filter(preferred).collect();
    if fitting.is_empty() {
        fitting = companies.iter().filter(fits).collect();
    }
    if fitting.is_empty() {
        return &companies[rng.below(companies.len())];
    }
    fitting[rng.below(fitting.len())]
}

/// Builds one role. `ordinal` counts earlier roles of the same plan: the first
/// few carry the exact boundary values (salary 200000, fee 14).
pub(crate) fn role(
    plan: Plan,
    ordinal: usize,
    company: &Company,
    id: String,
    posted_at: DateTime<Utc>,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> Generated {
    let reason = match plan {
        Plan::Skip(reason) => Some(reason),
        _ => None,
    };

    let (title, role_types) = match reason {
        Some(SkipReason::SecondaryTypesOnly) => rng.pick(SECONDARY_TITLES),
        Some(SkipReason::MobileType) => rng.pick(MOBILE_TITLES),
        _ => rng.pick(CORE_TITLES),
    };
    let (locations, workplace): (&[&str], &str) = match (plan, reason) {
        (Plan::LocationUncertain { .. }, _) => (&[], rng.pick(&["Hybrid", "On-site"])),
        (_, Some(SkipReason::SanFranciscoOnly)) => rng.pick(SF_PLACES),
        _ => rng.pick(PASSING_PLACES),
    };
    let hint = match plan {
        Plan::LocationUncertain { resolvable: true } => {
            let city = ["New York", "NYC", "London"][ordinal / 2 % 3];
            if (ordinal / 2).is_multiple_of(2) {
                LocationHint::InCompanyTip(city)
            } else {
                LocationHint::InDescription(city)
            }
        }
        _ => LocationHint::None,
    };

    let upper = match reason {
        Some(SkipReason::SalaryTooLow) => Some(180_000),
        Some(SkipReason::SalaryJustBelow) => Some(199_999),
        Some(SkipReason::SalaryMissing) => None,
        _ if ordinal == 0 && matches!(plan, Plan::Qualified | Plan::Maybe) => Some(200_000),
        _ => Some(rng.pick(UPPER_SALARIES)),
    };
    let salary = upper.map(|upper| {
        let spread = rng.pick(&[30_000, 40_000, 50_000, 60_000, 80_000]);
        ((upper - spread).max(120_000), upper)
    });
    let fee = match reason {
        Some(SkipReason::FeeTooLow) => Fee::Percent(LOW_FEES[ordinal % LOW_FEES.len()]),
        Some(SkipReason::FeeMissing) if ordinal.is_multiple_of(2) => Fee::Null,
        Some(SkipReason::FeeMissing) => Fee::Absent,
        _ if ordinal == 1 && matches!(plan, Plan::Qualified | Plan::Maybe) => Fee::Percent(14.0),
        _ => Fee::Percent(rng.pick(PASSING_FEES)),
    };

    // The role's own quality signals, aimed at the plan's tier.
    let company_signals = company.signals;
    let own_signals = match plan {
        Plan::Qualified => rng.between(3_i64.saturating_sub(company_signals as i64).max(0), 4),
        Plan::Maybe => {
            let low = 1_i64.saturating_sub(company_signals as i64).max(0);
            let high = 2_i64.saturating_sub(company_signals as i64).max(0);
            rng.between(low, high)
        }
        Plan::Skip(SkipReason::NoSignals) => 0,
        _ => rng.between(0, 4),
    } as usize;
    let mut which = [0usize, 1, 2, 3];
    rng.shuffle(&mut which);
    let on = |signal: usize| which.iter().take(own_signals).any(|w| *w == signal);

    let hiring_count = rng.between(1, 5);
    let manager_rating = if on(0) {
        Some(rng.tenths(4.0, 5.0))
    } else if rng.chance(25) {
        None
    } else {
        Some(rng.tenths(2.5, 3.9))
    };
    let responsiveness = if on(1) {
        Some(rng.tenths(0.3, 2.9))
    } else if rng.chance(25) {
        None
    } else {
        Some(rng.tenths(3.0, 6.0))
    };
    let stages = if on(2) {
        Some(rng.between(2, 6))
    } else {
        rng.pick(&[None, Some(0), Some(7), Some(8)])
    };
    let highlights: Vec<&str> = if on(3) {
        let usable: Vec<&str> = HIGHLIGHTS
            .iter()
            .copied()
            .filter(|h| *h != "HIRING_MULTIPLE" || hiring_count > 1)
            .collect();
        let count = rng.between(1, 3) as usize;
        rng.sample(&usable, count)
    } else {
        Vec::new()
    };

    let status = match reason {
        Some(SkipReason::NotActive) => rng.pick(&["PAUSED", "CLOSED"]),
        _ => "ACTIVE",
    };
    let not_accepting = reason == Some(SkipReason::NotAcceptingRecruiters);
    let tech_count = rng.between(2, 6) as usize;
    let tech_stack = rng.sample(TECH, tech_count);
    let (yoe_min, yoe_max) = rng.pick(YEARS);
    let created_at = posted_at - Duration::minutes(rng.between(1, 4 * 24 * 60));
    let recruiter_last_active = now - Duration::seconds(rng.between(0, 72 * 3600));
    let manager_last_active = now - Duration::seconds(rng.between(0, 10 * 24 * 3600));
    let total_interviewing = rng.pick(&[0, 0, 1, 2, 3, 4, 5, 7, 9, 12]);
    let total_hired = rng.pick(&[0, 0, 0, 1, 1, 2, 3]);

    let mut role = json!({
        "id": id,
        "name": title,
        "createdAt": timestamp(created_at),
        "status": status,
        "paraform_owner": owner_json(company.owner),
        "company": company_json(company),
        "role_settings": {
            "max_pending_submissions": rng.pick(&[5, 10, 15, 20]),
            "first_submission_reward_enabled": false,
            "role_timer_enabled": false,
            "first_submission_reward_amount": 800,
        },
        "role_boost": null,
        "role_metadata": {
            "ai_role_titles": ai_titles(title),
            "highlights": highlights,
            "posted_at": timestamp(posted_at),
        },
        "role_timer": false,
        "is_posted_recently": now - posted_at < Duration::days(3),
        "priority": rng.between(1, 100),
        // Paraform sends 0 for a rating or a stage count that is not set.
        "manager_rating": manager_rating.unwrap_or(0.0),
        "hiring_count": hiring_count,
        "hiring_count_max": 0,
        "tech_stack": tech_stack,
        "locations": locations,
        "role_types": role_types,
        "investors": company.investors,
        "workplace_type": workplace,
    });
    // Several literals: one would exceed `json!`'s macro recursion limit.
    let rest = json!({
        "currencyType": "USD",
        "equity": rng.pick(EQUITY),
        "bounty": 0,
        "retainer": false,
        "weekly_retainer": false,
        "feature_flags": {"weekly_checkin": rng.chance(50)},
        "yoe_string": format!("{yoe_min} - {yoe_max} years"),
        "yoe_min": yoe_min.to_string(),
        "yoe_max": yoe_max.to_string(),
        "yoe_experience": format!("{yoe_min}-{yoe_max}"),
        "hiring_count_text": hiring_count.to_string(),
        "bonus_string": if highlights.contains(&"ROLE_BONUS") { "bonus" } else { "" },
        "team_size": company.size,
        "funding": company.funding,
        "founding_year": company.founding_year,
        "website": format!("https://{}.example", company.slug),
        "visa_text": rng.pick(&["Not available", "Available", "Case by case"]),
        "one_liner": company.one_liner,
    });
    let tail = json!({
        "interview_stages": stages.unwrap_or(0),
        "experience_count": rng.between(0, 40),
        "submitted": 0,
        "total_interviewing": total_interviewing,
        "total_hired": total_hired,
        "interviewing": 0,
        "hired": 0,
        "applied_for_role": false,
        "not_accepting_recruiters": not_accepting,
        "user_status": null,
        "user_role_approval": null,
        "user_request_date": null,
        "withdraw_allowed": false,
        "is_invite": false,
        "invite_message": null,
        "invited_at": null,
        "allow_custom_rate": false,
        "favourite": false,
        "recruiter_note": "",
        "recruiter_last_active": timestamp(recruiter_last_active),
        "manager_last_active": timestamp(manager_last_active),
        "posted_at": timestamp(posted_at),
        "max_capacity": false,
        "first_submission_reward": false,
        "responsiveness_days": responsiveness,
        "approved_recruiters_count": rng.pick(&[0, 0, 1, 2, 3, 4, 6, 8, 11, 15]),
        "hide_from_recruiters": false,
    });
    for part in [rest, tail] {
        if let (Some(fields), Value::Object(part)) = (role.as_object_mut(), part) {
            fields.extend(part);
        }
    }
    set_salary(&mut role, salary);
    set_fee(&mut role, fee);
    Generated { role, hint }
}

fn ai_titles(title: &str) -> Vec<String> {
    let mut titles = vec![title.to_string()];
    if title.starts_with("Senior ") {
        titles.push(title.replacen("Senior ", "Staff ", 1));
    } else {
        titles.push(format!("Senior {title}"));
    }
    titles.push("Software Engineer".to_string());
    titles
}

/// A recruiter fee as the listing may carry it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fee {
    Percent(f64),
    Null,
    Absent,
}

/// Sets the salary bounds and the text fields derived from them.
pub(crate) fn set_salary(role: &mut Value, salary: Option<(i64, i64)>) {
    let Some(fields) = role.as_object_mut() else {
        return;
    };
    match salary {
        Some((lower, upper)) => {
            fields.insert("salaryLowerBound".into(), json!(lower));
            fields.insert("salaryUpperBound".into(), json!(upper));
            fields.insert("salary_number".into(), json!(lower));
            fields.insert(
                "salary_string".into(),
                json!(format!("{} - {}", money(lower), money(upper))),
            );
        }
        None => {
            fields.insert("salaryLowerBound".into(), Value::Null);
            fields.insert("salaryUpperBound".into(), Value::Null);
            fields.insert("salary_number".into(), Value::Null);
            fields.insert("salary_string".into(), json!("Competitive"));
        }
    }
    refresh_bounty(role);
}

/// Sets the fee and the text fields derived from it.
pub(crate) fn set_fee(role: &mut Value, fee: Fee) {
    let Some(fields) = role.as_object_mut() else {
        return;
    };
    match fee {
        Fee::Percent(percent) => {
            fields.insert("percent_fee".into(), json!(percent));
        }
        Fee::Null => {
            fields.insert("percent_fee".into(), Value::Null);
        }
        Fee::Absent => {
            fields.remove("percent_fee");
        }
    }
    refresh_bounty(role);
}

fn refresh_bounty(role: &mut Value) {
    let fee = role.get("percent_fee").and_then(Value::as_f64);
    let upper = role.get("salaryUpperBound").and_then(Value::as_i64);
    let Some(fields) = role.as_object_mut() else {
        return;
    };
    match fee {
        Some(fee) => {
            fields.insert(
                "bounty_string".into(),
                json!(format!("{}% first year", trim_number(fee))),
            );
            let base = upper.map_or(0, |upper| (upper as f64 * fee / 100.0).round() as i64);
            fields.insert("base_bounty".into(), json!(base));
        }
        None => {
            fields.insert("bounty_string".into(), json!(""));
            fields.insert("base_bounty".into(), json!(0));
        }
    }
}

/// "17.5", "14", "13.99".
fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// "$200K" for round thousands, "$199,999" otherwise.
pub(crate) fn money(amount: i64) -> String {
    if amount % 1000 == 0 {
        return format!("${}K", amount / 1000);
    }
    let digits = amount.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("${grouped}")
}

/// Invisible and control characters that reorder, hide or colour text
/// ("Trojan Source" bidi overrides and isolates, a zero-width space, an ANSI
/// escape, BEL and NUL): none may reach a published file.
pub(crate) const HIDDEN_TEXT: &str =
    "\u{202e}\u{200b}\u{2066}\u{2067}\u{2068}\u{2069}\u{1b}[31m\u{7}\u{0}";

/// [`HIDDEN_TEXT`] without NUL, for the fields that become database columns
/// (SQLite's text functions stop at a NUL).
const HIDDEN_COLUMN_TEXT: &str = "\u{202e}\u{200b}\u{2066}\u{2069}\u{1b}[31m\u{7}";

/// Makes a role carry hostile scraped text of one of three kinds while
/// keeping it valid (and its tier: only text after the words the rules read
/// is added); its detail gets hostile HTML through `detail(.., true)`.
pub(crate) fn make_hostile(role: &mut Value, kind: usize) {
    match kind % 3 {
        0 => {
            role["name"] = json!(format!(
                "Staff Engineer <script>alert('title')</script>{HIDDEN_COLUMN_TEXT}"
            ));
            role["yoe_string"] = json!(format!("5+ years{HIDDEN_TEXT}"));
        }
        1 => {
            let name = role["company"]["name"]
                .as_str()
                .unwrap_or("Company")
                .to_string();
            role["company"]["name"] = json!(format!(
                "{name} <img src=x onerror=alert(1)>{HIDDEN_COLUMN_TEXT}"
            ));
            role["company"]["oneLiner"] = json!(format!("Ledgers{HIDDEN_TEXT} for banks"));
        }
        _ => {
            role["salary_string"] = json!(format!(
                "$200K - $260K\"><svg/onload=alert('salary')>'; DROP TABLE roles;--{HIDDEN_TEXT}"
            ));
            role["equity"] = json!(format!("0.1%{HIDDEN_TEXT}"));
        }
    }
}

const FOUNDER_LINES: &[&str] = &[
    "founders previously built payments infrastructure at a public fintech",
    "the CTO led the platform team at a large marketplace",
    "second-time founders with one exit",
    "founded by former research engineers",
    "the founding team shipped the first version in six weeks",
];
const SELLING_POINTS: &[&str] = &[
    "Customers include three public companies",
    "Fast process: offer within 2 weeks",
    "Revenue tripled last year",
    "Small team, large scope",
    "Generous equity for early hires",
    "Engineers talk to customers every week",
];
const REQUIREMENTS: &[(&str, &str, &str)] = &[
    (
        "5+ years building backend services",
        "MUST_HAVE",
        "experience",
    ),
    ("Go or Python in production", "NICE_TO_HAVE", "skills"),
    (
        "Experience owning a system end to end",
        "MUST_HAVE",
        "experience",
    ),
    ("TypeScript and React", "NICE_TO_HAVE", "skills"),
    ("Startup experience", "NICE_TO_HAVE", "background"),
    (
        "Comfortable with ambiguity and a fast pace",
        "MUST_HAVE",
        "traits",
    ),
    ("Distributed systems at scale", "MUST_HAVE", "skills"),
];
const DUTIES: &[&str] = &[
    "Own the ingestion pipeline",
    "Design the storage layer",
    "Ship customer-facing features every week",
    "Build the internal developer platform",
    "Work directly with the founders on the roadmap",
    "Mentor the next engineers we hire",
];

/// The detail payload of a role (the union of what `getRoleByIdSimple` and
/// `getRoleByIdDetailed` return), built from the role's own fields so it also
/// works for roles that tests add by hand.
pub(crate) fn detail(role: &Value, hint: LocationHint, hostile: bool, rng: &mut Rng) -> Value {
    let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
    let id = text(&role["id"]);
    let company = &role["company"];
    let company_name = text(&company["name"]);
    let investors: Vec<String> = role["investors"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let size = company["size"].as_i64();
    let funding = text(&company["fundingAmount"]);
    let round = company["company_metadata"]["last_funding_round"]
        .as_str()
        .map(round_label);
    let city = role["locations"]
        .as_array()
        .and_then(|all| all.iter().filter_map(Value::as_str).find_map(city_name));

    let backers = match investors.as_slice() {
        [] => "Bootstrapped and profitable".to_string(),
        [one] => format!("Backed by <strong>{one}</strong>"),
        [one, two, ..] => format!("Backed by <strong>{one}</strong> and <strong>{two}</strong>"),
    };
    let mut company_tip = format!("<p>{backers}; {}.", rng.pick(FOUNDER_LINES));
    if let Some(size) = size {
        company_tip.push_str(&format!(" Team of {size}"));
        match city {
            Some(city) => company_tip.push_str(&format!(" in <em>{city}</em>.")),
            None => company_tip.push('.'),
        }
    }
    company_tip.push_str("</p>");
    if let LocationHint::InCompanyTip(city) = hint {
        company_tip.push_str(&format!(
            "<p>Hybrid, three days a week in our <strong>{city}</strong> office.</p>"
        ));
    }

    let mut points = Vec::new();
    match (&round, funding.is_empty()) {
        (Some(round), false) => points.push(format!("{round}, {funding} raised")),
        (None, false) => points.push(format!("{funding} raised")),
        (_, true) => {}
    }
    points.extend(rng.sample(SELLING_POINTS, 2).into_iter().map(String::from));
    let selling_points = format!(
        "<ul>{}</ul>",
        points
            .iter()
            .map(|p| format!("<li>{p}</li>"))
            .collect::<String>()
    );

    let requirement_count = rng.between(2, 4) as usize;
    let mut requirements: Vec<Value> = rng
        .sample(REQUIREMENTS, requirement_count)
        .into_iter()
        .map(|(requirement, kind, group)| {
            json!({"requirement": requirement, "type": kind, "group": group})
        })
        .collect();

    let duties: String = rng
        .sample(DUTIES, 2)
        .into_iter()
        .map(|duty| format!("<li>{duty}</li>"))
        .collect();
    let years = text(&role["yoe_string"]);
    let workplace = text(&role["workplace_type"]);
    let mut description = format!(
        "<h3>What you'll do</h3><ul>{duties}</ul><h3>What we're looking for</h3><ul><li>{} of experience</li><li><em>{}</em></li></ul>",
        if years.is_empty() {
            "Several years"
        } else {
            years.as_str()
        },
        text(&role["name"]),
    );
    if !workplace.is_empty() {
        description.push_str(&format!(
            "<p>This is a <strong>{workplace}</strong> role.</p>"
        ));
    }
    if let LocationHint::InDescription(city) = hint {
        description.push_str(&format!("<p>You will work from our {city} office.</p>"));
    }

    let mut company_description = format!(
        "<p><strong>{company_name}</strong>: {}</p>",
        text(&company["oneLiner"])
    );
    if !investors.is_empty() {
        company_description.push_str(&format!(
            "<p>Investors include {}.</p>",
            investors.join(", ")
        ));
    }

    if hostile {
        company_tip.push_str(
            "<p onclick=\"alert('tip')\">Click for perks<script>alert('tip')</script></p>\
             <p><a href=\"javascript:alert(1)\">See our deck</a></p>\
             <iframe src=\"https://evil.invalid/frame\"></iframe>",
        );
        description.push_str("<img src=x onerror=alert('description')>");
        // Hidden characters, raw and as character references.
        description.push_str(&format!(
            "<p>Remote{HIDDEN_TEXT} friendly &#x202e;&#27;&#7;&#x200b;&#x2066;</p>"
        ));
        company_tip.push_str(&format!(
            "<p title=\"perks{HIDDEN_TEXT}\">Perks{HIDDEN_TEXT}</p>"
        ));
        requirements.push(json!({"requirement": format!("Rust{HIDDEN_TEXT}"), "type": "NICE_TO_HAVE", "group": "skills"}));
        company_description.push_str("<iframe src=\"javascript:alert('company')\"></iframe>");
    }

    let role_question = if rng.chance(25) {
        json!([{"id": format!("{id}-q1"), "question": "Why are you interested in this company?", "required": true}])
    } else {
        json!([])
    };
    json!({
        "id": id,
        "companyTip": company_tip,
        "selling_points": selling_points,
        "equity": role["equity"].clone(),
        "requirements": requirements,
        "description": description,
        "experience_info": if years.is_empty() { Value::Null } else { json!(format!("{years} building production software")) },
        "role_question": role_question,
        "company": {"name": company_name, "description": company_description},
    })
}

fn round_label(round: &str) -> String {
    match round {
        "PRE_SEED" => "Pre-seed".into(),
        "SEED" => "Seed".into(),
        "POST_IPO_EQUITY" => "Public".into(),
        other => other
            .strip_prefix("SERIES_")
            .map(|letter| format!("Series {}", letter.replace('_', " ")))
            .unwrap_or_else(|| other.to_string()),
    }
}

fn city_name(slug: &str) -> Option<&'static str> {
    match slug {
        "new_york" | "brooklyn" | "jersey_city" => Some("New York"),
        "london" | "united_kingdom" | "uk" => Some("London"),
        "san_francisco" | "south_bay_area" => Some("San Francisco"),
        "seattle" => Some("Seattle"),
        "austin" => Some("Austin"),
        _ => None,
    }
}
