//! [`PlaybackStore`] on Redis: every decision is one Lua script, so replicas racing for an
//! account's last slot are served one at a time by Redis itself, never read-then-write in a
//! service. Each script also publishes what it decided on one channel; every replica listens
//! and passes the events of its own streams' accounts on ([`RedisPlayback::listen`]).
//!
//! Keys, under the configured prefix: `s:{user}` (sorted set: the account's sessions by lease
//! end), `q:{user}` (list: waiting request ids, oldest first), `x:{session}` (hash: a session's
//! account, video, device, title, start and lease end), `r:{request}` (hash: a waiting
//! request), `leases` (sorted set of `{user}|{session}` by lease end, for the sweep),
//! `rate:{user}:{second}` (requests in that second). Scripts name keys from ARGV (prefix +
//! member), which a single Redis or a primary with replicas serves; not Redis Cluster.

use std::time::Duration;

use ferrocast_kit::fanout::Fanout;
use futures::{future::BoxFuture, FutureExt, StreamExt};
use redis::{aio::ConnectionManager, AsyncCommands, Script};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::playback::{AccountEvent, ActiveSession, PlaybackEvent, QueuedRequest, SessionId},
    ports::{
        AccountPlayback, Outcome, PlaybackError, PlaybackRequest, PlaybackStore, SessionRecord,
    },
};

/// Helpers every script starts with.
const PRELUDE: &str = r#"
local p = ARGV[1]
local channel = p .. 'events'
local leases = p .. 'leases'
local function sessions_key(user) return p .. 's:' .. user end
local function queue_key(user) return p .. 'q:' .. user end
local function session_key(sid) return p .. 'x:' .. sid end
local function request_key(rid) return p .. 'r:' .. rid end
local function publish(event) redis.call('PUBLISH', channel, cjson.encode(event)) end
local function hash(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local function drop(user, sid, reason)
  redis.call('ZREM', sessions_key(user), sid)
  redis.call('ZREM', leases, user .. '|' .. sid)
  redis.call('DEL', session_key(sid))
  publish({user = user, kind = 'ended', session_id = sid, reason = reason})
end
local function purge(user, now)
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', sessions_key(user), '-inf', now)) do
    drop(user, sid, 'lapsed')
  end
end
local function grant(user, rid, r, now, lease)
  local expires = now + lease
  redis.call('ZADD', sessions_key(user), expires, rid)
  redis.call('ZADD', leases, expires, user .. '|' .. rid)
  redis.call('HSET', session_key(rid), 'user', user, 'media', r.media, 'device', r.device,
    'title', r.title, 'started', now, 'expires', expires)
  redis.call('PEXPIRE', session_key(rid), lease * 4)
  publish({user = user, kind = 'granted', request_id = rid, media_id = r.media, expires_at_ms = expires,
    lease_ms = lease})
  return expires
end
-- Fills free slots from the queue, oldest request first; tells the rest their new place.
local function promote(user, now, lease, limit)
  local q = queue_key(user)
  local moved = false
  while redis.call('ZCARD', sessions_key(user)) < limit do
    local rid = redis.call('LPOP', q)
    if not rid then break end
    local r = hash(request_key(rid))
    redis.call('DEL', request_key(rid))
    if r.media then
      grant(user, rid, r, now, lease)
      moved = true
    end
  end
  if moved then
    for i, rid in ipairs(redis.call('LRANGE', q, 0, -1)) do
      publish({user = user, kind = 'queued', request_id = rid, position = i})
    end
  end
end
local function active(user)
  local list = {}
  for _, sid in ipairs(redis.call('ZRANGE', sessions_key(user), 0, -1)) do
    local s = hash(session_key(sid))
    if s.media then
      table.insert(list, {session_id = sid, media_id = s.media, device = s.device, title = s.title,
        started_at_ms = tonumber(s.started), expires_at_ms = tonumber(s.expires)})
    end
  end
  return list
end
"#;

/// ARGV: prefix, user, request id, media, device, title, now, lease, limit, wait (0/1),
/// requests per second. Returns `{decision, number}`: `granted` + lease end, `queued` +
/// position, `denied`, `limited`.
const REQUEST: &str = r#"
local user, rid, media, device, title = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now, lease, limit = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local wait, rate = ARGV[10] == '1', tonumber(ARGV[11])
local rate_key = p .. 'rate:' .. user .. ':' .. math.floor(now / 1000)
local count = redis.call('INCR', rate_key)
if count == 1 then redis.call('PEXPIRE', rate_key, 2000) end
if count > rate then return {'limited', 0} end
purge(user, now)
promote(user, now, lease, limit)
local q = queue_key(user)
local r = {media = media, device = device, title = title}
if redis.call('LLEN', q) == 0 and redis.call('ZCARD', sessions_key(user)) < limit then
  return {'granted', grant(user, rid, r, now, lease)}
end
if wait then
  redis.call('HSET', request_key(rid), 'media', media, 'device', device, 'title', title)
  redis.call('PEXPIRE', request_key(rid), 3600000)
  local position = redis.call('RPUSH', q, rid)
  publish({user = user, kind = 'queued', request_id = rid, position = position})
  return {'queued', position}
end
publish({user = user, kind = 'denied', request_id = rid, reason = 'limit_reached', limit = limit,
  active = active(user)})
return {'denied', 0}
"#;

/// ARGV: prefix, user, session, now, lease, limit. Returns the new lease end, or nil when the
/// session is over (its slot then goes to the next in line).
const HEARTBEAT: &str = r#"
local user, sid = ARGV[2], ARGV[3]
local now, lease, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ends = redis.call('ZSCORE', sessions_key(user), sid)
if not ends then return nil end
if tonumber(ends) <= now then
  drop(user, sid, 'lapsed')
  promote(user, now, lease, limit)
  return nil
end
local expires = now + lease
redis.call('ZADD', sessions_key(user), expires, sid)
redis.call('ZADD', leases, expires, user .. '|' .. sid)
redis.call('HSET', session_key(sid), 'expires', expires)
redis.call('PEXPIRE', session_key(sid), lease * 4)
return expires
"#;

/// ARGV: prefix, user, session or request, now, lease, limit, reason. Ends a session (or
/// withdraws a waiting request) of the account; 1 if there was one.
const RELEASE: &str = r#"
local user, sid, reason = ARGV[2], ARGV[3], ARGV[7]
local now, lease, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('ZSCORE', sessions_key(user), sid) then
  drop(user, sid, reason)
  promote(user, now, lease, limit)
  return 1
end
if redis.call('LREM', queue_key(user), 0, sid) > 0 then
  redis.call('DEL', request_key(sid))
  publish({user = user, kind = 'ended', session_id = sid, reason = reason})
  for i, rid in ipairs(redis.call('LRANGE', queue_key(user), 0, -1)) do
    publish({user = user, kind = 'queued', request_id = rid, position = i})
  end
  return 1
end
return 0
"#;

/// ARGV: prefix, now, lease, limit, most. Ends up to `most` lapsed sessions and fills their
/// slots; how many it ended.
const SWEEP: &str = r#"
local now, lease, limit, most = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local users = {}
local ended = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, most)) do
  local user, sid = string.match(member, '^(.*)|([^|]*)$')
  redis.call('ZREM', leases, member)
  if user then
    local ends = redis.call('ZSCORE', sessions_key(user), sid)
    if ends and tonumber(ends) <= now then
      drop(user, sid, 'lapsed')
      ended = ended + 1
    end
    users[user] = true
  end
