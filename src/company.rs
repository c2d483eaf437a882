//! Companies, the domain part: the company key, when two postings are the
//! same opening, and reading a company board's job (the three APIs' shapes
//! read alike). The companies pages' summaries are views
//! (`views::companies`), built on these.

use serde_json::Value;

use crate::role::RoleColumns;

/// The company key: a company's name as every part of air-demand compares
/// it (the excitement cache, the companies pages, `companies discover`, the
/// digest's moves): lower case, words only, legal suffixes dropped ("Acme,
/// Inc." and "acme" are one company).
pub fn key(name: &str) -> String {
    const SUFFIXES: &[&str] = &[
        "inc",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "gmbh",
    ];
    let lowered = name.to_lowercase();
    let mut words: Vec<&str> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    while words.len() > 1 && words.last().is_some_and(|w| SUFFIXES.contains(w)) {
        words.pop();
    }
    words.join(" ")
}

/// The company board APIs followed; `source()` is `roles.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Greenhouse,
    Lever,
    Ashby,
    Workable,
    SmartRecruiters,
    Recruitee,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Greenhouse,
        Kind::Lever,
        Kind::Ashby,
        Kind::Workable,
        Kind::SmartRecruiters,
        Kind::Recruitee,
    ];

    pub fn source(self) -> &'static str {
        match self {
            Kind::Greenhouse => "greenhouse",
            Kind::Lever => "lever",
            Kind::Ashby => "ashby",
            Kind::Workable => "workable",
            Kind::SmartRecruiters => "smartrecruiters",
            Kind::Recruitee => "recruitee",
        }
    }

    pub fn from_source(source: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.source() == source)
    }

    /// People's name for it: "Greenhouse".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Greenhouse => "Greenhouse",
            Kind::Lever => "Lever",
            Kind::Ashby => "Ashby",
            Kind::Workable => "Workable",
            Kind::SmartRecruiters => "SmartRecruiters",
            Kind::Recruitee => "Recruitee",
        }
    }

    /// A job's id on its board: Workable's `shortcode`, the others' `id`.
    pub fn job_id(self, raw: &Value) -> Option<String> {
        match self {
            Kind::Workable => {
                crate::role::text_at(raw, "shortcode").filter(|code| !code.trim().is_empty())
            }
            _ => crate::role::external_id(raw),
        }
    }
}

/// `roles.source` of the roles read from companies' own careers pages
/// (SPEC §3b).
pub const CAREERS: &str = "careers";

/// Where a company's own role was read: one of the board APIs, or its
/// careers page (schema.org `JobPosting`s, read by `careers`). Board and
/// careers roles are alike everywhere but in how they are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Board {
    Api(Kind),
    Careers,
}

impl Board {
    /// `roles.source`.
    pub fn source(self) -> &'static str {
        match self {
            Board::Api(kind) => kind.source(),
            Board::Careers => CAREERS,
        }
    }

    pub fn from_source(source: &str) -> Option<Board> {
        if source == CAREERS {
            return Some(Board::Careers);
        }
        Kind::from_source(source).map(Board::Api)
    }

    /// People's name for it: "Greenhouse", "Careers page".
    pub fn name(self) -> &'static str {
        match self {
            Board::Api(kind) => kind.name(),
            Board::Careers => "Careers page",
        }
    }

    /// What a role of this board says.
    pub fn job(self, raw: &Value) -> Job {
        match self {
            Board::Api(kind) => board_job(kind, raw),
            Board::Careers => careers_job(raw),
        }
    }
}

/// A posting as [`same_opening`] compares it.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    pub company: &'a str,
    pub title: &'a str,
    /// Its places as shown, comma-separated (`New York, London`); empty
    /// when it names none.
    pub locations: &'a str,
}

/// Whether two postings (a Paraform role and a board job, or two board
/// jobs) are the same opening: the same company (by [`key`]), the same
/// title (lower-case words), and places that agree. Places agree unless
/// both name places and none of one's is (or contains, or is contained in)
/// one of the other's: "Engineer" in New York and "Engineer" in London at
/// one company are two openings; one that names no place matches any. How
/// people work there (`Remote`, `On-site`, `Hybrid`) is not a place: a
/// board posting marked only `Remote` names none.
pub fn same_opening(a: &Opening<'_>, b: &Opening<'_>) -> bool {
    a.compared().same_opening(&b.compared())
}

