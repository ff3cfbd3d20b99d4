package datagen

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/tracking"
)

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func TestTheSameSeedGivesTheSameEvents(t *testing.T) {
	o := Options{Days: 3, Visitors: 100, Seed: 42}
	a, b := Generate(o), Generate(o)
	require.NotEmpty(t, a)
	require.Equal(t, a, b)

	o.Seed = 43
	c := Generate(o)
	require.NotEqual(t, a[:10], c[:10])
	// Ids carry the seed: two seeds in one shop do not collide.
	ids := map[string]bool{}
	for _, e := range a {
		ids[e.ID] = true
	}
	for _, e := range c {
		require.False(t, ids[e.ID], e.ID)
	}
}

func TestStreamHandsOverGenerateInBatches(t *testing.T) {
	o := Options{Days: 2, Visitors: 80, Seed: 7, BatchSize: 100}
	want := Generate(o)
	var got []tracking.Event
	var sizes []int
	require.NoError(t, Stream(o, func(batch []tracking.Event) error {
		sizes = append(sizes, len(batch))
		got = append(got, batch...)
		return nil
	}))
	require.Equal(t, want, got)
	for _, n := range sizes[:len(sizes)-1] {
		require.Equal(t, 100, n)
	}
	require.LessOrEqual(t, sizes[len(sizes)-1], 100)

	stop := errors.New("stop")
	calls := 0
	err := Stream(o, func([]tracking.Event) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)
}

func TestInvalidOptionsAreRefused(t *testing.T) {
	for _, o := range []Options{
		{Days: -1}, {Visitors: -1}, {BatchSize: -1}, {ShopID: "no spaces"},
		{Currencies: []Currency{{Code: "usd", Weight: 1}}},
		{Currencies: []Currency{{Code: "EUR", Weight: 0}}},
	} {
		require.Error(t, Stream(o, func([]tracking.Event) error { return nil }), "%+v", o)
		require.Panics(t, func() { Generate(o) })
	}
}

func TestEveryEventIsValidInRangeAndInOrderOfReceipt(t *testing.T) {
	o := Options{Days: 4, Visitors: 150, Seed: 1, Zone: berlin(t), ShopID: "shop-1"}
	events := Generate(o)
	require.Greater(t, len(events), 2000)
	start, end := DefaultStart, o.End()
	require.Equal(t, start.Add(4*24*time.Hour), end)
	for i, e := range events {
		require.NoError(t, tracking.Validate(&e), "%+v", e)
		require.Equal(t, "shop-1", e.ShopID)
		require.False(t, e.Timestamp.Before(start), e.ID)
		require.True(t, e.Timestamp.Before(end), e.ID)
		require.False(t, e.ReceivedAt.Before(e.Timestamp), e.ID)
		require.Equal(t, e.Timestamp, e.Timestamp.UTC().Truncate(time.Microsecond))
		if i > 0 {
			require.False(t, e.ReceivedAt.Before(events[i-1].ReceivedAt), "order of receipt at %d", i)
		}
	}
}

func TestTheFirstRunOfADemoEndsNow(t *testing.T) {
	now := time.Now()
	o := Options{Start: now.Add(-30 * 24 * time.Hour), Days: 30, Visitors: 20}
	for _, e := range Generate(o) {
		require.True(t, e.Timestamp.Before(now.Add(time.Second)), e.ID)
		require.False(t, e.ReceivedAt.After(now.Add(time.Second)), e.ID)
	}
}

// TestNothingIsReceivedAfterTheEnd holds for the resent duplicates too,
// which arrive seconds after their first send: a demo that ends now must
// not hold an event received in the future.
func TestNothingIsReceivedAfterTheEnd(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		o := Options{Days: 1, Visitors: 20, Seed: seed}
		for _, e := range Generate(o) {
			require.False(t, e.ReceivedAt.After(o.End()), "seed %d: %s received at %s, after the end %s", seed, e.ID, e.ReceivedAt, o.End())
		}
	}
}

// TestTheTrafficHoldsEveryFeature checks each thing the package promises
// is in a few days of traffic.
func TestTheTrafficHoldsEveryFeature(t *testing.T) {
	for _, seed := range []uint64{99, 1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testFeatures(t, seed) })
	}
}

