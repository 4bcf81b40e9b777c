//! The demo app: an axum site with sign-up, log-in and log-out (axum-login, users in SQLite
//! through SeaORM), marked routes, and the bitmapist dashboard at /bitmapist.
//!
//! `cargo run --release -p axum-bitmapist --all-features --example demo`
//!
//! Its metrics (marks queued, written, dropped; commits; queries; see the README's
//! Operations section) are at /metrics in Prometheus text format.
//!
//! Ctrl-C or SIGTERM stops it cleanly: open requests finish (at most 10 s), queued marks
//! are written, the store is closed, exit code 0.
//!
//! On first start with an empty store it seeds a year of activity for 10,000 users, so the
//! dashboard has something to show. `PORT` (default 3000), `HOST` (default 127.0.0.1),
//! `DEMO_DB` (default `sqlite://./bitmapist-demo.sqlite?mode=rwc`) and every `BITMAPIST_*`
//! variable apply (the store defaults to `./bitmapist.redb`).
//!
//! All four ways to mark are used: sign-up creates a user through SeaORM (`user:created`,
//! the ORM hook) and marks `user:signed_up` with a direct call (it answers with a redirect,
//! and the route layer marks only 2xx answers); logging in and out is tracked
//! (`user:logged_in`, `user:logged_out`); reading an article is a marked route
//! (`article:read`); buying calls the tracker directly (`user:purchased`).

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::{Form, Path};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_bitmapist::{AxumBitmapist, Tracker, mark};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Schema, Set,
};
use serde::Deserialize;
use tower_sessions::{MemoryStore, SessionManagerLayer};

/// How long open requests may finish after Ctrl-C or SIGTERM.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// How many users the seeded history has (ids 1..=SEEDED_USERS).
const SEEDED_USERS: u32 = bitmapist_web::DEMO_USERS;

mod users {
    use sea_orm::entity::prelude::*;

    /// A user of the demo site.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        #[sea_orm(unique)]
        pub username: String,
        pub password_hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    // The one line that marks user:created / user:updated / user:deleted.
    axum_bitmapist::bitmapist_model!(ActiveModel, "user");
}

impl AuthUser for users::Model {
    type Id = i32;
    fn id(&self) -> i32 {
        self.id
    }
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

/// axum-login's view of the users table.
#[derive(Clone, Debug)]
struct Backend {
    db: DatabaseConnection,
}

#[derive(Clone, Debug, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

impl AuthnBackend for Backend {
    type User = users::Model;
    type Credentials = Credentials;
    type Error = sea_orm::DbErr;

    async fn authenticate(&self, c: Credentials) -> Result<Option<users::Model>, Self::Error> {
        let user = users::Entity::find()
            .filter(users::Column::Username.eq(c.username))
            .one(&self.db)
            .await?;
        Ok(user.filter(|u| password_auth::verify_password(&c.password, &u.password_hash).is_ok()))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<users::Model>, Self::Error> {
        users::Entity::find_by_id(*id).one(&self.db).await
    }
}

type Auth = AuthSession<Backend>;

/// Escapes text for HTML (usernames are user data).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'>\
         <title>bitmapist demo</title></head><body style='font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem'>\
         <h1>bitmapist demo</h1>{body}<p><a href='/bitmapist'>Analytics dashboard</a> · <a href='/bitmapist/cohort'>Cohorts</a></p></body></html>"
    ))
}

async fn home(auth: Auth) -> Html<String> {
    match auth.user {
        Some(u) => page(&format!(
            "<p>Logged in as <b>{}</b> (user {}).</p>\
             <p><a href='/articles/1'>Read article 1</a> · <a href='/articles/2'>Read article 2</a></p>\
             <form method=post action='/purchase'><button>Buy something</button></form>\
             <form method=post action='/logout'><button>Log out</button></form>",
            esc(&u.username),
            u.id
        )),
        None => page(
            "<h2>Sign up</h2><form method=post action='/signup'><input name=username placeholder=username required> \
             <input name=password type=password placeholder=password required> <button>Sign up</button></form>\
             <h2>Log in</h2><form method=post action='/login'><input name=username placeholder=username required> \
             <input name=password type=password placeholder=password required> <button>Log in</button></form>",
        ),
    }
}

