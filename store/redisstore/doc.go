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
// shop's stream (one entry per event, field "e" holding the event's JSON as
// tracking.Event.AppendJSON writes it), "{p}:i:<shop>" its time index,
// "{p}:d:<len>:<shop>:<id>" the dedup key of one event, and "{p}:shops" the
// registry of shops the relay reads. A prefix therefore lives in one Cluster
// slot; use several prefixes to spread load over nodes.
//
// # Writing
//
// Append runs a Lua script that, atomically, sets each event's dedup key
// (SET NX with DedupTTL) and XADDs the events that were new, then adds
// their index members with one ZADD per shop and their shops to the
// registry with one SADD. One script call writes up to 100 events, ordered
// by shop so those commands cover many events, and the calls of a batch
// are pipelined. A
// cancelled context stores nothing. A batch is atomic per event, not as a
// whole: an Append that fails part-way (a dropped connection) may have
// stored a prefix of the batch, and a retry reports those as duplicates.
//
// # Reading and the index's cost
//
// Streams are in arrival order, so each shop also has a sorted set whose
// members sort as (timestamp, id): 16 hex digits of the timestamp in
// microseconds, the id (NUL bytes escaped), a NUL and the stream entry id.
// Events reads it with ZRANGE BYLEX in pages of PageSize, fetching the
// entries of a page in the same script call, so memory stays constant and
// every page is one round trip. From and To bound the range; the other
// Filter fields are checked on decoded events, so a narrow filter over a
// long range still reads the whole range. The index costs one sorted-set
// member (about 100 bytes with the id) per event, and a ZADD, O(log n), per
// append; the dedup key about 100 bytes more per event, for DedupTTL.
//
// # Relay
//
// A Relay reads every shop stream through a consumer group (XREADGROUP),
// appends what it read to the destination and acknowledges it (XACK) only
// after that Append succeeded. A failing destination is retried with
// backoff while the entries stay pending; a relay that dies mid-batch leaves
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
//   - Idempotency lasts DedupTTL (default 7 days): the same (shop_id, id)
//     appended again within that window is a duplicate; after it, it is
//     stored again (and the relay's destination, if it remembers ids for
//     ever, drops it then).
//   - Order: Events yields (timestamp, id) order. The relay delivers each
//     shop's entries in arrival order, batch by batch, but after a takeover
//     or retry older entries may arrive after newer ones; destinations order
//     by timestamp anyway.
//   - MaxLen trims streams by arrival, whether or not an entry was relayed:
//     leave it 0 unless losing old, unrelayed events is acceptable.
//
// # What it does not do
//
// It does not persist anything itself, push aggregations down (every
// analytics query streams events), erase single events, keep a dead-letter
// copy of an event the destination refuses as invalid (the relay splits the
// batch until that event stands alone, stores the rest, logs the refused one
// with its shop and id, counts it in RelayStats.Rejected and acknowledges
// it), delete the consumer names of relays that went away, or trim
// streams after relaying (the stream is also the store's data).
package redisstore
