//! The dashboard's heavy work (cohort tables) off the async workers, a bounded number at once.
//! Past the bound, a request is refused at once with 503 and `Retry-After`, never queued.
//!
//! A cohort of 400 x 400 cells with chained events costs seconds of CPU and hundreds of MiB;
//! run on the async workers, a few of them stall every other route of the app (the trivial
//! `/api` waited 9 s behind 200 of them). Here each runs on Tokio's blocking pool, driving its
//! store calls with [`Handle::block_on`], holding a permit of a semaphore sized by
//! [`Dashboard::max_heavy_requests`](super::Dashboard::max_heavy_requests) (default: the
//! number of CPUs). A request whose client went away still finishes its table, permit held,
//! so the bound is on work actually running, not on requests still connected.

use std::sync::Arc;

use bitmapist::{Bitmapist, Cohort, CohortSpec, Retention, RetentionSpec};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use super::error::DashboardError;

/// How many heavy requests run at once by default: the CPUs available (at least 1).
pub fn default_limit() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The permits of heavy work (see the module docs).
#[derive(Clone, Debug)]
pub struct HeavyWork {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl HeavyWork {
    /// At most `limit` (at least 1) heavy requests at once.
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        HeavyWork {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// Computes the cohort table of `spec` on the blocking pool, or refuses with
    /// [`DashboardError::Busy`] when `limit` tables are being computed already.
    pub async fn cohort(
        &self,
        client: &Bitmapist,
        spec: &CohortSpec,
    ) -> Result<Cohort, DashboardError> {
        let permit = Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| DashboardError::Busy { limit: self.limit })?;
        let client = client.clone();
        let spec = spec.clone();
        let handle = Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            handle.block_on(client.get_cohort(&spec))
        });
        match task.await {
            Ok(result) => Ok(result?),
            Err(e) => Err(DashboardError::Internal(format!(
                "the cohort computation stopped: {e}"
            ))),
        }
    }

    /// Like [`HeavyWork::cohort`], for a retention table in any mode.
    pub async fn retention(
        &self,
        client: &Bitmapist,
        spec: &RetentionSpec,
    ) -> Result<Retention, DashboardError> {
        let spec = spec.clone();
        self.run(client, move |client| async move {
            Ok(client.retention(&spec).await?)
        })
        .await
    }

    /// Runs other heavy work (funnels, the event page's charts) on the blocking pool under
    /// the same bound; `work` gets a clone of the client and builds its future there.
    pub async fn run<T, F, Fut>(&self, client: &Bitmapist, work: F) -> Result<T, DashboardError>
    where
        T: Send + 'static,
        F: FnOnce(Bitmapist) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, DashboardError>>,
    {
        let permit = Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| DashboardError::Busy { limit: self.limit })?;
        let client = client.clone();
        let handle = Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            handle.block_on(work(client))
        });
        match task.await {
            Ok(result) => result,
            Err(e) => Err(DashboardError::Internal(format!(
                "the computation stopped: {e}"
            ))),
        }
    }
}
