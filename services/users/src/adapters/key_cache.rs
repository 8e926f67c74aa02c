//! A short-lived memory of who owns a stream key, in front of the document store.
//!
//! Every publish, every rooms callback check and every periodic re-check of a live stream asks
//! who owns a key; each answer cost a document-store round trip, which held the gRPC
//! `AuthenticateStreamKey` p99 far above its 2 ms target at 1 000 requests a second. Only positive
//! answers are remembered: a key that just became valid is never refused from memory.
//!
//! A rotation through this service forgets every remembered owner before it returns, so the old
//! key stops working at once here. Another replica of the users service may still accept an old
//! key for up to the time-to-live; that bound is why it is short (`FERROCAST_USERS_STREAM_KEY_CACHE_MS`,
//! 0 turns the cache off).

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::{future::BoxFuture, FutureExt};

use crate::{
    domain::{Login, PasswordHash, StreamKeyHash, StreamKeyInfo, User, UserId, Username},
    ports::{StoreResult, UserStore},
};

/// Enough distinct live keys for a large deployment; each entry is a few hundred bytes.
const MAX_ENTRIES: u64 = 100_000;

pub struct CachedStreamKeys {
    store: Arc<dyn UserStore>,
    owners: moka::future::Cache<String, User>,
    /// Bumped around every key change: a lookup that overlapped a rotation does not store what
    /// it read, which may be the owner of the key just replaced.
    rotations: AtomicU64,
}

impl CachedStreamKeys {
    pub fn new(store: Arc<dyn UserStore>, time_to_live: Duration) -> Self {
        Self {
            store,
            owners: moka::future::Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(time_to_live)
                .build(),
            rotations: AtomicU64::new(0),
        }
    }

    async fn owner(&self, hash: &StreamKeyHash) -> StoreResult<Option<User>> {
        if let Some(user) = self.owners.get(hash.as_str()).await {
            return Ok(Some(user));
        }
        let generation = self.rotations.load(Ordering::SeqCst);
        let found = self.store.by_stream_key(hash).await?;
        if let Some(user) = &found {
            if self.rotations.load(Ordering::SeqCst) == generation {
                self.owners
                    .insert(hash.as_str().to_owned(), user.clone())
                    .await;
                // A rotation may have started and forgotten everything between the check and
                // the insert: then this entry may name the old key's owner, so drop it again.
                if self.rotations.load(Ordering::SeqCst) != generation {
                    self.owners.invalidate(hash.as_str()).await;
                }
            }
        }
        Ok(found)
    }

    async fn replace_key(
        &self,
        id: &UserId,
        hash: &StreamKeyHash,
        prefix: &str,
        created_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.rotations.fetch_add(1, Ordering::SeqCst);
        let result = self
            .store
            .set_stream_key(id, hash, prefix, created_at)
            .await;
        // Rotations are rare: forgetting everyone is simpler than an index by user and cannot
        // miss an entry.
        self.rotations.fetch_add(1, Ordering::SeqCst);
        self.owners.invalidate_all();
        result
    }
}

impl UserStore for CachedStreamKeys {
    fn insert(&self, user: &User, password_hash: &PasswordHash) -> BoxFuture<'_, StoreResult<()>> {
        self.store.insert(user, password_hash)
    }

    fn credentials(
        &self,
        login: &Login,
    ) -> BoxFuture<'_, StoreResult<Option<(User, PasswordHash)>>> {
        self.store.credentials(login)
    }

    fn by_id(&self, id: &UserId) -> BoxFuture<'_, StoreResult<Option<User>>> {
        self.store.by_id(id)
    }

    fn by_username(&self, username: &Username) -> BoxFuture<'_, StoreResult<Option<User>>> {
        self.store.by_username(username)
    }

    fn by_stream_key(&self, hash: &StreamKeyHash) -> BoxFuture<'_, StoreResult<Option<User>>> {
        let hash = hash.clone();
        async move { self.owner(&hash).await }.boxed()
    }

    fn set_stream_key(
        &self,
        id: &UserId,
        hash: &StreamKeyHash,
        prefix: &str,
        created_at: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        let (id, hash, prefix) = (id.clone(), hash.clone(), prefix.to_owned());
        async move { self.replace_key(&id, &hash, &prefix, created_at).await }.boxed()
    }

    fn stream_key_info(&self, id: &UserId) -> BoxFuture<'_, StoreResult<Option<StreamKeyInfo>>> {
        self.store.stream_key_info(id)
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        self.store.ping()
    }
}
