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
// Open a store and an ingester, mount the handler on your router, and let
// httpapi.Run serve it: when its context ends it shuts the HTTP server down
// first, then the ingester, so every accepted event is stored:
//
//	st, err := store.Open(ctx, "sqlite://shoplytics.db") // import _ ".../store/sqlitestore"
//	if err != nil { ... }
//	defer st.Close()
//	in, err := ingest.New(st, ingest.Options{})
//	if err != nil { ... }
//	h, err := httpapi.New(httpapi.Config{
//		Store: st, Ingester: in,
//		Shops: []httpapi.Shop{{ID: "myshop", WriteKey: "wk_public", ReadKey: "rk_secret"}},
//	})
//	if err != nil { ... }
//	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
//	srv := &http.Server{Addr: ":8080", Handler: mux}
//	return httpapi.Run(ctx, srv, in, httpapi.RunOptions{}) // ctx: signal.NotifyContext
//
// The README's "Embed it" program is the complete version, built and run by
// a test; Example in this package shows the handler under httptest.
package shoplytics
