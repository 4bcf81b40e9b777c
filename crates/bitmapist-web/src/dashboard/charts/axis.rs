//! Bar charts with axes, gridlines and labels (the event and funnel pages).
//!
//! A chart is drawn in a fixed `viewBox` and scales with the page; the y axis has "nice"
//! round ticks (1, 2 or 5 times a power of ten), the x axis labels every bar or, when the
//! bars are many, evenly spaced ones. Every bar has a tooltip (`<title>`), so the values
//! show on hover without JavaScript.

use bitmapist::thousands;

use super::{Scale, Tick, coord};

/// Width of every chart's `viewBox`.
pub const WIDTH: f64 = 720.0;
/// Height of every chart's `viewBox`.
pub const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 40.0;
/// The longest x label shown, in characters (longer ones end with `…`; the tooltip has
/// the whole label).
const MAX_LABEL: usize = 18;

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisBar {
    /// Left edge.
    pub x: String,
    /// Top edge.
    pub y: String,
    /// Width.
    pub w: String,
    /// Height.
    pub h: String,
    /// Tooltip: `label: value`.
    pub title: String,
    /// A value printed above the bar (empty: none).
    pub note: String,
    /// The note's x (the bar's centre).
    pub cx: String,
    /// The note's y (just above the bar).
    pub ny: String,
    /// CSS class: `bar`, `bar zero` or `bar now`.
    pub class: &'static str,
    /// The page of the users the bar counts (none: the bar is not a link).
    pub href: Option<String>,
}

/// A bar chart with axes.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisChart {
    /// `viewBox` width.
    pub width: u32,
    /// `viewBox` height.
    pub height: u32,
    /// The plot's left edge (the y axis).
    pub left: String,
    /// The plot's right edge.
    pub right: String,
    /// The plot's bottom (the x axis).
    pub bottom: String,
    /// Where x labels sit.
    pub label_y: String,
    /// Where the axis title sits.
    pub title_y: String,
    /// The x axis's title (e.g. "day", "days active").
    pub x_title: String,
    /// The bars, in order.
    pub bars: Vec<AxisBar>,
    /// The x axis's labels.
    pub x_ticks: Vec<Tick>,
    /// The y axis's ticks (with gridlines).
    pub y_ticks: Vec<Tick>,
    /// A text summary for screen readers.
    pub label: String,
}

impl AxisChart {
    /// Makes bar `i` a link to `hrefs[i]` (the page of the users it counts); `None`, or
    /// no entry, leaves a bar unlinked.
    pub fn with_links(mut self, hrefs: impl IntoIterator<Item = Option<String>>) -> Self {
        for (bar, href) in self.bars.iter_mut().zip(hrefs) {
            bar.href = href;
        }
        self
    }
}

/// Options of [`axis_bars`].
#[derive(Clone, Debug, Default)]
pub struct ChartOptions<'a> {
    /// The summary's subject, e.g. "Users per day, last 90 days".
    pub what: &'a str,
    /// The x axis's title.
    pub x_title: &'a str,
    /// Whether the last bar is the current (incomplete) period.
    pub last_is_now: bool,
    /// Notes printed above the bars (one per bar, or empty).
    pub notes: Vec<String>,
}

/// A round step for about five ticks up to `max`: 1, 2 or 5 times a power of ten.
pub fn nice_step(max: u64) -> u64 {
    if max <= 5 {
        return 1;
    }
    let rough = max as f64 / 5.0;
    let pow = 10f64.powf(rough.log10().floor());
    let frac = rough / pow;
    let nice = if frac <= 1.0 {
        1.0
    } else if frac <= 2.0 {
        2.0
    } else if frac <= 5.0 {
        5.0
    } else {
        10.0
    };
    ((nice * pow) as u64).max(1)
}

/// A label cut to [`MAX_LABEL`] characters.
fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(MAX_LABEL - 1).collect();
        s.push('…');
        s
    }
}

