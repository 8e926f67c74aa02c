//! Authorising a publish: key → users (fail closed) → rooms `on_publish` → media pipeline. Only
//! when all three said yes does the RTMP side accept the publish; every refusal maps to the
//! RTMP status the encoder is sent before the connection closes.

use std::sync::Arc;

use tokio::time::{timeout, timeout_at, Instant};

use crate::ports::{AuthError, CallbackError, Client, Publisher};

use super::{
    deps::{end_room, SessionDeps},
    live::LiveSession,
    StreamKey,
};

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
    let owner = match timeout_at(deadline, deps.authenticator.authenticate(&key)).await {
        Ok(Ok(owner)) => owner,
        Ok(Err(AuthError::Rejected)) => return Err(Refusal::KeyRejected),
        Ok(Err(AuthError::Unavailable(reason))) => {
            tracing::warn!(%reason, "users service unavailable; refusing publish");
            return Err(Refusal::UsersUnavailable);
        }
        Err(_) => {
            tracing::warn!("users service did not answer before the auth deadline");
            return Err(Refusal::UsersUnavailable);
        }
    };
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
