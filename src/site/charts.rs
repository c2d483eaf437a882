//! Charts as inline SVG, written by hand: no script, no library. Every label
//! is made here from numbers and dates, never from scraped text, and is
//! escaped all the same.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::Charts;
use crate::intel::escape_html;
use crate::store::RunStatus;
use crate::views::{RoleView, SiteData};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;

/// A named series of (x, y) points, drawn in one colour.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// Builds the four charts of the site.
pub fn build(data: &SiteData) -> Charts {
    let runs: Vec<_> = data
        .all_runs
        .iter()
        .filter(|r| r.status == RunStatus::Ok)
        .collect();
    let time = |at: &str| {
        DateTime::parse_from_rfc3339(at)
            .map(|t| t.timestamp() as f64)
            .unwrap_or(0.0)
    };
    let activity = line_chart(
        "Roles seen (Paraform and company boards) and qualified roles, per successful scrape",
        "roles",
        &[
            Series {
                name: "seen, boards included",
                color: "#2563eb",
                points: runs
                    .iter()
                    .map(|r| (time(&r.started_at), r.roles_seen as f64))
                    .collect(),
            },
            Series {
                name: "qualified",
                color: "#16a34a",
                points: runs
                    .iter()
                    .map(|r| (time(&r.started_at), r.roles_qualified as f64))
                    .collect(),
            },
        ],
    );
    let mut days: Vec<(String, Vec<f64>)> = data
        .days
        .iter()
        .map(|day| {
            (
                day.date.get(5..).unwrap_or(&day.date).to_string(),
                vec![day.new as f64, day.gone as f64],
            )
        })
        .collect();
    days.reverse();
    let new_vs_gone = bar_chart(
        "New and gone roles per day",
        "roles",
        &[("new", "#16a34a"), ("gone", "#dc2626")],
        &days,
    );
    let qualified: Vec<&RoleView> = data.roles.iter().filter(|r| r.qualified).collect();
    let fee_buckets = [
        (0.0, 14.0, "<14%"),
        (14.0, 16.0, "14–16%"),
        (16.0, 18.0, "16–18%"),
        (18.0, 20.0, "18–20%"),
        (20.0, 25.0, "20–25%"),
        (25.0, f64::MAX, "25%+"),
    ];
    let fees = bar_chart(
        "Fee of qualified roles",
        "roles",
        &[("roles", "#7c3aed")],
        &histogram(qualified.iter().map(|r| r.fee), &fee_buckets),
    );
    let salary_buckets = [
        (0.0, 200_000.0, "<$200K"),
        (200_000.0, 250_000.0, "$200–250K"),
        (250_000.0, 300_000.0, "$250–300K"),
        (300_000.0, 350_000.0, "$300–350K"),
        (350_000.0, 400_000.0, "$350–400K"),
        (400_000.0, f64::MAX, "$400K+"),
    ];
    let salaries = bar_chart(
        "Salary (upper bound) of qualified roles",
        "roles",
        &[("roles", "#ea580c")],
        &histogram(
            qualified
                .iter()
                .filter(|r| r.salary_sort > 0.0)
                .map(|r| r.salary_sort),
            &salary_buckets,
        ),
    );
    Charts {
        activity,
        new_vs_gone,
        fees,
        salaries,
    }
}

fn histogram(
    values: impl Iterator<Item = f64>,
    buckets: &[(f64, f64, &str)],
) -> Vec<(String, Vec<f64>)> {
    let mut counts = vec![0.0; buckets.len()];
    for value in values {
        if let Some(i) = buckets
            .iter()
            .position(|(lo, hi, _)| value >= *lo && value < *hi)
        {
            counts[i] += 1.0;
        }
    }
    buckets
        .iter()
        .zip(counts)
        .map(|((_, _, label), n)| (label.to_string(), vec![n]))
        .collect()
}

/// A round step for about `target` ticks up to `max`.
fn nice_step(max: f64, target: f64) -> f64 {
    let raw = (max / target).max(1e-9);
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    let nice = if residual <= 1.0 {
        1.0
    } else if residual <= 2.0 {
        2.0
    } else if residual <= 5.0 {
        5.0
    } else {
        10.0
    };
    (nice * magnitude).max(1.0)
}

fn open_svg(out: &mut String, title: &str, y_label: &str) {
    let _ = write!(
        out,
        r##"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="12" y="{cy}" font-size="11" transform="rotate(-90 12 {cy})" text-anchor="middle">{y}</text>"##,
        t = escape_html(title),
        y = escape_html(y_label),
        cy = TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
    );
}

fn empty(out: &mut String) {
    let _ = write!(
        out,
        r##"<text x="{}" y="{}" font-size="13" text-anchor="middle" fill="#6b7280">no data yet</text></svg>"##,
        WIDTH / 2.0,
        HEIGHT / 2.0
    );
}

/// Horizontal grid lines and y labels; returns the y scale's maximum.
fn y_axis(out: &mut String, max: f64) -> f64 {
    let step = nice_step(max.max(1.0), 4.0);
    let top = (max.max(1.0) / step).ceil() * step;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let mut tick = 0.0;
    while tick <= top + 1e-9 {
        let y = TOP + plot_h - tick / top * plot_h;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#374151">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            crate::role::format_number(tick)
        );
        tick += step;
    }
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{b}" x2="{}" y2="{b}" stroke="#9ca3af"/>"##,
        WIDTH - RIGHT,
        b = HEIGHT - BOTTOM
    );
    top
}

