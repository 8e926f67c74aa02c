//! The catalogue's pure rules: media items and their parts, tags, what a file's first bytes
//! are, how a file goes up, and what a search asks. No I/O here.

pub mod media;
pub mod processing;
pub mod search;
pub mod sniff;
pub mod tags;
pub mod upload;

pub use media::{
    ContentType, Description, MediaId, MediaItem, MediaKind, MediaStatus, Sha256, Title,
    UploadMethod, Visibility,
};
pub use search::{Cursor, MediaQuery, SearchText};
pub use tags::Tag;
