//! [`AxumBitmapist`]: the extension an app builds once and installs with `init_app`.
//! It owns the engine handle, the mark queue, the user source and the dashboard settings.

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};

use axum::http::request::Parts;
use axum::{Extension, Router};
use bitmapist::{Bitmapist, MarkOptions, Systems};
use chrono::{DateTime, Utc};

use bitmapist_web::{MarkError, MarkKind, Marker, Settings, Stats, UserIdError, UserKey};

use crate::dashboard::{Access, Dashboard};
use crate::hooks::{HooksLayer, RequestHook};
use crate::user::UserSource;

/// The path the dashboard is mounted at.
pub const DASHBOARD_PATH: &str = "/bitmapist";

/// The Flask-Bitmapist equivalent: build it once, install it with [`AxumBitmapist::init_app`].
///
/// Cheap to clone; every clone shares the store, the queue and the counters.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_bitmapist::AxumBitmapist;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// # let _guard = (); // BITMAPIST_URL may point anywhere; here an in-memory store:
/// # let bitmapist = AxumBitmapist::builder().url("memory://").build().await?;
/// # /*
/// let bitmapist = AxumBitmapist::from_env().await?;
/// # */
/// let app = bitmapist.init_app(Router::new().route("/", get(|| async { "hi" })));
/// # let _: Router = app;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AxumBitmapist {
    shared: Arc<ExtensionState>,
}

#[derive(Debug)]
struct ExtensionState {
    systems: Systems,
    client: Bitmapist,
    /// The shared queue, its counters and the external-id setting.
    marker: Marker,
    users: UserSource,
    dashboard: Option<Access>,
    hooks: Arc<[Arc<dyn RequestHook>]>,
}

/// Configures an [`AxumBitmapist`]; every setting the environment has, and more.
#[derive(Debug)]
pub struct Builder {
    settings: Settings,
    url: Option<String>,
    client: Option<Bitmapist>,
    systems: Vec<(String, Bitmapist)>,
    users: UserSource,
    access: Access,
    hooks: Vec<Arc<dyn RequestHook>>,
}

impl Builder {
    fn new(settings: Settings) -> Self {
        Builder {
            settings,
            url: None,
            client: None,
            systems: Vec::new(),
            users: UserSource::default(),
            access: Access::default(),
            hooks: Vec::new(),
        }
    }

    /// The store, by URL (`BITMAPIST_URL`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// An engine handle already opened (takes precedence over the URL).
    pub fn client(mut self, client: Bitmapist) -> Self {
        self.client = Some(client);
        self
    }

    /// The system's name (`BITMAPIST_REDIS_SYSTEM`).
    pub fn system_name(mut self, name: impl Into<String>) -> Self {
        self.settings.engine.system = name.into();
        self
    }

    /// Another named system, reachable with [`AxumBitmapist::system`].
    pub fn system(mut self, name: impl Into<String>, client: Bitmapist) -> Self {
        self.systems.push((name.into(), client));
        self
    }

    /// The key prefix (`BITMAPIST_KEY_PREFIX`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.engine.key_prefix = prefix.into();
        self
    }

    /// Mark hour keys (`BITMAPIST_TRACK_HOURLY`).
    pub fn track_hourly(mut self, on: bool) -> Self {
        self.settings.engine.track_hourly = on;
        self
    }

    /// Mark the unique key (`BITMAPIST_TRACK_UNIQUE`).
    pub fn track_unique(mut self, on: bool) -> Self {
        self.settings.engine.track_unique = on;
        self
    }

    /// Do not mount the dashboard (`BITMAPIST_DISABLE_BLUEPRINT`).
    pub fn disable_blueprint(mut self, on: bool) -> Self {
        self.settings.disable_blueprint = on;
        self
    }

    /// How many marks may wait for the store before new ones are dropped
    /// (`BITMAPIST_QUEUE_CAPACITY`).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.settings.queue_capacity = n.max(1);
        self
    }

    /// Map user ids that are not `u32` (strings, UUIDs, i64: any `Display` id of a
    /// [`UserSource`]) through the external-id map (default: `BITMAPIST_ID_MAP`, else
    /// off). Also on when the engine handle given to [`Builder::client`] has it on.
    pub fn id_map(mut self, on: bool) -> Self {
        self.settings.engine.id_map = on;
        self
    }

    /// Where the current user's id comes from (default: the [`crate::CurrentUser`]
    /// request extension).
    pub fn user_source(mut self, users: UserSource) -> Self {
        self.users = users;
        self
    }

    /// Who may see the dashboard (default: loopback clients only).
    pub fn dashboard_access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Adds a hook that watches every request (an optional integration plugs in here).
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) fn request_hook(mut self, hook: Arc<dyn RequestHook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Opens the store and starts the mark queue (needs a Tokio runtime).
    pub async fn build(self) -> bitmapist::Result<AxumBitmapist> {
        let engine = &self.settings.engine;
        let client = match (self.client, self.url) {
            (Some(c), _) => c,
            (None, Some(url)) => engine.builder().url(url).open().await?,
            (None, None) => engine.open().await?,
        };
        let mut systems = Systems::new();
        systems.insert(engine.system.clone(), client.clone());
        for (name, c) in self.systems {
            systems.insert(name, c);
        }
        let marker = Marker::start(client.clone(), self.settings.queue_capacity, engine.id_map);
        let shared = Arc::new(ExtensionState {
            systems,
            client,
            marker,
            users: self.users,
            dashboard: (!self.settings.disable_blueprint).then_some(self.access),
            hooks: self.hooks.into(),
        });
        let ext = AxumBitmapist { shared };
        ext.make_current();
        Ok(ext)
    }
}

