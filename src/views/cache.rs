//! Role views kept from one site build to the next, each with the stamp of
//! the role it was built from (`role_stamps`, V18): a build reads from the
//! database only the roles whose stamp moved, and brings the others up to
//! date with the clock and their volatile fields ([`RoleView::at`]).
//!
//! The file is ours, but it is read as untrusted bytes: every length is
//! checked, and anything that does not read back whole is no cache at all
//! (the build reads every role, as the first one does). It is written and
//! read a view at a time: at 100,000 roles it is 100 MB, which a build
//! does not hold beside the views.

use chrono::{DateTime, Utc};

use super::{Lines, RoleFacts, RoleView, RowsAt, Text, Texts, UNFOLLOWED};
use crate::evaluate::{Tier, Trend};

/// The first line of the file: its format.
const MAGIC: &[u8] = b"air-demand role views 3\n";

/// The statuses a view can have, by their number in the file.
const STATUSES: [&str; 3] = ["active", "gone", UNFOLLOWED];

/// Writes the file of `views`, each with its role's stamp, to `file`;
/// `fingerprint` names what else the views were built from (this program,
/// the configured lists), `rows` the file of kept rows their [`RowsAt`]
/// point into. A view without a stamp is left out: the next build reads it
/// again.
pub fn write<'a>(
    file: &mut impl std::io::Write,
    fingerprint: &str,
    rows: u64,
    views: impl Iterator<Item = &'a RoleView>,
) -> std::io::Result<()> {
    let mut out = Out(MAGIC.to_vec());
    out.str(fingerprint);
    out.u64(rows);
    file.write_all(&out.0)?;
    for view in views {
        let Some(stamp) = view.moving.stamp else {
            continue;
        };
        // Each view: its length, then the view.
        out.0.clear();
        out.u32(0);
        out.i64(stamp);
        view_to(&mut out, view);
        let len = u32::try_from(out.0.len() - 4).map_err(std::io::Error::other)?;
        out.0[..4].copy_from_slice(&len.to_le_bytes());
        file.write_all(&out.0)?;
    }
    file.write_all(&0u32.to_le_bytes())
}

/// The views of a file [`write`] wrote with the same `fingerprint`, and
/// the file of rows it names; `None` when it is another's, or does not
/// read back whole.
pub fn read(file: &mut impl std::io::Read, fingerprint: &str) -> Option<(u64, Vec<RoleView>)> {
    let mut magic = [0; MAGIC.len()];
    file.read_exact(&mut magic).ok()?;
    let mut buffer = Vec::new();
    let next = |file: &mut dyn std::io::Read, buffer: &mut Vec<u8>| -> Option<usize> {
        let mut len = [0; 4];
        file.read_exact(&mut len).ok()?;
        let len = u32::from_le_bytes(len) as usize;
        // No view is near this; a longer one is a damaged file.
        if len > MAX_VIEW {
            return None;
        }
        buffer.resize(len, 0);
        file.read_exact(buffer).ok()?;
        Some(len)
    };
    if magic != MAGIC || next(file, &mut buffer)? == 0 || buffer != fingerprint.as_bytes() {
        return None;
    }
    let mut rows = [0; 8];
    file.read_exact(&mut rows).ok()?;
    let rows = u64::from_le_bytes(rows);
    let mut kept = Vec::new();
    while next(file, &mut buffer)? > 0 {
        let mut input = In { bytes: &buffer };
        let stamp = input.i64()?;
        let mut view = view_from(&mut input)?;
        if !input.bytes.is_empty() {
            return None;
        }
        view.moving.stamp = Some(stamp);
        kept.push(view);
    }
    // Nothing after the end.
    (file.read(&mut [0]).ok()? == 0).then_some((rows, kept))
}

/// The longest view (or fingerprint) the file may hold: 16 MB.
const MAX_VIEW: usize = 16 << 20;

fn view_to(out: &mut Out, view: &RoleView) {
    out.str(&view.id);
    out.str(&view.page);
    out.str(&view.title);
    out.str(&view.company);
    out.opt_str(view.url.as_deref());
    out.u8(STATUSES.iter().position(|s| *s == view.status).unwrap_or(0) as u8);
    out.u8(Tier::ALL
        .iter()
        .position(|t| t.as_str() == view.tier)
        .map_or(0, |at| at as u8 + 1));
    for n in [
        view.score,
        view.salary_sort,
        view.fee,
        view.openings_sort,
        view.raised_sort,
        view.rating_sort,
    ] {
        out.f64(n);
    }
    out.u8(view
        .trend
        .and_then(|t| Trend::ALL.iter().position(|x| *x == t))
        .map_or(0, |at| at as u8 + 1));
    out.str(&view.reasons.0);
    out.str(&view.signals.0);
    out.opt_str(view.gone_at.as_deref());
    out.str(&view.texts.text);
    for end in view.texts.ends {
        out.u32(end);
    }
    let facts = &view.facts;
    for n in [
        facts.combined_score,
        facts.engineer_score,
        facts.headhunter_score,
        facts.excitement_score,
    ] {
        out.opt_f64(n);
    }
    out.opt_i64(facts.salary_min);
    out.opt_i64(facts.salary_max);
    for n in [facts.fee_percent, facts.openings, facts.raised_usd] {
        out.opt_f64(n);
    }
    out.str(&facts.investors.0);
    out.str(&facts.locations.0);
    out.opt_str(facts.workplace.as_deref());
    let moving = &view.moving;
    out.u64(moving.base_key);
    for at in [moving.age_from, moving.first_seen, moving.gone] {
        out.time(at);
    }
    // What the moving parts were last made from, and what they made.
    out.u64(moving.volatile);
    out.u64(view.page_key);
    out.opt_i64(view.age_days);
    out.f64(view.responsiveness_sort);
    match moving.rows {
        None => out.u8(0),
        Some(rows) => {
            out.u8(1);
            out.u64(rows.at);
            for len in rows.lens {
                out.u32(len);
            }
        }
    }
}

