package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/tracking"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newSchema returns a fresh schema name, dropped with everything in it when
// the test ends (after the stores using it are closed: cleanups run last
// registered first).
func newSchema(t testing.TB) string {
	t.Helper()
	dsn := testenv.PostgresURL(t)
	name := testenv.UniqueName("pgstore_")
	t.Cleanup(func() {
		db, err := sql.Open("postgres", dsn)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec(`DROP SCHEMA IF EXISTS ` + name + ` CASCADE`)
		require.NoError(t, err)
	})
	return name
}

// openStore opens a Store on schema and closes it when the test ends.
func openStore(t testing.TB, schema string) *Store {
	t.Helper()
	s, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var genBase = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// genEvents returns n realistic events of a few shops, reproducible from
// seed; ids are prefix + a counter, so a different prefix gives new keys.
func genEvents(seed uint64, prefix string, n int) []tracking.Event {
	r := rand.New(rand.NewPCG(seed, 7))
	types := []string{tracking.PageViewed, tracking.PageViewed, tracking.ProductViewed, tracking.ProductViewed,
		tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted, tracking.ProductSearched, "wishlist_added"}
	shops := []string{"shop-a", "shop-a", "shop-a", "shop-b", "shop-c"}
	out := make([]tracking.Event, n)
	for i := range out {
		ts := genBase.Add(time.Duration(r.Int64N(int64(30*24*time.Hour))) / time.Microsecond * time.Microsecond)
		e := tracking.Event{
			ID:          fmt.Sprintf("%s-%08d", prefix, i),
			ShopID:      shops[r.IntN(len(shops))],
			Type:        types[r.IntN(len(types))],
			AnonymousID: fmt.Sprintf("anon-%05d", r.IntN(5000)),
			SessionID:   fmt.Sprintf("sess-%06d", r.IntN(20000)),
			URL:         fmt.Sprintf("https://shop.example/products/%d?utm_source=newsletter", r.IntN(500)),
			Referrer:    "https://www.google.com/",
			UserAgent:   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
			Currency:    "USD",
			Timestamp:   ts,
			ReceivedAt:  ts.Add(time.Duration(r.IntN(2000)) * time.Millisecond),
		}
		if r.IntN(3) == 0 {
			e.UserID = fmt.Sprintf("user-%04d", r.IntN(2000))
		}
		switch e.Type {
		case tracking.ProductViewed, tracking.AddToCart:
			e.ProductID = fmt.Sprintf("sku-%03d", r.IntN(500))
			e.ProductName = "Product " + e.ProductID
			e.Category = "apparel/shirts"
			e.Price = tracking.Money{Minor: 500 + r.Int64N(20000), Currency: "USD"}
			e.Quantity = 1 + r.Int64N(3)
		case tracking.PurchaseCompleted:
			e.OrderID = fmt.Sprintf("order-%s-%d", prefix, i)
			e.Revenue = tracking.Money{Minor: 1000 + r.Int64N(50000), Currency: "USD"}
			e.Properties = json.RawMessage(fmt.Sprintf(`{"items":[{"sku":"sku-%03d","qty":%d}],"coupon":"SPRING"}`, r.IntN(500), 1+r.IntN(3)))
		case tracking.ProductSearched:
			e.Properties = json.RawMessage(`{"query":"linen shirt"}`)
		}
		out[i] = e
	}
	return out
}
