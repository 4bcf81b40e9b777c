//! The four ways to mark through a real actix-web server (bound to 127.0.0.1:0, one
//! worker thread, real HTTP): the extractor, the route middleware (2xx only, `MarkUser`,
//! fixed options), the user sources, the drop counting of a full queue, and the flush on
//! shutdown; on the embedded store, memory and Redis. Login tracking with actix-identity
//! (feature `identity`) is at the end.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;

use actix_bitmapist::{
    ActixBitmapist, CurrentUser, MarkError, MarkUser, Tracker, UserSource, mark,
};
use actix_web::dev::{ServerHandle, Service};
use actix_web::web::{self, ServiceConfig};
use actix_web::{App, HttpMessage, HttpResponse, HttpServer};
use bitmapist::{Bitmapist, Period, TimeGroup};
use bitmapist_test_support::http::{self, Reply};
use bitmapist_test_support::redis_server::RedisServer;
use chrono::{TimeZone, Utc};

/// The app's routes, one per behaviour under test.
fn routes(cfg: &mut ServiceConfig) {
    cfg.route(
        "/reset",
        web::post()
            .to(|| async { "ok" })
            .wrap(mark("user:reset_password")),
    )
    .route(
        "/fail",
        web::post()
            .to(|| async { HttpResponse::BadRequest().finish() })
            .wrap(mark("user:failed")),
    )
    .route(
        "/boom",
        web::post()
            .to(|| async { HttpResponse::InternalServerError().finish() })
            .wrap(mark("user:boom")),
    )
    .route(
        "/signup",
        web::post()
            .to(|| async {
                let mut res = HttpResponse::Ok().body("welcome");
                res.extensions_mut().insert(MarkUser(777));
                res
            })
            .wrap(mark("user:signed_up")),
    )
    .route(
        "/fixed",
        web::post().to(|| async { "ok" }).wrap(
            mark("user:fixed").hourly(true).unique(true).at(Utc
                .with_ymd_and_hms(2024, 12, 30, 7, 0, 0)
                .single()
                .expect("a valid time")),
        ),
    )
    .route(
        "/direct",
        web::get().to(|tracker: Tracker| async move {
            let mine = tracker.mark_event("user:action_taken").is_ok();
            tracker
                .mark_event_for("order:shipped", 5000)
                .expect("queued");
            format!("{mine}")
        }),
    )
    .route("/plain", web::get().to(|| async { "plain" }));
}

/// Serves `routes` with the extension installed and the app's own stand-in auth
/// (`?user=N` in the query becomes the `CurrentUser` extension); one worker thread.
fn serve(ext: &ActixBitmapist, routes: fn(&mut ServiceConfig)) -> (SocketAddr, ServerHandle) {
    let ext = ext.clone();
    let server = HttpServer::new(move || {
        App::new()
            .configure(ext.init_app())
            .configure(routes)
            .wrap_fn(|req, srv| {
                let user = req
                    .query_string()
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("user="))
                    .and_then(|v| v.parse::<u32>().ok());
                if let Some(u) = user {
                    req.extensions_mut().insert(CurrentUser(u));
                }
                srv.call(req)
            })
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind 127.0.0.1:0");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

/// One request, sent from a blocking thread (the server runs on its own worker thread).
async fn send(addr: SocketAddr, method: &'static str, path: &str) -> Reply {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || http::request(addr, method, &path, None, &[]))
        .await
        .expect("the client thread")
}

async fn today(client: &Bitmapist, event: &str) -> Vec<u32> {
    client
        .get_event_data(event, TimeGroup::Days, Utc::now())
        .expect("query")
        .ids()
        .await
        .expect("ids")
        .collect()
}

async fn every_way_marks(ext: ActixBitmapist) {
    let (addr, server) = serve(&ext, routes);
    assert_eq!(send(addr, "POST", "/reset?user=1").await.status, 200);
    assert_eq!(send(addr, "POST", "/reset?user=2").await.status, 200);
    let r = send(addr, "POST", "/reset").await;
    assert_eq!(r.status, 200, "no user: answered, nothing marked");
    assert_eq!(send(addr, "POST", "/fail?user=3").await.status, 400);
    assert_eq!(send(addr, "POST", "/boom?user=4").await.status, 500);
    assert_eq!(send(addr, "POST", "/signup").await.status, 200);
    assert_eq!(send(addr, "POST", "/fixed?user=9").await.status, 200);
    let r = send(addr, "GET", "/direct?user=11").await;
    assert_eq!((r.status, r.body.as_str()), (200, "true"));
    let r = send(addr, "GET", "/direct").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "false"),
        "no user: mark_event says so"
    );

    server.stop(true).await;
    ext.shutdown().await.expect("shutdown writes the queue");
    let c = ext.client();
    assert_eq!(
        today(c, "user:reset_password").await,
        vec![1, 2],
        "each request's own user"
    );
    assert!(
        today(c, "user:failed").await.is_empty(),
        "a 4xx marks nothing"
    );
    assert!(
        today(c, "user:boom").await.is_empty(),
        "a 5xx marks nothing"
    );
    assert_eq!(
        today(c, "user:signed_up").await,
        vec![777],
        "MarkUser in the response wins"
    );
    assert_eq!(today(c, "user:action_taken").await, vec![11]);
    assert_eq!(
        today(c, "order:shipped").await,
        vec![5000],
        "two requests, one user"
    );
    let date = chrono::NaiveDate::from_ymd_opt(2024, 12, 30).expect("date");
    let hour = Period::hour(date, 7).expect("hour");
    assert!(
        c.events("user:fixed", hour)
            .contains(9)
            .await
            .expect("hour")
    );
    let unique = Period::unique();
    assert!(
        c.events("user:fixed", unique)
            .contains(9)
            .await
            .expect("unique")
    );
    let week = Period::week(2025, 1).expect("ISO week 2025-1 holds 2024-12-30");
    assert!(
        c.events("user:fixed", week)
            .contains(9)
            .await
            .expect("week")
    );
    let stats = ext.stats();
    assert_eq!(
        (stats.queued, stats.written, stats.dropped),
        (7, 7, 0),
        "{stats:?}"
    );
}

