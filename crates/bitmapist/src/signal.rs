//! Waiting for the signal that stops a long-running process: Ctrl-C (SIGINT) or, on Unix,
//! SIGTERM, which systemd, `docker stop` and Kubernetes send.
//!
//! Why: a process killed by SIGTERM's default action never runs its destructors, so an
//! embedded store is left without its final commit and with redb's "not closed cleanly"
//! flag set (a read-only open then refuses the file until a writable open repairs it), and
//! a mark queue loses what it held. Handling SIGTERM as SIGINT lets the process stop
//! accepting, drain, flush and close.
//!
//! How: Tokio's signal handlers (`tokio::signal::ctrl_c`, `tokio::signal::unix`); once
//! installed, the default action (termination) no longer applies, so the caller must
//! actually exit after the future resolves.

/// Resolves when the process receives SIGINT (Ctrl-C) or, on Unix, SIGTERM; never if
/// neither handler can be installed (then the signals keep their default action).
///
/// Use it as the graceful-shutdown future of a server
/// (`axum::serve(..).with_graceful_shutdown(bitmapist::shutdown_signal())`), then flush
/// and drop every handle of the store, so that an embedded file gets its final commit and
/// closes cleanly:
///
/// ```no_run
/// # async fn run(bm: bitmapist::Bitmapist) -> bitmapist::Result<()> {
/// bitmapist::shutdown_signal().await; // SIGINT or SIGTERM
/// bm.flush().await?;
/// drop(bm); // the last handle: the embedded file closes
/// # Ok(()) }
/// ```
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
