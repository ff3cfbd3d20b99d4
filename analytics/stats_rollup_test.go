package analytics

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// rollupStores returns a memstore and the stores with rollups, each
// holding the batches appended in order.
func rollupStores(t *testing.T, batches ...[]tracking.Event) map[string]store.Store {
	t.Helper()
	ctx := context.Background()
	sq, err := sqlitestore.New(ctx, sqlitestore.Options{Path: filepath.Join(t.TempDir(), "rollup.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sq.Close() })
	out := map[string]store.Store{"memstore": memstore.New(), "sqlitestore": sq}
	if testenv.Required() || os.Getenv("SHOPLYTICS_TEST_POSTGRES_URL") != "" {
		out["pgstore"] = pgtest.Open(t)
	}
	for _, s := range out {
		for _, b := range batches {
			_, err := s.Append(ctx, b)
			require.NoError(t, err)
		}
	}
	return out
}

// TestStatsFromRollupsCutsSessionsAtTheBounds holds the rollup answer to
// hand-computed figures: a device's events whose late middle event joins
// two runs into one session, a bounce, and a session_id session open
// across both bounds of the range, counted over its one event inside.
func TestStatsFromRollupsCutsSessionsAtTheBounds(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	first := withIDs([]tracking.Event{
		ev(tracking.PageViewed, at(10, 0), anon("a"), id("a1")),
		ev(tracking.AddToCart, at(10, 40), anon("a"), prod("p1"), id("a3")),
		ev(tracking.PageViewed, at(11, 0), anon("b"), id("b1")),
		ev(tracking.PageViewed, at(8, 0), anon("c"), sess("long"), id("c1")),
		ev(tracking.AddToCart, at(12, 0), anon("c"), sess("long"), prod("p2"), id("c2")),
		ev(tracking.PurchaseCompleted, at(13, 30), anon("c"), sess("long"), prod("p2"), paid("10.00", "EUR"), id("c3")),
	})
	late := []tracking.Event{ev(tracking.ProductViewed, at(10, 20), anon("a"), prod("p1"), id("a2"))}
	tests := []struct {
		name     string
		from, to time.Time
		want     StatsResult
	}{
		{"the day", day, day.Add(24 * time.Hour), StatsResult{Events: 7, Sessions: 3, Users: 3, PageViews: 3,
			ProductViews: 1, AddToCarts: 2, Purchases: 1, ConversionRate: 33.33,
			Revenue:      []Revenue{{Currency: "EUR", Orders: 1, Total: money("10.00", "EUR"), Average: money("10.00", "EUR"), Min: money("10.00", "EUR"), Max: money("10.00", "EUR")}},
			TopProductID: "p2", CartAbandonmentRate: 50, BounceRate: 33.33, AvgSessionSeconds: 7400}},
		{"inside the long session", at(9, 0), at(13, 0), StatsResult{Events: 5, Sessions: 3, Users: 3, PageViews: 2,
			ProductViews: 1, AddToCarts: 2, Revenue: []Revenue{}, TopProductID: "p1",
			CartAbandonmentRate: 100, BounceRate: 33.33, AvgSessionSeconds: 800}},
	}
	for name, s := range rollupStores(t, first, late) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				got, err := Stats(context.Background(), s, query(tt.from, tt.to), StatsOptions{})
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
				if name != "memstore" {
					_, ok, err := statsFromRollups(context.Background(), s, query(tt.from, tt.to))
					require.NoError(t, err)
					require.True(t, ok, "answered from the rollups")
				}
			})
		}
	}
}

// TestUsersFromRollupsResolveLinksByTheRange checks the identify rules the
// rollup applies without the range's events: a link before the range
// resolves an anonymous id to its user, one inside it to a user already
// counted, one after it to its user unless an event of the range with
// both ids links it earlier.
func TestUsersFromRollupsResolveLinksByTheRange(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	events := withIDs([]tracking.Event{
		ev(tracking.Identify, at(1), anon("before"), user("u-before")),
		ev(tracking.PageViewed, at(5), anon("before")),
		ev(tracking.PageViewed, at(6), anon("inside")),
		ev(tracking.Identify, at(7), anon("inside"), user("u-inside")),
		ev(tracking.PageViewed, at(8), anon("after")),
		ev(tracking.Identify, at(20), anon("after"), user("u-after")),
		ev(tracking.PageViewed, at(9), anon("both")),
		ev(tracking.AddToCart, at(10), anon("both"), user("u-both"), prod("p")),
		ev(tracking.Identify, at(21), anon("both"), user("u-other")),
		ev(tracking.PageViewed, at(11), anon("alone")),
		ev(tracking.PageViewed, at(12), user("u-before")),
	})
	// In [4h, 13h): u-before (twice: linked and its own event), u-inside,
	// u-after (linked later), u-both (the add links it first), alone.
	for name, s := range rollupStores(t, events) {
		t.Run(name, func(t *testing.T) {
			got, err := Stats(context.Background(), s, query(at(4), at(13)), StatsOptions{})
			require.NoError(t, err)
			require.Equal(t, int64(5), got.Users)
		})
	}
}
