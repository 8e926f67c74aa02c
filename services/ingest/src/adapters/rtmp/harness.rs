//! The guard + rml_rtmp `ServerSession` combination without sockets, for the randomized test
//! under `cargo test` and the `cargo fuzz` targets: bytes go through the guard first and reach
//! rml only when it accepted them, connect and publish requests are accepted the way the
//! connection does it (so the post-publish paths run too). A panic anywhere is the bug.

use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};

use super::guard::{ChunkGuard, GuardLimits};

/// How far an input got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every piece passed the guard and rml.
    Accepted,
    /// The guard refused a piece (the connection would close).
    Refused,
    /// rml returned an error (the connection would close).
    RmlError,
}

/// Feeds `pieces` in order, as consecutive socket reads after the handshake.
pub fn guard_then_session<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut guard = ChunkGuard::new(GuardLimits::default());
    let Ok((mut session, _)) = ServerSession::new(ServerSessionConfig::new()) else {
        return Outcome::RmlError;
    };
    for piece in pieces {
        if guard.feed(piece).is_err() {
            return Outcome::Refused;
        }
        let Ok(results) = session.handle_input(piece) else {
            return Outcome::RmlError;
        };
        for result in results {
            let ServerSessionResult::RaisedEvent(event) = result else {
                continue;
            };
            let request = match event {
                ServerSessionEvent::ConnectionRequested { request_id, .. } => request_id,
                ServerSessionEvent::PublishStreamRequested { request_id, .. } => {
                    guard.authorise();
                    request_id
                }
                _ => continue,
            };
            if session.accept_request(request).is_err() {
                return Outcome::RmlError;
            }
        }
    }
    Outcome::Accepted
}

/// The guard alone, on consecutive reads.
pub fn guard_only<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut guard = ChunkGuard::new(GuardLimits::default());
    for piece in pieces {
        if guard.feed(piece).is_err() {
            return Outcome::Refused;
        }
    }
    Outcome::Accepted
}
