//! Stacked bars above and below one axis (the lifecycle page): per period, parts stacked
//! upward from the zero line and parts hanging below it, each part a link. With a
//! breakdown, [`stacked_multiples`] draws one chart per value on one shared scale (the
//! largest stack and the largest part below of all values), so bars compare across charts.
//!
//! The y axis runs from a round floor (the largest part below, negated) to a round ceiling
//! (the largest stack above), with "nice" ticks on both sides ([`nice_step`]); the zero
//! line is drawn over the bars. Every part carries a tooltip (`<title>`) and its own URL, so
//! a click on a part opens the users behind it without JavaScript.

use bitmapist::thousands;

use super::axis::{HEIGHT, WIDTH, nice_step};
use super::{Tick, coord};

const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

/// One part of a bar, as the caller gives it.
#[derive(Clone, Debug)]
pub struct Part {
    /// The count.
    pub count: u64,
    /// Drawn below the axis (otherwise stacked above).
    pub below: bool,
    /// CSS class (its colour), e.g. `lc-new`.
    pub class: &'static str,
    /// The part's name for the tooltip, e.g. `new`.
    pub name: &'static str,
    /// Where a click goes.
    pub href: String,
}

/// One bar: its label (the period) and its parts.
pub type Bar = (String, Vec<Part>);

/// One drawn part.
#[derive(Clone, Debug, PartialEq)]
pub struct PartRect {
    /// Left edge.
    pub x: String,
    /// Top edge.
    pub y: String,
    /// Width.
    pub w: String,
    /// Height.
    pub h: String,
    /// CSS class.
    pub class: &'static str,
    /// Tooltip: `2026-W47 new: 1,204`.
    pub title: String,
    /// Link target.
    pub href: String,
}

/// A stacked bar chart.
#[derive(Clone, Debug, PartialEq)]
pub struct StackedChart {
    /// `viewBox` width.
    pub width: u32,
    /// `viewBox` height.
    pub height: u32,
    /// The plot's left edge.
    pub left: String,
    /// The plot's right edge.
    pub right: String,
    /// The zero line's y.
    pub zero: String,
    /// The plot's bottom.
    pub bottom: String,
    /// Where x labels sit.
    pub label_y: String,
    /// Every part with a count above zero, bar by bar.
    pub parts: Vec<PartRect>,
    /// The x axis's labels.
    pub x_ticks: Vec<Tick>,
    /// The y axis's ticks, above and below zero.
    pub y_ticks: Vec<Tick>,
    /// A summary for screen readers.
    pub label: String,
}

/// A chart of `bars` (label, parts): the parts with `below` hang under the axis, the
/// others stack above it, in the order given (the first next to the axis).
pub fn stacked_bars(bars: &[Bar], what: &str) -> StackedChart {
    let (up, down) = extent(bars);
    drawn(bars, what, up, down)
}

/// One chart per `(what, bars)` group, all on the scale of the largest stack and the
/// largest part below of every group (small multiples that compare).
pub fn stacked_multiples(groups: &[(String, Vec<Bar>)]) -> Vec<StackedChart> {
    let (up, down) = groups
        .iter()
        .map(|(_, bars)| extent(bars))
        .fold((0, 0), |(u, d), (gu, gd)| (u.max(gu), d.max(gd)));
    groups
        .iter()
        .map(|(what, bars)| drawn(bars, what, up, down))
        .collect()
}

/// The largest stack above the axis and the largest stack below it.
fn extent(bars: &[Bar]) -> (u64, u64) {
    let sum = |parts: &[Part], below: bool| -> u64 {
        parts
            .iter()
            .filter(|p| p.below == below)
            .map(|p| p.count)
            .sum()
    };
    bars.iter().fold((0, 0), |(u, d), (_, p)| {
        (u.max(sum(p, false)), d.max(sum(p, true)))
    })
}

