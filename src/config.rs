//! Configuration: the `air-demand.toml` file, its built-in defaults, and the
//! environment (secrets and a literal `.env` file beside the config).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;

use crate::fetch::HttpConfig;
use crate::rules::{Lists, QualificationRules, Rules, ScoringRules};

/// Where the config is looked for when neither `--config` nor `AIR_DEMAND_CONFIG` says.
pub const DEFAULT_CONFIG_PATH: &str = "air-demand.toml";

/// The whole configuration. Every key has a default, so a missing file or
/// section means built-in behaviour; an unknown key is an error naming it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub site: SiteConfig,
    pub paraform: ParaformConfig,
    pub schedule: ScheduleConfig,
    pub digest: DigestConfig,
    pub health: HealthConfig,
    /// Hard filters and quality signals (SCORING.md).
    pub qualification: QualificationRules,
    /// Score weights and value tables (SCORING.md).
    pub scoring: ScoringRules,
    /// Model-assisted intel (SPEC §5a); off unless enabled.
    pub llm: LlmConfig,
    /// The companies' own job boards (SPEC §3a), asked for `companies`.
    pub boards: BoardsConfig,
    /// The followed companies, each with any of its three board names.
    pub companies: Vec<CompanyConfig>,
    /// Where secrets come from besides the process environment.
    pub secrets: SecretsConfig,
    /// Directory that relative paths in the file are resolved against: the
    /// config file's own directory, or the working directory without a file.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SiteConfig {
    pub dir: PathBuf,
    pub base_url: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ParaformConfig {
    pub enabled: bool,
    pub base_url: String,
    pub session_file: PathBuf,
    /// Politeness: the pause between two requests to Paraform.
    pub request_delay_ms: u64,
    /// Retries after the first attempt, for timeouts, connection errors, 429 and 5xx.
    pub max_retries: u32,
    /// First retry waits about this long; each further retry doubles it.
    pub retry_base_ms: u64,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// The largest list response (one page) read; more fails the fetch.
    pub max_list_bytes: u64,
    /// The largest detail response read; more fails that role's detail.
    pub max_detail_bytes: u64,
    pub fetch_details: bool,
    /// Also call `role.getRoleByIdDetailed` for the full description.
    pub fetch_description: bool,
    /// Direct HTTP, `fetch()` in a headless browser, or direct until
    /// Paraform asks for a browser (the default).
    pub fetch: crate::fetch::paraform::FetchMode,
    /// Where role links point when that is not `base_url` (not a config key:
    /// the demo fetches from a loopback simulator that is gone once it exits).
    #[serde(skip)]
    pub link_base_url: Option<String>,
}

impl ParaformConfig {
    /// The base of the role links people open: `link_base_url`, else `base_url`.
    pub fn link_base(&self) -> &str {
        self.link_base_url.as_deref().unwrap_or(&self.base_url)
    }

    /// How Paraform is asked: timeout, retries, backoff, pause.
    pub fn http(&self) -> HttpConfig {
        HttpConfig {
            timeout_secs: self.timeout_secs,
            max_retries: self.max_retries,
            retry_base_ms: self.retry_base_ms,
            request_delay_ms: self.request_delay_ms,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// An IANA zone (`America/New_York`), checked when the file is read.
    #[serde(deserialize_with = "time_zone")]
    pub timezone: Tz,
    pub scrape: Vec<CronLine>,
    pub digest: Vec<CronLine>,
}

/// A crontab line (5 fields; a 6th leading seconds field is accepted too),
/// parsed when the file is read: a bad one is an error naming key and line.
#[derive(Debug, Clone, PartialEq)]
pub struct CronLine {
    pub text: String,
    pub cron: Cron,
}

impl FromStr for CronLine {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<CronLine, String> {
        Cron::from_str(text)
            .map(|cron| CronLine {
                text: text.to_string(),
                cron,
            })
            .map_err(|err| {
                format!("{text:?} is not a cron expression such as \"0 5 * * *\" ({err})")
            })
    }
}

impl<'de> Deserialize<'de> for CronLine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<CronLine, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn time_zone<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Tz, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not an IANA time zone such as \"UTC\" or \"America/New_York\""
        ))
    })
}

/// Parses built-in crontab lines (a test holds them valid).
pub fn cron_lines(lines: &[&str]) -> Vec<CronLine> {
    lines.iter().filter_map(|line| line.parse().ok()).collect()
}

/// How the digest (and alerts) go out.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Through the server of `SMTP_URL`.
    Smtp,
    /// As `.eml` files in `[digest] outbox`.
    File,
    /// Printed.
    Stdout,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Smtp => "smtp",
            Transport::File => "file",
            Transport::Stdout => "stdout",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    pub to: Vec<String>,
    pub from: String,
    pub transport: Transport,
    pub outbox: PathBuf,
    pub send_empty: bool,
}

/// Model-assisted intel: role intel, company excitement, briefings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    pub enabled: bool,
    /// Any OpenAI-compatible API: `{base_url}/chat/completions`.
    pub base_url: String,
    pub intel_model: String,
    pub excitement_model: String,
    pub briefing_model: String,
    pub temperature: f64,
    /// The most tokens one answer may take.
    pub max_tokens: u32,
    /// Per call; a stalled model is given up after this long.
    pub timeout_secs: u64,
    /// Retries on 429 (honouring `Retry-After`), 5xx and timeouts.
    pub max_retries: u32,
    /// First retry waits about this long (without a `Retry-After`); each
    /// further retry doubles it.
    pub retry_base_ms: u64,
    /// The least time between the starts of two calls (0: `concurrency`
    /// alone paces them).
    pub request_delay_ms: u64,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// QUALIFIED roles at or above this combined score get a briefing.
    pub briefing_min_score: f64,
    /// Only a rules' excitement in this range is asked of the model.
    pub excitement_band: [f64; 2],
    /// A company's excitement is asked again after this many days.
    pub company_cache_days: u32,
    /// A run stops calling after this many calls (re-asks included)…
    pub max_calls_per_run: u64,
    /// …or once it has spent this much (as the provider reports it).
    pub max_cost_per_run_usd: f64,
    /// The run's model phase ends by then, whatever the provider says
    /// (`Retry-After` included): a misbehaving model cannot hold a run.
    pub max_run_secs: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            enabled: false,
            base_url: "https://openrouter.ai/api/v1".into(),
            intel_model: "google/gemini-2.5-flash-lite".into(),
            excitement_model: "google/gemini-2.5-flash-lite".into(),
            briefing_model: "google/gemini-2.5-flash".into(),
            temperature: 0.0,
            max_tokens: 4096,
            timeout_secs: 60,
            max_retries: 3,
            retry_base_ms: 1000,
            request_delay_ms: 0,
            concurrency: 4,
            briefing_min_score: 0.80,
            excitement_band: [0.50, 0.70],
            company_cache_days: 30,
            max_calls_per_run: 300,
            max_cost_per_run_usd: 1.0,
            max_run_secs: 600,
        }
    }
}

