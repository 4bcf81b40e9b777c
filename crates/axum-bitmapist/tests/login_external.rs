//! axum-login apps whose user ids are `String`, `Uuid` or `i64` (beyond `u32`), through a
//! real HTTP server: with the external-id map on they are tracked with no code (logins,
//! logouts, the route layer); with it off, today's behaviour stays (not tracked, counted).

#![cfg(feature = "login")]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fmt::{Debug, Display};
use std::hash::Hash;

use axum::Router;
use axum::extract::Query;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum_bitmapist::{AxumBitmapist, mark};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use bitmapist::{Bitmapist, TimeGroup};
use chrono::Utc;
use common::{post as http_post, redis_server::RedisServer, serve};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower_sessions::{MemoryStore, SessionManagerLayer};
use uuid::Uuid;

/// An id type an app might use; user `n` of the test has id `make(n)`.
trait TestId:
    Debug + Display + Clone + Eq + Hash + Send + Sync + Serialize + DeserializeOwned + 'static
{
    fn make(n: u32) -> Self;
}

impl TestId for String {
    fn make(n: u32) -> Self {
        format!("user-{n}@example.com")
    }
}

impl TestId for Uuid {
    fn make(n: u32) -> Self {
        Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0000_0000 + u128::from(n))
    }
}

impl TestId for i64 {
    fn make(n: u32) -> Self {
        // Beyond u32, and negative for odd users.
        let big = 10_000_000_000 + i64::from(n);
        if n % 2 == 1 { -big } else { big }
    }
}

#[derive(Clone, Debug)]
struct User<I> {
    id: I,
    pw_hash: Vec<u8>,
}

impl<I: TestId> AuthUser for User<I> {
    type Id = I;
    fn id(&self) -> I {
        self.id.clone()
    }
    fn session_auth_hash(&self) -> &[u8] {
        &self.pw_hash
    }
}

/// Users 1..=100, password "pw".
#[derive(Clone, Debug)]
struct Backend<I> {
    users: HashMap<I, u32>,
}

