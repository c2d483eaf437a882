//! What the site shows, read from the database and shaped for display: every
//! value the templates print is prepared here as text (escaped later by
//! askama), with a numeric sort key beside it for the table script.

pub mod cache;
pub mod companies;
pub mod fields;

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::evaluate::{Tier, Trend};
use crate::llm::{Briefing, StoredBriefing, is_gap};
use crate::role::{format_number, number_at, plausible_salary, strings_at, text_at};
use crate::rules::Lists;
use crate::store::{CachedAnswer, ChangeRow, Db, RoleStatus, RunRow, SiteRole, VersionRow};
use crate::track::ChangeKind;

/// Recent changes shown on the changes page and in the feed.
pub const CHANGE_DAYS: i64 = 30;
/// "NEW" badge: first seen within this many hours.
pub const NEW_HOURS: i64 = 24;

/// Everything one build of the site needs.
pub struct SiteData {
    pub generated_at: DateTime<Utc>,
    pub header: Header,
    /// Active roles: tier order, then combined score.
    pub roles: Vec<RoleView>,
    pub gone: Vec<RoleView>,
    /// The followed companies' board roles, active and gone (SPEC §3a):
    /// company signals, kept out of the role tables above.
    pub board_roles: Vec<RoleView>,
    /// What each Paraform role's page says of its company's own board
    /// (`companies::board_status`), by role id; filled by the build.
    pub board_status: HashMap<String, String>,
    /// Recent changes by day, newest day first.
    pub days: Vec<ChangeDay>,
    /// Newest first.
    pub runs: Vec<RunRow>,
    /// Oldest first, for charts.
    pub all_runs: Vec<RunRow>,
    /// Model-written briefings by role id, read once per build.
    pub briefings: HashMap<String, StoredBriefing>,
    pub database_bytes: u64,
    pub schema_version: i64,
    /// The reference lists, for the names of places and stages.
    pub lists: Lists,
    /// How many views were read from the database, not kept.
    pub views_read: usize,
}

#[cfg(test)]
impl SiteData {
    /// A site with nothing in it, as of `now`, for tests.
    pub(crate) fn empty(now: DateTime<Utc>) -> SiteData {
        SiteData {
            generated_at: now,
            header: Header::default(),
            roles: Vec::new(),
            gone: Vec::new(),
            board_roles: Vec::new(),
            board_status: HashMap::new(),
            days: Vec::new(),
            runs: Vec::new(),
            all_runs: Vec::new(),
            briefings: HashMap::new(),
            database_bytes: 0,
            schema_version: 1,
            lists: Lists::defaults(),
            views_read: 0,
        }
    }
}

/// The numbers and times in every page's header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Header {
    /// Whether the page shows the line of counts and times below. Role
    /// pages do not: they change only when their role does.
    pub stats: bool,
    /// When the data was last refreshed (the newest run), `2025-12-19 12:24 UTC`
    pub updated: String,
    pub updated_iso: String,
    pub active: usize,
    pub qualified: usize,
    pub new_today: usize,
    pub gone_today: usize,
    pub last_run_status: String,
}

/// A role as the tables and its page show it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoleView {
    pub id: String,
    /// The role page, relative to the site root: `roles/<file>.html`.
    pub page: String,
    pub title: String,
    pub company: String,
    /// The Paraform page, only if it is an http(s) URL.
    pub url: Option<String>,
    /// `active`, `gone`, or `unfollowed` (a board role closed because its
    /// board is no longer followed: not open, and not gone from the board).
    pub status: &'static str,
    /// The stored tier (`LOCATION_UNCERTAIN`), or `UNRATED`.
    pub tier: &'static str,
    /// For people: `LOCATION UNCERTAIN`.
    pub tier_label: &'static str,
    /// `qualified`, `maybe`, `location-uncertain`, `skip`, `unrated` (CSS class, filter value).
    pub tier_key: &'static str,
    /// Best first: the tier's rank, unrated last.
    pub tier_rank: u8,
    /// QUALIFIED or MAYBE.
    pub qualified: bool,
    pub score: f64,
    /// The days behind `age_text`; `None` when neither time reads.
    pub age_days: Option<i64>,
    pub salary_sort: f64,
    pub fee: f64,
    pub openings_sort: f64,
    pub raised_sort: f64,
    pub rating_sort: f64,
    pub responsiveness_sort: f64,
    pub trend: Option<Trend>,
    pub is_new: bool,
    /// The verdict's reasons and signals, a line each.
    pub reasons: Lines,
    pub signals: Lines,
    pub gone_at: Option<String>,
    /// Days between first seen and gone (or now).
    pub days_open: i64,
    /// The texts for people (`score_text()`, `locations()`, …; [`Text`]),
    /// in one buffer: a build holds 100,000 views at once.
    #[serde(flatten)]
    pub texts: Texts,
    /// The figures and lists above as values, for `roles.json`.
    pub facts: RoleFacts,
    /// Changes whenever something the role's page shows of the stored role
    /// does ([`page_key`]); the site rewrites a page only then.
    #[serde(skip)]
    pub page_key: u64,
    /// What the view's moving parts are computed from ([`RoleView::at`]).
    #[serde(skip)]
    pub moving: Moving,
}

/// What a view shows that moves without its role's row being written: the
/// clock (its age, its NEW mark, the days it was open) and the two
/// volatile fields a view shows (when the manager was last active, how fast
/// they respond). A view kept from an earlier build ([`cache`]) is brought
/// up to date by [`RoleView::at`], which is also how a fresh view gets
/// them: the two can never differ.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moving {
    /// The page key of everything but the responsiveness ([`page_key`]).
    pub base_key: u64,
    /// Posted, else first seen: where the age counts from.
    pub age_from: Option<DateTime<Utc>>,
    pub first_seen: Option<DateTime<Utc>>,
    /// Gone at: where the age and the days open stop.
    pub gone: Option<DateTime<Utc>>,
    /// Its role's stamp (`role_stamps`) when the view was read.
    pub stamp: Option<i64>,
    /// The JSON of the volatile fields the view's texts were made from,
    /// hashed ([`volatile_key`]): only ever compared.
    pub volatile: u64,
    /// Where its list rows, made from the view as it was read, are kept
    /// (`site::lists`); `None` for a view read again, whose rows are made.
    pub rows: Option<RowsAt>,
}

/// Where a view's list rows are in the file of kept rows: from byte `at`,
/// its index row (empty unless qualified), all-roles row, `roles.json`
/// entry and `roles.csv` record, one after the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowsAt {
    pub at: u64,
    pub lens: [u32; 4],
}