/// The model API key: `LLM_API_KEY` (any provider) wins over `OPENROUTER_API_KEY`.
pub const LLM_KEY_ENVS: [&str; 2] = ["LLM_API_KEY", "OPENROUTER_API_KEY"];

impl LlmConfig {
    /// How the model is asked: timeout, retries, backoff, pause.
    pub fn http(&self) -> HttpConfig {
        HttpConfig {
            timeout_secs: self.timeout_secs,
            max_retries: self.max_retries,
            retry_base_ms: self.retry_base_ms,
            request_delay_ms: self.request_delay_ms,
        }
    }

    /// The key from the environment, if any.
    pub fn api_key(&self, env: &Env) -> Option<String> {
        LLM_KEY_ENVS.iter().find_map(|name| env.var(name))
    }

    /// Whether `base_url` is this machine (Ollama, llama.cpp): no key needed.
    pub fn is_local(&self) -> bool {
        let rest = self
            .base_url
            .strip_prefix("http://")
            .or_else(|| self.base_url.strip_prefix("https://"))
            .unwrap_or("");
        let host = rest.split(['/', ':']).next().unwrap_or("");
        matches!(host, "127.0.0.1" | "localhost") || rest.starts_with("[::1]")
    }
}

/// Where the board APIs are, and how politely they are asked.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BoardsConfig {
    pub enabled: bool,
    pub greenhouse_url: String,
    pub lever_url: String,
    pub ashby_url: String,
    pub workable_url: String,
    pub smartrecruiters_url: String,
    /// With `{company}` where the entry's `recruitee` name goes (Recruitee
    /// names the company in the host).
    pub recruitee_url: String,
    /// Politeness between board requests (one at a time).
    pub request_delay_ms: u64,
    /// Retries on timeouts, connection errors, 429 and 5xx, as for Paraform.
    pub max_retries: u32,
    /// First retry waits about this long; each further retry doubles it.
    pub retry_base_ms: u64,
    /// Per request.
    pub timeout_secs: u64,
    /// The largest board answer read; more fails that board for the run.
    pub max_board_bytes: u64,
}

impl BoardsConfig {
    /// The API of `kind` as `[boards]` places it.
    pub fn base_url(&self, kind: crate::fetch::boards::Kind) -> &str {
        use crate::fetch::boards::Kind;
        match kind {
            Kind::Greenhouse => &self.greenhouse_url,
            Kind::Lever => &self.lever_url,
            Kind::Ashby => &self.ashby_url,
            Kind::Workable => &self.workable_url,
            Kind::SmartRecruiters => &self.smartrecruiters_url,
            Kind::Recruitee => &self.recruitee_url,
        }
    }

    /// The `[boards]` key of `kind`'s API, to set.
    pub fn base_url_mut(&mut self, kind: crate::fetch::boards::Kind) -> &mut String {
        use crate::fetch::boards::Kind;
        match kind {
            Kind::Greenhouse => &mut self.greenhouse_url,
            Kind::Lever => &mut self.lever_url,
            Kind::Ashby => &mut self.ashby_url,
            Kind::Workable => &mut self.workable_url,
            Kind::SmartRecruiters => &mut self.smartrecruiters_url,
            Kind::Recruitee => &mut self.recruitee_url,
        }
    }

    /// How the boards are asked (one polite client for every board
    /// request): timeout, retries, backoff, pause.
    pub fn http(&self) -> HttpConfig {
        HttpConfig {
            timeout_secs: self.timeout_secs,
            max_retries: self.max_retries,
            retry_base_ms: self.retry_base_ms,
            request_delay_ms: self.request_delay_ms,
        }
    }
}

impl Default for BoardsConfig {
    fn default() -> Self {
        BoardsConfig {
            enabled: true,
            greenhouse_url: "https://boards-api.greenhouse.io".into(),
            lever_url: "https://api.lever.co".into(),
            ashby_url: "https://api.ashbyhq.com".into(),
            workable_url: "https://apply.workable.com".into(),
            smartrecruiters_url: "https://api.smartrecruiters.com".into(),
            recruitee_url: "https://{company}.recruitee.com".into(),
            request_delay_ms: 1000,
            max_retries: 4,
            retry_base_ms: 1000,
            timeout_secs: 30,
            max_board_bytes: 16 * 1024 * 1024,
        }
    }
}

/// One followed company: its name (as Paraform shows it) and its boards.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompanyConfig {
    pub name: String,
    #[serde(default)]
    pub greenhouse: Option<String>,
    #[serde(default)]
    pub lever: Option<String>,
    #[serde(default)]
    pub ashby: Option<String>,
    #[serde(default)]
    pub workable: Option<String>,
    #[serde(default)]
    pub smartrecruiters: Option<String>,
    #[serde(default)]
    pub recruitee: Option<String>,
    /// Its careers page (SPEC §3b): an http(s) URL whose schema.org
    /// `JobPosting`s are read, or whose job pages are.
    #[serde(default)]
    pub careers: Option<String>,
    /// Which links of the careers page are job pages: those whose path
    /// contains this; by default, the paths under the careers page's own.
    #[serde(default)]
    pub job_link_pattern: Option<String>,
    /// Job pages read per run at most, of a careers page that links its
    /// postings (default [`DEFAULT_MAX_PAGES`]).
    #[serde(default)]
    pub max_pages: Option<usize>,
}

/// A careers page's URL and its host (lower case, as role ids name it);
/// `None` unless it is an http(s) URL with a host.
pub fn careers_page(url: &str) -> Option<(reqwest::Url, String)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    Some((parsed, host))
}

/// `max_pages` when not set.
pub const DEFAULT_MAX_PAGES: usize = 50;
/// The largest `max_pages` accepted.
const MAX_MAX_PAGES: usize = 1_000;

impl CompanyConfig {
    /// The company's boards as (source, board name): `("ashby", "supabase")`.
    pub fn boards(&self) -> Vec<(&'static str, &str)> {
        [
            ("greenhouse", &self.greenhouse),
            ("lever", &self.lever),
            ("ashby", &self.ashby),
            ("workable", &self.workable),
            ("smartrecruiters", &self.smartrecruiters),
            ("recruitee", &self.recruitee),
        ]
        .into_iter()
        .filter_map(|(source, board)| Some((source, board.as_deref()?)))
        .collect()
    }

    /// Its careers page as a URL, and that URL's host (lower case, as
    /// role ids name it); `None` when it follows none. The URL was checked
    /// when the config was read.
    pub fn careers_page(&self) -> Option<(reqwest::Url, String)> {
        careers_page(self.careers.as_deref()?)
    }

    /// `max_pages`, or its default.
    pub fn max_pages(&self) -> usize {
        self.max_pages.unwrap_or(DEFAULT_MAX_PAGES)
    }

    /// Follows the board `name` of `kind`.
    pub fn set_board(&mut self, kind: crate::fetch::boards::Kind, name: String) {
        use crate::fetch::boards::Kind;
        let slot = match kind {
            Kind::Greenhouse => &mut self.greenhouse,
            Kind::Lever => &mut self.lever,
            Kind::Ashby => &mut self.ashby,
            Kind::Workable => &mut self.workable,
            Kind::SmartRecruiters => &mut self.smartrecruiters,
            Kind::Recruitee => &mut self.recruitee,
        };
        *slot = Some(name);
    }

