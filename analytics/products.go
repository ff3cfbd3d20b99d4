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

// ProductRank is what products are ranked by.
type ProductRank string

// Product rankings.
const (
	ByViews     ProductRank = "views"
	ByAdds      ProductRank = "adds"
	ByPurchases ProductRank = "purchases"
	ByRevenue   ProductRank = "revenue"
)

// TopProductsOptions configure TopProducts. The zero value ranks the ten
// most viewed products, with revenue in the default currency.
type TopProductsOptions struct {
	// By is the ranking (default ByViews). Ties go to more purchases, then
	// more views, then the smaller product id.
	By ProductRank
	// Limit is how many products (default DefaultLimit, at most MaxLimit).
	Limit int
	// Currency is the currency of revenue (default: the currency rule).
	Currency string
}

// Product is one product's figures over a range.
type Product struct {
	ProductID string
	// ProductName is the latest non-empty name a product_viewed,
	// add_to_cart or purchase_completed event (or line item) gave it.
	ProductName string
	Views       int64 // product_viewed events
	Adds        int64 // add_to_cart events
	// Purchases is the number of orders that sold it.
	Purchases int64
	// Revenue is what it sold for, in the result's currency.
	Revenue tracking.Money
}

// MarshalJSON gives the contract's form, revenue as a decimal string.
func (p Product) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ProductID   string `json:"product_id"`
		ProductName string `json:"product_name"`
		Views       int64  `json:"views"`
		Adds        int64  `json:"adds"`
		Purchases   int64  `json:"purchases"`
		Revenue     string `json:"revenue"`
	}{p.ProductID, p.ProductName, p.Views, p.Adds, p.Purchases, p.Revenue.String()})
}

// TopProductsResult is the ranking and the currency of its revenue.
type TopProductsResult struct {
	By       ProductRank `json:"by"`
	Currency string      `json:"currency"`
	Products []Product   `json:"products"`
}

// TopProducts ranks the products of the range. A product's views and adds
// are the product_viewed and add_to_cart events naming it; its purchases
// and revenue come from purchase_completed events, through their line
// items (properties.products) or else their product_id (see the package
// documentation). A store with a product rollup (store.ProductReader)
// answers from it for the whole hours of the range, the events for the
// part of an hour at either end.
func TopProducts(ctx context.Context, s store.Store, q Query, o TopProductsOptions) (TopProductsResult, error) {
	res, err := topProducts(ctx, s, q, o)
	if err != nil {
		return TopProductsResult{}, fmt.Errorf("analytics: top products: %w", err)
	}
	return res, nil
}

func topProducts(ctx context.Context, s store.Store, q Query, o TopProductsOptions) (TopProductsResult, error) {
	switch o.By {
	case "":
		o.By = ByViews
	case ByViews, ByAdds, ByPurchases, ByRevenue:
	default:
		return TopProductsResult{}, optionError("by", "%q is not views, adds, purchases or revenue", string(o.By))
	}
	limit, err := limitOrDefault(o.Limit, DefaultLimit, MaxLimit)
	if err != nil {
		return TopProductsResult{}, err
	}
	currency, err := checkCurrency(o.Currency)
	if err != nil {
		return TopProductsResult{}, err
	}
	rows, orders, ok, err := productRows(ctx, s, q)
	if err != nil {
		return TopProductsResult{}, errRollup(err)
	}
	if ok {
		currency = orders.pick(currency)
		return TopProductsResult{By: o.By, Currency: currency, Products: productsOf(rows).top(o.By, currency, limit)}, nil
	}
	f := q.filter()
	f.Types = []string{tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted}
	pa := newProductAgg()
	for e, err := range s.Events(ctx, f) {
		if err != nil {
			return TopProductsResult{}, err
		}
		pa.add(&e)
	}
	currency = pa.orders.pick(currency)
	return TopProductsResult{By: o.By, Currency: currency, Products: pa.top(o.By, currency, limit)}, nil
}

// productAgg sums product figures over a stream; its memory grows with
// the products.
type productAgg struct {
	byID   map[string]*productSums
	orders orderCounter
	lines  []lineItem
}

type productSums struct {
	name                   string
	views, adds, purchases int64
	revenue                sums
}

func newProductAgg() *productAgg {
	return &productAgg{byID: map[string]*productSums{}, orders: orderCounter{}}
}

func (pa *productAgg) product(id string) *productSums {
	p := pa.byID[id]
	if p == nil {
		p = &productSums{}
		pa.byID[id] = p
	}
	return p
}

func (pa *productAgg) add(e *tracking.Event) {
	switch e.Type {
	case tracking.ProductViewed, tracking.AddToCart:
		if e.ProductID == "" {
			return
		}
		p := pa.product(e.ProductID)
		if e.ProductName != "" {
			p.name = e.ProductName
		}
		if e.Type == tracking.ProductViewed {
			p.views++
		} else {
			p.adds++
		}
	case tracking.PurchaseCompleted:
		pa.orders[orderAmount(e).Currency]++
		pa.lines = orderLines(e, pa.lines)
		for i, li := range pa.lines {
			p := pa.product(li.ProductID)
			if li.Name != "" {
				p.name = li.Name
			}
			if !soldEarlier(pa.lines[:i], li.ProductID) {
				p.purchases++ // an order counts once per product
			}
			p.revenue.add(li.Revenue)
		}
	}
}

func soldEarlier(lines []lineItem, id string) bool {
	for _, l := range lines {
		if l.ProductID == id {
			return true
		}
	}
	return false
}

// top returns the first limit products by rank.
func (pa *productAgg) top(by ProductRank, currency string, limit int) []Product {
	out := make([]Product, 0, len(pa.byID))
	for id, p := range pa.byID {
		out = append(out, Product{ProductID: id, ProductName: p.name, Views: p.views, Adds: p.adds,
			Purchases: p.purchases, Revenue: p.revenue.of(currency)})
	}
	key := func(p *Product) int64 {
		switch by {
		case ByAdds:
			return p.Adds
		case ByPurchases:
			return p.Purchases
		case ByRevenue:
			return p.Revenue.Minor
		}
		return p.Views
	}
	slices.SortFunc(out, func(a, b Product) int {
		if c := cmp.Compare(key(&b), key(&a)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Purchases, a.Purchases); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Views, a.Views); c != 0 {
			return c
		}
		return cmp.Compare(a.ProductID, b.ProductID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
