//! [`ActixBitmapist`]: the extension an app builds once and installs on each worker's `App`
//! with `configure(bitmapist.init_app())`. It owns the engine handle, the shared mark
//! queue ([`Marker`]), the user source and the dashboard settings.
//!
//! Why `configure`: actix-web builds one `App` per worker thread from a closure, so the
//! extension is cheap to clone into it; `init_app` registers the extension as app data
//! (what the extractor and the route middleware find) and mounts the dashboard.
//! Invariant: nothing here blocks an actix worker; marks are queued (`try_send`) and the
//! queue's worker task runs on the runtime that built the extension.

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};

use actix_web::HttpRequest;
use actix_web::web::ServiceConfig;
use bitmapist::{Bitmapist, MarkOptions, Systems};
use bitmapist_web::{MarkError, MarkKind, Marker, Settings, Stats, UserIdError, UserKey};
use chrono::{DateTime, Utc};

use crate::dashboard::{Access, Mounted};
use crate::user::UserSource;

/// The Flask-Bitmapist equivalent for actix-web: build it once, install it on every worker's
/// `App` with [`ActixBitmapist::init_app`]. Cheap to clone; every clone shares the store,
/// the queue and the counters.
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use actix_bitmapist::{ActixBitmapist, mark};
///
/// #[actix_web::main]
/// async fn main() -> anyhow::Result<()> {
///     let bitmapist = ActixBitmapist::from_env().await?;            // BITMAPIST_* variables
///     let ext = bitmapist.clone();
///     HttpServer::new(move || {
///         App::new()
///             .configure(ext.init_app())                            // app data + /bitmapist
///             .route("/reset", web::post().to(|| async { "ok" }).wrap(mark("user:reset_password")))
///     })
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await?;
///     bitmapist.shutdown().await?;                                 // writes queued marks
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ActixBitmapist {
    shared: Arc<ExtensionState>,
}

#[derive(Debug)]
struct ExtensionState {
    systems: Systems,
    client: Bitmapist,
    /// The shared queue, its counters and the external-id setting.
    marker: Marker,
    users: UserSource,
    /// The dashboard, unless disabled (`BITMAPIST_DISABLE_BLUEPRINT`).
    dashboard: Option<Mounted>,
}

/// Configures an [`ActixBitmapist`]; every setting the environment has, and more.
#[derive(Debug)]
pub struct Builder {
    settings: Settings,
    url: Option<String>,
    client: Option<Bitmapist>,
    systems: Vec<(String, Bitmapist)>,
    users: UserSource,
    access: Access,
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

    /// Another named system, reachable with [`ActixBitmapist::system`].
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

    /// Map user ids that are not `u32` (any `Display` id of a [`UserSource`]) through the
    /// external-id map (default: `BITMAPIST_ID_MAP`, else off). Also on when the engine
    /// handle given to [`Builder::client`] has it on.
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

    /// Opens the store and starts the mark queue on the current Tokio runtime (actix-web's
    /// `#[actix_web::main]` is one), and installs the marker the ORM hooks use.
    pub async fn build(self) -> bitmapist::Result<ActixBitmapist> {
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
        marker.install();
        let dashboard = (!self.settings.disable_blueprint).then(|| Mounted {
            core: bitmapist_web::Dashboard::new(client.clone())
                .access(self.access.core())
                .build(),
            access: self.access,
        });
        let shared = Arc::new(ExtensionState {
            systems,
            client,
            marker,
            users: self.users,
            dashboard,
        });
        let ext = ActixBitmapist { shared };
        *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = Some(ext.downgrade());
        Ok(ext)
    }
}

/// A handle that does not keep the extension alive.
#[derive(Clone, Debug)]
pub struct WeakActixBitmapist(std::sync::Weak<ExtensionState>);

impl WeakActixBitmapist {
    /// The extension, if a strong handle still exists.
    pub fn upgrade(&self) -> Option<ActixBitmapist> {
        self.0.upgrade().map(|shared| ActixBitmapist { shared })
    }
}

