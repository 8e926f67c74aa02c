//! Which folder holds each user's current session. Written by the transcoder (start, end,
//! cleanup), read by every HLS request; the lock is held only to copy a path, never across I/O.
//! Each session also carries the playlists the ingest writes itself ([`super::live`]), so the
//! origin answers those with the same one lookup.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, PoisonError, RwLock},
};

use super::{
    files::{CachedFile, FileCache, MAX_CACHED_FILE_BYTES},
    live::{LiveMedia, PublishedSegment, Version, Versions},
};

#[derive(Debug, Clone, Default)]
pub struct HlsRegistry {
    sessions: Arc<RwLock<HashMap<String, Session>>>,
}

#[derive(Debug, Clone)]
struct Session {
    session_id: String,
    dir: PathBuf,
    live: bool,
    /// Rendition name → the playlist the ingest writes for it, current version and waiters.
    playlists: HashMap<String, Versions>,
}

impl HlsRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new session of `username` becomes the one served (replacing an ended one).
    pub fn publish(&self, username: &str, session_id: &str, dir: PathBuf) {
        self.write().insert(
            username.to_owned(),
            Session {
                session_id: session_id.to_owned(),
                dir,
                live: true,
                playlists: HashMap::new(),
            },
        );
    }

    /// The session ended: its files stay served (players read `#EXT-X-ENDLIST`) until removed.
    pub fn end(&self, username: &str, session_id: &str) {
        self.change_session(username, session_id, |session| session.live = false);
    }

    /// Stops serving the session, unless a newer session of the user took its place.
    pub fn remove(&self, username: &str, session_id: &str) {
        let mut sessions = self.write();
        if sessions
            .get(username)
            .is_some_and(|s| s.session_id == session_id)
        {
            sessions.remove(username);
        }
    }

    /// The playlist the ingest itself last wrote for `rendition` of `username`'s served session.
    pub fn live_playlist(&self, username: &str, rendition: &str) -> Option<CachedFile> {
        self.read()
            .get(username)
            .and_then(|session| session.playlists.get(rendition))
            .map(|versions| versions.borrow().file.clone())
    }

    /// The versions of that playlist as they come, for a reload that waits for a segment.
    pub(super) fn playlist_versions(
        &self,
        username: &str,
        rendition: &str,
    ) -> Option<tokio::sync::watch::Receiver<Version>> {
        self.read()
            .get(username)
            .and_then(|session| session.playlists.get(rendition))
            .map(Versions::subscribe)
    }

    /// A segment of `rendition` that its published playlist's writer has on disk, or a part the
    /// playlist lists.
    pub(super) fn live_media(
        &self,
        username: &str,
        rendition: &str,
        name: &str,
    ) -> Option<LiveMedia> {
        self.read()
            .get(username)
            .and_then(|session| session.playlists.get(rendition))
            .and_then(|versions| versions.borrow().media(name))
    }

    /// The bytes a viewer gets for a part that the published playlist of `rendition` lists
    /// (read from its segment's file once that is on disk, without the origin's cache).
    pub async fn live_part(
        &self,
        username: &str,
        rendition: &str,
        name: &str,
    ) -> Option<CachedFile> {
        match self.live_media(username, rendition, name)? {
            LiveMedia::Part(part) => {
                part.contents(&FileCache::new(MAX_CACHED_FILE_BYTES, false))
                    .await
            }
            LiveMedia::Segment(_) | LiveMedia::Hinted => None,
        }
    }

    /// Makes `version` the rendition's playlist, with `on_disk` as its segments: those already
    /// published keep what was read of them.
    pub(super) fn put_playlist(
        &self,
        username: &str,
        session_id: &str,
        rendition: &str,
        mut version: Version,
        on_disk: &[&str],
    ) {
        self.change_session(username, session_id, |session| {
            version.segments = {
                let previous = session
                    .playlists
                    .get(rendition)
                    .map(|versions| versions.borrow());
                on_disk
                    .iter()
                    .map(|name| {
                        previous
                            .as_ref()
                            .and_then(|version| version.segment(name).cloned())
                            .unwrap_or_else(|| {
                                // Only a segment new in this version needs its path.
                                Arc::new(PublishedSegment::new(
                                    (*name).to_owned(),
                                    session.dir.join(rendition).join(name),
                                ))
                            })
                    })
                    .collect()
            };
            match session.playlists.get(rendition) {
                // Wakes the reloads waiting for it.
                Some(versions) => {
                    versions.send_replace(version);
                }
                None => {
                    session
                        .playlists
                        .insert(rendition.to_owned(), Versions::new(version));
                }
            }
        });
    }

    pub(super) fn withdraw_playlist(&self, username: &str, session_id: &str, rendition: &str) {
        self.change_session(username, session_id, |session| {
            session.playlists.remove(rendition);
        });
    }

    /// The folder to serve `username` from, if any session is being served.
    pub fn session_dir(&self, username: &str) -> Option<PathBuf> {
        self.read().get(username).map(|s| s.dir.clone())
    }

    /// Whether `username` has a live (not yet ended) session here.
    pub fn is_live(&self, username: &str) -> bool {
        self.read().get(username).is_some_and(|s| s.live)
    }

    pub fn live_count(&self) -> usize {
        self.read().values().filter(|s| s.live).count()
    }

    /// Changes the user's session if it is `session_id` (not an older or newer one).
    fn change_session(&self, username: &str, session_id: &str, change: impl FnOnce(&mut Session)) {
        if let Some(session) = self.write().get_mut(username) {
            if session.session_id == session_id {
                change(session);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Session>> {
        self.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Session>> {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_sessions_are_served_until_removed() {
        let registry = HlsRegistry::new();
        registry.publish("alice", "s1", PathBuf::from("/hls/alice/s1"));
        assert!(registry.is_live("alice"));
        registry.end("alice", "s1");
        assert!(!registry.is_live("alice"));
        assert_eq!(
            registry.session_dir("alice"),
            Some(PathBuf::from("/hls/alice/s1"))
        );
        registry.remove("alice", "s1");
        assert_eq!(registry.session_dir("alice"), None);
    }

    #[test]
    fn an_old_session_never_ends_or_removes_a_newer_one() {
        let registry = HlsRegistry::new();
        registry.publish("alice", "s1", PathBuf::from("/hls/alice/s1"));
        registry.publish("alice", "s2", PathBuf::from("/hls/alice/s2"));
        registry.end("alice", "s1");
        registry.remove("alice", "s1");
        assert!(registry.is_live("alice"));
        assert_eq!(
            registry.session_dir("alice"),
            Some(PathBuf::from("/hls/alice/s2"))
        );
        assert_eq!(registry.live_count(), 1);
    }
}