end
for user in pairs(users) do promote(user, now, lease, limit) end
return ended
"#;

struct Scripts {
    request: Script,
    heartbeat: Script,
    release: Script,
    sweep: Script,
}

pub struct RedisPlayback {
    connection: ConnectionManager,
    client: redis::Client,
    prefix: String,
    scripts: Scripts,
}

fn error(e: impl std::fmt::Display) -> PlaybackError {
    PlaybackError(e.to_string())
}

impl RedisPlayback {
    /// A store that connects (and reconnects) in the background.
    pub fn new(url: &str, prefix: &str) -> Result<Self, PlaybackError> {
        let client = redis::Client::open(url).map_err(error)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let connection =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(error)?;
        let script = |body: &str| Script::new(&format!("{PRELUDE}\n{body}"));
        Ok(Self {
            connection,
            client,
            prefix: prefix.to_owned(),
            scripts: Scripts {
                request: script(REQUEST),
                heartbeat: script(HEARTBEAT),
                release: script(RELEASE),
                sweep: script(SWEEP),
            },
        })
    }

    /// Passes every account event published on the channel to that account's subscribers in
    /// `accounts` until `shutdown`, subscribing again after a lost connection.
    pub async fn listen(
        &self,
        accounts: Fanout<String, PlaybackEvent>,
        shutdown: CancellationToken,
    ) {
        let channel = format!("{}events", self.prefix);
        while !shutdown.is_cancelled() {
            match self.client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => {
                        let mut messages = pubsub.on_message();
                        loop {
                            tokio::select! {
                                () = shutdown.cancelled() => return,
                                next = messages.next() => match next {
                                    Some(message) => {
                                        let payload: Vec<u8> = message.get_payload_bytes().to_vec();
                                        match serde_json::from_slice::<AccountEvent>(&payload) {
                                            Ok(AccountEvent { user, event }) => {
                                                accounts.send(&user, event);
                                            }
                                            Err(e) => tracing::warn!(error = %e, "a playback event that does not parse"),
                                        }
                                    }
                                    None => break,
                                },
                            }
                        }
                        tracing::warn!(
                            "playback events: the subscription ended; subscribing again"
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "playback events: cannot subscribe"),
                },
                Err(e) => tracing::warn!(error = %e, "playback events: Redis does not answer"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl PlaybackStore for RedisPlayback {
    fn request<'a>(
        &'a self,
        request: &'a PlaybackRequest,
    ) -> BoxFuture<'a, Result<Outcome, PlaybackError>> {
        async move {
            let (decision, number): (String, u64) = self
                .scripts
                .request
                .arg(&self.prefix)
                .arg(&request.user)
                .arg(request.request_id.to_string())
                .arg(request.media.to_string())
                .arg(&request.device)
                .arg(&request.title)
                .arg(request.now_ms)
                .arg(ms(request.lease))
                .arg(request.limit)
                .arg(u8::from(request.wait))
                .arg(request.per_second)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(error)?;
            Ok(match decision.as_str() {
                "granted" => Outcome::Granted {
                    expires_at_ms: number,
                },
                "queued" => Outcome::Queued {
                    position: u32::try_from(number).unwrap_or(u32::MAX),
                },
                "denied" => Outcome::Denied,
                _ => Outcome::Limited,
            })
        }
        .boxed()
    }

    fn heartbeat<'a>(
        &'a self,
        user: &'a str,
        session: SessionId,
        now_ms: u64,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'a, Result<Option<u64>, PlaybackError>> {
        async move {
            self.scripts
                .heartbeat
                .arg(&self.prefix)
                .arg(user)
                .arg(session.to_string())
                .arg(now_ms)
                .arg(ms(lease))
                .arg(limit)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(error)
        }
        .boxed()
    }

    fn release<'a>(
        &'a self,
        user: &'a str,
        session: SessionId,
        now_ms: u64,
        lease: Duration,
        limit: u32,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<bool, PlaybackError>> {
        async move {
            let released: u8 = self
                .scripts
                .release
                .arg(&self.prefix)
                .arg(user)
                .arg(session.to_string())
                .arg(now_ms)
                .arg(ms(lease))
                .arg(limit)
                .arg(reason)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(error)?;
            Ok(released == 1)
        }
        .boxed()
    }

    fn sweep(
        &self,
        now_ms: u64,
        lease: Duration,
        limit: u32,
    ) -> BoxFuture<'_, Result<u32, PlaybackError>> {
        async move {
            self.scripts
                .sweep
                .arg(&self.prefix)
                .arg(now_ms)
                .arg(ms(lease))
                .arg(limit)
                .arg(500)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(error)
        }
        .boxed()
    }

