//! Grouped bars with axes (the funnel page's breakdown): per group (a step), one bar per
//! series (a breakdown value) side by side, each series in its own colour class
//! (`grp-0`, `grp-1`, ... cycling through [`COLOURS`]).
//!
//! The y axis has the same round ticks as [`axis_bars`](super::axis_bars) ([`nice_step`]);
//! every bar carries a tooltip (`<title>`: `step · value: count`). Labels reach the page
//! only through the template's escaping.

use bitmapist::thousands;

use super::axis::{HEIGHT, WIDTH, nice_step};
use super::{Tick, coord};

const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 40.0;
/// How many colour classes there are; series beyond reuse them in order.
pub const COLOURS: usize = 8;

/// One drawn bar.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupedBar {
    /// Left edge.
    pub x: String,
    /// Top edge.
    pub y: String,
    /// Width.
    pub w: String,
    /// Height.
    pub h: String,
    /// CSS class: `grp-K`.
    pub class: String,
    /// Tooltip.
    pub title: String,
}

/// One entry of the legend.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendKey {
    /// The series' name.
    pub name: String,
    /// Its CSS class.
    pub class: String,
}

/// A grouped bar chart.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupedChart {
    /// `viewBox` width.
    pub width: u32,
    /// `viewBox` height.
    pub height: u32,
    /// The plot's left edge.
    pub left: String,
    /// The plot's right edge.
    pub right: String,
    /// The plot's bottom (the x axis).
    pub bottom: String,
    /// Where x labels sit.
    pub label_y: String,
    /// Every bar, group by group.
    pub bars: Vec<GroupedBar>,
    /// One label per group.
    pub x_ticks: Vec<Tick>,
    /// The y axis's ticks.
    pub y_ticks: Vec<Tick>,
    /// The series, in order, with their classes.
    pub legend: Vec<LegendKey>,
    /// A summary for screen readers.
    pub label: String,
}

/// A chart of `groups` (their labels) with one bar per series of `series` (name, one
/// count per group; missing counts are zero).
pub fn grouped_bars(groups: &[String], series: &[(String, Vec<u64>)], what: &str) -> GroupedChart {
    let n = groups.len();
    let k = series.len().max(1);
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0);
    let step = nice_step(max);
    let top = max.div_ceil(step).max(1) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bottom = TOP + plot_h;
    let y_of = |v: u64| bottom - plot_h * (v as f64 / top as f64);
    let slot = plot_w / n.max(1) as f64;
    let gap = (slot * 0.2).min(16.0);
    let bar_w = ((slot - gap) / k as f64).max(0.5);
    let class = |j: usize| format!("grp-{}", j % COLOURS);
    let mut bars = Vec::with_capacity(n * k);
    for (i, group) in groups.iter().enumerate() {
        for (j, (name, counts)) in series.iter().enumerate() {
            let count = counts.get(i).copied().unwrap_or(0);
            let y = if count == 0 {
                bottom - 1.0
            } else {
                y_of(count)
            };
            bars.push(GroupedBar {
                x: coord(LEFT + i as f64 * slot + gap / 2.0 + j as f64 * bar_w),
                y: coord(y),
                w: coord(bar_w),
                h: coord(bottom - y),
                class: class(j),
                title: format!("{group} · {name}: {}", thousands(count)),
            });
        }
    }
    GroupedChart {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        left: coord(LEFT),
        right: coord(WIDTH - RIGHT),
        bottom: coord(bottom),
        label_y: coord(bottom + 16.0),
        bars,
        x_ticks: groups
            .iter()
            .enumerate()
            .map(|(i, g)| Tick {
                at: coord(LEFT + (i as f64 + 0.5) * slot),
                text: g.clone(),
            })
            .collect(),
        y_ticks: (0..=top / step)
            .map(|t| Tick {
                at: coord(y_of(t * step)),
                text: thousands(t * step),
            })
            .collect(),
        legend: series
            .iter()
            .enumerate()
            .map(|(j, (name, _))| LegendKey {
                name: name.clone(),
                class: class(j),
            })
            .collect(),
        label: format!(
            "{what}: {n} groups of {} bars, peak {}",
            series.len(),
            thousands(max)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_series_per_group_the_tallest_reaching_the_top_tick() {
        let groups = vec!["1. a".to_string(), "2. b".to_string()];
        let series = vec![
            ("pro".to_string(), vec![10, 4]),
            ("none".to_string(), vec![7]),
        ];
        let c = grouped_bars(&groups, &series, "Users");
        assert_eq!(c.bars.len(), 4);
        assert_eq!(c.legend.len(), 2);
        assert_eq!(c.bars[0].class, "grp-0");
        assert_eq!(c.bars[1].class, "grp-1");
        assert!(c.bars[3].title.ends_with(": 0"), "a missing count is zero");
        let top = c.y_ticks.last().expect("ticks");
        assert_eq!(top.text, "10");
        assert_eq!(c.bars[0].y, top.at, "the peak reaches the top tick");
        let empty = grouped_bars(&[], &[], "nothing");
        assert!(empty.bars.is_empty());
    }
}
