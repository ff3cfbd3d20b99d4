package analytics

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// trailSpy is a store with session trails that counts its Events reads, to
// tell a funnel answered from the trails from one that read the events.
type trailSpy struct {
	store.Store
	reads atomic.Int64
}

func (s *trailSpy) SessionTrails(ctx context.Context, f store.Filter, first, second string, yield func(store.Trail) error) (int64, error) {
	return s.Store.(store.FunnelReader).SessionTrails(ctx, f, first, second, yield)
}

func (s *trailSpy) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	s.reads.Add(1)
	return s.Store.Events(ctx, f)
}

// funnels answers q and o from ref and then from s, and returns both
// answers and how many times s read its events for its own.
func (s *trailSpy) funnels(t *testing.T, ctx context.Context, ref store.Store, q Query, o FunnelOptions) (want, got FunnelResult, reads int64) {
	t.Helper()
	want, err := Funnel(ctx, ref, q, o)
	require.NoError(t, err)
	before := s.reads.Load()
	got, err = Funnel(ctx, s, q, o)
	require.NoError(t, err)
	return want, got, s.reads.Load() - before
}

// trailEvents are sessions of every shape a funnel over trails must get
// right: devices whose runs split at 30 minutes and runs that don't, some
// events with a session_id, several events at one instant in every order
// of their ids, steps exactly a window apart, runs of one type, steps in and out of order, custom
// events, and late events, appended after the rest in a shuffled order
// (they extend and join stored sessions).
func trailEvents(seed uint64) (early, late []tracking.Event) {
	r := rand.New(rand.NewPCG(seed, 9))
	types := []string{tracking.PageViewed, tracking.ProductViewed, tracking.ProductViewed, tracking.AddToCart,
		tracking.CheckoutStarted, tracking.PurchaseCompleted, tracking.ProductSearched, "wishlist_added"}
	var all []tracking.Event
	for v := range 60 {
		at := t0.Add(time.Duration(r.IntN(3*24*60)) * time.Minute)
		for k := range 2 + r.IntN(30) {
			switch r.IntN(10) {
			case 0: // a pause that ends the session
				at = at.Add(30*time.Minute + time.Duration(r.IntN(2))*time.Hour)
			case 1, 2: // the same instant
			case 3: // just under the gap
				at = at.Add(30*time.Minute - time.Microsecond)
			case 4: // a whole minute: steps exactly a window apart
				at = at.Add(time.Minute)
			default:
				at = at.Add(time.Duration(1+r.IntN(600)) * time.Second)
			}
			typ := types[r.IntN(len(types))]
			if r.IntN(4) == 0 && k > 0 {
				typ = all[len(all)-1].Type // a run of one type
			}
			e := ev(typ, at, id(fmt.Sprintf("t%03d-%02d-%d", v, k, r.IntN(10))), anon(fmt.Sprintf("a%d", v%40)))
			switch r.IntN(8) {
			case 0:
				e.SessionID = fmt.Sprintf("s%d", r.IntN(12))
			case 1:
				e.UserID = fmt.Sprintf("u%d", r.IntN(8))
			case 2:
				e.AnonymousID, e.UserID = "", fmt.Sprintf("u%d", r.IntN(8))
			}
			all = append(all, e)
		}
	}
	for i, e := range all {
		if r.IntN(6) == 0 {
			late = append(late, e)
		} else {
			early = append(early, all[i])
		}
	}
	r.Shuffle(len(late), func(i, j int) { late[i], late[j] = late[j], late[i] })
	return early, late
}

func TestFunnelFromTrailsEqualsTheEvents(t *testing.T) {
	ctx := context.Background()
	backends := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlitestore", func(t *testing.T) store.Store {
			s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: filepath.Join(t.TempDir(), "trails.db")})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"pgstore", func(t *testing.T) store.Store { return pgtest.Open(t) }},
	}
	funnels := [][]string{
		{tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted},
		{tracking.ProductViewed, tracking.ProductViewed, tracking.ProductViewed}, // repeated, adjacent
		{tracking.ProductViewed, tracking.AddToCart, tracking.ProductViewed, tracking.AddToCart},
		{tracking.PurchaseCompleted, tracking.ProductViewed}, // the usual order reversed
		{tracking.AddToCart},
		{tracking.CheckoutStarted, tracking.CheckoutStarted},
		{tracking.ProductSearched, tracking.PageViewed, tracking.ProductSearched, tracking.PurchaseCompleted,
			tracking.PageViewed},
	}
	windows := []time.Duration{0, time.Second, time.Minute, 2 * time.Minute, 10 * time.Minute, 45 * time.Minute}
	for seed := range uint64(3) {
		early, late := trailEvents(seed)
		ref := memstore.New()
		_, err := ref.Append(ctx, early)
		require.NoError(t, err)
		_, err = ref.Append(ctx, late)
		require.NoError(t, err)
		queries := []Query{
			{ShopID: shop},
			{ShopID: shop, From: t0, To: t0.Add(4 * 24 * time.Hour)},
			// Bounds on hours and off them, through sessions.
			{ShopID: shop, From: t0.Add(13 * time.Hour), To: t0.Add(50 * time.Hour)},
			{ShopID: shop, From: t0.Add(20*time.Hour + 7*time.Minute + 3*time.Second + 5), To: t0.Add(61*time.Hour + 59*time.Minute)},
			{ShopID: shop, From: t0.Add(30 * time.Hour), To: t0.Add(31 * time.Hour)},
		}
		for _, b := range backends {
			t.Run(fmt.Sprintf("%s/seed=%d", b.name, seed), func(t *testing.T) {
				s := &trailSpy{Store: b.open(t)}
				_, err := s.Append(ctx, early)
				require.NoError(t, err)
				_, err = s.Append(ctx, late)
				require.NoError(t, err)
				_, err = s.Append(ctx, early[:len(early)/2]) // duplicates count once
				require.NoError(t, err)
				check := func(t *testing.T) {
					for qi, q := range queries {
						for _, steps := range funnels {
							for _, w := range windows {
								o := FunnelOptions{Steps: steps, Window: w}
								want, got, reads := s.funnels(t, ctx, ref, q, o)
								name := fmt.Sprintf("query %d, steps %v, window %s", qi, steps, w)
								require.Equal(t, want, got, name)
								require.Equal(t, int64(0), reads, "%s: read the events", name)
							}
						}
					}
				}
				t.Run("appended", check)
				require.NoError(t, s.Store.(store.RollupRebuilder).Rebuild(ctx, shop))
				t.Run("rebuilt", check)

				// By user, and with a custom step, the events are read.
				q := queries[1]
				for _, o := range []FunnelOptions{
					{Steps: []string{tracking.ProductViewed, tracking.AddToCart}, By: ByUser},
					{Steps: []string{tracking.ProductViewed, "wishlist_added"}},
				} {
					want, got, reads := s.funnels(t, ctx, ref, q, o)
					require.Equal(t, want, got)
					require.Positive(t, reads, "%v reads the events", o)
				}
			})
		}
	}
}