    /// Board names in their one spelling, lower case: the board APIs read
    /// board names without regard to case (Recruitee's is a host name), so
    /// `"Acme"` and `"acme"` are one board, one removal scope and one set
    /// of role ids.
    pub fn canonicalize(&mut self) {
        for board in [
            &mut self.greenhouse,
            &mut self.lever,
            &mut self.ashby,
            &mut self.workable,
            &mut self.smartrecruiters,
            &mut self.recruitee,
        ]
        .into_iter()
        .flatten()
        {
            board.make_ascii_lowercase();
        }
    }
}

/// Whether `name` can be a board name: it goes into a URL path and a role id.
fn is_board_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
}

/// Where the secrets are, besides the process environment and the `.env`
/// beside the config.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// The service's environment file (systemd's `EnvironmentFile=`), read
    /// by every command so that a manual run as the service user sees what
    /// the service sees. `KEY=VALUE` lines, values literal; it must exist
    /// and be private (mode 0600 or stricter).
    pub env_file: Option<PathBuf>,
}

/// When `status` calls things degraded or unhealthy, and when to alert.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// A last good scrape older than this is degraded.
    pub stale_after_hours: f64,
    /// No good scrape for this long is unhealthy.
    pub unhealthy_after_hours: f64,
    /// Warn (and alert) this many days before the session expires.
    pub session_warning_days: i64,
    /// Alert after this many failed scrapes in a row.
    pub alert_after_failed_scrapes: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            stale_after_hours: 13.0,
            unhealthy_after_hours: 24.0,
            session_warning_days: 7,
            alert_after_failed_scrapes: 2,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: DatabaseConfig::default(),
            site: SiteConfig::default(),
            paraform: ParaformConfig::default(),
            schedule: ScheduleConfig::default(),
            digest: DigestConfig::default(),
            health: HealthConfig::default(),
            qualification: QualificationRules::default(),
            scoring: ScoringRules::default(),
            llm: LlmConfig::default(),
            boards: BoardsConfig::default(),
            companies: Vec::new(),
            secrets: SecretsConfig::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: PathBuf::from("data/air-demand.sqlite"),
        }
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            dir: PathBuf::from("site"),
            base_url: "https://demand.example.com".into(),
        }
    }
}

impl Default for ParaformConfig {
    fn default() -> Self {
        ParaformConfig {
            enabled: true,
            base_url: "https://www.paraform.com".into(),
            session_file: PathBuf::from("data/paraform_session.json"),
            request_delay_ms: 2000,
            max_retries: 4,
            retry_base_ms: 1000,
            timeout_secs: 30,
            max_list_bytes: crate::fetch::paraform::DEFAULT_MAX_LIST_BYTES,
            max_detail_bytes: crate::fetch::paraform::DEFAULT_MAX_DETAIL_BYTES,
            fetch_details: true,
            fetch_description: false,
            fetch: crate::fetch::paraform::FetchMode::Auto,
            link_base_url: None,
        }
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            timezone: chrono_tz::UTC,
            scrape: cron_lines(&["0 5 * * *", "0 17 * * *"]),
            digest: cron_lines(&["0 6 * * *"]),
        }
    }
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            to: vec!["me@example.com".into()],
            from: "Air Demand <digest@example.com>".into(),
            transport: Transport::Smtp,
            outbox: PathBuf::from("data/outbox"),
            send_empty: true,
        }
    }
}

impl Config {
    /// The config the command line names. `None` is the implicit
    /// `./air-demand.toml`, which may be absent (built-in defaults); a path the
    /// user gave (`--config`, `AIR_DEMAND_CONFIG`) must exist, so that a typo
    /// in it is an error rather than a quiet run on the defaults.
    pub fn load_given(explicit: Option<&Path>) -> Result<Config> {
        let Some(path) = explicit else {
            return Config::load(Path::new(DEFAULT_CONFIG_PATH));
        };
        if path.as_os_str().is_empty() {
            bail!(
                "the config path given by --config or AIR_DEMAND_CONFIG is empty: name the file, or leave both out to use ./{DEFAULT_CONFIG_PATH}"
            );
        }
        if matches!(path.try_exists(), Ok(false)) {
            bail!(
                "config file {} does not exist: check the path given by --config or AIR_DEMAND_CONFIG, or create it with `air-demand init --config {}`",
                path.display(),
                path.display()
            );
        }
        Config::load(path)
    }

