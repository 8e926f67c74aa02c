//! A short-lived cache in front of an [`OriginDirectory`].
//!
//! Every viewer fetches a playlist every segment (≈ 1–2 s) and a segment as often, so without a
//! cache rooms would see one lookup per HLS request. Answers — offline ones too — are kept for a
//! TTL of about a second: a stream that starts is visible within a second, and one that moves to
//! another node is followed as fast. Concurrent requests for the same user share one lookup, so
//! an expiring entry under a crowd costs one request to rooms, not one per viewer. Failures are
//! not cached: the next request asks again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::{sync::OnceCell, time::Instant};

use crate::{
    domain::{origin::Origin, username::Username},
    ports::{OriginDirectory, OriginLookup},
};

/// Bound on remembered users, so requests for many made-up names cannot grow memory without end.
const MAX_ENTRIES: usize = 10_000;

pub struct CachedDirectory<D> {
    inner: D,
    ttl: Duration,
    entries: Mutex<HashMap<Username, Entry>>,
}

struct Entry {
    created: Instant,
    answer: Arc<OnceCell<Option<Origin>>>,
}

impl<D: OriginDirectory> CachedDirectory<D> {
    pub fn new(inner: D, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The shared answer slot for `username`, fresh or reused while younger than the TTL.
    fn slot(&self, username: &Username) -> Arc<OnceCell<Option<Origin>>> {
        // The map holds no invariant a panicking holder could break, so a poisoned lock is usable.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if let Some(entry) = entries.get(username) {
            if now.duration_since(entry.created) < self.ttl {
                return entry.answer.clone();
            }
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now.duration_since(e.created) < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let answer = Arc::new(OnceCell::new());
        entries.insert(
            username.clone(),
            Entry {
                created: now,
                answer: answer.clone(),
            },
        );
        answer
    }
}

impl<D: OriginDirectory> OriginDirectory for CachedDirectory<D> {
    fn origin<'a>(&'a self, username: &'a Username) -> OriginLookup<'a> {
        Box::pin(async move {
            let slot = self.slot(username);
            slot.get_or_try_init(|| self.inner.origin(username))
                .await
                .cloned()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ports::DirectoryError;

    /// Answers "live at http://node" for `alice`, offline otherwise, or fails; counts lookups.
    #[derive(Default)]
    struct Counting {
        calls: AtomicUsize,
        failing: std::sync::atomic::AtomicBool,
    }

    impl OriginDirectory for Arc<Counting> {
        fn origin<'a>(&'a self, username: &'a Username) -> OriginLookup<'a> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                if self.failing.load(Ordering::SeqCst) {
                    return Err(DirectoryError::Unreachable("down".into()));
                }
                Ok((username.as_str() == "alice")
                    .then(|| Origin::parse("http://node").expect("valid origin")))
            })
        }
    }

    fn user(name: &str) -> Username {
        Username::parse(name).expect("valid username")
    }

    // On tokio's paused clock (the cache reads tokio's Instant): the TTL is crossed exactly.
    #[tokio::test(start_paused = true)]
    async fn answers_are_reused_within_the_ttl_and_refreshed_after() {
        let inner = Arc::new(Counting::default());
        let cache = CachedDirectory::new(inner.clone(), Duration::from_millis(300));
        for _ in 0..5 {
            assert!(cache
                .origin(&user("alice"))
                .await
                .expect("lookup")
                .is_some());
            assert!(cache
                .origin(&user("bob_1"))
                .await
                .expect("lookup")
                .is_none());
        }
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2, "one lookup per user");
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(cache
            .origin(&user("bob_1"))
            .await
            .expect("lookup")
            .is_none());
        assert_eq!(inner.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_lookup() {
        let inner = Arc::new(Counting::default());
        let cache = CachedDirectory::new(inner.clone(), Duration::from_secs(1));
        let alice = user("alice");
        let answers = futures::future::join_all((0..20).map(|_| cache.origin(&alice))).await;
        assert!(answers.iter().all(|a| matches!(a, Ok(Some(_)))));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let inner = Arc::new(Counting::default());
        inner.failing.store(true, Ordering::SeqCst);
        let cache = CachedDirectory::new(inner.clone(), Duration::from_secs(1));
        assert!(cache.origin(&user("alice")).await.is_err());
        inner.failing.store(false, Ordering::SeqCst);
        assert!(cache
            .origin(&user("alice"))
            .await
            .expect("lookup")
            .is_some());
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }
}
