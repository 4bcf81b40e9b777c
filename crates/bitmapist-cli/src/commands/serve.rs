//! `bitmapist serve`: the dashboard alone over any store, for teams that do not embed it.
//! Same guard as in an app: loopback clients only, unless `--public`.
//!
//! Served over HTTP/1.1 by hyper with a header-read timeout (`--header-timeout`, default
//! 10 s), which also closes kept-alive connections idle that long and connections that
//! send nothing: a slowloris client cannot hold connections open. (`axum::serve` sets no
//! timeout at all.) Heavy requests (everything that computes from bitmaps: the overview,
//! cohorts, event pages, funnels) are bounded by `--max-heavy-requests`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Redirect;
use axum::routing::get;
use axum_bitmapist::{Access, Dashboard};
use clap::Args;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::context::Ctx;
use crate::exit::usage;

/// `bitmapist serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Let any client see the dashboard (by default only loopback clients may).
    #[arg(long)]
    pub public: bool,
    /// Open an embedded store file read-only (any write is refused; a file the process
    /// may not write is opened read-only even without this flag). The file must exist; one
    /// left unclean by a killed process is first repaired by a short writable open when
    /// the process may write it. SIGTERM or Ctrl-C stops the server cleanly (exit 0).
    #[arg(long)]
    pub read_only: bool,
    /// Seconds a client may take to send a request's headers, and to start its next
    /// request on a kept-alive connection; slower connections are closed.
    #[arg(long, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// How many heavy requests (overview, cohort, event page, funnel) the dashboard computes
    /// at once; more get 503 + Retry-After
    /// [default: the number of CPUs].
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_heavy_requests: Option<u32>,
}

/// How long open connections may finish their requests after Ctrl-C or SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `/bitmapist` (and redirects `/` there) until Ctrl-C or SIGTERM; then lets open
/// requests finish (at most [`DRAIN`]), flushes and closes the store, and returns.
pub async fn run(ctx: &Ctx, args: &ServeArgs) -> Result<()> {
    let addr: SocketAddr = args.listen.parse().map_err(|_| {
        usage(format!(
            "--listen {:?} is not HOST:PORT (e.g. 127.0.0.1:8080)",
            args.listen
        ))
    })?;
    let client = ctx.open_for_reading(args.read_only).await?;
    let access = if args.public {
        Access::Public
    } else {
        Access::LoopbackOnly
    };
    let mut dashboard = Dashboard::new(client.clone()).access(access);
    if let Some(n) = args.max_heavy_requests {
        dashboard = dashboard.max_heavy_requests(n as usize);
    }
    let app = Router::new()
        .route("/", get(|| async { Redirect::to("/bitmapist") }))
        .nest_service("/bitmapist", dashboard.router::<()>());
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    eprintln!("store: {}", client.store().describe());
    eprintln!(
        "dashboard: http://{local}/bitmapist{}",
        if args.public {
            " (public)"
        } else {
            " (loopback clients only; --public to open it)"
        }
    );
    // SIGTERM (systemd, `docker stop`, Kubernetes) as Ctrl-C: stop accepting, drain, flush,
    // then return, so that the store is dropped and its file closed cleanly (exit 0).
    let shutdown = bitmapist::shutdown_signal();
    serve_http(
        listener,
        app,
        Duration::from_secs(args.header_timeout),
        shutdown,
    )
    .await;
    client.flush().await?;
    Ok(())
}

/// Serves `app` on `listener` over HTTP/1.1 with a header-read timeout, giving handlers
/// the peer address (`ConnectInfo<SocketAddr>`), until `shutdown` resolves; then lets open
/// connections finish for at most [`DRAIN`].
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            app.clone()
                .layer(axum::Extension(ConnectInfo::<SocketAddr>(peer))),
        );
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A timed-out or reset connection is the client's business.
            let _ = conn.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => eprintln!("closing connections still open after {DRAIN:?}"),
    }
}
