// Package store defines where events are kept: the [Store] interface every
// backend implements, the [Filter] that selects events, sentinel errors, the
// optional capabilities a backend may offer, and a registry that opens a
// backend by URL.
//
// # Contract
//
// Append is idempotent on (shop_id, id): at-least-once delivery upstream
// (retries, a Redis relay, a client resending) becomes exactly-once storage.
// Events streams in (timestamp, id) order. The conformance suite in
// store/storetest states the contract as tests; every backend passes it.
//
// # Backends
//
// Backends live in their own packages (store/memstore, store/sqlitestore,
// store/pgstore, store/redisstore) and register a URL scheme from init, like
// database/sql drivers, so this package and everything above it stay free of
// database drivers:
//
//	import _ "github.com/shoplytics/shoplytics/store/sqlitestore"
//
//	s, err := store.Open(ctx, "sqlite://shoplytics.db")
//
// # Capabilities
//
// What only some backends can do is an optional interface ([Pinger],
// [TypeCounter], [HourlyReader], [SessionReader], [PeopleReader],
// [ProductReader], [TopProductReader], [RollupRebuilder], [CheckpointKeeper],
// [InsightKeeper], [Eraser]) found by type assertion; callers fall back to
// the generic path over Events when it is missing or answers
// errors.ErrUnsupported. The people chains ([ChangeChains], [ChainWrites])
// are how the SQL backends count a range's people from a few thousand rows.
// [Hourly], [Sessions], [SessionStream], [PersonHours], [Links] and
// [ProductHours] roll events up the way those readers' rows are defined,
// for backends that keep them at append time and for callers that roll up
// raw events alike; [OrderLines] is what an order sold, for both.
// [MemoryInsights] is the reference insight keeper, in memory.
package store