/// Whether two postings name a place in common (`New York, NY` and `new
/// york` do); false when either names none.
pub fn shares_a_place(a: &str, b: &str) -> bool {
    any_shared(&places(a), &places(b))
}

impl Opening<'_> {
    /// The posting read once for comparing many times.
    pub fn compared(&self) -> Compared {
        Compared {
            company: key(self.company),
            title: words(self.title),
            places: places(self.locations),
        }
    }
}

/// An [`Opening`] as [`same_opening`] compares it: its company's key, its
/// title's words and its places, each read once.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    company: String,
    title: String,
    places: Vec<String>,
}

impl Compared {
    /// [`same_opening`] of the two postings these were read from.
    pub fn same_opening(&self, other: &Compared) -> bool {
        !self.company.is_empty()
            && self.company == other.company
            && self.title == other.title
            && (self.places.is_empty()
                || other.places.is_empty()
                || any_shared(&self.places, &other.places))
    }

    /// [`shares_a_place`] of the two postings these were read from.
    pub fn shares_a_place(&self, other: &Compared) -> bool {
        any_shared(&self.places, &other.places)
    }
}

fn any_shared(ours: &[String], theirs: &[String]) -> bool {
    ours.iter().any(|p| {
        theirs
            .iter()
            .any(|t| t.contains(p.as_str()) || p.contains(t.as_str()))
    })
}

fn places(text: &str) -> Vec<String> {
    /// Workplace words, as Paraform and the boards write them.
    const NOT_PLACES: &[&str] = &["remote", "on site", "onsite", "in office", "hybrid"];
    text.split(',')
        .map(words)
        .filter(|p| !p.is_empty() && !NOT_PLACES.contains(&p.as_str()))
        .collect()
}

/// Lower-case words, for comparing titles and places.
pub fn words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a board job says, read the same way from the three shapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Job {
    pub title: Option<String>,
    /// Every location named, as given.
    pub locations: Vec<String>,
    pub url: Option<String>,
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    /// When the board says it was posted or last updated (RFC 3339).
    pub posted_at: Option<String>,
}

