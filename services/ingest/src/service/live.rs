//! One authorised, live publish: forwards media to the pipeline without waiting, renews the
//! room's lease and re-checks the stream key in an owned background task (a slow rooms or users
//! service never stalls the RTMP read loop), and ends exactly once with `publish_done` and
//! `MediaSink::finish`. A new connection of the same publisher may take the session over
//! ([`LiveSession::resume`], see `handover`): the room and its pipeline go on.

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::watch,
    task::JoinHandle,
    time::{Instant, MissedTickBehavior},
};
use tokio_util::sync::CancellationToken;

use crate::ports::{
    CallbackError, Client, MediaError, MediaPacket, MediaSink, Publisher, Rendition,
};

use super::{
    deps::{end_room, SessionDeps},
    key_check::{KeyCheck, KeyStatus},
    StreamKey,
};

/// Why a live session ended (log field and metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The encoder unpublished or closed the connection.
    Unpublished,
    Disconnected,
    /// No media for the idle timeout.
    Idle,
    /// The media pipeline failed for good.
    PipelineFailed,
    /// Rooms refused a lease renewal: the room belongs to someone else now (taken over, ended)
    /// and this session must stop.
    LeaseLost,
    /// Users no longer accepts the key the session authenticated with: it was rotated.
    KeyRotated,
    /// The peer broke the protocol (guard or rml error).
    ProtocolError,
    Shutdown,
}

impl EndReason {
    /// Whether the publisher may come back and continue the room: its connection was lost, not
    /// closed on purpose.
    pub fn may_resume(self) -> bool {
        matches!(self, Self::Disconnected | Self::Idle)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Unpublished => "unpublished",
            Self::Disconnected => "disconnected",
            Self::Idle => "idle",
            Self::PipelineFailed => "pipeline_failed",
            Self::LeaseLost => "lease_lost",
            Self::KeyRotated => "key_rotated",
            Self::ProtocolError => "protocol_error",
            Self::Shutdown => "shutdown",
        }
    }
}

pub struct LiveSession {
    deps: Arc<SessionDeps>,
    client: Client,
    publisher: Publisher,
    sink: Box<dyn MediaSink>,
    renditions: watch::Sender<Vec<Rendition>>,
    /// Fired by the renewal task when it ends the session (see [`LiveSession::lease_lost`]).
    lease_lost: CancellationToken,
    /// Resolves to why the renewal task ended the session, if it did.
    renewal: JoinHandle<EndReason>,
}

impl LiveSession {
    pub(crate) fn start(
        deps: Arc<SessionDeps>,
        client: Client,
        publisher: Publisher,
        key: StreamKey,
        sink: Box<dyn MediaSink>,
    ) -> Self {
        let (renditions, watcher) = watch::channel(sink.renditions());
        let lease_lost = CancellationToken::new();
        // The key moves into the renewal task, its only reader from here on.
        let key_check = KeyCheck::new(key, deps.update_interval);
        let renewal = tokio::spawn(renew(
            deps.clone(),
            client.clone(),
            publisher.clone(),
            key_check,
            watcher,
            lease_lost.clone(),
        ));
        metrics::gauge!("ingest_live_sessions").increment(1.0);
        Self {
            deps,
            client,
            publisher,
            sink,
            renditions,
            lease_lost,
            renewal,
        }
    }

    /// Moves the session to a new connection of its publisher, which authenticated with `key`
    /// (the user's current one, which the renewals check from now on). The pipeline is told a
    /// new stream follows. `None` when the session must end instead: its lease was lost or its
    /// pipeline failed while it waited; it is then ended here.
    pub(crate) async fn resume(mut self, client: Client, key: StreamKey) -> Option<Self> {
        if self.lease_lost.is_cancelled() {
            self.finish(EndReason::LeaseLost).await;
            return None;
        }
        self.renewal.abort();
        let lease_lost = CancellationToken::new();
        self.renewal = tokio::spawn(renew(
            self.deps.clone(),
            client.clone(),
            self.publisher.clone(),
            KeyCheck::new(key, self.deps.update_interval),
            self.renditions.subscribe(),
            lease_lost.clone(),
        ));
        self.lease_lost = lease_lost;
        self.client = client;
        self.sink.new_publisher();
        Some(self)
    }

    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Hands a packet to the pipeline; an error means the pipeline is gone.
    pub fn push(&mut self, packet: MediaPacket) -> Result<(), MediaError> {
        self.sink.push(packet)
    }

    /// Copies the pipeline's current renditions for the next lease renewal.
    pub fn refresh_renditions(&mut self) {
        let current = self.sink.renditions();
        self.renditions.send_if_modified(|known| {
            let changed = *known != current;
            if changed {
                *known = current;
            }
            changed
        });
    }

