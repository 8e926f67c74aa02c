//! Ports of the ingest: the seams between the RTMP side (`rtmp/`, `session/`) and the media side
//! (`media/`, `hls/`), and towards the other services. The RTMP side only ever talks to these
//! traits, so its logic is unit-testable with in-memory doubles and the real adapters (ffmpeg,
//! gRPC, HTTP callbacks) are swapped in by `startup.rs`.

use std::{future::Future, pin::Pin};

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
    /// The renditions known so far (empty until the source's resolution is known).
    fn renditions(&self) -> Vec<Rendition>;
    /// Resolves when the pipeline fails for good, so the session can end the room. The future
    /// borrows nothing: the RTMP loop keeps one across every packet it pushes.
    fn failed(&self) -> BoxFuture<'static, MediaError>;
    /// Ends the stream cleanly: playlists get `#EXT-X-ENDLIST`, files are removed after the
    /// grace period.
    fn finish(self: Box<Self>) -> BoxFuture<'static, ()>;
}
