//! What the gateway needs from the outside world, as traits the HTTP layer depends on.

use std::{future::Future, pin::Pin};

use crate::domain::{origin::Origin, username::Username};

/// The answer of a lookup: the origin of the user's live room, or `None` when offline.
pub type OriginLookup<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Origin>, DirectoryError>> + Send + 'a>>;

/// Finds the ingest node that serves a user's live HLS stream.
pub trait OriginDirectory: Send + Sync + 'static {
    fn origin<'a>(&'a self, username: &'a Username) -> OriginLookup<'a>;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DirectoryError {
    #[error("the room directory is unreachable: {0}")]
    Unreachable(String),
    #[error("the room directory answered unexpectedly: {0}")]
    Unexpected(String),
}
