//! The ports the use cases need: where users live, where the rate-limit counters every replica
//! shares are kept, how passwords are hashed and how access tokens are signed. The adapters
//! (MongoDB, argon2, JWT) implement them; the traits keep the use cases free of driver and crypto
//! types, and let them be tested with fakes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::domain::{
    AccessToken, Login, Password, PasswordHash, StreamKeyHash, StreamKeyInfo, User, UserId,
    Username, VerifiedToken,
};

/// A field whose uniqueness the store enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    Username,
    Email,
    StreamKey,
}

impl UniqueField {
    pub fn name(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Email => "email",
            Self::StreamKey => "stream_key",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the write: the value is taken.
    #[error("{} already taken", .0.name())]
    Conflict(UniqueField),
    /// The store did not answer (down, unreachable, timed out): callers answer 503/UNAVAILABLE.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with something we did not expect: a bug or a corrupt document.
    #[error("store error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait UserStore: Send + Sync + 'static {
    /// Inserts a user; uniqueness of username and email is decided by the store's unique
    /// indexes (never check-then-insert, which races).
    fn insert(&self, user: &User, password_hash: &PasswordHash) -> BoxFuture<'_, StoreResult<()>>;

    /// The user and their password hash for a login identifier.
    fn credentials(
        &self,
        login: &Login,
    ) -> BoxFuture<'_, StoreResult<Option<(User, PasswordHash)>>>;

    fn by_id(&self, id: &UserId) -> BoxFuture<'_, StoreResult<Option<User>>>;

    fn by_username(&self, username: &Username) -> BoxFuture<'_, StoreResult<Option<User>>>;

    fn by_stream_key(&self, hash: &StreamKeyHash) -> BoxFuture<'_, StoreResult<Option<User>>>;

    /// Replaces the user's stream key (the old one stops working at once). `false` when the
    /// user does not exist.
    fn set_stream_key(
        &self,
        id: &UserId,
        hash: &StreamKeyHash,
        prefix: &str,
        created_at: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<bool>>;

    fn stream_key_info(&self, id: &UserId) -> BoxFuture<'_, StoreResult<Option<StreamKeyInfo>>>;

    /// Answers quickly whether the store is reachable (readiness).
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
}

/// Counters of rate-limited actions, shared by every replica (so a limit holds however many
/// replicas a client's requests are spread over). Each counter belongs to one fixed window and
/// is removed by the store once the window is over.
pub trait RateLimiter: Send + Sync + 'static {
    /// Atomically adds one to the counter `id` (created at 0 when absent, kept until
    /// `expires_at`) and returns the new count.
    fn count(&self, id: &str, expires_at: DateTime<Utc>) -> BoxFuture<'_, StoreResult<u64>>;

    /// Takes one back from the counter `id`, if it still exists (an attempt that turned out not
    /// to count, such as a login with the right password).
    fn uncount(&self, id: &str) -> BoxFuture<'_, StoreResult<()>>;
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed taken for the whole queue limit: the caller should retry later.
    #[error("too many password checks at once")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Turns passwords into the hashes that are stored, and checks them. Hashing is deliberately
/// expensive, so an implementation bounds how many run at once and refuses ([`HashError::Busy`])
/// rather than queueing without limit.
pub trait PasswordHasher: Send + Sync + 'static {
    fn hash(&self, password: Password) -> BoxFuture<'_, Result<PasswordHash, HashError>>;

    /// Whether `password` matches `hash`. With no hash (unknown user) it still costs what a
    /// real check costs, so "no such user" cannot be told from "wrong password" by timing, and
    /// the answer is always `false`.
    fn verify(
        &self,
        password: Password,
        hash: Option<PasswordHash>,
    ) -> BoxFuture<'_, Result<bool, HashError>>;
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token")]
    Invalid,
    #[error("token signing failed: {0}")]
    Signing(String),
}

/// Issues the access tokens login hands out and verifies them on every request, without the
/// store.
pub trait TokenIssuer: Send + Sync + 'static {
    /// How long an issued token stays valid.
    fn lifetime(&self) -> Duration;

    fn issue(&self, user: &User) -> Result<AccessToken, TokenError>;

    fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError>;
}