impl RowsAt {
    /// The bytes of all four.
    pub fn len(&self) -> u64 {
        self.lens.iter().map(|&len| u64::from(len)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RoleView {
    /// The view as of `now`, with the volatile fields it shows as the
    /// role's JSON has them (`manager_last_active`, `responsiveness_days`,
    /// `None` when absent).
    pub fn at(
        mut self,
        now: DateTime<Utc>,
        last_active: Option<&Value>,
        responsiveness: Option<&Value>,
    ) -> RoleView {
        use std::hash::{Hash, Hasher};
        self.tick(now);
        let moving = &self.moving;
        let last_active_json = last_active;
        let last_active = last_active
            .and_then(crate::role::text_of)
            .and_then(|t| crate::role::normalize_timestamp(&t));
        let days = responsiveness.and_then(crate::role::number);
        self.responsiveness_sort = days.unwrap_or(f64::MAX).min(1e9);
        let mut hasher = std::hash::DefaultHasher::new();
        moving.base_key.hash(&mut hasher);
        responsiveness.map(Value::to_string).hash(&mut hasher);
        self.page_key = hasher.finish();
        self.moving.volatile = volatile_key(
            last_active_json.map(Value::to_string).as_deref(),
            responsiveness.map(Value::to_string).as_deref(),
        );
        self.texts = self.texts.with(&[
            (
                Text::age_text,
                &self.age_days.map(|d| format!("{d}d")).unwrap_or_default(),
            ),
            (Text::last_active, &date_only(last_active.as_deref())),
            (
                Text::last_active_sort,
                last_active.as_deref().unwrap_or_default(),
            ),
            (
                Text::responsiveness_text,
                &days
                    .map(|d| format!("{}d", format_number((d * 10.0).round() / 10.0)))
                    .unwrap_or_default(),
            ),
        ]);
        self
    }

    /// The age, NEW mark and days open as of `now` (not the age's text).
    fn tick(&mut self, now: DateTime<Utc>) {
        let moving = &self.moving;
        let end = moving.gone.unwrap_or(now);
        self.age_days = moving.age_from.map(|at| (end - at).num_days().max(0));
        self.is_new = moving
            .first_seen
            .is_some_and(|at| at >= now - Duration::hours(NEW_HOURS));
        self.days_open = moving
            .first_seen
            .map(|at| (end - at).num_days())
            .unwrap_or(0);
    }

    /// [`RoleView::at`] with the volatile fields as JSON text
    /// (`role_stamps`): when they and the age are what the view shows
    /// already, nothing is parsed or made again.
    pub fn at_json(
        mut self,
        now: DateTime<Utc>,
        last_active: Option<&str>,
        responsiveness: Option<&str>,
    ) -> RoleView {
        let shown = self.age_days;
        self.tick(now);
        let volatile = volatile_key(last_active, responsiveness);
        if self.age_days == shown && self.moving.volatile == volatile {
            return self;
        }
        let json = |text: Option<&str>| -> Option<Value> { serde_json::from_str(text?).ok() };
        let mut view = self.at(
            now,
            json(last_active).as_ref(),
            json(responsiveness).as_ref(),
        );
        view.moving.volatile = volatile;
        view
    }
}

/// What [`Moving::volatile`] holds of the volatile fields' JSON.
fn volatile_key(last_active: Option<&str>, responsiveness: Option<&str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    (last_active, responsiveness).hash(&mut hasher);
    hasher.finish()
}

/// Lines of text in one string, for the lists a view holds (reasons,
/// signals, investors, places): one allocation, not one a line. Empty
/// lines are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines(String);

impl Lines {
    /// Each of `lines`, which must be one line each (`text::one_line`).
    pub fn of<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> Lines {
        let mut text = String::new();
        for line in lines {
            let line = line.as_ref();
            if line.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line);
        }
        // Grown by doubling, it could hold twice its length: 100,000 views
        // hold four lists each.
        text.shrink_to_fit();
        Lines(text)
    }

    pub fn iter(&self) -> std::str::Lines<'_> {
        self.0.lines()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Lines {
    type Item = &'a str;
    type IntoIter = std::str::Lines<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A list of strings, as the `Vec` it stands for.
impl Serialize for Lines {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A [`RoleView`]'s texts, each read by the view's method of its name.
macro_rules! view_texts {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// One of a [`RoleView`]'s texts for people.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types)]
        pub enum Text {
            $($(#[$doc])* $name),*
        }

        impl Text {
            const NAMES: &[&str] = &[$(stringify!($name)),*];
            const COUNT: usize = Text::NAMES.len();
        }

        impl RoleView {
            $($(#[$doc])* pub fn $name(&self) -> &str {
                self.texts.get(Text::$name)
            })*
        }
    };
}

view_texts!(
    /// What the role page says of it: `Active`, `Paused` (Paraform's own
    /// status), `Gone from the market`, `No longer followed`.
    market_status,
    score_text,
    engineer_text,
    headhunter_text,
    excitement_text,
    posted,
    posted_sort,
    /// Days on the market (since posted, else since first seen, until gone
    /// or now): `12d`, the index's Age column.
    age_text,
    salary_text,
    fee_text,
    openings,
    raised_text,
    investors,
    stage,
    /// Raw stage slug, the filter value.
    stage_key,
    tech,
    industry,
    experience,
    rating_text,
    last_active,
    last_active_sort,
    responsiveness_text,
    locations,
    /// Space-separated filter keys: `nyc`, `london`, `remote`, `other`, `none`.
    location_keys,
    first_seen,
    last_seen,
);

/// A view's texts in one string: one allocation, not one per text.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    text: String,
    /// Where each text ends in `text`, by [`Text`]; empty when never set.
    ends: [u32; Text::COUNT],
}

impl Texts {
    /// The texts given, the others empty.
    pub fn of(texts: &[(Text, &str)]) -> Texts {
        let mut ordered = [""; Text::COUNT];
        for &(name, text) in texts {
            ordered[name as usize] = text;
        }
        Texts::in_order(ordered)
    }

    /// These texts with `changes` in place of theirs.
    pub fn with(&self, changes: &[(Text, &str)]) -> Texts {
        let mut ordered: [&str; Text::COUNT] = std::array::from_fn(|at| self.at(at));
        for &(name, text) in changes {
            ordered[name as usize] = text;
        }
        Texts::in_order(ordered)
    }

    /// The texts, by [`Text`].
    fn in_order(ordered: [&str; Text::COUNT]) -> Texts {
        let mut all = String::with_capacity(ordered.iter().map(|t| t.len()).sum());
        let mut ends = [0; Text::COUNT];
        for (end, text) in ends.iter_mut().zip(ordered) {
            all.push_str(text);
            // A view's texts are each cut to a line; 4 GB is not one.
            *end = u32::try_from(all.len()).unwrap_or(u32::MAX);
        }
        Texts { text: all, ends }
    }

    fn at(&self, at: usize) -> &str {
        let start = if at == 0 { 0 } else { self.ends[at - 1] } as usize;
        let end = self.ends[at] as usize;
        self.text.get(start..end).unwrap_or_default()
    }

    pub fn get(&self, name: Text) -> &str {
        self.at(name as usize)
    }
}

/// Each text by its name, as the fields they were.
impl Serialize for Texts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(Text::COUNT))?;
        for (at, name) in Text::NAMES.iter().enumerate() {
            map.serialize_entry(name, self.at(at))?;
        }
        map.end()
    }
}

/// A role's figures and lists as values (the texts of [`RoleView`] are for
/// people): numbers as numbers, lists as lists, `None` when not set.
/// `roles.json` and `export --format json` write them so.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoleFacts {
    pub combined_score: Option<f64>,
    pub engineer_score: Option<f64>,
    pub headhunter_score: Option<f64>,
    pub excitement_score: Option<f64>,
    /// Dollars a year; both `None` when a bound is not plausible
    /// (`role::plausible_salary`: the salary is shown as "unreadable").
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    pub fee_percent: Option<f64>,
    pub openings: Option<f64>,
    /// The company's funding in dollars, read from its text (`$25M`).
    pub raised_usd: Option<f64>,
    pub investors: Lines,
    /// Places, as the pages name them; the workplace type apart.
    pub locations: Lines,
    pub workplace: Option<String>,
}

impl RoleView {
    /// A Paraform role (the others are company board roles).
    pub fn is_paraform(&self) -> bool {
        self.id.starts_with("paraform:")
    }

    /// Lower-case text the search box matches (made when a table row is
    /// written, not held: 100,000 views are held at once).
    pub fn search(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.company,
            self.title,
            self.investors(),
            self.tech(),
            self.industry(),
            self.locations()
        )
        .to_lowercase()
    }

    /// Whether its tier rests on the model's reading (the reason
    /// `evaluate::TIER_FROM_MODEL_REASON` says so): pages and the digest
    /// mark such a tier "model".
    pub fn tier_from_model(&self) -> bool {
        crate::evaluate::rests_on_model(&self.reasons)
    }

    /// The view with its tier's text, CSS key, rank and "qualified", all
    /// from the tier (`None`: not evaluated yet, shown as UNRATED).
    pub fn with_tier(self, tier: Option<Tier>) -> RoleView {
        RoleView {
            tier: tier.map_or("UNRATED", Tier::as_str),
            tier_label: tier.map_or("UNRATED", Tier::label),
            tier_key: tier.map_or("unrated", Tier::key),
            tier_rank: tier.map_or(Tier::ALL.len() as u8, Tier::rank),
            qualified: tier.is_some_and(Tier::is_qualified),
            ..self
        }
    }
}

