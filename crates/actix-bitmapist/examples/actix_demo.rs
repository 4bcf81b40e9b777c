//! The demo app on actix-web: sign-up, log-in and log-out (actix-identity over
//! actix-session's cookie store, users in SQLite through SeaORM), marked routes, and the
//! bitmapist dashboard at /bitmapist. The same routes and seeded data as axum-bitmapist's
//! demo.
//!
//! `cargo run --release -p actix-bitmapist --all-features --example actix_demo`
//!
//! Its metrics (marks queued, written, dropped; commits; queries; see the README's
//! Operations section) are at /metrics in Prometheus text format.
//!
//! On first start with an empty store it seeds a year of activity for 10,000 users, so the
//! dashboard has something to show. `PORT` (default 3000), `HOST` (default 127.0.0.1),
//! `DEMO_DB` (default `sqlite://./bitmapist-demo.sqlite?mode=rwc`) and every `BITMAPIST_*`
//! variable apply (the store defaults to `./bitmapist.redb`). SIGINT or SIGTERM: the
//! server drains its connections, the mark queue is written and the store flushed, exit 0.
//!
//! All four ways to mark are used: sign-up creates a user through SeaORM (`user:created`,
//! the ORM hook) and marks `user:signed_up` with a direct call (it answers with a redirect,
//! and the route middleware marks only 2xx answers); logging in and out is tracked
//! (`user:logged_in`, `user:logged_out`); reading an article is a marked route
//! (`article:read`); buying calls the tracker directly (`user:purchased`).

use actix_bitmapist::{ActixBitmapist, Tracker, mark};
use actix_identity::{Identity, IdentityMiddleware};
use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::http::StatusCode;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Schema, Set,
};
use serde::Deserialize;

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
    actix_bitmapist::bitmapist_model!(ActiveModel, "user");
}

#[derive(Clone, Debug, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// Escapes text for HTML (usernames are user data).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
        "<!doctype html><html><head><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'>\
         <title>bitmapist demo</title></head><body style='font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem'>\
         <h1>bitmapist demo</h1>{body}<p><a href='/bitmapist'>Analytics dashboard</a> · <a href='/bitmapist/cohort'>Cohorts</a></p></body></html>"
    ))
}

fn redirect_home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/"))
        .finish()
}

fn server_error(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "request failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<p>Something went wrong.</p>",
    )
}

/// The logged-in user's row, if any.
async fn current(id: Option<Identity>, db: &DatabaseConnection) -> Option<users::Model> {
    let id: i32 = id?.id().ok()?.parse().ok()?;
    users::Entity::find_by_id(id).one(db).await.ok().flatten()
}

async fn home(id: Option<Identity>, db: web::Data<DatabaseConnection>) -> HttpResponse {
    match current(id, &db).await {
        Some(u) => page(
            StatusCode::OK,
            &format!(
                "<p>Logged in as <b>{}</b> (user {}).</p>\
             <p><a href='/articles/1'>Read article 1</a> · <a href='/articles/2'>Read article 2</a></p>\
             <form method=post action='/purchase'><button>Buy something</button></form>\
             <form method=post action='/logout'><button>Log out</button></form>",
                esc(&u.username),
                u.id
            ),
        ),
        None => page(
            StatusCode::OK,
            "<h2>Sign up</h2><form method=post action='/signup'><input name=username placeholder=username required> \
             <input name=password type=password placeholder=password required> <button>Sign up</button></form>\
             <h2>Log in</h2><form method=post action='/login'><input name=username placeholder=username required> \
             <input name=password type=password placeholder=password required> <button>Log in</button></form>",
        ),
    }
}

async fn signup(
    req: HttpRequest,
    tracker: Tracker,
    db: web::Data<DatabaseConnection>,
    web::Form(c): web::Form<Credentials>,
) -> HttpResponse {
    if c.username.trim().is_empty() || c.password.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            "<p>Username and password are required.</p>",
        );
    }
    // Ids continue after the seeded history's users.
    let last = users::Entity::find()
        .order_by_desc(users::Column::Id)
        .one(db.get_ref())
        .await;
    let next = match last {
        Ok(last) => last.map_or(SEEDED_USERS as i32, |u| u.id.max(SEEDED_USERS as i32)) + 1,
        Err(e) => return server_error(e),
    };
    // Hashing is CPU work: off the actix worker.
    let password = c.password.clone();
    let hash = match web::block(move || password_auth::generate_hash(password)).await {
        Ok(h) => h,
        Err(e) => return server_error(e),
    };
    let user = users::ActiveModel {
        id: Set(next),
        username: Set(c.username.trim().to_string()),
        password_hash: Set(hash),
    };
    match user.insert(db.get_ref()).await {
        Ok(user) => {
            if let Err(e) = Identity::login(&req.extensions(), user.id.to_string()) {
                return server_error(e);
            }
            // A direct call: the route middleware marks only 2xx answers, and this redirects.
            if let Ok(uid) = u32::try_from(user.id) {
                let _ = tracker.mark_event_for("user:signed_up", uid);
            }
            redirect_home()
        }
        Err(_) => page(StatusCode::CONFLICT, "<p>That username is taken.</p>"),
    }
}

