//! The periodic sweep: rooms whose lease lapsed without `publish_done` (a crashed ingest, a lost
//! nginx) leave the index and are announced as ended, and viewer counts that drop because
//! viewers stopped heartbeating are announced. Every replica sweeps; the store's script makes
//! each lapse reported by exactly one of them.

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use super::Rooms;
use crate::domain::RoomEvent;

pub async fn run(rooms: Arc<Rooms>, every: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match rooms.store.sweep().await {
            Ok(outcome) => {
                rooms.announce_lapsed(&outcome.ended).await;
                for (username, viewers) in outcome.viewers_changed {
                    rooms
                        .announce(RoomEvent::ViewersChanged {
                            username: username.to_string(),
                            viewers,
                        })
                        .await;
                }
                if let Some(live) = outcome.live {
                    metrics::gauge!("rooms_live").set(live as f64);
                }
            }
            Err(error) => tracing::warn!(%error, "room sweep failed"),
        }
    }
}