/// The role page's extra material.
#[derive(Debug, Clone)]
pub struct RoleDetail {
    /// Every field of the latest source JSON, flattened: (`company.name`, `Examplar Labs`).
    pub fields: fields::Fields,
    pub breakdown: Vec<ScoreView>,
    /// Sanitised HTML (allow-listed tags, no scripts, no handlers, http(s) links only).
    pub company_notes_html: Option<String>,
    pub selling_points_html: Option<String>,
    pub description_html: Option<String>,
    pub equity: Option<String>,
    pub requirements: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoreView {
    pub name: String,
    pub value: String,
    pub components: Vec<ComponentView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentView {
    pub name: String,
    /// `0.30 ×`, or `+` for excitement's additive parts.
    pub weight: String,
    pub value: String,
    pub detail: String,
}

/// A role's briefing as its page shows it. Every string was written by a
/// model: untrusted like scraped text (cleaned here, escaped by askama,
/// never `|safe`) and unchecked, so its provenance is printed beside it.
#[derive(Debug, Clone)]
pub struct BriefingView {
    /// The model that wrote it, as the cache recorded it.
    pub model: String,
    /// When it was written: `2025-12-19T12:00:00Z`, and `2025-12-19`.
    pub created_at: String,
    pub date: String,
    /// Parts that are still `[RESEARCH NEEDED]`, of how many (`Briefing::gaps`).
    pub gaps: usize,
    pub total: usize,
    /// Problem, Credibility, Role, Requirements, Interview, Red flags.
    pub sections: Vec<BriefingSectionView>,
}

/// One heading of a briefing and its lines, in reading order.
#[derive(Debug, Clone)]
pub struct BriefingSectionView {
    pub name: &'static str,
    pub lines: Vec<BriefingLineView>,
}

/// A label and its text, or its list when the model gave several items.
#[derive(Debug, Clone)]
pub struct BriefingLineView {
    pub label: &'static str,
    /// Never empty: a part the model left empty shows as one gap item.
    pub items: Vec<BriefingItemView>,
    /// Shown as a list (more than one item).
    pub list: bool,
    /// Every item is a gap (the whole part is still to research).
    pub gap: bool,
}

#[derive(Debug, Clone)]
pub struct BriefingItemView {
    pub text: String,
    /// A `[RESEARCH NEEDED: …]` item (or an empty one): marked on the page.
    pub gap: bool,
}

/// One day of the changes page.
#[derive(Debug, Clone)]
pub struct ChangeDay {
    /// `Fri 19 Dec 2025`
    pub label: String,
    pub date: String,
    /// The newest [`MAX_CHANGES_SHOWN_PER_DAY`] of the day's changes.
    pub changes: Vec<ChangeView>,
    /// All of the day's changes, and how many were new roles and gone ones.
    pub total: usize,
    pub new: usize,
    pub gone: usize,
}

/// The changes a day lists on the site; the others are counted. A cold
/// start of 100,000 roles is 100,000 "new" rows in one day, which no one
/// reads and every build would hold.
pub const MAX_CHANGES_SHOWN_PER_DAY: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct ChangeView {
    pub id: i64,
    pub detected_at: String,
    /// `12:24`
    pub time: String,
    pub kind: ChangeKind,
    /// `new`, `gone`, `back`, `up`, `down`, `neutral`, `tier` (CSS class).
    pub kind_class: String,
    /// `Salary up`, `New role`, …
    pub label: String,
    /// The field in people's words (`Salary max`), empty when none.
    pub field: String,
    /// Values in people's words (`$210K`, `United Kingdom`), `not set`
    /// where missing, empty for a change without values.
    pub old_value: String,
    pub new_value: String,
    /// `Paraform`, or the company board it came from (`Greenhouse`).
    pub source: &'static str,
    pub role_id: String,
    pub page: String,
    pub title: String,
    pub company: String,
    /// The role's trend now (hired, surging, stalled).
    pub trend: Option<Trend>,
    pub run_id: Option<i64>,
}

impl ChangeView {
    /// The change in people's words (`Salary max $210K → $225K`), or its
    /// label (`New role`) when it has no values: what the feed and the
    /// digest say of it.
    pub fn line(&self) -> String {
        let said = crate::vocab::Said {
            field: self.field.clone(),
            old: self.old_value.clone(),
            new: self.new_value.clone(),
        }
        .line();
        if said.is_empty() {
            self.label.clone()
        } else {
            said
        }
    }
}

/// A version of a role and the changes it brought.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub number: usize,
    pub observed_at: String,
    pub changes: Vec<ChangeView>,
}

/// A [`RoleView`]'s `status` for a gone board role closed because its
/// board is no longer followed (`SiteRole::unfollowed`): not gone from it.
pub const UNFOLLOWED: &str = "unfollowed";

/// Roles read from the database per batch, by the site build, the digest
/// and `export`: what is held is one batch of JSON and every role's view.
pub const ROLE_BATCH: usize = 500;

/// Every role's view, best first (active, then gone; [`best_first`]), read
/// a batch at a time and computed on all cores.
pub fn role_views(db: &Db, lists: &Lists, now: DateTime<Utc>) -> Result<Vec<RoleView>> {
    // Sized once: 100,000 views are 100 MB before their strings, and a
    // vector that doubles its way there copies them all, twice.
    let count = db.count_rows("roles")?;
    let mut views = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    db.site_roles_in_batches(false, ROLE_BATCH, |batch| {
        views.extend(par_map(&batch, |role| role_view(role, lists, now)));
        Ok(())
    })?;
    // Sorted here, not by SQLite: its sorter would carry every role's JSON
    // through a temporary file.
    views.sort_unstable_by(best_first);
    Ok(views)
}

/// Every role's view, best first, as [`role_views`], each with its role's
/// stamp; and how many views were read from the database. A view of `kept`
/// whose role's stamp did not move is brought up to date
/// ([`RoleView::at_json`]) instead, in place: at 100,000 roles the views
/// are held once, not twice, and the stamps are walked beside them in the
/// order of their ids, never held. With nothing kept, or stamps that do not
/// name every role, every role is read in one pass ([`role_views`]).
fn role_views_keeping(
    db: &Db,
    lists: &Lists,
    now: DateTime<Utc>,
    mut views: Vec<RoleView>,
) -> Result<(Vec<RoleView>, usize)> {
    let read_all = || -> Result<(Vec<RoleView>, usize)> {
        let views = role_views(db, lists, now)?;
        let read = views.len();
        Ok((views, read))
    };
    if views.is_empty() {
        return read_all();
    }
    // The views in the order of their ids, by index: 100,000 views are
    // not moved about to be walked beside the stamps.
    let mut by_id: Vec<usize> = (0..views.len()).collect();
    by_id.sort_unstable_by(|&a, &b| views[a].id.cmp(&views[b].id));
    // Whether each view stands for its role; the roles none stands for.
    let mut keep = vec![false; views.len()];
    let mut read: Vec<String> = Vec::new();
    let mut stamps: usize = 0;
    let mut next = by_id.iter().copied().peekable();
    db.each_role_stamp(|stamp| {
        stamps += 1;
        while next.next_if(|&at| views[at].id < stamp.role_id).is_some() {}
        let mut taken = false;
        while let Some(at) = next.next_if(|&at| views[at].id == stamp.role_id) {
            let view = &mut views[at];
            if !taken && view.moving.stamp == Some(stamp.stamp) {
                taken = true;
                keep[at] = true;
                *view = std::mem::take(view).at_json(
                    now,
                    stamp.last_active.as_deref(),
                    stamp.responsiveness.as_deref(),
                );
            }
        }
        if !taken {
            read.push(stamp.role_id);
        }
    })?;
    if i64::try_from(stamps).ok() != Some(db.count_rows("role_rows")?) {
        drop(views);
        return read_all();
    }
    let mut kept = keep.into_iter();
    views.retain(|_| kept.next().unwrap_or(false));
    views.reserve_exact(read.len());
    let read: Vec<&str> = read.iter().map(String::as_str).collect();
    for chunk in read.chunks(ROLE_BATCH) {
        let batch = db.site_roles_by_ids(chunk, false)?;
        views.extend(par_map(&batch, |role| role_view(role, lists, now)));
    }
    views.sort_unstable_by(best_first);
    Ok((views, read.len()))
}

/// Active before gone, then by tier, then by combined score (unscored
/// last), then by id.
fn best_first(a: &RoleView, b: &RoleView) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    (a.status != "active")
        .cmp(&(b.status != "active"))
        .then(a.tier_rank.cmp(&b.tier_rank))
        .then_with(|| match (a.facts.combined_score, b.facts.combined_score) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| a.id.cmp(&b.id))
}

