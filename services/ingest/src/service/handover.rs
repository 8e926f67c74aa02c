//! Which of this ingest's live sessions a new publish with the same user's current key continues
//! instead of starting a room of its own: encoders reconnect after a network blip (OBS does so by
//! itself), and viewers should see the stream go on, not end and start again.
//!
//! - A session whose connection received no media for `stall` is taken over at once: a frozen
//!   publisher or a half-open TCP connection looks exactly like this to the server, and its
//!   encoder is usually the one reconnecting. A session still receiving media is not (the
//!   duplicate publish goes to rooms, which refuses it as before).
//! - A session whose connection dropped without a clean stop is parked for `grace`, its lease
//!   still renewed: a publish in that time continues it; past it, the room ends.
//!
//! Continuing means the same [`LiveSession`] — room, session id, lease, media pipeline — moves
//! to the new connection; only one connection holds it at any time, so it ends exactly once.
//! Sessions are keyed by user id: one room per user.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::Duration,
};

use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};
use tokio_util::sync::CancellationToken;

use super::live::{EndReason, LiveSession};

/// A new connection asking a stalled one for its session.
pub type Request = oneshot::Sender<LiveSession>;

pub struct Handovers {
    rooms: Mutex<HashMap<String, Slot>>,
    next_id: AtomicU64,
    epoch: Instant,
    /// How long without media makes a live session one that a new publish takes over.
    pub stall: Duration,
    /// How long a session that lost its connection waits for its publisher to come back.
    pub grace: Duration,
}

enum Slot {
    Live {
        id: u64,
        last_media: Arc<AtomicU64>,
        requests: mpsc::Sender<Request>,
    },
    Parked {
        id: u64,
        live: LiveSession,
        claimed: CancellationToken,
    },
}

/// What a publish finds for its user on this ingest.
pub enum Claim {
    /// Nothing: a new room.
    None,
    /// A session still receiving media: a duplicate publish.
    Busy,
    /// A stalled session: ask its connection for it.
    Stalled(mpsc::Sender<Request>),
    /// A session whose connection dropped, within the grace period: it is the caller's now.
    Parked(LiveSession),
}

/// A live connection's entry: it records when media last came and answers takeover requests.
pub struct LiveSlot {
    id: u64,
    user_id: String,
    last_media: Arc<AtomicU64>,
    epoch: Instant,
    pub requests: mpsc::Receiver<Request>,
}

impl LiveSlot {
    /// Media arrived at `now`.
    pub fn touch(&self, now: Instant) {
        self.last_media
            .store(millis(now.duration_since(self.epoch)), Ordering::Relaxed);
    }
}

impl Handovers {
    pub fn new(stall: Duration, grace: Duration) -> Self {
        Self {
            rooms: Mutex::default(),
            next_id: AtomicU64::new(1),
            epoch: Instant::now(),
            stall,
            grace,
        }
    }

    /// What a publish of `user_id` finds; takes a parked session.
    pub fn claim(&self, user_id: &str) -> Claim {
        let mut rooms = self.lock();
        match rooms.get(user_id) {
            None => Claim::None,
            Some(Slot::Live {
                last_media,
                requests,
                ..
            }) => {
                let since = Duration::from_millis(last_media.load(Ordering::Relaxed));
                let quiet = Instant::now()
                    .duration_since(self.epoch)
                    .saturating_sub(since);
                if quiet >= self.stall {
                    Claim::Stalled(requests.clone())
                } else {
                    Claim::Busy
                }
            }
            Some(Slot::Parked { .. }) => match rooms.remove(user_id) {
                Some(Slot::Parked { live, claimed, .. }) => {
                    claimed.cancel();
                    Claim::Parked(live)
                }
                _ => Claim::None,
            },
        }
    }

    /// Makes `user_id`'s live session the one on the calling connection. A session parked in
    /// the meantime (a race with [`Handovers::claim`]) is returned to be ended.
    pub fn register(&self, user_id: &str) -> (LiveSlot, Option<LiveSession>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let last_media = Arc::new(AtomicU64::new(millis(self.epoch.elapsed())));
        // One request at a time is all a takeover needs; more wait or retry.
        let (sender, requests) = mpsc::channel(1);
        let displaced = self.lock().insert(
            user_id.to_owned(),
            Slot::Live {
                id,
                last_media: last_media.clone(),
                requests: sender,
            },
        );
        let displaced = match displaced {
            Some(Slot::Parked { live, claimed, .. }) => {
                claimed.cancel();
                Some(live)
            }
            _ => None,
        };
        let slot = LiveSlot {
            id,
            user_id: user_id.to_owned(),
            last_media,
            epoch: self.epoch,
            requests,
        };
        (slot, displaced)
    }

    /// The connection of `slot` ended for good (its session ended or moved on): forgets it
    /// unless a newer connection took its place, and turns away requests still queued.
    pub fn release(&self, mut slot: LiveSlot) {
        let mut rooms = self.lock();
        if matches!(rooms.get(&slot.user_id), Some(Slot::Live { id, .. }) if *id == slot.id) {
            rooms.remove(&slot.user_id);
        }
        drop(rooms);
        slot.requests.close();
    }

    /// The connection of `slot` ended for `reason` without a clean stop: hands `live` to a
    /// request already waiting, or keeps it for `grace` (renewing its lease) for the publisher to
    /// come back, then ends it. Returns once the session moved on or ended.
    pub async fn park(
        &self,
        mut slot: LiveSlot,
        live: LiveSession,
        reason: EndReason,
        shutdown: &CancellationToken,
    ) {
        let live = match slot.requests.try_recv() {
            Ok(request) => match request.send(live) {
                Ok(()) => return self.release(slot),
                Err(live) => live,
            },
            Err(_) => live,
        };
        if self.grace.is_zero() {
            self.release(slot);
            live.finish(reason).await;
            return;
        }
        let lease = live.lease_lost();
        let failed = live.failed();
        let claimed = CancellationToken::new();
        let not_parked = {
            let mut rooms = self.lock();
            let ours =
                matches!(rooms.get(&slot.user_id), Some(Slot::Live { id, .. }) if *id == slot.id);
            if ours {
                rooms.insert(
                    slot.user_id.clone(),
                    Slot::Parked {
                        id: slot.id,
                        live,
                        claimed: claimed.clone(),
                    },
                );
                None
            } else {
                Some(live)
            }
        };
        // Requests sent before the session was parked fail now and are retried, finding it
        // parked.
        slot.requests.close();
        while slot.requests.try_recv().is_ok() {}
        if let Some(live) = not_parked {
            live.finish(reason).await;
            return;
        }
        tracing::info!(user_id = %slot.user_id, grace = ?self.grace, "publisher lost; waiting for it to come back");
        let reason = tokio::select! {
            () = claimed.cancelled() => return,
            () = tokio::time::sleep(self.grace) => reason,
            () = lease.cancelled() => EndReason::LeaseLost,
            _ = failed => EndReason::PipelineFailed,
            () = shutdown.cancelled() => EndReason::Shutdown,
        };
        let parked = {
            let mut rooms = self.lock();
            match rooms.get(&slot.user_id) {
                Some(Slot::Parked { id, .. }) if *id == slot.id => rooms.remove(&slot.user_id),
                _ => None,
            }
        };
        if let Some(Slot::Parked { live, .. }) = parked {
            live.finish(reason).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
