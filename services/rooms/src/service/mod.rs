//! The rooms use cases: what each callback, REST call and sweep does, written against the ports
//! only. The HTTP edge parses and maps errors; this layer decides.

mod callbacks;
mod queries;
pub mod sweeper;

use std::sync::Arc;

use ferrocast_kit::client::Networks;

use crate::{
    domain::{CallbackError, OriginError, RoomEvent, ViewerTokens},
    ports::{AuthError, Authenticator, EventSink, HostResolver, RoomStore, StoreError},
};

pub use callbacks::{CallbackReply, Caller};
pub use queries::Presence;

/// Behaviour switches of the use cases (from `Config`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// nginx-rtmp mode: the application key publishes are pushed to under the public name.
    pub nginx_hls_app: Option<String>,
    /// Base of the push target, e.g. `rtmp://127.0.0.1` or `rtmp://127.0.0.1:1935`.
    pub nginx_push_url: String,
    /// Origin of publishes that may not name one (nginx-rtmp: where its HLS folder is served).
    pub default_origin: Option<String>,
    /// The only addresses a room's origin may have (`FERROCAST_INGEST_NETWORKS`).
    pub ingest_networks: Networks,
    /// A second publish for a live user replaces the first instead of being refused.
    pub takeover: bool,
    /// Issues and checks the signed viewer ids of heartbeats.
    pub viewer_tokens: ViewerTokens,
}

/// Errors of the use cases; the HTTP edge maps each to one status.
#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    #[error(transparent)]
    BadCallback(#[from] CallbackError),
    #[error("unknown stream key")]
    UnknownKey,
    #[error("publish into the HLS application without an authenticated publish")]
    RelayRefused,
    #[error("not signed in")]
    Unauthorized,
    #[error("this user is already live")]
    AlreadyLive,
    #[error("this publish session has ended or been replaced")]
    SessionOver,
    #[error("the users service is unavailable")]
    UsersUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("room not found")]
    NotFound,
    #[error("{message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    #[error("unsupported callback")]
    UnsupportedCall,
    /// A callback without the service token where only our ingest may call.
    #[error("this callback needs the service token")]
    UntrustedCaller,
    #[error(transparent)]
    Origin(#[from] OriginError),
    /// No origin is known for a publish: our ingest named none and none is configured.
    #[error(
        "no HLS origin: the publisher named none and FERROCAST_ROOMS_DEFAULT_ORIGIN is not set"
    )]
    NoOrigin,
}

impl RoomsError {
    fn from_auth(error: AuthError, rejected: Self) -> Self {
        match error {
            AuthError::Rejected => rejected,
            AuthError::Unavailable(reason) => {
                tracing::warn!(%reason, "users service unavailable; refusing");
                Self::UsersUnavailable
            }
        }
    }
}

/// The rooms service's use cases over its ports.
pub struct Rooms {
    store: Arc<dyn RoomStore>,
    auth: Arc<dyn Authenticator>,
    events: Arc<dyn EventSink>,
    resolver: Arc<dyn HostResolver>,
    settings: Settings,
}

impl Rooms {
    pub fn new(
        store: Arc<dyn RoomStore>,
        auth: Arc<dyn Authenticator>,
        events: Arc<dyn EventSink>,
        resolver: Arc<dyn HostResolver>,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            auth,
            events,
            resolver,
            settings,
        }
    }

    pub fn store(&self) -> &Arc<dyn RoomStore> {
        &self.store
    }

    pub fn auth(&self) -> &Arc<dyn Authenticator> {
        &self.auth
    }

    /// Events are best effort: a lost event costs a stale grid until the next page load, while
    /// failing the callback would end a stream.
    async fn announce(&self, event: RoomEvent) {
        if let Err(error) = self.events.publish(&event).await {
            tracing::warn!(%error, event = event.name(), "could not publish a live event");
        }
    }
}
