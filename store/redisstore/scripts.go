package redisstore

import "github.com/redis/go-redis/v9"

// entryField is the stream entry field that holds the event's JSON.
const entryField = "e"

// appendScript stores a group of events, ordered by shop. For each event
// it sets the dedup key (SET NX with its TTL) and, when that is new, XADDs
// the entry; then it adds each shop's new index members with one ZADD and
// the shops to the registry with one SADD. The script is atomic, so an
// event is never half-written: Redis refuses a script for lack of memory
// at its first write, and nothing after the first write can fail for a
// well-formed key space.
//
// KEYS: registry, then stream and index of each shop, then the dedup key of
// each event.
// ARGV: dedup TTL (ms), stream MAXLEN (0 = none), number of shops, then
// shop and its number of events for each shop, then event JSON and index
// member prefix for each event.
// Returns one integer per event: 1 stored, 0 already there.
var appendScript = redis.NewScript(`
local ttl, maxlen, nshops = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out, shops = {}, {}
local d = 2 + 2 * nshops -- dedup key of the next event
local a = 4 + 2 * nshops -- JSON of the next event
for s = 1, nshops do
  local stream, n = KEYS[2 * s], tonumber(ARGV[3 + 2 * s])
  local members = {}
  for _ = 1, n do
    if redis.call('SET', KEYS[d], '1', 'NX', 'PX', ttl) then
      local sid
      if maxlen ~= '0' then
        sid = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'e', ARGV[a])
      else
        sid = redis.call('XADD', stream, '*', 'e', ARGV[a])
      end
      members[#members + 1] = 0
      members[#members + 1] = ARGV[a + 1] .. sid
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
    d = d + 1
    a = a + 2
  end
  if #members > 0 then
    redis.call('ZADD', KEYS[2 * s + 1], unpack(members))
    shops[#shops + 1] = ARGV[2 + 2 * s]
  end
end
if #shops > 0 then redis.call('SADD', KEYS[1], unpack(shops)) end
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
