//! `bitmapist serve`: the dashboard alone over any store, for teams that do not embed it.
//! Same guard as in an app: loopback clients only, unless `--public`.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use axum_bitmapist::{Access, Dashboard};

use crate::cli::ServeArgs;
use crate::context::Ctx;
use crate::exit::usage;

/// Serves `/bitmapist` (and redirects `/` there) until Ctrl-C.
pub async fn run(ctx: &Ctx, args: &ServeArgs) -> Result<()> {
    let addr: SocketAddr = args.listen.parse().map_err(|_| {
        usage(format!(
            "--listen {:?} is not HOST:PORT (e.g. 127.0.0.1:8080)",
            args.listen
        ))
    })?;
    let client = ctx.open().await?;
    let access = if args.public {
        Access::Public
    } else {
        Access::LoopbackOnly
    };
    let app = Router::new()
        .route("/", get(|| async { Redirect::to("/bitmapist") }))
        .nest(
            "/bitmapist",
            Dashboard::new(client.clone()).access(access).router(),
        );
    let listener = tokio::net::TcpListener::bind(addr)
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
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving the dashboard")?;
    client.flush().await?;
    Ok(())
}