/// The extension built last in this process (weak).
static CURRENT: RwLock<Option<WeakActixBitmapist>> = RwLock::new(None);

impl ActixBitmapist {
    /// A builder starting from defaults (not the environment).
    pub fn builder() -> Builder {
        Builder::new(Settings::default())
    }

    /// A builder starting from the environment's settings (see [`Settings`]).
    pub fn builder_from_env() -> bitmapist::Result<Builder> {
        Ok(Builder::new(Settings::from_env()?))
    }

    /// Builds the extension from the environment's `BITMAPIST_*` variables.
    pub async fn from_env() -> bitmapist::Result<ActixBitmapist> {
        ActixBitmapist::builder_from_env()?.build().await
    }

    /// The process's current extension (the last one built), if still alive.
    pub fn current() -> Option<ActixBitmapist> {
        CURRENT
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(WeakActixBitmapist::upgrade)
    }

    /// Makes this the process's current extension and its marker the one the ORM hooks
    /// mark through; `build` does it, so the last one built wins.
    pub fn make_current(&self) {
        *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = Some(self.downgrade());
        self.shared.marker.install();
    }

    /// A handle that does not keep the extension (and its store) alive.
    pub fn downgrade(&self) -> WeakActixBitmapist {
        WeakActixBitmapist(Arc::downgrade(&self.shared))
    }

    /// What `App::configure` takes: registers the extension as app data (for
    /// the `Tracker` extractor and the `mark` middleware) and mounts the dashboard at `/bitmapist`
    /// unless disabled.
    ///
    /// ```
    /// # use actix_web::App;
    /// # async fn doc(bitmapist: actix_bitmapist::ActixBitmapist) {
    /// let app = App::new().configure(bitmapist.init_app());
    /// # }
    /// ```
    pub fn init_app(&self) -> impl FnOnce(&mut ServiceConfig) + use<> {
        let ext = self.clone();
        move |cfg: &mut ServiceConfig| {
            cfg.app_data(ext.clone());
            crate::dashboard::mount(ext.dashboard(), cfg);
        }
    }

    /// The dashboard, unless disabled.
    pub(crate) fn dashboard(&self) -> Option<&Mounted> {
        self.shared.dashboard.as_ref()
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

    /// The framework-free marking handle (queue, counters, external-id setting).
    pub fn marker(&self) -> &Marker {
        &self.shared.marker
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

    /// Queues an unmark of `event` for `uid` now.
    pub fn unmark_event(
        &self,
        event: impl Into<Cow<'static, str>>,
        uid: u32,
    ) -> Result<(), MarkError> {
        let opts = MarkOptions::default();
        self.mark_key(event, UserKey::Id(uid), Utc::now(), opts, MarkKind::Unmark)
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

    /// Whether `Display` ids are mapped through the external-id map.
    pub fn id_map_enabled(&self) -> bool {
        self.shared.marker.id_map_enabled()
    }

    /// The current user of a request, as the marks use it. A bad id is logged and counted
    /// ([`Stats::user_id_errors`]).
    pub fn user_key_of(&self, req: &HttpRequest) -> Result<Option<UserKey>, UserIdError> {
        let r = self.shared.users.user_key(req, self.id_map_enabled());
        if let Err(e) = &r {
            self.shared.marker.user_id_error(e);
        }
        r
    }

    /// An id's text as the marks use it: mapped when the map is on, else a decimal `u32`.
    pub fn key_of(&self, id: &str) -> Result<UserKey, UserIdError> {
        self.shared.marker.key_of(id)
    }

    /// What happened to marks so far.
    pub fn stats(&self) -> Stats {
        self.shared.marker.stats()
    }

    /// Stops accepting marks, writes every queued one and flushes the store. Call it after
    /// the server stopped: `HttpServer::new(..).run().await?; bitmapist.shutdown().await`.
    pub async fn shutdown(&self) -> bitmapist::Result<()> {
        self.shared.marker.shutdown().await
    }
}
