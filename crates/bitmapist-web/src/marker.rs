//! [`Marker`]: the framework-free marking handle every web adapter builds on: the mark
//! queue, the external-id setting and the counters, plus the process's *installed* marker
//! that code without a request at hand (the SeaORM hooks) marks through.
//!
//! Why: axum and actix (and whatever comes next) must queue, validate, count and flush
//! marks the same way; only reading the request's user is framework-specific.
//!
//! How: a `Marker` is an `Arc` around one [`MarkQueue`](crate::queue) and its counters.
//! Building an adapter's extension starts one and [`installs`](Marker::install) it; the
//! slot holds a weak handle, so dropping every extension shuts the hooks off rather than
//! keeping a store open.
//!
//! Invariants: every method that queues returns at once (see the queue's invariants);
//! validation (empty event name, malformed external id) happens here, before queueing, so
//! a refused mark never reaches the store; the last marker installed wins.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use bitmapist::{Bitmapist, MarkOptions};
use chrono::{DateTime, Utc};

use crate::queue::{Counters, MarkError, MarkKind, MarkQueue, QueuedMark, Stats};
use crate::user::{IntoUserId, UserIdError, UserKey};

/// Queues marks for a store without waiting on it. Cheap to clone; clones share the queue.
///
/// ```
/// use bitmapist_web::{MarkKind, Marker, UserKey};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let client = bitmapist::Bitmapist::open("memory://").await?;
/// let marker = Marker::start(client, 1024, false);
/// marker.mark_event("user:signed_up", 7).expect("queued");
/// marker.mark("user:signed_up", UserKey::Id(7), chrono::Utc::now(),
///     bitmapist::MarkOptions::default(), MarkKind::Unmark).expect("queued");
/// marker.shutdown().await?;
/// assert_eq!(marker.stats().queued, 2);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Marker {
    shared: Arc<Shared>,
}

struct Shared {
    queue: MarkQueue,
    counters: Arc<Counters>,
    id_map: bool,
}

impl fmt::Debug for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Marker")
            .field("id_map", &self.shared.id_map)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The marker the SeaORM hooks mark through (weak: it does not keep the store open).
static INSTALLED: RwLock<Option<Weak<Shared>>> = RwLock::new(None);

impl Marker {
    /// Starts the queue's worker on the current Tokio runtime (panics outside one, as
    /// `tokio::spawn` does). `capacity` marks may wait before new ones are dropped;
    /// `id_map` says whether ids given as text ([`Marker::key_of`]) go through the
    /// external-id map (it is also on when `client` has it on).
    pub fn start(client: Bitmapist, capacity: usize, id_map: bool) -> Marker {
        let counters = Arc::new(Counters::register());
        let id_map = id_map || client.id_map_enabled();
        let queue = MarkQueue::start(client, capacity, Arc::clone(&counters));
        Marker {
            shared: Arc::new(Shared {
                queue,
                counters,
                id_map,
            }),
        }
    }

    /// Makes this the marker of code outside requests (the SeaORM hooks); the last one
    /// installed wins. Adapters install theirs when their extension is built.
    pub fn install(&self) {
        let mut slot = INSTALLED.write().unwrap_or_else(PoisonError::into_inner);
        *slot = Some(Arc::downgrade(&self.shared));
    }

    /// The installed marker, if one was installed and a handle on it is still alive.
    pub fn installed() -> Option<Marker> {
        INSTALLED
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(Weak::upgrade)
            .map(|shared| Marker { shared })
    }

    /// The engine handle the queue writes to.
    pub fn client(&self) -> &Bitmapist {
        &self.shared.queue.client
    }

    /// Whether ids given as text are mapped through the external-id map.
    pub fn id_map_enabled(&self) -> bool {
        self.shared.id_map
    }

    /// Queues a mark or unmark for any [`UserKey`], without waiting.
    pub fn mark(
        &self,
        event: impl Into<Cow<'static, str>>,
        user: UserKey,
        at: DateTime<Utc>,
        opts: MarkOptions,
        kind: MarkKind,
    ) -> Result<(), MarkError> {
        if let UserKey::External(e) = &user {
            bitmapist::check_external_id(e).map_err(|err| {
                MarkError::UserId(UserIdError::NotANumber(format!("{e:.64} ({err})")))
            })?;
        }
        self.shared.queue.push(QueuedMark {
            event: event.into(),
            user,
            at,
            opts,
            kind,
        })
    }

    /// Queues a mark of `event` for `uid` now.
    pub fn mark_event(
        &self,
        event: impl Into<Cow<'static, str>>,
        uid: u32,
    ) -> Result<(), MarkError> {
        self.mark(
            event,
            UserKey::Id(uid),
            Utc::now(),
            MarkOptions::default(),
            MarkKind::Mark,
        )
    }

    /// Queues a mark of `event` for the user with external id `id` (a string, UUID,
    /// i64...) now, mapped whether or not [`Marker::id_map_enabled`].
    pub fn mark_event_external(
        &self,
        event: impl Into<Cow<'static, str>>,
        id: impl fmt::Display,
    ) -> Result<(), MarkError> {
        let user = UserKey::External(id.to_string());
        self.mark(
            event,
            user,
            Utc::now(),
            MarkOptions::default(),
            MarkKind::Mark,
        )
    }

    /// An id's text as the marks use it: external when the map is on, else a decimal `u32`.
    pub fn key_of(&self, id: &str) -> Result<UserKey, UserIdError> {
        if self.shared.id_map {
            Ok(UserKey::External(id.to_string()))
        } else {
            id.user_id().map(UserKey::Id)
        }
    }

    /// Counts and logs a request whose user id could not be used ([`Stats::user_id_errors`]).
    pub fn user_id_error(&self, e: &UserIdError) {
        self.shared.counters.user_id_error();
        tracing::warn!(error = %e, "bitmapist: cannot mark for this user");
    }

    /// What happened to marks so far.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Stops accepting marks, writes every queued one and flushes the store.
    pub async fn shutdown(&self) -> bitmapist::Result<()> {
        self.shared.queue.shutdown().await
    }
}