/// Loads everything for one build but the role pages' details, which the
/// build reads again a batch at a time.
pub fn load(db: &Db, lists: &Lists, now: DateTime<Utc>) -> Result<SiteData> {
    load_keeping(db, lists, now, Vec::new())
}

/// [`load`], taking the views of `kept` whose roles' stamps did not move.
pub fn load_keeping(
    db: &Db,
    lists: &Lists,
    now: DateTime<Utc>,
    kept: Vec<RoleView>,
) -> Result<SiteData> {
    // Active roles come first (`role_views`); a stable sort keeps
    // that order and only checks it, then the gone ones are split off.
    let (mut roles, views_read) = role_views_keeping(db, lists, now, kept)?;
    let board_roles: Vec<RoleView> = roles.extract_if(.., |view| !view.is_paraform()).collect();
    roles.sort_by_key(|view| view.status == "gone");
    let mut gone = roles.split_off(roles.partition_point(|view| view.status != "gone"));
    gone.sort_by(|a, b| b.gone_at.cmp(&a.gone_at));
    let index: HashMap<&str, &RoleView> = roles
        .iter()
        .chain(&gone)
        .map(|r| (r.id.as_str(), r))
        .collect();
    let since = now - Duration::days(CHANGE_DAYS);
    let mut by_day: BTreeMap<String, ChangeDay> = BTreeMap::new();
    db.each_change_newest_first(Some(since), |change| {
        // Board roles' changes are company moves, shown on the company pages.
        if !change.role_id.starts_with("paraform:") {
            return true;
        }
        let date = change.detected_at.get(..10).unwrap_or("");
        if !by_day.contains_key(date) {
            by_day.insert(
                date.to_string(),
                ChangeDay {
                    label: day_label(date),
                    date: date.to_string(),
                    changes: Vec::new(),
                    total: 0,
                    new: 0,
                    gone: 0,
                },
            );
        }
        let Some(day) = by_day.get_mut(date) else {
            return true;
        };
        day.total += 1;
        day.new += usize::from(change.kind == ChangeKind::New);
        day.gone += usize::from(change.kind == ChangeKind::Disappeared);
        if day.changes.len() < MAX_CHANGES_SHOWN_PER_DAY {
            let role = index.get(change.role_id.as_str()).copied();
            day.changes.push(change_view(&change, role, lists));
        }
        true
    })?;
    let days = by_day.into_values().rev().collect();
    let runs = db.recent_runs(50)?;
    let day_ago = now - Duration::hours(NEW_HOURS);
    let header = Header {
        stats: true,
        updated: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        updated_iso: crate::role::timestamp(now),
        active: roles.len(),
        qualified: roles.iter().filter(|r| r.qualified).count(),
        new_today: roles.iter().filter(|r| r.is_new).count(),
        gone_today: gone
            .iter()
            .filter(|r| {
                r.gone_at
                    .as_deref()
                    .and_then(parse_time)
                    .is_some_and(|at| at >= day_ago)
            })
            .count(),
        last_run_status: runs
            .first()
            .map(|r| r.status.to_string())
            .unwrap_or_else(|| "none yet".into()),
    };
    let all_runs = db.all_runs()?;
    let briefings = load_briefings(db)?;
    let database_bytes = db.size_bytes();
    let schema_version = db.schema_version()?;
    Ok(SiteData {
        generated_at: now,
        header,
        roles,
        gone,
        board_roles,
        board_status: HashMap::new(),
        days,
        runs,
        all_runs,
        briefings,
        database_bytes,
        schema_version,
        lists: lists.clone(),
        views_read,
    })
}

/// The change and version rows of some roles (one batch of role pages), by
/// role id: what their pages' histories show.
#[derive(Debug, Default)]
pub struct Histories {
    pub changes: HashMap<String, Vec<ChangeRow>>,
    pub versions: HashMap<String, Vec<VersionRow>>,
}

impl Histories {
    pub fn load(db: &Db, ids: &[&str]) -> Result<Histories> {
        Ok(Histories {
            changes: db.changes_by_role(ids)?,
            versions: db.versions_by_role(ids)?,
        })
    }
}

/// Every role's briefing by role id (`db.briefings()`), for the site and
/// the digest.
pub fn load_briefings(db: &Db) -> Result<HashMap<String, StoredBriefing>> {
    Ok(parse_briefings(db.briefings()?))
}

/// Cached briefing answers read as [`Briefing`]s. One that does not parse
/// (written under an older schema, or damaged) is left out: a role shows no
/// briefing rather than a wrong one, and the build goes on.
pub fn parse_briefings(answers: HashMap<String, CachedAnswer>) -> HashMap<String, StoredBriefing> {
    answers
        .into_iter()
        .filter_map(|(role_id, cached)| {
            let briefing = serde_json::from_str::<Briefing>(cached.answer.as_deref()?).ok()?;
            Some((
                role_id,
                StoredBriefing {
                    briefing,
                    model: cached.model,
                    prompt_version: cached.prompt_version,
                    created_at: cached.created_at,
                },
            ))
        })
        .collect()
}

/// What the role page shows of a briefing: `Briefing::lines` grouped by
/// section, each item cleaned to one line and marked when it is a gap.
pub fn briefing_view(stored: &StoredBriefing) -> BriefingView {
    let (gaps, total) = stored.briefing.gaps();
    let mut sections: Vec<BriefingSectionView> = Vec::new();
    for line in stored.briefing.lines() {
        let mut items: Vec<BriefingItemView> = line
            .items
            .iter()
            .map(|item| BriefingItemView {
                text: crate::text::one_line(item),
                gap: is_gap(item),
            })
            .collect();
        if items.is_empty() {
            items.push(BriefingItemView {
                text: "(none given)".into(),
                // No red flags is an answer; any other empty part is a gap.
                gap: line.label != "Red flags",
            });
        }
        for item in items.iter_mut().filter(|i| i.text.is_empty()) {
            item.text = "(not given)".into();
        }
        let view = BriefingLineView {
            label: line.label,
            list: items.len() > 1,
            gap: items.iter().all(|i| i.gap),
            items,
        };
        match sections.last_mut() {
            Some(section) if section.name == line.section => section.lines.push(view),
            _ => sections.push(BriefingSectionView {
                name: line.section,
                lines: vec![view],
            }),
        }
    }
    BriefingView {
        model: crate::text::one_line(&stored.model),
        created_at: crate::text::one_line(&stored.created_at),
        date: crate::text::one_line(&date_only(Some(&stored.created_at))),
        gaps,
        total,
        sections,
    }
}

