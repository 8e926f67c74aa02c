//! Rate limits of the password and key endpoints: what a limit is (`10/60` = ten per sixty
//! seconds), which fixed window an instant falls in, when a refused client may retry, and what a
//! count is keyed on. Pure arithmetic; the counters themselves live in the store (shared by every
//! replica) behind the `RateLimiter` port.
//!
//! Fixed windows: a counter per (key, window) is one atomic increment, and it expires on its
//! own with the window. The price is that a burst straddling a window boundary can reach twice
//! the limit within a short span; over any longer stretch the rate stays at `max` per window.

use std::{fmt, net::IpAddr, str::FromStr, time::Duration};

use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

use super::Login;

/// At most `max` events per `window`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

/// The longest window accepted: a day. Longer ones would keep a locked-out account locked for
/// longer than anyone would want, and count documents would pile up.
const MAX_WINDOW_SECONDS: u64 = 86_400;

impl RateLimit {
    pub const fn per_seconds(max: u32, seconds: u64) -> Self {
        Self {
            max,
            window: Duration::from_secs(seconds),
        }
    }

    fn window_ms(&self) -> u64 {
        // At least 1 ms: parsing refuses a zero window, and this keeps the division defined
        // for values built in code.
        u64::try_from(self.window.as_millis()).map_or(u64::MAX, |ms| ms.max(1))
    }

    /// The window `now_ms` (milliseconds since the Unix epoch) falls in.
    pub fn window_at(&self, now_ms: u64) -> Window {
        let length = self.window_ms();
        let index = now_ms / length;
        Window {
            index,
            ends_at_ms: index.saturating_add(1).saturating_mul(length),
        }
    }

    /// Whether the `count`th event of `window` (1-based, this one included) is refused, and
    /// when to retry if so.
    pub fn judge(&self, count: u64, window: Window, now_ms: u64) -> Verdict {
        if count <= u64::from(self.max) {
            Verdict::Allowed
        } else {
            Verdict::Limited {
                retry_after_seconds: window.retry_after_seconds(now_ms),
            }
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `<max>/<seconds>`, e.g. `10/60`; `max` ≥ 1, `seconds` from 1 to 86400.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{raw:?} is not <count>/<seconds> (e.g. 10/60)");
        let (max, seconds) = raw.trim().split_once('/').ok_or_else(invalid)?;
        let max: u32 = max.trim().parse().map_err(|_| invalid())?;
        let seconds: u64 = seconds.trim().parse().map_err(|_| invalid())?;
        if max == 0 {
            return Err(format!("{raw:?}: the count must be at least 1"));
        }
        if !(1..=MAX_WINDOW_SECONDS).contains(&seconds) {
            return Err(format!(
                "{raw:?}: the window must be 1 to {MAX_WINDOW_SECONDS} seconds"
            ));
        }
        Ok(Self::per_seconds(max, seconds))
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max, self.window.as_secs())
    }
}

/// One fixed window of a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `now / window length`: the same for every replica at the same instant.
    pub index: u64,
    pub ends_at_ms: u64,
}

impl Window {
    /// Whole seconds until the window ends, rounded up and at least 1 (`Retry-After: 0` would
    /// invite an immediate retry that is refused again).
    pub fn retry_after_seconds(&self, now_ms: u64) -> u64 {
        self.ends_at_ms.saturating_sub(now_ms).div_ceil(1000).max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Limited { retry_after_seconds: u64 },
}

/// Every limit the service applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Failed (and in-flight) logins per login name, whatever the address.
    pub login_per_account: RateLimit,
    /// Login attempts per client address, whatever the account.
    pub login_per_address: RateLimit,
    /// Signups per client address.
    pub signup_per_address: RateLimit,
    /// Stream key rotations per account.
    pub key_rotation_per_account: RateLimit,
    /// Stream key rotations per client address.
    pub key_rotation_per_address: RateLimit,
}

impl Default for RateLimits {
    /// The production defaults (docs/api.md). Ten failed logins a minute per account lets a
    /// person who mistypes retry for a while yet caps a guesser at 14 400 guesses a day per
    /// login name; thirty attempts a minute per address leaves room for a few people behind
    /// one NAT. Ten signups per ten minutes per address is more than a household or classroom
    /// creating accounts needs. A key is rotated by hand, rarely: five a minute is plenty.
    fn default() -> Self {
        Self {
            login_per_account: RateLimit::per_seconds(10, 60),
            login_per_address: RateLimit::per_seconds(30, 60),
            signup_per_address: RateLimit::per_seconds(10, 600),
            key_rotation_per_account: RateLimit::per_seconds(5, 60),
            key_rotation_per_address: RateLimit::per_seconds(5, 60),
        }
    }
}

impl RateLimits {
    /// Limits no test reaches: in-process tests make hundreds of accounts and logins from the
    /// one loopback address. The rate-limit tests set [`RateLimits::default`] explicitly.
    pub fn generous() -> Self {
        let lots = RateLimit::per_seconds(1_000_000, 60);
        Self {
            login_per_account: lots,
            login_per_address: lots,
            signup_per_address: lots,
            key_rotation_per_account: lots,
            key_rotation_per_address: lots,
        }
    }
}

