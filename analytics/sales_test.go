package analytics

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

func salesData() (datagen.Options, []tracking.Event) {
	o := datagen.Options{ShopID: shop, Start: datagen.DefaultStart, Days: 4, Visitors: 80, Seed: 7}
	return o, datagen.Generate(o)
}

// TestSalesEqualsStatsRevenueFromRollupsAndEvents holds Sales, read from
// rollups with the range's ragged ends from events, to Stats' revenue
// over the same range, on every store and on the generic path.
func TestSalesEqualsStatsRevenueFromRollupsAndEvents(t *testing.T) {
	o, events := salesData()
	ctx := context.Background()
	ranges := []Query{
		query(o.Start, o.End()),
		query(o.Start.Add(5*time.Hour+17*time.Minute+3*time.Second), o.End().Add(-7*time.Hour-time.Second)),
		query(o.Start.Add(30*time.Minute), o.Start.Add(40*time.Minute)), // no whole hour
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		for _, q := range ranges {
			st, err := Stats(ctx, s, q, StatsOptions{})
			require.NoError(t, err)
			got, err := Sales(ctx, s, q)
			require.NoError(t, err)
			require.Equal(t, st.Revenue, got, "%v", q)
			raw, err := Sales(ctx, rawStore{s}, q)
			require.NoError(t, err)
			require.Equal(t, st.Revenue, raw)
		}
		full, err := Sales(ctx, s, ranges[0])
		require.NoError(t, err)
		require.Len(t, full, 3, "datagen pays in USD, EUR and JPY")
	})
}

// TestCartAbandonmentMatchesStatsAndCountsProductsOfAbandonedSessions
// checks the rate against Stats and the products against a count made
// here from the raw events of sessions with a session_id.
func TestCartAbandonmentMatchesStatsAndCountsProductsOfAbandonedSessions(t *testing.T) {
	o, events := salesData()
	ctx := context.Background()
	q := query(o.Start, o.End())
	forStores(t, events, func(t *testing.T, s store.Store) {
		st, err := Stats(ctx, s, q, StatsOptions{})
		require.NoError(t, err)
		res, err := CartAbandonment(ctx, s, q, CartAbandonmentOptions{Limit: MaxLimit})
		require.NoError(t, err)
		require.Equal(t, st.CartAbandonmentRate, res.Rate)
		require.Positive(t, res.Abandoned)
		require.Less(t, res.Abandoned, res.CartSessions)

		// Sessions with a session_id, counted here by hand.
		added := map[string][]string{}
		bought := map[string]bool{}
		for e, err := range s.Events(ctx, q.filter()) {
			require.NoError(t, err)
			if e.SessionID == "" {
				continue
			}
			switch e.Type {
			case tracking.AddToCart:
				if e.ProductID != "" && !slices.Contains(added[e.SessionID], e.ProductID) {
					added[e.SessionID] = append(added[e.SessionID], e.ProductID)
				}
			case tracking.PurchaseCompleted:
				bought[e.SessionID] = true
			}
		}
		want := map[string]int64{}
		for sid, ps := range added {
			if !bought[sid] {
				for _, p := range ps {
					want[p]++
				}
			}
		}
		// Sessions without an id can only add to these counts.
		got := map[string]int64{}
		for _, p := range res.Products {
			got[p.ProductID] = p.Sessions
		}
		for p, n := range want {
			require.GreaterOrEqual(t, got[p], n, p)
		}
		require.True(t, slices.IsSortedFunc(res.Products, func(a, b AbandonedProduct) int { return int(b.Sessions - a.Sessions) }))
		top, err := CartAbandonment(ctx, s, q, CartAbandonmentOptions{Limit: 2})
		require.NoError(t, err)
		require.Equal(t, res.Products[:2], top.Products)
	})
}

func TestCartAbandonmentRefusesABadLimit(t *testing.T) {
	_, err := CartAbandonment(context.Background(), rawStore{nil}, query(t0, t0.Add(time.Hour)), CartAbandonmentOptions{Limit: -1})
	var oe *OptionError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "limit", oe.Field)
}

// TestConversionEqualsStats holds Conversion to Stats' sessions and
// conversion rate, over datagen traffic with and without session ids and
// over bounds that cut sessions.
func TestConversionEqualsStats(t *testing.T) {
	o, events := salesData()
	ctx := context.Background()
	forStores(t, events, func(t *testing.T, s store.Store) {
		for _, q := range []Query{
			query(o.Start, o.End()),
			query(o.Start.Add(9*time.Hour+13*time.Minute), o.Start.Add(40*time.Hour+time.Second)),
		} {
			st, err := Stats(ctx, s, q, StatsOptions{})
			require.NoError(t, err)
			c, err := Conversion(ctx, s, q)
			require.NoError(t, err)
			require.Equal(t, st.Sessions, c.Sessions)
			require.Equal(t, st.ConversionRate, c.Rate)
			require.Positive(t, c.Buying)
		}
	})
}
