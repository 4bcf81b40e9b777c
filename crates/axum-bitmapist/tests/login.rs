//! Login tracking with axum-login and tower-sessions through a real HTTP server: the
//! session cookie carries the login; `user:logged_in` / `user:logged_out` are marked with
//! no code in the handlers, and the route layer marks for the session's user.

#![cfg(feature = "login")]

mod common;

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum_bitmapist::{AxumBitmapist, mark};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use bitmapist::{Bitmapist, TimeGroup};
use chrono::Utc;
use common::{get as http_get, post as http_post, redis_server::RedisServer, serve};
use tower_sessions::{MemoryStore, SessionManagerLayer};

#[derive(Clone, Debug)]
struct User {
    id: i64,
    pw_hash: Vec<u8>,
}

impl AuthUser for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
    fn session_auth_hash(&self) -> &[u8] {
        &self.pw_hash
    }
}

/// Users 1..=1000 exist, password "pw"; user 5_000_000_000 exists too (id beyond u32).
#[derive(Clone, Debug)]
struct Backend;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

fn user(id: i64) -> Option<User> {
    ((1..=1000).contains(&id) || id == 5_000_000_000).then(|| User {
        id,
        pw_hash: b"pw".to_vec(),
    })
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = (i64, String);
    type Error = Never;

    async fn authenticate(&self, (id, pw): Self::Credentials) -> Result<Option<User>, Never> {
        Ok(user(id).filter(|_| pw == "pw"))
    }
    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Never> {
        Ok(user(*id))
    }
}

async fn login(
    mut auth: AuthSession<Backend>,
    Query(q): Query<HashMap<String, String>>,
) -> Redirect {
    let id = q.get("id").and_then(|v| v.parse().ok()).unwrap_or(0);
    let pw = q.get("pw").cloned().unwrap_or_default();
    if let Ok(Some(u)) = auth.authenticate((id, pw)).await {
        let _ = auth.login(&u).await;
    }
    Redirect::to("/")
}

async fn logout(mut auth: AuthSession<Backend>) -> Redirect {
    let _ = auth.logout().await;
    Redirect::to("/")
}

async fn app(ext: &AxumBitmapist) -> std::net::SocketAddr {
    let routes = Router::new()
        .route("/", get(|| async { "home" }))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route(
            "/reset",
            post(|| async { "ok" }).layer(mark("user:reset_password")),
        );
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(Backend, sessions).build();
    serve(ext.init_app(routes).layer(auth)).await
}

async fn ids(client: &Bitmapist, event: &str) -> Vec<u32> {
    client
        .get_event_data(event, TimeGroup::Days, Utc::now())
        .expect("query")
        .ids()
        .await
        .expect("ids")
        .collect()
}

async fn logins_are_tracked(ext: AxumBitmapist) {
    let addr = app(&ext).await;

    // A failed login marks nothing and sets no session user.
    let r = http_post(addr, "/login?id=7&pw=wrong", None).await;
    assert_eq!(r.status, 303);

    let r = http_post(addr, "/login?id=7&pw=pw", None).await;
    assert_eq!(r.status, 303);
    let cookie = r.cookies.first().expect("session cookie").clone();
    // The session carries user 7: the route layer marks for them, with no id in the URL.
    assert_eq!(http_post(addr, "/reset", Some(&cookie)).await.status, 200);
    // A request that changes nothing marks no login.
    assert_eq!(http_get(addr, "/", Some(&cookie)).await.status, 200);
    assert_eq!(http_post(addr, "/logout", Some(&cookie)).await.status, 303);
    // After logout, the layer has no user to mark.
    assert_eq!(http_post(addr, "/reset", Some(&cookie)).await.status, 200);

    // Another user, on another session.
    let r = http_post(addr, "/login?id=42&pw=pw", None).await;
    let other = r.cookies.first().expect("cookie").clone();
    assert_eq!(http_post(addr, "/reset", Some(&other)).await.status, 200);
    // A user whose id does not fit in a u32: logged in fine, not tracked, no panic.
    let r = http_post(addr, "/login?id=5000000000&pw=pw", None).await;
    assert_eq!(r.status, 303);
    let big = r.cookies.first().expect("cookie").clone();
    assert_eq!(http_post(addr, "/reset", Some(&big)).await.status, 200);

    ext.shutdown().await.expect("shutdown");
    let c = ext.client();
    assert_eq!(ids(c, "user:logged_in").await, vec![7, 42]);
    assert_eq!(ids(c, "user:logged_out").await, vec![7]);
    assert_eq!(ids(c, "user:reset_password").await, vec![7, 42]);
}

fn builder() -> axum_bitmapist::Builder {
    AxumBitmapist::builder()
        .axum_login::<Backend>()
        .disable_blueprint(true)
}

#[tokio::test]
async fn logins_are_tracked_on_memory() {
    logins_are_tracked(builder().url("memory://").build().await.expect("build")).await;
}

#[tokio::test]
async fn logins_are_tracked_on_redis() {
    let server = RedisServer::start();
    logins_are_tracked(builder().url(server.url()).build().await.expect("build")).await;
}