/// The role page's file name: safe on any file system and in any URL,
/// whatever the id contains, and distinct for distinct ids.
pub fn page_file(id: &str) -> String {
    let plain = id.split_once(':').is_some_and(|(source, external)| {
        !source.is_empty()
            && source.chars().all(|c| c.is_ascii_lowercase())
            && !external.is_empty()
            && external.len() <= 100
            && external
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if plain {
        return format!("{}.html", id.replacen(':', "-", 1));
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.as_bytes());
    let hash = crate::track::hex(&digest[..5]);
    let cleaned: String = id
        .chars()
        .take(60)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{cleaned}-{hash}.html")
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn date_only(text: Option<&str>) -> String {
    text.and_then(|t| t.get(..10)).unwrap_or("").to_string()
}

fn day_label(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| d.format("%a %-d %b %Y").to_string())
        .unwrap_or_else(|_| date.to_string())
}

fn json_strings(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
        .unwrap_or_default()
}

pub use crate::vocab::{UNREADABLE_SALARY, money_k};

/// A role's salary for people (`$200K–$260K`, `$260K`, or nothing) and its
/// sort key (the upper bound). A bound outside the plausible range
/// (`role::plausible_salary`) makes it [`UNREADABLE_SALARY`] with a sort
/// key of 0: it is not sorted or charted as money.
pub fn salary(min: Option<i64>, max: Option<i64>) -> (String, f64) {
    let readable = |bound: Option<i64>| bound.is_none_or(|b| plausible_salary(b as f64));
    if !readable(min) || !readable(max) {
        return (UNREADABLE_SALARY.into(), 0.0);
    }
    let text = match (min, max) {
        (Some(lo), Some(hi)) if lo != hi && lo > 0 => {
            format!("{}–{}", money_k(lo as f64), money_k(hi as f64))
        }
        (_, Some(hi)) => money_k(hi as f64),
        (Some(lo), None) => money_k(lo as f64),
        (None, None) => String::new(),
    };
    (text, max.or(min).unwrap_or(0) as f64)
}

/// `$31.5M`, `$1.2B`, `$750K` from a dollar amount.
fn money_short(n: f64) -> String {
    if n >= 1e9 {
        format!("${}B", format_number((n / 1e8).round() / 10.0))
    } else if n >= 1e6 {
        format!("${}M", format_number((n / 1e5).round() / 10.0))
    } else if n > 0.0 {
        money_k(n)
    } else {
        String::new()
    }
}

/// Builds a role's view from its row and JSON.
pub fn role_view(role: &SiteRole, lists: &Lists, now: DateTime<Utc>) -> RoleView {
    let raw = if role.row.id.starts_with("paraform:") {
        view_fields(&role.raw)
    } else {
        None
    };
    let raw = raw.unwrap_or_else(|| serde_json::from_str(&role.raw).unwrap_or(Value::Null));
    role_view_of(role, &raw, lists, now)
}

/// The top-level fields of a Paraform role's JSON that [`role_view_of`]
/// reads (`tests::a_view_reads_only_its_fields` holds this list true).
const VIEW_FIELDS: &[&str] = &[
    "company",
    "funding",
    "hiring_count",
    "investors",
    "locations",
    "manager_last_active",
    "manager_rating",
    "responsiveness_days",
    "status",
    "tech_stack",
    "workplace_type",
    "yoe_string",
];

/// A role's JSON object with only [`VIEW_FIELDS`] built into values: the
/// rest, most of it, is skipped as it is read. `None` when it is not an
/// object that parses.
fn view_fields(raw: &str) -> Option<Value> {
    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;

    /// A key, borrowed from the text unless it had escapes.
    struct Key<'de>(Cow<'de, str>);
    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_string())))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = serde_json::Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some(Key(key)) = map.next_key()? {
                if VIEW_FIELDS.contains(&key.as_ref()) {
                    out.insert(key.into_owned(), map.next_value()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    let mut reader = serde_json::Deserializer::from_str(raw);
    let fields = reader.deserialize_map(Fields).ok()?;
    reader.end().ok()?;
    Some(Value::Object(fields))
}

/// [`role_view`] from the role's JSON, parsed.
fn role_view_of(role: &SiteRole, raw: &Value, lists: &Lists, now: DateTime<Utc>) -> RoleView {
    let row = &role.row;
    let score = row.combined_score.unwrap_or(0.0);
    let (salary_text, salary_sort) = salary(row.salary_min, row.salary_max);
    let salary_readable = salary_text != UNREADABLE_SALARY;
    let funding_text = text_at(raw, "company.fundingAmount").or_else(|| text_at(raw, "funding"));
    let raised = funding_text
        .as_deref()
        .map_or(0.0, crate::evaluate::parse_funding);
    let stage_key = text_at(raw, "company.company_metadata.last_funding_round").unwrap_or_default();
    // A board role names its places in its API's own shape.
    let board = row
        .id
        .split_once(':')
        .and_then(|(source, _)| crate::company::Board::from_source(source));
    let locations = match board {
        Some(board) => board.job(raw).locations,
        None => strings_at(raw, "locations"),
    };
    let mut keys: Vec<&str> = Vec::new();
    for location in &locations {
        let l = location.to_lowercase();
        let key = if lists.locations.nyc_metro.contains(&l) {
            "nyc"
        } else if lists.locations.london.contains(&l) {
            "london"
        } else {
            "other"
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if text_at(raw, "workplace_type").is_some_and(|w| w.eq_ignore_ascii_case("remote")) {
        keys.push("remote");
    }
    if keys.is_empty() {
        keys.push("none");
    }
    let mut location_text: Vec<String> = locations
        .iter()
        .map(|l| crate::vocab::location(lists, l))
        .collect();
    let places = Lines::of(location_text.iter().map(|l| crate::text::one_line(l)));
    if let Some(workplace) = text_at(raw, "workplace_type") {
        location_text.push(workplace);
    }
    // Every text below is built clean (`text::one_line`): the view is what
    // the pages, `roles.json`, `roles.csv`, `export` and the digest print.
    let shown = crate::text::one_line;
    let investor_names: Vec<String> = strings_at(raw, "investors")
        .iter()
        .map(|i| shown(i))
        .collect();
    let investors = shown(&investor_names.join(", "));
    let tech = shown(&strings_at(raw, "tech_stack").join(", "));
    let industry = shown(
        &strings_at(raw, "company.industries")
            .iter()
            .map(|i| i.replace('_', " "))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let rating = number_at(raw, "manager_rating");
    let openings = number_at(raw, "hiring_count");
    let first_seen = parse_time(&row.first_seen_at);
    let moving = Moving {
        base_key: page_key(role),
        age_from: row.posted_at.as_deref().and_then(parse_time).or(first_seen),
        first_seen,
        gone: row.gone_at.as_deref().and_then(parse_time),
        stamp: role.stamp,
        // Set by `at` below.
        ..Moving::default()
    };
    // Scraped names reach pages, feeds and email: one clean line each (no
    // NUL, no bidi overrides; askama escapes the rest).
    let title = row
        .title
        .as_deref()
        .map(crate::text::one_line)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "(untitled)".into());
    let company = row
        .company
        .as_deref()
        .map(crate::text::one_line)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "(unknown company)".into());
    let fee = row.fee_percent.unwrap_or(0.0);
    let score_text = |s: Option<f64>| s.map(|s| format!("{s:.2}")).unwrap_or_default();
    let market_status = match (row.status, role.unfollowed) {
        (RoleStatus::Gone, true) => "No longer followed".into(),
        (RoleStatus::Gone, false) => "Gone from the market".into(),
        (RoleStatus::Active, _) => text_at(raw, "status")
            .map(|s| crate::vocab::field_value(lists, "status", &s))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Active".into()),
    };
    let stage = if stage_key.is_empty() {
        String::new()
    } else {
        shown(&crate::vocab::stage(lists, &stage_key))
    };
    let texts = Texts::of(&[
        (Text::market_status, &market_status),
        (Text::score_text, &score_text(row.combined_score)),
        (Text::engineer_text, &score_text(role.engineer_score)),
        (Text::headhunter_text, &score_text(role.headhunter_score)),
        (Text::excitement_text, &score_text(role.excitement_score)),
        (Text::posted, &date_only(row.posted_at.as_deref())),
        (
            Text::posted_sort,
            row.posted_at.as_deref().unwrap_or_default(),
        ),
        (Text::salary_text, &salary_text),
        (
            Text::fee_text,
            &row.fee_percent
                .map(|f| format!("{}%", format_number(f)))
                .unwrap_or_default(),
        ),
        (
            Text::openings,
            &openings.map(format_number).unwrap_or_default(),
        ),
        (Text::raised_text, &money_short(raised)),
        (Text::investors, &investors),
        (Text::stage, &stage),
        (Text::stage_key, &shown(&stage_key)),
        (Text::tech, &tech),
        (Text::industry, &industry),
        (
            Text::experience,
            &shown(&text_at(raw, "yoe_string").unwrap_or_default()),
        ),
        (
            Text::rating_text,
            &rating.map(format_number).unwrap_or_default(),
        ),
        (Text::locations, &shown(&location_text.join(", "))),
        (Text::location_keys, &keys.join(" ")),
        (Text::first_seen, &date_only(Some(&row.first_seen_at))),
        (Text::last_seen, &date_only(Some(&row.last_seen_at))),
    ]);
    RoleView {
        page: format!("roles/{}", page_file(&row.id)),
        id: row.id.clone(),
        url: row
            .url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(shown),
        status: match (row.status, role.unfollowed) {
            (RoleStatus::Gone, true) => UNFOLLOWED,
            (status, _) => status.as_str(),
        },
        score,
        salary_sort,
        fee,
        openings_sort: openings.unwrap_or(0.0),
        raised_sort: raised,
        rating_sort: rating.unwrap_or(0.0),
        trend: row.trend,
        reasons: Lines::of(role.reasons.iter().map(|r| shown(r))),
        signals: Lines::of(role.signals.iter().map(|r| shown(r))),
        gone_at: row.gone_at.clone(),
        texts,
        facts: RoleFacts {
            combined_score: row.combined_score,
            engineer_score: role.engineer_score,
            headhunter_score: role.headhunter_score,
            excitement_score: role.excitement_score,
            salary_min: row.salary_min.filter(|_| salary_readable),
            salary_max: row.salary_max.filter(|_| salary_readable),
            fee_percent: row.fee_percent,
            openings,
            raised_usd: (raised > 0.0).then_some(raised),
            investors: Lines::of(&investor_names),
            locations: places,
            workplace: text_at(raw, "workplace_type").map(|w| shown(&w)),
        },
        title,
        company,
        moving,
        // Set from the tier and the moving parts just below.
        ..RoleView::default()
    }
    .with_tier(row.tier)
    .at(
        now,
        raw.get("manager_last_active"),
        raw.get("responsiveness_days"),
    )
}

/// A fingerprint of what a role page shows of its stored role: the row but
/// when it was last seen, the role's content (`content_hash`: its JSON
/// without the volatile fields), its detail, its newest change, its
/// verdict. [`RoleView::at`] adds the one volatile field a page shows (how
/// fast the manager responds). Not a security boundary: a collision leaves
/// a page one change behind.
fn page_key(role: &SiteRole) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    let row = &role.row;
    (
        &row.id,
        &row.title,
        &row.company,
        &row.url,
        &row.status,
        row.tier.map(|tier| tier.as_str()),
        &row.posted_at,
        &row.first_seen_at,
        &row.gone_at,
        row.trend.map(Trend::as_str),
    )
        .hash(&mut hasher);
    for score in [
        row.combined_score,
        role.engineer_score,
        role.headhunter_score,
        role.excitement_score,
        row.fee_percent,
    ] {
        score.map(f64::to_bits).hash(&mut hasher);
    }
    (row.salary_min, row.salary_max).hash(&mut hasher);
    (
        &role.content_hash,
        &role.detail_fetched_at,
        role.last_change_id,
        &role.reasons,
        &role.signals,
        &role.evaluated_at,
        &role.equity,
        &role.requirements,
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// The role page's extra material, from the stored JSON: the detail's
/// HTML as sanitised when it was fetched (a detail stored before that was
/// kept is sanitised here), and every field of the role as Paraform sent
/// it but the volatile ones, which move on every run (`roles.json` and the
/// database have them).
pub fn role_detail(role: &SiteRole) -> RoleDetail {
    let fields = fields::fields(&role.raw);
    let html = match role.detail.as_deref() {
        Some(detail) => serde_json::from_str::<Value>(detail)
            .map(|detail| crate::intel::DetailHtml::of(&detail))
            .unwrap_or_default(),
        None => role.html.clone(),
    };
    let scores = role
        .breakdown
        .as_ref()
        .map(|breakdown| {
            breakdown
                .scores()
                .into_iter()
                .map(|(name, score)| ScoreView {
                    name: name.to_string(),
                    value: format!("{:.2}", score.value),
                    components: score
                        .components
                        .iter()
                        .map(|c| ComponentView {
                            name: c.name.clone(),
                            weight: c.weight_label(),
                            value: format_number(c.value),
                            // The rules' words with their figures: a salary of
                            // 1e30 is not printed as 31 digits.
                            detail: crate::text::short_numbers(&c.detail).into_owned(),
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    RoleDetail {
        fields,
        breakdown: scores,
        company_notes_html: html.company_notes,
        selling_points_html: html.selling_points,
        description_html: html.description,
        // What the scrape read off the detail and stored; not read again.
        equity: role.equity.clone(),
        requirements: json_strings(role.requirements.as_deref()),
    }
}

/// Views of changes, named after their roles.
pub fn change_views(changes: &[ChangeRow], roles: &[RoleView], lists: &Lists) -> Vec<ChangeView> {
    let index: HashMap<&str, &RoleView> = roles.iter().map(|r| (r.id.as_str(), r)).collect();
    change_views_of(changes, |id| index.get(id).copied(), lists)
}

/// [`change_views`], each change's role found by `role`.
pub fn change_views_of<'a>(
    changes: &[ChangeRow],
    role: impl Fn(&str) -> Option<&'a RoleView>,
    lists: &Lists,
) -> Vec<ChangeView> {
    changes
        .iter()
        .map(|c| change_view(c, role(c.role_id.as_str()), lists))
        .collect()
}

/// A change for display, named after its role (or, for a role not in
/// view, after what the change row knows).
fn change_view(change: &ChangeRow, role: Option<&RoleView>, lists: &Lists) -> ChangeView {
    let (label, class) = change
        .kind
        .label(change.old_value.as_deref(), change.new_value.as_deref());
    let said = crate::vocab::said(
        lists,
        change.kind,
        change.field.as_deref(),
        change.old_value.as_deref(),
        change.new_value.as_deref(),
    );
    let (page, title, company) = match role {
        Some(r) => (r.page.clone(), r.title.clone(), r.company.clone()),
        None => (
            format!("roles/{}", page_file(&change.role_id)),
            crate::text::one_line(change.title.as_deref().unwrap_or_default()),
            crate::text::one_line(change.company.as_deref().unwrap_or_default()),
        ),
    };
    ChangeView {
        id: change.id,
        detected_at: change.detected_at.clone(),
        time: change.detected_at.get(11..16).unwrap_or("").to_string(),
        kind: change.kind,
        kind_class: class.into(),
        label: label.into(),
        // In people's words (`Salary max`, `$210K`); values are scraped
        // text, one clean line each.
        field: said.field,
        old_value: said.old,
        new_value: said.new,
        source: crate::vocab::source_name(&change.role_id),
        role_id: change.role_id.clone(),
        page,
        title,
        company,
        trend: role.and_then(|r| r.trend),
        run_id: change.run_id,
    }
}

/// A role's history: its changes newest first, and its versions with the
/// changes each one brought.
pub fn history(
    histories: &Histories,
    role: &RoleView,
    lists: &Lists,
) -> (Vec<ChangeView>, Vec<VersionView>) {
    let changes: Vec<ChangeView> = histories
        .changes
        .get(&role.id)
        .map(|list| {
            list.iter()
                .rev()
                .map(|c| change_view(c, Some(role), lists))
                .collect()
        })
        .unwrap_or_default();
    let versions = histories
        .versions
        .get(&role.id)
        .map(|list| {
            list.iter()
                .enumerate()
                .rev()
                .map(|(i, v)| VersionView {
                    number: i + 1,
                    observed_at: v.observed_at.clone(),
                    changes: changes
                        .iter()
                        .filter(|c| c.run_id == Some(v.run_id) && c.kind != ChangeKind::TierChange)
                        .cloned()
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    (changes, versions)
}

/// How many threads a build spreads per-role work over: the cores,
/// at most 4.
fn build_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

/// `items.iter().map(f)`, in order, over [`build_threads`] threads: for pure
/// per-role work (reading a role's JSON into what its rows show).
pub(crate) fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let chunk = items.len().div_ceil(build_threads()).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<U>>()))
            .collect();
        workers
            .into_iter()
            // A worker panics only if `f` does; then so does the build, as
            // it would have without threads.
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_views_texts_and_lists_read_back_as_given() {
        use super::{Lines, Text, Texts};
        let texts = Texts::of(&[
            (Text::locations, "New York"),
            (Text::market_status, "Paused"),
        ]);
        assert_eq!(texts.get(Text::market_status), "Paused");
        assert_eq!(texts.get(Text::locations), "New York");
        assert_eq!(texts.get(Text::tech), "", "a text not given is empty");
        assert_eq!(Texts::default().get(Text::last_seen), "");
        let json = serde_json::to_value(&texts).unwrap();
        assert_eq!(json["locations"], "New York");
        assert_eq!(json["tech"], "");

        let lines = Lines::of(["✓ fee 25%", "", "hot"]);
        assert_eq!(lines.iter().collect::<Vec<_>>(), ["✓ fee 25%", "hot"]);
        assert_eq!(
            serde_json::to_value(&lines).unwrap(),
            serde_json::json!(["✓ fee 25%", "hot"])
        );
        assert!(Lines::of(Vec::<String>::new()).is_empty());
        assert_eq!(Lines::default().iter().count(), 0);
    }
    use super::*;
    use crate::store::{RoleRow, SiteRole};

    fn cached(answer: Option<&str>) -> CachedAnswer {
        CachedAnswer {
            key: "k".into(),
            task: "briefing".into(),
            model: "m\u{202e}x".into(),
            prompt_version: "1".into(),
            subject: None,
            answer: answer.map(str::to_string),
            error: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_usd: 0.0,
            created_at: "2025-12-19T12:00:00Z".into(),
        }
    }

    /// A stored active Paraform role with nothing set but its id and JSON,
    /// first seen 2025-12-15 and last seen 2025-12-19.
    fn stored(id: &str, raw: &str) -> SiteRole {
        SiteRole {
            unfollowed: false,
            row: RoleRow {
                first_seen_at: "2025-12-15T00:00:00Z".into(),
                last_seen_at: "2025-12-19T00:00:00Z".into(),
                ..RoleRow::sample(id)
            },
            engineer_score: None,
            headhunter_score: None,
            excitement_score: None,
            raw: raw.into(),
            content_hash: String::new(),
            detail_fetched_at: None,
            html: Default::default(),
            last_change_id: None,
            detail: None,
            reasons: Vec::new(),
            signals: Vec::new(),
            breakdown: None,
            evaluated_at: None,
            last_changed_at: "2025-12-19T00:00:00Z".into(),
            equity: None,
            requirements: None,
            stamp: None,
        }
    }

    /// An answer that is not a briefing (old schema, damage) is skipped,
    /// never an error that stops the build.
    #[test]
    fn unparsable_briefings_are_skipped() {
        let good = serde_json::to_string(&Briefing::default()).unwrap();
        let answers = [
            ("paraform:good".to_string(), cached(Some(&good))),
            (
                "paraform:old".to_string(),
                cached(Some("{\"summary\": \"x\"}")),
            ),
            ("paraform:junk".to_string(), cached(Some("[[[["))),
            ("paraform:none".to_string(), cached(None)),
        ];
        let parsed = parse_briefings(answers.into_iter().collect());
        assert_eq!(parsed.keys().collect::<Vec<_>>(), ["paraform:good"]);
        assert_eq!(parsed["paraform:good"].model, "m\u{202e}x");
    }

    #[test]
    fn briefing_view_groups_sections_and_marks_gaps() {
        let stored = StoredBriefing {
            briefing: Briefing {
                red_flags: Vec::new(),
                must_haves: vec!["Rust\u{202e}".into(), "[RESEARCH NEEDED: level]".into()],
                ..Briefing::default()
            },
            model: "m\u{202e}x".into(),
            prompt_version: "1".into(),
            created_at: "2025-12-19T12:00:00Z".into(),
        };
        let view = briefing_view(&stored);
        assert_eq!(view.model, "mx");
        assert_eq!(view.date, "2025-12-19");
        let names: Vec<&str> = view.sections.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "Problem",
                "Credibility",
                "Role",
                "Requirements",
                "Interview",
                "Red flags"
            ]
        );
        assert_eq!((view.gaps, view.total), stored.briefing.gaps());
        let requirements = &view.sections[3].lines;
        assert_eq!(requirements[0].label, "Must have");
        assert!(requirements[0].list && !requirements[0].gap);
        assert_eq!(requirements[0].items[0].text, "Rust");
        assert!(!requirements[0].items[0].gap && requirements[0].items[1].gap);
        // Empty parts show as gaps, except an empty list of red flags.
        let empty = &view.sections[0].lines[0];
        assert!(empty.gap && empty.items[0].text == "(not given)");
        assert!(requirements[1].gap && requirements[1].items[0].text == "(none given)");
        let flags = &view.sections[5].lines[0];
        assert!(!flags.gap && flags.items[0].text == "(none given)");
    }

    #[test]
    fn views_go_active_first_then_by_tier_then_score_unscored_last() {
        let view = |id: &str, status: &'static str, tier_rank: u8, score: Option<f64>| RoleView {
            id: id.into(),
            status,
            tier_rank,
            facts: RoleFacts {
                combined_score: score,
                ..RoleFacts::default()
            },
            ..RoleView::default()
        };
        let mut views = [
            view("g", "gone", 0, Some(99.0)),
            view("u", "unfollowed", 0, Some(98.0)),
            view("a", "active", 1, Some(90.0)),
            view("b", "active", 0, None),
            view("c", "active", 0, Some(10.0)),
            view("d", "active", 0, Some(50.0)),
            view("e", "active", 0, Some(50.0)),
        ];
        views.sort_unstable_by(best_first);
        let order: Vec<&str> = views.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(order, ["d", "e", "c", "b", "a", "g", "u"]);
    }

    /// A Paraform role's view parses only [`VIEW_FIELDS`] of its JSON: on
    /// every simulated role, plain and hostile, it is the view of the whole.
    #[cfg(feature = "simulator")]
    #[test]
    fn a_view_reads_only_its_fields() {
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2025, 12, 20, 12, 0, 0).unwrap();
        let lists = Lists::defaults();
        let mut checked = 0;
        for hostile in [false, true] {
            let market = crate::sim::market::Market::generate(7, 300, now, hostile);
            for raw in market.listed() {
                let text = raw.to_string();
                let role = stored(
                    &format!("paraform:{}", raw["id"].as_str().unwrap_or("x")),
                    &text,
                );
                let whole = role_view_of(&role, raw, &lists, now);
                let slim = role_view(&role, &lists, now);
                assert_eq!(
                    serde_json::to_value(&slim).unwrap(),
                    serde_json::to_value(&whole).unwrap(),
                    "{text}"
                );
                assert_eq!(slim.page_key, whole.page_key);
                checked += 1;
            }
        }
        assert!(checked >= 500, "{checked}");
        // Not an object, or not JSON: the whole parse decides, as before.
        assert_eq!(view_fields("[1]"), None);
        assert_eq!(view_fields("{\"status\": 1} x"), None);
        assert_eq!(
            view_fields("{\"st\\u0061tus\": \"ACTIVE\", \"other\": [1]}"),
            Some(serde_json::json!({"status": "ACTIVE"}))
        );
    }

    /// Kept views stand for their roles only while their stamps hold: a
    /// stale one, a second one of the same role and one of a role no
    /// longer stored are dropped, the roles none stands for are read, and
    /// the views are those of reading every role. Stamps that do not name
    /// every role read every role.
    #[test]
    fn kept_views_stand_for_their_roles_only_while_their_stamps_hold() {
        use crate::store::fixtures::{at, db_with_run, insert_roles};
        let (mut db, run) = db_with_run();
        let ids = ["paraform:a", "paraform:b", "paraform:c", "paraform:d"];
        insert_roles(&mut db, run, &ids);
        let lists = Lists::defaults();
        let now = at(60);
        let fresh = role_views(&db, &lists, now).unwrap();
        assert!(fresh.iter().all(|view| view.moving.stamp.is_some()));
        let kept_of = |id: &str| {
            let mut view = fresh.iter().find(|v| v.id == id).unwrap().clone();
            view.title = "kept".into();
            view
        };
        let mut stale = kept_of("paraform:c");
        stale.moving.stamp = stale.moving.stamp.map(|stamp| stamp ^ 1);
        let mut unstored = kept_of("paraform:a");
        unstored.id = "paraform:e".into();
        let kept = vec![
            kept_of("paraform:b"),
            unstored,
            stale,
            kept_of("paraform:a"),
            kept_of("paraform:b"),
        ];
        let (views, read) = role_views_keeping(&db, &lists, now, kept.clone()).unwrap();
        assert_eq!(read, 2, "c (stale) and d (none kept)");
        let shown = |views: &[RoleView]| -> Vec<(String, String, Option<i64>)> {
            views
                .iter()
                .map(|v| (v.id.clone(), v.title.clone(), v.moving.stamp))
                .collect()
        };
        let expected: Vec<_> = fresh
            .iter()
            .map(|v| {
                let kept = ["paraform:a", "paraform:b"].contains(&v.id.as_str());
                let title = if kept { "kept".into() } else { v.title.clone() };
                (v.id.clone(), title, v.moving.stamp)
            })
            .collect();
        assert_eq!(shown(&views), expected);

        db.conn()
            .execute("DELETE FROM role_stamps WHERE role_id = 'paraform:d'", [])
            .unwrap();
        let (views, read) = role_views_keeping(&db, &lists, now, kept).unwrap();
        assert_eq!(read, 4);
        assert!(views.iter().all(|view| view.title != "kept"));
    }

    /// A view kept in the file beside the site ([`cache`]) and brought up
    /// to date at a later time, with moved volatile fields, is the view
    /// made afresh then: on every simulated role, plain and hostile.
    #[cfg(feature = "simulator")]
    #[test]
    fn a_kept_view_brought_up_to_date_is_the_view_made_afresh() {
        use chrono::TimeZone;
        let then = Utc.with_ymd_and_hms(2025, 12, 20, 12, 0, 0).unwrap();
        let lists = Lists::defaults();
        let json = |view: &RoleView| {
            (
                serde_json::to_value(view).unwrap(),
                view.page_key,
                view.age_days,
                view.is_new,
                view.days_open,
                view.responsiveness_sort.to_bits(),
            )
        };
        let mut checked = 0;
        for hostile in [false, true] {
            let market = crate::sim::market::Market::generate(11, 200, then, hostile);
            let mut views = Vec::new();
            let mut roles = Vec::new();
            for (at, raw) in market.listed().iter().enumerate() {
                let id = format!("paraform:{}", raw["id"].as_str().unwrap_or("x"));
                let role = stored(&id, &raw.to_string());
                let mut view = role_view(&role, &lists, then);
                view.moving.stamp = Some(at as i64);
                views.push(view);
                roles.push((role, raw.clone()));
            }
            // Where its rows are kept, for some.
            let rows_at = |at: usize| {
                (!at.is_multiple_of(3)).then_some(RowsAt {
                    at: at as u64 * 1000,
                    lens: [at as u32, 2, 3, u32::MAX],
                })
            };
            for (at, view) in views.iter_mut().enumerate() {
                view.moving.rows = rows_at(at);
            }
            // A view without a stamp is not kept.
            views.push(RoleView::default());
            let mut bytes = Vec::new();
            cache::write(&mut bytes, "program", 77, views.iter()).unwrap();
            let read = |bytes: &[u8], fingerprint: &str| cache::read(&mut &bytes[..], fingerprint);
            assert!(read(&bytes, "another program").is_none());
            assert!(read(&bytes[..bytes.len() - 1], "program").is_none());
            assert!(read(&[&bytes[..], b"x"].concat(), "program").is_none());
            let (rows, mut kept) = read(&bytes, "program").expect("read back");
            assert_eq!(rows, 77);
            assert_eq!(kept.len(), roles.len());
            for (at, view) in kept.iter().enumerate() {
                assert_eq!(view.moving.rows, rows_at(at));
            }
            for (later, moved) in [(0, false), (1, false), (40, true), (24 * 9, true)] {
                let now = then + Duration::hours(later);
                for (at, (role, raw)) in roles.iter().enumerate() {
                    let mut raw = raw.clone();
                    if moved {
                        raw["manager_last_active"] = serde_json::json!("2025-12-24T23:59:59-05:00");
                        raw["responsiveness_days"] = serde_json::json!(later as f64 / 10.0);
                    }
                    let mut role = role.clone();
                    role.raw = raw.to_string();
                    let view = std::mem::take(&mut kept[at]);
                    assert_eq!(view.moving.stamp, Some(at as i64));
                    let text = |key: &str| raw.get(key).map(Value::to_string);
                    let brought = view.at_json(
                        now,
                        text("manager_last_active").as_deref(),
                        text("responsiveness_days").as_deref(),
                    );
                    let afresh = role_view(&role, &lists, now);
                    assert_eq!(json(&brought), json(&afresh), "{later}h: {}", role.raw);
                    kept[at] = brought;
                    checked += 1;
                }
            }
        }
        assert!(checked >= 1500, "{checked}");
        // Bytes that are not the file are no views, whatever they hold.
        for bytes in [&b""[..], b"air-demand role views 2\n", b"\xff\xfe"] {
            assert!(cache::read(&mut &bytes[..], "x").is_none());
        }
    }

    /// NUL and U+202E in scraped names never reach a page (issue 12, item 8).
    #[test]
    fn hostile_names_are_one_clean_line() {
        let mut role = stored("paraform:x", "{}");
        role.row.title = Some("Eng\u{0}ineer \u{202e}reganaM".into());
        role.row.company = Some("\u{200b}\u{1b}[31mAcme\nCo".into());
        let view = role_view(&role, &Lists::defaults(), Utc::now());
        assert_eq!(view.title, "Engineer reganaM");
        assert_eq!(view.company, "[31mAcme Co");
        assert_eq!(view.tier, "UNRATED");
    }

    /// The index's Age: days since posted, else since first seen, stopped
    /// when the role went.
    #[test]
    fn age_counts_days_on_the_market() {
        let now = DateTime::parse_from_rfc3339("2025-12-20T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let age = |posted: Option<&str>, gone: Option<&str>| {
            let mut role = stored("paraform:x", "{}");
            role.row.status = if gone.is_some() {
                RoleStatus::Gone
            } else {
                RoleStatus::Active
            };
            role.row.posted_at = posted.map(String::from);
            role.row.gone_at = gone.map(String::from);
            let view = role_view(&role, &Lists::defaults(), now);
            (view.age_text().to_string(), view.age_days)
        };
        assert_eq!(
            age(Some("2025-11-20T08:00:00Z"), None),
            ("30d".into(), Some(30))
        );
        assert_eq!(age(None, None), ("5d".into(), Some(5)));
        assert_eq!(age(Some("not a time"), None), ("5d".into(), Some(5)));
        assert_eq!(
            age(Some("2025-12-10T00:00:00Z"), Some("2025-12-12T00:00:00Z")),
            ("2d".into(), Some(2))
        );
        // Posted after it went (a clock off): no negative age.
        assert_eq!(
            age(Some("2025-12-13T00:00:00Z"), Some("2025-12-12T00:00:00Z")),
            ("0d".into(), Some(0))
        );
    }
}
