//! The Lua scripts behind every compare-and-act on a room. Redis runs a script atomically, so
//! "does this session still own the room?" and the write that depends on it cannot interleave
//! with another replica's callback. Times come from the Redis clock (`TIME`), the one clock all
//! replicas share.

/// `now` in ms from the Redis clock, as an integer string-safe number.
const NOW: &str = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/// KEYS: room, index, new session, title. ARGV: session_id, user_id, username, origin,
/// renditions, lease_ms, takeover, expects_relay, session prefix, tombstone_ms, viewers key.
/// Returns {'same'} | {'conflict'} | {'created', started_at, title, replaced}.
pub fn create() -> String {
    format!(
        r#"
local current = redis.call('HGET', KEYS[1], 'session_id')
if current == ARGV[1] then return {{'same'}} end
local replaced = '0'
if current then
  if ARGV[7] ~= '1' then return {{'conflict'}} end
  redis.call('SET', ARGV[9] .. current, '', 'PX', ARGV[10])
  replaced = '1'
elseif redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  replaced = '1'
end
{NOW}
local started = string.format('%d', now)
local title = redis.call('GET', KEYS[4]) or ''
local relay = 'none'
if ARGV[8] == '1' then relay = 'pending' end
redis.call('DEL', KEYS[1], ARGV[11])
redis.call('HSET', KEYS[1], 'user_id', ARGV[2], 'username', ARGV[3], 'title', title,
  'session_id', ARGV[1], 'origin', ARGV[4], 'started_at', started, 'renditions', ARGV[5],
  'viewers', '0', 'relay', relay)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], started, ARGV[3])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[6])
return {{'created', started, title, replaced}}
"#
    )
}

/// KEYS: room, session. ARGV: session_id, lease_ms, renditions or '', username, thumbnail
/// ('1' once the ingest serves one; a room never loses it while live).
/// A room's origin is pinned when it is created; a renewal never moves it.
pub const RENEW: &str = r#"
local current = redis.call('HGET', KEYS[1], 'session_id')
if not current then return 'missing' end
if current ~= ARGV[1] then return 'stale' end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'renditions', ARGV[3]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'thumbnail', '1') end
return 'renewed'
"#;

/// KEYS: room, index, session, viewers. ARGV: session_id, tombstone_ms, username.
/// Always tombstones the session; ends the room only if this session owns it.
pub const END: &str = r#"
redis.call('SET', KEYS[3], '', 'PX', ARGV[2])
if redis.call('HGET', KEYS[1], 'session_id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[3])
return 1
"#;

/// KEYS: room. One relay publish per key publish: the flag goes pending → claimed once.
pub const CLAIM_RELAY: &str = r#"
if redis.call('HGET', KEYS[1], 'relay') == 'pending' then
  redis.call('HSET', KEYS[1], 'relay', 'claimed')
  return 1
end
return 0
"#;

/// The announce rule shared by heartbeats and sweeps, a Lua function `due(room, n, now,
/// interval)`: the room's `viewers` field always holds the current count `n`; a
/// `viewers_changed` event is due when `n` differs from the last announced count and that
/// announcement is at least `interval` ms old. So however fast heartbeats arrive, a room causes
/// at most one event per interval across all replicas (each SSE client gets every event), and
/// the next sweep announces whatever a heartbeat had to hold back.
const ANNOUNCE: &str = r#"
local function due(room, n, now, interval)
  if tonumber(redis.call('HGET', room, 'viewers') or '0') ~= n then
    redis.call('HSET', room, 'viewers', n)
  end
  local announced = tonumber(redis.call('HGET', room, 'announced') or '0')
  local at = tonumber(redis.call('HGET', room, 'announced_at') or '0')
  if n ~= announced and now - at >= interval then
    redis.call('HSET', room, 'announced', n, 'announced_at', string.format('%d', now))
    return true
  end
  return false
end
"#;

/// KEYS: room, viewers, viewers of this address. ARGV: viewer_id, window_ms, max_tracked,
/// per_address, event_interval_ms. Returns {count, announce, counted} or {-1, 0, 0} offline.
///
/// An address (IPv4, or IPv6 /64) gets at most `per_address` distinct viewers per room within
/// the window: its own sorted set remembers which ids it brought, so minting new ids from one
/// address stops counting after the quota (known ids keep refreshing). Past `max_tracked`
/// distinct viewers new ids are not recorded either, so a flood from many addresses cannot grow
/// one room's set without bound.
pub fn heartbeat() -> String {
    format!(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {{-1, 0, 0}} end
{NOW}
{ANNOUNCE}
local window = tonumber(ARGV[2])
local stamp = string.format('%d', now)
local cutoff = '(' .. string.format('%d', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', cutoff)
local counted = 0
if redis.call('ZSCORE', KEYS[3], ARGV[1]) or redis.call('ZCARD', KEYS[3]) < tonumber(ARGV[4]) then
  if redis.call('ZSCORE', KEYS[2], ARGV[1]) or redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[3], stamp, ARGV[1])
    redis.call('PEXPIRE', KEYS[3], window * 2)
    redis.call('ZADD', KEYS[2], stamp, ARGV[1])
    counted = 1
  end
end
redis.call('PEXPIRE', KEYS[2], window * 2)
local n = redis.call('ZCARD', KEYS[2])
if due(KEYS[1], n, now, tonumber(ARGV[5])) then return {{n, 1, counted}} end
return {{n, 0, counted}}
"#
    )
}

/// KEYS: title, room. ARGV: title, user_id. Returns 1 when the owner's live room changed.
pub const SET_TITLE: &str = r#"
redis.call('SET', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], 'user_id') == ARGV[2] then
  redis.call('HSET', KEYS[2], 'title', ARGV[1])
  return 1
end
return 0
"#;

/// KEYS: index. ARGV: room prefix, viewers prefix, window_ms, event_interval_ms, then optional
/// candidate usernames (none = every member, which also refreshes viewer counts and reports
/// the ones due to be announced, see `ANNOUNCE`). A member is removed only by the
/// script call whose ZREM succeeds, so with several replicas each lapse is reported once.
/// Returns {ended usernames, {username, count, ...} of changed viewer counts, live count}.
pub fn sweep() -> String {
    format!(
        r#"
{NOW}
{ANNOUNCE}
local members
local full = #ARGV <= 4
if full then
  members = redis.call('ZRANGE', KEYS[1], 0, -1)
else
  members = {{}}
  for i = 5, #ARGV do members[#members + 1] = ARGV[i] end
end
local ended, changed = {{}}, {{}}
local cutoff = '(' .. string.format('%d', now - tonumber(ARGV[3]))
for _, u in ipairs(members) do
  local room = ARGV[1] .. u
  if redis.call('EXISTS', room) == 0 then
    if redis.call('ZREM', KEYS[1], u) == 1 then
      redis.call('DEL', ARGV[2] .. u)
      ended[#ended + 1] = u
    end
  elseif full then
    local v = ARGV[2] .. u
    redis.call('ZREMRANGEBYSCORE', v, '-inf', cutoff)
    local n = redis.call('ZCARD', v)
    if due(room, n, now, tonumber(ARGV[4])) then
      changed[#changed + 1] = u
      changed[#changed + 1] = tostring(n)
    end
  end
end
return {{ended, changed, redis.call('ZCARD', KEYS[1])}}
"#
    )
}