// TestFunnelFromTrailsIsNotTrivial keeps the data of the test above
// reaching the last steps, with the medians of both parities.
func TestFunnelFromTrailsIsNotTrivial(t *testing.T) {
	ctx := context.Background()
	early, late := trailEvents(0)
	s := memstore.New()
	_, err := s.Append(ctx, append(early, late...))
	require.NoError(t, err)
	f, err := Funnel(ctx, s, Query{ShopID: shop}, FunnelOptions{Steps: []string{tracking.PageViewed, tracking.ProductViewed,
		tracking.AddToCart, tracking.PurchaseCompleted}})
	require.NoError(t, err)
	require.Greater(t, f.Steps[0].Count, int64(20))
	require.Positive(t, f.Steps[3].Count)
	require.NotNil(t, f.Steps[3].MedianSecondsFromPrevious)
}

// A session longer than a trail keeps (one session_id sent with every
// event, batch after batch) overflows: Append stops rewriting its trail,
// and a funnel over it reads the events, with the events' answer; the
// other ranges still answer from the trails.
func TestFunnelOverAnOverflowedTrailReadsTheEvents(t *testing.T) {
	ctx := context.Background()
	types := []string{tracking.ProductViewed, tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted}
	var long, other []tracking.Event
	for i := range store.MaxTrailEvents + 500 {
		long = append(long, tracking.Event{ID: fmt.Sprintf("long-%05d", i), ShopID: shop, Type: types[i%len(types)],
			SessionID: "everlasting", AnonymousID: "client-1", Timestamp: t0.Add(time.Duration(i) * time.Second),
			ProductID: "p1", Currency: "EUR"})
	}
	for i := range 40 {
		other = append(other, tracking.Event{ID: fmt.Sprintf("other-%03d", i), ShopID: shop, Type: types[i%3],
			AnonymousID: fmt.Sprintf("device-%d", i/4), Timestamp: t0.Add(48*time.Hour + time.Duration(i)*time.Minute),
			ProductID: "p1", Currency: "EUR"})
	}
	ref := memstore.New()
	for _, s := range []store.Store{ref} {
		_, err := s.Append(ctx, append(slices.Clone(long), other...))
		require.NoError(t, err)
	}
	for _, open := range []func(t *testing.T) store.Store{
		func(t *testing.T) store.Store {
			s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: filepath.Join(t.TempDir(), "long.db")})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		func(t *testing.T) store.Store { return pgtest.Open(t) },
	} {
		s := &trailSpy{Store: open(t)}
		for i := 0; i < len(long); i += 100 { // batch after batch, as a live client sends
			_, err := s.Append(ctx, long[i:min(i+100, len(long))])
			require.NoError(t, err)
		}
		_, err := s.Append(ctx, other)
		require.NoError(t, err)
		o := FunnelOptions{Steps: types}
		for _, q := range []Query{{ShopID: shop}, {ShopID: shop, From: t0.Add(10 * time.Minute), To: t0.Add(72 * time.Hour)}} {
			want, got, reads := s.funnels(t, ctx, ref, q, o)
			require.Equal(t, want, got)
			require.Positive(t, reads, "the overflowed session's events are read")
		}
		q := Query{ShopID: shop, From: t0.Add(48 * time.Hour), To: t0.Add(72 * time.Hour)}
		want, got, reads := s.funnels(t, ctx, ref, q, o)
		require.Equal(t, want, got)
		require.Equal(t, int64(0), reads, "a range without it answers from the trails")
		require.Positive(t, got.Steps[0].Count)
	}
}