    /// Loads the config at `path`; a missing file means the built-in defaults.
    pub fn load(path: &Path) -> Result<Config> {
        let base_dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config {
                    base_dir,
                    ..Config::default()
                });
            }
            Err(err) => {
                return Err(err).with_context(|| format!("reading config {}", path.display()));
            }
        };
        let mut config = Config::parse(&text, path)?;
        config.base_dir = base_dir;
        Ok(config)
    }

    /// Parses config text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Config> {
        let mut config: Config =
            toml::from_str(text).map_err(|err| crate::toml_error::describe(origin, text, &err))?;
        config
            .validate()
            .with_context(|| format!("invalid config {}", origin.display()))?;
        for company in &mut config.companies {
            company.canonicalize();
        }
        Ok(config)
    }

    /// Checks what the types cannot: numeric ranges and URL schemes.
    fn validate(&self) -> Result<()> {
        let s = &self.scoring;
        let (e, h) = (&s.engineer, &s.headhunter);
        // NaN and infinities fail these ranges too (they would make scores NULL).
        for (name, weight) in [
            ("combined_engineer_weight", s.combined_engineer_weight),
            ("combined_headhunter_weight", s.combined_headhunter_weight),
            ("engineer.compensation", e.compensation),
            ("engineer.company_quality", e.company_quality),
            ("engineer.role_impact", e.role_impact),
            ("engineer.process", e.process),
            ("engineer.tech_modernity", e.tech_modernity),
            ("headhunter.placement", h.placement),
            ("headhunter.commission", h.commission),
            ("headhunter.competition", h.competition),
            ("headhunter.candidate_fit", h.candidate_fit),
        ] {
            if !(0.0..=1.0).contains(&weight) {
                bail!("[scoring] {name} must be between 0 and 1, not {weight}");
            }
        }
        let hc = &self.health;
        for (name, hours) in [
            ("stale_after_hours", hc.stale_after_hours),
            ("unhealthy_after_hours", hc.unhealthy_after_hours),
        ] {
            if !(0.0..=87_600.0).contains(&hours) {
                bail!("[health] {name} must be between 0 and 87600 (ten years), not {hours}");
            }
        }
        let web = |url: &str| url.starts_with("https://") || url.starts_with("http://");
        if !web(&self.site.base_url) && !self.site.base_url.starts_with("file://") {
            bail!(
                "[site] base_url must be an http(s) URL (it goes into links in the email and the feed), not {:?}",
                self.site.base_url
            );
        }
        if self.digest.transport == Transport::Smtp && self.digest.to.is_empty() {
            bail!("[digest] to is empty: name at least one recipient, or set transport = \"file\"");
        }
        let p = &self.paraform;
        check_http("paraform", &p.http(), &SOURCE_HTTP_BOUNDS)?;
        for (name, value, max) in [
            ("max_list_bytes", p.max_list_bytes, MAX_BODY_BYTES),
            ("max_detail_bytes", p.max_detail_bytes, MAX_BODY_BYTES),
        ] {
            if value > max {
                bail!("[paraform] {name} must be at most {max}, not {value}");
            }
        }
        for (name, value) in [
            ("max_list_bytes", p.max_list_bytes),
            ("max_detail_bytes", p.max_detail_bytes),
        ] {
            if value < MIN_BODY_BYTES {
                bail!("[paraform] {name} must be at least {MIN_BODY_BYTES}, not {value}");
            }
        }
        let b = &self.boards;
        for (name, url) in [
            ("greenhouse_url", &b.greenhouse_url),
            ("lever_url", &b.lever_url),
            ("ashby_url", &b.ashby_url),
            ("workable_url", &b.workable_url),
            ("smartrecruiters_url", &b.smartrecruiters_url),
            ("recruitee_url", &b.recruitee_url),
        ] {
            if !web(url) {
                bail!("[boards] {name} must be an http(s) URL, not {url:?}");
            }
        }
        if !b.recruitee_url.contains("{company}") {
            bail!(
                "[boards] recruitee_url must say where the company's name goes, as in \"https://{{company}}.recruitee.com\", not {:?}",
                b.recruitee_url
            );
        }
        check_http("boards", &b.http(), &SOURCE_HTTP_BOUNDS)?;
        if b.max_board_bytes > MAX_BODY_BYTES {
            bail!(
                "[boards] max_board_bytes must be at most {MAX_BODY_BYTES}, not {}",
                b.max_board_bytes
            );
        }
        if b.max_board_bytes < MIN_BODY_BYTES {
            bail!(
                "[boards] max_board_bytes must be at least {MIN_BODY_BYTES}, not {}",
                b.max_board_bytes
            );
        }
        let mut boards_seen = std::collections::HashSet::new();
        let mut careers_hosts: HashMap<String, &str> = HashMap::new();
        for (i, company) in self.companies.iter().enumerate() {
            if company.name.trim().is_empty() {
                bail!("[[companies]] entry {} has no name", i + 1);
            }
            if let Some(url) = &company.careers {
                let Some((_, host)) = company.careers_page() else {
                    bail!(
                        "[[companies]] {:?}: careers = {url:?} is not an http(s) URL such as \"https://acme.com/careers\"",
                        company.name
                    );
                };
                // A careers role's id names its host: one company per host.
                if let Some(other) = careers_hosts.insert(host.clone(), &company.name) {
                    bail!(
                        "[[companies]] {:?}: its careers page is on {host}, as {other:?}'s is; follow one company per careers host",
                        company.name
                    );
                }
            }
            if let Some(pattern) = &company.job_link_pattern {
                let plain = pattern.chars().all(|c| !c.is_control());
                if company.careers.is_none()
                    || pattern.trim().is_empty()
                    || pattern.len() > 200
                    || !plain
                {
                    bail!(
                        "[[companies]] {:?}: job_link_pattern must be a piece of a URL path such as \"/careers/\" (at most 200 characters), beside a careers URL",
                        company.name
                    );
                }
            }
            if let Some(pages) = company.max_pages
                && !(1..=MAX_MAX_PAGES).contains(&pages)
            {
                bail!(
                    "[[companies]] {:?}: max_pages must be between 1 and {MAX_MAX_PAGES}, not {pages}",
                    company.name
                );
            }
            for (source, board) in company.boards() {
                if !is_board_name(board) {
                    bail!(
                        "[[companies]] {:?}: {source} = {board:?} is not a board name (letters, digits, '-', '_' and '.')",
                        company.name
                    );
                }
                if !boards_seen.insert((source, board.to_ascii_lowercase())) {
                    bail!(
                        "[[companies]] {:?}: the {source} board {board:?} is followed twice",
                        company.name
                    );
                }
            }
        }
        let l = &self.llm;
        if !web(&l.base_url) {
            bail!(
                "[llm] base_url must be an http(s) URL such as \"https://openrouter.ai/api/v1\", not {:?}",
                l.base_url
            );
        }
        for (name, value, low, high) in [
            ("temperature", l.temperature, 0.0, 2.0),
            ("briefing_min_score", l.briefing_min_score, 0.0, 1.0),
            ("excitement_band", l.excitement_band[0], 0.0, 1.0),
            ("excitement_band", l.excitement_band[1], 0.0, 1.0),
            ("max_cost_per_run_usd", l.max_cost_per_run_usd, 0.0, 1000.0),
        ] {
            if !(low..=high).contains(&value) {
                bail!("[llm] {name} must be between {low} and {high}, not {value}");
            }
        }
        if l.excitement_band[0] > l.excitement_band[1] {
            bail!(
                "[llm] excitement_band must be [low, high] with low <= high, not {:?}",
                l.excitement_band
            );
        }
        check_http("llm", &l.http(), &MODEL_HTTP_BOUNDS)?;
        for (name, value, low, high) in [
            ("max_tokens", u64::from(l.max_tokens), 16, 1_000_000),
            ("concurrency", l.concurrency as u64, 1, 64),
            (
                "company_cache_days",
                u64::from(l.company_cache_days),
                0,
                3_650,
            ),
            ("max_calls_per_run", l.max_calls_per_run, 0, 1_000_000),
            ("max_run_secs", l.max_run_secs, 1, 86_400),
        ] {
            if !(low..=high).contains(&value) {
                bail!("[llm] {name} must be between {low} and {high}, not {value}");
            }
        }
        for (name, model) in [
            ("intel_model", &l.intel_model),
            ("excitement_model", &l.excitement_model),
            ("briefing_model", &l.briefing_model),
        ] {
            if model.trim().is_empty() || model.len() > 200 {
                bail!("[llm] {name} must name a model, such as \"google/gemini-2.5-flash\"");
            }
        }
        if self.paraform.enabled && !web(&self.paraform.base_url) {
            bail!(
                "[paraform] base_url must be an http(s) URL, not {:?}",
                self.paraform.base_url
            );
        }
        Ok(())
    }

    /// Resolves a configured path against the config file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() || self.base_dir == Path::new(".") {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.resolve(&self.database.path)
    }

    pub fn site_dir(&self) -> PathBuf {
        self.resolve(&self.site.dir)
    }

    pub fn session_file(&self) -> PathBuf {
        self.resolve(&self.paraform.session_file)
    }

    pub fn outbox(&self) -> PathBuf {
        self.resolve(&self.digest.outbox)
    }

    /// `[secrets] env_file`, resolved, when set.
    pub fn env_file(&self) -> Option<PathBuf> {
        self.secrets
            .env_file
            .as_deref()
            .map(|path| self.resolve(path))
    }

    /// The evaluation rules: `[qualification]`, `[scoring]`, and the lists
    /// file named by `[qualification] lists_file` (else the built-in lists).
    pub fn rules(&self) -> Result<Rules> {
        let lists = match &self.qualification.lists_file {
            None => Lists::defaults(),
            Some(file) => {
                let path = self.resolve(file);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the lists file {}", path.display()))?;
                Lists::parse(&text, &path)?
            }
        };
        Ok(Rules {
            qualification: self.qualification.clone(),
            scoring: self.scoring.clone(),
            lists,
        })
    }
}

