//! Redis adapter: the room store ([`RedisRoomStore`]) and the pub/sub fan-out of live events
//! ([`events`]).
//!
//! Layout, every key under the configured prefix `P`:
//! - `P room:{username}` hash {user_id, username, title, session_id, origin, started_at,
//!   renditions, viewers, relay, thumbnail}; its TTL is the lease, renewed by `update` callbacks.
//! - `P rooms:live` sorted set username → started_at (ms): the listing index. A member whose
//!   hash has expired is a lapsed lease; sweeps and reads remove it (exactly once, in a script)
//!   and announce `room_ended`.
//! - `P session:{session_id}` string → username while live, `""` once ended (a tombstone that
//!   stops late updates of an ended session from bringing the room back).
//! - `P viewers:{username}` sorted set viewer id → last heartbeat (ms, Redis clock). The room
//!   hash's `viewers` is its current size, `announced`/`announced_at` the last count sent as a
//!   `viewers_changed` event and when.
//! - `P viewer_addr:{username}:{address}` sorted set, the same for the viewers one client
//!   address (IPv4, or IPv6 /64) brought: the per-address cap. Expires on its own (2 windows).
//! - `P title:{user_id}` string, no TTL: the title outlives the room.
//! - `P events` pub/sub channel of [`crate::domain::RoomEvent`] JSON.
//!
//! Scripts name some keys from ARGV (prefix + member) instead of KEYS, which a single Redis or a
//! replicated primary accepts but Redis Cluster would not; rooms does not support Cluster.

pub mod events;
mod scripts;
mod store;

pub use events::RedisEventSink;
pub use store::{RedisRoomStore, StoreSettings};

/// Key names under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn room_prefix(&self) -> String {
        format!("{}room:", self.prefix)
    }

    pub fn room(&self, username: &str) -> String {
        format!("{}room:{username}", self.prefix)
    }

    pub fn index(&self) -> String {
        format!("{}rooms:live", self.prefix)
    }

    pub fn session_prefix(&self) -> String {
        format!("{}session:", self.prefix)
    }

    pub fn session(&self, session_id: &str) -> String {
        format!("{}session:{session_id}", self.prefix)
    }

    pub fn viewers_prefix(&self) -> String {
        format!("{}viewers:", self.prefix)
    }

    pub fn viewers(&self, username: &str) -> String {
        format!("{}viewers:{username}", self.prefix)
    }

    /// `address` is a `ViewerAddress` (digits, `.`, `:` and `/` only).
    pub fn viewer_address(&self, username: &str, address: &str) -> String {
        format!("{}viewer_addr:{username}:{address}", self.prefix)
    }

    pub fn title(&self, user_id: &str) -> String {
        format!("{}title:{user_id}", self.prefix)
    }

    pub fn channel(&self) -> String {
        format!("{}events", self.prefix)
    }
}

/// Connects lazily, so the service starts (and reports not ready) while Redis is down, with
/// timeouts on connecting and on every command: a hung Redis must fail requests, not hang them.
pub fn connect(
    url: &str,
) -> Result<(redis::Client, redis::aio::ConnectionManager), redis::RedisError> {
    use std::time::Duration;
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    let manager = redis::aio::ConnectionManager::new_lazy_with_config(client.clone(), config)?;
    Ok((client, manager))
}
