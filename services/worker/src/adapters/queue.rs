//! The job queue and the report stream on NATS JetStream (`ferrocast_kit::jobs` names them).

use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, consumer::PullConsumer};
use ferrocast_kit::{
    config::nats::Nats,
    jobs::{self, Delivery, Event, Job, Report},
};
use futures::{future::BoxFuture, FutureExt, StreamExt};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::ports::Progress;

pub type Error = jobs::Error;

pub struct Queue {
    pub js: jetstream::Context,
    pub consumer: PullConsumer,
    /// Media ids whose jobs must stop (deleted), as they are announced.
    pub cancels: broadcast::Sender<Uuid>,
}

impl Queue {
    /// Connects (retrying in the background after a first success, as the client does) and
    /// makes sure the streams and the workers' consumer exist.
    pub async fn connect(nats: &Nats, delivery: Delivery) -> Result<Self, Error> {
        let client = async_nats::ConnectOptions::new()
            .name("ferrocast-worker")
            .retry_on_initial_connect()
            .connection_timeout(std::time::Duration::from_secs(5))
            .connect(nats.url.expose())
            .await?;
        let mut announcements = client.subscribe(jobs::CANCEL_SUBJECTS).await?;
        let (cancels, _) = broadcast::channel(64);
        let forward = cancels.clone();
        tokio::spawn(async move {
            while let Some(message) = announcements.next().await {
                if let Some(media) = jobs::cancelled_media(&message.subject) {
                    let _ = forward.send(media);
                }
            }
        });
        let js = jetstream::new(client);
        jobs::ensure_streams(&js, nats.stream_replicas).await?;
        let consumer = jobs::workers_consumer(&js, delivery).await?;
        Ok(Self {
            js,
            consumer,
            cancels,
        })
    }

    /// Sends `event` and waits until the stream stored it.
    pub async fn publish(&self, event: &Event) -> Result<(), Error> {
        let payload = serde_json::to_vec(event)?;
        self.js
            .publish(jobs::events_subject(event.media_id), payload.into())
            .await?
            .await?;
        Ok(())
    }

    /// Keeps a job that will not be tried again, with why, for an operator.
    pub async fn dead_letter(&self, payload: &[u8], reason: &str) -> Result<(), Error> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Ferrocast-Reason",
            reason.chars().take(500).collect::<String>().as_str(),
        );
        self.js
            .publish_with_headers(jobs::DEAD_SUBJECT, headers, payload.to_vec().into())
            .await?
            .await?;
        Ok(())
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reports of one job, sent to the report stream. A report that cannot be sent is logged: the
/// next one, or the job's end, says more.
pub struct Reporter<'a> {
    pub queue: &'a Queue,
    pub job: &'a Job,
}

impl Reporter<'_> {
    pub fn event(&self, report: Report) -> Event {
        Event {
            job_id: self.job.job_id,
            media_id: self.job.media_id,
            at_ms: now_ms(),
            report,
        }
    }
}

impl Progress for Reporter<'_> {
    fn report(&self, report: Report) -> BoxFuture<'_, ()> {
        async move {
            if let Err(error) = self.queue.publish(&self.event(report)).await {
                tracing::warn!(job = %self.job.job_id, %error, "a progress report was not sent");
            }
        }
        .boxed()
    }
}
