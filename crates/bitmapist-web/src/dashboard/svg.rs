//! Bar charts of a count series, as the numbers an inline SVG template needs.
//! No markup is built here: the template draws the bars and escapes the labels.

/// One bar: position, size and tooltip.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Left edge.
    pub x: String,
    /// Top edge.
    pub y: String,
    /// Width.
    pub w: String,
    /// Height.
    pub h: String,
    /// Tooltip, e.g. `2026-11-22: 1,204`.
    pub title: String,
    /// CSS class: `bar`, `bar zero` (no marks) or `bar now` (the current period).
    pub class: &'static str,
}

/// A whole chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// `viewBox` width.
    pub width: u32,
    /// `viewBox` height.
    pub height: u32,
    /// The bars, oldest first.
    pub bars: Vec<Bar>,
    /// A text summary for screen readers and tooltips.
    pub label: String,
}

/// Height of every chart.
const HEIGHT: f64 = 28.0;
/// Height of the stub drawn for a zero.
const ZERO_STUB: f64 = 1.0;

/// A bar chart of `series` (label, count), `bar_width` wide per bar with a one-unit gap;
/// the last bar is the current period. `what` names the series for the summary.
pub fn bars(series: &[(String, u64)], bar_width: u32, what: &str) -> Chart {
    let max = series.iter().map(|(_, c)| *c).max().unwrap_or(0);
    let step = f64::from(bar_width) + 1.0;
    let n = series.len();
    let bars = series
        .iter()
        .enumerate()
        .map(|(i, (label, count))| {
            let h = if *count == 0 || max == 0 {
                ZERO_STUB
            } else {
                (ZERO_STUB + (HEIGHT - ZERO_STUB) * (*count as f64 / max as f64)).min(HEIGHT)
            };
            let class = if i + 1 == n {
                "bar now"
            } else if *count == 0 {
                "bar zero"
            } else {
                "bar"
            };
            Bar {
                x: fmt(i as f64 * step),
                y: fmt(HEIGHT - h),
                w: bar_width.to_string(),
                h: fmt(h),
                title: format!("{label}: {}", bitmapist::thousands(*count)),
                class,
            }
        })
        .collect();
    let total: u64 = series.iter().map(|(_, c)| *c).sum();
    let width = u32::try_from(n).unwrap_or(0).saturating_mul(bar_width + 1);
    Chart {
        width: width.max(1),
        height: HEIGHT as u32,
        bars,
        label: format!(
            "{what}: peak {}, latest {}, {} marks in all",
            bitmapist::thousands(max),
            bitmapist::thousands(series.last().map_or(0, |(_, c)| *c)),
            bitmapist::thousands(total)
        ),
    }
}

/// A coordinate with at most two decimals.
fn fmt(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_the_peak() {
        let series: Vec<(String, u64)> = vec![("a".into(), 0), ("b".into(), 5), ("c".into(), 10)];
        let c = bars(&series, 4, "daily");
        assert_eq!(c.width, 15);
        assert_eq!(c.bars[0].h, "1");
        assert_eq!(c.bars[0].class, "bar zero");
        assert_eq!(c.bars[2].h, "28");
        assert_eq!(c.bars[2].y, "0");
        assert_eq!(c.bars[2].class, "bar now");
        assert_eq!(c.bars[1].x, "5");
        assert!(c.label.contains("peak 10"));
    }
}
