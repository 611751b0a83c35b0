import { createHash } from 'node:crypto';

/**
 * A Lua script with its SHA-1, for EVALSHA (EVAL only when the server lacks it).
 *
 * @internal
 */
export interface RedisScript {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source, 'utf8').digest('hex') };
}

/**
 * A session and its user's keys in one round trip. KEYS[1] the session; ARGV[1] the prefix of
 * users' keys. The user key is derived from the record, so it is not declared: single-server and
 * Sentinel set-ups only (a Cluster reads them in two steps).
 * Returns nil, `{session}` (a record without identity) or `{session, keys|false}`.
 */
export const READ_SESSION_WITH_KEYS = script(`
local session = redis.call('GET', KEYS[1])
if not session then return false end
local ok, record = pcall(cjson.decode, session)
if not ok or type(record) ~= 'table' or type(record.appId) ~= 'string' or type(record.openid) ~= 'string' then
  return {session}
end
return {session, redis.call('GET', ARGV[1] .. record.appId .. ':' .. record.openid)}
`);

/**
 * Compare-and-set of a user's keys. KEYS[1] the user's keys; ARGV[1] the expected version ('' for
 * none), ARGV[2] the new JSON, ARGV[3] the TTL in ms (<= 0 deletes), ARGV[4] '1' when the store
 * seals keys (then the JSON is `{version, enc}`: the version in clear, the keys sealed), else '0'.
 * A value the store would not read (unreadable, or of the other form) counts as none, as a read
 * returns none for it. Versions stay below 2^53, so Lua's doubles hold them exactly.
 * Returns 1 when written, 0 when the version did not match.
 */
export const SET_USER_KEYS_IF_VERSION = script(`
local current = redis.call('GET', KEYS[1])
local version = nil
if current then
  local ok, keys = pcall(cjson.decode, current)
  if ok and type(keys) == 'table' and type(keys.version) == 'number'
    and (type(keys.enc) == 'string') == (ARGV[4] == '1') then
    version = keys.version
  end
end
if ARGV[1] == '' then
  if version ~= nil then return 0 end
elseif version ~= tonumber(ARGV[1]) then
  return 0
end
local ttl = tonumber(ARGV[3])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
end
return 1
`);

/**
 * Takes one attempt from a key's budget. KEYS[1] the budget (a hash: `inFlight`, `failed`);
 * ARGV[1] the limit, ARGV[2] the budget's TTL in ms, set by the first take only.
 * Returns 1 granted, 0 busy, -1 spent.
 */
export const TAKE_KEY_ATTEMPT = script(`
local counts = redis.call('HMGET', KEYS[1], 'inFlight', 'failed')
local inFlight = tonumber(counts[1]) or 0
local failed = tonumber(counts[2]) or 0
local limit = tonumber(ARGV[1])
if failed >= limit then return -1 end
if inFlight + failed >= limit then return 0 end
redis.call('HINCRBY', KEYS[1], 'inFlight', 1)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`);

/**
 * Settles a granted attempt. KEYS[1] the budget; ARGV[1] '1' when the attempt succeeded, else
 * '0' (then the failure is counted). A budget that expired stays gone; inFlight stays >= 0.
 */
export const SETTLE_KEY_ATTEMPT = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if (tonumber(redis.call('HGET', KEYS[1], 'inFlight')) or 0) > 0 then
  redis.call('HINCRBY', KEYS[1], 'inFlight', -1)
end
if ARGV[1] ~= '1' then redis.call('HINCRBY', KEYS[1], 'failed', 1) end
return 1
`);

/** Releases a lock only for its holder. KEYS[1] the lock; ARGV[1] the holder id. */
export const RELEASE_LOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * The server's clock in microseconds. KEYS[1] (unused) routes it to the node holding that key, so
 * on a Cluster every version of one user's keys comes from one clock. Below 2^53 until 2255.
 */
export const CLOCK_MICROS = script(`
local time = redis.call('TIME')
return tonumber(time[1]) * 1000000 + tonumber(time[2])
`);

// ---- Duplicate login codes (issue 12) ----

/**
 * Claims a login code. KEYS[1] the code's entry; ARGV[1] the claim (`claim:<owner>`), ARGV[2] its
 * TTL in ms. Returns the current value (a claim, or the remembered login's JSON) when there is
 * one, else writes the claim and returns false.
 */
export const CLAIM_LOGIN_CODE = script(`
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`);
