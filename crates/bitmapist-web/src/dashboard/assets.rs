//! The stylesheet, script and icon, embedded in the binary and served under `/assets/`.
//! Links carry a content hash (`?v=`), so a versioned request may be cached for a year.

use http::{HeaderValue, StatusCode, header};

use super::exchange::DashboardResponse;

/// One embedded file.
#[derive(Clone, Copy, Debug)]
pub struct Asset {
    /// Its name under `/assets/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
    /// FNV-1a hash of the bytes, computed at compile time.
    pub hash: u64,
}

/// FNV-1a, 64 bits: stable, and computable in a `const`.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const CSS_BYTES: &[u8] = include_bytes!("../../templates/dashboard/assets/dashboard.css");
const JS_BYTES: &[u8] = include_bytes!("../../templates/dashboard/assets/dashboard.js");
const ICON_BYTES: &[u8] = include_bytes!("../../templates/dashboard/assets/icon.svg");

/// The stylesheet.
pub const CSS: Asset = Asset {
    name: "dashboard.css",
    content_type: "text/css; charset=utf-8",
    body: CSS_BYTES,
    hash: fnv1a(CSS_BYTES),
};

/// The script (progressive enhancement only: every page works without it).
pub const JS: Asset = Asset {
    name: "dashboard.js",
    content_type: "text/javascript; charset=utf-8",
    body: JS_BYTES,
    hash: fnv1a(JS_BYTES),
};

/// The icon.
pub const ICON: Asset = Asset {
    name: "icon.svg",
    content_type: "image/svg+xml",
    body: ICON_BYTES,
    hash: fnv1a(ICON_BYTES),
};

const ALL: [Asset; 3] = [CSS, JS, ICON];

/// The versioned URL of `asset` under the mount path `base`.
pub fn url(base: &str, asset: Asset) -> String {
    format!("{base}/assets/{}?v={:016x}", asset.name, asset.hash)
}

/// `GET /assets/{name}`: the file, cached for a year when the request names its current
/// version, revalidated otherwise; `None` for an unknown name.
pub fn serve(name: &str, query: Option<&str>) -> Option<DashboardResponse> {
    let asset = ALL.iter().find(|a| a.name == name)?;
    let current = format!("v={:016x}", asset.hash);
    let cache = if query == Some(current.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Some(
        DashboardResponse::new(StatusCode::OK, asset.content_type, asset.body)
            .with(header::CACHE_CONTROL, HeaderValue::from_static(cache)),
    )
}
