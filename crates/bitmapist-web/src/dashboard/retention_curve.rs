//! The retention curve under the cohort heatmap: average retention by lag, rows as faint lines.
//! Only numbers and texts are built here; the template draws the SVG and escapes the texts.
//!
//! The y axis runs from 0 to a round ceiling of the largest fraction shown (10%, 20%, 25%,
//! 50% or 100%), so that the usual small later-period retention stays readable. Each point
//! of the average line carries an SVG `<title>` (the browser shows it on hover, without
//! JavaScript); each row's line carries its label and size.

use bitmapist::Cohort;

use super::views::percent;
use bitmapist::thousands as group;

/// The `viewBox` width.
const WIDTH: f64 = 640.0;
/// The `viewBox` height.
const HEIGHT: f64 = 240.0;
/// Room on the left for the y labels.
const LEFT: f64 = 44.0;
/// Room on the right.
const RIGHT: f64 = 12.0;
/// Room above.
const TOP: f64 = 12.0;
/// Room below for the x labels.
const BOTTOM: f64 = 28.0;
/// The most x labels drawn.
const MAX_X_LABELS: usize = 12;

/// One point of the average line.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Centre x.
    pub x: String,
    /// Centre y.
    pub y: String,
    /// The tooltip: `Week 3: 12.5% (average of 6 cohorts)`.
    pub title: String,
}

/// One faint line: a cohort row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowLine {
    /// `x,y x,y ...` for a `<polyline>`.
    pub points: String,
    /// The tooltip: `2026-W40: 1,204 users; week 1: 30.0%, week 2: ...`.
    pub title: String,
}

/// One axis label with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// Position along the axis.
    pub at: String,
    /// The gridline's other end, or the label's offset.
    pub text: String,
}

/// The whole chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// `viewBox` width.
    pub width: u32,
    /// `viewBox` height.
    pub height: u32,
    /// The plot's left edge.
    pub left: String,
    /// The plot's right edge.
    pub right: String,
    /// The plot's top edge.
    pub top: String,
    /// The plot's bottom edge (the x axis).
    pub bottom: String,
    /// Where x labels sit (below the axis).
    pub label_y: String,
    /// The rows, oldest first.
    pub rows: Vec<RowLine>,
    /// The average line's `points` (empty when no column has an average).
    pub average: String,
    /// The average line's points, with tooltips.
    pub points: Vec<Point>,
    /// Horizontal gridlines with their labels (`at` is y).
    pub y_ticks: Vec<Tick>,
    /// Lag labels (`at` is x).
    pub x_ticks: Vec<Tick>,
    /// A summary for screen readers.
    pub label: String,
}

/// The round ceiling of the y axis for a largest fraction `max`.
fn ceiling(max: f64) -> f64 {
    [0.1, 0.2, 0.25, 0.5, 1.0]
        .into_iter()
        .find(|&c| max <= c + 1e-12)
        .unwrap_or(1.0)
}

