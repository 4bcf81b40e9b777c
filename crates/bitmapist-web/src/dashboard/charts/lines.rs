//! Line charts over days (the event page's trends): several series on one y axis from 0
//! to a round ceiling, each a polyline with a tooltip per point; a series may be drawn
//! dashed (the previous range, overlaid on the current one).

use super::axis::{HEIGHT, WIDTH, nice_step};
use super::{Scale, Tick, coord};

const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

/// How a chart writes its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Counts of users (`1,204`).
    Users,
    /// Fractions, shown as percentages (`12.5%`); the axis tops out at a round percentage.
    Fraction,
}

/// One series as the caller gives it.
#[derive(Clone, Debug)]
pub struct Series {
    /// Its name in tooltips and the legend (`DAU`, `MAU, previous range`).
    pub name: String,
    /// CSS class (colour, dashes), e.g. `ln-dau prev`.
    pub class: &'static str,
    /// One value per x position; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
    /// The x label of each value in tooltips (the day it belongs to).
    pub labels: Vec<String>,
}

/// One point.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePoint {
    /// Centre x.
    pub x: String,
    /// Centre y.
    pub y: String,
    /// Tooltip: `DAU 2026-11-20: 1,204`.
    pub title: String,
}

/// One drawn series.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Its name (for the legend).
    pub name: String,
    /// CSS class.
    pub class: &'static str,
    /// `x,y x,y ...` for `<polyline>` (gaps end one polyline: one string per run).
    pub runs: Vec<String>,
    /// The points, with tooltips.
    pub points: Vec<LinePoint>,
}

/// A line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// `viewBox` width.
    pub width: u32,
    /// `viewBox` height.
    pub height: u32,
    /// The plot's left edge.
    pub left: String,
    /// The plot's right edge.
    pub right: String,
    /// The x axis's y.
    pub bottom: String,
    /// Where x labels sit.
    pub label_y: String,
    /// The series, in the order given (later ones drawn on top).
    pub lines: Vec<Line>,
    /// The x axis's labels.
    pub x_ticks: Vec<Tick>,
    /// The y axis's ticks (with gridlines).
    pub y_ticks: Vec<Tick>,
    /// A summary for screen readers.
    pub label: String,
}

fn format_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Users => bitmapist::thousands(v.max(0.0).round() as u64),
        Unit::Fraction => format!("{:.1}%", v * 100.0),
    }
}

/// A chart of `series` over `x_labels` (one per position, oldest first).
pub fn line_chart(x_labels: &[String], series: &[Series], unit: Unit, what: &str) -> LineChart {
    let n = x_labels.len();
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    // Ticks in whole users, or in tenths of a percent for fractions.
    let scale_by = match unit {
        Unit::Users => 1.0,
        Unit::Fraction => 1000.0,
    };
    let step = nice_step((max * scale_by).ceil() as u64);
    let top_units = ((max * scale_by).ceil() as u64).div_ceil(step).max(1) * step;
    let top = top_units as f64 / scale_by;
    let bottom = HEIGHT - BOTTOM;
    let scale = Scale::new(top, bottom, HEIGHT - TOP - BOTTOM);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x_of = |i: usize| {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let lines = series
        .iter()
        .map(|s| {
            let mut runs = Vec::new();
            let mut run = String::new();
            let mut points = Vec::new();
            for (i, v) in s.values.iter().enumerate().take(n) {
                match v {
                    Some(v) => {
                        let (x, y) = (coord(x_of(i)), coord(scale.y(*v)));
                        if !run.is_empty() {
                            run.push(' ');
                        }
                        run.push_str(&format!("{x},{y}"));
                        let day = s.labels.get(i).unwrap_or(&x_labels[i]);
                        points.push(LinePoint {
                            x,
                            y,
                            title: format!("{} {day}: {}", s.name, format_value(*v, unit)),
                        });
                    }
                    None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                    None => {}
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            Line {
                name: s.name.clone(),
                class: s.class,
                runs,
                points,
            }
        })
        .collect();
    let every = n.div_ceil(8).max(1);
    let x_ticks = x_labels
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
        .map(|(i, l)| Tick {
            at: coord(x_of(i)),
            text: l.clone(),
        })
        .collect();
    let y_ticks = (0..=top_units / step)
        .map(|k| {
            let v = (k * step) as f64 / scale_by;
            Tick {
                at: coord(scale.y(v)),
                text: format_value(v, unit),
            }
        })
        .collect();
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    LineChart {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        left: coord(LEFT),
        right: coord(WIDTH - RIGHT),
        bottom: coord(bottom),
        label_y: coord(bottom + 16.0),
        lines,
        x_ticks,
        y_ticks,
        label: format!(
            "{what}: {} over {n} days, peak {}",
            names.join(", "),
            format_value(max, unit)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_scale_to_the_top_tick_and_gaps_split_runs() {
        let labels: Vec<String> = (1..=4).map(|d| format!("d{d}")).collect();
        let s = Series {
            name: "DAU".to_string(),
            class: "ln-dau",
            values: vec![Some(0.0), Some(90.0), None, Some(45.0)],
            labels: labels.clone(),
        };
        let c = line_chart(&labels, &[s], Unit::Users, "test");
        let line = &c.lines[0];
        assert_eq!(line.runs.len(), 2);
        assert_eq!(line.points.len(), 3);
        // max 90, step 20: the top tick is 100.
        assert_eq!(c.y_ticks.last().map(|t| t.text.as_str()), Some("100"));
        assert_eq!(line.points[0].y, c.bottom);
        assert_eq!(line.points[1].title, "DAU d2: 90");
        assert_eq!(c.x_ticks.last().map(|t| t.text.as_str()), Some("d4"));
    }

    #[test]
    fn fractions_are_percentages_and_nothing_panics() {
        let labels = vec!["a".to_string()];
        let s = Series {
            name: "DAU/MAU".to_string(),
            class: "ln-ratio",
            values: vec![Some(0.123)],
            labels: labels.clone(),
        };
        let c = line_chart(&labels, &[s], Unit::Fraction, "ratio");
        assert_eq!(c.lines[0].points[0].title, "DAU/MAU a: 12.3%");
        assert!(c.y_ticks.iter().all(|t| t.text.ends_with('%')));
        let empty = line_chart(&[], &[], Unit::Users, "none");
        assert!(empty.lines.is_empty() && empty.x_ticks.is_empty());
    }
}
