//! The catalogue's pure rules: media items and their parts, tags, what a file's first bytes
//! are, how a file goes up, what a search asks and what a progress stream sends. No I/O here.

pub mod media;
pub mod playback;
pub mod processing;
pub mod progress;
pub mod search;
pub mod sniff;
pub mod tags;
pub mod upload;

pub use media::{
    ContentType, Description, Encryption, MediaId, MediaItem, MediaKind, MediaStatus,
    OwnerSettings, SettingsChange, Sha256, Title, UploadMethod, Visibility,
};
pub use search::{Cursor, MediaQuery, SearchText};
pub use tags::Tag;
