//! The `PasswordHasher` port on argon2id, off the async runtime.
//!
//! One hash costs tens of milliseconds of CPU and 19 MiB of memory (OWASP's minimum: m = 19 MiB,
//! t = 2, p = 1), so every hash runs on `spawn_blocking` behind a semaphore (one fewer than the
//! cores, see `startup`): a login flood queues here instead of starving every other request.
//! The queue is bounded in time, not length: a hash that cannot start within `queue_limit` is
//! refused with [`HashError::Busy`] (503 + `Retry-After`), so a flood is answered before the
//! gateway's response deadline instead of timing out there after the work was queued anyway.
//! Unknown users are checked against a dummy hash so "no such user" costs the same time as
//! "wrong password".

use std::{sync::Arc, time::Duration};

use argon2::{
    password_hash::{
        rand_core::OsRng, PasswordHash as PhcString, PasswordHasher as _, PasswordVerifier as _,
        SaltString,
    },
    Algorithm, Argon2, Params, Version,
};
use futures::future::BoxFuture;
use tokio::sync::Semaphore;

use crate::{
    domain::{Password, PasswordHash},
    ports::{HashError, PasswordHasher},
};

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

#[derive(Clone)]
pub struct Argon2Hasher {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    queue_limit: Duration,
    dummy: PasswordHash,
}

impl Argon2Hasher {
    /// `concurrency` hashes may run at once (normally one fewer than the cores); one that waits
    /// longer than `queue_limit` for its turn is refused.
    pub async fn new(concurrency: usize, queue_limit: Duration) -> Result<Self, HashError> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|e| HashError::Internal(e.to_string()))?;
        let mut hasher = Self {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_limit,
            dummy: PasswordHash::from_phc(String::new()),
        };
        // A random password nobody knows: verifying against it always fails, at full cost.
        let secret = uuid::Uuid::new_v4().to_string();
        let dummy = Password::for_login(secret)
            .ok_or_else(|| HashError::Internal("dummy password too long".into()))?;
        hasher.dummy = hasher.hash(dummy).await?;
        Ok(hasher)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = tokio::time::timeout(self.queue_limit, self.permits.acquire())
            .await
            .map_err(|_| {
                metrics::counter!("users_password_checks_shed_total").increment(1);
                HashError::Busy
            })?
            .map_err(|_| HashError::Internal("hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError::Internal(e.to_string()))
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: Password) -> BoxFuture<'_, Result<PasswordHash, HashError>> {
        let argon = self.argon.clone();
        Box::pin(async move {
            self.blocking(move || {
                let salt = SaltString::generate(&mut OsRng);
                argon
                    .hash_password(password.expose(), &salt)
                    .map(|phc| PasswordHash::from_phc(phc.to_string()))
                    .map_err(|e| HashError::Internal(e.to_string()))
            })
            .await?
        })
    }

    fn verify(
        &self,
        password: Password,
        hash: Option<PasswordHash>,
    ) -> BoxFuture<'_, Result<bool, HashError>> {
        let known = hash.is_some();
        let phc = hash.unwrap_or_else(|| self.dummy.clone());
        let argon = self.argon.clone();
        Box::pin(async move {
            let matches = self
                .blocking(move || {
                    PhcString::new(phc.as_str())
                        .map(|parsed| argon.verify_password(password.expose(), &parsed).is_ok())
                        .map_err(|e| HashError::Internal(format!("stored hash unreadable: {e}")))
                })
                .await??;
            Ok(known && matches)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE_LIMIT: Duration = Duration::from_secs(30);

    fn password(text: &str) -> Password {
        Password::parse(text.to_owned()).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hasher = Argon2Hasher::new(2, QUEUE_LIMIT).await.unwrap();
        let hash = hasher.hash(password("correct horse")).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher
            .verify(password("correct horse"), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify(password("wrong horse!"), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = Argon2Hasher::new(1, QUEUE_LIMIT).await.unwrap();
        assert!(!hasher
            .verify(password("anything at all"), None)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_check_that_cannot_start_within_the_queue_limit_is_refused_as_busy() {
        let hasher = Argon2Hasher::new(1, Duration::from_millis(50))
            .await
            .unwrap();
        let taken = hasher.permits.clone().acquire_owned().await.unwrap();
        let refused = hasher.verify(password("anything at all"), None).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        // Once the slot is free again, checks run as before.
        drop(taken);
        assert!(!hasher
            .verify(password("anything at all"), None)
            .await
            .unwrap());
    }
}
