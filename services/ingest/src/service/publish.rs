//! Authorising a publish: key → users (fail closed) → rooms `on_publish` → media pipeline. Only
//! when all three said yes does the RTMP side accept the publish; every refusal maps to the
//! RTMP status the encoder is sent before the connection closes. A publish whose user has a
//! stalled or disconnected session on this ingest continues that session instead (`handover`):
//! the key is still checked with users, rooms and the pipeline already hold the room.

use std::sync::Arc;

use tokio::time::{timeout, timeout_at, Duration, Instant};

use crate::ports::{AuthError, CallbackError, Client, KeyOwner, Publisher};

use super::{
    deps::{end_room, SessionDeps},
    handover::{Claim, Handovers},
    live::LiveSession,
    StreamKey,
};

/// How long a stalled connection gets to hand its session over.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(2);
/// Claims tried before a publish goes the usual way: a session moves between a live and a
/// parked connection at most once while a claim is under way.
const CLAIM_ATTEMPTS: usize = 3;

/// Why a publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("stream key rejected")]
    KeyRejected,
    #[error("users service unavailable")]
    UsersUnavailable,
    #[error("the user is already live")]
    AlreadyLive,
    #[error("rooms refused the publish")]
    RoomsRefused,
    #[error("rooms unavailable")]
    RoomsUnavailable,
    #[error("the media pipeline did not start")]
    PipelineFailed,
}

impl Refusal {
    /// `(code, description)` of the `_error` status sent to the encoder.
    pub fn rtmp_status(&self) -> (&'static str, &'static str) {
        match self {
            Self::KeyRejected | Self::RoomsRefused => {
                ("NetStream.Publish.Unauthorized", "Publishing refused")
            }
            Self::AlreadyLive => ("NetStream.Publish.BadName", "Stream already live"),
            Self::UsersUnavailable | Self::RoomsUnavailable | Self::PipelineFailed => (
                "NetStream.Publish.Failed",
                "Publishing unavailable, try again",
            ),
        }
    }

    /// Label of the `ingest_publishes_total{result}` metric.
    pub fn label(&self) -> &'static str {
        match self {
            Self::KeyRejected => "key_rejected",
            Self::UsersUnavailable => "users_unavailable",
            Self::AlreadyLive => "already_live",
            Self::RoomsRefused => "rooms_refused",
            Self::RoomsUnavailable => "rooms_unavailable",
            Self::PipelineFailed => "pipeline_failed",
        }
    }
}

/// Runs the three checks in order; `deadline` bounds the users lookup (the connection's auth
/// deadline), the rooms adapter and the transcoder have their own timeouts.
pub async fn authorise(
    deps: &Arc<SessionDeps>,
    client: Client,
    key: StreamKey,
    deadline: Instant,
) -> Result<LiveSession, Refusal> {
    let owner = authenticate(deps, &key, deadline).await?;
    open(deps, client, key, owner).await
}

/// [`authorise`], but a publish whose user has a stalled or disconnected session in
/// `handovers` continues that session.
pub async fn authorise_or_continue(
    deps: &Arc<SessionDeps>,
    handovers: &Handovers,
    client: Client,
    key: StreamKey,
    deadline: Instant,
) -> Result<LiveSession, Refusal> {
    let owner = authenticate(deps, &key, deadline).await?;
    if let Some(live) = continue_session(handovers, &client, &key, &owner.user_id).await {
        // Counted as accepted too, by the RTMP side; this says how many of those continued.
        metrics::counter!("ingest_publishes_continued_total").increment(1);
        tracing::info!(
            username = %live.publisher().username,
            session_id = %live.publisher().session_id,
            "publish continues the user's live session"
        );
        return Ok(live);
    }
    open(deps, client, key, owner).await
}

/// Who owns `key`, asked of users before `deadline` (fail closed).
async fn authenticate(
    deps: &SessionDeps,
    key: &StreamKey,
    deadline: Instant,
) -> Result<KeyOwner, Refusal> {
    match timeout_at(deadline, deps.authenticator.authenticate(key)).await {
        Ok(Ok(owner)) => Ok(owner),
        Ok(Err(AuthError::Rejected)) => Err(Refusal::KeyRejected),
        Ok(Err(AuthError::Unavailable(reason))) => {
            tracing::warn!(%reason, "users service unavailable; refusing publish");
            Err(Refusal::UsersUnavailable)
        }
        Err(_) => {
            tracing::warn!("users service did not answer before the auth deadline");
            Err(Refusal::UsersUnavailable)
        }
    }
}

/// A new room for `owner`: rooms' `on_publish`, then the media pipeline.
async fn open(
    deps: &Arc<SessionDeps>,
    client: Client,
    key: StreamKey,
    owner: KeyOwner,
) -> Result<LiveSession, Refusal> {
    let publisher = Publisher {
        user_id: owner.user_id,
        username: owner.username,
        session_id: uuid::Uuid::new_v4().simple().to_string(),
    };

    match deps.callbacks.on_publish(&client, &key, &publisher).await {
        Ok(()) => {}
        Err(CallbackError::Conflict) => return Err(Refusal::AlreadyLive),
        Err(CallbackError::Refused(status)) => {
            tracing::info!(status, username = %publisher.username, "rooms refused the publish");
            return Err(Refusal::RoomsRefused);
        }
        Err(CallbackError::Unavailable(reason)) => {
            tracing::warn!(%reason, "rooms unavailable; refusing publish");
            return Err(Refusal::RoomsUnavailable);
        }
    }

    let started = timeout(deps.start_timeout, deps.transcoder.start(&publisher)).await;
    let sink = match started {
        Ok(Ok(sink)) => sink,
        Ok(Err(error)) => {
            tracing::error!(%error, username = %publisher.username, "media pipeline did not start");
            end_room(deps, &client, &publisher).await;
            return Err(Refusal::PipelineFailed);
        }
        Err(_) => {
            tracing::error!(username = %publisher.username, "media pipeline start timed out");
            end_room(deps, &client, &publisher).await;
            return Err(Refusal::PipelineFailed);
        }
    };
    // The session keeps the key to re-check it on every renewal: rotation must cut the stream.
    Ok(LiveSession::start(
        deps.clone(),
        client,
        publisher,
        key,
        sink,
    ))
}

/// The user's stalled or parked session on this ingest, moved to the new connection; `None`
/// when there is none (or it is healthy, or it ended meanwhile).
async fn continue_session(
    handovers: &Handovers,
    client: &Client,
    key: &StreamKey,
    user_id: &str,
) -> Option<LiveSession> {
    for _ in 0..CLAIM_ATTEMPTS {
        let live = match handovers.claim(user_id) {
            Claim::None | Claim::Busy => return None,
            Claim::Parked(live) => live,
            Claim::Stalled(requests) => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                if requests.send(reply).await.is_err() {
                    continue;
                }
                match timeout(HANDOVER_TIMEOUT, answer).await {
                    Ok(Ok(live)) => live,
                    // It ended or was parked meanwhile: look again.
                    Ok(Err(_)) => continue,
                    Err(_) => {
                        tracing::warn!(
                            user_id,
                            "a stalled connection did not hand its session over"
                        );
                        return None;
                    }
                }
            }
        };
        return live.resume(client.clone(), key.clone()).await;
    }
    None
}
