//! Playback sessions: a signed-in viewer asks to play a video and the account's slots decide
//! (granted, queued, denied), sessions live on heartbeats, any of the account's devices can end
//! any of its sessions, and a live session's token is what opens an encrypted video's key and a
//! private video's files. The decisions themselves are the store's (one atomic step each, shared
//! by every replica); this layer checks who may ask for what and keeps the clock.

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use uuid::Uuid;

use super::{Catalog, CatalogError};
use crate::{
    domain::{
        playback::{device_label, ActiveSession, EndReason, QueuedRequest, SessionId, Tokens},
        MediaId, MediaItem, MediaKind,
    },
    ports::{Caller, Outcome, PlaybackError, PlaybackRequest, PlaybackStore},
};

/// How sessions are kept.
#[derive(Clone)]
pub struct Playback {
    pub store: Arc<dyn PlaybackStore>,
    pub tokens: Tokens,
    /// Sessions per account.
    pub limit: u32,
    pub lease: Duration,
    /// Requests per account per second.
    pub per_second: u32,
}

impl From<PlaybackError> for CatalogError {
    fn from(error: PlaybackError) -> Self {
        Self::Sessions(error.0)
    }
}

/// Milliseconds since the Unix epoch, the sessions' clock (every replica's clock must agree
/// within a fraction of a lease, as NTP keeps them).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The account's sessions and waiting requests, each session with its token.
#[derive(Debug, Clone)]
pub struct AccountSessions {
    pub sessions: Vec<(ActiveSession, String)>,
    pub queued: Vec<QueuedRequest>,
}

/// How long a replica decides sessions on a playable video's record as it last read it, so a
/// steady stream of requests for the same videos does not read each from PostgreSQL. A video
/// made private or deleted on another replica can still be granted a session here for that
/// long; the session opens nothing, as its files and key check the record afresh on every
/// request. The replica that makes the change forgets its copy at once.
pub const PLAYABLE_FOR: Duration = Duration::from_secs(1);
/// Playable videos one replica remembers.
const PLAYABLE_REMEMBERED: u64 = 10_000;
/// Accounts whose requests of the current second one replica counts.
const COUNTED_ACCOUNTS: u64 = 100_000;

/// What one replica remembers to decide playback requests without a round trip where it can:
/// playable videos, and each account's requests in the current second. Every request counts
/// here, whatever its answer, and one past the account's rate on this replica alone is refused
/// before anything is read, so a flood from one account costs little more than its
/// authentication; the store counts the requests that reach it from every replica, which
/// holds the rate across replicas.
pub(super) struct Recent {
    playable: moka::future::Cache<Uuid, Arc<MediaItem>>,
    requests: moka::future::Cache<(String, u64), Arc<AtomicU32>>,
}

impl Default for Recent {
    fn default() -> Self {
        Self {
            playable: moka::future::Cache::builder()
                .max_capacity(PLAYABLE_REMEMBERED)
                .time_to_live(PLAYABLE_FOR)
                .build(),
            requests: moka::future::Cache::builder()
                .max_capacity(COUNTED_ACCOUNTS)
                .time_to_live(Duration::from_secs(2))
                .build(),
        }
    }
}

impl Recent {
    /// Forgets video `media` (changed or deleted here).
    pub(super) async fn forget(&self, media: MediaId) {
        self.playable.invalidate(&media.0).await;
    }

    /// Counts a request of `user` at `now_ms`; whether it is within `per_second` on this replica.
    async fn admits(&self, user: &str, now_ms: u64, per_second: u32) -> bool {
        let counter = self
            .requests
            .get_with((user.to_owned(), now_ms / 1000), async {
                Arc::new(AtomicU32::new(0))
            })
            .await;
        counter.fetch_add(1, Ordering::Relaxed) < per_second
    }
}

impl Catalog {
    /// The catalogue keeping playback sessions in `playback`.
    pub fn with_playback(mut self, playback: Playback) -> Self {
        self.playback = Some(playback);
        self
    }

    pub(super) fn playback(&self) -> Result<&Playback, CatalogError> {
        self.playback
            .as_ref()
            .ok_or_else(|| CatalogError::Sessions("playback sessions are not configured".into()))
    }

    /// The token of `session` for its account and video.
    pub fn session_token(&self, session: SessionId, user: &str, media: Uuid) -> Option<String> {
        self.playback
            .as_ref()
            .map(|p| p.tokens.mint(session, user, MediaId(media)))
    }

