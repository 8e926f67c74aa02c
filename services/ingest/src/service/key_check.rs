//! Re-checking a live session's stream key on every lease renewal, so rotating the key
//! (`POST /api/users/me/stream-key`) cuts a stream that still uses the old one
//! (ARCHITECTURE.md: "Rotation cuts an active stream using the old key").
//!
//! Users tells no one about a rotation, so the session asks: the same `AuthenticateStreamKey`
//! the publish passed, once per renewal tick, from the renewal task (never the RTMP read loop).
//! The answers are asymmetric on purpose: a clear "no such key" (or a key that now names another
//! user) ends the session, while an outage or a slow answer keeps it streaming — an admitted
//! stream must survive a users outage (reliability case A2); only new publishes fail closed.

use std::time::Duration;

use crate::ports::{AuthError, KeyAuthenticator, Publisher};

use super::StreamKey;

/// What one check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Users vouched for the key and it still names the session's user.
    Valid,
    /// Users did not answer in time; the session goes on until it does.
    Unknown,
    /// The key no longer authenticates the session's user: end the session.
    Revoked,
}

/// The key a session authenticated with, and whether users was last seen down (so an outage is
/// logged once, not on every tick).
pub struct KeyCheck {
    key: StreamKey,
    timeout: Duration,
    users_down: bool,
}

impl KeyCheck {
    /// `timeout` bounds each check (the renewal period), whatever deadline the adapter has, so
    /// a hung users service cannot stretch the renewal loop.
    pub fn new(key: StreamKey, timeout: Duration) -> Self {
        Self {
            key,
            timeout,
            users_down: false,
        }
    }

    pub async fn check(
        &mut self,
        authenticator: &dyn KeyAuthenticator,
        publisher: &Publisher,
    ) -> KeyStatus {
        let answer = tokio::time::timeout(self.timeout, authenticator.authenticate(&self.key))
            .await
            .unwrap_or_else(|_| Err(AuthError::Unavailable("no answer in time".into())));
        match answer {
            Ok(owner) if owner.user_id == publisher.user_id => {
                if std::mem::take(&mut self.users_down) {
                    tracing::info!(
                        username = %publisher.username,
                        session_id = %publisher.session_id,
                        "users service answers again; stream key still valid"
                    );
                }
                KeyStatus::Valid
            }
            // Keys are random, so this is not expected; but a key that names someone else must
            // not keep this user's room alive. The other user is not logged.
            Ok(_) => {
                tracing::warn!(
                    username = %publisher.username,
                    session_id = %publisher.session_id,
                    "stream key now belongs to another user; ending the stream"
                );
                KeyStatus::Revoked
            }
            Err(AuthError::Rejected) => {
                tracing::info!(
                    username = %publisher.username,
                    session_id = %publisher.session_id,
                    "stream key was rotated; ending the stream"
                );
                KeyStatus::Revoked
            }
            Err(AuthError::Unavailable(reason)) => {
                if !std::mem::replace(&mut self.users_down, true) {
                    tracing::warn!(
                        %reason,
                        username = %publisher.username,
                        session_id = %publisher.session_id,
                        "cannot re-check the stream key: users service unavailable; keeping the stream"
                    );
                }
                KeyStatus::Unknown
            }
        }
    }
}