/// What a section allows of its HTTP numbers besides the shared ceilings
/// (an hour's timeout; an hour's pause or first backoff).
struct HttpBounds {
    min_timeout_secs: u64,
    max_retries: u64,
}

/// `[paraform]` and `[boards]`: a timeout of 0 is read as 1 second.
const SOURCE_HTTP_BOUNDS: HttpBounds = HttpBounds {
    min_timeout_secs: 0,
    max_retries: 100,
};

/// `[llm]`: fewer retries, since each one may be paid for.
const MODEL_HTTP_BOUNDS: HttpBounds = HttpBounds {
    min_timeout_secs: 1,
    max_retries: 20,
};

/// Checks a section's four HTTP numbers, one error naming `[section] key`.
fn check_http(section: &str, http: &HttpConfig, bounds: &HttpBounds) -> Result<()> {
    for (name, value, low, high) in [
        ("request_delay_ms", http.request_delay_ms, 0, 3_600_000),
        ("retry_base_ms", http.retry_base_ms, 0, 3_600_000),
        (
            "timeout_secs",
            http.timeout_secs,
            bounds.min_timeout_secs,
            3_600,
        ),
        (
            "max_retries",
            u64::from(http.max_retries),
            0,
            bounds.max_retries,
        ),
    ] {
        if value > high && low == 0 {
            bail!("[{section}] {name} must be at most {high}, not {value}");
        }
        if !(low..=high).contains(&value) {
            bail!("[{section}] {name} must be between {low} and {high}, not {value}");
        }
    }
    Ok(())
}

/// Bounds of `[paraform] max_list_bytes` and `max_detail_bytes`: below 1 KiB
/// not even an error answer fits; above 1 GiB the cap no longer protects a
/// small machine.
const MIN_BODY_BYTES: u64 = 1024;
const MAX_BODY_BYTES: u64 = 1024 * 1024 * 1024;

/// The commented configuration `init` writes. It parses to `Config::default()`
/// (a unit test holds the two together).
pub const DEFAULT_CONFIG_TOML: &str = r#"# air-demand configuration. Every key shows its default; delete what you do not change.
# Relative paths are resolved against this file's directory.
# Secrets never live here: they come from the environment, the [secrets] env_file,
# or a `.env` file beside this file (values taken literally), in that order:
#   PARAFORM_SESSION_JSON  base64 of a Playwright storage_state (instead of session_file)
#   SMTP_URL               e.g. smtps://user:pass@smtp.mailgun.org:465
#   OPENROUTER_API_KEY     or LLM_API_KEY, for [llm]

[secrets]
# The environment file the service reads (systemd's EnvironmentFile=): named here,
# every command reads it too, so `sudo -u air-demand air-demand digest` sees the
# service's secrets. It must exist and be private: mode 0600, owned by the user
# air-demand runs as (anything readable by group or others is refused).
# env_file = "/etc/air-demand/env"

[database]
path = "data/air-demand.sqlite"

[site]
dir = "site"                                  # what nginx serves
base_url = "https://demand.example.com"       # absolute links in email and feeds

[paraform]
enabled = true
base_url = "https://www.paraform.com"
session_file = "data/paraform_session.json"   # install with `air-demand session login` or `session import FILE`
request_delay_ms = 2000                       # politeness between requests
max_retries = 4                               # on timeouts, connection errors, 429 and 5xx
retry_base_ms = 1000                          # first backoff; doubles on each retry
timeout_secs = 30                             # per request
max_list_bytes = 67108864                     # 64 MiB: a larger list response (or page) fails the run
max_detail_bytes = 8388608                    # 8 MiB: a larger detail response fails that role's detail
fetch_details = true                          # detail call for new/changed roles that pass the hard filters
fetch_description = false                     # also fetch the full description (one more call per such role)
fetch = "auto"                                # direct | browser | auto: direct until Paraform asks for a browser, then headless Chromium

[schedule]
timezone = "UTC"
scrape = ["0 5 * * *", "0 17 * * *"]
digest = ["0 6 * * *"]

[digest]
to = ["me@example.com"]
from = "Air Demand <digest@example.com>"
transport = "smtp"                            # smtp | file | stdout
outbox = "data/outbox"                        # for transport = "file"
send_empty = true                             # send a short "nothing new" digest

[health]
stale_after_hours = 13                        # last good scrape older than this: degraded
unhealthy_after_hours = 24                    # no good scrape for this long: unhealthy
session_warning_days = 7                      # warn (digest, status, alert) before the session expires
alert_after_failed_scrapes = 2                # one alert email per incident, one when it clears

[qualification]
# The defaults reproduce the headhunter's rules (see docs/qualification.md).
# lists_file = "my-lists.toml"               # replaces the built-in reference lists (start from data/reference-lists.toml)
status = "ACTIVE"
min_salary = 200000                           # salaryUpperBound at least this
min_fee_percent = 14
remote_workplace_types = ["remote"]
qualified_min_signals = 3                     # quality signals for QUALIFIED; 1..2 is MAYBE
signal_funding_above = 5000000
signal_stages = ["SEED", "SERIES_A", "SERIES_B", "SERIES_C", "SERIES_D", "SERIES_E"]
signal_size_min = 10
signal_size_max = 500
signal_manager_rating_min = 4
signal_responsiveness_below_days = 3
signal_interview_stages_max = 6

[scoring]
# Fields where Paraform sends 0 for "not set": there 0 takes the missing default.
zero_means_unset = ["hiring_count", "interview_stages", "manager_rating", "percent_fee", "company.size", "company.foundingYear"]
combined_engineer_weight = 0.45
combined_headhunter_weight = 0.55

[scoring.engineer]
compensation = 0.30
company_quality = 0.25
role_impact = 0.20
process = 0.15
tech_modernity = 0.10

[scoring.headhunter]
placement = 0.35
commission = 0.30
competition = 0.20
candidate_fit = 0.15

# Value tables, lists of words and badge values can be overridden too, e.g.
# [scoring.tables.fee]
# bands = [{ min = 20, value = 1.0 }, { min = 15, value = 0.7 }]
# otherwise = 0.3
# See docs/qualification.md for every key.

