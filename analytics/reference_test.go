package analytics

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/tracking"
)

// This file holds deliberately naive implementations of the definitions,
// brute force over a slice of events, and the randomized tests that hold
// the streaming ones to them.

// randomEvents makes traffic dense enough to hit the edges: timestamps on
// whole minutes (equal times, gaps of exactly 30 minutes), events without
// session ids, anonymous ids identified as users (some twice, to different
// users), purchases in three currencies.
func randomEvents(seed uint64, n int) []tracking.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	types := []string{tracking.PageViewed, tracking.PageViewed, tracking.ProductViewed, tracking.ProductViewed,
		tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted, "wishlist_added"}
	currencies := []string{"EUR", "EUR", "USD", "JPY"}
	out := make([]tracking.Event, 0, n)
	for i := range n {
		typ := types[r.IntN(len(types))]
		if r.IntN(150) == 0 {
			typ = tracking.Identify
		}
		at := t0.Add(time.Duration(r.IntN(16*60)) * time.Minute)
		e := ev(typ, at, id(fmt.Sprintf("r%05d", i)))
		switch r.IntN(120) {
		case 0, 1, 2, 3:
			e.UserID = fmt.Sprintf("u%d", r.IntN(5))
		case 4:
			e.UserID = fmt.Sprintf("u%d", r.IntN(5))
			e.AnonymousID = fmt.Sprintf("a%d", r.IntN(10))
		default:
			e.AnonymousID = fmt.Sprintf("a%d", r.IntN(10))
		}
		if typ == tracking.Identify && (e.UserID == "" || e.AnonymousID == "") {
			e.UserID, e.AnonymousID = fmt.Sprintf("u%d", r.IntN(5)), fmt.Sprintf("a%d", r.IntN(10))
		}
		if r.IntN(4) == 0 {
			e.SessionID = fmt.Sprintf("s%d", r.IntN(10))
		}
		if typ == tracking.ProductViewed || typ == tracking.AddToCart || typ == tracking.PurchaseCompleted && r.IntN(2) == 0 {
			e.ProductID = fmt.Sprintf("p%d", r.IntN(6))
		}
		if typ == tracking.PurchaseCompleted {
			c := currencies[r.IntN(len(currencies))]
			e.Revenue = tracking.Money{Minor: r.Int64N(100_000), Currency: c}
			e.Currency = c
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b tracking.Event) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// naiveLinks: every identify event, and the range's events with both ids;
// the earliest wins.
func naiveLinks(all, inRange []tracking.Event) map[string]string {
	var candidates []tracking.Event
	for _, e := range all {
		if e.Type == tracking.Identify && e.UserID != "" && e.AnonymousID != "" {
			candidates = append(candidates, e)
		}
	}
	for _, e := range inRange {
		if e.UserID != "" && e.AnonymousID != "" {
			candidates = append(candidates, e)
		}
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		return a.Timestamp.Before(b.Timestamp) || a.Timestamp.Equal(b.Timestamp) && a.ID < b.ID
	})
	links := map[string]string{}
	for _, e := range candidates {
		if _, ok := links[e.AnonymousID]; !ok {
			links[e.AnonymousID] = e.UserID
		}
	}
	return links
}

func naivePerson(e tracking.Event, links map[string]string) (string, bool) {
	if e.UserID != "" {
		return "user:" + e.UserID, true
	}
	if e.AnonymousID != "" {
		if u, ok := links[e.AnonymousID]; ok {
			return "user:" + u, true
		}
		return "anon:" + e.AnonymousID, true
	}
	return "", false
}

// naiveSessions groups the events (sorted) into sessions.
func naiveSessions(events []tracking.Event) [][]tracking.Event {
	byID := map[string][]tracking.Event{}
	byDevice := map[string][]tracking.Event{}
	for _, e := range events {
		if e.SessionID != "" {
			byID[e.SessionID] = append(byID[e.SessionID], e)
		} else if e.AnonymousID != "" {
			byDevice["a:"+e.AnonymousID] = append(byDevice["a:"+e.AnonymousID], e)
		} else {
			byDevice["u:"+e.UserID] = append(byDevice["u:"+e.UserID], e)
		}
	}
	var out [][]tracking.Event
	for _, s := range byID {
		out = append(out, s)
	}
	for _, evs := range byDevice {
		start := 0
		for i := 1; i <= len(evs); i++ {
			if i == len(evs) || evs[i].Timestamp.Sub(evs[i-1].Timestamp) >= 30*time.Minute {
				out = append(out, evs[start:i])
				start = i
			}
		}
	}
	return out
}

