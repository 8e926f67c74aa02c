//! Ports of the ingest, every trait its use cases and edges meet each other through: the seams
//! between the RTMP side (`adapters/rtmp/`, `service/`) and the media side (`adapters/media/`,
//! `adapters/hls/`), and what a publish session needs from the other services (who owns a stream
//! key: users over gRPC; permission and a lease for the room: rooms over nginx-rtmp style HTTP
//! callbacks). The RTMP
//! side only ever talks to these traits, so its logic is unit-testable with in-memory doubles,
//! and the real adapters (ffmpeg, gRPC, HTTP callbacks) are swapped in by `startup.rs`.

use std::{future::Future, net::IpAddr, pin::Pin};

use ferrocast_proto::StreamKey;

/// A boxed future, to keep the traits object-safe without an extra macro crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One unit of media as it arrives over RTMP: defined with the media code that consumes it.
pub use ferrocast_media::MediaPacket;

/// Who is publishing, once the key was accepted. The stream key itself never travels past
/// authentication: media code only sees the public username and an opaque session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    pub user_id: String,
    pub username: String,
    /// Unique per publish (uuid v4 simple form): names the output folder and the room session.
    pub session_id: String,
}

/// One rendition of the HLS ladder as the rooms service lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rendition {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bandwidth: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the transcoder could not start: {0}")]
    Start(String),
    /// The pipeline ended (ffmpeg died and the restart budget is spent, or disk is full).
    #[error("the media pipeline ended: {0}")]
    Ended(String),
}

/// Starts one media pipeline per publish.
pub trait Transcoder: Send + Sync + 'static {
    fn start(&self, publisher: &Publisher)
        -> BoxFuture<'_, Result<Box<dyn MediaSink>, MediaError>>;
}

/// The running pipeline of one publish.
pub trait MediaSink: Send {
    /// Hands one packet over without waiting: a slow or dead transcoder must never stall the
    /// RTMP read loop. Errors mean the pipeline is gone for good and the session should end.
    fn push(&mut self, packet: MediaPacket) -> Result<(), MediaError>;
    /// What follows comes from a new publisher of the same room (a reconnect, or a stalled
    /// connection taken over): its own codec headers and timeline, maybe another resolution.
    /// The pipeline goes on in the same playlists behind a discontinuity.
    fn new_publisher(&mut self);
    /// The renditions known so far (empty until the source's resolution is known).
    fn renditions(&self) -> Vec<Rendition>;
    /// Resolves when the pipeline fails for good, so the session can end the room. The future
    /// borrows nothing: the RTMP loop keeps one across every packet it pushes.
    fn failed(&self) -> BoxFuture<'static, MediaError>;
    /// Ends the stream cleanly: playlists get `#EXT-X-ENDLIST`, files are removed after the
    /// grace period.
    fn finish(self: Box<Self>) -> BoxFuture<'static, ()>;
}

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
