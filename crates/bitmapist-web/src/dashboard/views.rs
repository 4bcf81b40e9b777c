//! What every page shares: where the dashboard is mounted, the layout's links, number
//! formatting, and the bare message page used for 403, 404 and 503 answers.

use askama::Template;

use super::assets;

/// Where the dashboard is mounted (`/bitmapist`; empty at the root; never a trailing
/// slash) and the store's zone: what every page's links and labels are built on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base(pub String, pub bitmapist::Zone);

impl Base {
    /// The base of a dashboard mounted at `mount` (trailing slashes dropped) over a store
    /// in `zone`.
    pub fn new(mount: &str, zone: bitmapist::Zone) -> Self {
        Base(mount.trim_end_matches('/').to_string(), zone)
    }
}

/// What the layout needs: the mount path, the asset URLs and the current section.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The mount path (`/bitmapist`).
    pub base: String,
    /// The overview's URL: the mount path, or `/` at the root. (Links never add a
    /// trailing slash: both forms serve the overview.)
    pub home: String,
    /// The stylesheet's URL, versioned.
    pub css: String,
    /// The script's URL, versioned.
    pub js: String,
    /// The icon's URL, versioned.
    pub icon: String,
    /// `events` or `cohort`: which nav link is current.
    pub section: &'static str,
    /// The footer's `times in Europe/Berlin`: the store's zone.
    pub zone_note: String,
}

impl Layout {
    /// The layout of a page in `section`.
    pub fn new(base: &Base, section: &'static str) -> Self {
        Layout {
            css: assets::url(&base.0, assets::CSS),
            js: assets::url(&base.0, assets::JS),
            icon: assets::url(&base.0, assets::ICON),
            base: base.0.clone(),
            home: if base.0.is_empty() {
                "/".to_string()
            } else {
                base.0.clone()
            },
            section,
            zone_note: base.1.note(),
        }
    }
}

/// A bare page with a status and a message (no stylesheet, so that it also works when
/// the assets themselves are refused).
#[derive(Template)]
#[template(path = "dashboard/message.html")]
pub struct MessagePage {
    /// The title, e.g. "Forbidden".
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// The explanation.
    pub message: String,
}

/// A fraction as a percentage with one decimal: `0.1234` as `12.3%`.
pub fn percent(f: f64) -> String {
    format!("{:.1}%", f * 100.0)
}

/// A mean with one decimal, grouped: `1234.56` as `1,234.6`.
pub fn mean(x: f64) -> String {
    let tenths = (x * 10.0).round();
    if !tenths.is_finite() || tenths < 0.0 {
        return "0".to_string();
    }
    // Tenths of a count of users fit in u64.
    let t = tenths as u64;
    format!("{}.{}", bitmapist::thousands(t / 10), t % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths() {
        let utc = bitmapist::Zone::UTC;
        assert_eq!(Base::new("/bitmapist", utc).0, "/bitmapist");
        assert_eq!(Base::new("/bitmapist/", utc).0, "/bitmapist");
        assert_eq!(Base::new("/", utc).0, "");
        assert_eq!(Base::new("", utc).0, "");
    }

    #[test]
    fn numbers() {
        assert_eq!(bitmapist::thousands(0), "0");
        assert_eq!(bitmapist::thousands(999), "999");
        assert_eq!(bitmapist::thousands(1000), "1,000");
        assert_eq!(bitmapist::thousands(1234567), "1,234,567");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(mean(1234.56), "1,234.6");
        assert_eq!(mean(0.04), "0.0");
    }
}
