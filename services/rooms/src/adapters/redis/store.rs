//! [`RedisRoomStore`]: the [`RoomStore`] port on Redis (redis 1.x `ConnectionManager`, which
//! reconnects by itself after Redis restarts). Layout and script semantics: see the module
//! docs of `adapters::redis` and `scripts`.

use std::{collections::HashMap, time::Duration};

use futures::{future::BoxFuture, FutureExt};
use redis::{aio::ConnectionManager, AsyncCommands, Script};

use super::{scripts, Keys};
use crate::{
    domain::{
        Cursor, LiveRoom, NewRoom, Rendition, SessionId, Title, Username, ViewerAddress, ViewerId,
    },
    ports::{
        CreateOutcome, HeartbeatOutcome, Identity, RenewOutcome, RoomPage, RoomStore, SessionState,
        StoreError, SweepOutcome,
    },
};

/// Timings of the store.
#[derive(Debug, Clone, Copy)]
pub struct StoreSettings {
    /// A room lives this long after its last publish or update.
    pub lease: Duration,
    /// A viewer counts this long after their last heartbeat.
    pub viewer_window: Duration,
    /// Distinct viewers one client address (IPv4, IPv6 /64) adds to one room at most.
    pub viewers_per_address: u64,
    /// A room's `viewers_changed` events are at least this far apart (later changes coalesce).
    pub viewer_events_interval: Duration,
}

impl StoreSettings {
    /// Ended sessions are remembered well past any late update they might still send.
    fn tombstone(&self) -> Duration {
        (self.lease * 4).max(Duration::from_secs(60))
    }
}

/// Distinct viewers one room tracks at most (see the heartbeat script).
const MAX_TRACKED_VIEWERS: u64 = 100_000;

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn store_error(error: redis::RedisError) -> StoreError {
    StoreError(error.to_string())
}

struct Scripts {
    create: Script,
    renew: Script,
    end: Script,
    claim_relay: Script,
    heartbeat: Script,
    set_title: Script,
    sweep: Script,
}

pub struct RedisRoomStore {
    connection: ConnectionManager,
    keys: Keys,
    settings: StoreSettings,
    scripts: Scripts,
}

impl RedisRoomStore {
    pub fn new(connection: ConnectionManager, keys: Keys, settings: StoreSettings) -> Self {
        Self {
            connection,
            keys,
            settings,
            scripts: Scripts {
                create: Script::new(&scripts::create()),
                renew: Script::new(scripts::RENEW),
                end: Script::new(scripts::END),
                claim_relay: Script::new(scripts::CLAIM_RELAY),
                heartbeat: Script::new(&scripts::heartbeat()),
                set_title: Script::new(scripts::SET_TITLE),
                sweep: Script::new(&scripts::sweep()),
            },
        }
    }

    fn conn(&self) -> ConnectionManager {
        self.connection.clone()
    }

    async fn create_room(
        &self,
        room: NewRoom,
        takeover: bool,
    ) -> Result<CreateOutcome, StoreError> {
        let renditions = serde_json::to_string(&room.renditions).unwrap_or_else(|_| "[]".into());
        let reply: Vec<String> = self
            .scripts
            .create
            .key(self.keys.room(room.username.as_str()))
            .key(self.keys.index())
            .key(self.keys.session(room.session_id.as_str()))
            .key(self.keys.title(&room.user_id))
            .arg(room.session_id.as_str())
            .arg(&room.user_id)
            .arg(room.username.as_str())
            .arg(&room.origin)
            .arg(&renditions)
            .arg(ms(self.settings.lease))
            .arg(if takeover { "1" } else { "0" })
            .arg(if room.expects_relay { "1" } else { "0" })
            .arg(self.keys.session_prefix())
            .arg(ms(self.settings.tombstone()))
            .arg(self.keys.viewers(room.username.as_str()))
            .invoke_async(&mut self.conn())
            .await
            .map_err(store_error)?;
        match reply.first().map(String::as_str) {
            Some("same") => Ok(CreateOutcome::AlreadyLive),
            Some("conflict") => Ok(CreateOutcome::Conflict),
            Some("created") if reply.len() == 4 => Ok(CreateOutcome::Created {
                replaced: reply[3] == "1",
                room: LiveRoom {
                    user_id: room.user_id,
                    username: room.username,
                    title: reply[2].clone(),
                    session_id: room.session_id.to_string(),
                    origin: room.origin,
                    started_at_ms: reply[1].parse().unwrap_or_default(),
                    renditions: room.renditions,
                    viewers: 0,
                    thumbnail: false,
                },
            }),
            _ => Err(StoreError(format!("unexpected create reply {reply:?}"))),
        }
    }