/// A handle that does not keep the extension alive.
#[derive(Clone, Debug)]
pub struct WeakAxumBitmapist(std::sync::Weak<ExtensionState>);

impl WeakAxumBitmapist {
    /// The extension, if a strong handle still exists.
    pub fn upgrade(&self) -> Option<AxumBitmapist> {
        self.0.upgrade().map(|shared| AxumBitmapist { shared })
    }
}

/// The extension built last in this process (weak): what code without a request at hand
/// marks through (the SeaORM hooks).
static CURRENT: RwLock<Option<WeakAxumBitmapist>> = RwLock::new(None);

impl AxumBitmapist {
    /// Makes this the process's current extension ([`AxumBitmapist::current`]) and its
    /// marker the one the ORM hooks mark through; `build` does it, so the last one built
    /// wins.
    pub fn make_current(&self) {
        let mut slot = CURRENT.write().unwrap_or_else(PoisonError::into_inner);
        *slot = Some(self.downgrade());
        self.shared.marker.install();
    }

    /// The process's current extension, if one was built and is still alive.
    pub fn current() -> Option<AxumBitmapist> {
        CURRENT
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(WeakAxumBitmapist::upgrade)
    }

    /// A handle that does not keep the extension (and its store) alive.
    pub fn downgrade(&self) -> WeakAxumBitmapist {
        WeakAxumBitmapist(Arc::downgrade(&self.shared))
    }

    /// A builder starting from defaults (not the environment).
    pub fn builder() -> Builder {
        Builder::new(Settings::default())
    }

    /// A builder starting from the environment's settings.
    pub fn builder_from_env() -> bitmapist::Result<Builder> {
        Ok(Builder::new(Settings::from_env()?))
    }

    /// Builds the extension from the environment (see [`Settings`](crate::Settings)).
    pub async fn from_env() -> bitmapist::Result<AxumBitmapist> {
        AxumBitmapist::builder_from_env()?.build().await
    }

