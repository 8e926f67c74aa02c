//! Playlists the ingest writes itself (the natively remuxed passthrough rung), handed to the
//! origin as they are written.
//!
//! Players re-read a live playlist every second or so, and for a small file most of the origin's
//! work per request was checking that its cached copy is still current (building the path, a
//! `stat`, a cache lookup: bench section 5). A playlist we write ourselves needs no such check:
//! the writer puts each new version into its session's entry of the [`HlsRegistry`] at the moment
//! it replaces the file, and withdraws it when the rendition stops. Files ffmpeg writes keep going
//! through [`super::FileCache`].

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::{files::CachedFile, HlsRegistry};

/// Numbers every version of every playlist, so each version gets its own ETag.
static VERSIONS: AtomicU64 = AtomicU64::new(1);

/// The playlist of one rendition of one session, as its writer publishes it. Dropping it
/// withdraws the playlist: the file on disk (closed with `#EXT-X-ENDLIST`) is served from then on.
#[derive(Debug)]
pub struct PublishedPlaylist {
    registry: HlsRegistry,
    username: String,
    session_id: String,
    rendition: String,
}

impl PublishedPlaylist {
    pub fn new(registry: HlsRegistry, username: &str, session_id: &str, rendition: &str) -> Self {
        Self {
            registry,
            username: username.to_owned(),
            session_id: session_id.to_owned(),
            rendition: rendition.to_owned(),
        }
    }

    /// `bytes` is now the playlist's content (call after the file on disk was replaced).
    pub fn put(&self, bytes: Bytes) {
        let version = VERSIONS.fetch_add(1, Ordering::Relaxed);
        self.registry.put_playlist(
            &self.username,
            &self.session_id,
            &self.rendition,
            CachedFile::written(bytes, version),
        );
    }
}

impl Drop for PublishedPlaylist {
    fn drop(&mut self) {
        self.registry
            .withdraw_playlist(&self.username, &self.session_id, &self.rendition);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn each_version_is_served_with_its_own_etag_until_dropped() {
        let registry = HlsRegistry::new();
        registry.publish("alice", "s1", PathBuf::from("/hls/alice/s1"));
        let playlist = PublishedPlaylist::new(registry.clone(), "alice", "s1", "720p");
        assert!(registry.live_playlist("alice", "720p").is_none());

        playlist.put(Bytes::from_static(b"one"));
        let first = registry.live_playlist("alice", "720p").expect("put");
        assert_eq!(first.bytes, "one");
        playlist.put(Bytes::from_static(b"two"));
        let second = registry.live_playlist("alice", "720p").expect("put again");
        assert_eq!(second.bytes, "two");
        assert_ne!(second.etag, first.etag);
        assert!(registry.live_playlist("alice", "480p").is_none());

        drop(playlist);
        assert!(registry.live_playlist("alice", "720p").is_none());
    }

    #[test]
    fn an_old_session_neither_publishes_nor_withdraws_for_a_newer_one() {
        let registry = HlsRegistry::new();
        registry.publish("alice", "s1", PathBuf::from("/hls/alice/s1"));
        let old = PublishedPlaylist::new(registry.clone(), "alice", "s1", "720p");
        registry.publish("alice", "s2", PathBuf::from("/hls/alice/s2"));
        let new = PublishedPlaylist::new(registry.clone(), "alice", "s2", "720p");
        new.put(Bytes::from_static(b"new"));
        old.put(Bytes::from_static(b"old"));
        drop(old);
        assert_eq!(
            registry.live_playlist("alice", "720p").expect("kept").bytes,
            "new"
        );
        drop(new);
    }
}
