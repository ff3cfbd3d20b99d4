// Package shoplytics is an embeddable e-commerce event analytics library: a
// Go shop backend mounts one http.Handler and gets event ingestion (its own
// API, Segment-compatible, Shopify webhooks), a buffered ingester, a
// pluggable store (SQLite, PostgreSQL, Redis stream) and analytics.
//
// # Packages
//
//   - tracking: the event, exact money, validation and decoding.
//   - ingest: the bounded, batching, retrying buffer in front of a store.
//   - store: the Store interface and registry; backends in store/...
//   - analytics: questions over a shop's events.
//   - httpapi: the HTTP handler.
//
// # Quick start
//
// Open a store, start an ingester, mount the handler, and shut down in the
// reverse order so every accepted event is stored:
//
//	st, err := store.Open(ctx, "sqlite://shoplytics.db") // import _ ".../store/sqlitestore"
//	if err != nil { ... }
//	defer st.Close()
//	in, err := ingest.New(st, ingest.Options{})
//	if err != nil { ... }
//	in.Start()
//	h, err := httpapi.New(httpapi.Config{
//		Store: st, Ingester: in,
//		Shops: []httpapi.Shop{{ID: "myshop", WriteKey: "wk_public", ReadKey: "rk_secret"}},
//	})
//	if err != nil { ... }
//	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
//	// ... on exit: server.Shutdown(ctx); in.Shutdown(ctx)
//
// The runnable version is Example in this package.
package shoplytics
