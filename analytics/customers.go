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

// TopCustomersOptions configure TopCustomers. The zero value lists ten
// customers by revenue in the default currency.
type TopCustomersOptions struct {
	// Limit is how many customers (default DefaultLimit, at most MaxLimit).
	Limit int
	// Currency is the currency of revenue (default: the currency rule).
	Currency string
}

// Customer is one user's orders over a range.
type Customer struct {
	// UserID is the user as the package defines users: a user_id, or an
	// anonymous id that was never identified.
	UserID string
	// Orders counts purchase_completed events in every currency.
	Orders int64
	// Revenue is their total in the result's currency.
	Revenue tracking.Money
}

// MarshalJSON gives the contract's form, revenue as a decimal string.
func (c Customer) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		UserID  string `json:"user_id"`
		Orders  int64  `json:"orders"`
		Revenue string `json:"revenue"`
	}{c.UserID, c.Orders, c.Revenue.String()})
}

// TopCustomersResult is the ranking and its currency.
type TopCustomersResult struct {
	Currency  string     `json:"currency"`
	Customers []Customer `json:"customers"`
}

// TopCustomers ranks the users who bought in the range by revenue in one
// currency, then by orders, then by id. A user's anonymous purchases
// before an identify are theirs.
func TopCustomers(ctx context.Context, s store.Store, q Query, o TopCustomersOptions) (TopCustomersResult, error) {
	r, err := topCustomers(ctx, s, q, o)
	if err != nil {
		return TopCustomersResult{}, fmt.Errorf("analytics: top customers: %w", err)
	}
	return r, nil
}

func topCustomers(ctx context.Context, s store.Store, q Query, o TopCustomersOptions) (TopCustomersResult, error) {
	limit, err := limitOrDefault(o.Limit, DefaultLimit, MaxLimit)
	if err != nil {
		return TopCustomersResult{}, err
	}
	currency, err := checkCurrency(o.Currency)
	if err != nil {
		return TopCustomersResult{}, err
	}
	ids, err := loadIdentities(ctx, s, q.ShopID)
	if err != nil {
		return TopCustomersResult{}, err
	}
	type buyer struct {
		orders  int64
		revenue sums
	}
	raw := map[person]*buyer{}
	orders := orderCounter{}
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return TopCustomersResult{}, err
		}
		ids.learn(&e) // links ride on every event, so the whole range is read
		if e.Type != tracking.PurchaseCompleted {
			continue
		}
		p, ok := rawPerson(&e)
		if !ok {
			continue
		}
		b := raw[p]
		if b == nil {
			b = &buyer{}
			raw[p] = b
		}
		m := orderAmount(&e)
		b.orders++
		b.revenue.add(m)
		orders[m.Currency]++
	}
	merged := map[person]*buyer{}
	for p, b := range raw {
		rp := ids.resolve(p)
		if m := merged[rp]; m != nil {
			m.orders += b.orders
			m.revenue.merge(b.revenue)
		} else {
			merged[rp] = b
		}
	}
	currency = orders.pick(currency)
	out := make([]Customer, 0, len(merged))
	for p, b := range merged {
		out = append(out, Customer{UserID: p.id, Orders: b.orders, Revenue: b.revenue.of(currency)})
	}
	slices.SortFunc(out, func(a, b Customer) int {
		if c := cmp.Compare(b.Revenue.Minor, a.Revenue.Minor); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Orders, a.Orders); c != 0 {
			return c
		}
		return cmp.Compare(a.UserID, b.UserID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return TopCustomersResult{Currency: currency, Customers: out}, nil
}
