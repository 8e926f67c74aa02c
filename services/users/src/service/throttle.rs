//! Rate limiting of the use cases that cost a password hash or write a secret: login, signup and
//! stream key rotation. Each attempt is counted in the shared store before any hashing happens,
//! so a flood is turned away for the price of one counter update per request.
//!
//! What is counted (limits in [`RateLimits`]):
//! - login: every attempt per client address; per login name, the attempts that were not a
//!   correct password (a success hands its count back). Only that second count shuts out the
//!   right password too, which is the point: a guesser spread over many addresses is stopped,
//!   at the price that they can keep one login name locked for as long as they keep guessing.
//! - signup: every valid form per client address (each is a hash and an existence check).
//! - stream key rotation: every attempt per account and per client address.
//!
//! The counters live in the same store as the accounts. When it does not answer, the request
//! fails as it would without limits (503): login and signup need the store anyway.

use std::{net::IpAddr, sync::Arc};

use chrono::{DateTime, Utc};

use crate::{
    domain::{Action, CounterKey, RateLimit, RateLimits, UserId, Verdict},
    ports::RateLimiter,
    service::{AccountError, AccountResult},
};

pub struct Throttle {
    limiter: Arc<dyn RateLimiter>,
    limits: RateLimits,
}

/// A counted attempt, which can be handed back when it turns out not to count.
pub struct Counted {
    id: String,
}

impl Throttle {
    pub fn new(limiter: Arc<dyn RateLimiter>, limits: RateLimits) -> Self {
        Self { limiter, limits }
    }

    /// Counts a login from `client` for the name typed in the login field; `Err(RateLimited)`
    /// when either count is over its limit. The returned count is the per-name one.
    pub async fn login(&self, client: IpAddr, login: &str) -> AccountResult<Counted> {
        self.count(
            Action::Login,
            CounterKey::address(Action::Login, client),
            self.limits.login_per_address,
        )
        .await?;
        self.count(
            Action::Login,
            CounterKey::login_name(login),
            self.limits.login_per_account,
        )
        .await
    }

    pub async fn signup(&self, client: IpAddr) -> AccountResult<()> {
        self.count(
            Action::Signup,
            CounterKey::address(Action::Signup, client),
            self.limits.signup_per_address,
        )
        .await?;
        Ok(())
    }

    pub async fn key_rotation(&self, client: IpAddr, user: &UserId) -> AccountResult<()> {
        self.count(
            Action::KeyRotation,
            CounterKey::address(Action::KeyRotation, client),
            self.limits.key_rotation_per_address,
        )
        .await?;
        self.count(
            Action::KeyRotation,
            CounterKey::user(Action::KeyRotation, user.as_str()),
            self.limits.key_rotation_per_account,
        )
        .await?;
        Ok(())
    }

    /// Hands a counted attempt back. A failure only leaves the count one too high until the
    /// window ends, so it is logged, not returned.
    pub async fn hand_back(&self, counted: Counted) {
        if let Err(error) = self.limiter.uncount(&counted.id).await {
            tracing::warn!(%error, "could not hand back a rate-limit count");
        }
    }

    async fn count(
        &self,
        action: Action,
        key: CounterKey,
        limit: RateLimit,
    ) -> AccountResult<Counted> {
        let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        let window = limit.window_at(now_ms);
        let id = key.in_window(window);
        let expires_at = i64::try_from(window.ends_at_ms)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or_else(Utc::now);
        let count = self.limiter.count(&id, expires_at).await?;
        match limit.judge(count, window, now_ms) {
            Verdict::Allowed => Ok(Counted { id }),
            Verdict::Limited {
                retry_after_seconds,
            } => {
                metrics::counter!("users_rate_limited_total", "action" => action.name())
                    .increment(1);
                Err(AccountError::RateLimited {
                    retry_after_seconds,
                })
            }
        }
    }
}
