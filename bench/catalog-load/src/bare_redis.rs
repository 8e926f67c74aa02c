//! The floor under a playback decision, measured in the same run: the same Redis, from this
//! process, with nothing of the catalogue on the way. A decision is one Lua script that
//! publishes what it decided on a channel every replica subscribes to; the bare equivalent is
//! `EVALSHA` of a script that only publishes its argument, timed to its reply and to the message
//! reaching a subscriber, and a `PING` for the round trip alone.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::pacer::{paced, Paced};

const PUBLISH: &str = "redis.call('PUBLISH', ARGV[1], ARGV[2]) return 1";
const TIMEOUT: Duration = Duration::from_secs(2);

/// One timed call: `None` for an error or a message that never came.
pub struct Timed {
    pub reply: Option<Duration>,
    pub pushed: Option<Duration>,
}

/// A connection for commands, the publishing script loaded, and a subscriber on `channel`.
pub struct Bare {
    connection: MultiplexedConnection,
    sha: String,
    channel: String,
    heard: mpsc::UnboundedReceiver<(usize, Instant)>,
    subscriber: JoinHandle<()>,
}

impl Drop for Bare {
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

impl Bare {
    pub async fn connect(url: &str, channel: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let mut connection =
            tokio::time::timeout(TIMEOUT, client.get_multiplexed_async_connection())
                .await
                .context("Redis: no connection within 2 s")??;
        let sha = tokio::time::timeout(
            TIMEOUT,
            redis::Script::new(PUBLISH).load_async(&mut connection),
        )
        .await
        .context("Redis: SCRIPT LOAD")??;
        let mut pubsub = tokio::time::timeout(TIMEOUT, client.get_async_pubsub())
            .await
            .context("Redis: no subscriber connection within 2 s")??;
        tokio::time::timeout(TIMEOUT, pubsub.subscribe(channel))
            .await
            .context("Redis: SUBSCRIBE")??;
        let (sender, heard) = mpsc::unbounded_channel();
        let subscriber = tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let at = Instant::now();
                let index = std::str::from_utf8(message.get_payload_bytes())
                    .ok()
                    .and_then(|raw| raw.parse().ok());
                if let Some(index) = index {
                    if sender.send((index, at)).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Self {
            connection,
            sha,
            channel: channel.to_owned(),
            heard,
            subscriber,
        })
    }

    /// `PING` round trips, `count` of them at `rate` per second.
    pub async fn ping(&self, rate: f64, count: usize) -> anyhow::Result<Paced<Option<Duration>>> {
        let connection = self.connection.clone();
        paced(rate, count, move |_, scheduled| {
            let mut connection = connection.clone();
            async move {
                let reply = tokio::time::timeout(
                    TIMEOUT,
                    redis::cmd("PING").query_async::<String>(&mut connection),
                )
                .await;
                matches!(reply, Ok(Ok(_))).then(|| scheduled.elapsed())
            }
        })
        .await
    }

    /// `EVALSHA` of the publishing script, `count` calls at `rate` per second, each timed from
    /// its scheduled start to its reply and to its message at the subscriber.
    pub async fn publish(&mut self, rate: f64, count: usize) -> anyhow::Result<Paced<Timed>> {
        self.drain();
        let (connection, sha, channel) = (
            self.connection.clone(),
            self.sha.clone(),
            self.channel.clone(),
        );
        let replies = paced(rate, count, move |i, scheduled| {
            let (mut connection, sha, channel) = (connection.clone(), sha.clone(), channel.clone());
            async move {
                let reply = tokio::time::timeout(
                    TIMEOUT,
                    redis::cmd("EVALSHA")
                        .arg(&sha)
                        .arg(0)
                        .arg(&channel)
                        .arg(i.to_string())
                        .query_async::<i64>(&mut connection),
                )
                .await;
                (
                    scheduled,
                    matches!(reply, Ok(Ok(_))).then(|| scheduled.elapsed()),
                )
            }
        })
        .await?;
        let heard = self.heard_within(count, TIMEOUT).await;
        Ok(Paced {
            results: replies
                .results
                .into_iter()
                .enumerate()
                .map(|(i, (scheduled, reply))| Timed {
                    reply,
                    pushed: heard
                        .get(&i)
                        .map(|at| at.saturating_duration_since(scheduled)),
                })
                .collect(),
            late: replies.late,
            rate: replies.rate,
        })
    }

    /// One `EVALSHA` of the publishing script at a time, `gap` apart: each timed to its
    /// message at the subscriber.
    pub async fn publish_one_by_one(
        &mut self,
        count: usize,
        gap: Duration,
    ) -> anyhow::Result<Vec<Option<Duration>>> {
        self.drain();
        let mut pushed = Vec::with_capacity(count);
        for i in 0..count {
            tokio::time::sleep(gap).await;
            let sent = Instant::now();
            let reply = tokio::time::timeout(
                TIMEOUT,
                redis::cmd("EVALSHA")
                    .arg(&self.sha)
                    .arg(0)
                    .arg(&self.channel)
                    .arg(i.to_string())
                    .query_async::<i64>(&mut self.connection),
            )
            .await;
            let heard = if matches!(reply, Ok(Ok(_))) {
                loop {
                    match tokio::time::timeout(TIMEOUT, self.heard.recv()).await {
                        Ok(Some((index, at))) if index == i => break Some(at - sent),
                        Ok(Some(_)) => {}
                        _ => break None,
                    }
                }
            } else {
                None
            };
            pushed.push(heard);
        }
        Ok(pushed)
    }

    fn drain(&mut self) {
        while self.heard.try_recv().is_ok() {}
    }

    /// What the subscriber heard, by index, until `count` messages or `wait` of silence.
    async fn heard_within(&mut self, count: usize, wait: Duration) -> HashMap<usize, Instant> {
        let mut heard = HashMap::with_capacity(count);
        while heard.len() < count {
            match tokio::time::timeout(wait, self.heard.recv()).await {
                Ok(Some((index, at))) => {
                    heard.insert(index, at);
                }
                _ => break,
            }
        }
        heard
    }
}
