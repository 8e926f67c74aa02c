//! What a publish session needs from the other services: who owns a stream key (users, over
//! gRPC) and permission plus a lease for the room (rooms, over nginx-rtmp style HTTP callbacks).
//! The adapters live in `crate::adapters`; tests use in-memory doubles or real servers.

use std::net::IpAddr;

use crate::ports::{BoxFuture, Publisher, Rendition};

use ferrocast_proto::StreamKey;

/// The owner of an accepted stream key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub user_id: String,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The users service answered: no user has this key.
    #[error("stream key rejected")]
    Rejected,
    /// The users service did not answer in time; publishes fail closed, live sessions go on.
    #[error("users service unavailable: {0}")]
    Unavailable(String),
}

/// Asked at publish time (fail closed) and again on every lease renewal of the live session
/// (rotated key → the session ends; no answer → it goes on).
pub trait KeyAuthenticator: Send + Sync + 'static {
    fn authenticate<'a>(&'a self, key: &'a StreamKey)
        -> BoxFuture<'a, Result<KeyOwner, AuthError>>;
}

/// The RTMP connection a callback is about (nginx-rtmp's `addr`, `clientid`, `app`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub app: String,
    pub addr: IpAddr,
    pub client_id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// 409: the user is already live.
    #[error("rooms answered 409: already live")]
    Conflict,
    /// Any other non-2xx answer.
    #[error("rooms refused with status {0}")]
    Refused(u16),
    /// No answer in time, or a 5xx.
    #[error("rooms unavailable: {0}")]
    Unavailable(String),
}

pub trait RoomCallbacks: Send + Sync + 'static {
    /// `call=publish`: the only callback that carries the key (rooms checks it itself).
    fn on_publish<'a>(
        &'a self,
        client: &'a Client,
        key: &'a StreamKey,
        publisher: &'a Publisher,
    ) -> BoxFuture<'a, Result<(), CallbackError>>;

    /// `call=update`: renews the room's lease; carries the username, never the key.
    fn on_update<'a>(
        &'a self,
        client: &'a Client,
        publisher: &'a Publisher,
        renditions: &'a [Rendition],
    ) -> BoxFuture<'a, Result<(), CallbackError>>;

    /// `call=publish_done`: ends the room if it still belongs to this session.
    fn on_publish_done<'a>(
        &'a self,
        client: &'a Client,
        publisher: &'a Publisher,
    ) -> BoxFuture<'a, Result<(), CallbackError>>;
}