    /// Fires when the renewal task decided the session must end: rooms refused a renewal, or
    /// users no longer accepts the stream key. The RTMP side then calls [`LiveSession::finish`]
    /// with [`EndReason::LeaseLost`], which records the renewal task's precise reason.
    pub fn lease_lost(&self) -> CancellationToken {
        self.lease_lost.clone()
    }

    /// Resolves when the pipeline failed for good; borrows nothing, so it can be kept while
    /// packets are pushed.
    pub fn failed(&self) -> impl std::future::Future<Output = MediaError> + Send + 'static {
        self.sink.failed()
    }

    /// Ends the session: stops renewing, ends the room, finishes the pipeline. Returns the reason
    /// recorded, which is the renewal task's own when the caller reports [`EndReason::LeaseLost`].
    pub async fn finish(self, reason: EndReason) -> EndReason {
        self.renewal.abort();
        // A task that already ended returns its reason despite the abort; an aborted one errs.
        let reason = match (reason, self.renewal.await) {
            (EndReason::LeaseLost, Ok(own)) => own,
            (reason, _) => reason,
        };
        metrics::gauge!("ingest_live_sessions").decrement(1.0);
        metrics::counter!("ingest_sessions_ended_total", "reason" => reason.label()).increment(1);
        tracing::info!(
            username = %self.publisher.username,
            session_id = %self.publisher.session_id,
            reason = reason.label(),
            "publish ended"
        );
        end_room(&self.deps, &self.client, &self.publisher).await;
        if tokio::time::timeout(self.deps.finish_timeout, self.sink.finish())
            .await
            .is_err()
        {
            tracing::warn!(username = %self.publisher.username, "media pipeline did not finish in time");
        }
        reason
    }
}

/// Every `update_interval` while live: `call=update` to rooms and the stream key re-checked
/// with users, side by side so a slow users answer does not delay the lease. A refused renewal
/// or a rotated key ends the session; an unanswered renewal is retried at the next tick (the
/// lease outlives a couple of misses) and an unanswered key check keeps the stream going.
/// Returns why it ended the session; it runs until aborted otherwise.
async fn renew(
    deps: Arc<SessionDeps>,
    client: Client,
    publisher: Publisher,
    mut key_check: KeyCheck,
    renditions: watch::Receiver<Vec<Rendition>>,
    lease_lost: CancellationToken,
) -> EndReason {
    // on_publish just created the lease and checked the key, so the first round is due a period
    // from now — or a little sooner, at a random point of its second half: streams that start
    // together (every streamer reconnecting after an ingest restart, a bench ramp) would
    // otherwise renew and re-check in the same instant every period, a burst of requests on
    // rooms and users that a saturated host answered too late. Sooner only, so no lease is
    // renewed later than before.
    let first = Instant::now() + first_round_after(deps.update_interval, rand::random());
    let mut ticks = tokio::time::interval_at(first, deps.update_interval);
    // After a slow round, wait a full period rather than firing the missed ticks back to back.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let current = renditions.borrow().clone();
        let (renewed, key) = tokio::join!(
            deps.callbacks.on_update(&client, &publisher, &current),
            key_check.check(deps.authenticator.as_ref(), &publisher),
        );
        if key == KeyStatus::Revoked {
            lease_lost.cancel();
            return EndReason::KeyRotated;
        }
        match renewed {
            Ok(()) => {}
            Err(CallbackError::Unavailable(reason)) => {
                tracing::warn!(%reason, username = %publisher.username, "lease renewal failed; retrying");
            }
            Err(error) => {
                tracing::warn!(%error, username = %publisher.username, "rooms refused the lease renewal");
                lease_lost.cancel();
                return EndReason::LeaseLost;
            }
        }
    }
}

/// When the first renewal round is due: in the second half of the first `period`, at
/// `fraction` (0 ≤ fraction < 1) of the way through it.
fn first_round_after(period: Duration, fraction: f64) -> Duration {
    let half = period / 2;
    half + half.mul_f64(fraction.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_round_falls_in_the_second_half_of_the_first_period() {
        let period = Duration::from_secs(5);
        assert_eq!(first_round_after(period, 0.0), Duration::from_millis(2500));
        assert_eq!(first_round_after(period, 0.5), Duration::from_millis(3750));
        assert!(first_round_after(period, 0.999_999) < period);
        // Out-of-range draws never push a renewal past the period.
        assert_eq!(first_round_after(period, 7.0), period);
        assert_eq!(first_round_after(period, -1.0), Duration::from_millis(2500));
    }
}
