//! A slot handed to the viewer waiting for it, on accounts that may play one video at a time:
//! when another device ends the playing session (`DELETE`, timed from the moment it is sent),
//! and when the playing session stops heartbeating (timed from its lease end, on the sessions'
//! wall clock: the slot waits for a replica's sweep, once a second).

use std::time::{Duration, Instant};

use anyhow::Context;
use uuid::Uuid;

use super::setup::{ask, end, Viewer};
use crate::sse::Stream;

const WAIT: Duration = Duration::from_secs(5);

pub struct Freed {
    /// DELETE sent → `granted` of the waiting request on the stream; `None`: never came.
    pub granted: Vec<Option<Duration>>,
    /// The DELETE's round trip (204).
    pub delete: Vec<Option<Duration>>,
}

/// `rounds` handovers, one at a time, `gap` apart, turn by turn over `viewers` (whose streams
/// are `streams`, on `base`): each round one request waits behind the account's playing
/// session, which is then ended; the waiting one plays next round.
pub async fn freed(
    http: &reqwest::Client,
    base: &str,
    viewers: &[Viewer],
    streams: &mut [Stream],
    media: Uuid,
    rounds: usize,
    gap: Duration,
) -> anyhow::Result<Freed> {
    let mut playing = Vec::with_capacity(viewers.len());
    for (viewer, stream) in viewers.iter().zip(streams.iter_mut()) {
        let id = ask(http, base, viewer, media, false).await?;
        stream
            .wait_for("granted", &id, WAIT)
            .await
            .context("the first session of an account is granted")?;
        playing.push(id);
    }
    let mut out = Freed {
        granted: Vec::with_capacity(rounds),
        delete: Vec::with_capacity(rounds),
    };
    for round in 0..rounds {
        tokio::time::sleep(gap).await;
        let account = round % viewers.len();
        let (viewer, stream) = (&viewers[account], &mut streams[account]);
        let waiting = ask(http, base, viewer, media, true).await?;
        if stream.wait_for("queued", &waiting, WAIT).await.is_none() {
            out.granted.push(None);
            out.delete.push(None);
            playing[account] = waiting;
            continue;
        }
        let sent = Instant::now();
        let ended = end(http, base, viewer, &playing[account]).await;
        out.delete.push(ended.is_ok().then(|| sent.elapsed()));
        let granted = stream.wait_for("granted", &waiting, WAIT).await;
        out.granted
            .push(granted.map(|g| g.at.saturating_duration_since(sent)));
        playing[account] = waiting;
    }
    Ok(out)
}

/// `rounds` lapses on one account (lease `lease`, no heartbeats): each round a session is
/// granted at a random moment (so its lease ends at a random point between two sweeps), a
/// second request waits behind it, and the round's figure is ms from the session's lease end
/// to the waiting request's `granted` on the stream (`None`: never came); the waiting one's
/// session is then ended, off the clock.
pub async fn lapsed(
    http: &reqwest::Client,
    base: &str,
    viewer: &Viewer,
    stream: &mut Stream,
    media: Uuid,
    rounds: usize,
    lease: Duration,
) -> anyhow::Result<Vec<Option<i64>>> {
    use rand::Rng;
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let pause = rand::thread_rng().gen_range(0..1000);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let first = ask(http, base, viewer, media, false).await?;
        let ends = stream
            .wait_for("granted", &first, WAIT)
            .await
            .and_then(|g| g.expires_at_ms)
            .context("a session is granted with its lease end")?;
        let waiting = ask(http, base, viewer, media, true).await?;
        let granted = stream.wait_for("granted", &waiting, lease + WAIT).await;
        out.push(granted.map(|g| {
            i64::try_from(g.wall_ms).unwrap_or(i64::MAX) - i64::try_from(ends).unwrap_or(i64::MAX)
        }));
        // Its session ended (or the request withdrawn, if it never got one): the next round
        // starts with a free slot.
        end(http, base, viewer, &waiting).await?;
    }
    Ok(out)
}