[llm]
# Model-assisted intel: role intel from the company notes, company excitement,
# briefings (see docs/model.md). Off unless enabled; needs OPENROUTER_API_KEY or
# LLM_API_KEY in the environment (optional for a local Ollama or llama.cpp).
enabled = false
base_url = "https://openrouter.ai/api/v1"    # or http://127.0.0.1:11434/v1 (Ollama)
intel_model = "google/gemini-2.5-flash-lite"
excitement_model = "google/gemini-2.5-flash-lite"
briefing_model = "google/gemini-2.5-flash"
temperature = 0
max_tokens = 4096
timeout_secs = 60
max_retries = 3                               # on 429 (Retry-After honoured), 5xx, timeouts
retry_base_ms = 1000                          # first backoff without a Retry-After; doubles on each retry
request_delay_ms = 0                          # least time between the starts of two calls (0: concurrency paces them)
concurrency = 4
briefing_min_score = 0.80                     # QUALIFIED roles at or above this get a briefing
excitement_band = [0.50, 0.70]                # only an uncertain rules' excitement is asked
company_cache_days = 30
max_calls_per_run = 300                       # then the run stops calling (a warning, not a failure)
max_cost_per_run_usd = 1.0
max_run_secs = 600                            # the run's model phase ends by then, whatever the provider says

[boards]
# The followed companies' own job boards (public APIs, no key): their roles
# are stored beside Paraform's, with versions, changes and safe removals.
enabled = true
greenhouse_url = "https://boards-api.greenhouse.io"
lever_url = "https://api.lever.co"
ashby_url = "https://api.ashbyhq.com"
workable_url = "https://apply.workable.com"
smartrecruiters_url = "https://api.smartrecruiters.com"
recruitee_url = "https://{company}.recruitee.com"   # {company}: the entry's recruitee name
request_delay_ms = 1000                       # one board at a time, this far apart
max_retries = 4                               # on timeouts, connection errors, 429 and 5xx
retry_base_ms = 1000
timeout_secs = 30
max_board_bytes = 16777216                    # 16 MiB: a larger answer fails that board for the run

# One [[companies]] entry per followed company, with any of its board names
# and/or its careers page (docs/companies.md says how to find them):
# [[companies]]
# name = "Supabase"
# ashby = "supabase"
# greenhouse = "..."
# lever = "..."
# workable = "..."
# smartrecruiters = "..."
# recruitee = "..."
# careers = "https://supabase.com/careers"   # schema.org JobPosting on the page or its job pages
# job_link_pattern = "/careers/"             # which links are job pages (default: under the careers path)
# max_pages = 50                             # job pages read per run at most
"#;

/// Secrets and settings from the environment: the process environment, over
/// `[secrets] env_file`, over a `.env` file beside the config. Passed
/// explicitly; never written back to the process environment, never logged.
#[derive(Clone, Default)]
pub struct Env {
    dotenv: BTreeMap<String, String>,
    /// False for an environment that must not see the process's variables
    /// (the demo must not pick up a real session).
    isolated: bool,
}

impl Env {
    /// Reads the config's `[secrets] env_file` (which must exist and be
    /// private) and the `.env` beside the config when present; the env file
    /// wins over `.env`, as the service's environment would. Values are
    /// literal: no `$VAR` expansion, one pair of surrounding quotes removed.
    pub fn load(config: &Config) -> Result<Env> {
        let path = config.base_dir.join(".env");
        let mut dotenv = match std::fs::read_to_string(&path) {
            Ok(text) => parse_dotenv(&text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        };
        if let Some(path) = config.env_file() {
            dotenv.extend(read_env_file(&path)?);
        }
        Ok(Env {
            dotenv,
            isolated: false,
        })
    }

    /// An environment that sees only the given pairs (tests, demo).
    pub fn isolated(pairs: &[(&str, &str)]) -> Env {
        let dotenv = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env {
            dotenv,
            isolated: true,
        }
    }

    pub fn var(&self, name: &str) -> Option<String> {
        let process = if self.isolated {
            None
        } else {
            std::env::var(name).ok()
        };
        process
            .or_else(|| self.dotenv.get(name).cloned())
            .filter(|value| !value.is_empty())
    }
}

/// `[secrets] env_file`: named, so it must be there, readable, and private
/// (its mode is read from the open file, so it is the file that was read).
fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "[secrets] env_file {shown} does not exist: create it with the secrets as KEY=VALUE lines (mode 0600, owned by the user air-demand runs as), or remove the key"
        ),
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => bail!(
            "[secrets] env_file {shown} cannot be read by this user: run air-demand as the service's user (`sudo -u air-demand air-demand ...`), or make that user the file's owner (chown air-demand {shown}; chmod 600 {shown})"
        ),
        Err(err) => {
            return Err(err).with_context(|| format!("reading [secrets] env_file {shown}"));
        }
    };
    let metadata = file
        .metadata()
        .with_context(|| format!("reading [secrets] env_file {shown}"))?;
    if !metadata.is_file() {
        bail!("[secrets] env_file {shown} is not a file: name the environment file itself");
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "[secrets] env_file {shown} has mode {mode:04o}, open to its group or others, and it holds secrets: run `chmod 600 {shown}` (owned by the user air-demand runs as)"
        );
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .with_context(|| format!("reading [secrets] env_file {shown}"))?;
    Ok(parse_dotenv(&text))
}

/// The names only: the values are secrets.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("files", &self.dotenv.keys().collect::<Vec<_>>())
            .field("isolated", &self.isolated)
            .finish()
    }
}

fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let unquoted = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(open, close)| value.strip_prefix(*open)?.strip_suffix(*close))
            .unwrap_or(value);
        pairs.insert(key.trim().to_string(), unquoted.to_string());
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_parses_to_defaults() {
        let parsed = Config::parse(DEFAULT_CONFIG_TOML, Path::new("t.toml")).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn board_names_are_read_in_lower_case() {
        let config = Config::parse(
            "[[companies]]\nname = \"Acme\"\ngreenhouse = \"Acme\"\nlever = \"ACME-inc\"\n",
            Path::new("a"),
        )
        .unwrap();
        assert_eq!(
            config.companies[0].boards(),
            [("greenhouse", "acme"), ("lever", "acme-inc")]
        );
    }

    #[test]
    fn a_careers_page_is_read_with_its_host_and_checked() {
        let config = Config::parse(
            "[[companies]]\nname = \"Acme\"\ncareers = \"https://Acme.com/careers\"\njob_link_pattern = \"/jobs/\"\n\n[[companies]]\nname = \"Globex\"\nashby = \"globex\"\ncareers = \"http://jobs.globex.io/\"\nmax_pages = 5\n",
            Path::new("a"),
        )
        .unwrap();
        let (url, host) = config.companies[0].careers_page().unwrap();
        assert_eq!(
            (url.as_str(), host.as_str()),
            ("https://acme.com/careers", "acme.com")
        );
        assert_eq!(config.companies[0].max_pages(), DEFAULT_MAX_PAGES);
        assert_eq!(config.companies[1].max_pages(), 5);
        assert_eq!(
            config.companies[1].careers_page().unwrap().1,
            "jobs.globex.io"
        );
        for (text, expected) in [
            (
                "name = \"A\"\ncareers = \"acme.com/careers\"",
                "not an http(s) URL",
            ),
            (
                "name = \"A\"\ncareers = \"ftp://acme.com/\"",
                "not an http(s) URL",
            ),
            (
                "name = \"A\"\njob_link_pattern = \"/jobs/\"",
                "beside a careers URL",
            ),
            (
                "name = \"A\"\ncareers = \"https://a.com/\"\njob_link_pattern = \" \"",
                "job_link_pattern",
            ),
            (
                "name = \"A\"\ncareers = \"https://a.com/\"\nmax_pages = 0",
                "max_pages must be between 1",
            ),
            (
                "name = \"A\"\ncareers = \"https://a.com/x\"\n[[companies]]\nname = \"B\"\ncareers = \"https://A.com/y\"",
                "one company per careers host",
            ),
        ] {
            let text = format!("[[companies]]\n{text}\n");
            let err = Config::parse(&text, Path::new("a")).unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{text}: {err:#}");
        }
    }

    #[test]
    fn boards_and_companies_are_checked_when_read() {
        let config = Config::parse(
            "[boards]\nrequest_delay_ms = 0\n\n[[companies]]\nname = \"Supabase\"\nashby = \"supabase\"\n\n[[companies]]\nname = \"Acme\"\ngreenhouse = \"acme\"\nlever = \"acme-inc\"\n",
            Path::new("a"),
        )
        .unwrap();
        assert_eq!(config.boards.request_delay_ms, 0);
        assert_eq!(config.companies[0].boards(), [("ashby", "supabase")]);
        assert_eq!(
            config.companies[1].boards(),
            [("greenhouse", "acme"), ("lever", "acme-inc")]
        );
        for (text, expected) in [
            ("[[companies]]\nname = \" \"\n", "entry 1 has no name"),
            (
                "[[companies]]\nname = \"A\"\nashby = \"../x\"\n",
                "is not a board name",
            ),
            (
                "[[companies]]\nname = \"A\"\nashby = \"a\"\n[[companies]]\nname = \"B\"\nashby = \"A\"\n",
                "followed twice",
            ),
            ("[[companies]]\nname = \"A\"\nworkday = \"a\"\n", "workday"),
            ("[boards]\nlever_url = \"ftp://x\"\n", "[boards] lever_url"),
        ] {
            let err = Config::parse(text, Path::new("a")).unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{text}: {err:#}");
        }
    }

    #[test]
    fn llm_settings_are_checked_when_read() {
        let config = Config::parse(
            "[llm]\nenabled = true\nbase_url = \"http://127.0.0.1:11434/v1\"\nexcitement_band = [0.4, 0.8]\n",
            Path::new("a"),
        )
        .unwrap();
        assert!(config.llm.enabled && config.llm.is_local());
        assert_eq!(config.llm.excitement_band, [0.4, 0.8]);
        assert!(!LlmConfig::default().is_local());
        for (text, expected) in [
            ("[llm]\nexcitement_band = [0.8, 0.4]\n", "low <= high"),
            (
                "[llm]\nconcurrency = 0\n",
                "[llm] concurrency must be between 1 and 64",
            ),
            (
                "[llm]\nbase_url = \"file:///x\"\n",
                "[llm] base_url must be an http(s) URL",
            ),
            (
                "[llm]\nmax_cost_per_run_usd = nan\n",
                "[llm] max_cost_per_run_usd",
            ),
            (
                "[llm]\nbriefing_model = \"\"\n",
                "[llm] briefing_model must name a model",
            ),
            ("[llm]\nmodel = \"x\"\n", "model"),
        ] {
            let err = format!("{:#}", Config::parse(text, Path::new("a")).unwrap_err());
            assert!(err.contains(expected), "{expected:?} not in {err}");
        }
        let env = Env::isolated(&[("OPENROUTER_API_KEY", "or-key"), ("LLM_API_KEY", "other")]);
        assert_eq!(LlmConfig::default().api_key(&env).as_deref(), Some("other"));
        let env = Env::isolated(&[("OPENROUTER_API_KEY", "or-key")]);
        assert_eq!(
            LlmConfig::default().api_key(&env).as_deref(),
            Some("or-key")
        );
    }

    #[test]
    fn the_three_http_sections_keep_their_defaults() {
        let config = Config::default();
        let check = |http: HttpConfig, expected: [u64; 4]| {
            let got = [
                http.timeout_secs,
                u64::from(http.max_retries),
                http.retry_base_ms,
                http.request_delay_ms,
            ];
            assert_eq!(got, expected, "timeout, retries, backoff, pause");
        };
        check(config.paraform.http(), [30, 4, 1000, 2000]);
        check(config.boards.http(), [30, 4, 1000, 1000]);
        check(config.llm.http(), [60, 3, 1000, 0]);
    }

    #[test]
    fn the_http_keys_are_read_and_checked_alike_in_each_section() {
        for section in ["paraform", "boards", "llm"] {
            let text = format!(
                "[{section}]\ntimeout_secs = 7\nmax_retries = 2\nretry_base_ms = 5\nrequest_delay_ms = 3\n"
            );
            let config = Config::parse(&text, Path::new("a")).unwrap();
            let http = match section {
                "paraform" => config.paraform.http(),
                "boards" => config.boards.http(),
                _ => config.llm.http(),
            };
            let expected = HttpConfig {
                timeout_secs: 7,
                max_retries: 2,
                retry_base_ms: 5,
                request_delay_ms: 3,
            };
            assert_eq!(http, expected, "[{section}]");
            // `deny_unknown_fields` still holds for every section.
            let err = Config::parse(
                &format!("[{section}]\nretry_base = 5\n"),
                Path::new("a.toml"),
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("a.toml line 2") && err.contains("unknown field `retry_base`"),
                "[{section}]: {err}"
            );
            for (key, value, high) in [
                ("retry_base_ms", 3_600_001, 3_600_000),
                ("request_delay_ms", 3_600_001, 3_600_000),
                ("timeout_secs", 3_601, 3_600),
            ] {
                let text = format!("[{section}]\n{key} = {value}\n");
                let err = format!("{:#}", Config::parse(&text, Path::new("a")).unwrap_err());
                let expected = format!("[{section}] {key} must be");
                assert!(err.contains(&expected), "{expected:?} not in {err}");
                assert!(err.ends_with(&format!("{high}, not {value}")), "{err}");
            }
        }
        // The model's own bounds: a timeout of at least a second, fewer retries.
        for (text, expected) in [
            (
                "[llm]\ntimeout_secs = 0\n",
                "[llm] timeout_secs must be between 1 and 3600, not 0",
            ),
            (
                "[llm]\nmax_retries = 21\n",
                "[llm] max_retries must be at most 20, not 21",
            ),
            (
                "[boards]\nmax_retries = 101\n",
                "[boards] max_retries must be at most 100, not 101",
            ),
        ] {
            let err = format!("{:#}", Config::parse(text, Path::new("a")).unwrap_err());
            assert!(err.contains(expected), "{expected:?} not in {err}");
        }
        Config::parse("[paraform]\ntimeout_secs = 0\n", Path::new("a")).unwrap();
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = Config::parse("[paraform]\nrequest_delay = 5\n", Path::new("a.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.toml line 2"), "{err}");
        assert!(err.contains("request_delay"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key_and_the_type_wanted() {
        let check = |text: &str, expected: &str| {
            let err = Config::parse(text, Path::new("a.toml"))
                .unwrap_err()
                .to_string();
            assert_eq!(err, expected);
        };
        check(
            "[paraform]\nrequest_delay_ms = \"fast\"\n",
            "a.toml line 2: [paraform] request_delay_ms must be a whole number of 0 or more (u64), not the string \"fast\"",
        );
        check(
            "[paraform]\nmax_retries = -1\n",
            "a.toml line 2: [paraform] max_retries must be a whole number of 0 or more (u32), not the integer `-1`",
        );
        check(
            "[paraform]\nenabled = \"yes\"\n",
            "a.toml line 2: [paraform] enabled must be true or false, not the string \"yes\"",
        );
        check(
            "[scoring.engineer]\ncompensation = \"high\"\n",
            "a.toml line 2: [scoring.engineer] compensation must be a number, not the string \"high\"",
        );
        check(
            "[digest]\nto = \"me@example.com\"\n",
            "a.toml line 2: [digest] to must be a list in square brackets, not the string \"me@example.com\"",
        );
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let config = Config::parse("[paraform]\nrequest_delay_ms = 5\n", Path::new("a")).unwrap();
        assert_eq!(config.paraform.request_delay_ms, 5);
        assert_eq!(config.paraform.max_retries, 4);
        assert_eq!(config.database, DatabaseConfig::default());
    }

    #[test]
    fn values_that_would_break_later_are_refused_when_read() {
        let check = |text: &str, expected: &str| {
            let err = format!(
                "{:#}",
                Config::parse(text, Path::new("a.toml")).unwrap_err()
            );
            assert!(err.contains(expected), "{expected:?} not in {err}");
        };
        check(
            "[scoring]\ncombined_engineer_weight = nan\n",
            "combined_engineer_weight must be between 0 and 1",
        );
        check(
            "[scoring.engineer]\nprocess = inf\n",
            "engineer.process must be between 0 and 1",
        );
        check(
            "[site]\nbase_url = \"javascript:alert(1)\"\n",
            "[site] base_url must be an http(s) URL",
        );
        check("[digest]\nto = []\n", "[digest] to is empty");
        check(
            "[health]\nstale_after_hours = -1\n",
            "[health] stale_after_hours",
        );
        check(
            "[paraform]\nbase_url = \"ftp://x\"\n",
            "[paraform] base_url must be an http(s) URL",
        );
        Config::parse("[digest]\nto = []\ntransport = \"file\"\n", Path::new("a")).unwrap();
    }

    #[test]
    fn values_the_types_refuse_name_file_line_and_key() {
        let check = |text: &str, expected: &[&str]| {
            let err = format!(
                "{:#}",
                Config::parse(text, Path::new("a.toml")).unwrap_err()
            );
            for part in expected {
                assert!(err.contains(part), "{part:?} not in {err}");
            }
        };
        check(
            "[digest]\ntransport = \"pigeon\"\n",
            &["a.toml line 2", "[digest] transport", "pigeon", "`smtp`"],
        );
        check(
            "[schedule]\ntimezone = \"Mars/Olympus\"\n",
            &["a.toml line 2", "[schedule] timezone", "IANA"],
        );
        check(
            "[schedule]\n\ndigest = [\"0 6 * * *\", \"61 * * * *\"]\n",
            &["a.toml line 3", "[schedule] digest", "\"61 * * * *\""],
        );
        // Parsed once, typed: the scheduler gets zones and crons, not text.
        let config = Config::parse(
            "[schedule]\ntimezone = \"America/New_York\"\n",
            Path::new("a"),
        )
        .unwrap();
        assert_eq!(config.schedule.timezone, chrono_tz::America::New_York);
        assert_eq!(config.schedule.scrape.len(), 2);
        assert_eq!(config.digest.transport, Transport::Smtp);
    }

    #[test]
    fn body_caps_are_read_and_bounded() {
        let config = Config::parse(
            "[paraform]\nmax_list_bytes = 2048\nmax_detail_bytes = 1024\n",
            Path::new("a"),
        )
        .unwrap();
        assert_eq!(config.paraform.max_list_bytes, 2048);
        assert_eq!(config.paraform.max_detail_bytes, 1024);
        for (text, expected) in [
            (
                "[paraform]\nmax_list_bytes = 0\n",
                "[paraform] max_list_bytes must be at least 1024, not 0",
            ),
            (
                "[paraform]\nmax_detail_bytes = 2000000000\n",
                "[paraform] max_detail_bytes must be at most 1073741824, not 2000000000",
            ),
        ] {
            let err = format!("{:#}", Config::parse(text, Path::new("a")).unwrap_err());
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn the_env_file_is_private_named_and_wins_over_dotenv() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = |extra: &str| {
            let mut config = Config::parse(extra, Path::new("a.toml")).unwrap();
            config.base_dir = dir.path().to_path_buf();
            config
        };
        let named = config("[secrets]\nenv_file = \"secrets/env\"\n");
        assert_eq!(named.env_file(), Some(dir.path().join("secrets/env")));
        let err = format!("{:#}", Env::load(&named).unwrap_err());
        assert!(err.contains("does not exist"), "{err}");
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        let file = dir.path().join("secrets/env");
        std::fs::write(&file, "A_SECRET_ONE=from-file\nB_SECRET_ONE='file'\n").unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "A_SECRET_ONE=from-dotenv\nC_SECRET_ONE=dotenv\n",
        )
        .unwrap();
        for mode in [0o640, 0o604, 0o620, 0o666] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = format!("{:#}", Env::load(&named).unwrap_err());
            assert!(
                err.contains(&format!("mode {mode:04o}")) && err.contains("chmod 600"),
                "{err}"
            );
            assert!(!err.contains("from-file"), "a value in the error: {err}");
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let env = Env::load(&named).unwrap();
        assert_eq!(env.var("A_SECRET_ONE").as_deref(), Some("from-file"));
        assert_eq!(env.var("B_SECRET_ONE").as_deref(), Some("file"));
        assert_eq!(env.var("C_SECRET_ONE").as_deref(), Some("dotenv"));
        let shown = format!("{env:?}");
        assert!(
            shown.contains("A_SECRET_ONE") && !shown.contains("from-file"),
            "{shown}"
        );
        // Not named: only `.env`.
        let env = Env::load(&config("")).unwrap();
        assert_eq!(env.var("A_SECRET_ONE").as_deref(), Some("from-dotenv"));
        assert_eq!(env.var("B_SECRET_ONE"), None);
        let err = format!(
            "{:#}",
            Env::load(&config("[secrets]\nenv_file = \".\"\n")).unwrap_err()
        );
        assert!(err.contains("is not a file"), "{err}");
    }

    #[test]
    fn dotenv_values_are_literal() {
        let pairs = parse_dotenv(
            "# comment\nA=1\nexport B=\"two words\"\nC='$HOME'\nD=$HOME\n\nbroken line\n",
        );
        assert_eq!(pairs["A"], "1");
        assert_eq!(pairs["B"], "two words");
        assert_eq!(pairs["C"], "$HOME");
        assert_eq!(pairs["D"], "$HOME");
        assert_eq!(pairs.len(), 4);
    }
}
