package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// PeopleBase is the start of the four days PeopleEvents spreads its events
// over.
var PeopleBase = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// PeopleEvents returns n events of shop "shop" over four days from
// PeopleBase, of few people: anonymous ids alone, users alone, both
// (links), and identify events of half the anonymous ids.
func PeopleEvents(r *rand.Rand, prefix string, n int) []tracking.Event {
	return CrowdEvents(r, prefix, n, Crowd{Anons: 60, Users: 12})
}

// Crowd is whom CrowdEvents' events are of.
type Crowd struct {
	Anons, Users int // anonymous ids and user ids
	// Sessions gives a third of the events one of Anons session ids.
	Sessions bool
}

// CrowdEvents returns n events as PeopleEvents makes them, of the people
// of c, with products and orders: over four days from PeopleBase,
// anonymous ids alone, users alone, both (links), and identify events of
// half the anonymous ids (the others are never identified).
func CrowdEvents(r *rand.Rand, prefix string, n int, c Crowd) []tracking.Event {
	out := make([]tracking.Event, n)
	for i := range out {
		e := tracking.Event{
			ID:        fmt.Sprintf("%s-%05d", prefix, i),
			ShopID:    "shop",
			Type:      tracking.PageViewed,
			Timestamp: PeopleBase.Add(time.Duration(r.Int64N(int64(96 * time.Hour)))).Truncate(time.Microsecond),
		}
		e.ReceivedAt = e.Timestamp.Add(time.Second)
		a := r.IntN(c.Anons)
		anon, user := fmt.Sprintf("anon-%d", a), fmt.Sprintf("user-%d", r.IntN(c.Users))
		switch k := r.IntN(10); {
		case k < 5:
			e.AnonymousID = anon
		case k < 6:
			e.UserID = user
		case k < 8:
			e.AnonymousID, e.UserID = anon, user
		case a < c.Anons/2:
			e.Type, e.AnonymousID, e.UserID = tracking.Identify, anon, user
		default:
			e.AnonymousID = anon
		}
		if c.Sessions && r.IntN(3) == 0 {
			e.SessionID = fmt.Sprintf("s-%d", r.IntN(c.Anons))
		}
		switch r.IntN(6) {
		case 0:
			e.Type, e.ProductID, e.ProductName = tracking.ProductViewed, fmt.Sprintf("sku-%d", r.IntN(6)), "P"
		case 1:
			e.Type, e.Currency = tracking.PurchaseCompleted, []string{"USD", "EUR"}[r.IntN(2)]
			e.Revenue = tracking.Money{Minor: int64(100 + r.IntN(1000)), Currency: e.Currency}
			e.ProductID, e.OrderID = fmt.Sprintf("sku-%d", r.IntN(6)), "o-"+e.ID
		}
		out[i] = e
	}
	return out
}

// LateShuffled puts events in time order, but for a fifth of them held
// back and put at the end in reverse: late events, and identifies earlier
// than the links already stored. It reorders events in place and returns
// the result.
func LateShuffled(r *rand.Rand, events []tracking.Event) []tracking.Event {
	slices.SortFunc(events, func(a, b tracking.Event) int { return a.Timestamp.Compare(b.Timestamp) })
	var late []tracking.Event
	events = slices.DeleteFunc(events, func(e tracking.Event) bool {
		if r.IntN(5) == 0 {
			late = append(late, e)
			return true
		}
		return false
	})
	slices.Reverse(late)
	return append(events, late...)
}

// PeopleRanges returns ranges of whole hours over PeopleEvents' days and
// around them: zero bounds, whole days, ranges cut inside days, single
// hours; n of them random.
func PeopleRanges(r *rand.Rand, n int) [][2]time.Time {
	day0 := PeopleBase.Truncate(24 * time.Hour)
	out := [][2]time.Time{{}, {PeopleBase, time.Time{}}, {time.Time{}, PeopleBase.Add(30 * time.Hour)},
		{day0.Add(24 * time.Hour), day0.Add(72 * time.Hour)}}
	for range n {
		from := day0.Add(time.Duration(r.IntN(5*24)-6) * time.Hour)
		out = append(out, [2]time.Time{from, from.Add(time.Duration(1+r.IntN(60)) * time.Hour)})
	}
	return out
}

// PeopleStore is a store that counts people and ranks products.
type PeopleStore interface {
	store.PeopleReader
	store.ProductReader
	store.TopProductReader
}

// RequirePeopleAsScan holds CountPeople and TopPurchased to scans of the
// person and product rollups over ranges of shop "shop": scan counts the
// people of a filter over every person-hour of its range (the backend's
// reference query), TopPurchased is held to ranking ProductTotals.
func RequirePeopleAsScan(t *testing.T, ctx context.Context, s PeopleStore, ranges [][2]time.Time, msg string,
	scan func(f store.Filter) int64) {
	t.Helper()
	for _, rg := range ranges {
		f := store.Filter{ShopID: "shop", From: rg[0], To: rg[1]}
		got, err := s.CountPeople(ctx, f)
		require.NoError(t, err)
		require.Equal(t, scan(f), got, "%s: people of [%s, %s)", msg, f.From, f.To)
		totals, err := s.ProductTotals(ctx, f)
		require.NoError(t, err)
		top, err := s.TopPurchased(ctx, f)
		require.NoError(t, err)
		require.Equal(t, TopByPurchases(totals), top, "%s: top product of [%s, %s)", msg, f.From, f.To)
	}
}

// TopByPurchases ranks product totals as analytics does by purchases:
// purchases, then views, then the least id; "" without purchases.
func TopByPurchases(rows []store.ProductHour) string {
	type agg struct {
		id               string
		purchases, views int64
	}
	by := map[string]*agg{}
	for _, r := range rows {
		a := by[r.ProductID]
		if a == nil {
			a = &agg{id: r.ProductID}
			by[r.ProductID] = a
		}
		a.purchases += r.Purchases
		a.views += r.Views
	}
	var all []*agg
	for _, a := range by {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b *agg) int {
		return cmp.Or(cmp.Compare(b.purchases, a.purchases), cmp.Compare(b.views, a.views), cmp.Compare(a.id, b.id))
	})
	if len(all) == 0 || all[0].purchases == 0 {
		return ""
	}
	return all[0].id
}

// ColumnRows are a query's rows (as *sql.Rows are: storetest, as every
// core package, imports no database package).
type ColumnRows interface {
	store.SQLRows
	Columns() ([]string, error)
}

// QueryRows returns, for each name, the rows its query returns through
// query, each row's values formatted with %v: for comparing a backend's
// tables before and after a change.
func QueryRows(t *testing.T, query func(q string) (ColumnRows, error), queries map[string]string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, q := range queries {
		rows, err := query(q)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			require.NoError(t, rows.Scan(p...))
			out[name] = append(out[name], fmt.Sprintf("%v", v))
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
}