    async fn session_state(&self, session: &SessionId) -> Result<SessionState, StoreError> {
        let value: Option<String> = self
            .conn()
            .get(self.keys.session(session.as_str()))
            .await
            .map_err(store_error)?;
        Ok(match value {
            None => SessionState::Unknown,
            Some(name) if name.is_empty() => SessionState::Ended,
            Some(name) => match Username::parse(&name) {
                Ok(username) => SessionState::Live(username),
                Err(_) => SessionState::Unknown,
            },
        })
    }

    async fn renew_room(
        &self,
        username: &Username,
        session: &SessionId,
        renditions: Option<&[Rendition]>,
        thumbnail: bool,
    ) -> Result<RenewOutcome, StoreError> {
        let renditions = renditions
            .and_then(|r| serde_json::to_string(r).ok())
            .unwrap_or_default();
        let reply: String = self
            .scripts
            .renew
            .key(self.keys.room(username.as_str()))
            .key(self.keys.session(session.as_str()))
            .arg(session.as_str())
            .arg(ms(self.settings.lease))
            .arg(renditions)
            .arg(username.as_str())
            .arg(if thumbnail { "1" } else { "" })
            .invoke_async(&mut self.conn())
            .await
            .map_err(store_error)?;
        Ok(match reply.as_str() {
            "renewed" => RenewOutcome::Renewed,
            "stale" => RenewOutcome::Stale,
            _ => RenewOutcome::Missing,
        })
    }

    async fn end_room(
        &self,
        username: Option<&Username>,
        session: &SessionId,
    ) -> Result<bool, StoreError> {
        let session_key = self.keys.session(session.as_str());
        let Some(username) = username else {
            let _: () = self
                .conn()
                .pset_ex(session_key, "", ms(self.settings.tombstone()))
                .await
                .map_err(store_error)?;
            return Ok(false);
        };
        let ended: i64 = self
            .scripts
            .end
            .key(self.keys.room(username.as_str()))
            .key(self.keys.index())
            .key(session_key)
            .key(self.keys.viewers(username.as_str()))
            .arg(session.as_str())
            .arg(ms(self.settings.tombstone()))
            .arg(username.as_str())
            .invoke_async(&mut self.conn())
            .await
            .map_err(store_error)?;
        Ok(ended == 1)
    }

