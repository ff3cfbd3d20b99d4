package analytics

import (
	"context"
	"fmt"
	"math/rand/v2"
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

// generated returns events of three shops over ten days with a skewed mix
// of types, some sent twice.
func generated(seed uint64, n int) []tracking.Event {
	r := rand.New(rand.NewPCG(seed, seed))
	types := []string{tracking.PageViewed, tracking.PageViewed, tracking.PageViewed, tracking.ProductViewed,
		tracking.ProductViewed, tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted, "wishlist_added"}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	out := make([]tracking.Event, 0, n)
	for i := range n {
		e := tracking.Event{
			ID: fmt.Sprintf("g%06d", i), ShopID: fmt.Sprintf("shop-%d", r.IntN(3)), Type: types[r.IntN(len(types))],
			AnonymousID: fmt.Sprintf("a%d", r.IntN(50)), SessionID: fmt.Sprintf("s%d", r.IntN(200)),
			Timestamp:  base.Add(time.Duration(r.Int64N(int64(10 * 24 * time.Hour)))).Truncate(time.Microsecond),
			ReceivedAt: base,
		}
		out = append(out, e)
		if r.IntN(20) == 0 {
			out = append(out, e) // a duplicate send
		}
	}
	return out
}

// TestCountsPushdownEqualsGeneric compares the SQL GROUP BY with the generic
// count over the same stored events, and with the reference store.
func TestCountsPushdownEqualsGeneric(t *testing.T) {
	ctx := context.Background()
	events := generated(7, 20_000)
	mem := memstore.New()
	sq, err := sqlitestore.New(ctx, sqlitestore.Options{Path: filepath.Join(t.TempDir(), "counts.db")})
	require.NoError(t, err)
	defer sq.Close()
	stores := map[string]store.Store{"memstore": mem, "sqlitestore": sq}
	if os.Getenv("SHOPLYTICS_TEST_POSTGRES_URL") != "" || testenv.Required() {
		stores["pgstore"] = pgtest.Open(t)
	}
	for _, s := range stores {
		for i := 0; i < len(events); i += 1000 {
			_, err := s.Append(ctx, events[i:min(i+1000, len(events))])
			require.NoError(t, err)
		}
	}
	_, isCounter := store.Store(sq).(store.TypeCounter)
	require.True(t, isCounter, "sqlitestore pushes counts down")

	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	queries := []Query{
		{ShopID: "shop-0", From: base, To: base.Add(10 * 24 * time.Hour)},
		{ShopID: "shop-1", From: base.Add(36 * time.Hour), To: base.Add(37 * time.Hour)},
		{ShopID: "shop-2", From: base.Add(-time.Hour), To: base.Add(3*24*time.Hour + 17*time.Minute)},
		{ShopID: "shop-9", From: base, To: base.Add(time.Hour)},
		{ShopID: "shop-0"}, // unbounded
	}
	for _, q := range queries {
		want, err := countsGeneric(ctx, mem, q)
		require.NoError(t, err)
		for name, s := range stores {
			got, err := Counts(ctx, s, q)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s %+v", name, q)
			generic, err := countsGeneric(ctx, s, q)
			require.NoError(t, err)
			require.Equal(t, want, generic, "%s generic %+v", name, q)
		}
	}
	all, err := Counts(ctx, sq, Query{ShopID: "shop-0"})
	require.NoError(t, err)
	require.NotEmpty(t, all)
	for i := 1; i < len(all); i++ {
		require.GreaterOrEqual(t, all[i-1].Count, all[i].Count, "sorted by count")
	}
}
