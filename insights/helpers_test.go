package insights_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

const shop = "shop-i"

// t0 is a Thursday, 15:00 UTC.
var t0 = time.Date(2026, 4, 16, 15, 0, 0, 0, time.UTC)

var seq atomic.Int64

// ev builds a valid event of the test shop.
func ev(typ string, at time.Time, mods ...func(*tracking.Event)) tracking.Event {
	e := tracking.Event{ID: fmt.Sprintf("e%07d", seq.Add(1)), ShopID: shop, Type: typ,
		AnonymousID: fmt.Sprintf("anon-%d", seq.Load()), Currency: "USD",
		Timestamp: at.UTC().Truncate(time.Microsecond), ReceivedAt: at.UTC()}
	for _, m := range mods {
		m(&e)
	}
	return e
}

func product(id, name string) func(*tracking.Event) {
	return func(e *tracking.Event) { e.ProductID, e.ProductName = id, name }
}
func session(id string) func(*tracking.Event) { return func(e *tracking.Event) { e.SessionID = id } }
func paid(amount, currency string) func(*tracking.Event) {
	return func(e *tracking.Event) {
		m, err := tracking.ParseMoney(amount, currency)
		if err != nil {
			panic(err)
		}
		e.Revenue, e.Currency = m, currency
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func appendAll(t *testing.T, s store.Store, events []tracking.Event) {
	t.Helper()
	for i := 0; i < len(events); i += 5000 {
		_, err := s.Append(ctx(t), events[i:min(i+5000, len(events))])
		require.NoError(t, err)
	}
}

// scan returns the shop's events in [from, to), straight from the store.
func scan(t *testing.T, s store.Store, from, to time.Time) []tracking.Event {
	t.Helper()
	var out []tracking.Event
	for e, err := range s.Events(ctx(t), store.Filter{ShopID: shop, From: from, To: to}) {
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

func decode[T any](t *testing.T, in insights.Insight) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(in.Evidence, &v))
	return v
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(t)
	return c
}
func (c *fakeClock) set(t time.Time)     { c.t.Store(&t) }
func (c *fakeClock) now() time.Time      { return *c.t.Load() }
func (c *fakeClock) add(d time.Duration) { c.set(c.now().Add(d)) }

func newEngine(t *testing.T, s store.Store, clock *fakeClock, rules ...insights.Rule) *insights.Engine {
	t.Helper()
	e, err := insights.NewEngine(s, insights.EngineOptions{Rules: rules, Now: clock.now})
	require.NoError(t, err)
	return e
}

func of(rule string, list []insights.Insight) []insights.Insight {
	var out []insights.Insight
	for _, in := range list {
		if in.Rule == rule {
			out = append(out, in)
		}
	}
	return out
}

func memStore() *memstore.Store { return memstore.New() }