fn view_from(input: &mut In) -> Option<RoleView> {
    let id = input.string()?;
    let page = input.string()?;
    let title = input.string()?;
    let company = input.string()?;
    let url = input.opt_string()?;
    let status = *STATUSES.get(input.u8()? as usize)?;
    let tier = match input.u8()? {
        0 => None,
        n => Some(*Tier::ALL.get(n as usize - 1)?),
    };
    let mut numbers = [0.0; 6];
    for n in &mut numbers {
        *n = input.f64()?;
    }
    let [
        score,
        salary_sort,
        fee,
        openings_sort,
        raised_sort,
        rating_sort,
    ] = numbers;
    let trend = match input.u8()? {
        0 => None,
        n => Some(*Trend::ALL.get(n as usize - 1)?),
    };
    let reasons = Lines(input.string()?);
    let signals = Lines(input.string()?);
    let gone_at = input.opt_string()?;
    let text = input.string()?;
    let mut ends = [0; Text::COUNT];
    for end in &mut ends {
        *end = input.u32()?;
    }
    let mut scores = [None; 4];
    for n in &mut scores {
        *n = input.opt_f64()?;
    }
    let [
        combined_score,
        engineer_score,
        headhunter_score,
        excitement_score,
    ] = scores;
    let salary_min = input.opt_i64()?;
    let salary_max = input.opt_i64()?;
    let fee_percent = input.opt_f64()?;
    let openings = input.opt_f64()?;
    let raised_usd = input.opt_f64()?;
    let investors = Lines(input.string()?);
    let locations = Lines(input.string()?);
    let workplace = input.opt_string()?;
    let base_key = input.u64()?;
    let age_from = input.time()?;
    let first_seen = input.time()?;
    let gone = input.time()?;
    let volatile = input.u64()?;
    let page_key = input.u64()?;
    let age_days = input.opt_i64()?;
    let responsiveness_sort = input.f64()?;
    let rows = match input.u8()? {
        0 => None,
        1 => {
            let at = input.u64()?;
            let mut lens = [0; 4];
            for len in &mut lens {
                *len = input.u32()?;
            }
            Some(RowsAt { at, lens })
        }
        _ => return None,
    };
    Some(
        RoleView {
            id,
            page,
            title,
            company,
            url,
            status,
            score,
            salary_sort,
            fee,
            openings_sort,
            raised_sort,
            rating_sort,
            trend,
            reasons,
            signals,
            gone_at,
            texts: Texts { text, ends },
            facts: RoleFacts {
                combined_score,
                engineer_score,
                headhunter_score,
                excitement_score,
                salary_min,
                salary_max,
                fee_percent,
                openings,
                raised_usd,
                investors,
                locations,
                workplace,
            },
            moving: super::Moving {
                base_key,
                age_from,
                first_seen,
                gone,
                volatile,
                rows,
                // Set by `read`.
                stamp: None,
            },
            page_key,
            age_days,
            responsiveness_sort,
            ..RoleView::default()
        }
        .with_tier(tier),
    )
}

/// The file being written.
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, n: u8) {
        self.0.push(n);
    }
    fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    fn i64(&mut self, n: i64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    fn f64(&mut self, n: f64) {
        self.u64(n.to_bits());
    }
    fn str(&mut self, text: &str) {
        // A view's texts are cut to lines; none comes near 4 GB.
        self.u32(u32::try_from(text.len()).unwrap_or(u32::MAX));
        self.0
            .extend_from_slice(&text.as_bytes()[..text.len().min(u32::MAX as usize)]);
    }
    fn opt_str(&mut self, text: Option<&str>) {
        self.u8(u8::from(text.is_some()));
        if let Some(text) = text {
            self.str(text);
        }
    }
    fn opt_f64(&mut self, n: Option<f64>) {
        self.u8(u8::from(n.is_some()));
        if let Some(n) = n {
            self.f64(n);
        }
    }
    fn opt_i64(&mut self, n: Option<i64>) {
        self.u8(u8::from(n.is_some()));
        if let Some(n) = n {
            self.i64(n);
        }
    }
    fn time(&mut self, at: Option<DateTime<Utc>>) {
        self.u8(u8::from(at.is_some()));
        if let Some(at) = at {
            self.i64(at.timestamp());
            self.u32(at.timestamp_subsec_nanos());
        }
    }
}

/// The file being read: `None` wherever it ends early or holds what
/// [`Out`] never writes.
struct In<'a> {
    bytes: &'a [u8],
}

impl In<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take()?))
    }
    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_bits(self.u64()?))
    }
    fn str(&mut self) -> Option<&str> {
        let len = self.u32()? as usize;
        if len > self.bytes.len() {
            return None;
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(text).ok()
    }
    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }
    fn present(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn opt_string(&mut self) -> Option<Option<String>> {
        Some(if self.present()? {
            Some(self.string()?)
        } else {
            None
        })
    }
    fn opt_f64(&mut self) -> Option<Option<f64>> {
        Some(if self.present()? {
            Some(self.f64()?)
        } else {
            None
        })
    }
    fn opt_i64(&mut self) -> Option<Option<i64>> {
        Some(if self.present()? {
            Some(self.i64()?)
        } else {
            None
        })
    }
    fn time(&mut self) -> Option<Option<DateTime<Utc>>> {
        Some(if self.present()? {
            let secs = self.i64()?;
            let nanos = self.u32()?;
            Some(DateTime::from_timestamp(secs, nanos)?)
        } else {
            None
        })
    }
}