async fn login(
    req: HttpRequest,
    db: web::Data<DatabaseConnection>,
    web::Form(c): web::Form<Credentials>,
) -> HttpResponse {
    let user = match users::Entity::find()
        .filter(users::Column::Username.eq(c.username))
        .one(db.get_ref())
        .await
    {
        Ok(u) => u,
        Err(e) => return server_error(e),
    };
    let ok = match user.clone() {
        Some(u) => web::block(move || {
            password_auth::verify_password(&c.password, &u.password_hash).is_ok()
        })
        .await
        .unwrap_or(false),
        None => false,
    };
    match user.filter(|_| ok) {
        // login_tracking sees the identity change and marks user:logged_in.
        Some(u) => match Identity::login(&req.extensions(), u.id.to_string()) {
            Ok(_) => redirect_home(),
            Err(e) => server_error(e),
        },
        None => page(
            StatusCode::UNAUTHORIZED,
            "<p>Wrong username or password.</p>",
        ),
    }
}

async fn logout(id: Option<Identity>) -> HttpResponse {
    if let Some(id) = id {
        id.logout();
    }
    redirect_home()
}

async fn article(id: web::Path<u32>) -> HttpResponse {
    page(
        StatusCode::OK,
        &format!(
            "<p>Article {id}. (Reading it was marked as <code>article:read</code>.)</p><p><a href='/'>Home</a></p>"
        ),
    )
}

async fn purchase(tracker: Tracker) -> HttpResponse {
    // The direct call: queued for the request's user, never failing the request.
    let _ = tracker.mark_event("user:purchased");
    redirect_home()
}

/// The metrics in Prometheus text format.
async fn metrics_page(
    prometheus: web::Data<metrics_exporter_prometheus::PrometheusHandle>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(prometheus.render())
}

#[actix_web::main]
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
    actix_bitmapist::describe_metrics();
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

    let bitmapist = ActixBitmapist::builder_from_env()?
        .actix_identity()
        .build()
        .await?;
    println!("seeding a year of activity for {SEEDED_USERS} users if the store is empty...");
    if let Some(s) = bitmapist_web::seed_demo_if_empty(bitmapist.client()).await? {
        println!(
            "seeded {} marks in {:.2} s ({:.0} marks/s)",
            s.marks, s.seconds, s.marks_per_second
        );
    }

    let key = Key::generate();
    let ext = bitmapist.clone();
    let db = web::Data::new(db);
    let server = HttpServer::new(move || {
        App::new()
            .configure(ext.init_app())
            .app_data(db.clone())
            .route("/", web::get().to(home))
            .route("/signup", web::post().to(signup))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            .route(
                "/articles/{id}",
                web::get().to(article).wrap(mark("article:read")),
            )
            .route("/purchase", web::post().to(purchase))
            .route("/metrics", web::get().to(metrics_page))
            .app_data(web::Data::new(prometheus.clone()))
            .wrap(ext.login_tracking())
            .wrap(IdentityMiddleware::default())
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    .cookie_secure(false)
                    .build(),
            )
    })
    .bind((host.as_str(), port))
    .with_context(|| format!("binding {host}:{port}"))?;
    let addr = server.addrs()[0];
    println!("store: {}", bitmapist.client().store().describe());
    println!("demo app:  http://{addr}/");
    println!("dashboard: http://{addr}/bitmapist  (loopback clients only)");
    println!("metrics:   http://{addr}/metrics");
    // actix-web stops gracefully on SIGINT and SIGTERM: run() returns once connections drained.
    server.run().await?;
    bitmapist.shutdown().await?;
    println!("stopped; every queued mark was written");
    Ok(())
}
