//! The live-event fan-out over Redis pub/sub: [`RedisEventSink`] publishes on the shared channel,
//! and [`run_subscriber`] keeps one subscription per replica that feeds a local broadcast
//! channel, which every SSE client of this replica reads. The subscription is
//! re-established after Redis restarts; events published while it is down are lost (clients see
//! the current state on their next page load).

use std::time::Duration;

use futures::{future::BoxFuture, FutureExt, StreamExt};
use redis::{aio::ConnectionManager, AsyncCommands};
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use super::Keys;
use crate::{
    domain::RoomEvent,
    ports::{EventSink, StoreError},
};

/// Runs until `shutdown`. `subscribed` fires once the first subscription is in place, so a
/// starting service can wait for it and not miss the first events.
pub async fn run_subscriber(
    client: redis::Client,
    channel: String,
    sender: broadcast::Sender<RoomEvent>,
    mut subscribed: Option<oneshot::Sender<()>>,
    shutdown: CancellationToken,
) {
    loop {
        match subscribe(&client, &channel).await {
            Ok(pubsub) => {
                if let Some(signal) = subscribed.take() {
                    let _ = signal.send(());
                }
                tracing::debug!("subscribed to live events");
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        message = messages.next() => match message {
                            Some(message) => forward(&sender, message.get_payload_bytes()),
                            None => break,
                        },
                    }
                }
                tracing::warn!("live event subscription lost; resubscribing");
            }
            Err(error) => tracing::warn!(%error, "cannot subscribe to live events; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> Result<redis::aio::PubSub, String> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(Duration::from_secs(2), connect).await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

fn forward(sender: &broadcast::Sender<RoomEvent>, payload: &[u8]) {
    match serde_json::from_slice::<RoomEvent>(payload) {
        // No receivers just means no SSE client is connected right now.
        Ok(event) => {
            let _ = sender.send(event);
        }
        Err(error) => tracing::warn!(%error, "ignoring a malformed live event"),
    }
}

/// Publishes events on the shared channel; every replica's subscriber forwards them to its SSE
/// clients (including this replica's own).
pub struct RedisEventSink {
    connection: ConnectionManager,
    channel: String,
}

impl RedisEventSink {
    pub fn new(connection: ConnectionManager, keys: &Keys) -> Self {
        Self {
            connection,
            channel: keys.channel(),
        }
    }
}

impl EventSink for RedisEventSink {
    fn publish<'a>(&'a self, event: &'a RoomEvent) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let payload = serde_json::to_string(event).map_err(|e| StoreError(e.to_string()))?;
            let _: i64 = self
                .connection
                .clone()
                .publish(&self.channel, payload)
                .await
                .map_err(|e| StoreError(e.to_string()))?;
            Ok(())
        }
        .boxed()
    }
}