func naiveStats(all []tracking.Event, q Query) StatsResult {
	var in []tracking.Event
	for _, e := range all {
		if !e.Timestamp.Before(q.From) && e.Timestamp.Before(q.To) {
			in = append(in, e)
		}
	}
	links := naiveLinks(all, in)
	var r StatsResult
	users := map[string]bool{}
	rev := map[string][]int64{}
	purchases := map[string]int64{}
	views := map[string]int64{}
	for _, e := range in {
		r.Events++
		if p, ok := naivePerson(e, links); ok {
			users[p] = true
		}
		if e.ProductID != "" && e.Type == tracking.ProductViewed {
			views[e.ProductID]++
		}
		switch e.Type {
		case tracking.PageViewed:
			r.PageViews++
		case tracking.ProductViewed:
			r.ProductViews++
		case tracking.AddToCart:
			r.AddToCarts++
		case tracking.CheckoutStarted:
			r.Checkouts++
		case tracking.PurchaseCompleted:
			r.Purchases++
			rev[e.Revenue.Currency] = append(rev[e.Revenue.Currency], e.Revenue.Minor)
			if e.ProductID != "" {
				purchases[e.ProductID]++
			}
		}
	}
	r.Users = int64(len(users))
	sessions := naiveSessions(in)
	r.Sessions = int64(len(sessions))
	var buy, cart, abandon, bounce int64
	var dur time.Duration
	for _, s := range sessions {
		has := func(t string) bool {
			return slices.ContainsFunc(s, func(e tracking.Event) bool { return e.Type == t })
		}
		if has(tracking.PurchaseCompleted) {
			buy++
		}
		if has(tracking.AddToCart) {
			cart++
			if !has(tracking.PurchaseCompleted) {
				abandon++
			}
		}
		if len(s) == 1 && (s[0].Type == tracking.PageViewed || s[0].Type == tracking.ProductViewed) {
			bounce++
		}
		dur += s[len(s)-1].Timestamp.Sub(s[0].Timestamp)
	}
	pct := func(a, b int64) float64 {
		if b == 0 {
			return 0
		}
		// half-up at two decimals, by way of exact rationals
		return float64((a*20000+b)/(2*b)) / 100
	}
	r.ConversionRate = pct(buy, r.Sessions)
	r.CartAbandonmentRate = pct(abandon, cart)
	r.BounceRate = pct(bounce, r.Sessions)
	if r.Sessions > 0 {
		us := dur.Microseconds()
		r.AvgSessionSeconds = float64((us*2+r.Sessions*10000)/(r.Sessions*20000)) / 100
	}
	r.Revenue = []Revenue{}
	for c, vs := range rev {
		var total int64
		for _, v := range vs {
			total += v
		}
		mk := func(v int64) tracking.Money { return tracking.Money{Minor: v, Currency: c} }
		n := int64(len(vs))
		r.Revenue = append(r.Revenue, Revenue{Currency: c, Orders: n, Total: mk(total),
			Average: mk((2*total + n) / (2 * n)), Min: mk(slices.Min(vs)), Max: mk(slices.Max(vs))})
	}
	slices.SortFunc(r.Revenue, func(a, b Revenue) int {
		if a.Orders != b.Orders {
			return cmp.Compare(b.Orders, a.Orders)
		}
		return cmp.Compare(a.Currency, b.Currency)
	})
	var products []string
	for p := range views {
		products = append(products, p)
	}
	for p := range purchases {
		if views[p] == 0 {
			products = append(products, p)
		}
	}
	slices.SortFunc(products, func(a, b string) int {
		if purchases[a] != purchases[b] {
			return cmp.Compare(purchases[b], purchases[a])
		}
		if views[a] != views[b] {
			return cmp.Compare(views[b], views[a])
		}
		return cmp.Compare(a, b)
	})
	// Products only added to a cart also count as named products.
	if len(products) == 0 {
		for _, e := range in {
			if e.Type == tracking.AddToCart && e.ProductID != "" && (r.TopProductID == "" || e.ProductID < r.TopProductID) {
				r.TopProductID = e.ProductID
			}
		}
	} else {
		r.TopProductID = products[0]
	}
	return r
}