func testFeatures(t *testing.T, seed uint64) {
	loc := berlin(t)
	o := Options{Days: 4, Visitors: 150, Seed: seed, Zone: loc}
	events := Generate(o)

	types := map[string]int{}
	byID := map[string][]tracking.Event{}
	for _, e := range events {
		types[e.Type]++
		byID[e.ID] = append(byID[e.ID], e)
	}
	for _, typ := range []string{tracking.PageViewed, tracking.ProductListViewed, tracking.ProductSearched,
		tracking.ProductListFiltered, tracking.ProductViewed, tracking.AddToCart, tracking.RemoveFromCart,
		tracking.CartViewed, tracking.CheckoutStarted, tracking.PurchaseCompleted, tracking.OrderRefunded,
		tracking.Identify} {
		require.Positive(t, types[typ], typ)
	}

	t.Run("funnels lose visitors at every step", func(t *testing.T) {
		require.Greater(t, types[tracking.PageViewed], types[tracking.AddToCart])
		require.Greater(t, types[tracking.ProductViewed], types[tracking.AddToCart])
		require.Greater(t, types[tracking.AddToCart], types[tracking.CheckoutStarted])
		require.Greater(t, types[tracking.CheckoutStarted], types[tracking.PurchaseCompleted])
	})

	t.Run("duplicate sends repeat an event with its id", func(t *testing.T) {
		dups := 0
		for _, es := range byID {
			require.LessOrEqual(t, len(es), 2)
			if len(es) == 2 {
				dups++
				a, b := es[0], es[1]
				require.True(t, b.ReceivedAt.After(a.ReceivedAt))
				b.ReceivedAt = a.ReceivedAt
				require.Equal(t, a, b)
			}
		}
		require.GreaterOrEqual(t, dups, 4) // at least one a day
	})

	unique := make([]tracking.Event, 0, len(byID))
	seen := map[string]bool{}
	for _, e := range events {
		if !seen[e.ID] {
			seen[e.ID] = true
			unique = append(unique, e)
		}
	}

	t.Run("late events arrive hours after they happened", func(t *testing.T) {
		late := 0
		for _, e := range unique {
			if e.ReceivedAt.Sub(e.Timestamp) >= time.Hour {
				late++
			}
		}
		require.GreaterOrEqual(t, late, 4)
	})

	t.Run("most events have a session id, some only a device", func(t *testing.T) {
		with, without := 0, 0
		for _, e := range unique {
			switch {
			case e.SessionID != "":
				with++
			case e.AnonymousID != "":
				without++
			}
		}
		require.Greater(t, with, 5*without)
		require.Positive(t, without)
	})

	t.Run("a device without session ids comes back after 30 minutes", func(t *testing.T) {
		last := map[string]time.Time{}
		gaps := 0
		for _, e := range sortedByTime(unique) {
			if e.SessionID != "" || e.AnonymousID == "" {
				continue
			}
			if prev, ok := last[e.AnonymousID]; ok && e.Timestamp.Sub(prev) >= 30*time.Minute {
				gaps++
			}
			last[e.AnonymousID] = e.Timestamp
		}
		require.Positive(t, gaps)
	})

	t.Run("sessions cross local midnight", func(t *testing.T) {
		first, last := map[string]time.Time{}, map[string]time.Time{}
		for _, e := range unique {
			if e.SessionID == "" {
				continue
			}
			if f, ok := first[e.SessionID]; !ok || e.Timestamp.Before(f) {
				first[e.SessionID] = e.Timestamp
			}
			if l, ok := last[e.SessionID]; !ok || e.Timestamp.After(l) {
				last[e.SessionID] = e.Timestamp
			}
		}
		crossing := 0
		for s, f := range first {
			if f.In(loc).Day() != last[s].In(loc).Day() {
				crossing++
			}
		}
		require.GreaterOrEqual(t, crossing, 3) // one each night within the range
	})

	t.Run("landing pages carry UTM parameters and referrers", func(t *testing.T) {
		utm, referred := map[string]bool{}, 0
		for _, e := range unique {
			if e.Type != tracking.PageViewed {
				continue
			}
			u, err := url.Parse(e.URL)
			require.NoError(t, err)
			if q := u.Query(); q.Get("utm_source") != "" {
				require.NotEmpty(t, q.Get("utm_medium"))
				require.NotEmpty(t, q.Get("utm_campaign"))
				utm[q.Get("utm_source")] = true
			}
			if e.Referrer != "" {
				referred++
			}
		}
		require.GreaterOrEqual(t, len(utm), 3)
		require.Positive(t, referred)
	})

	t.Run("searches have a query, product events a product", func(t *testing.T) {
		for _, e := range unique {
			switch e.Type {
			case tracking.ProductSearched:
				var p struct{ Query string }
				require.NoError(t, json.Unmarshal(e.Properties, &p))
				require.NotEmpty(t, p.Query)
			case tracking.ProductViewed, tracking.AddToCart, tracking.RemoveFromCart:
				require.NotEmpty(t, e.ProductID)
				require.NotEmpty(t, e.ProductName)
				require.NotEmpty(t, e.Category)
				require.Positive(t, e.Price.Minor)
				require.Equal(t, e.Currency, e.Price.Currency)
			}
		}
	})

	t.Run("orders are their line items exactly, in several currencies", func(t *testing.T) {
		orders := map[string]bool{}
		currencies := map[string]int{}
		for _, e := range unique {
			if e.Type != tracking.PurchaseCompleted {
				continue
			}
			require.NotEmpty(t, e.OrderID)
			require.False(t, orders[e.OrderID], "order %s twice", e.OrderID)
			orders[e.OrderID] = true
			require.NotEmpty(t, e.UserID, "a buyer has identified")
			currencies[e.Currency]++
			var p struct {
				Products []struct {
					ProductID string `json:"product_id"`
					Price     string `json:"price"`
					Quantity  int64  `json:"quantity"`
				} `json:"products"`
			}
			require.NoError(t, json.Unmarshal(e.Properties, &p))
			require.NotEmpty(t, p.Products)
			var sum int64
			for _, l := range p.Products {
				m, err := tracking.ParseMoney(l.Price, e.Currency)
				require.NoError(t, err, "a price in the currency's minor unit")
				sum += m.Minor * l.Quantity
			}
			require.Equal(t, sum, e.Revenue.Minor, e.OrderID)
			if e.Currency == "JPY" {
				require.NotContains(t, e.Revenue.String(), ".")
			}
		}
		require.GreaterOrEqual(t, len(currencies), 2)
		for _, e := range unique {
			if e.Type == tracking.OrderRefunded {
				require.True(t, orders[e.OrderID], "refund of order %s", e.OrderID)
				require.NotEmpty(t, e.UserID)
			}
		}
	})

	t.Run("visitors identify after browsing, some on a second device", func(t *testing.T) {
		sorted := sortedByTime(unique)
		anonBefore := map[string]bool{} // anonymous ids with events before their identify
		devices := map[string]map[string]bool{}
		afterBrowsing := 0
		for _, e := range sorted {
			if e.Type == tracking.Identify {
				require.NotEmpty(t, e.UserID)
				require.NotEmpty(t, e.AnonymousID)
				if anonBefore[e.AnonymousID] {
					afterBrowsing++
				}
				if devices[e.UserID] == nil {
					devices[e.UserID] = map[string]bool{}
				}
				devices[e.UserID][e.AnonymousID] = true
			} else if e.UserID == "" && e.AnonymousID != "" {
				anonBefore[e.AnonymousID] = true
			}
		}
		require.Positive(t, afterBrowsing)
		two := 0
		for _, d := range devices {
			if len(d) >= 2 {
				two++
			}
		}
		require.Positive(t, two)
	})

	t.Run("a flash sale crowds one product into ten minutes", func(t *testing.T) {
		var views []time.Time
		buys := 0
		for _, e := range sortedByTime(unique) {
			if e.Type == tracking.ProductViewed && e.ProductID == FlashProductID {
				views = append(views, e.Timestamp)
			}
			if e.Type == tracking.PurchaseCompleted && string(e.Properties) != "" &&
				json.Valid(e.Properties) && containsProduct(t, e, FlashProductID) {
				buys++
			}
		}
		require.GreaterOrEqual(t, len(views), 75) // a crowd of Visitors/2, each one or more views
		require.LessOrEqual(t, views[len(views)-1].Sub(views[0]), 10*time.Minute)
		require.Positive(t, buys)
		require.Less(t, buys*5, len(views))
	})
}

func containsProduct(t *testing.T, e tracking.Event, id string) bool {
	var p struct {
		Products []struct {
			ProductID string `json:"product_id"`
		} `json:"products"`
	}
	require.NoError(t, json.Unmarshal(e.Properties, &p))
	for _, l := range p.Products {
		if l.ProductID == id {
			return true
		}
	}
	return false
}

func sortedByTime(events []tracking.Event) []tracking.Event {
	out := append([]tracking.Event(nil), events...)
	slicesSortStable(out)
	return out
}
