//! One account's playback event stream (`GET /api/playback/events`), read by a task of its own
//! that stamps each event the moment its last bytes arrive, before any parsing, so a figure
//! ends when the page would have heard the decision.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::{sync::mpsc, task::JoinHandle};

/// An event as it arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// `granted`, `denied`, `queued`, `ended` (the first event, `snapshot`, is not passed on).
    pub name: String,
    /// `request_id`, or `session_id` for `ended`.
    pub id: String,
    pub expires_at_ms: Option<u64>,
    pub at: Instant,
    /// The wall clock at arrival, ms since the Unix epoch (the sessions' clock).
    pub wall_ms: u64,
}

/// An open stream: its events come out of `events` until it is dropped.
pub struct Stream {
    pub events: mpsc::UnboundedReceiver<Arrival>,
    reader: JoinHandle<()>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Stream {
    /// Opens the stream of `token`'s account on the catalogue at `base`, as seen from client
    /// address `client` (sent as `X-Forwarded-For`, as the gateway does: the catalogue holds
    /// at most 8 streams per client address), and waits for its `snapshot`.
    pub async fn open(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        client: &str,
    ) -> anyhow::Result<Self> {
        let mut response = http
            .get(format!("{base}/api/playback/events"))
            .bearer_auth(token)
            .header("x-forwarded-for", client)
            .send()
            .await
            .context("opening a playback event stream")?;
        if response.status() != reqwest::StatusCode::OK {
            bail!("playback event stream: {}", response.status());
        }
        let mut buffer = String::new();
        let first = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some((name, _)) = next_event(&mut buffer) {
                    return anyhow::Ok(name);
                }
                let chunk = response.chunk().await?.context("the stream ended")?;
                buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .context("no snapshot within 10 s")??;
        if first != "snapshot" {
            bail!("the stream began with {first}, not a snapshot");
        }
        let (sender, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let (mut at, mut wall) = (Instant::now(), wall_ms());
            loop {
                while let Some((name, data)) = next_event(&mut buffer) {
                    let id = ["request_id", "session_id"]
                        .iter()
                        .find_map(|field| data[field].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    let arrival = Arrival {
                        name,
                        id,
                        expires_at_ms: data["expires_at_ms"].as_u64(),
                        at,
                        wall_ms: wall,
                    };
                    if sender.send(arrival).is_err() {
                        return;
                    }
                }
                let Ok(Some(chunk)) = response.chunk().await else {
                    return;
                };
                (at, wall) = (Instant::now(), wall_ms());
                buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        });
        Ok(Self { events, reader })
    }

    /// The next event named `name` for `id`, skipping the others; `None` after `wait`.
    pub async fn wait_for(&mut self, name: &str, id: &str, wait: Duration) -> Option<Arrival> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let arrival = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .ok()??;
            if arrival.name == name && arrival.id == id {
                return Some(arrival);
            }
        }
    }

    /// Every event received so far.
    pub fn drain(&mut self) -> Vec<Arrival> {
        let mut all = Vec::new();
        while let Ok(arrival) = self.events.try_recv() {
            all.push(arrival);
        }
        all
    }
}

/// Takes the first complete event (`event:` + `data:` lines, then a blank line) off `buffer`;
/// comments and keep-alives are skipped.
fn next_event(buffer: &mut String) -> Option<(String, Value)> {
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        let mut name = None;
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                name = Some(value.trim().to_owned());
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if let Some(name) = name {
            let data = serde_json::from_str(&data.join("\n")).unwrap_or(Value::Null);
            return Some((name, data));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_keep_alives_are_read_in_order() {
        let mut buffer = String::from(": keep-alive\n\nevent: granted\ndata: {\"request_id\":");
        assert!(next_event(&mut buffer).is_none());
        buffer.push_str("\"a\"}\n\nevent: ended\ndata: {\"session_id\":\"b\"}\n\n");
        let (name, data) = next_event(&mut buffer).expect("granted");
        assert_eq!(
            (name.as_str(), data["request_id"].as_str()),
            ("granted", Some("a"))
        );
        let (name, data) = next_event(&mut buffer).expect("ended");
        assert_eq!(
            (name.as_str(), data["session_id"].as_str()),
            ("ended", Some("b"))
        );
        assert!(buffer.is_empty());
    }
}