    fn session(
        &self,
        session: SessionId,
    ) -> BoxFuture<'_, Result<Option<SessionRecord>, PlaybackError>> {
        async move {
            let fields: std::collections::HashMap<String, String> = self
                .connection
                .clone()
                .hgetall(self.key(&format!("x:{session}")))
                .await
                .map_err(error)?;
            Ok(record(session, &fields))
        }
        .boxed()
    }

    fn sessions<'a>(
        &'a self,
        user: &'a str,
    ) -> BoxFuture<'a, Result<AccountPlayback, PlaybackError>> {
        async move {
            let mut connection = self.connection.clone();
            let ids: Vec<String> = connection
                .zrange(self.key(&format!("s:{user}")), 0, -1)
                .await
                .map_err(error)?;
            let mut active = Vec::new();
            for id in ids {
                let Ok(session) = Uuid::parse_str(&id) else {
                    continue;
                };
                let fields: std::collections::HashMap<String, String> = connection
                    .hgetall(self.key(&format!("x:{id}")))
                    .await
                    .map_err(error)?;
                if let Some(record) = record(session, &fields) {
                    active.push(record.active);
                }
            }
            let waiting: Vec<String> = connection
                .lrange(self.key(&format!("q:{user}")), 0, -1)
                .await
                .map_err(error)?;
            let mut queued = Vec::new();
            for (index, id) in waiting.iter().enumerate() {
                let fields: std::collections::HashMap<String, String> = connection
                    .hgetall(self.key(&format!("r:{id}")))
                    .await
                    .map_err(error)?;
                let (Ok(request_id), Some(Ok(media_id))) = (
                    Uuid::parse_str(id),
                    fields.get("media").map(|m| Uuid::parse_str(m)),
                ) else {
                    continue;
                };
                queued.push(QueuedRequest {
                    request_id,
                    media_id,
                    device: fields.get("device").cloned().unwrap_or_default(),
                    title: fields.get("title").cloned().unwrap_or_default(),
                    position: u32::try_from(index + 1).unwrap_or(u32::MAX),
                });
            }
            Ok((active, queued))
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), PlaybackError>> {
        async move {
            redis::cmd("PING")
                .query_async::<()>(&mut self.connection.clone())
                .await
                .map_err(error)
        }
        .boxed()
    }
}

fn record(
    session: SessionId,
    fields: &std::collections::HashMap<String, String>,
) -> Option<SessionRecord> {
    let number = |name: &str| fields.get(name).and_then(|v| v.parse::<u64>().ok());
    Some(SessionRecord {
        user: fields.get("user")?.clone(),
        active: ActiveSession {
            session_id: session,
            media_id: Uuid::parse_str(fields.get("media")?).ok()?,
            device: fields.get("device").cloned().unwrap_or_default(),
            title: fields.get("title").cloned().unwrap_or_default(),
            started_at_ms: number("started")?,
            expires_at_ms: number("expires")?,
        },
    })
}
