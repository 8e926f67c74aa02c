//! The HLS origin: serves the playlists and segments the media pipelines write, for the current
//! session of each user, under `/hls/{username}/...`.
//!
//! [`HlsRegistry`] maps a username to the folder of its current session; the transcoder updates
//! it when a session starts and ends, and holds the playlists the ingest writes itself with their
//! segments ([`PublishedPlaylist`]). [`FileCache`] keeps the other files of the live window in
//! memory. [`routes`] is the axum router the ingest mounts; [`edge::respond`] answers plain reads
//! of cached files before it. [`serve_sharded`] is the listener they run on: one thread per core,
//! cached segments sent with `sendfile` ([`sendfile`]).

pub mod edge;
mod files;
mod live;
mod registry;
mod routes;
pub mod sendfile;
mod shards;

pub use files::{FileCache, MAX_CACHED_FILE_BYTES};
pub use live::{reload, Edge, PublishedPart, PublishedPlaylist, Reload};
// The path rules are domain rules; the origin's paths keep them where its callers look.
pub use crate::domain::{is_file_name, is_rendition, is_username, FileKind};
pub use registry::HlsRegistry;
pub use routes::{routes, Origin};
pub use shards::serve_sharded;