impl<I: TestId> Backend<I> {
    fn new() -> Self {
        Backend {
            users: (1..=100).map(|n| (I::make(n), n)).collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl<I: TestId> AuthnBackend for Backend<I> {
    type User = User<I>;
    type Credentials = (u32, String);
    type Error = Never;

    async fn authenticate(&self, (n, pw): Self::Credentials) -> Result<Option<User<I>>, Never> {
        Ok(((1..=100).contains(&n) && pw == "pw").then(|| User {
            id: I::make(n),
            pw_hash: b"pw".to_vec(),
        }))
    }
    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User<I>>, Never> {
        Ok(self.users.get(id).map(|_| User {
            id: id.clone(),
            pw_hash: b"pw".to_vec(),
        }))
    }
}

async fn login<I: TestId>(
    mut auth: AuthSession<Backend<I>>,
    Query(q): Query<HashMap<String, String>>,
) -> Redirect {
    let n = q.get("n").and_then(|v| v.parse().ok()).unwrap_or(0);
    if let Ok(Some(u)) = auth.authenticate((n, "pw".to_string())).await {
        let _ = auth.login(&u).await;
    }
    Redirect::to("/")
}

async fn logout<I: TestId>(mut auth: AuthSession<Backend<I>>) -> Redirect {
    let _ = auth.logout().await;
    Redirect::to("/")
}

async fn app<I: TestId>(ext: &AxumBitmapist) -> std::net::SocketAddr {
    let routes = Router::new()
        .route("/", get(|| async { "home" }))
        .route("/login", post(login::<I>))
        .route("/logout", post(logout::<I>))
        .route(
            "/reset",
            post(|| async { "ok" }).layer(mark("user:reset_password")),
        );
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(Backend::<I>::new(), sessions).build();
    serve(ext.init_app(routes).layer(auth)).await
}

/// The external ids of today's users of `event`.
async fn users(client: &Bitmapist, event: &str) -> BTreeSet<String> {
    client
        .get_event_data(event, TimeGroup::Days, Utc::now())
        .expect("query")
        .external_ids()
        .await
        .expect("ids")
        .into_iter()
        .map(|(d, e)| e.unwrap_or_else(|| panic!("user {d} has no external id")))
        .collect()
}

fn set<I: TestId>(ns: &[u32]) -> BTreeSet<String> {
    ns.iter().map(|&n| I::make(n).to_string()).collect()
}

/// Logs users 7 and 42 in (7 out again) and resets passwords: everything is marked by
/// external id.
async fn tracked_with_the_map<I: TestId>(ext: AxumBitmapist) {
    let addr = app::<I>(&ext).await;
    let r = http_post(addr, "/login?n=7", None).await;
    assert_eq!(r.status, 303);
    let cookie = r.cookies.first().expect("session cookie").clone();
    assert_eq!(http_post(addr, "/reset", Some(&cookie)).await.status, 200);
    assert_eq!(http_post(addr, "/logout", Some(&cookie)).await.status, 303);
    let r = http_post(addr, "/login?n=42", None).await;
    let other = r.cookies.first().expect("cookie").clone();
    assert_eq!(http_post(addr, "/reset", Some(&other)).await.status, 200);

    ext.shutdown().await.expect("shutdown");
    assert_eq!(ext.stats().user_id_errors, 0);
    let c = ext.client();
    assert_eq!(users(c, "user:logged_in").await, set::<I>(&[7, 42]));
    assert_eq!(users(c, "user:logged_out").await, set::<I>(&[7]));
    assert_eq!(users(c, "user:reset_password").await, set::<I>(&[7, 42]));
    // Dense ids from 1, in order of first appearance.
    let dense = c
        .ids()
        .lookup(&[I::make(7).to_string(), I::make(42).to_string()])
        .await
        .expect("lookup");
    assert_eq!(dense, vec![Some(1), Some(2)]);
}

fn builder<I: TestId>() -> axum_bitmapist::Builder {
    AxumBitmapist::builder()
        .axum_login::<Backend<I>>()
        .disable_blueprint(true)
}

#[tokio::test]
async fn string_ids_with_the_map_on_memory() {
    let ext = builder::<String>()
        .id_map(true)
        .url("memory://")
        .build()
        .await
        .expect("build");
    tracked_with_the_map::<String>(ext).await;
}

#[tokio::test]
async fn uuid_ids_with_the_map_on_redis() {
    let server = RedisServer::start();
    let ext = builder::<Uuid>()
        .id_map(true)
        .url(server.url())
        .build()
        .await
        .expect("build");
    tracked_with_the_map::<Uuid>(ext).await;
}

#[tokio::test]
async fn i64_ids_with_the_map_from_the_environment_on_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("ids.redb").display());
    let vars = [
        ("BITMAPIST_URL", url.as_str()),
        ("BITMAPIST_ID_MAP", "true"),
    ];
    let settings = axum_bitmapist::Settings::from_vars(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .expect("settings");
    assert!(settings.engine.id_map);
    let client = settings.engine.open().await.expect("open");
    assert!(client.id_map_enabled());
    let ext = builder::<i64>()
        .client(client)
        .build()
        .await
        .expect("build");
    tracked_with_the_map::<i64>(ext).await;
}

/// Without the map: ids that are not `u32` are not tracked, counted as errors; nothing is
/// assigned.
#[tokio::test]
async fn without_the_map_non_u32_ids_are_counted_as_errors() {
    let ext = builder::<String>()
        .url("memory://")
        .build()
        .await
        .expect("build");
    let addr = app::<String>(&ext).await;
    let r = http_post(addr, "/login?n=7", None).await;
    let cookie = r.cookies.first().expect("session cookie").clone();
    assert_eq!(http_post(addr, "/reset", Some(&cookie)).await.status, 200);
    ext.shutdown().await.expect("shutdown");
    assert!(ext.stats().user_id_errors >= 1);
    let c = ext.client();
    assert!(c.event_names(None).await.expect("names").is_empty());
    assert_eq!(
        c.ids().lookup(&[String::make(7)]).await.expect("lookup"),
        vec![None]
    );
}
