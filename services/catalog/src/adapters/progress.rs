//! Processing progress between replicas, on core NATS: the replica that stores a change of an
//! item's processing record hands it to its own streams and publishes it on
//! `catalog.processing.{media id}` ([`NatsProgress`]); every replica subscribes ([`relay`]) and
//! hands what arrives to its own streams through an in-process broadcast ([`ProgressHub`]). A
//! replica hears its own announcements back; streams drop a record they already sent. Core
//! NATS, not JetStream: a replica that is away misses announcements, and its streams catch up
//! from the database when their browsers reconnect. The message carries the record (state,
//! percent, attempts, reason, the output keys the view makes URLs of), never a secret.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use ferrocast_kit::jobs::Outputs;
use futures::{future::BoxFuture, FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{
        processing::{JobState, Processing},
        MediaId,
    },
    ports::{ProgressPublisher, QueueError},
};

/// Every item's announcements: `catalog.processing.{media id}`.
pub const SUBJECTS: &str = "catalog.processing.*";

pub fn subject(id: MediaId) -> String {
    format!("catalog.processing.{}", id.0)
}

/// Announcements one replica holds for streams that have not read them yet; a stream that
/// falls further behind is ended, and its browser reconnects and reads the records again.
const HUB_CAPACITY: usize = 1024;

/// One item's processing record after a change.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    pub id: MediaId,
    pub processing: Processing,
}

/// This replica's announcements, for its streams.
#[derive(Clone)]
pub struct ProgressHub {
    sender: broadcast::Sender<Arc<ProgressUpdate>>,
}

impl Default for ProgressHub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(HUB_CAPACITY).0,
        }
    }
}

impl ProgressHub {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ProgressUpdate>> {
        self.sender.subscribe()
    }

    /// Hands `update` to every stream of this replica (none listening is fine).
    pub fn send(&self, update: ProgressUpdate) {
        let _ = self.sender.send(Arc::new(update));
    }
}

/// The message on the wire: the record, field by field.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    media_id: Uuid,
    job_id: Uuid,
    state: String,
    percent: u8,
    attempts: u32,
    reason: Option<String>,
    master: Option<String>,
    renditions: Vec<String>,
    outputs: Option<Outputs>,
    queued: bool,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    playable_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

fn encode(id: MediaId, p: &Processing) -> Message {
    Message {
        media_id: id.0,
        job_id: p.job_id,
        state: p.state.as_str().to_owned(),
        percent: p.percent,
        attempts: p.attempts,
        reason: p.reason.clone(),
        master: p.master.clone(),
        renditions: p.renditions.clone(),
        outputs: p.outputs.clone(),
        queued: p.queued,
        queued_at: p.queued_at,
        started_at: p.started_at,
        playable_at: p.playable_at,
        finished_at: p.finished_at,
    }
}

/// The update a message carries; `None` for anything that is not one.
fn decode(payload: &[u8]) -> Option<ProgressUpdate> {
    let m: Message = serde_json::from_slice(payload).ok()?;
    Some(ProgressUpdate {
        id: MediaId(m.media_id),
        processing: Processing {
            job_id: m.job_id,
            state: JobState::from_db(&m.state)?,
            percent: m.percent.min(100),
            attempts: m.attempts,
            reason: m.reason,
            master: m.master,
            renditions: m.renditions,
            outputs: m.outputs,
            queued: m.queued,
            queued_at: m.queued_at,
            started_at: m.started_at,
            playable_at: m.playable_at,
            finished_at: m.finished_at,
        },
    })
}

/// The [`ProgressPublisher`] port: this replica's streams, and the others' through core NATS.
pub struct NatsProgress {
    client: async_nats::Client,
    hub: ProgressHub,
}

impl NatsProgress {
    pub fn new(client: async_nats::Client, hub: ProgressHub) -> Self {
        Self { client, hub }
    }
}

impl ProgressPublisher for NatsProgress {
    fn announce<'a>(
        &'a self,
        id: MediaId,
        processing: &'a Processing,
    ) -> BoxFuture<'a, Result<(), QueueError>> {
        async move {
            // At once and without NATS for this replica's own streams.
            self.hub.send(ProgressUpdate {
                id,
                processing: processing.clone(),
            });
            let payload = serde_json::to_vec(&encode(id, processing))
                .map_err(|e| QueueError(e.to_string()))?;
            // Handed to the connection, which sends it at once; no flush, which would wait a
            // round trip to the server for every report.
            self.client
                .publish(subject(id), payload.into())
                .await
                .map_err(|e| QueueError(e.to_string()))
        }
        .boxed()
    }
}

/// Passes every announcement (this replica's own included) to `hub` until `shutdown`. The
/// client resubscribes by itself after a reconnect; a subscription that ends is made again
/// after a second.
pub async fn relay(client: async_nats::Client, hub: ProgressHub, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        match client.subscribe(SUBJECTS).await {
            Ok(subscriber) => {
                let mut messages =
                    Box::pin(subscriber.take_until(shutdown.clone().cancelled_owned()));
                while let Some(message) = messages.next().await {
                    match decode(&message.payload) {
                        Some(update) => hub.send(update),
                        None => {
                            tracing::debug!(subject = %message.subject, "not a progress update; dropped")
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot follow processing progress; trying again"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use ferrocast_kit::jobs::{Event, Report};

    use super::*;

    #[test]
    fn a_record_crosses_the_wire_unchanged() {
        let job = Uuid::new_v4();
        let id = MediaId(Uuid::new_v4());
        let done = Processing::new(job, Utc::now())
            .apply(&Event {
                job_id: job,
                media_id: id.0,
                at_ms: 1_700_000_000_000,
                report: Report::Done(Outputs {
                    master: format!("media/{}/vod/{job}/master.m3u8", id.0),
                    mpd: format!("media/{}/vod/{job}/manifest.mpd", id.0),
                    poster: format!("media/{}/vod/{job}/poster.jpg", id.0),
                    thumbnails: format!("media/{}/vod/{job}/thumbs/thumbnails.vtt", id.0),
                    renditions: vec!["360p".into()],
                    duration_ms: 4_000,
                }),
            })
            .expect("changes");
        let payload = serde_json::to_vec(&encode(id, &done)).expect("encodes");
        assert_eq!(
            decode(&payload),
            Some(ProgressUpdate {
                id,
                processing: done
            })
        );
        assert_eq!(subject(id), format!("catalog.processing.{}", id.0));
    }

    #[test]
    fn anything_else_on_the_subject_is_not_an_update() {
        assert_eq!(decode(b"{}"), None);
        assert_eq!(decode(b"not json"), None);
        let mut message = serde_json::to_value(encode(
            MediaId(Uuid::new_v4()),
            &Processing::new(Uuid::new_v4(), Utc::now()),
        ))
        .expect("json");
        message["state"] = "exploded".into();
        assert_eq!(decode(message.to_string().as_bytes()), None);
    }
}