    /// Asks for a session on video `media`; the decision is pushed to the account's streams.
    pub async fn request_playback(
        &self,
        caller: &Caller,
        media: MediaId,
        device: Option<&str>,
        wait: bool,
    ) -> Result<SessionId, CatalogError> {
        let playback = self.playback()?;
        let now = now_ms();
        if !self
            .recent
            .admits(&caller.user_id, now, playback.per_second)
            .await
        {
            metrics::counter!("catalog_playback_requests_total", "outcome" => "limited")
                .increment(1);
            return Err(CatalogError::RateLimited);
        }
        let item = self.playable_item(caller, media).await?;
        let request_id = Uuid::new_v4();
        let outcome = playback
            .store
            .request(&PlaybackRequest {
                request_id,
                user: caller.user_id.clone(),
                media: media.0,
                device: device_label(device),
                title: item.title.as_str().to_owned(),
                wait,
                now_ms: now,
                lease: playback.lease,
                limit: playback.limit,
                per_second: playback.per_second,
            })
            .await?;
        metrics::counter!("catalog_playback_requests_total", "outcome" => match outcome {
            Outcome::Granted { .. } => "granted",
            Outcome::Queued { .. } => "queued",
            Outcome::Denied => "denied",
            Outcome::Limited => "limited",
        })
        .increment(1);
        if outcome == Outcome::Limited {
            return Err(CatalogError::RateLimited);
        }
        Ok(request_id)
    }

    /// Video `media` if `caller` may see it and it has something to play.
    async fn playable_item(
        &self,
        caller: &Caller,
        media: MediaId,
    ) -> Result<Arc<MediaItem>, CatalogError> {
        let item = match self.recent.playable.get(&media.0).await {
            Some(item) => item,
            None => {
                let item = Arc::new(self.store.get(media).await?.ok_or(CatalogError::NotFound)?);
                if playable(&item) {
                    self.recent.playable.insert(media.0, item.clone()).await;
                }
                item
            }
        };
        if item.visible_to(Some(&caller.user_id)) && playable(&item) {
            Ok(item)
        } else {
            Err(CatalogError::NotFound)
        }
    }

    /// Keeps `session` alive; when it is over, [`CatalogError::SessionEnded`].
    pub async fn heartbeat(
        &self,
        caller: &Caller,
        session: SessionId,
    ) -> Result<u64, CatalogError> {
        let playback = self.playback()?;
        playback
            .store
            .heartbeat(
                &caller.user_id,
                session,
                now_ms(),
                playback.lease,
                playback.limit,
            )
            .await?
            .ok_or(CatalogError::SessionEnded)
    }

    /// Ends one of the caller's sessions (`own`: the player stopping its own) or withdraws a
    /// waiting request.
    pub async fn end_session(
        &self,
        caller: &Caller,
        session: SessionId,
        own: bool,
    ) -> Result<(), CatalogError> {
        let playback = self.playback()?;
        let reason = if own {
            EndReason::Stopped
        } else {
            EndReason::EndedElsewhere
        };
        let ended = playback
            .store
            .release(
                &caller.user_id,
                session,
                now_ms(),
                playback.lease,
                playback.limit,
                reason.as_str(),
            )
            .await?;
        if ended {
            Ok(())
        } else {
            Err(CatalogError::NotFound)
        }
    }

    pub async fn account_sessions(&self, caller: &Caller) -> Result<AccountSessions, CatalogError> {
        let playback = self.playback()?;
        let (active, queued) = playback.store.sessions(&caller.user_id).await?;
        let now = now_ms();
        Ok(AccountSessions {
            sessions: active
                .into_iter()
                .filter(|s| s.expires_at_ms > now)
                .map(|s| {
                    let token =
                        playback
                            .tokens
                            .mint(s.session_id, &caller.user_id, MediaId(s.media_id));
                    (s, token)
                })
                .collect(),
            queued,
        })
    }

    /// Ends lapsed sessions of every account and hands their slots on; run by every replica
    /// about once a second (each lapse is handled once, whichever replica sees it).
    pub async fn sweep_sessions(&self) -> Result<u32, CatalogError> {
        let playback = self.playback()?;
        Ok(playback
            .store
            .sweep(now_ms(), playback.lease, playback.limit)
            .await?)
    }

    /// Whether `token` is a live session of `caller` on video `media`.
    pub(super) async fn session_allows(
        &self,
        caller: &Caller,
        media: MediaId,
        token: Option<&str>,
    ) -> Result<bool, CatalogError> {
        let Some(token) = token else {
            return Ok(false);
        };
        let playback = self.playback()?;
        let Some(session) = Tokens::session_of(token) else {
            return Ok(false);
        };
        let Some(record) = playback.store.session(session).await? else {
            return Ok(false);
        };
        Ok(record.user == caller.user_id
            && record.active.media_id == media.0
            && record.active.expires_at_ms > now_ms()
            && playback
                .tokens
                .verify(token, session, &caller.user_id, media))
    }
}

/// A video with something to play.
fn playable(item: &MediaItem) -> bool {
    item.kind == MediaKind::Video && item.processing.as_ref().is_some_and(|p| p.master.is_some())
}
