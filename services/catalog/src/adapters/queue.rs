//! The [`JobQueue`] port on NATS JetStream, and the loop that records the workers' reports.
//! The catalogue starts without NATS: jobs wait in the database (not queued) and the sweeper
//! queues them once NATS answers; reports wait in their stream.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{self, AckKind};
use ferrocast_kit::{
    config::nats::Nats,
    jobs::{self, Event, Job},
};
use futures::{future::BoxFuture, FutureExt, StreamExt};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::{
    ports::{JobQueue, QueueError},
    service::Catalog,
};

pub struct NatsJobs {
    js: jetstream::Context,
    replicas: usize,
    /// Set once the streams are known to exist.
    streams: OnceCell<()>,
}

fn error(e: impl std::fmt::Display) -> QueueError {
    QueueError(e.to_string())
}

impl NatsJobs {
    /// A client that connects (and reconnects) in the background.
    pub async fn connect(nats: &Nats) -> Result<Self, QueueError> {
        let client = async_nats::ConnectOptions::new()
            .name("ferrocast-catalog")
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .connect(nats.url.expose())
            .await
            .map_err(error)?;
        Ok(Self {
            js: jetstream::new(client),
            replicas: nats.stream_replicas,
            streams: OnceCell::new(),
        })
    }

    /// The connection underneath, for core NATS messages (progress announcements).
    pub fn client(&self) -> async_nats::Client {
        self.js.client()
    }

    async fn ready(&self) -> Result<(), QueueError> {
        self.streams
            .get_or_try_init(|| async {
                jobs::ensure_streams(&self.js, self.replicas)
                    .await
                    .map_err(error)
            })
            .await
            .map(|_| ())
    }
}

impl JobQueue for NatsJobs {
    fn enqueue<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), QueueError>> {
        async move {
            self.ready().await?;
            jobs::enqueue(&self.js, job).await.map_err(error)
        }
        .boxed()
    }

    fn cancel(&self, media: uuid::Uuid) -> BoxFuture<'_, Result<(), QueueError>> {
        async move {
            let client = self.js.client();
            client
                .publish(jobs::cancel_subject(media), bytes::Bytes::new())
                .await
                .map_err(error)?;
            client.flush().await.map_err(error)
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), QueueError>> {
        async move {
            self.ready().await?;
            self.js
                .get_stream(jobs::JOBS_STREAM)
                .await
                .map(|_| ())
                .map_err(error)
        }
        .boxed()
    }
}

/// Records every report until `shutdown`: each is acked once stored, handed back on a store
/// error. Pulling restarts after a second when NATS is away.
pub async fn record_reports(
    jobs: Arc<NatsJobs>,
    catalog: Arc<Catalog>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        if let Err(error) = record_some(&jobs, &catalog, &shutdown).await {
            tracing::warn!(%error, "reading workers' reports failed; trying again");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn record_some(
    jobs: &NatsJobs,
    catalog: &Catalog,
    shutdown: &CancellationToken,
) -> Result<(), jobs::Error> {
    jobs.ready().await?;
    let consumer = jobs::catalog_consumer(&jobs.js).await?;
    let messages = consumer.messages().await?;
    let mut messages = Box::pin(messages.take_until(shutdown.clone().cancelled_owned()));
    while let Some(message) = messages.next().await {
        let message = message?;
        let Ok(event) = serde_json::from_slice::<Event>(&message.payload) else {
            tracing::warn!(subject = %message.subject, "a report that is not one was dropped");
            message.ack_with(AckKind::Term).await?;
            continue;
        };
        match catalog.record(&event).await {
            Ok(()) => message.ack().await?,
            Err(error) => {
                tracing::warn!(%error, media = %event.media_id, "a report was not recorded; it comes back");
                message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await?;
            }
        }
    }
    Ok(())
}