    async fn load(&self, usernames: &[String]) -> Result<Vec<Option<LiveRoom>>, StoreError> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for name in usernames {
            pipe.hgetall(self.keys.room(name));
        }
        let hashes: Vec<HashMap<String, String>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(store_error)?;
        Ok(hashes.into_iter().map(parse_room).collect())
    }

    async fn sweep_members(&self, candidates: &[String]) -> Result<SweepOutcome, StoreError> {
        let mut invocation = self.scripts.sweep.key(self.keys.index());
        invocation
            .arg(self.keys.room_prefix())
            .arg(self.keys.viewers_prefix())
            .arg(ms(self.settings.viewer_window))
            .arg(ms(self.settings.viewer_events_interval));
        for name in candidates {
            invocation.arg(name);
        }
        let (ended, changed, live): (Vec<String>, Vec<String>, u64) = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(store_error)?;
        Ok(SweepOutcome {
            ended: ended
                .iter()
                .filter_map(|n| Username::parse(n).ok())
                .collect(),
            viewers_changed: changed
                .chunks_exact(2)
                .filter_map(|pair| Some((Username::parse(&pair[0]).ok()?, pair[1].parse().ok()?)))
                .collect(),
            live: candidates.is_empty().then_some(live),
        })
    }

    async fn list_rooms(
        &self,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<RoomPage, StoreError> {
        let batch = (limit + 1).max(16);
        let max = after
            .as_ref()
            .map_or_else(|| "+inf".to_owned(), |c| c.started_at_ms.to_string());
        let mut offset = 0;
        let mut rooms = Vec::new();
        let mut lapsed = Vec::new();
        loop {
            let members: Vec<(String, f64)> = redis::cmd("ZREVRANGEBYSCORE")
                .arg(self.keys.index())
                .arg(&max)
                .arg("-inf")
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(offset)
                .arg(batch)
                .query_async(&mut self.conn())
                .await
                .map_err(store_error)?;
            offset += members.len();
            let wanted: Vec<String> = members
                .iter()
                .filter(|(name, score)| match (&after, Username::parse(name)) {
                    (Some(cursor), Ok(username)) => cursor.is_before(*score as i64, &username),
                    (None, Ok(_)) => true,
                    (_, Err(_)) => false,
                })
                .map(|(name, _)| name.clone())
                .collect();
            for (name, room) in wanted.iter().zip(self.load(&wanted).await?) {
                match room {
                    Some(room) => rooms.push(room),
                    None => lapsed.push(name.clone()),
                }
            }
            if members.len() < batch || rooms.len() > limit {
                break;
            }
        }
        let ended = if lapsed.is_empty() {
            Vec::new()
        } else {
            self.sweep_members(&lapsed).await?.ended
        };
        let next = if rooms.len() > limit {
            rooms.truncate(limit);
            rooms.last().map(Cursor::after)
        } else {
            None
        };
        Ok(RoomPage { rooms, next, ended })
    }
}

/// A room hash back into a [`LiveRoom`]; an empty or partial hash (expired, or half-written by
/// something else) counts as no room.
fn parse_room(hash: HashMap<String, String>) -> Option<LiveRoom> {
    Some(LiveRoom {
        user_id: hash.get("user_id")?.clone(),
        username: Username::parse(hash.get("username")?).ok()?,
        // A title stored before a rule tightened (format characters) is shown as none.
        title: hash
            .get("title")
            .and_then(|raw| Title::parse(raw).ok())
            .map(|title| title.as_str().to_owned())
            .unwrap_or_default(),
        session_id: hash.get("session_id")?.clone(),
        origin: hash.get("origin").cloned().unwrap_or_default(),
        started_at_ms: hash.get("started_at")?.parse().ok()?,
        renditions: hash
            .get("renditions")
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default(),
        viewers: hash
            .get("viewers")
            .and_then(|v| v.parse().ok())
            .unwrap_or_default(),
        thumbnail: hash.get("thumbnail").is_some_and(|t| t == "1"),
    })
}