#[actix_web::test]
async fn every_way_marks_on_memory() {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .build()
        .await
        .expect("build");
    every_way_marks(ext).await;
}

#[actix_web::test]
async fn every_way_marks_on_the_embedded_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("marks.redb").display());
    every_way_marks(
        ActixBitmapist::builder()
            .url(&url)
            .build()
            .await
            .expect("build"),
    )
    .await;
    // Reopened: what shutdown flushed is on disk.
    let reopened = Bitmapist::open(&url).await.expect("reopen");
    assert_eq!(today(&reopened, "user:reset_password").await, vec![1, 2]);
}

#[actix_web::test]
async fn every_way_marks_on_redis() {
    let redis = RedisServer::start();
    every_way_marks(
        ActixBitmapist::builder()
            .url(redis.url())
            .build()
            .await
            .expect("build"),
    )
    .await;
}

/// Many concurrent marked requests, then the server stops and the extension shuts down:
/// every answered request's mark is in the store (compared with a set of the users sent).
#[actix_web::test]
async fn shutdown_writes_every_mark_of_every_answered_request() {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .build()
        .await
        .expect("build");
    let (addr, server) = serve(&ext, routes);
    let mut clients = Vec::new();
    for t in 0..4u32 {
        clients.push(tokio::task::spawn_blocking(move || {
            (0..100u32)
                .map(|i| t * 1000 + i)
                .filter(|uid| {
                    http::request(addr, "POST", &format!("/reset?user={uid}"), None, &[]).status
                        == 200
                })
                .collect::<Vec<u32>>()
        }));
    }
    let mut answered = BTreeSet::new();
    for c in clients {
        answered.extend(c.await.expect("client"));
    }
    assert_eq!(answered.len(), 400, "every request answered 2xx");
    server.stop(true).await;
    ext.shutdown().await.expect("shutdown");
    let stored: BTreeSet<u32> = today(ext.client(), "user:reset_password")
        .await
        .into_iter()
        .collect();
    assert_eq!(stored, answered);
    let stats = ext.stats();
    assert_eq!((stats.queued, stats.written, stats.dropped), (400, 400, 0));
    // After shutdown, marks are refused (and counted), never lost silently.
    assert_eq!(ext.mark_event("late", 1), Err(MarkError::ShutDown));
    assert_eq!(ext.stats().dropped, 1);
}

