//! The server's background tasks: the accept loop (one task per connection) and the
//! expiry sweep. Startup, signals and the final save are in `main.rs`.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::state::{ConnState, ServerState};

/// How often keys past their deadline are deleted (besides on access).
pub const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// Accepts connections forever, one task each.
pub async fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let id = state.next_client_id();
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let _guard = state.stats.connected();
                    let conn = ConnState {
                        id,
                        name: None,
                        peer: peer.to_string(),
                        multi: None,
                        authenticated: false,
                        stream: None,
                        recorder: Default::default(),
                    };
                    crate::connection::serve(stream, &state, conn).await;
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Deletes keys past their deadline every [`SWEEP_EVERY`], forever; samples the command
/// counter for `instantaneous_ops_per_sec` at the same pace.
pub async fn sweep_loop(state: Arc<ServerState>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.stats.sample_ops(crate::expiry::now_ms());
        if let Err(e) = state.keyspace.sweep().await {
            tracing::warn!(error = %e, "expiry sweep failed; will retry");
        }
    }
}
