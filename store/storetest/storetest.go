// Package storetest is the conformance suite every store backend passes.
//
// A backend's test calls Run with a function that opens a fresh, empty store
// (its own schema, key prefix or file, so tests can run in parallel):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return open(t) },
//			storetest.WithReopen(reopen))
//	}
//
// The suite is importable by third-party backends; it uses only the store
// interface and real data.
//
// # Capabilities
//
// The tests of an optional capability (store.TypeCounter, store.Pinger,
// store.HourlyReader, store.RollupRebuilder, store.CheckpointKeeper and
// store.InsightKeeper) run when the store implements it, and are skipped
// otherwise. The rollup tests hold HourlyCounts to rolling up what Events
// returns for the same filter, after duplicates are resent, under
// concurrent appenders and after Rebuild. The insight tests hold a keeper
// to raising a finding once (by id, while one of its rule and subject is
// open, within a cooldown, under concurrent raisers), to resolving without
// deleting, and, with WithReopen, to keeping both across a restart;
// RunInsightKeeper runs them alone.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Option adjusts the suite.
type Option func(*config)

type config struct {
	reopen func(t *testing.T, s store.Store) store.Store
	large  int
}

// WithReopen enables the tests that close a store and open it again on the
// same storage (a file, a schema, a key prefix). reopen must close s and
// return a new store over the same data.
func WithReopen(reopen func(t *testing.T, s store.Store) store.Store) Option {
	return func(c *config) { c.reopen = reopen }
}

// WithLargeBatch sets the size of the large-batch test (default 10,000).
func WithLargeBatch(n int) Option { return func(c *config) { c.large = n } }

// Run runs the conformance suite. newStore must return a new, empty store;
// the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	cfg := config{large: 10000}
	for _, o := range opts {
		o(&cfg)
	}
	open := func(t *testing.T) store.Store {
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTripEveryField", testRoundTrip},
		{"EmptyAppend", testEmptyAppend},
		{"DuplicatesWithinBatch", testDuplicatesWithinBatch},
		{"DuplicatesAcrossBatches", testDuplicatesAcrossBatches},
		{"SameIDInTwoShops", testSameIDInTwoShops},
		{"TimeOrder", testTimeOrder},
		{"Filters", testFilters},
		{"FilterRequiresShop", testFilterRequiresShop},
		{"LargeBatch", func(t *testing.T, s store.Store) { testLargeBatch(t, s, cfg.large) }},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"CancelledContext", testCancelledContext},
		{"StopIterationEarly", testStopIterationEarly},
		{"Close", testClose},
		{"TypeCounter", testTypeCounter},
		{"TypeCounterAfterClose", testTypeCounterAfterClose},
		{"Pinger", testPinger},
		{"CheckpointKeeper", testCheckpointKeeper},
		{"Eraser", testEraser},
		{"HourlyReader", testHourlyReader},
		{"HourlyReaderRefuses", testHourlyReaderRefuses},
		{"HourlyReaderConcurrentAppenders", testHourlyConcurrentAppenders},
		{"InsightKeeper", testInsightKeeper},
		{"InsightKeeperConcurrentRaisers", testInsightKeeperConcurrentRaisers},
		{"DetailRollups", testDetailRollups},
		{"DetailRollupsRefuse", testDetailRollupsRefuse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
	if cfg.reopen != nil {
		t.Run("DuplicatesAcrossReopen", func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			testDuplicatesAcrossReopen(t, s, cfg.reopen)
		})
		t.Run("CheckpointAcrossReopen", func(t *testing.T) {
			t.Parallel()
			testCheckpointAcrossReopen(t, newStore(t), cfg.reopen)
		})
		t.Run("InsightsAcrossReopen", func(t *testing.T) {
			t.Parallel()
			testInsightsAcrossReopen(t, newStore(t), cfg.reopen)
		})
	}
}