/// A coordinate with at most two decimals.
fn fmt(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Capitalizes the first letter of an ASCII word.
fn capital(word: &str) -> String {
    let mut s = word.to_string();
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s
}

impl Curve {
    /// The chart of `table`, whose `average_fractions` were taken as `average_name` says
    /// (`simple`, `weighted`; for the tooltips). `None` when no row has users.
    pub fn new(table: &Cohort, average_name: &str) -> Option<Curve> {
        if table.total == 0 {
            return None;
        }
        let cols = table.average_fractions.len();
        let unit = table.time_group.unit();
        let heading = capital(unit);
        let max = table
            .fractions
            .iter()
            .flatten()
            .chain(table.average_fractions.iter())
            .filter_map(|f| *f)
            .filter(|f| f.is_finite())
            .fold(0.0_f64, f64::max);
        let top_value = ceiling(max);
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let step = if cols > 1 {
            plot_w / (cols - 1) as f64
        } else {
            0.0
        };
        let x = |j: usize| LEFT + step * j as f64;
        let y = |f: f64| TOP + plot_h * (1.0 - (f / top_value).clamp(0.0, 1.0));

        let rows = table
            .fractions
            .iter()
            .enumerate()
            .filter(|(i, _)| table.totals.get(*i).copied().unwrap_or(0) > 0)
            .map(|(i, fr)| {
                let label = table.labels.get(i).map_or("", String::as_str);
                let total = table.totals.get(i).copied().unwrap_or(0);
                let mut points = Vec::new();
                let mut parts = Vec::new();
                for (j, f) in fr.iter().enumerate() {
                    if let Some(f) = f {
                        points.push(format!("{},{}", fmt(x(j)), fmt(y(*f))));
                        parts.push(format!("{unit} {j}: {}", percent(*f)));
                    }
                }
                RowLine {
                    points: points.join(" "),
                    title: format!("{label}: {} users; {}", group(total), parts.join(", ")),
                }
            })
            .collect();

        let mut average = Vec::new();
        let mut points = Vec::new();
        for (j, a) in table.average_fractions.iter().enumerate() {
            let Some(a) = a else { continue };
            let cohorts = table
                .fractions
                .iter()
                .filter(|r| r.get(j).copied().flatten().is_some())
                .count();
            let (px, py) = (fmt(x(j)), fmt(y(*a)));
            average.push(format!("{px},{py}"));
            points.push(Point {
                x: px,
                y: py,
                title: format!(
                    "{heading} {j}: {} ({average_name} average over {} cohort{})",
                    percent(*a),
                    cohorts,
                    if cohorts == 1 { "" } else { "s" }
                ),
            });
        }

        let y_ticks = (0..=4)
            .map(|k| {
                let f = top_value * f64::from(k) / 4.0;
                Tick {
                    at: fmt(y(f)),
                    text: format!("{}%", fmt(f * 100.0)),
                }
            })
            .collect();
        let every = cols.div_ceil(MAX_X_LABELS).max(1);
        let x_ticks = (0..cols)
            .filter(|j| j % every == 0)
            .map(|j| Tick {
                at: fmt(x(j)),
                text: j.to_string(),
            })
            .collect();
        let first = table.average_fractions.first().copied().flatten();
        let last = table.average_fractions.iter().rev().find_map(|a| *a);
        Some(Curve {
            width: WIDTH as u32,
            height: HEIGHT as u32,
            left: fmt(LEFT),
            right: fmt(WIDTH - RIGHT),
            top: fmt(TOP),
            bottom: fmt(TOP + plot_h),
            label_y: fmt(TOP + plot_h + 18.0),
            rows,
            average: average.join(" "),
            points,
            y_ticks,
            x_ticks,
            label: format!(
                "Retention curve: {average_name} average by {unit}, from {} at {unit} 0 to {} at the last {unit} with data",
                first.map(percent).unwrap_or_else(|| "none".into()),
                last.map(percent).unwrap_or_else(|| "none".into())
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmapist::{Period, TimeGroup};

    /// A cohort computed by the engine (on a memory store) as of Wednesday of 2026-W42:
    /// "on" criterion, `rows` rows up to W42; W40 has 10 users (10, 4, 2 back), W41 has 5
    /// (5, 1 back, then the future).
    fn computed(rows: usize, mark: bool, group: TimeGroup) -> Cohort {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let bm = bitmapist::Bitmapist::open("memory://")
                .await
                .expect("memory");
            let week = |w: u32| {
                Period::week(2026, w)
                    .expect("week")
                    .start()
                    .expect("start")
                    .and_utc()
            };
            if mark {
                for (w, users, back) in [(40, 10u32, [10u32, 4, 2]), (41, 5, [5, 1, 0])] {
                    for u in 0..users {
                        let uid = w * 100 + u;
                        bm.mark_event("a", uid).at(week(w)).await.expect("mark");
                        for (lag, n) in back.iter().enumerate() {
                            if u < *n {
                                bm.mark_event("b", uid)
                                    .at(week(w + lag as u32))
                                    .await
                                    .expect("mark");
                            }
                        }
                    }
                }
            }
            let spec = bitmapist::CohortSpec::new("a", "b")
                .time_group(group)
                .rows(rows)
                .cols(3.min(rows + 1))
                .with_replacement(true)
                .now(week(42) + chrono::Duration::days(2));
            bm.get_cohort(&spec).await.expect("cohort")
        })
    }

    fn table() -> Cohort {
        // Rows W40, W41 and W42 (the week of `now`, with no sign-ups).
        let mut t = computed(3, true, TimeGroup::Weeks);
        assert_eq!(
            t.cohort,
            vec![
                vec![Some(10), Some(4), Some(2)],
                vec![Some(5), Some(1), None],
                vec![None, None, None],
            ]
        );
        t.average_fractions = vec![Some(1.0), Some(0.3), Some(0.2)];
        t
    }

    #[test]
    fn scales_and_titles() {
        let c = Curve::new(&table(), "simple").expect("a curve");
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.points.len(), 3);
        // 100% at lag 0 sits on the top edge; the axis tops out at 100%.
        assert_eq!(c.points[0].y, c.top);
        assert_eq!(c.y_ticks.last().map(|t| t.text.as_str()), Some("100%"));
        assert!(
            c.points[1]
                .title
                .starts_with("Week 1: 30.0% (simple average over 2 cohorts")
        );
        assert_eq!(
            c.rows[1].points.split(' ').count(),
            2,
            "the future cell is no point"
        );
        assert!(
            c.rows[0]
                .title
                .starts_with("2026-W40: 10 users; week 0: 100.0%")
        );
    }

    #[test]
    fn no_users_no_chart_and_small_fractions_zoom() {
        let empty = computed(1, false, TimeGroup::Days);
        assert_eq!(empty.cohort, vec![vec![None, None]]);
        assert!(Curve::new(&empty, "simple").is_none());
        assert!((ceiling(0.07) - 0.1).abs() < 1e-12);
        assert!((ceiling(0.21) - 0.25).abs() < 1e-12);
        assert!((ceiling(0.6) - 1.0).abs() < 1e-12);
    }
}
