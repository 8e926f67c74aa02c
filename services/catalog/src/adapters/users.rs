//! The [`Authenticator`] port on the users service's gRPC API (the shared typed client: service
//! token, 2 s deadline, failures split into rejected and unavailable), remembering the tokens
//! it has verified.
//!
//! A session token is a self-contained JWT the users service never revokes before it expires
//! (logout clears the cookie), so a token verified once stays valid until its expiry: each
//! replica keeps what it verified for up to [`REMEMBERED_FOR`] (never past the token's own
//! expiry), and a signed-in page's requests cost no round trip to the users service. Refusals
//! are not remembered. Tokens are kept by their SHA-256, never as written.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrocast_proto::client::{UsersAuth, UsersAuthError};
use futures::{future::BoxFuture, FutureExt};
use sha2::{Digest, Sha256};

use crate::ports::{AuthError, Authenticator, Caller};

/// How long a verified token is taken on trust.
pub const REMEMBERED_FOR: Duration = Duration::from_secs(60);
/// Verified tokens one replica remembers (about 200 bytes each).
const REMEMBERED: u64 = 100_000;

pub struct GrpcUsers {
    client: UsersAuth,
    /// Caller and the token's expiry (Unix seconds), by the token's SHA-256.
    verified: moka::future::Cache<[u8; 32], (Caller, i64)>,
}

impl GrpcUsers {
    pub fn new(client: UsersAuth) -> Self {
        Self {
            client,
            verified: moka::future::Cache::builder()
                .max_capacity(REMEMBERED)
                .time_to_live(REMEMBERED_FOR)
                .build(),
        }
    }
}

fn auth_error(error: UsersAuthError) -> AuthError {
    match error {
        UsersAuthError::Rejected => AuthError::Rejected,
        other => AuthError::Unavailable(other.to_string()),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Authenticator for GrpcUsers {
    fn validate_token<'a>(
        &'a self,
        token: &'a str,
        request_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Caller, AuthError>> {
        async move {
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            if let Some((caller, expires_at)) = self.verified.get(&digest).await {
                if expires_at > unix_now() {
                    return Ok(caller);
                }
                self.verified.invalidate(&digest).await;
            }
            let claims = self
                .client
                .validate_token(token, request_id)
                .await
                .map_err(auth_error)?;
            let caller = Caller {
                user_id: claims.user_id,
                username: claims.username,
            };
            if claims.expires_at > unix_now() {
                self.verified
                    .insert(digest, (caller.clone(), claims.expires_at))
                    .await;
            }
            Ok(caller)
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), AuthError>> {
        async move { self.client.ping().await.map_err(auth_error) }.boxed()
    }
}