// naiveFunnel tries every step-1 event as a start, takes for each next
// step the first event of it after the previous step, and counts per
// entity the attempt that reaches furthest, first; of those finishing with
// the same event, the latest start.
func naiveFunnel(all []tracking.Event, q Query, o FunnelOptions) FunnelResult {
	var in []tracking.Event
	for _, e := range all {
		if !e.Timestamp.Before(q.From) && e.Timestamp.Before(q.To) {
			in = append(in, e)
		}
	}
	groups := map[string][]tracking.Event{}
	if o.By == ByUser {
		links := naiveLinks(all, in)
		for _, e := range in {
			if p, ok := naivePerson(e, links); ok {
				groups[p] = append(groups[p], e)
			}
		}
	} else {
		for i, s := range naiveSessions(in) {
			groups[fmt.Sprint(i)] = s
		}
	}
	var attempts [][]time.Time
	for _, evs := range groups {
		// Events at one instant go in the order of the steps they are
		// ("each at or after the previous"), whatever their ids.
		stepOf := func(e tracking.Event) int {
			if i := slices.Index(o.Steps, e.Type); i >= 0 {
				return i
			}
			return len(o.Steps)
		}
		slices.SortStableFunc(evs, func(a, b tracking.Event) int {
			if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
				return c
			}
			return stepOf(a) - stepOf(b)
		})
		var best []time.Time
		bestReach, bestFinish, bestStart := 0, 0, 0
		for i, e := range evs {
			if e.Type != o.Steps[0] {
				continue
			}
			times := []time.Time{e.Timestamp}
			pos := i
			for k := 1; k < len(o.Steps); k++ {
				j := pos + 1
				for j < len(evs) && evs[j].Type != o.Steps[k] {
					j++
				}
				if j == len(evs) || o.Window > 0 && evs[j].Timestamp.Sub(e.Timestamp) > o.Window {
					break
				}
				times = append(times, evs[j].Timestamp)
				pos = j
			}
			reach := len(times)
			if best == nil || reach > bestReach || reach == bestReach && (pos < bestFinish || pos == bestFinish && i > bestStart) {
				best, bestReach, bestFinish, bestStart = times, reach, pos, i
			}
		}
		if best != nil {
			attempts = append(attempts, best)
		}
	}
	return funnelResult(o, attempts)
}

func TestStatsEqualsTheNaiveDefinitions(t *testing.T) {
	for seed := range uint64(6) {
		events := randomEvents(seed, 600)
		ss := stores(t, events)
		for _, q := range []Query{
			query(t0, t0.Add(24*time.Hour)),
			query(t0.Add(5*time.Hour+7*time.Minute), t0.Add(12*time.Hour)),
			query(t0.Add(-time.Hour), t0.Add(time.Hour)),
		} {
			want := naiveStats(events, q)
			for name, s := range ss {
				got, err := Stats(context.Background(), s, q, StatsOptions{})
				require.NoError(t, err)
				require.Equal(t, want, got, "seed %d, %s, %v", seed, name, q.From)
			}
		}
	}
}

func TestFunnelEqualsTheNaiveDefinition(t *testing.T) {
	step := []string{tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted}
	for seed := range uint64(6) {
		events := randomEvents(100+seed, 600)
		ss := stores(t, events)
		r := rand.New(rand.NewPCG(seed, 2))
		for range 8 {
			n := 2 + r.IntN(3)
			o := FunnelOptions{By: []Entity{BySession, ByUser}[r.IntN(2)]}
			for range n {
				o.Steps = append(o.Steps, step[r.IntN(len(step))]) // types may repeat
			}
			if r.IntN(2) == 0 {
				o.Window = time.Duration(1+r.IntN(180)) * time.Minute
			}
			q := query(t0.Add(time.Duration(r.IntN(6))*time.Hour), t0.Add(time.Duration(8+r.IntN(9))*time.Hour))
			want := naiveFunnel(events, q, o)
			for name, s := range ss {
				got, err := Funnel(context.Background(), s, q, o)
				require.NoError(t, err)
				require.Equal(t, want, got, "seed %d, %s, %+v", seed, name, o)
			}
		}
	}
}