impl RoomStore for RedisRoomStore {
    fn create(
        &self,
        room: NewRoom,
        takeover: bool,
    ) -> BoxFuture<'_, Result<CreateOutcome, StoreError>> {
        self.create_room(room, takeover).boxed()
    }

    fn session(&self, session: &SessionId) -> BoxFuture<'_, Result<SessionState, StoreError>> {
        let session = session.clone();
        async move { self.session_state(&session).await }.boxed()
    }

    fn renew<'a>(
        &'a self,
        username: &'a Username,
        session: &'a SessionId,
        renditions: Option<&'a [Rendition]>,
        thumbnail: bool,
    ) -> BoxFuture<'a, Result<RenewOutcome, StoreError>> {
        self.renew_room(username, session, renditions, thumbnail)
            .boxed()
    }

    fn end<'a>(
        &'a self,
        username: Option<&'a Username>,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.end_room(username, session).boxed()
    }

    fn claim_relay<'a>(
        &'a self,
        username: &'a Username,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        async move {
            let claimed: i64 = self
                .scripts
                .claim_relay
                .key(self.keys.room(username.as_str()))
                .invoke_async(&mut self.conn())
                .await
                .map_err(store_error)?;
            Ok(claimed == 1)
        }
        .boxed()
    }

    fn get<'a>(
        &'a self,
        username: &'a Username,
    ) -> BoxFuture<'a, Result<Option<LiveRoom>, StoreError>> {
        async move {
            let hash: HashMap<String, String> = self
                .conn()
                .hgetall(self.keys.room(username.as_str()))
                .await
                .map_err(store_error)?;
            Ok(parse_room(hash))
        }
        .boxed()
    }

    fn list(
        &self,
        limit: usize,
        after: Option<Cursor>,
    ) -> BoxFuture<'_, Result<RoomPage, StoreError>> {
        self.list_rooms(limit, after).boxed()
    }

    fn heartbeat<'a>(
        &'a self,
        username: &'a Username,
        viewer: &'a ViewerId,
        address: ViewerAddress,
    ) -> BoxFuture<'a, Result<Option<HeartbeatOutcome>, StoreError>> {
        async move {
            let (count, announce, counted): (i64, i64, i64) = self
                .scripts
                .heartbeat
                .key(self.keys.room(username.as_str()))
                .key(self.keys.viewers(username.as_str()))
                .key(
                    self.keys
                        .viewer_address(username.as_str(), &address.to_string()),
                )
                .arg(viewer.as_str())
                .arg(ms(self.settings.viewer_window))
                .arg(MAX_TRACKED_VIEWERS)
                .arg(self.settings.viewers_per_address)
                .arg(ms(self.settings.viewer_events_interval))
                .invoke_async(&mut self.conn())
                .await
                .map_err(store_error)?;
            Ok(u64::try_from(count).ok().map(|viewers| HeartbeatOutcome {
                viewers,
                announce: announce == 1,
                counted: counted == 1,
            }))
        }
        .boxed()
    }

    fn set_title<'a>(
        &'a self,
        owner: &'a Identity,
        title: &'a Title,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        async move {
            let changed: i64 = self
                .scripts
                .set_title
                .key(self.keys.title(&owner.user_id))
                .key(self.keys.room(owner.username.as_str()))
                .arg(title.as_str())
                .arg(&owner.user_id)
                .invoke_async(&mut self.conn())
                .await
                .map_err(store_error)?;
            Ok(changed == 1)
        }
        .boxed()
    }

    fn get_title<'a>(
        &'a self,
        owner: &'a Identity,
    ) -> BoxFuture<'a, Result<Option<Title>, StoreError>> {
        async move {
            let stored: Option<String> = self
                .conn()
                .get(self.keys.title(&owner.user_id))
                .await
                .map_err(store_error)?;
            Ok(stored.and_then(|raw| match Title::parse(&raw) {
                Ok(title) => Some(title),
                Err(_) => {
                    // Only `set_title` writes this key, with a parsed title; a value that no
                    // longer parses (written by hand, or before a rule tightened) is shown as
                    // unset so the owner can simply save a new one, rather than failing
                    // every dashboard load.
                    tracing::warn!(user_id = %owner.user_id, "stored title is not a valid title");
                    None
                }
            }))
        }
        .boxed()
    }

    fn sweep(&self) -> BoxFuture<'_, Result<SweepOutcome, StoreError>> {
        async move { self.sweep_members(&[]).await }.boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            let _: String = redis::cmd("PING")
                .query_async(&mut self.conn())
                .await
                .map_err(store_error)?;
            Ok(())
        }
        .boxed()
    }
}
