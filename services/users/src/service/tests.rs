//! The login use case against fakes of its ports: what reaches the password hasher, and which
//! rate-limit counts are kept or handed back. No store, no argon2, no clock games.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Mutex,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::*;
use crate::{
    adapters::tokens::JwtIssuer,
    domain::{Email, PasswordHash, RateLimit, RateLimits, StreamKeyHash},
    ports::{RateLimiter, StoreResult},
};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
const RIGHT: &str = "correct horse";

/// Hashes are the password itself behind a marker; every check is recorded.
#[derive(Default)]
struct FakeHasher {
    /// Whether each check was against a stored hash (`true`) or the unknown-user stand-in.
    checks: Mutex<Vec<bool>>,
}

impl PasswordHasher for FakeHasher {
    fn hash(&self, password: Password) -> BoxFuture<'_, Result<PasswordHash, HashError>> {
        let phc = format!("fake${}", String::from_utf8_lossy(password.expose()));
        Box::pin(async move { Ok(PasswordHash::from_phc(phc)) })
    }

    fn verify(
        &self,
        password: Password,
        hash: Option<PasswordHash>,
    ) -> BoxFuture<'_, Result<bool, HashError>> {
        if let Ok(mut checks) = self.checks.lock() {
            checks.push(hash.is_some());
        }
        let typed = format!("fake${}", String::from_utf8_lossy(password.expose()));
        Box::pin(async move { Ok(hash.is_some_and(|hash| hash.as_str() == typed)) })
    }
}

impl FakeHasher {
    fn checks(&self) -> Vec<bool> {
        self.checks.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// One user, alice, whose password is [`RIGHT`].
struct OneUser {
    alice: User,
}

impl OneUser {
    fn new() -> Self {
        Self {
            alice: User {
                id: UserId::generate(),
                username: Username::parse("alice").unwrap(),
                email: Email::parse("alice@example.com").unwrap(),
                created_at: Utc::now(),
            },
        }
    }
}

impl UserStore for OneUser {
    fn insert(&self, _: &User, _: &PasswordHash) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async { Ok(()) })
    }

    fn credentials(
        &self,
        login: &Login,
    ) -> BoxFuture<'_, StoreResult<Option<(User, PasswordHash)>>> {
        let found = matches!(login, Login::Username(name) if name.as_str() == "alice").then(|| {
            (
                self.alice.clone(),
                PasswordHash::from_phc(format!("fake${RIGHT}")),
            )
        });
        Box::pin(async move { Ok(found) })
    }

    fn by_id(&self, _: &UserId) -> BoxFuture<'_, StoreResult<Option<User>>> {
        Box::pin(async { Ok(None) })
    }

    fn by_username(&self, _: &Username) -> BoxFuture<'_, StoreResult<Option<User>>> {
        Box::pin(async { Ok(None) })
    }

    fn by_stream_key(&self, _: &StreamKeyHash) -> BoxFuture<'_, StoreResult<Option<User>>> {
        Box::pin(async { Ok(None) })
    }

    fn set_stream_key(
        &self,
        _: &UserId,
        _: &StreamKeyHash,
        _: &str,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async { Ok(false) })
    }

    fn stream_key_info(&self, _: &UserId) -> BoxFuture<'_, StoreResult<Option<StreamKeyInfo>>> {
        Box::pin(async { Ok(None) })
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Every counter answers `count` (so a count above a limit refuses everything); hand-backs are
/// counted.
struct FixedCount {
    count: u64,
    handed_back: AtomicUsize,
    counted: AtomicU64,
}

impl FixedCount {
    fn new(count: u64) -> Self {
        Self {
            count,
            handed_back: AtomicUsize::new(0),
            counted: AtomicU64::new(0),
        }
    }
}

impl RateLimiter for FixedCount {
    fn count(&self, _: &str, _: DateTime<Utc>) -> BoxFuture<'_, StoreResult<u64>> {
        self.counted.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(self.count) })
    }

    fn uncount(&self, _: &str) -> BoxFuture<'_, StoreResult<()>> {
        self.handed_back.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

fn accounts(count: u64) -> (Accounts, Arc<FakeHasher>, Arc<FixedCount>) {
    let hasher = Arc::new(FakeHasher::default());
    let limiter = Arc::new(FixedCount::new(count));
    let limits = RateLimits {
        login_per_account: RateLimit::per_seconds(10, 60),
        ..RateLimits::default()
    };
    let accounts = Accounts::new(
        Arc::new(OneUser::new()),
        hasher.clone(),
        Arc::new(JwtIssuer::new(&[7; 32], Duration::from_secs(60))),
        Throttle::new(limiter.clone(), limits),
    );
    (accounts, hasher, limiter)
}

#[tokio::test]
async fn the_right_password_logs_in_and_hands_its_count_back() {
    let (accounts, hasher, limiter) = accounts(1);
    let (user, token) = accounts.login("alice", RIGHT.into(), CLIENT).await.unwrap();
    assert_eq!(user.username.as_str(), "alice");
    assert_eq!(
        accounts
            .authenticate(token.expose_secret())
            .unwrap()
            .user_id,
        user.id
    );
    assert_eq!(hasher.checks(), [true]);
    assert_eq!(limiter.handed_back.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_user_costs_one_check_and_reads_like_a_wrong_password() {
    let (accounts, hasher, limiter) = accounts(1);
    let unknown = accounts.login("bob", RIGHT.into(), CLIENT).await;
    assert!(matches!(unknown, Err(AccountError::InvalidCredentials)));
    let wrong = accounts.login("alice", "wrong horse".into(), CLIENT).await;
    assert!(matches!(wrong, Err(AccountError::InvalidCredentials)));
    // Both cost one check: the unknown user's against the stand-in, the other's for real.
    assert_eq!(hasher.checks(), [false, true]);
    // Neither hands its count back: failed guesses keep counting against the name.
    assert_eq!(limiter.handed_back.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_rate_limited_login_never_reaches_the_hasher() {
    let (accounts, hasher, limiter) = accounts(u64::MAX);
    let refused = accounts.login("alice", RIGHT.into(), CLIENT).await;
    assert!(
        matches!(refused, Err(AccountError::RateLimited { retry_after_seconds }) if retry_after_seconds >= 1),
        "{refused:?}"
    );
    assert!(hasher.checks().is_empty());
    // The per-address count refused it; the per-name count was never taken.
    assert_eq!(limiter.counted.load(Ordering::SeqCst), 1);
}
