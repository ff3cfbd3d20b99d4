package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Sales sums the orders of the range per currency: how many, their total,
// average, smallest and largest, most orders first (ties by code), as in
// Stats' revenue. It reads the store's hourly rollups when it has them
// (store.HourlyReader; the events themselves for a part of an hour at
// either end of the range), so a rule that watches revenue over weeks
// does not read every order; otherwise it streams the range's
// purchase_completed events.
func Sales(ctx context.Context, s store.Store, q Query) ([]Revenue, error) {
	f := q.filter()
	f.Types = []string{tracking.PurchaseCompleted}
	rows, ok, err := hourlyRows(ctx, s, f)
	if err != nil {
		return nil, fmt.Errorf("analytics: sales: %w", errRollup(err))
	}
	var totals sums
	if ok {
		for _, r := range rows {
			if r.Type != tracking.PurchaseCompleted || r.Orders == 0 {
				continue
			}
			totals.merge(sums{{currency: r.Currency, minor: r.RevenueMinor, count: r.Orders, min: r.RevenueMin, max: r.RevenueMax}})
		}
	} else {
		for e, err := range s.Events(ctx, f) {
			if err != nil {
				return nil, fmt.Errorf("analytics: sales: %w", err)
			}
			totals.add(orderAmount(&e))
		}
	}
	return revenueOf(totals), nil
}

// revenueOf lists sums as Revenue, most orders first, ties by code.
func revenueOf(totals sums) []Revenue {
	out := make([]Revenue, 0, len(totals))
	for _, x := range totals {
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