/// `bars` drawn on a scale reaching at least `scale_up` above the axis and `scale_down`
/// below it.
fn drawn(bars: &[Bar], what: &str, scale_up: u64, scale_down: u64) -> StackedChart {
    let n = bars.len();
    let (max_up, max_down) = extent(bars);
    let step = nice_step(scale_up.max(scale_down).max(max_up).max(max_down));
    let top = scale_up.max(max_up).div_ceil(step).max(1) * step;
    let floor = scale_down.max(max_down).div_ceil(step) * step;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let unit = plot_h / (top + floor) as f64;
    let zero = TOP + top as f64 * unit;
    let plot_w = WIDTH - LEFT - RIGHT;
    let slot = plot_w / n.max(1) as f64;
    let gap = (slot * 0.2).min(6.0);
    let mut parts = Vec::new();
    for (i, (label, bar)) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * slot + gap / 2.0;
        let (mut above, mut under) = (zero, zero);
        for p in bar.iter().filter(|p| p.count > 0) {
            let h = p.count as f64 * unit;
            let y = if p.below {
                under += h;
                under - h
            } else {
                above -= h;
                above
            };
            parts.push(PartRect {
                x: coord(x),
                y: coord(y),
                w: coord((slot - gap).max(0.5)),
                h: coord(h),
                class: p.class,
                title: format!("{label} {}: {}", p.name, thousands(p.count)),
                href: p.href.clone(),
            });
        }
    }
    let every = n.div_ceil(8).max(1);
    let x_ticks = bars
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
        .map(|(i, (label, _))| Tick {
            at: coord(LEFT + (i as f64 + 0.5) * slot),
            text: label.clone(),
        })
        .collect();
    let y_ticks = (0..=top / step)
        .map(|k| (k * step, false))
        .chain((1..=floor / step).map(|k| (k * step, true)))
        .map(|(v, below)| Tick {
            at: coord(if below {
                zero + v as f64 * unit
            } else {
                zero - v as f64 * unit
            }),
            text: if below && v > 0 {
                format!("−{}", thousands(v))
            } else {
                thousands(v)
            },
        })
        .collect();
    StackedChart {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        left: coord(LEFT),
        right: coord(WIDTH - RIGHT),
        zero: coord(zero),
        bottom: coord(HEIGHT - BOTTOM),
        label_y: coord(HEIGHT - BOTTOM + 16.0),
        parts,
        x_ticks,
        y_ticks,
        label: format!(
            "{what}: {n} bars, largest stack {}, largest below the axis {}",
            thousands(max_up),
            thousands(max_down)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(count: u64, below: bool) -> Part {
        Part {
            count,
            below,
            class: if below { "lc-dormant" } else { "lc-new" },
            name: if below { "dormant" } else { "new" },
            href: format!("/u?{count}"),
        }
    }

    #[test]
    fn parts_stack_from_the_zero_line() {
        let bars = vec![
            (
                "a".to_string(),
                vec![part(30, false), part(10, false), part(20, true)],
            ),
            ("b".to_string(), vec![part(0, false), part(5, true)]),
        ];
        let c = stacked_bars(&bars, "test");
        // Zero-count parts are not drawn.
        assert_eq!(c.parts.len(), 4);
        let y = |s: &str| s.parse::<f64>().unwrap();
        let zero = y(&c.zero);
        // The first part above sits on the zero line, the second on top of it.
        assert!((y(&c.parts[0].y) + y(&c.parts[0].h) - zero).abs() < 0.02);
        assert!((y(&c.parts[1].y) + y(&c.parts[1].h) - y(&c.parts[0].y)).abs() < 0.02);
        // The part below hangs from the zero line, proportional to its count.
        assert_eq!(c.parts[2].y, c.zero);
        assert!((y(&c.parts[2].h) / y(&c.parts[0].h) - 20.0 / 30.0).abs() < 0.01);
        assert_eq!(c.parts[2].title, "a dormant: 20");
        assert_eq!(c.parts[3].href, "/u?5");
        assert!(c.y_ticks.iter().any(|t| t.text == "−20"));
        assert!(c.y_ticks.iter().any(|t| t.text == "40"));
    }

    #[test]
    fn empty_and_zero_series_draw_nothing_and_do_not_panic() {
        assert!(stacked_bars(&[], "none").parts.is_empty());
        let c = stacked_bars(
            &[("x".to_string(), vec![part(0, false), part(0, true)])],
            "z",
        );
        assert!(c.parts.is_empty());
        assert_eq!(c.y_ticks.len(), 2);
    }

    #[test]
    fn small_multiples_share_one_scale() {
        let big = vec![("a".to_string(), vec![part(100, false), part(40, true)])];
        let small = vec![("a".to_string(), vec![part(10, false), part(4, true)])];
        let charts = stacked_multiples(&[("big".into(), big.clone()), ("small".into(), small)]);
        assert_eq!(charts.len(), 2);
        let y = |s: &str| s.parse::<f64>().unwrap();
        // One scale: the same zero line and ticks, and heights proportional to counts
        // across charts.
        assert_eq!(charts[0].zero, charts[1].zero);
        assert_eq!(charts[0].y_ticks, charts[1].y_ticks);
        let (h_big, h_small) = (y(&charts[0].parts[0].h), y(&charts[1].parts[0].h));
        assert!(
            (h_big / h_small - 10.0).abs() < 0.05,
            "{h_big} vs {h_small}"
        );
        // Alone, the small chart would fill the plot; in the group it does not.
        assert_ne!(
            stacked_bars(&[("a".to_string(), vec![part(10, false)])], "x").zero,
            charts[1].zero
        );
        assert_eq!(charts[0], stacked_bars(&big, "big"));
        assert!(charts[1].label.starts_with("small:"));
        assert!(stacked_multiples(&[]).is_empty());
    }
}
