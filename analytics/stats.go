package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// StatsOptions configure Stats. There are none yet; the zero value is the
// only one, and a field added later will default to today's answer.
type StatsOptions struct{}

// StatsResult is the summary of a range (see the package documentation
// for every definition).
type StatsResult struct {
	Events       int64 `json:"events"`
	Sessions     int64 `json:"sessions"`
	Users        int64 `json:"users"`
	PageViews    int64 `json:"page_views"`
	ProductViews int64 `json:"product_views"`
	AddToCarts   int64 `json:"add_to_carts"`
	Checkouts    int64 `json:"checkouts"`
	Purchases    int64 `json:"purchases"`
	// ConversionRate is the percentage of sessions with a purchase.
	ConversionRate float64 `json:"conversion_rate"`
	// Revenue has one entry per currency, most orders first (ties by
	// code); never added together.
	Revenue []Revenue `json:"revenue"`
	// TopProductID is the product with the most purchases (ties: more
	// views, then the smaller id), "" when no event names a product.
	TopProductID string `json:"top_product_id"`
	// CartAbandonmentRate is the percentage of sessions with an
	// add_to_cart that have no purchase.
	CartAbandonmentRate float64 `json:"cart_abandonment_rate"`
	// BounceRate is the percentage of sessions that are one page_viewed
	// or product_viewed and nothing else.
	BounceRate float64 `json:"bounce_rate"`
	// AvgSessionSeconds is the mean time from a session's first event to
	// its last, in seconds rounded half-up to two decimals.
	AvgSessionSeconds float64 `json:"avg_session_seconds"`
}

// Revenue is the orders of one currency: purchase_completed events and
// their totals.
type Revenue struct {
	Currency string
	Orders   int64
	Total    tracking.Money
	// Average is Total / Orders rounded half-up to the minor unit.
	Average tracking.Money
	// Min and Max are the smallest and largest order total.
	Min, Max tracking.Money
}

// MarshalJSON gives the contract's form, amounts as decimal strings.
func (r Revenue) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Currency string `json:"currency"`
		Total    string `json:"total"`
		Orders   int64  `json:"orders"`
		Average  string `json:"average"`
		Min      string `json:"min"`
		Max      string `json:"max"`
	}{r.Currency, r.Total.String(), r.Orders, r.Average.String(), r.Min.String(), r.Max.String()})
}

// Stats summarises the range in one pass over its events (plus a read of
// the shop's identify events, for users).
//
// A store with rollups (store.HourlyReader, SessionReader, PeopleReader
// and ProductReader) answers without reading the range's events when the
// range's bounds are whole UTC hours (or unbounded); see statsFromRollups.
func Stats(ctx context.Context, s store.Store, q Query, o StatsOptions) (StatsResult, error) {
	r, ok, err := statsFromRollups(ctx, s, q)
	if err != nil {
		return StatsResult{}, fmt.Errorf("analytics: stats: %w", err)
	}
	if ok {
		return r, nil
	}
	return statsGeneric(ctx, s, q)
}

// statsGeneric is Stats over the range's events.
func statsGeneric(ctx context.Context, s store.Store, q Query) (StatsResult, error) {
	ids, err := loadIdentities(ctx, s, q.ShopID)
	if err != nil {
		return StatsResult{}, fmt.Errorf("analytics: stats: %w", err)
	}
	agg := newStatsAgg(ids)
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return StatsResult{}, fmt.Errorf("analytics: stats: %w", err)
		}
		agg.add(&e)
	}
	return agg.result(), nil
}

// statsAgg is Stats over a stream.
type statsAgg struct {
	ids      *identities
	people   people
	sessions *sessionizer
	products *productAgg
	r        StatsResult
	revenue  sums
}

func newStatsAgg(ids *identities) *statsAgg {
	return &statsAgg{ids: ids, people: people{}, sessions: newSessionizer(), products: newProductAgg()}
}

func (a *statsAgg) add(e *tracking.Event) {
	a.ids.learn(e)
	a.people.add(e)
	a.sessions.add(e)
	a.products.add(e)
	a.r.Events++
	switch e.Type {
	case tracking.PageViewed:
		a.r.PageViews++
	case tracking.ProductViewed:
		a.r.ProductViews++
	case tracking.AddToCart:
		a.r.AddToCarts++
	case tracking.CheckoutStarted:
		a.r.Checkouts++
	case tracking.PurchaseCompleted:
		a.r.Purchases++
		a.revenue.add(orderAmount(e))
	}
}

func (a *statsAgg) result() StatsResult {
	r := a.r
	r.Users = a.people.count(a.ids)
	var buying, carting, abandoning, bounced, micros int64
	for i := range a.sessions.sessions {
		ss := &a.sessions.sessions[i]
		if ss.purchases > 0 {
			buying++
		}
		if ss.adds > 0 {
			carting++
			if ss.purchases == 0 {
				abandoning++
			}
		}
		if ss.bounced() {
			bounced++
		}
		micros += ss.end.Sub(ss.start).Microseconds()
	}
	r.Sessions = int64(len(a.sessions.sessions))
	r.ConversionRate = percent(buying, r.Sessions)
	r.CartAbandonmentRate = percent(abandoning, carting)
	r.BounceRate = percent(bounced, r.Sessions)
	if r.Sessions > 0 {
		r.AvgSessionSeconds = float64(divRound(micros, r.Sessions*10000)) / 100
	}
	r.Revenue = revenueOf(a.revenue)
	if top := a.products.top(ByPurchases, DefaultCurrency, 1); len(top) > 0 {
		r.TopProductID = top[0].ProductID
	}
	return r
}

// revenueOf lists order sums per currency, most orders first (ties by
// code).
func revenueOf(s sums) []Revenue {
	out := make([]Revenue, 0, len(s))
	for _, x := range s {
		m := func(v int64) tracking.Money { return tracking.Money{Minor: v, Currency: x.currency} }
		out = append(out, Revenue{Currency: x.currency, Orders: x.count, Total: m(x.minor),
			Average: m(divRound(x.minor, x.count)), Min: m(x.min), Max: m(x.max)})
	}
	slices.SortFunc(out, func(a, b Revenue) int {
		if c := cmp.Compare(b.Orders, a.Orders); c != 0 {
			return c
		}
		return cmp.Compare(a.Currency, b.Currency)
	})
	return out
}
