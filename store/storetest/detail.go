package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// detailStore is a store with every detail rollup.
type detailStore interface {
	store.Store
	store.SessionReader
	store.PeopleReader
	store.ProductReader
}

// detailEvents returns events of two shops over two days for the detail
// rollups: devices with and without session ids whose visits come back
// within and after 30 minutes, identifies, events with both ids, products
// with names and orders with line items in two currencies.
func detailEvents(seed uint64, n int) []tracking.Event {
	r := rand.New(rand.NewPCG(seed, 17))
	types := []string{tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted,
		tracking.Identify, "custom_thing"}
	start := base.Truncate(time.Hour)
	out := make([]tracking.Event, n)
	for i := range out {
		e := event([]string{"shop-a", "shop-a", "shop-b"}[r.IntN(3)], fmt.Sprintf("d%05d", i), 0)
		e.Type = types[r.IntN(len(types))]
		e.Timestamp = start.Add(time.Duration(r.Int64N(int64(48 * time.Hour)))).Truncate(time.Microsecond)
		if r.IntN(2) == 0 {
			e.Timestamp = e.Timestamp.Truncate(time.Minute) // ties of one instant
		}
		e.ReceivedAt = e.Timestamp
		e.AnonymousID = fmt.Sprintf("a%d", r.IntN(40))
		switch r.IntN(5) {
		case 0:
			e.SessionID = fmt.Sprintf("s%d", r.IntN(60))
		case 1:
			e.UserID = fmt.Sprintf("u%d", r.IntN(15))
		case 2:
			e.UserID, e.AnonymousID = fmt.Sprintf("u%d", r.IntN(15)), ""
		}
		if e.Type == tracking.Identify {
			e.UserID = fmt.Sprintf("u%d", r.IntN(15))
		}
		switch e.Type {
		case tracking.ProductViewed, tracking.AddToCart:
			e.ProductID = fmt.Sprintf("p%d", r.IntN(12))
			if r.IntN(2) == 0 {
				e.ProductName = fmt.Sprintf("Name %d", r.IntN(3))
			}
		case tracking.PurchaseCompleted:
			e.Currency = []string{"USD", "EUR"}[r.IntN(2)]
			e.Revenue = tracking.Money{Minor: r.Int64N(10_000), Currency: e.Currency}
			if r.IntN(2) == 0 {
				e.Properties = fmt.Appendf(nil, `{"products":[{"product_id":"p%d","name":"Line %d","price":"1.25","quantity":2},{"product_id":%d}]}`,
					r.IntN(12), r.IntN(3), r.IntN(12))
			} else {
				e.ProductID = fmt.Sprintf("p%d", r.IntN(12))
			}
		}
		out[i] = e
	}
	return out
}

// wantDetail rolls up the stored events of a shop as a detail rollup must:
// sessions by store.SessionStream, and products by store.ProductHours.
func wantDetail(t *testing.T, s store.Store, shop string) (sessions []store.Session, products []store.ProductHour) {
	var z store.SessionStream
	var p store.ProductHours
	for _, e := range All(t, s, store.Filter{ShopID: shop}) {
		sessions = z.Add(&e, sessions)
		p.Add(&e)
	}
	return z.Close(sessions), p.Rows(shop)
}

// requireDetailMatchesEvents checks every detail read of s against the
// rollup of its stored events.
func requireDetailMatchesEvents(t *testing.T, s detailStore) {
	t.Helper()
	for _, shop := range []string{"shop-a", "shop-b", "nobody"} {
		sessions, products := wantDetail(t, s, shop)
		requireTrailsMatch(t, s, shop, sessions)
		var want store.SessionHours
		for i := range sessions {
			want.Add(&sessions[i], 1)
		}
		wantHours := map[time.Time]store.SessionHour{}
		for _, k := range want.Keys() {
			wantHours[k.Hour] = want.Row(k)
		}
		rows, err := s.SessionHours(ctx(t), store.Filter{ShopID: shop})
		require.NoError(t, err)
		gotHours := map[time.Time]store.SessionHour{}
		for _, r := range rows {
			if r.Sessions != 0 || r.LengthMicros != 0 {
				gotHours[r.Hour] = r
			}
		}
		require.Equal(t, wantHours, gotHours, "session hours of %s", shop)

		var span time.Duration
		for _, x := range sessions {
			span = max(span, x.End.Sub(x.Start))
		}
		got, err := s.SessionSpan(ctx(t), shop)
		require.NoError(t, err)
		require.GreaterOrEqual(t, got, span, "the span bounds every session")
		for h := 0; h < 50; h += 7 {
			at := base.Truncate(time.Hour).Add(time.Duration(h) * time.Hour)
			var open []store.Session
			for _, x := range sessions {
				if x.Start.Before(at) && !x.End.Before(at) {
					open = append(open, x)
				}
			}
			got, err := s.SessionsAt(ctx(t), shop, at)
			require.NoError(t, err)
			require.Equal(t, sortedSessions(open), sortedSessions(got), "sessions open at %s in %s", at, shop)
		}

		totals := map[[2]string]store.ProductHour{}
		for _, r := range products {
			k := [2]string{r.ProductID, r.Currency}
			x, ok := totals[k]
			if !ok {
				x = store.ProductHour{ProductHourKey: store.ProductHourKey{ShopID: shop, ProductID: r.ProductID, Currency: r.Currency}}
			}
			x.Merge(&r)
			totals[k] = x
		}
		gotProducts, err := s.ProductTotals(ctx(t), store.Filter{ShopID: shop})
		require.NoError(t, err)
		gotTotals := map[[2]string]store.ProductHour{}
		for _, r := range gotProducts {
			gotTotals[[2]string{r.ProductID, r.Currency}] = r
		}
		require.Equal(t, totals, gotTotals, "product totals of %s", shop)

		_, err = s.CountPeople(ctx(t), store.Filter{ShopID: shop})
		require.NoError(t, err)
	}
}

