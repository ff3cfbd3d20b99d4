// Package pgstore keeps events in PostgreSQL, through lib/pq and sqlx.
//
//	s, err := pgstore.New(ctx, pgstore.Options{DSN: "postgres://app@db/shop?sslmode=disable"})
//
// or, with the backend linked in, by URL (the schema parameter picks the
// schema and is not passed to the driver):
//
//	s, err := store.Open(ctx, "postgres://app@db/shop?sslmode=disable&schema=analytics")
//
// Both "postgres" and "postgresql" URL schemes are registered.
//
// # Schema
//
// All tables live in one schema (default "shoplytics"), created on first use.
// Migrations are embedded, numbered SQL files applied by New in a single
// transaction and recorded in the schema's schema_migrations table; a
// failed migration leaves the schema as it was. Table events holds one row
// per (shop_id, id): timestamps as timestamptz in UTC to the microsecond,
// money as a bigint count of the currency's minor unit beside the currency
// code (NULL when no amount was given; never a float), properties as JSONB
// (NULL when absent, keys reordered by PostgreSQL), other absent fields as
// NULL. It is indexed on (shop_id, ts, id) for reads in time order and on
// (shop_id, type, ts) for per-type counts.
//
// # Guarantees
//
// Durability is PostgreSQL's commit: when Append returns nil, its batch is
// committed (as durable as the server's synchronous_commit makes it), and
// when it returns an error none of the batch is stored, except when the
// connection broke while the commit itself was under way; a retry is then
// harmless. Idempotency has no time window: the unique key (shop_id, id)
// makes a resent event a duplicate however long after the first. Events are
// read in (timestamp, id) order; a reader sees each batch whole or not at
// all.
//
// # Concurrency
//
// A Store is safe for concurrent use, and many Stores, in many processes,
// may share a schema. Migrations take a transaction-scoped advisory lock
// keyed by the schema name, so processes starting together wait for one
// another and all succeed. Append inserts each batch's events in key order
// with INSERT … ON CONFLICT DO NOTHING, so overlapping batches from
// different writers wait for each other rather than deadlock, and every
// event is reported as inserted by exactly one of them.
//
// # Writing
//
// Append writes a batch in one transaction. First it COPYs the batch
// straight into events: with no key already stored, that is the whole
// write, and every event is new. When a key is already stored the COPY fails
// whole (a unique violation) and stores nothing; the batch then goes through
// a temporary staging table (one per connection, emptied at commit) and one
// INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING, whose returned keys
// tell the new events from the duplicates, and so do the next 16 batches, so
// a client that keeps resending does not pay for two writes each time. The
// direct COPY measured 1.3× the staging path, which measured faster than
// INSERT … SELECT FROM unnest(...) and a multi-row INSERT … VALUES (see
// BENCHMARKS.md and the package benchmarks).
//
// # Errors
//
// Errors wrap the store's sentinels: store.ErrUnavailable when the server
// cannot be reached, is shutting down, has no connection to spare or aborted
// the transaction for a conflict (retrying may succeed); store.ErrInvalid
// when PostgreSQL refused the data (a NUL byte in a string, properties that
// are not JSON); store.ErrClosed after Close. A cancelled context ends the
// call with the context's error.
//
// # What it does not do
//
// It does not validate or normalise events (callers pass events that went
// through tracking.Normalize), convert currencies, expire or partition old
// events, or delete anything. It does not create the database or role, nor
// close a *sql.DB passed in Options.DB. Breaking out of an Events loop reads
// and discards the rows the server already sent; cancel the context or set
// Filter.Limit to stop a large query at the server.
package pgstore
