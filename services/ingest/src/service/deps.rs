//! What every publish session is built from, and the one way a session ends its room: shared by
//! authorising a publish (`publish`) and running it (`live`), which both depend on this and not
//! on each other's internals.

use std::{sync::Arc, time::Duration};

use crate::ports::{Client, KeyAuthenticator, Publisher, RoomCallbacks, Transcoder};

/// What a publish session is built from; one per process, shared by all connections.
pub struct SessionDeps {
    pub authenticator: Arc<dyn KeyAuthenticator>,
    pub callbacks: Arc<dyn RoomCallbacks>,
    pub transcoder: Arc<dyn Transcoder>,
    /// Lease renewal period (`call=update`).
    pub update_interval: Duration,
    /// Time the media pipeline gets to start.
    pub start_timeout: Duration,
    /// Time `MediaSink::finish` gets when a session ends.
    pub finish_timeout: Duration,
}

/// `publish_done` for a room that was opened but will not go live or has ended.
pub(crate) async fn end_room(deps: &SessionDeps, client: &Client, publisher: &Publisher) {
    if let Err(error) = deps.callbacks.on_publish_done(client, publisher).await {
        // The lease expires on its own; this only makes the end visible sooner.
        tracing::warn!(%error, username = %publisher.username, "publish_done callback failed");
    }
}