/// A bar chart of `series` (label, count) with a y axis of round ticks and x labels.
pub fn axis_bars(series: &[(String, u64)], opts: &ChartOptions<'_>) -> AxisChart {
    let n = series.len();
    let max = series.iter().map(|(_, c)| *c).max().unwrap_or(0);
    let step = nice_step(max);
    let top_value = max.div_ceil(step).max(1) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bottom = HEIGHT - BOTTOM;
    let slot = plot_w / n.max(1) as f64;
    let gap = (slot * 0.2).min(6.0);
    let scale = Scale::new(top_value as f64, bottom, plot_h);
    let y_of = |v: u64| scale.y(v as f64);
    let note_of = |i: usize| opts.notes.get(i).map_or("", String::as_str);
    let bars = series
        .iter()
        .enumerate()
        .map(|(i, (label, count))| {
            let y = if *count == 0 {
                bottom - 1.0
            } else {
                y_of(*count)
            };
            let x = LEFT + i as f64 * slot + gap / 2.0;
            let class = if opts.last_is_now && i + 1 == n {
                "bar now"
            } else if *count == 0 {
                "bar zero"
            } else {
                "bar"
            };
            AxisBar {
                x: coord(x),
                y: coord(y),
                w: coord((slot - gap).max(0.5)),
                h: coord(bottom - y),
                // A bar with no users and a note (a pruned period) says the note, not 0,
                // and a run of such bars shows its note once, over its first bar.
                title: match note_of(i) {
                    note if *count == 0 && !note.is_empty() => format!("{label}: {note}"),
                    _ => format!("{label}: {}", thousands(*count)),
                },
                note: if *count == 0 && i > 0 && note_of(i) == note_of(i - 1) {
                    String::new()
                } else {
                    note_of(i).to_string()
                },
                cx: coord(x + (slot - gap) / 2.0),
                ny: coord(y - 4.0),
                class,
                href: None,
            }
        })
        .collect();
    // At most about 8 x labels, evenly spaced, the last bar always labelled.
    let every = n.div_ceil(8).max(1);
    let x_ticks = series
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
        .map(|(i, (label, _))| Tick {
            at: coord(LEFT + (i as f64 + 0.5) * slot),
            text: short(label),
        })
        .collect();
    let y_ticks = (0..=top_value / step)
        .map(|k| Tick {
            at: coord(y_of(k * step)),
            text: thousands(k * step),
        })
        .collect();
    let total: u64 = series.iter().map(|(_, c)| *c).sum();
    AxisChart {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        left: coord(LEFT),
        right: coord(WIDTH - RIGHT),
        bottom: coord(bottom),
        label_y: coord(bottom + 16.0),
        title_y: coord(HEIGHT - 4.0),
        x_title: opts.x_title.to_string(),
        bars,
        x_ticks,
        y_ticks,
        label: format!(
            "{}: {} bars, peak {}, sum {}",
            opts.what,
            n,
            thousands(max),
            thousands(total)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0), 1);
        assert_eq!(nice_step(5), 1);
        assert_eq!(nice_step(9), 2);
        assert_eq!(nice_step(23), 5);
        assert_eq!(nice_step(100), 20);
        assert_eq!(nice_step(1_234_567), 500_000);
    }

    #[test]
    fn bars_scale_to_the_top_tick() {
        let series: Vec<(String, u64)> = (0..10).map(|i| (format!("d{i}"), i * 10)).collect();
        let c = axis_bars(
            &series,
            &ChartOptions {
                what: "test",
                x_title: "day",
                last_is_now: true,
                notes: Vec::new(),
            },
        );
        assert_eq!(c.bars.len(), 10);
        // max 90, step 20: the top tick is 100, at the plot's top.
        assert_eq!(c.y_ticks.last().map(|t| t.text.as_str()), Some("100"));
        assert_eq!(c.y_ticks.last().map(|t| t.at.as_str()), Some("18"));
        assert_eq!(c.bars[0].class, "bar zero");
        assert_eq!(c.bars[9].class, "bar now");
        assert_eq!(c.bars[9].title, "d9: 90");
        // The last bar is always labelled; at most 8 labels.
        assert!(c.x_ticks.len() <= 8);
        assert_eq!(c.x_ticks.last().map(|t| t.text.as_str()), Some("d9"));
    }

    #[test]
    fn long_labels_are_cut() {
        let long = "x".repeat(100);
        let c = axis_bars(&[(long.clone(), 1)], &ChartOptions::default());
        assert_eq!(c.x_ticks[0].text.chars().count(), MAX_LABEL);
        assert!(c.bars[0].title.starts_with(&long));
    }
}
