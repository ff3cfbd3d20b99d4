package analytics

import (
	"context"
	"errors"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// statsFromRollups answers Stats from a store's rollups, without reading
// the events of the range: counts and revenue from the hourly rollup,
// sessions and their rates from the sessions rolled up by the hour they
// start in, users from who was active in each hour
// (store.PeopleReader), the top product from the product rollup
// (store.TopProductReader when the store has it). ok is false when the store cannot answer exactly
// (a capability missing or errors.ErrUnsupported, a bound inside an
// hour); the caller then reads the events.
//
// Sessions are cut at the range's bounds (see the package documentation):
// the rollup counts each session whole in the hour it starts, so the
// sessions open at From or at To (store.SessionReader.SessionsAt) are
// taken out and counted again over their events inside the range, read
// from the events within the longest session's length of each bound.
func statsFromRollups(ctx context.Context, s store.Store, q Query) (r StatsResult, ok bool, err error) {
	hr, ok1 := s.(store.HourlyReader)
	sr, ok2 := s.(store.SessionReader)
	pr, ok3 := s.(store.PeopleReader)
	dr, ok4 := s.(store.ProductReader)
	f := q.filter()
	if !ok1 || !ok2 || !ok3 || !ok4 || !store.OnHour(f.From) || !store.OnHour(f.To) {
		return r, false, nil
	}
	unsupported := func(err error) (StatsResult, bool, error) {
		if errors.Is(err, errors.ErrUnsupported) {
			return StatsResult{}, false, nil
		}
		return StatsResult{}, false, errRollup(err)
	}
	span, err := sr.SessionSpan(ctx, f.ShopID)
	if err != nil {
		return unsupported(err)
	}
	hourly, err := hr.HourlyCounts(ctx, f)
	if err != nil {
		return unsupported(err)
	}
	hours, err := sr.SessionHours(ctx, f)
	if err != nil {
		return unsupported(err)
	}
	var total store.SessionHour
	for i := range hours {
		total.Merge(&hours[i])
	}
	// The sessions open at a bound: those open at From, and those open at
	// To that start in the range (one open at both is among the first).
	var open []store.Session
	var windows [][2]time.Time
	if !f.From.IsZero() {
		at, err := sr.SessionsAt(ctx, f.ShopID, f.From)
		if err != nil {
			return unsupported(err)
		}
		if len(at) > 0 {
			open = append(open, at...)
			end := f.From.Add(span + time.Microsecond)
			if !f.To.IsZero() && end.After(f.To) {
				end = f.To
			}
			windows = append(windows, [2]time.Time{f.From, end})
		}
	}
	if !f.To.IsZero() {
		at, err := sr.SessionsAt(ctx, f.ShopID, f.To)
		if err != nil {
			return unsupported(err)
		}
		n := len(open)
		for i := range at {
			if !at[i].Start.Before(f.From) {
				total.Add(&at[i], -1) // counted whole where it starts
				open = append(open, at[i])
			}
		}
		if len(open) > n {
			start := f.To.Add(-span)
			if start.Before(f.From) {
				start = f.From
			}
			if len(windows) > 0 && !start.After(windows[0][1]) {
				windows[0][1] = f.To
			} else {
				windows = append(windows, [2]time.Time{start, f.To})
			}
		}
	}
	if len(open) > 0 {
		if err := cutSessions(ctx, s, f.ShopID, windows, open, &total); err != nil {
			return StatsResult{}, false, err
		}
	}
	users, err := pr.CountPeople(ctx, f)
	if err != nil {
		return unsupported(err)
	}
	top, err := topPurchased(ctx, dr, f)
	if err != nil {
		return unsupported(err)
	}

	r.Users = users
	r.Sessions = total.Sessions
	r.ConversionRate = percent(total.Buying, total.Sessions)
	r.CartAbandonmentRate = percent(total.Abandoning, total.Carting)
	r.BounceRate = percent(total.Bounced, total.Sessions)
	if total.Sessions > 0 {
		r.AvgSessionSeconds = float64(divRound(total.LengthMicros, total.Sessions*10000)) / 100
	}
	var revenue sums
	for _, h := range hourly {
		r.Events += h.Events
		switch h.Type {
		case tracking.PageViewed:
			r.PageViews += h.Events
		case tracking.ProductViewed:
			r.ProductViews += h.Events
		case tracking.AddToCart:
			r.AddToCarts += h.Events
		case tracking.CheckoutStarted:
			r.Checkouts += h.Events
		case tracking.PurchaseCompleted:
			r.Purchases += h.Events
			revenue.mergeRow(h)
		}
	}
	r.Revenue = revenueOf(revenue)
	r.TopProductID = top
	return r, true, nil
}

// topPurchased returns the most purchased product of f's range: from a
// store.TopProductReader when the store is one and a product was
// purchased, else (no purchase: the most viewed wins) from the product
// totals.
func topPurchased(ctx context.Context, dr store.ProductReader, f store.Filter) (string, error) {
	if tr, ok := dr.(store.TopProductReader); ok {
		id, err := tr.TopPurchased(ctx, f)
		if err == nil && id != "" || err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return id, err
		}
	}
	products, err := dr.ProductTotals(ctx, f)
	if err != nil {
		return "", err
	}
	if top := productsOf(products).top(ByPurchases, DefaultCurrency, 1); len(top) > 0 {
		return top[0].ProductID, nil
	}
	return "", nil
}

// mergeRow adds the orders of a purchase_completed rollup row.
func (s *sums) mergeRow(h store.HourlyRow) {
	if h.Orders == 0 {
		return
	}
	s.merge(sums{{currency: h.Currency, minor: h.RevenueMinor, count: h.Orders, min: h.RevenueMin, max: h.RevenueMax}})
}

// cutSessions counts into total the sessions of open (each open at a
// bound of the range) over their events in windows, which hold every
// event they have inside the range.
func cutSessions(ctx context.Context, s store.Store, shopID string, windows [][2]time.Time, open []store.Session, total *store.SessionHour) error {
	byGroup := make(map[store.SessionGroup][]int, len(open))
	cut := make([]store.Session, len(open))
	for i := range open {
		cut[i].SessionGroup = open[i].SessionGroup
		byGroup[open[i].SessionGroup] = append(byGroup[open[i].SessionGroup], i)
	}
	for _, w := range windows {
		for e, err := range s.Events(ctx, store.Filter{ShopID: shopID, From: w[0], To: w[1]}) {
			if err != nil {
				return err
			}
			g, ok := store.SessionGroupOf(&e)
			if !ok {
				continue
			}
			for _, i := range byGroup[g] {
				if !e.Timestamp.Before(open[i].Start) && !e.Timestamp.After(open[i].End) {
					cut[i].Add(&e)
					break
				}
			}
		}
	}
	for i := range cut {
		if cut[i].Events > 0 {
			total.Add(&cut[i], 1)
		}
	}
	return nil
}
