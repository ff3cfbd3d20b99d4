package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// trailKey is a trail as text, its events of one instant in code order:
// a trail keeps no order among them.
func trailKey(t store.Trail) string {
	t = slices.Clone(t)
	slices.SortFunc(t, func(a, b store.TrailEvent) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Code, b.Code))
	})
	var b strings.Builder
	for _, e := range t {
		fmt.Fprintf(&b, "%s@%d ", e.Type(), e.At)
	}
	return b.String()
}

// requireTrailsMatch checks a FunnelReader's trails against sessions, the
// rollup of the shop's stored events, over the whole time and over ranges
// whose bounds cut sessions, on hours and off them: for each type, the
// sessions holding it or cut by a bound come with their trail inside the
// range, and the count of the sessions wholly inside that hold one type
// and not another.
func requireTrailsMatch(t *testing.T, s store.Store, shop string, sessions []store.Session) {
	t.Helper()
	fr, ok := s.(store.FunnelReader)
	if !ok {
		return
	}
	type bounds struct{ from, to time.Time }
	ranges := []bounds{{}}
	for h := 3; h < 50; h += 11 {
		from := base.Truncate(time.Hour).Add(time.Duration(h) * time.Hour)
		ranges = append(ranges, bounds{from, from.Add(7 * time.Hour)},
			bounds{from.Add(17*time.Minute + 3*time.Microsecond), from.Add(9*time.Hour + time.Second)})
	}
	inside := func(at time.Time, r bounds) bool {
		return (r.from.IsZero() || !at.Before(r.from)) && (r.to.IsZero() || at.Before(r.to))
	}
	types := []string{tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted, tracking.Identify}
	for _, r := range ranges {
		f := store.Filter{ShopID: shop, From: r.from, To: r.to}
		for i, first := range types {
			second := types[(i+1)%len(types)]
			var want []string
			var wantOnly int64
			for _, x := range sessions {
				whole := inside(x.Start, r) && inside(x.End, r)
				cut := !whole && (r.from.IsZero() || !x.End.Before(r.from)) && (r.to.IsZero() || x.Start.Before(r.to))
				var in store.Trail
				for _, e := range x.Trail {
					if inside(time.UnixMicro(e.At), r) {
						in = append(in, e)
					}
				}
				b1, b2 := x.Trail.Types()&store.TrailBit(first) != 0, x.Trail.Types()&store.TrailBit(second) != 0
				switch {
				case len(x.Trail) == 0: // may be left out
				case cut || whole && b1 && b2:
					if len(in) > 0 {
						want = append(want, trailKey(in))
					}
				case whole && b1:
					wantOnly++
				}
			}
			var got []string
			only, err := fr.SessionTrails(ctx(t), f, first, second, func(tr store.Trail) error {
				require.True(t, slices.IsSortedFunc(tr, func(a, b store.TrailEvent) int { return cmp.Compare(a.At, b.At) }))
				if len(tr) == 0 {
					return nil // a cut session with nothing inside
				}
				got = append(got, trailKey(tr))
				return nil
			})
			require.NoError(t, err)
			slices.Sort(want)
			slices.Sort(got)
			require.Equal(t, want, got, "trails of %s in %v, %s then %s", shop, r, first, second)
			require.Equal(t, wantOnly, only, "sessions of %s with %s and no %s in %v", shop, first, second, r)
		}
	}
	_, err := fr.SessionTrails(ctx(t), store.Filter{ShopID: shop}, "wishlist_added", "", func(store.Trail) error { return nil })
	require.ErrorIs(t, err, errors.ErrUnsupported, "a custom type")
	_, err = fr.SessionTrails(ctx(t), store.Filter{ShopID: shop, UserID: "u1"}, tracking.PageViewed, "", func(store.Trail) error { return nil })
	require.ErrorIs(t, err, errors.ErrUnsupported, "a user filter")
}

// TrailsOf lists the shop's trails that s.SessionTrails yields for
// sessions holding a page_viewed, as text, in order, and the sessions it
// counts with a page_viewed and no purchase.
func TrailsOf(ctx context.Context, s store.FunnelReader, shop string) (list []string, only int64, err error) {
	only, err = s.SessionTrails(ctx, store.Filter{ShopID: shop}, tracking.PageViewed, tracking.PurchaseCompleted,
		func(tr store.Trail) error {
			list = append(list, fmt.Sprint(tr))
			return nil
		})
	slices.Sort(list)
	return list, only, err
}
