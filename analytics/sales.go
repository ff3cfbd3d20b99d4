package analytics

import (
	"context"
	"fmt"

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