/// A queue of capacity 1 that the worker cannot drain in time: requests are still all
/// answered 2xx, and every mark is either written or counted as dropped.
#[actix_web::test]
async fn a_full_queue_drops_and_counts_and_never_fails_a_request() {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .queue_capacity(1)
        .build()
        .await
        .expect("build");
    // The queue's worker runs on this (current-thread) runtime: marks made without
    // yielding to it fill the queue.
    let mut refused = 0;
    for uid in 0..50 {
        if let Err(e) = ext.mark_event("burst", uid) {
            assert_eq!(e, MarkError::QueueFull);
            refused += 1;
        }
    }
    assert_eq!(refused, 49, "one fits, the rest are dropped at once");
    let (addr, server) = serve(&ext, routes);
    for uid in 0..20 {
        let r = send(addr, "POST", &format!("/reset?user={uid}")).await;
        assert_eq!(r.status, 200, "a full queue never fails a request");
    }
    server.stop(true).await;
    ext.shutdown().await.expect("shutdown");
    let stats = ext.stats();
    assert_eq!(stats.queued + stats.dropped, 70, "{stats:?}");
    assert_eq!(stats.written, stats.queued, "{stats:?}");
    let stored = today(ext.client(), "user:reset_password").await.len() as u64;
    assert_eq!(
        stored + today(ext.client(), "burst").await.len() as u64,
        stats.written
    );
}

/// The user source: a closure reading a header, and ids that are not u32 counted as
/// errors (the request still answered, nothing marked).
#[actix_web::test]
async fn the_user_source_decides_who_is_marked_and_bad_ids_are_counted() {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .user_source(UserSource::from_display_fn(|req| {
            req.headers()
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        }))
        .build()
        .await
        .expect("build");
    let (addr, server) = serve(&ext, routes);
    let ids = ["5", "42", "-1", "4294967296", "alice"];
    for id in ids {
        let r = tokio::task::spawn_blocking(move || {
            http::request(addr, "POST", "/reset?user=1", None, &[("X-User", id)])
        })
        .await
        .expect("client");
        assert_eq!(r.status, 200, "a bad id never fails the request ({id})");
    }
    server.stop(true).await;
    ext.shutdown().await.expect("shutdown");
    let model: HashSet<u32> = ids.iter().filter_map(|s| s.parse::<u32>().ok()).collect();
    let stored: HashSet<u32> = today(ext.client(), "user:reset_password")
        .await
        .into_iter()
        .collect();
    assert_eq!(stored, model, "the header's user, not CurrentUser(1)");
    assert_eq!(ext.stats().user_id_errors, 3);
}

/// With the external-id map on, text ids are marked through the map.
#[actix_web::test]
async fn text_ids_are_marked_through_the_external_id_map() {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .id_map(true)
        .user_source(UserSource::from_display_fn(|req| {
            req.headers()
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        }))
        .build()
        .await
        .expect("build");
    let (addr, server) = serve(&ext, routes);
    for id in ["alice", "67e55044-10b1-426f-9247-bb680e5fe0c8", "-42"] {
        let r = tokio::task::spawn_blocking(move || {
            http::request(addr, "POST", "/reset", None, &[("X-User", id)])
        })
        .await
        .expect("client");
        assert_eq!(r.status, 200);
    }
    server.stop(true).await;
    ext.shutdown().await.expect("shutdown");
    let q = ext
        .client()
        .get_event_data("user:reset_password", TimeGroup::Days, Utc::now())
        .expect("query");
    let got: HashSet<String> = q
        .external_ids()
        .await
        .expect("ids")
        .into_iter()
        .filter_map(|(_, e)| e)
        .collect();
    let want: HashSet<String> = ["alice", "67e55044-10b1-426f-9247-bb680e5fe0c8", "-42"]
        .map(String::from)
        .into();
    assert_eq!(got, want);
}

/// Without `init_app`, the extractor answers 500 with a message naming the fix, and the
/// middleware passes the request through unmarked.
#[actix_web::test]
async fn without_init_app_the_extractor_says_so_and_the_middleware_passes_through() {
    let server = HttpServer::new(|| App::new().configure(routes))
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let r = send(addr, "GET", "/direct?user=1").await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("init_app"), "{}", r.body);
    assert_eq!(send(addr, "POST", "/reset?user=1").await.status, 200);
    handle.stop(true).await;
}

#[cfg(feature = "identity")]
mod identity {
    //! Login tracking with actix-identity 0.9 and actix-session's cookie store.

    use super::*;
    use actix_bitmapist::identity::{LOGGED_IN, LOGGED_OUT};
    use actix_identity::{Identity, IdentityMiddleware};
    use actix_session::SessionMiddleware;
    use actix_session::storage::CookieSessionStore;
    use actix_web::cookie::Key;
    use actix_web::{HttpRequest, Responder};