    /// Installs the extension on `router`: every route can extract [`crate::Tracker`] and
    /// use [`crate::mark`] layers, and the dashboard is mounted at `/bitmapist` unless
    /// disabled. Call it after adding your routes and before your auth layers (axum-login's
    /// layer must wrap this one).
    pub fn init_app<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        let mut router = router;
        if let Some(access) = &self.shared.dashboard {
            let dashboard = Dashboard::new(self.shared.client.clone()).access(access.clone());
            router = router.nest_service(DASHBOARD_PATH, dashboard.router::<()>());
        }
        if !self.shared.hooks.is_empty() {
            let ext = self.clone();
            let mark = Arc::new(move |event: &'static str, id: &str| match ext.key_of(id) {
                Ok(user) => {
                    // A refused mark is counted in the queue's statistics.
                    let _ = ext.mark_key(
                        event,
                        user,
                        Utc::now(),
                        MarkOptions::default(),
                        MarkKind::Mark,
                    );
                }
                Err(e) => tracing::warn!(error = %e, event, "bitmapist: mark not tracked"),
            });
            router = router.layer(HooksLayer::new(Arc::clone(&self.shared.hooks), mark));
        }
        router.layer(Extension(self.clone()))
    }

    /// The engine handle of the configured system (for queries, and for awaited marks from
    /// background jobs: `client().mark_event(..).await`).
    pub fn client(&self) -> &Bitmapist {
        &self.shared.client
    }

    /// Another named system.
    pub fn system(&self, name: &str) -> bitmapist::Result<&Bitmapist> {
        self.shared.systems.get(name)
    }

    /// Queues a mark of `event` for `uid` now, without waiting (Flask-Bitmapist's `mark_event`).
    pub fn mark_event(
        &self,
        event: impl Into<Cow<'static, str>>,
        uid: u32,
    ) -> Result<(), MarkError> {
        self.shared.marker.mark_event(event, uid)
    }

    /// Queues a mark with explicit time and options.
    pub fn mark_event_with(
        &self,
        event: impl Into<Cow<'static, str>>,
        uid: u32,
        at: DateTime<Utc>,
        opts: MarkOptions,
    ) -> Result<(), MarkError> {
        self.mark_key(event, UserKey::Id(uid), at, opts, MarkKind::Mark)
    }

    /// Queues an unmark.
    pub fn unmark_event(
        &self,
        event: impl Into<Cow<'static, str>>,
        uid: u32,
    ) -> Result<(), MarkError> {
        let opts = MarkOptions::default();
        self.mark_key(event, UserKey::Id(uid), Utc::now(), opts, MarkKind::Unmark)
    }

    /// Whether `Display` ids are mapped through the external-id map
    /// ([`Builder::id_map`], `BITMAPIST_ID_MAP`).
    pub fn id_map_enabled(&self) -> bool {
        self.shared.marker.id_map_enabled()
    }

    /// The current user of a request, as the marks use it: an external id when the map is
    /// on and the source yields `Display` ids, else a `u32`. A bad id is logged and counted
    /// ([`Stats::user_id_errors`]).
    pub fn user_key_of(&self, parts: &Parts) -> Result<Option<UserKey>, UserIdError> {
        let r = self.shared.users.user_key(parts, self.id_map_enabled());
        if let Err(e) = &r {
            self.shared.marker.user_id_error(e);
        }
        r
    }

    /// An id's text as the marks use it: mapped when the map is on, else a decimal `u32`.
    pub fn key_of(&self, id: &str) -> Result<UserKey, UserIdError> {
        self.shared.marker.key_of(id)
    }

    /// Queues `event` for the user with external id `id` (a string, UUID, i64...), now,
    /// mapped through the external-id map whether or not [`Builder::id_map`] is on.
    pub fn mark_event_external(
        &self,
        event: impl Into<Cow<'static, str>>,
        id: impl std::fmt::Display,
    ) -> Result<(), MarkError> {
        self.shared.marker.mark_event_external(event, id)
    }

    /// Queues a mark or unmark for any [`UserKey`].
    pub fn mark_key(
        &self,
        event: impl Into<Cow<'static, str>>,
        user: UserKey,
        at: DateTime<Utc>,
        opts: MarkOptions,
        kind: MarkKind,
    ) -> Result<(), MarkError> {
        self.shared.marker.mark(event, user, at, opts, kind)
    }

    /// The framework-free marking handle (queue, counters, external-id setting) this
    /// extension shares with code outside requests.
    pub fn marker(&self) -> &Marker {
        &self.shared.marker
    }

    /// What happened to marks so far.
    pub fn stats(&self) -> Stats {
        self.shared.marker.stats()
    }

    /// Stops accepting marks, writes every queued one and flushes the store. Call it after
    /// the server's graceful shutdown, on SIGTERM as on Ctrl-C (systemd, `docker stop` and
    /// Kubernetes send SIGTERM; its default action kills the process with the queue unwritten
    /// and an embedded file not closed), then drop the handles so that the store closes:
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, app: axum::Router, bitmapist: axum_bitmapist::AxumBitmapist) -> Result<(), Box<dyn std::error::Error>> {
    /// axum::serve(listener, app)
    ///     .with_graceful_shutdown(bitmapist::shutdown_signal()) // SIGINT or SIGTERM
    ///     .await?;
    /// bitmapist.shutdown().await?;
    /// drop(bitmapist);
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self) -> bitmapist::Result<()> {
        self.shared.marker.shutdown().await
    }
}