var base = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// event returns a valid normalised event of shop at base+offset.
func event(shop, id string, offset time.Duration) tracking.Event {
	return tracking.Event{
		ID:          id,
		ShopID:      shop,
		Type:        tracking.PageViewed,
		AnonymousID: "anon-" + id,
		Timestamp:   base.Add(offset),
		ReceivedAt:  base.Add(offset + time.Second),
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// All reads every event matching f, failing the test on an error.
func All(t *testing.T, s store.Store, f store.Filter) []tracking.Event {
	t.Helper()
	var out []tracking.Event
	for e, err := range s.Events(ctx(t), f) {
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

// canonical renders an event as JSON with properties re-encoded, so
// backends that reorder JSON object keys compare equal.
func canonical(t *testing.T, e tracking.Event) string {
	t.Helper()
	if len(e.Properties) > 0 {
		var v any
		require.NoError(t, json.Unmarshal(e.Properties, &v))
		p, err := json.Marshal(v)
		require.NoError(t, err)
		e.Properties = p
	}
	return string(e.AppendJSON(nil))
}

func requireSameEvents(t *testing.T, want, got []tracking.Event) {
	t.Helper()
	ws := make([]string, len(want))
	for i := range want {
		ws[i] = canonical(t, want[i])
	}
	gs := make([]string, len(got))
	for i := range got {
		gs[i] = canonical(t, got[i])
	}
	require.Equal(t, ws, gs)
}

func ids(events []tracking.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func testRoundTrip(t *testing.T, s store.Store) {
	full := tracking.Event{
		ID:          "evt-full",
		ShopID:      "shop-a",
		Type:        tracking.PurchaseCompleted,
		UserID:      "user-1",
		AnonymousID: "anon-1",
		SessionID:   "sess-1",
		ProductID:   "sku-42",
		ProductName: "Crème brûlée set, \"deluxe\"\n日本",
		Category:    "kitchen/desserts",
		Price:       tracking.Money{Minor: 1999, Currency: "USD"},
		Quantity:    3,
		Revenue:     tracking.Money{Minor: 5997, Currency: "USD"},
		Currency:    "USD",
		OrderID:     "order-7",
		URL:         "https://shop.example/checkout?step=3&x=é",
		Referrer:    "https://search.example/?q=brûlée",
		UserAgent:   "Mozilla/5.0 (X11; Linux x86_64)",
		Properties:  json.RawMessage(`{"coupon":"SPRING","items":[{"sku":"sku-42","qty":3}],"gift":true,"note":"a \"quoted\" 日本"}`),
		Timestamp:   base.Add(123456 * time.Microsecond),
		ReceivedAt:  base.Add(2*time.Second + 7*time.Microsecond),
	}
	yen := event("shop-a", "evt-jpy", time.Hour)
	yen.Type, yen.Currency, yen.Revenue = tracking.PurchaseCompleted, "JPY", tracking.Money{Minor: 500, Currency: "JPY"}
	dinar := event("shop-a", "evt-kwd", 2*time.Hour)
	dinar.Type, dinar.Currency, dinar.Price = tracking.ProductViewed, "KWD", tracking.Money{Minor: 1250, Currency: "KWD"}
	dinar.ProductID = "sku-1"
	big := event("shop-a", "evt-big", 3*time.Hour)
	big.Type, big.Currency, big.Revenue = tracking.PurchaseCompleted, "USD", tracking.Money{Minor: 9_007_199_254_740_993, Currency: "USD"} // not representable as float64
	bare := event("shop-a", "evt-bare", 4*time.Hour)

	want := []tracking.Event{full, yen, dinar, big, bare}
	res, err := s.Append(ctx(t), want)
	require.NoError(t, err)
	require.Equal(t, 5, res.Inserted)
	require.Equal(t, 0, res.Duplicates)
	require.Equal(t, []bool{false, false, false, false, false}, res.Duplicate)

	got := All(t, s, store.Filter{ShopID: "shop-a"})
	requireSameEvents(t, want, got)
	require.Equal(t, full.Timestamp, got[0].Timestamp.UTC(), "timestamp keeps microseconds")
	require.JSONEq(t, string(full.Properties), string(got[0].Properties))
	require.Equal(t, full.Price, got[0].Price)
	require.Equal(t, big.Revenue, got[3].Revenue, "money is exact beyond float64 precision")
	require.True(t, got[4].Price.IsZero() && got[4].Revenue.IsZero(), "absent money stays absent")
	require.Nil(t, got[4].Properties, "absent properties stay absent")
}

func testEmptyAppend(t *testing.T, s store.Store) {
	res, err := s.Append(ctx(t), nil)
	require.NoError(t, err)
	require.Equal(t, 0, res.Inserted+res.Duplicates)
}

func testDuplicatesWithinBatch(t *testing.T, s store.Store) {
	a, b := event("shop-a", "a", 0), event("shop-a", "b", time.Second)
	a2 := a
	a2.UserID = "a later copy is not stored"
	res, err := s.Append(ctx(t), []tracking.Event{a, b, a2, b})
	require.NoError(t, err)
	require.Equal(t, 2, res.Inserted)
	require.Equal(t, 2, res.Duplicates)
	require.Equal(t, []bool{false, false, true, true}, res.Duplicate)
	requireSameEvents(t, []tracking.Event{a, b}, All(t, s, store.Filter{ShopID: "shop-a"}))
}

func testDuplicatesAcrossBatches(t *testing.T, s store.Store) {
	a, b, c := event("shop-a", "a", 0), event("shop-a", "b", time.Second), event("shop-a", "c", 2*time.Second)
	_, err := s.Append(ctx(t), []tracking.Event{a, b})
	require.NoError(t, err)
	res, err := s.Append(ctx(t), []tracking.Event{b, c, a})
	require.NoError(t, err)
	require.Equal(t, 1, res.Inserted)
	require.Equal(t, 2, res.Duplicates)
	require.Equal(t, []bool{true, false, true}, res.Duplicate)
	requireSameEvents(t, []tracking.Event{a, b, c}, All(t, s, store.Filter{ShopID: "shop-a"}))
}

func testDuplicatesAcrossReopen(t *testing.T, s store.Store, reopen func(*testing.T, store.Store) store.Store) {
	a, b := event("shop-a", "a", 0), event("shop-a", "b", time.Second)
	_, err := s.Append(ctx(t), []tracking.Event{a})
	require.NoError(t, err)
	s = reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })
	res, err := s.Append(ctx(t), []tracking.Event{a, b})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false}, res.Duplicate)
	requireSameEvents(t, []tracking.Event{a, b}, All(t, s, store.Filter{ShopID: "shop-a"}))
}

func testSameIDInTwoShops(t *testing.T, s store.Store) {
	a, b := event("shop-a", "same", 0), event("shop-b", "same", 0)
	b.UserID = "only-in-b"
	res, err := s.Append(ctx(t), []tracking.Event{a, b})
	require.NoError(t, err)
	require.Equal(t, 2, res.Inserted)
	requireSameEvents(t, []tracking.Event{a}, All(t, s, store.Filter{ShopID: "shop-a"}))
	requireSameEvents(t, []tracking.Event{b}, All(t, s, store.Filter{ShopID: "shop-b"}))
	require.Empty(t, All(t, s, store.Filter{ShopID: "shop-c"}))
}

func testTimeOrder(t *testing.T, s store.Store) {
	r := rand.New(rand.NewPCG(1, 2))
	var events []tracking.Event
	for i := range 300 {
		// Many share a timestamp: ties are broken by id.
		events = append(events, event("shop-a", fmt.Sprintf("e%03d", i), time.Duration(r.IntN(50))*time.Millisecond))
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	for i := 0; i < len(events); i += 70 {
		_, err := s.Append(ctx(t), events[i:min(i+70, len(events))])
		require.NoError(t, err)
	}
	want := append([]tracking.Event(nil), events...)
	sort.Slice(want, func(i, j int) bool {
		if !want[i].Timestamp.Equal(want[j].Timestamp) {
			return want[i].Timestamp.Before(want[j].Timestamp)
		}
		return want[i].ID < want[j].ID
	})
	require.Equal(t, ids(want), ids(All(t, s, store.Filter{ShopID: "shop-a"})))
}

func testFilters(t *testing.T, s store.Store) {
	var events []tracking.Event
	types := []string{tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart, "custom_thing"}
	for i := range 40 {
		e := event("shop-a", fmt.Sprintf("f%02d", i), time.Duration(i)*time.Minute)
		e.Type = types[i%4]
		e.ProductID = "p"
		e.UserID = fmt.Sprintf("u%d", i%3)
		e.SessionID = fmt.Sprintf("s%d", i%5)
		e.AnonymousID = fmt.Sprintf("a%d", i%2)
		events = append(events, e)
	}
	other := event("shop-b", "f00", 0)
	_, err := s.Append(ctx(t), append(events, other))
	require.NoError(t, err)

	cases := []struct {
		name string
		f    store.Filter
	}{
		{"shop", store.Filter{ShopID: "shop-a"}},
		{"from inclusive", store.Filter{ShopID: "shop-a", From: base.Add(10 * time.Minute)}},
		{"to exclusive", store.Filter{ShopID: "shop-a", To: base.Add(10 * time.Minute)}},
		{"range", store.Filter{ShopID: "shop-a", From: base.Add(5 * time.Minute), To: base.Add(25 * time.Minute)}},
		{"range between events", store.Filter{ShopID: "shop-a", From: base.Add(5*time.Minute + time.Second), To: base.Add(6 * time.Minute)}},
		{"one type", store.Filter{ShopID: "shop-a", Types: []string{tracking.AddToCart}}},
		{"two types", store.Filter{ShopID: "shop-a", Types: []string{"custom_thing", tracking.PageViewed}}},
		{"unknown type", store.Filter{ShopID: "shop-a", Types: []string{"nothing"}}},
		{"user", store.Filter{ShopID: "shop-a", UserID: "u1"}},
		{"session", store.Filter{ShopID: "shop-a", SessionID: "s3"}},
		{"anonymous", store.Filter{ShopID: "shop-a", AnonymousID: "a1"}},
		{"combined", store.Filter{ShopID: "shop-a", UserID: "u2", Types: []string{tracking.ProductViewed, tracking.PageViewed}, From: base.Add(3 * time.Minute)}},
		{"limit", store.Filter{ShopID: "shop-a", Limit: 7}},
		{"limit with filter", store.Filter{ShopID: "shop-a", Limit: 3, Types: []string{tracking.AddToCart}, From: base.Add(20 * time.Minute)}},
		{"other shop", store.Filter{ShopID: "shop-b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []tracking.Event
			for _, e := range append(events, other) {
				if tc.f.Match(&e) && (tc.f.Limit == 0 || len(want) < tc.f.Limit) {
					want = append(want, e)
				}
			}
			requireSameEvents(t, want, All(t, s, tc.f))
		})
	}
}

func testFilterRequiresShop(t *testing.T, s store.Store) {
	for _, f := range []store.Filter{{}, {ShopID: "a", From: base, To: base}, {ShopID: "a", Limit: -1}} {
		var gotErr error
		for _, err := range s.Events(ctx(t), f) {
			gotErr = err
			break
		}
		require.ErrorIs(t, gotErr, store.ErrInvalid, "filter %+v", f)
	}
}

func testLargeBatch(t *testing.T, s store.Store, n int) {
	events := make([]tracking.Event, n)
	for i := range events {
		events[i] = event("shop-a", fmt.Sprintf("big-%06d", i), time.Duration(i)*time.Millisecond)
		events[i].Properties = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
	}
	res, err := s.Append(ctx(t), events)
	require.NoError(t, err)
	require.Equal(t, n, res.Inserted)
	res, err = s.Append(ctx(t), events)
	require.NoError(t, err)
	require.Equal(t, n, res.Duplicates)
	got := All(t, s, store.Filter{ShopID: "shop-a"})
	require.Len(t, got, n)
	require.Equal(t, ids(events), ids(got))
}

func testConcurrentAppenders(t *testing.T, s store.Store) {
	const workers, perWorker, batch = 8, 400, 50
	// Worker w writes ids [w*200, w*200+400): each id is sent by two workers.
	var mu sync.Mutex
	inserted, duplicates := 0, 0
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := 0; start < perWorker; start += batch {
				var events []tracking.Event
				for i := start; i < start+batch; i++ {
					n := w*perWorker/2 + i
					events = append(events, event("shop-a", fmt.Sprintf("c%05d", n), time.Duration(n)*time.Millisecond))
				}
				res, err := s.Append(context.Background(), events)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				inserted += res.Inserted
				duplicates += res.Duplicates
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	unique := (workers + 1) * perWorker / 2
	require.Equal(t, unique, inserted, "every id inserted exactly once")
	require.Equal(t, workers*perWorker-unique, duplicates)
	got := All(t, s, store.Filter{ShopID: "shop-a"})
	require.Len(t, got, unique)
}

func testCancelledContext(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Append(c, []tracking.Event{event("shop-a", "x", 0)})
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, All(t, s, store.Filter{ShopID: "shop-a"}), "a cancelled append stores nothing")

	var events []tracking.Event
	for i := range 500 {
		events = append(events, event("shop-a", fmt.Sprintf("k%04d", i), time.Duration(i)*time.Second))
	}
	_, err = s.Append(ctx(t), events)
	require.NoError(t, err)

	c, cancel = context.WithCancel(context.Background())
	n := 0
	var iterErr error
	for _, err := range s.Events(c, store.Filter{ShopID: "shop-a"}) {
		if err != nil {
			iterErr = err
			break
		}
		n++
		if n == 10 {
			cancel()
		}
	}
	cancel()
	require.ErrorIs(t, iterErr, context.Canceled, "a cancelled read ends with the context's error")
	require.Less(t, n, 500)
}

func testStopIterationEarly(t *testing.T, s store.Store) {
	var events []tracking.Event
	for i := range 200 {
		events = append(events, event("shop-a", fmt.Sprintf("s%04d", i), time.Duration(i)*time.Second))
	}
	_, err := s.Append(ctx(t), events)
	require.NoError(t, err)
	for range 50 { // would exhaust a connection pool or deadlock if breaking leaked
		for _, err := range s.Events(ctx(t), store.Filter{ShopID: "shop-a"}) {
			require.NoError(t, err)
			break
		}
	}
	_, err = s.Append(ctx(t), []tracking.Event{event("shop-a", "after", 0)})
	require.NoError(t, err)
	require.Len(t, All(t, s, store.Filter{ShopID: "shop-a"}), 201)
}

func testClose(t *testing.T, s store.Store) {
	_, err := s.Append(ctx(t), []tracking.Event{event("shop-a", "x", 0)})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	// The ingester retries every error but ErrClosed and ErrInvalid: any
	// other error after Close would be retried for ever.
	_, err = s.Append(ctx(t), []tracking.Event{event("shop-a", "y", 0)})
	require.ErrorIs(t, err, store.ErrClosed, "appending to a closed store")
	require.False(t, errors.Is(err, store.ErrInvalid), "use after close is not the caller's data being invalid")
	require.False(t, store.Retryable(err))
	var readErr error
	for _, err := range s.Events(ctx(t), store.Filter{ShopID: "shop-a"}) {
		readErr = err
		break
	}
	require.ErrorIs(t, readErr, store.ErrClosed, "reading a closed store")
	require.NoError(t, s.Close(), "Close twice is harmless")
}

// typeCountEvents returns 60 events of shop-a (four types, three users,
// five sessions, two anonymous ids, a minute apart) and one of shop-b.
func typeCountEvents() []tracking.Event {
	types := []string{tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart, "custom_thing"}
	var events []tracking.Event
	for i := range 60 {
		e := event("shop-a", fmt.Sprintf("t%02d", i), time.Duration(i)*time.Minute)
		e.Type = types[i*i%7%4] // uneven counts
		e.UserID = fmt.Sprintf("u%d", i%3)
		e.SessionID = fmt.Sprintf("s%d", i%5)
		e.AnonymousID = fmt.Sprintf("a%d", i%2)
		events = append(events, e)
	}
	return append(events, event("shop-b", "t00", 0))
}

func testTypeCounter(t *testing.T, s store.Store) {
	tc, ok := s.(store.TypeCounter)
	if !ok {
		t.Skip("the store does not implement store.TypeCounter")
	}
	_, err := s.Append(ctx(t), typeCountEvents())
	require.NoError(t, err)
	cases := []struct {
		name string
		f    store.Filter
	}{
		{"shop", store.Filter{ShopID: "shop-a"}},
		{"other shop", store.Filter{ShopID: "shop-b"}},
		{"empty shop", store.Filter{ShopID: "nobody"}},
		{"from inclusive", store.Filter{ShopID: "shop-a", From: base.Add(10 * time.Minute)}},
		{"to exclusive", store.Filter{ShopID: "shop-a", To: base.Add(10 * time.Minute)}},
		{"range", store.Filter{ShopID: "shop-a", From: base.Add(5 * time.Minute), To: base.Add(42 * time.Minute)}},
		{"range between events", store.Filter{ShopID: "shop-a", From: base.Add(5*time.Minute + time.Second), To: base.Add(6 * time.Minute)}},
		{"user", store.Filter{ShopID: "shop-a", UserID: "u1"}},
		{"session", store.Filter{ShopID: "shop-a", SessionID: "s3"}},
		{"anonymous", store.Filter{ShopID: "shop-a", AnonymousID: "a1", From: base.Add(20 * time.Minute)}},
		{"combined", store.Filter{ShopID: "shop-a", UserID: "u2", SessionID: "s4", To: base.Add(50 * time.Minute)}},
		{"types and limit are ignored", store.Filter{ShopID: "shop-a", Types: []string{tracking.AddToCart}, Limit: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counts, err := tc.CountByType(ctx(t), c.f)
			require.NoError(t, err)
			got := map[string]int64{}
			for _, n := range counts {
				_, dup := got[n.Type]
				require.False(t, dup, "type %q counted twice", n.Type)
				require.Positive(t, n.Count, "type %q", n.Type)
				got[n.Type] = n.Count
			}
			f := c.f
			f.Types, f.Limit = nil, 0
			want := map[string]int64{}
			for _, e := range All(t, s, f) {
				want[e.Type]++
			}
			require.Equal(t, want, got)
		})
	}
	_, err = tc.CountByType(ctx(t), store.Filter{})
	require.ErrorIs(t, err, store.ErrInvalid, "a filter without a shop")
	_, err = tc.CountByType(ctx(t), store.Filter{ShopID: "shop-a", From: base, To: base})
	require.ErrorIs(t, err, store.ErrInvalid, "an empty range")
}

func testTypeCounterAfterClose(t *testing.T, s store.Store) {
	tc, ok := s.(store.TypeCounter)
	if !ok {
		t.Skip("the store does not implement store.TypeCounter")
	}
	require.NoError(t, s.Close())
	_, err := tc.CountByType(ctx(t), store.Filter{ShopID: "shop-a"})
	require.ErrorIs(t, err, store.ErrClosed)
}

func testPinger(t *testing.T, s store.Store) {
	p, ok := s.(store.Pinger)
	if !ok {
		t.Skip("the store does not implement store.Pinger")
	}
	require.NoError(t, p.Ping(ctx(t)), "an open store answers")
	require.NoError(t, s.Close())
	require.ErrorIs(t, p.Ping(ctx(t)), store.ErrClosed, "a closed store")
}