/// Reads a job of `kind`; fields that are missing or odd are `None`.
pub fn board_job(kind: Kind, raw: &Value) -> Job {
    let text = |path: &str| crate::role::text_at(raw, path);
    let number = |path: &str| {
        crate::role::value_at(raw, path)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n > 0.0)
            .map(|n| n.round() as i64)
    };
    match kind {
        Kind::Greenhouse => Job {
            title: text("title"),
            locations: text("location.name").into_iter().collect(),
            url: text("absolute_url"),
            // Greenhouse publishes pay only inside the HTML content.
            salary_min: None,
            salary_max: None,
            posted_at: text("updated_at"),
        },
        Kind::Lever => Job {
            title: text("text"),
            locations: {
                let mut all: Vec<String> = text("categories.location").into_iter().collect();
                if let Some(Value::Array(more)) =
                    crate::role::value_at(raw, "categories.allLocations")
                {
                    for place in more.iter().filter_map(Value::as_str) {
                        if !all.iter().any(|p| p == place) {
                            all.push(place.to_string());
                        }
                    }
                }
                all
            },
            url: text("hostedUrl"),
            salary_min: number("salaryRange.min"),
            salary_max: number("salaryRange.max"),
            posted_at: crate::role::value_at(raw, "createdAt")
                .and_then(Value::as_i64)
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(crate::role::timestamp),
        },
        Kind::Ashby => {
            let mut locations: Vec<String> = text("location").into_iter().collect();
            if let Some(Value::Array(more)) = raw.get("secondaryLocations") {
                for place in more
                    .iter()
                    .filter_map(|p| p.get("location").and_then(Value::as_str))
                {
                    if !locations.iter().any(|l| l == place) {
                        locations.push(place.to_string());
                    }
                }
            }
            // The salary component of the compensation summary, if any.
            let salary = raw
                .pointer("/compensation/summaryComponents")
                .and_then(Value::as_array)
                .and_then(|parts| {
                    parts.iter().find(|p| {
                        p.get("compensationType").and_then(Value::as_str) == Some("Salary")
                    })
                });
            let bound = |key: &str| {
                salary
                    .and_then(|s| s.get(key))
                    .and_then(Value::as_f64)
                    .filter(|n| n.is_finite() && *n > 0.0)
                    .map(|n| n.round() as i64)
            };
            Job {
                title: text("title"),
                locations,
                url: text("jobUrl"),
                salary_min: bound("minValue"),
                salary_max: bound("maxValue"),
                posted_at: text("publishedAt"),
            }
        }
        Kind::Workable => {
            // `city`/`country` of the main place, or the `locations` list;
            // `telecommuting` marks a remote job.
            let mut places: Vec<Option<String>> = Vec::new();
            if let Some(Value::Array(listed)) = raw.get("locations") {
                for place in listed {
                    let part = |key: &str| crate::role::text_at(place, key);
                    places.push(joined(&[part("city"), part("region"), part("country")]));
                }
            }
            if places.iter().all(Option::is_none) {
                places.push(joined(&[text("city"), text("state"), text("country")]));
            }
            if raw.get("telecommuting").and_then(Value::as_bool) == Some(true) {
                places.push(Some("Remote".into()));
            }
            let mut locations: Vec<String> = Vec::new();
            for place in places.into_iter().flatten() {
                if !locations.contains(&place) {
                    locations.push(place);
                }
            }
            Job {
                title: text("title"),
                locations,
                url: text("url").or_else(|| text("shortlink")),
                salary_min: None,
                salary_max: None,
                posted_at: text("published_on").or_else(|| text("created_at")),
            }
        }
        Kind::SmartRecruiters => {
            let mut locations: Vec<String> = text("location.fullLocation")
                .or_else(|| {
                    joined(&[
                        text("location.city"),
                        text("location.region"),
                        text("location.country"),
                    ])
                })
                .into_iter()
                .collect();
            if crate::role::value_at(raw, "location.remote").and_then(Value::as_bool) == Some(true)
            {
                locations.push("Remote".into());
            }
            Job {
                title: text("name"),
                locations,
                // `ref` is the API's own link; people read the posting page.
                url: text("postingUrl").or_else(|| text("ref")),
                salary_min: None,
                salary_max: None,
                posted_at: text("releasedDate"),
            }
        }
        Kind::Recruitee => {
            let mut locations: Vec<String> = text("location")
                .or_else(|| joined(&[text("city"), text("country")]))
                .into_iter()
                .collect();
            if raw.get("remote").and_then(Value::as_bool) == Some(true)
                && !locations.iter().any(|l| l.eq_ignore_ascii_case("remote"))
            {
                locations.push("Remote".into());
            }
            // `salary` where the company publishes it, by the year only:
            // another period is not a yearly figure to compare.
            let yearly = crate::role::text_at(raw, "salary.period").is_none_or(|p| {
                matches!(
                    p.to_ascii_lowercase().as_str(),
                    "year" | "yearly" | "annual"
                )
            });
            let bound = |key: &str| {
                crate::role::value_at(raw, &format!("salary.{key}"))
                    .and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()))
                    .filter(|n| yearly && n.is_finite() && *n > 0.0)
                    .map(|n| n.round() as i64)
            };
            Job {
                title: text("title"),
                locations,
                url: text("careers_url"),
                salary_min: bound("min"),
                salary_max: bound("max"),
                posted_at: text("published_at").or_else(|| text("created_at")),
            }
        }
    }
}

/// Reads a careers role: the JSON `careers::Posting::to_json` stores
/// (schema.org's names). The salary is annualised for comparing (an hourly
/// figure times 2,080); the stored JSON keeps it as given.
pub fn careers_job(raw: &Value) -> Job {
    let text = |path: &str| crate::role::text_at(raw, path);
    let number = |key: &str| {
        raw.pointer(&format!("/baseSalary/{key}"))
            .and_then(Value::as_f64)
    };
    let salary = crate::careers::Salary {
        currency: text("baseSalary.currency"),
        min: number("minValue"),
        max: number("maxValue"),
        value: number("value"),
        unit: text("baseSalary.unitText"),
    };
    let (salary_min, salary_max) = salary.yearly();
    Job {
        title: text("title"),
        locations: match raw.get("jobLocation") {
            Some(Value::Array(places)) => places
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        },
        url: text("url"),
        salary_min,
        salary_max,
        posted_at: text("datePosted").and_then(|d| crate::careers::timestamp(&d)),
    }
}

