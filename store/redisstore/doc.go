// Package redisstore keeps events in Redis streams, one per shop, and moves
// them into another store with a Relay. It is the fast front of a pipeline:
// HTTP ingestion appends to Redis, and a relay (in the same process with
// sink=, or elsewhere) feeds a SQL store at its own pace.
//
//	s, err := redisstore.New(ctx, redisstore.Options{Client: rdb, Prefix: "shop"})
//	r, err := redisstore.NewRelay(s, pg, redisstore.RelayOptions{})
//	go r.Run(ctx)
//
// or by URL, with the relay running in the background until Close:
//
//	s, err := store.Open(ctx, "redis://localhost:6379/0?sink=postgres%3A%2F%2F…")
//
// # Layout
//
// Every key carries the Cluster hash tag {prefix}: "{p}:s:<shop>" is the
// shop's stream, "{p}:i:<shop>" its time index and "{p}:c:<shop>" how far
// the index has read the stream, "{p}:d:<generation>" a dedup generation,
// "{p}:shops" the registry of shops the relay reads, and "{p}:cp:<shop>"
// the shop's checkpoints (a hash from name to value). A prefix therefore
// lives in one Cluster slot; use several prefixes to spread load over
// nodes.
//
// A stream entry holds a chunk: the events of one shop written by one
// Append, up to 256 of them and about 1 MiB, in two fields: "e", their JSON
// as tracking.Event.AppendJSON writes it, separated by NUL bytes (which
// JSON never holds), and "k", their time index member prefixes (below).
//
// # Writing
//
// Append groups a batch's events by shop into chunks, each shop's events in
// batch order, and runs one Lua script per chunk, each sent as soon as it is
// encoded (at most four at a time), so Redis runs one chunk while the next
// is being encoded. Chunks of one batch may therefore reach the stream in
// any order; within a chunk the order is the batch's. The script,
// atomically, looks the chunk's ids up in the current and the previous
// dedup generation (one SMISMEMBER each), XADDs the new events as one
// entry, adds their ids to the current generation (SADD) and the shop to
// the registry. Redis therefore does per event only the dedup lookups and
// one set insert; the JSON travels as one string per chunk. A context
// cancelled before Append starts stores nothing. A chunk is atomic; a batch
// of several chunks is not: an Append that fails or is cancelled part-way
// may have stored some chunks, and a retry reports their events as
// duplicates.
//
// # Reading and the index
//
// Streams are in arrival order, so each shop also has a sorted set whose
// members sort as (timestamp, id): 16 hex digits of the timestamp in
// microseconds, the id (NUL bytes escaped), a NUL and the stream entry id.
// Appends do not maintain it: a read first indexes the entries appended
// since the last read (up to the last entry when it starts, 16 entries per
// script call), then walks the index with ZRANGE BYLEX in pages of PageSize,
// fetching each page's entries in the same script call (at most 32 entries
// per call, so a page whose events are spread over many chunks is cut short
// and resumed), so memory stays constant and every page is one round trip.
// The first read after many appends pays for indexing them (a read of
// 20,000 fresh events takes about 1.6 times as long as the same read
// again); a deployment that reads from the relay's destination never builds
// the index at all. From and To bound the
// range; the other Filter fields are checked on decoded events, so a narrow
// filter over a long range still reads the whole range. Once built, the
// index costs one sorted-set member (about 100 bytes with the id) per event.
//
// # Relay
//
// A Relay reads every shop stream through a consumer group (XREADGROUP),
// appends what it read to the destination and acknowledges it (XACK) only
// after that Append succeeded. A destination failing in a way that may pass
// (store.Retryable) is retried with exponential backoff and jitter, between
// MinBackoff and MaxBackoff, while the entries stay pending; one failing for
// good (closed, or any error Retryable refuses but store.ErrInvalid) ends
// Run with that error, its batch left pending rather than read on and
// abandoned entry by entry. A relay that dies mid-batch leaves
// its entries pending until another relay of the group claims them
// (XAUTOCLAIM) after ClaimIdle. Delivery is at least once; because the
// destination's Append is idempotent on (shop_id, id), the effect is exactly
// once. New shops are found through the registry every Refresh; a new group
// reads a stream from its start. Relays of one group share the work; each
// destination needs its own group.
//
// # Guarantees
//
//   - Durability is Redis's: with no persistence configured (the default
//     here), a Redis restart loses every event not yet relayed, and a
//     failover to a replica loses what had not been replicated. Use AOF
//     (appendfsync everysec or always) when that matters.
//   - Idempotency lasts at least DedupTTL (default 7 days) and at most
//     twice that: ids are kept in generations DedupTTL long, and an append
//     looks in the current and the previous one, so the same (shop_id, id)
//     appended again within DedupTTL is a duplicate, and after 2×DedupTTL it
//     is stored again (the relay's destination, if it remembers ids for
//     ever, drops it then). A generation's set is unlinked (freed by Redis's
//     background thread) by the first append two generations later, and
//     expires a generation after that if no append comes. Memory: a set
//     member per id, about 60 bytes plus the id, for one to two windows of
//     traffic.
//   - Order: Events yields (timestamp, id) order. The relay delivers each
//     shop's entries in arrival order, batch by batch, but after a takeover
//     or retry older entries may arrive after newer ones; destinations order
//     by timestamp anyway.
//   - MaxLen trims streams by arrival, whether or not an entry was relayed,
//     and counts entries (chunks), not events: leave it 0 unless losing
//     old, unrelayed events is acceptable.
//
// # Dead letters
//
// An event the relay cannot deliver for a reason retrying cannot cure (the
// destination refuses it as invalid, or it does not decode) is not lost:
// the relay splits its batch until the event stands alone, stores the rest,
// and copies the event with its origin and the reason to the dead-letter
// stream "{p}:dead", in the same transaction as the entry's
// acknowledgement. Store.DeadLetters reads it and Store.DeleteDeadLetters
// removes what was dealt with. RelayStats.DeadLetters counts what the relay
// wrote there, RelayStats.Rejected the part of it the destination refused.
// Nothing trims that stream. A corrected event must be appended to the
// destination directly: appended to this store again within the dedup
// window it would be dropped as a duplicate.
//
// # Insights
//
// A store opened with sink= keeps insights (store.InsightKeeper) in its
// sink when the sink keeps them (sqlitestore, pgstore), where raising one
// is atomic; without such a sink the keeper's methods answer
// errors.ErrUnsupported and an insights engine keeps them in memory.
//
// # What it does not do
//
// It does not persist anything itself, push aggregations down (every
// analytics query streams events), erase single events, delete the consumer
// names of relays that went away, or trim streams after relaying (the stream
// is also the store's data).
package redisstore
