// Package pgstore keeps events in PostgreSQL, through lib/pq and sqlx.
//
//	s, err := pgstore.New(ctx, pgstore.Options{DSN: "postgres://app@db/shop?sslmode=disable"})
//
// or, with the backend linked in, by URL (the schema parameter picks the
// schema and is not passed to the driver):
//
//	s, err := store.Open(ctx, "postgres://app@db/shop?sslmode=disable&schema=analytics")
//
// Both "postgres" and "postgresql" URL schemes are registered. Besides
// schema, a URL may set the Store's pool and socket options, which are not
// passed to the driver either: max_conns and max_read_conns
// (Options.MaxConns, Options.MaxReadConns), and with libpq's names and
// units tcp_user_timeout (milliseconds, 0 for the system's),
// keepalives (0 turns probes off) and keepalives_idle (seconds). lib/pq's
// own connect_timeout (seconds) sets the handshake bound. Every other
// parameter goes to lib/pq, which sends names it does not know to the
// server as settings (statement_timeout=30000 bounds every statement at the
// server).
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
// # Rollups
//
// Table hourly_rollups keeps, per shop, UTC hour, type and order currency,
// the number of events and orders and the sum, minimum and maximum of the
// order totals (store.HourlyReader). Append adds the rollup of the events it
// inserted (all of them after a direct COPY, the keys RETURNING reports
// after staging) in the batch's transaction, with one INSERT … SELECT FROM
// unnest(…) ON CONFLICT DO UPDATE in key order, so concurrent batches
// lock shared rows in one order. A duplicate never counts twice; a late
// event adds to its hour. The migration that made the table filled it from
// the events already stored. Options.DisableRollups (URL parameter
// rollups=off) skips that work and marks the shops written to stale; a
// stale shop's rollups are not read until Rebuild (store.RollupRebuilder)
// recomputes them from its events. A rebuild locks the rollup tables
// against writes while it runs, so appends wait at their rollup write.
//
// The detail rollups (migration 0003) answer the rest of analytics' Stats
// and its product rankings: sessions (store.SessionReader: a row per
// session_id, or per run of a device's events without one split at 30
// minutes, joined and extended as late events fall next to them, rolled up
// by the hour they start), who was active per hour with each anonymous
// id's earliest identify (store.PeopleReader), and products per hour and
// currency (store.ProductReader). Append keeps them in the same
// transaction for the inserted events: one statement takes
// transaction-scoped advisory locks of the batch's people and session
// groups (each one's own, under a shared lock of one of a few buckets; a
// batch of more than 256 people or 1,024 groups takes its buckets alone,
// so it never overflows the server's lock table), in order; one reads the
// stored person rows and links, then the users' chains the batch changes
// are locked (an anonymous id's own chains change only under its person
// lock) and the chains read, and the stored sessions near the batch's; and one
// statement of unnest CTEs writes every rollup table, the hourly one
// included, in key order. These are prepared when the Store opens (so a
// connection pooler between must keep a session's prepared statements, as
// PgBouncer's session mode does), and planned to look keys up through
// indexes even when first run on nearly empty tables. The rows every batch
// of a shop adds to (an hour's counts, its sessions' hour, the chains'
// cells, a product's hour and day) are split over slots (migration 0008),
// one per append in progress, so concurrent appends do not take turns at
// them; reads sum the slots. Readers see one repeatable-read snapshot. A shop
// whose events were stored before the migration is marked pending: its
// detail rollups answer errors.ErrUnsupported until Rebuild fills them
// (the hourly ones stay in use). In process they cost Append about half
// its throughput, less end to end over HTTP (BENCHMARKS.md);
// Options.HourlyRollupsOnly (URL parameter rollups=hourly) keeps only the
// hourly rollups and marks the shops written to pending, for a store that
// takes more events than its dashboard reads.
//
// # Deadlines
//
// Every call honours its context whatever the server or the network does.
// lib/pq alone does not: on a cancelled context it asks the server, over a
// second connection, to cancel the query, and goes on waiting for the
// answer, which a stalled server or a partitioned network never sends. A
// Store that opens its own pool (Options.DSN) therefore watches the context
// of each call on the connection itself and closes the connection's socket
// when the context ends before the call does (a query's rows and a
// transaction are watched until they are closed, committed or rolled
// back); the call then fails at once and the connection is discarded.
// Opening a connection is bounded the same way, and by connect_timeout
// (Options.ConnectTimeout, default DefaultConnectTimeout) for callers
// whose context has no deadline. For connections nobody is waiting on,
// the kernel ends a silent peer's connection: TCP keepalive probes
// (Options.KeepAlive, default DefaultKeepAlive, three probes) and, on
// Linux, TCP_USER_TIMEOUT (Options.UserTimeout, default
// DefaultUserTimeout). A pool passed in Options.DB is the caller's, opened
// with the caller's driver settings: it gets none of this, and a call on
// it may outlast its context when the server stalls.
//
// # Sharing the pool
//
// Reads (Events and CountByType) hold at most Options.MaxReadConns
// connections at once, by default half the pool; a read waits for a share,
// or for its context, before it takes a connection, and an Events read
// keeps its share until its loop ends. The rest of the pool stays for
// Append and Ping, so slow readers (a large export streaming to a slow
// client) and stuck ones can delay other reads but never the writers or
// the health check.
//
// # Errors
//
// Errors wrap the store's sentinels: store.ErrUnavailable when the server
// cannot be reached, is shutting down, has no connection to spare or aborted
// the transaction for a conflict (retrying may succeed); store.ErrInvalid
// when PostgreSQL refused the data (a NUL byte in a string, properties that
// are not JSON); store.ErrClosed after Close. A cancelled context ends the
// call with the context's error; a context past its deadline with
// store.ErrUnavailable and context.DeadlineExceeded, as a server that did
// not answer in time (or a pool with no connection to spare) is
// unavailable.
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
