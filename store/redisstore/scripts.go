package redisstore

import "github.com/redis/go-redis/v9"

// entryField is the stream entry field that holds the event's JSON.
const entryField = "e"

// appendScript stores one event, or nothing. It runs atomically in Redis,
// so an event is never half-written: either the dedup key, the stream entry,
// the index member and the registry entry are all written, or none is. The
// dedup key is written last so that a failing write leaves the id free for
// a retry.
//
// KEYS: dedup, stream, index, registry.
// ARGV: dedup TTL (ms), stream MAXLEN (0 = none), event JSON, index member
// prefix, shop id.
// Returns 1 when stored, 0 when the id was already there.
var appendScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local sid
if ARGV[2] ~= '0' then
  sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[3])
else
  sid = redis.call('XADD', KEYS[2], '*', 'e', ARGV[3])
end
redis.call('ZADD', KEYS[3], 0, ARGV[4] .. sid)
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
`)

// pageScript reads one page of a shop's time index and the entries it
// points to, in one round trip.
//
// KEYS: index, stream.
// ARGV: lex min, lex max, count.
// Returns member, JSON pairs; JSON is nil when the entry is gone (trimmed by
// MAXLEN), and the caller then removes the stale member.
var pageScript = redis.NewScript(`
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, ARGV[3])
local out = {}
for _, m in ipairs(members) do
  local sid = string.match(m, '%z([^%z]*)$')
  local r = redis.call('XRANGE', KEYS[2], sid, sid)
  out[#out + 1] = m
  if r[1] then out[#out + 1] = r[1][2][2] else out[#out + 1] = false end
end
return out
`)
