//! What an access token is to the use cases: an opaque signed string handed to the caller
//! ([`AccessToken`]) and what a valid one says ([`VerifiedToken`]). How tokens are signed and
//! checked is the token issuer's business (`ports::TokenIssuer`).

use std::fmt;

use super::{UserId, Username};

/// A signed access token. No `Display`; `Debug` is redacted.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token string the issuer has just signed.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// What a valid token says.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub user_id: UserId,
    pub username: Username,
    pub issued_at: i64,
    pub expires_at: i64,
    pub token_id: String,
}