/// What a counter counts: an action by a subject, e.g. logins from one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    Signup,
    KeyRotation,
}

impl Action {
    /// The counter prefix and the `action` label of `users_rate_limited_total`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Signup => "signup",
            Self::KeyRotation => "key_rotation",
        }
    }
}

/// The key of one counter (without its window), e.g. `login:addr:203.0.113.9`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterKey(String);

impl CounterKey {
    /// Per client address. An IPv6 client is counted by its /64: one subscriber usually gets a
    /// whole /64, so counting single addresses would hand an attacker 2^64 fresh counts.
    pub fn address(action: Action, address: IpAddr) -> Self {
        let address = match address {
            IpAddr::V6(v6) => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                format!("{}/64", std::net::Ipv6Addr::from(octets))
            }
            v4 => v4.to_string(),
        };
        Self(format!("{}:addr:{address}", action.name()))
    }

    /// Per account, named by what the client typed in the login field, folded the way the
    /// store folds it (a username's and an email's case do not matter). Whether the account
    /// exists plays no part, so the count and its 429 are the same for unknown names. The name
    /// is hashed: the counters must not become a list of emails, and a 64 KiB login must not
    /// become a 64 KiB key.
    pub fn login_name(raw: &str) -> Self {
        let folded = match Login::parse(raw) {
            Some(Login::Username(username)) => username.as_str().to_owned(),
            Some(Login::Email(email)) => email.as_str().to_owned(),
            None => raw.trim().to_lowercase(),
        };
        Self(format!(
            "{}:account:{}",
            Action::Login.name(),
            hex::encode(Sha256::digest(folded.as_bytes()))
        ))
    }

    /// Per account, by user id (for actions of a logged-in user).
    pub fn user(action: Action, user_id: &str) -> Self {
        Self(format!("{}:user:{user_id}", action.name()))
    }

    /// The counter's document id in `window`.
    pub fn in_window(&self, window: Window) -> String {
        format!("{}:{}", self.0, window.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_from_count_slash_seconds() {
        let limit: RateLimit = "10/60".parse().unwrap();
        assert_eq!(limit, RateLimit::per_seconds(10, 60));
        assert_eq!(" 5 / 600 ".parse::<RateLimit>().unwrap().max, 5);
        for bad in [
            "", "10", "10/", "/60", "0/60", "10/0", "10/86401", "-1/60", "ten/60",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_replica_puts_an_instant_in_the_same_window() {
        let limit = RateLimit::per_seconds(10, 60);
        let window = limit.window_at(125_000);
        assert_eq!(
            window,
            Window {
                index: 2,
                ends_at_ms: 180_000
            }
        );
        assert_eq!(limit.window_at(179_999), window);
        assert_eq!(limit.window_at(180_000).index, 3);
    }

    #[test]
    fn the_count_past_the_limit_is_refused_until_the_window_ends() {
        let limit = RateLimit::per_seconds(3, 60);
        let now = 125_000;
        let window = limit.window_at(now);
        assert_eq!(limit.judge(1, window, now), Verdict::Allowed);
        assert_eq!(limit.judge(3, window, now), Verdict::Allowed);
        assert_eq!(
            limit.judge(4, window, now),
            Verdict::Limited {
                retry_after_seconds: 55
            }
        );
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let window = Window {
            index: 0,
            ends_at_ms: 60_000,
        };
        assert_eq!(window.retry_after_seconds(58_001), 2);
        assert_eq!(window.retry_after_seconds(59_999), 1);
        assert_eq!(window.retry_after_seconds(60_000), 1);
        assert_eq!(window.retry_after_seconds(70_000), 1);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a = CounterKey::address(Action::Login, "2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = CounterKey::address(Action::Login, "2001:db8:1:2:bbbb::9".parse().unwrap());
        let other = CounterKey::address(Action::Login, "2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(
            CounterKey::address(Action::Signup, "203.0.113.9".parse().unwrap()).0,
            "signup:addr:203.0.113.9"
        );
    }

    #[test]
    fn login_names_fold_like_the_store_and_are_hashed() {
        assert_eq!(
            CounterKey::login_name("Alice"),
            CounterKey::login_name("alice")
        );
        assert_eq!(
            CounterKey::login_name(" Alice@Example.COM"),
            CounterKey::login_name("alice@example.com")
        );
        assert_ne!(
            CounterKey::login_name("alice"),
            CounterKey::login_name("alice@example.com")
        );
        let key = CounterKey::login_name("alice@example.com");
        assert!(!key.0.contains("alice"), "{key:?}");
        assert!(CounterKey::login_name(&"x".repeat(65_536)).0.len() < 100);
    }

    #[test]
    fn actions_and_windows_get_their_own_counters() {
        let key = CounterKey::user(Action::KeyRotation, "u1");
        let limit = RateLimit::per_seconds(5, 60);
        assert_eq!(
            key.in_window(limit.window_at(61_000)),
            "key_rotation:user:u1:1"
        );
        assert_ne!(
            CounterKey::address(Action::Login, "192.0.2.1".parse().unwrap()),
            CounterKey::address(Action::Signup, "192.0.2.1".parse().unwrap())
        );
    }
}
