//! Every chart of the dashboard, as the numbers an inline SVG template needs: bar charts
//! with axes (the event and funnel pages), sparklines (the overview's rows), the
//! retention curve (under the cohort heatmap), stacked bars above and below an axis (the
//! lifecycle page), grouped bars (the funnel page's breakdown) and line charts over days (the event page's trends). No markup is built here: the templates
//! draw the shapes and escape every label, so pages work under a strict
//! Content-Security-Policy (no inline style or script).
//!
//! How: every chart maps values to a `viewBox` through one [`Scale`], writes coordinates
//! with one format ([`coord`]), labels its axes with one [`Tick`] type, and writes counts
//! for people with [`bitmapist::thousands`].
//!
//! Invariants: nothing here panics on any series (empty, all zeros, huge counts); a bar of
//! zero keeps a visible one-unit stub.

mod axis;
mod curve;
mod grouped;
mod lines;
mod sparkline;
mod stacked;

pub use axis::{AxisChart, ChartOptions, axis_bars};
pub use curve::Curve;
pub use grouped::{COLOURS, GroupedChart, grouped_bars};
pub use lines::{LineChart, Series, Unit, line_chart};
pub use sparkline::{Sparkline, sparkline};
pub use stacked::{Bar, Part, StackedChart, stacked_bars, stacked_multiples};

/// One tick of an axis: a position along it and its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// Position along the axis (x for the x axis, y for the y axis).
    pub at: String,
    /// The text.
    pub text: String,
}

/// Values `0..=top` onto the `viewBox`'s y, from `bottom` (value 0) up `height` units
/// (value `top`); values outside are clamped to the plot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    top: f64,
    bottom: f64,
    height: f64,
}

impl Scale {
    /// The scale of a plot `height` units tall whose base line is at `bottom`, topping
    /// out at the value `top` (at least the smallest positive value).
    pub fn new(top: f64, bottom: f64, height: f64) -> Self {
        Scale {
            top: top.max(f64::MIN_POSITIVE),
            bottom,
            height,
        }
    }

    /// The y of `value`.
    pub fn y(&self, value: f64) -> f64 {
        self.bottom - self.height * (value / self.top).clamp(0.0, 1.0)
    }
}

/// A coordinate with at most two decimals (`12.5`, `3`, `0.33`).
pub fn coord(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_and_scale() {
        assert_eq!(coord(12.5), "12.5");
        assert_eq!(coord(3.0), "3");
        assert_eq!(coord(1.0 / 3.0), "0.33");
        let s = Scale::new(100.0, 200.0, 180.0);
        assert_eq!(coord(s.y(0.0)), "200");
        assert_eq!(coord(s.y(100.0)), "20");
        assert_eq!(coord(s.y(50.0)), "110");
        assert_eq!(coord(s.y(1e9)), "20", "clamped to the plot");
        assert_eq!(coord(Scale::new(0.0, 10.0, 5.0).y(0.0)), "10");
    }
}
