package memstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
}

var base = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// filled returns a store holding n events of shop "s", a millisecond apart
// (pairs share a timestamp), every third with properties.
func filled(t testing.TB, n int) *memstore.Store {
	t.Helper()
	s := memstore.New()
	t.Cleanup(func() { _ = s.Close() })
	events := make([]tracking.Event, n)
	for i := range events {
		events[i] = tracking.Event{
			ID: fmt.Sprintf("e%06d", i), ShopID: "s", Type: tracking.PageViewed,
			AnonymousID: fmt.Sprintf("a%d", i%7), Timestamp: base.Add(time.Duration(i/2) * time.Millisecond),
		}
		if i%3 == 0 {
			events[i].Properties = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		}
	}
	_, err := s.Append(context.Background(), events)
	require.NoError(t, err)
	return s
}

func TestYieldedPropertiesAreTheCallersOwn(t *testing.T) {
	s := filled(t, 10)
	for e, err := range s.Events(context.Background(), store.Filter{ShopID: "s"}) {
		require.NoError(t, err)
		for i := range e.Properties {
			e.Properties[i] = 'X'
		}
	}
	for _, e := range storetest.All(t, s, store.Filter{ShopID: "s"}) {
		if e.Properties != nil {
			require.True(t, json.Valid(e.Properties), "stored properties changed: %s", e.Properties)
		}
	}
}

func TestAppendInsideTheLoopDoesNotDeadlock(t *testing.T) {
	s := filled(t, 1000)
	done := make(chan int, 1)
	go func() {
		n := 0
		for e, err := range s.Events(context.Background(), store.Filter{ShopID: "s"}) {
			if err != nil {
				break
			}
			e.ID += "-copy"
			e.ShopID = "t"
			if _, err := s.Append(context.Background(), []tracking.Event{e}); err != nil {
				break
			}
			n++
		}
		done <- n
	}()
	select {
	case n := <-done:
		require.Equal(t, 1000, n)
	case <-time.After(time.Minute):
		t.Fatal("Append inside an Events loop deadlocked")
	}
	require.Len(t, storetest.All(t, s, store.Filter{ShopID: "t"}), 1000)
}

func TestReadsAreStreamedInPages(t *testing.T) {
	const n = 20000
	s := filled(t, n)
	read := func() int {
		count := 0
		for _, err := range s.Events(context.Background(), store.Filter{ShopID: "s", AnonymousID: "a1"}) {
			require.NoError(t, err)
			count++
		}
		return count
	}
	require.Equal(t, (n-2)/7+1, read(), "ids 1, 8, 15, … have anonymous id a1")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	read()
	runtime.ReadMemStats(&after)
	// A page of events, their properties and the iterator: far less than
	// the matching events held at once, which a copy of the result makes.
	held := uint64(n / 7 * int(unsafe.Sizeof(tracking.Event{})))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, held/4, "bytes allocated by one read")
}

func TestPagesResumeWhereTheyStopped(t *testing.T) {
	s := filled(t, 5000)
	cases := []store.Filter{
		{ShopID: "s"},
		{ShopID: "s", Limit: 300},
		{ShopID: "s", Limit: 257},
		{ShopID: "s", AnonymousID: "a3", Limit: 400},
		{ShopID: "s", From: base.Add(100 * time.Millisecond), To: base.Add(2000 * time.Millisecond)},
		{ShopID: "s", Types: []string{"nothing"}},
	}
	for _, f := range cases {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			var want []string
			for i := range 5000 {
				e := tracking.Event{ID: fmt.Sprintf("e%06d", i), ShopID: "s", Type: tracking.PageViewed,
					AnonymousID: fmt.Sprintf("a%d", i%7), Timestamp: base.Add(time.Duration(i/2) * time.Millisecond)}
				if f.Match(&e) && (f.Limit == 0 || len(want) < f.Limit) {
					want = append(want, e.ID)
				}
			}
			var got []string
			for _, e := range storetest.All(t, s, f) {
				got = append(got, e.ID)
			}
			require.Equal(t, want, got)
		})
	}
}

func TestAppendKeepsOrderWhateverTheBatchesOrder(t *testing.T) {
	s := memstore.New()
	rnd := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for b := range 50 {
		batch := make([]tracking.Event, 1+rnd.IntN(40))
		for i := range batch {
			id := fmt.Sprintf("e%02d-%02d", b, i)
			batch[i] = tracking.Event{ID: id, ShopID: "s", Type: "page_viewed", AnonymousID: "a",
				Timestamp: base.Add(time.Duration(rnd.IntN(100)) * time.Second), ReceivedAt: base}
			want = append(want, id)
		}
		_, err := s.Append(context.Background(), batch)
		require.NoError(t, err)
	}
	var got []tracking.Event
	for e, err := range s.Events(context.Background(), store.Filter{ShopID: "s"}) {
		require.NoError(t, err)
		got = append(got, e)
	}
	require.Len(t, got, len(want))
	require.True(t, slices.IsSortedFunc(got, func(a, b tracking.Event) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}), "ordered by (timestamp, id)")
}
