//! The seams between the rooms use cases and the outside world: where rooms are kept
//! ([`RoomStore`], Redis in production), who vouches for keys and tokens ([`Authenticator`], the
//! users service over gRPC) and where live events go ([`EventSink`]). Traits return boxed
//! futures so the service holds them as trait objects.

use std::net::IpAddr;

use futures::future::BoxFuture;

use crate::domain::{
    Cursor, LiveRoom, NewRoom, Rendition, RoomEvent, SessionId, StreamKey, Title, Username,
    ViewerAddress, ViewerId,
};

/// A user as the users service knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub username: Username,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The users service answered: unknown key, bad token.
    #[error("rejected by the users service")]
    Rejected,
    /// The users service did not answer in time. Callers fail closed.
    #[error("users service unavailable: {0}")]
    Unavailable(String),
}

pub trait Authenticator: Send + Sync + 'static {
    fn authenticate_key<'a>(
        &'a self,
        key: &'a StreamKey,
        request_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Identity, AuthError>>;

    fn validate_token<'a>(
        &'a self,
        token: &'a str,
        request_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Identity, AuthError>>;

    /// Readiness: `Ok` when the users service answers at all.
    fn ping(&self) -> BoxFuture<'_, Result<(), AuthError>>;
}

/// Resolves the host name of an ingest origin to its addresses.
pub trait HostResolver: Send + Sync + 'static {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<Vec<IpAddr>, String>>;
}

#[derive(Debug, thiserror::Error)]
#[error("room store unavailable: {0}")]
pub struct StoreError(pub String);

/// Result of creating a room for a key publish.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// A new room; `replaced` is true when an older room of this user ended with it (takeover,
    /// or a lapsed lease the sweep had not noticed yet).
    Created { room: LiveRoom, replaced: bool },
    /// The same session already has the room (a retried callback): nothing changed.
    AlreadyLive,
    /// Another session of this user is live and takeover is off.
    Conflict,
}

/// What the store knows about a session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    Live(Username),
    /// Ended by `publish_done` or replaced: its late updates must not bring a room back.
    Ended,
    /// Never seen, or lost with Redis.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewOutcome {
    Renewed,
    /// The room belongs to another session now.
    Stale,
    Missing,
}

/// One page of the newest-first listing.
#[derive(Debug, Clone, Default)]
pub struct RoomPage {
    pub rooms: Vec<LiveRoom>,
    pub next: Option<Cursor>,
    /// Lapsed rooms this read removed from the index (announce them as ended).
    pub ended: Vec<Username>,
}

/// What one viewer heartbeat did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatOutcome {
    /// Distinct viewers seen within the window.
    pub viewers: u64,
    /// The count should be announced now (it changed, and the room's last `viewers_changed`
    /// is old enough; otherwise a later sweep announces it).
    pub announce: bool,
    /// This viewer is counted; false when its address already has its quota of viewers in
    /// this room (or the room tracks its maximum).
    pub counted: bool,
}

/// What one sweep found: rooms whose lease lapsed, viewer counts that changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepOutcome {
    pub ended: Vec<Username>,
    pub viewers_changed: Vec<(Username, u64)>,
    /// Rooms still live after a full sweep (`None` for a sweep of some members only).
    pub live: Option<u64>,
}

/// Storage of live rooms. Every write that depends on a session is compare-and-act on the
/// session id, atomically, so an old session can never touch a newer session's room.
pub trait RoomStore: Send + Sync + 'static {
    fn create(
        &self,
        room: NewRoom,
        takeover: bool,
    ) -> BoxFuture<'_, Result<CreateOutcome, StoreError>>;

    fn session(&self, session: &SessionId) -> BoxFuture<'_, Result<SessionState, StoreError>>;

    fn renew<'a>(
        &'a self,
        username: &'a Username,
        session: &'a SessionId,
        renditions: Option<&'a [Rendition]>,
        thumbnail: bool,
    ) -> BoxFuture<'a, Result<RenewOutcome, StoreError>>;

    /// Ends the room if `session` still owns it; always marks the session ended. Returns whether
    /// a room ended.
    fn end<'a>(
        &'a self,
        username: Option<&'a Username>,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// nginx-rtmp mode: lets exactly one relay publish into the HLS app per key publish.
    fn claim_relay<'a>(&'a self, username: &'a Username)
        -> BoxFuture<'a, Result<bool, StoreError>>;

    fn get<'a>(
        &'a self,
        username: &'a Username,
    ) -> BoxFuture<'a, Result<Option<LiveRoom>, StoreError>>;

    fn list(
        &self,
        limit: usize,
        after: Option<Cursor>,
    ) -> BoxFuture<'_, Result<RoomPage, StoreError>>;

    /// Records a viewer heartbeat from `address`, which counts at most a configured number of
    /// distinct viewers per room; `None` when the room is offline.
    fn heartbeat<'a>(
        &'a self,
        username: &'a Username,
        viewer: &'a ViewerId,
        address: ViewerAddress,
    ) -> BoxFuture<'a, Result<Option<HeartbeatOutcome>, StoreError>>;

    /// Stores the user's title for this and later streams; returns whether a live room changed.
    fn set_title<'a>(
        &'a self,
        owner: &'a Identity,
        title: &'a Title,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// The user's stored title, live or not; `None` before they ever set one.
    fn get_title<'a>(
        &'a self,
        owner: &'a Identity,
    ) -> BoxFuture<'a, Result<Option<Title>, StoreError>>;

    /// Removes lapsed rooms from the index (each exactly once across replicas) and refreshes
    /// viewer counts, reporting the ones due to be announced.
    fn sweep(&self) -> BoxFuture<'_, Result<SweepOutcome, StoreError>>;

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Where live events go (Redis pub/sub, so every replica's SSE clients see them).
pub trait EventSink: Send + Sync + 'static {
    fn publish<'a>(&'a self, event: &'a RoomEvent) -> BoxFuture<'a, Result<(), StoreError>>;
}
