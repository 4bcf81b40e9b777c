//! The external-id map on a Redis Cluster: the same script and hashes as on one server
//! (`redis_ids.rs`), every call routed by its first key to the slot of the map's hash tag.
//!
//! Calls are retried as the cluster store retries everything (see the module docs of
//! `cluster`); the id script is safe to repeat, since an assigned id is answered again.

use redis::RedisError;

use super::ClusterStore;
use crate::error::{Error, Result};
use crate::store::redis_ids;

/// What one attempt yields: a Redis error retrying may fix, or a final answer.
type Attempt<T> = std::result::Result<Result<T>, RedisError>;

impl ClusterStore {
    /// Turns an error that retrying cannot fix (exhaustion, an unknown command) into a
    /// final answer; leaves the others for [`ClusterStore::retrying`].
    fn settle<T>(&self, r: std::result::Result<T, RedisError>, command: &str) -> Attempt<T> {
        match r {
            Ok(v) => Ok(Ok(v)),
            Err(e) => {
                let masked = self.config.masked().to_string();
                match redis_ids::map_error(e, &masked, command, |e| Error::Redis {
                    url: String::new(),
                    source: e,
                }) {
                    Error::Redis { source, .. } => Err(source),
                    other => Ok(Err(other)),
                }
            }
        }
    }

    pub(super) async fn assign_ids_on_slot(
        &self,
        space: &str,
        external: &[String],
    ) -> Result<Vec<u32>> {
        self.retrying(|| {
            let mut conn = self.conn();
            async move {
                let r = redis_ids::assign(&mut conn, space, external).await;
                self.settle(r, "EVALSHA/EVAL")
            }
        })
        .await?
    }

    pub(super) async fn lookup_ids_on_slot(
        &self,
        space: &str,
        external: &[String],
    ) -> Result<Vec<Option<u32>>> {
        self.retrying(|| {
            let mut conn = self.conn();
            async move {
                let r = redis_ids::lookup(&mut conn, space, external).await;
                self.settle(r, "HMGET")
            }
        })
        .await?
    }

    pub(super) async fn resolve_ids_on_slot(
        &self,
        space: &str,
        dense: &[u32],
    ) -> Result<Vec<Option<String>>> {
        self.retrying(|| {
            let mut conn = self.conn();
            async move {
                let r = redis_ids::resolve(&mut conn, space, dense).await;
                self.settle(r, "HMGET")
            }
        })
        .await?
    }
}
