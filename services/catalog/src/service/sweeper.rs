//! The sweep of uploads never finalized: every interval, items older than the expiry that
//! still await their upload are removed with their bytes, jobs the queue did not take are
//! queued, and tag counts and the stored-bytes gauge are refreshed. Replicas may sweep at once: removal is idempotent.

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use super::Catalog;

pub async fn run(catalog: Arc<Catalog>, interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match catalog.sweep_expired().await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired uploads removed"),
            Err(error) => tracing::warn!(%error, "sweep of expired uploads failed"),
        }
        match catalog.requeue().await {
            Ok(0) => {}
            Ok(queued) => tracing::info!(queued, "jobs queued late"),
            Err(error) => tracing::warn!(%error, "jobs not queued"),
        }
        if let Err(error) = catalog.recount().await {
            tracing::warn!(%error, "tags and stored bytes not counted");
        }
    }
}

/// Ends lapsed playback sessions every `interval` (every replica runs it; each lapse is
/// handled once) until `shutdown`, so a waiting viewer gets the slot within about a second of
/// the lease's end.
pub async fn sessions(catalog: Arc<Catalog>, interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match catalog.sweep_sessions().await {
            Ok(0) => failing = false,
            Ok(ended) => {
                failing = false;
                tracing::debug!(ended, "lapsed playback sessions ended");
            }
            Err(error) => {
                // Once per outage, not every second.
                if !failing {
                    tracing::warn!(%error, "lapsed playback sessions not swept");
                }
                failing = true;
            }
        }
    }
}