async fn signup(
    mut auth: Auth,
    tracker: Tracker,
    Extension(db): Extension<DatabaseConnection>,
    Form(c): Form<Credentials>,
) -> Response {
    if c.username.trim().is_empty() || c.password.is_empty() {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            page("<p>Username and password are required.</p>"),
        )
            .into_response();
    }
    // Ids continue after the seeded history's users.
    let last = users::Entity::find()
        .order_by_desc(users::Column::Id)
        .one(&db)
        .await;
    let next = match last {
        Ok(last) => last.map_or(SEEDED_USERS as i32, |u| u.id.max(SEEDED_USERS as i32)) + 1,
        Err(e) => return server_error(e),
    };
    let user = users::ActiveModel {
        id: Set(next),
        username: Set(c.username.trim().to_string()),
        password_hash: Set(password_auth::generate_hash(&c.password)),
    };
    match user.insert(&db).await {
        Ok(user) => {
            if let Err(e) = auth.login(&user).await {
                return server_error(e);
            }
            // A direct call: the route layer marks only 2xx answers, and this one redirects.
            if let Ok(uid) = u32::try_from(user.id) {
                let _ = tracker.mark_event_for("user:signed_up", uid);
            }
            Redirect::to("/").into_response()
        }
        Err(_) => (
            axum::http::StatusCode::CONFLICT,
            page("<p>That username is taken.</p>"),
        )
            .into_response(),
    }
}

async fn login(mut auth: Auth, Form(c): Form<Credentials>) -> Response {
    match auth.authenticate(c).await {
        Ok(Some(user)) => match auth.login(&user).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(e) => server_error(e),
        },
        Ok(None) => (
            axum::http::StatusCode::UNAUTHORIZED,
            page("<p>Wrong username or password.</p>"),
        )
            .into_response(),
        Err(e) => server_error(e),
    }
}

async fn logout(mut auth: Auth) -> Redirect {
    let _ = auth.logout().await;
    Redirect::to("/")
}

async fn article(Path(id): Path<u32>) -> Html<String> {
    page(&format!(
        "<p>Article {id}. (Reading it was marked as <code>article:read</code>.)</p><p><a href='/'>Home</a></p>"
    ))
}

async fn purchase(tracker: Tracker) -> Redirect {
    // The direct call: queued for the request's user, never failing the request.
    let _ = tracker.mark_event("user:purchased");
    Redirect::to("/")
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        page("<p>Something went wrong.</p>"),
    )
        .into_response()
}

async fn seed_if_empty(ext: &AxumBitmapist) -> anyhow::Result<()> {
    println!("seeding a year of activity for {SEEDED_USERS} users if the store is empty...");
    if let Some(summary) = bitmapist_web::seed_demo_if_empty(ext.client()).await? {
        println!(
            "seeded {} marks in {:.2} s ({:.0} marks/s)",
            summary.marks, summary.seconds, summary.marks_per_second
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    // Before the extension is built: its handles register with the recorder installed now.
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the Prometheus metrics recorder")?;
    axum_bitmapist::describe_metrics();
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .with_context(|| format!("PORT={p:?} is not a port number"))?,
        Err(_) => 3000,
    };
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let db_url = std::env::var("DEMO_DB")
        .unwrap_or_else(|_| "sqlite://./bitmapist-demo.sqlite?mode=rwc".into());

    let db = Database::connect(&db_url)
        .await
        .with_context(|| format!("opening {db_url}"))?;
    let schema = Schema::new(db.get_database_backend());
    db.execute(
        schema
            .create_table_from_entity(users::Entity)
            .if_not_exists(),
    )
    .await
    .context("creating the users table")?;

    let bitmapist = AxumBitmapist::builder_from_env()?
        .axum_login::<Backend>()
        .build()
        .await?;
    seed_if_empty(&bitmapist).await?;

    let routes = Router::new()
        .route("/", get(home))
        .route("/signup", post(signup))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/articles/{id}", get(article).layer(mark("article:read")))
        .route("/purchase", post(purchase))
        .route("/metrics", get(move || async move { prometheus.render() }));
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(Backend { db: db.clone() }, sessions).build();
    let app = bitmapist.init_app(routes).layer(auth).layer(Extension(db));

    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("binding {host}:{port}"))?;
    let addr = listener.local_addr()?;
    println!("store: {}", bitmapist.client().store().describe());
    println!("demo app:  http://{addr}/");
    println!("dashboard: http://{addr}/bitmapist  (loopback clients only)");
    println!("metrics:   http://{addr}/metrics");
    // Ctrl-C or SIGTERM (systemd, `docker stop`, Kubernetes): stop accepting, let open
    // requests finish (at most DRAIN), write the queued marks, close the store, exit 0.
    let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            bitmapist::shutdown_signal().await;
            let _ = signalled.send(());
        })
        .into_future(),
    );
    // An error before any signal (the listener failed) ends the wait too.
    let _ = stopping.await;
    match tokio::time::timeout(DRAIN, server).await {
        Ok(served) => served??,
        Err(_) => println!("closing connections still open after {DRAIN:?}"),
    }
    bitmapist.shutdown().await?;
    println!("stopped; every queued mark was written");
    // Dropping the last handles closes the store (the embedded file's final commit).
    drop(bitmapist);
    Ok(())
}