func sortedSessions(in []store.Session) []store.Session {
	out := slices.Clone(in)
	for i := range out {
		out[i].Trail = nil // requireTrailsMatch checks them
	}
	slices.SortFunc(out, func(a, b store.Session) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key), a.Start.Compare(b.Start))
	})
	if out == nil {
		out = []store.Session{}
	}
	return out
}

// testDetailRollups sends events late, out of order, twice and from
// concurrent writers at once, and holds the detail rollups to the rollup
// of the stored events; then again after a rebuild.
func testDetailRollups(t *testing.T, s store.Store) {
	ds, ok := s.(detailStore)
	if !ok {
		t.Skip("the store does not implement the detail rollups")
	}
	events := detailEvents(1, 3000)
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			// Each writer sends an overlapping window, shuffled, in its own
			// batch sizes: events land next to, between and inside stored
			// sessions while others write.
			mine := slices.Clone(events[w*len(events)/(2*workers):][:len(events)/2])
			rand.New(rand.NewPCG(uint64(w), 5)).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			batch := 50 + 37*w
			for i := 0; i < len(mine); i += batch {
				if _, err := s.Append(context.Background(), mine[i:min(i+batch, len(mine))]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, err := s.Append(ctx(t), events)
	require.NoError(t, err)
	requireDetailMatchesEvents(t, ds)
	if rb, ok := s.(store.RollupRebuilder); ok {
		for _, shop := range []string{"shop-a", "shop-b"} {
			require.NoError(t, rb.Rebuild(ctx(t), shop))
		}
		requireDetailMatchesEvents(t, ds)
	}
}

// testDetailRollupsRefuse checks the filters the detail rollups cannot
// answer exactly.
func testDetailRollupsRefuse(t *testing.T, s store.Store) {
	ds, ok := s.(detailStore)
	if !ok {
		t.Skip("the store does not implement the detail rollups")
	}
	_, err := s.Append(ctx(t), detailEvents(2, 50))
	require.NoError(t, err)
	h := base.Truncate(time.Hour)
	for name, f := range map[string]store.Filter{
		"from inside an hour": {ShopID: "shop-a", From: h.Add(time.Minute)},
		"to inside an hour":   {ShopID: "shop-a", To: h.Add(time.Hour + time.Microsecond)},
		"user":                {ShopID: "shop-a", UserID: "u"},
		"types":               {ShopID: "shop-a", Types: []string{tracking.PageViewed}},
		"limit":               {ShopID: "shop-a", Limit: 10},
	} {
		_, err := ds.SessionHours(ctx(t), f)
		require.ErrorIs(t, err, errors.ErrUnsupported, name)
		_, err = ds.CountPeople(ctx(t), f)
		require.ErrorIs(t, err, errors.ErrUnsupported, name)
		_, err = ds.ProductTotals(ctx(t), f)
		require.ErrorIs(t, err, errors.ErrUnsupported, name)
	}
	_, err = ds.SessionHours(ctx(t), store.Filter{})
	require.ErrorIs(t, err, store.ErrInvalid, "a filter without a shop")
	require.NoError(t, s.Close())
	_, err = ds.CountPeople(ctx(t), store.Filter{ShopID: "shop-a"})
	require.ErrorIs(t, err, store.ErrClosed)
}
