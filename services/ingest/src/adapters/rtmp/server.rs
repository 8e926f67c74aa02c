//! The RTMP listener: admits connections under the total and per-IP caps and runs each one as
//! its own task, owned by a `TaskTracker` so shutdown can wait for every session to send its
//! `publish_done`.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use ferrocast_kit::admission::Admission;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::connection::{self, ConnectionSettings};
use crate::service::{Handovers, SessionDeps};

/// Accepts until `shutdown` fires, then waits for every connection task to end.
pub async fn run(
    listener: TcpListener,
    settings: Arc<ConnectionSettings>,
    admission: Arc<Admission>,
    deps: Arc<SessionDeps>,
    handovers: Arc<Handovers>,
    shutdown: CancellationToken,
) {
    let tasks = TaskTracker::new();
    let next_client_id = AtomicU64::new(1);
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "rtmp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        metrics::counter!("ingest_rtmp_connections_total").increment(1);
        let permit = match admission.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refused) => {
                metrics::counter!("ingest_rtmp_connections_refused_total", "reason" => refused.label())
                    .increment(1);
                tracing::debug!(%peer, %refused, "rtmp connection refused");
                // Dropping the stream closes it before any byte is read.
                continue;
            }
        };
        let client_id = next_client_id.fetch_add(1, Ordering::Relaxed);
        let settings = settings.clone();
        let deps = deps.clone();
        let handovers = handovers.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            metrics::gauge!("ingest_rtmp_connections_open").increment(1.0);
            connection::serve(stream, peer, client_id, settings, deps, handovers, shutdown).await;
            metrics::gauge!("ingest_rtmp_connections_open").decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    tasks.close();
    tasks.wait().await;
}
