//! Messages fanned out by key: each subscriber follows one key (an account, a video) and is woken
//! only by that key's messages, so one message costs the same whether a replica holds ten
//! subscribers or ten thousand. A key's channel exists while someone follows it.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::broadcast::{self, error::RecvError};

type Channels<K, V> = Arc<Mutex<HashMap<K, broadcast::Sender<V>>>>;

/// Channels by key, each holding up to `capacity` messages its slowest subscriber has not read.
pub struct Fanout<K, V> {
    channels: Channels<K, V>,
    capacity: usize,
}

impl<K, V> Clone for Fanout<K, V> {
    fn clone(&self) -> Self {
        Self {
            channels: self.channels.clone(),
            capacity: self.capacity,
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Fanout<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            channels: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    /// Follows `key` from now on.
    pub fn subscribe(&self, key: K) -> Subscription<K, V> {
        let mut channels = lock(&self.channels);
        let receiver = channels
            .entry(key.clone())
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe();
        Subscription {
            receiver,
            key,
            channels: self.channels.clone(),
        }
    }

    /// Passes `message` to the subscribers of `key`; how many there were.
    pub fn send(&self, key: &K, message: V) -> usize {
        lock(&self.channels)
            .get(key)
            .map_or(0, |sender| sender.send(message).unwrap_or(0))
    }

    /// Keys followed by at least one subscriber.
    pub fn keys(&self) -> usize {
        lock(&self.channels).len()
    }
}

/// One subscriber of one key; the key's channel goes with its last subscriber.
pub struct Subscription<K: Eq + Hash, V> {
    receiver: broadcast::Receiver<V>,
    key: K,
    channels: Channels<K, V>,
}

impl<K: Eq + Hash, V: Clone> Subscription<K, V> {
    /// The next message; [`RecvError::Lagged`] when more than the capacity arrived unread.
    pub async fn recv(&mut self) -> Result<V, RecvError> {
        self.receiver.recv().await
    }
}

impl<K: Eq + Hash, V> Drop for Subscription<K, V> {
    fn drop(&mut self) {
        let mut channels = lock(&self.channels);
        // This subscription's receiver still counts until the fields are dropped after this.
        if channels
            .get(&self.key)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            channels.remove(&self.key);
        }
    }
}

/// The map is only ever held for a lookup or an insert, never across an await; a panic while
/// holding it left it consistent.
fn lock<K, V>(channels: &Mutex<HashMap<K, V>>) -> MutexGuard<'_, HashMap<K, V>> {
    channels
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_reaches_only_the_subscribers_of_its_key() {
        let fanout = Fanout::<&str, u32>::new(8);
        let (mut a1, mut a2, mut b) = (
            fanout.subscribe("a"),
            fanout.subscribe("a"),
            fanout.subscribe("b"),
        );
        assert_eq!(fanout.send(&"a", 1), 2);
        assert_eq!(fanout.send(&"b", 2), 1);
        assert_eq!(fanout.send(&"c", 3), 0);
        assert_eq!(a1.recv().await, Ok(1));
        assert_eq!(a2.recv().await, Ok(1));
        assert_eq!(b.recv().await, Ok(2));
        assert!(a1.receiver.is_empty() && b.receiver.is_empty());
    }

    #[tokio::test]
    async fn a_key_is_forgotten_with_its_last_subscriber() {
        let fanout = Fanout::<String, u32>::new(8);
        let first = fanout.subscribe("a".into());
        let second = fanout.subscribe("a".into());
        assert_eq!(fanout.keys(), 1);
        drop(first);
        assert_eq!(fanout.keys(), 1);
        assert_eq!(fanout.send(&"a".into(), 1), 1);
        drop(second);
        assert_eq!(fanout.keys(), 0);
        assert_eq!(fanout.send(&"a".into(), 2), 0);
        let mut again = fanout.subscribe("a".into());
        fanout.send(&"a".into(), 3);
        assert_eq!(
            again.recv().await,
            Ok(3),
            "a new channel, not the old backlog"
        );
    }

    #[tokio::test]
    async fn a_subscriber_further_behind_than_the_capacity_is_told() {
        let fanout = Fanout::<u8, u32>::new(2);
        let mut slow = fanout.subscribe(1);
        for n in 0..5 {
            fanout.send(&1, n);
        }
        assert_eq!(slow.recv().await, Err(RecvError::Lagged(3)));
        assert_eq!(slow.recv().await, Ok(3));
    }
}
