package analytics

import (
	"context"
	"errors"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// productRows returns the product rollup (store.ProductHour rows) of the
// range, as productHours makes it: from the store's rollup
// (store.ProductReader) for the whole hours of the range and from the
// events themselves for the part of an hour at each end, with the orders
// per currency of the range (from store.HourlyReader the same way), for the
// currency rule. ok is false when the store cannot answer.
func productRows(ctx context.Context, s store.Store, q Query) (rows []store.ProductHour, orders orderCounter, ok bool, err error) {
	pr, ok := s.(store.ProductReader)
	if !ok {
		return nil, nil, false, nil
	}
	f := q.filter()
	inner := f
	inner.From, inner.To = ceilHour(f.From), floorHour(f.To)
	if !inner.From.IsZero() && !inner.To.IsZero() && !inner.From.Before(inner.To) {
		return nil, nil, false, nil
	}
	rows, err = pr.ProductTotals(ctx, inner)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	hf := f
	hf.Types = []string{tracking.PurchaseCompleted}
	hourly, ok, err := hourlyRows(ctx, s, hf)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	orders = orderCounter{}
	for _, h := range hourly {
		if h.Orders > 0 {
			orders[h.Currency] += h.Orders
		}
	}
	var edges store.ProductHours
	for _, part := range [][2]time.Time{{f.From, inner.From}, {inner.To, f.To}} {
		if part[0].Equal(part[1]) {
			continue
		}
		g := f
		g.From, g.To = part[0], part[1]
		g.Types = []string{tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted}
		for e, err := range s.Events(ctx, g) {
			if err != nil {
				return nil, nil, false, err
			}
			edges.Add(&e)
		}
	}
	return append(rows, edges.Rows(f.ShopID)...), orders, true, nil
}

// productsOf sums product rollup rows into a productAgg (its orders left
// empty).
func productsOf(rows []store.ProductHour) *productAgg {
	pa := newProductAgg()
	named := map[string]*store.ProductHour{}
	for i := range rows {
		r := &rows[i]
		p := pa.product(r.ProductID)
		p.views += r.Views
		p.adds += r.Adds
		p.purchases += r.Purchases
		if r.Purchases > 0 || r.RevenueMinor != 0 {
			// min and max are not kept per product: a ranking reads the
			// total only.
			p.revenue.merge(sums{{currency: r.Currency, minor: r.RevenueMinor, count: r.Purchases}})
		}
		if n := named[r.ProductID]; !r.NameAt.IsZero() && (n == nil || r.NameAfter(n)) {
			named[r.ProductID] = r
			p.name = r.Name
		}
	}
	return pa
}
