package redisstore

import "github.com/redis/go-redis/v9"

// eventsField is the stream entry field that holds a chunk's events.
const eventsField = "e"

// A stream entry holds a chunk: events of one shop appended in one call,
// at most defaultChunk of them, in two fields. "k" is the events' index member
// prefixes, one after the other; each ends with the only NUL not followed
// by 0xFF (see appendMemberPrefix). "e" is their JSON, separated by NUL
// bytes, which JSON never holds. Passing and storing a chunk as two strings
// rather than two per event is what makes an append cheap for Redis.

// splitLua defines the Lua functions that cut the two fields of an entry
// into per-event pieces.
const splitLua = `
local function prefixes(k)
  local out, start, pos = {}, 1, 1
  while true do
    local z = string.find(k, '\0', pos, true)
    if not z then return out end
    if string.byte(k, z + 1) == 255 then
      pos = z + 2
    else
      out[#out + 1] = string.sub(k, start, z)
      start, pos = z + 1, z + 1
    end
  end
end
local function jsons(e)
  local out, start = {}, 1
  while true do
    local z = string.find(e, '\0', start, true)
    if not z then
      out[#out + 1] = string.sub(e, start)
      return out
    end
    out[#out + 1] = string.sub(e, start, z - 1)
    start = z + 1
  end
end
`

// appendScript stores one chunk. It drops the events whose dedup member is
// in the current or the previous dedup generation, writes the rest as one
// stream entry, adds their dedup members to the current generation and the
// shop to the registry. The script is atomic, so a chunk is stored whole or
// not at all: Redis refuses a script for lack of memory at its first write,
// and nothing after that can fail for a well-formed key space. Cutting the
// fields apart is needed only when some events were already stored.
//
// The client names the generation from its own clock, so that every key is
// declared; the script checks it against Redis's clock and, when they
// differ, writes nothing and answers "GEN <generation>" for the client to
// call again with the right one.
//
// KEYS: registry, stream, dedup generations g, g-1, and g-2 (unlinked: no
// longer read by anyone).
// ARGV: g, generation length (ms), stream MAXLEN (0 = none), shop, n, the n
// dedup members, then the chunk's "k" and "e".
// Returns one integer per event: 1 stored, 0 already there.
var appendScript = redis.NewScript(splitLua + `
local gen, glen, maxlen, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])
local t = redis.call('TIME')
local now = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / glen)
if now ~= gen then
  return redis.error_reply('GEN ' .. string.format('%d', now))
end
local out, dups = {}, 0
for i = 1, n do out[i] = 1 end
for g = 3, 4 do
  if redis.call('EXISTS', KEYS[g]) == 1 then
    local seen = redis.call('SMISMEMBER', KEYS[g], unpack(ARGV, 6, 5 + n))
    for i = 1, n do
      if seen[i] == 1 and out[i] == 1 then
        out[i] = 0
        dups = dups + 1
      end
    end
  end
end
local k, e = ARGV[6 + n], ARGV[7 + n]
if dups == 0 then
  redis.call('SADD', KEYS[3], unpack(ARGV, 6, 5 + n))
elseif dups < n then
  local ks, es, members, kk, ee = prefixes(k), jsons(e), {}, {}, {}
  for i = 1, n do
    if out[i] == 1 then
      members[#members + 1] = ARGV[5 + i]
      kk[#kk + 1] = ks[i]
      ee[#ee + 1] = es[i]
    end
  end
  redis.call('SADD', KEYS[3], unpack(members))
  k, e = table.concat(kk), table.concat(ee, '\0')
end
if dups < n then
  redis.call('PEXPIREAT', KEYS[3], (gen + 3) * glen)
  if maxlen ~= '0' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, '*', 'k', k, 'e', e)
  else
    redis.call('XADD', KEYS[2], '*', 'k', k, 'e', e)
  end
  redis.call('SADD', KEYS[1], ARGV[4])
end
redis.call('UNLINK', KEYS[5])
return out
`)

// indexScript brings a shop's time index up to date with its stream: it
// reads up to ARGV[1] entries after the cursor (the last entry indexed) and
// no later than ARGV[2], adds one member per event (its member prefix from
// the entry's "k", followed by the entry id) and moves the cursor. With ARGV[2] empty the bound is the stream's last entry now, and
// the script answers it, so a read indexes what was appended before it
// began and no more.
//
// KEYS: stream, index, cursor.
// Returns the bound and the number of entries indexed.
var indexScript = redis.NewScript(splitLua + `
local stop = ARGV[2]
if stop == '' then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last == 0 then return {'0-0', 0} end
  stop = last[1][1]
end
local from = redis.call('GET', KEYS[3])
if from then from = '(' .. from else from = '-' end
local entries = redis.call('XRANGE', KEYS[1], from, stop, 'COUNT', ARGV[1])
for _, e in ipairs(entries) do
  local id, fv, members = e[1], e[2], {}
  for i = 1, #fv, 2 do
    if fv[i] == 'k' then
      for _, p in ipairs(prefixes(fv[i + 1])) do
        members[#members + 1] = 0
        members[#members + 1] = p .. id
      end
    end
  end
  if #members > 0 then redis.call('ZADD', KEYS[2], unpack(members)) end
end
if #entries > 0 then redis.call('SET', KEYS[3], entries[#entries][1]) end
return {stop, #entries}
`)

// pageScript reads one page of a shop's time index and the events its
// members point to, in one round trip. An entry holds a chunk of events, so
// each entry is fetched and cut apart once per call; a page ends
// early once it has fetched ARGV[4] entries, so a page whose events are
// spread over many chunks stays a bounded amount of work.
//
// KEYS: index, stream.
// ARGV: lex min, lex max, count, entry budget.
// Returns a flag (1 when the page ended early), then member, JSON pairs;
// JSON is false when the entry is gone (trimmed by MAXLEN), and the caller
// then removes the stale member.
var pageScript = redis.NewScript(splitLua + `
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, ARGV[3])
local budget = tonumber(ARGV[4])
local out, cache, fetched = {0}, {}, 0
for _, m in ipairs(members) do
  local sid = string.match(m, '%z([^%z]*)$')
  local entry = cache[sid]
  if entry == nil then
    if fetched == budget then
      out[1] = 1
      break
    end
    fetched = fetched + 1
    entry = {}
    local r = redis.call('XRANGE', KEYS[2], sid, sid)
    if r[1] then
      local fv, ks, es = r[1][2], {}, {}
      for i = 1, #fv, 2 do
        if fv[i] == 'k' then ks = prefixes(fv[i + 1]) elseif fv[i] == 'e' then es = jsons(fv[i + 1]) end
      end
      for i, p in ipairs(ks) do entry[p] = es[i] end
    end
    cache[sid] = entry
  end
  out[#out + 1] = m
  out[#out + 1] = entry[string.sub(m, 1, #m - #sid)] or false
end
return out
`)