    async fn login(
        req: HttpRequest,
        q: web::Query<std::collections::HashMap<String, String>>,
    ) -> impl Responder {
        let id = q.get("id").cloned().unwrap_or_default();
        Identity::login(&req.extensions(), id).expect("login");
        HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .finish()
    }

    async fn logout(id: Identity) -> impl Responder {
        id.logout();
        HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .finish()
    }

    fn serve_identity(ext: &ActixBitmapist) -> (SocketAddr, ServerHandle) {
        let ext = ext.clone();
        let key = Key::generate();
        let server = HttpServer::new(move || {
            App::new()
                .configure(ext.init_app())
                .route("/login", web::post().to(login))
                .route("/logout", web::post().to(logout))
                .route(
                    "/read",
                    web::get()
                        .to(|| async { "read" })
                        .wrap(mark("article:read")),
                )
                .wrap(ext.login_tracking())
                .wrap(IdentityMiddleware::default())
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                        .cookie_secure(false)
                        .build(),
                )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        (addr, handle)
    }

    async fn send_with(
        addr: SocketAddr,
        method: &'static str,
        path: &str,
        cookie: Option<String>,
    ) -> Reply {
        let path = path.to_string();
        tokio::task::spawn_blocking(move || {
            http::request(addr, method, &path, cookie.as_deref(), &[])
        })
        .await
        .expect("client")
    }

    /// Log in, read (marked for the identity's user), switch user, log out; a request that
    /// changes nothing marks nothing.
    async fn logins_and_logouts_are_marked(ext: ActixBitmapist, ids: [&str; 2]) -> ActixBitmapist {
        let (addr, server) = serve_identity(&ext);
        let r = send_with(addr, "POST", &format!("/login?id={}", ids[0]), None).await;
        assert_eq!(r.status, 303);
        let mut cookie = r.cookies.first().cloned().expect("a session cookie");
        let r = send_with(addr, "GET", "/read", Some(cookie.clone())).await;
        assert_eq!(r.status, 200);
        // A switch: logged out as the first user, in as the second.
        let r = send_with(
            addr,
            "POST",
            &format!("/login?id={}", ids[1]),
            Some(cookie.clone()),
        )
        .await;
        assert_eq!(r.status, 303);
        cookie = r.cookies.first().cloned().expect("the new session cookie");
        let r = send_with(addr, "POST", "/logout", Some(cookie)).await;
        assert_eq!(r.status, 303);
        // Anonymous: nothing to mark.
        assert_eq!(send_with(addr, "GET", "/read", None).await.status, 200);
        server.stop(true).await;
        ext.shutdown().await.expect("shutdown");
        ext
    }

    #[actix_web::test]
    async fn logins_logouts_and_the_identity_user_are_marked() {
        let ext = ActixBitmapist::builder()
            .url("memory://")
            .actix_identity()
            .build()
            .await
            .expect("build");
        let ext = logins_and_logouts_are_marked(ext, ["21", "22"]).await;
        let c = ext.client();
        assert_eq!(today(c, LOGGED_IN).await, vec![21, 22]);
        assert_eq!(today(c, LOGGED_OUT).await, vec![21, 22]);
        assert_eq!(
            today(c, "article:read").await,
            vec![21],
            "the identity's user"
        );
        assert_eq!(ext.stats().dropped, 0);
    }

    #[actix_web::test]
    async fn text_identities_are_marked_through_the_external_id_map() {
        let ext = ActixBitmapist::builder()
            .url("memory://")
            .id_map(true)
            .actix_identity()
            .build()
            .await
            .expect("build");
        let ext = logins_and_logouts_are_marked(ext, ["alice@example.com", "bob"]).await;
        let q = ext
            .client()
            .get_event_data(LOGGED_IN, TimeGroup::Days, Utc::now())
            .expect("query");
        let got: Vec<Option<String>> = q
            .external_ids()
            .await
            .expect("ids")
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        assert_eq!(
            got,
            vec![Some("alice@example.com".into()), Some("bob".into())]
        );
        let read = ext
            .client()
            .get_event_data("article:read", TimeGroup::Days, Utc::now())
            .expect("query");
        assert!(
            read.contains_external("alice@example.com")
                .await
                .expect("contains")
        );
    }
}