fn legend(out: &mut String, entries: &[(&str, &str)]) {
    let mut x = WIDTH - RIGHT - 110.0 * entries.len() as f64;
    for (name, color) in entries {
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="8" width="10" height="10" fill="{color}"/><text x="{:.1}" y="17" font-size="11">{}</text>"##,
            x + 14.0,
            escape_html(name)
        );
        x += 110.0;
    }
}

/// Lines over time; x values are Unix seconds.
pub fn line_chart(title: &str, y_label: &str, series: &[Series<'_>]) -> String {
    let mut out = String::new();
    open_svg(&mut out, title, y_label);
    let points: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    if points.is_empty() {
        empty(&mut out);
        return out;
    }
    let (x_min, x_max) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (x, _)| {
            (lo.min(*x), hi.max(*x))
        });
    let y_max = points.iter().map(|(_, y)| *y).fold(0.0, f64::max);
    let top = y_axis(&mut out, y_max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let span = (x_max - x_min).max(1.0);
    let sx = |x: f64| {
        if x_max > x_min {
            LEFT + (x - x_min) / span * plot_w
        } else {
            LEFT + plot_w / 2.0
        }
    };
    let sy = |y: f64| TOP + plot_h - y / top * plot_h;
    // Dates along the bottom: first, middle, last, kept inside the frame.
    let mut labelled = Vec::new();
    for (x, anchor) in [
        (x_min, "start"),
        (x_min + span / 2.0, "middle"),
        (x_max, "end"),
    ] {
        let label = DateTime::<Utc>::from_timestamp(x as i64, 0)
            .map(|t| t.format("%b %-d").to_string())
            .unwrap_or_default();
        if labelled.contains(&label) {
            continue;
        }
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="{anchor}" fill="#374151">{}</text>"##,
            sx(x),
            HEIGHT - BOTTOM + 16.0,
            escape_html(&label)
        );
        labelled.push(label);
    }
    for s in series {
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            out,
            r##"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"##,
            s.color,
            path.join(" ")
        );
        for (x, y) in &s.points {
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"><title>{} {}</title></circle>"##,
                sx(*x),
                sy(*y),
                s.color,
                escape_html(s.name),
                crate::role::format_number(*y)
            );
        }
    }
    legend(
        &mut out,
        &series.iter().map(|s| (s.name, s.color)).collect::<Vec<_>>(),
    );
    out.push_str("</svg>");
    out
}

/// Grouped bars: one group per label, one bar per series.
pub fn bar_chart(
    title: &str,
    y_label: &str,
    series: &[(&str, &str)],
    groups: &[(String, Vec<f64>)],
) -> String {
    let mut out = String::new();
    open_svg(&mut out, title, y_label);
    let y_max = groups
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .fold(0.0, f64::max);
    if groups.is_empty() || y_max <= 0.0 {
        empty(&mut out);
        return out;
    }
    let top = y_axis(&mut out, y_max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let group_w = plot_w / groups.len() as f64;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).max(1.0);
    let label_every = (groups.len() as f64 / 10.0).ceil().max(1.0) as usize;
    for (g, (label, values)) in groups.iter().enumerate() {
        let x0 = LEFT + g as f64 * group_w + group_w * 0.1;
        for (i, value) in values.iter().enumerate() {
            let h = value / top * plot_h;
            let (name, color) = series.get(i).copied().unwrap_or(("", "#6b7280"));
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{} {}: {}</title></rect>"##,
                x0 + i as f64 * bar_w,
                TOP + plot_h - h,
                bar_w,
                h,
                escape_html(label),
                escape_html(name),
                crate::role::format_number(*value)
            );
        }
        if g % label_every == 0 {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#374151">{}</text>"##,
                LEFT + g as f64 * group_w + group_w / 2.0,
                HEIGHT - BOTTOM + 16.0,
                escape_html(label)
            );
        }
    }
    if series.len() > 1 {
        legend(&mut out, series);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(10.0, 4.0), 5.0);
        assert_eq!(nice_step(614.0, 4.0), 200.0);
        assert_eq!(nice_step(3.0, 4.0), 1.0);
    }

    #[test]
    fn charts_are_svg_with_labels_and_survive_no_data() {
        let svg = line_chart(
            "t",
            "roles",
            &[Series {
                name: "a",
                color: "#000",
                points: vec![(0.0, 1.0), (86_400.0, 5.0)],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Jan 1") && svg.contains("Jan 2") && svg.contains("polyline"));
        let none = line_chart("t", "roles", &[]);
        assert!(none.contains("no data yet") && none.ends_with("</svg>"));
        let bars = bar_chart("t", "roles", &[("x", "#000")], &[("a<b".into(), vec![3.0])]);
        assert!(bars.contains("a&lt;b") && bars.contains("<rect"));
        assert!(bar_chart("t", "r", &[("x", "#000")], &[]).contains("no data yet"));
    }
}
