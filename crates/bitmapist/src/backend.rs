//! What a [`Bitmapist`](crate::Bitmapist) handle and its [`Query`](crate::Query)s share: the
//! store, the key layout, the tracking defaults, and the batched fetch-and-evaluate on them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::bitmap::Bitmap;
use crate::error::Result;
use crate::expr::Expr;
use crate::key::KeyLayout;
use crate::store::Store;

/// One store with its key layout and marking defaults; behind an `Arc`, shared by a
/// handle, its clones and every query opened from them.
pub(crate) struct Backend {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) layout: KeyLayout,
    pub(crate) track_hourly: bool,
    pub(crate) track_unique: bool,
    /// The external-id map of this prefix (see [`IdMap`](crate::IdMap)).
    pub(crate) ids: crate::idmap::IdMap,
    /// Whether integrations (axum) map ids that are not `u32` through `ids`.
    pub(crate) id_map: bool,
    /// The store's time zone: marks are bucketed and periods taken on its wall clock.
    pub(crate) zone: crate::Zone,
    /// The store records no zone yet: the first write records [`Backend::zone`].
    pub(crate) zone_unrecorded: std::sync::atomic::AtomicBool,
    /// The retention policy configured (`BITMAPIST_KEEP`); empty keeps everything.
    pub(crate) keep: crate::KeepPolicy,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bitmapist")
            .field("store", &self.store.describe())
            .field("prefix", &self.layout.prefix())
            .field("track_hourly", &self.track_hourly)
            .field("track_unique", &self.track_unique)
            .field("timezone", &self.zone.name())
            .finish()
    }
}

impl Backend {
    /// Fetches every key `expr` needs in one batch and evaluates it in memory.
    pub(crate) async fn evaluate(&self, expr: &Expr) -> Result<Bitmap> {
        let keys = expr.keys(&self.layout);
        let fetched = self.fetch(keys).await?;
        Ok(expr.evaluate(&self.layout, &fetched))
    }

    /// Fetches keys in one batch into a map (missing keys are left out).
    pub(crate) async fn fetch(&self, keys: Vec<String>) -> Result<HashMap<String, Bitmap>> {
        let got = self.store.get(&keys).await?;
        Ok(keys
            .into_iter()
            .zip(got)
            .filter_map(|(k, b)| b.map(|b| (k, b)))
            .collect())
    }
}
