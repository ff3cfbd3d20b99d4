package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

func TestStatsCountsSessionsUsersRatesAndRevenue(t *testing.T) {
	m := time.Minute
	events := []tracking.Event{
		// Session s1 of anonymous a1, identified as u1 later: page, view,
		// add, purchase in EUR.
		ev(tracking.PageViewed, t0, anon("a1"), sess("s1")),
		ev(tracking.ProductViewed, t0.Add(1*m), anon("a1"), sess("s1"), prod("p1"), named("Old")),
		ev(tracking.AddToCart, t0.Add(2*m), anon("a1"), sess("s1"), prod("p1")),
		ev(tracking.CheckoutStarted, t0.Add(3*m), anon("a1"), sess("s1")),
		ev(tracking.PurchaseCompleted, t0.Add(4*m), anon("a1"), user("u1"), sess("s1"), prod("p1"), paid("10.00", "EUR")),
		// a2, no session id: a bounce, then 30 minutes exactly later a new
		// session with an abandoned cart.
		ev(tracking.PageViewed, t0.Add(10*m), anon("a2")),
		ev(tracking.ProductViewed, t0.Add(40*m), anon("a2"), prod("p2"), named("Two")),
		ev(tracking.AddToCart, t0.Add(41*m), anon("a2"), prod("p2")),
		// a3 identified as u1 (second device): buys twice in EUR, once in JPY.
		ev(tracking.Identify, t0.Add(50*m), anon("a3"), user("u1")),
		ev(tracking.PurchaseCompleted, t0.Add(51*m), anon("a3"), sess("s3"), prod("p2"), paid("0.05", "EUR")),
		ev(tracking.PurchaseCompleted, t0.Add(52*m), anon("a3"), sess("s3"), prod("p2"), paid("500", "JPY")),
		ev(tracking.PurchaseCompleted, t0.Add(53*m), anon("a3"), sess("s3"), prod("p1"), named("New"), paid("0.04", "EUR")),
		// outside the range
		ev(tracking.PageViewed, t0.Add(25*time.Hour), anon("a9")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		got, err := Stats(context.Background(), s, query(t0, t0.Add(24*time.Hour)), StatsOptions{})
		require.NoError(t, err)
		require.Equal(t, StatsResult{
			Events: 12, Sessions: 5, Users: 2, // u1 (a1, a3), a2; the identify session of a3 counts
			PageViews: 2, ProductViews: 2, AddToCarts: 2, Checkouts: 1, Purchases: 4,
			ConversionRate: 40, // s1, s3 of 5 sessions
			Revenue: []Revenue{
				{Currency: "EUR", Orders: 3, Total: money("10.09", "EUR"), Average: money("3.36", "EUR"),
					Min: money("0.04", "EUR"), Max: money("10.00", "EUR")},
				{Currency: "JPY", Orders: 1, Total: money("500", "JPY"), Average: money("500", "JPY"),
					Min: money("500", "JPY"), Max: money("500", "JPY")},
			},
			TopProductID:        "p1", // two orders, like p2, but more views... both one; p1 < p2
			CartAbandonmentRate: 50,
			BounceRate:          20,
			// s1 240 s, a2's two sessions 0 and 60 s, a3's identify 0 s, s3 120 s
			AvgSessionSeconds: 84,
		}, got)
	})
}

func TestStatsOfAnEmptyRange(t *testing.T) {
	forStores(t, nil, func(t *testing.T, s store.Store) {
		got, err := Stats(context.Background(), s, query(t0, t0.Add(time.Hour)), StatsOptions{})
		require.NoError(t, err)
		require.Equal(t, StatsResult{Revenue: []Revenue{}}, got)
	})
}

func TestStatsMoneyIsExact(t *testing.T) {
	const n = 1_000_000
	agg := newStatsAgg(newIdentities())
	e := ev(tracking.PurchaseCompleted, t0, anon("a"), sess("s"), paid("0.10", "USD"))
	for range n {
		agg.add(&e)
	}
	r := agg.result()
	require.Equal(t, "100000.00", r.Revenue[0].Total.String())
	require.Equal(t, "0.10", r.Revenue[0].Average.String())
	require.EqualValues(t, n, r.Revenue[0].Orders)
}

func TestAverageRoundsHalfUp(t *testing.T) {
	for _, c := range []struct {
		total, n, want int64
	}{{5, 2, 3}, {7, 2, 4}, {1, 3, 0}, {2, 3, 1}, {1009, 3, 336}, {10, 4, 3}, {9, 4, 2}, {0, 5, 0}} {
		require.Equal(t, c.want, divRound(c.total, c.n), "%d/%d", c.total, c.n)
	}
	require.Equal(t, 33.33, percent(1, 3))
	require.Equal(t, 66.67, percent(2, 3))
	require.Equal(t, 12.5, percent(1, 8))
	require.Equal(t, 0.01, percent(1, 19999)) // 0.005000… rounds up
	require.Equal(t, 0.0, percent(1, 20001))
	require.Equal(t, 0.0, percent(0, 0))
}
