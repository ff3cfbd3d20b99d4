package redisstore

import "github.com/redis/go-redis/v9"

// entryField is the stream entry field that holds the event's JSON.
const entryField = "e"

// appendScript stores a group of events. For each event it runs, in one
// atomic script, SET NX of the dedup key (with its TTL), then XADD to the
// shop's stream and ZADD of the index member: an event is never
// half-written, because Redis refuses a script for lack of memory at its
// first write, and nothing after the dedup key can fail for a well-formed
// key space. The shops of the group are added to the registry.
//
// KEYS: registry, then dedup, stream, index for each event.
// ARGV: dedup TTL (ms), stream MAXLEN (0 = none), number of shops, the
// shops, then event JSON and index member prefix for each event.
// Returns one integer per event: 1 stored, 0 already there.
var appendScript = redis.NewScript(`
local ttl, maxlen, nshops = ARGV[1], ARGV[2], tonumber(ARGV[3])
if nshops > 0 then redis.call('SADD', KEYS[1], unpack(ARGV, 4, 3 + nshops)) end
local out = {}
local a = 4 + nshops
for k = 2, #KEYS, 3 do
  if redis.call('SET', KEYS[k], '1', 'NX', 'PX', ttl) then
    local sid
    if maxlen ~= '0' then
      sid = redis.call('XADD', KEYS[k + 1], 'MAXLEN', '~', maxlen, '*', 'e', ARGV[a])
    else
      sid = redis.call('XADD', KEYS[k + 1], '*', 'e', ARGV[a])
    end
    redis.call('ZADD', KEYS[k + 2], 0, ARGV[a + 1] .. sid)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  a = a + 2
end
return out
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
