// Package sqlitestore keeps events in a SQLite database file: the default
// store of a single-server shoplytics, with nothing to run beside it.
//
// Open it by URL after importing the package for its side effect:
//
//	import _ "github.com/shoplytics/shoplytics/store/sqlitestore"
//
//	s, err := store.Open(ctx, "sqlite://shoplytics.db")      // relative to the working directory
//	s, err := store.Open(ctx, "sqlite:///var/lib/shop.db")   // absolute
//	s, err := store.Open(ctx, "sqlite://:memory:")           // private, in memory
//
// or with New, which also accepts a *sql.DB the caller opened and keeps
// owning (Close never closes it; open it with DSN to get the same settings).
// The query parameter busy_timeout (a Go duration) sets
// Options.BusyTimeout.
//
// # Durability
//
// The database runs in write-ahead-log mode with synchronous=NORMAL. A batch
// whose Append returned without error is committed: it survives a crash of
// the process. A crash of the operating system or a power cut may lose the
// last transactions committed before it (never part of one: the database
// stays consistent), because a commit does not wait for fsync; the log is
// synced at checkpoints. That trade buys an order of magnitude in write
// rate, and the at-least-once delivery upstream (client retries, a Redis
// relay) can resend what was lost.
//
// # Idempotency
//
// An event is stored at most once per (shop_id, id), forever: a unique index
// enforces it, across batches, restarts and processes sharing the file. Each
// batch is one transaction running one prepared INSERT … ON CONFLICT DO
// NOTHING per event; an insert that changed no row was a duplicate, so the
// per-event Duplicate flags are exact even when two processes send the same
// ids at once. (Per-event statements in one transaction cost no more than a
// multi-row INSERT here and less than INSERT … RETURNING: the package
// benchmarks compare them.) Writers of one Store wait for each other in the
// process (SQLite has one writer per database) instead of spinning on the
// file lock; writers in other processes wait up to the busy timeout, and then
// Append fails with store.ErrUnavailable, which the ingester retries. A
// cancelled ctx rolls the batch back.
//
// # Ordering and reading
//
// Events streams rows from one query, ORDER BY ts, id, served by the
// (shop_id, ts, id) and (shop_id, type, ts, id) indexes without a sort; memory
// does not grow with the result. Breaking out of the loop closes the query;
// cancelling ctx interrupts it and yields ctx's error. Readers do not block
// the writer, nor the writer readers; a read sees the batches committed when
// it started. Timestamps are stored as microseconds since the epoch (UTC),
// exactly what tracking.Normalize keeps; money as integer minor units with
// the event's currency, never as a float.
//
// The store also counts events by type in SQL (store.TypeCounter) and
// checks the file is usable (store.Pinger). DB gives the database to code
// that pushes other aggregations down.
//
// # Rollups
//
// Table hourly_rollups keeps, per shop, UTC hour, type and order currency,
// the number of events and orders and the sum, minimum and maximum of the
// order totals (store.HourlyReader), so analytics reads a row per hour and
// type instead of every event. Append maintains it in the batch's
// transaction, for the events it actually inserted (an insert that changed
// a row): a duplicate never counts twice, and a late event adds to its own
// hour. The migration that made the table filled it from the events already
// stored. With Options.DisableRollups (URL parameter rollups=off) Append
// skips that work and marks the shops it wrote to stale instead; the
// rollups of a stale shop are never read (analytics falls back to its
// events) until Rebuild (store.RollupRebuilder) recomputes them from its
// events and clears the mark.
//
// The detail rollups (migration 0003) answer the rest of analytics' Stats
// and its product rankings: sessions (store.SessionReader: a row per
// session_id, or per run of a device's events without one split at 30
// minutes, joined and extended as late events fall next to them, rolled up
// by the hour they start), who was active per hour with each anonymous
// id's earliest identify (store.PeopleReader), and products per hour and
// currency (store.ProductReader). Append keeps them in the same
// transaction for the inserted events, reading the stored sessions near
// the batch's and writing every table with multi-row statements. A shop
// whose events were stored before the migration is marked pending: its
// detail rollups answer errors.ErrUnsupported until Rebuild fills them
// (the hourly ones stay in use). They cost Append about two thirds of its
// throughput (BENCHMARKS.md); Options.HourlyRollupsOnly (URL parameter
// rollups=hourly) keeps only the hourly rollups and marks the shops written
// to pending, for a store that takes more events than its dashboard reads.
//
// # Schema
//
// The schema is a numbered series of embedded SQL migrations, recorded in
// schema_migrations and applied by New in one transaction that takes the
// write lock first, so several processes opening a new file at once apply
// each step once. A database migrated by a newer build is refused rather than
// misread.
//
// # What it does not do
//
// It does not scale writes beyond one machine and one writer at a time, nor
// replicate or back up the file (copy it with the SQLite backup API or
// litestream while it runs, never with cp). It does not expire or compact
// old events. Amounts must be in the event's own currency (as Normalize
// makes them): a price or revenue in another currency is refused with
// store.ErrInvalid rather than stored inexactly. The in-memory database uses
// a rollback journal: there, a long read holds up writers (up to the busy
// timeout) and a write holds up readers.
package sqlitestore
