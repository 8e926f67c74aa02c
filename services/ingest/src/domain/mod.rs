//! Pure rules of the ingest, with no I/O: which names may reach the file system (usernames,
//! renditions and HLS file names, the origin's path allowlist) and what each kind of HLS file is
//! served as, and what a live thumbnail is made from. The media types the pipelines share live
//! in the `ferrocast-media` crate.

mod names;
pub mod thumbnail;

pub use names::{is_file_name, is_rendition, is_username, FileKind};
