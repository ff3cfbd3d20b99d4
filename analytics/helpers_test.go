package analytics

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

const shop = "shop-t"

// t0 is a Monday, midnight UTC.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// ev builds an event of the test shop; fields are set by the options.
func ev(typ string, at time.Time, opts ...func(*tracking.Event)) tracking.Event {
	e := tracking.Event{ShopID: shop, Type: typ, Timestamp: at.UTC().Truncate(time.Microsecond), ReceivedAt: at.UTC()}
	for _, o := range opts {
		o(&e)
	}
	return e
}

func anon(id string) func(*tracking.Event) { return func(e *tracking.Event) { e.AnonymousID = id } }
func user(id string) func(*tracking.Event) { return func(e *tracking.Event) { e.UserID = id } }
func sess(id string) func(*tracking.Event) { return func(e *tracking.Event) { e.SessionID = id } }
func prod(id string) func(*tracking.Event) { return func(e *tracking.Event) { e.ProductID = id } }
func named(n string) func(*tracking.Event) { return func(e *tracking.Event) { e.ProductName = n } }
func cat(c string) func(*tracking.Event)   { return func(e *tracking.Event) { e.Category = c } }
func page(u string) func(*tracking.Event)  { return func(e *tracking.Event) { e.URL = u } }
func ref(u string) func(*tracking.Event)   { return func(e *tracking.Event) { e.Referrer = u } }
func props(p string) func(*tracking.Event) {
	return func(e *tracking.Event) { e.Properties = []byte(p) }
}
func id(s string) func(*tracking.Event) { return func(e *tracking.Event) { e.ID = s } }
func paid(amount, currency string) func(*tracking.Event) {
	return func(e *tracking.Event) {
		m, err := tracking.ParseMoney(amount, currency)
		if err != nil {
			panic(err)
		}
		e.Revenue, e.Currency = m, currency
	}
}

// withIDs gives every event without an id one by its position, so the
// order of equal timestamps is the order written.
func withIDs(events []tracking.Event) []tracking.Event {
	out := make([]tracking.Event, len(events))
	for i, e := range events {
		if e.ID == "" {
			e.ID = fmt.Sprintf("e%07d", i)
		}
		out[i] = e
	}
	return out
}

// stores returns a memstore and a sqlitestore holding the same events.
func stores(t testing.TB, events []tracking.Event) map[string]store.Store {
	t.Helper()
	ctx := context.Background()
	events = withIDs(events)
	mem := memstore.New()
	sq, err := sqlitestore.New(ctx, sqlitestore.Options{Path: filepath.Join(t.TempDir(), "analytics.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sq.Close() })
	out := map[string]store.Store{"memstore": mem, "sqlitestore": sq}
	for _, s := range out {
		for i := 0; i < len(events); i += 5000 {
			_, err := s.Append(ctx, events[i:min(i+5000, len(events))])
			require.NoError(t, err)
		}
	}
	return out
}

// forStores runs f against each store holding events.
func forStores(t *testing.T, events []tracking.Event, f func(t *testing.T, s store.Store)) {
	for name, s := range stores(t, events) {
		t.Run(name, func(t *testing.T) { f(t, s) })
	}
}

func query(from, to time.Time) Query { return Query{ShopID: shop, From: from, To: to} }

func money(amount, currency string) tracking.Money {
	m, err := tracking.ParseMoney(amount, currency)
	if err != nil {
		panic(err)
	}
	return m
}