/// `New York, NY, US` from the parts given; `None` when none is.
fn joined(parts: &[Option<String>]) -> Option<String> {
    let parts: Vec<&str> = parts
        .iter()
        .flatten()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The columns of a board role: the company is the followed one's name.
pub fn board_columns(board: Board, raw: &Value, company: &str) -> RoleColumns {
    let job = board.job(raw);
    RoleColumns {
        title: job.title,
        company: Some(company.to_string()),
        url: job
            .url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        salary_min: job.salary_min,
        salary_max: job.salary_max,
        fee_percent: None,
        posted_at: job.posted_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn company_names_compare_by_key() {
        assert_eq!(key("Acme, Inc."), "acme");
        assert_eq!(key("ACME"), "acme");
        assert_eq!(key("Northwind Labs Ltd"), "northwind labs");
        assert_eq!(key("Co"), "co");
        assert_eq!(key(""), "");
    }

    #[test]
    fn one_opening_shares_its_place_or_names_none() {
        let opening = |company, title, locations| Opening {
            company,
            title,
            locations,
        };
        let paraform = opening("Acme, Inc.", "Staff Engineer", "New York, London");
        // Shared place (one spelled longer), or a posting naming none: same.
        for other in [
            opening("acme", "staff engineer", "New York, NY"),
            opening("ACME", "Staff  Engineer!", "London"),
            opening("Acme", "Staff Engineer", ""),
            opening("Acme", "Staff Engineer", "Remote"),
        ] {
            assert!(same_opening(&paraform, &other), "{other:?}");
            assert!(same_opening(&other, &paraform), "{other:?}");
        }
        assert!(same_opening(
            &opening("Acme", "Staff Engineer", ""),
            &opening("Acme", "Staff Engineer", "")
        ));
        // Distinct places, another title or company, or no company: not.
        for other in [
            opening("Acme", "Staff Engineer", "Berlin, Remote"),
            opening("Acme", "Senior Engineer", "New York"),
            opening("Globex", "Staff Engineer", "New York"),
        ] {
            assert!(!same_opening(&paraform, &other), "{other:?}");
        }
        // Workplace words name no place.
        assert!(same_opening(
            &opening("Acme", "Staff Engineer", "Brooklyn, On-site"),
            &opening("Acme", "Staff Engineer", "Hybrid, Remote")
        ));
        let nameless = opening("", "Staff Engineer", "");
        assert!(!same_opening(&nameless, &nameless));
    }

    #[test]
    fn reads_the_three_shapes() {
        let greenhouse = json!({"id": 4012345, "title": "Staff Engineer", "updated_at": "2026-11-20T10:00:00-05:00",
            "location": {"name": "New York, NY"}, "absolute_url": "https://boards.greenhouse.io/acme/jobs/4012345"});
        let job = super::board_job(Kind::Greenhouse, &greenhouse);
        assert_eq!(job.title.as_deref(), Some("Staff Engineer"));
        assert_eq!(job.locations, ["New York, NY"]);
        let lever = json!({"id": "5ac2-11", "text": "Backend Engineer", "createdAt": 1764000000000i64,
            "hostedUrl": "https://jobs.lever.co/acme/5ac2-11", "categories": {"location": "London", "allLocations": ["London", "Remote"]},
            "salaryRange": {"min": 150000, "max": 190000, "currency": "USD", "interval": "per-year-salary"}});
        let job = super::board_job(Kind::Lever, &lever);
        assert_eq!(
            (job.salary_min, job.salary_max),
            (Some(150000), Some(190000))
        );
        assert_eq!(job.locations, ["London", "Remote"]);
        assert_eq!(job.posted_at.as_deref(), Some("2025-11-24T16:00:00Z"));
        let ashby = json!({"id": "a1b2", "title": "Founding Engineer", "location": "San Francisco",
            "secondaryLocations": [{"location": "Remote"}], "jobUrl": "https://jobs.ashbyhq.com/acme/a1b2",
            "publishedAt": "2026-11-01T00:00:00Z",
            "compensation": {"summaryComponents": [{"compensationType": "EquityPercentage", "minValue": 0.1, "maxValue": 0.5},
                {"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD", "minValue": 180000, "maxValue": 230000}]}});
        let job = super::board_job(Kind::Ashby, &ashby);
        assert_eq!(
            (job.salary_min, job.salary_max),
            (Some(180000), Some(230000))
        );
        assert_eq!(job.locations, ["San Francisco", "Remote"]);
    }
}
