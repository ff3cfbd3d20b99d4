package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// CartAbandonmentOptions configure CartAbandonment. The zero value lists
// the ten products most often abandoned.
type CartAbandonmentOptions struct {
	// Limit is how many products (default DefaultLimit, at most MaxLimit).
	Limit int
}

// AbandonedProduct is a product left in carts: how many abandoned
// sessions added it to their cart.
type AbandonedProduct struct {
	ProductID   string `json:"product_id"`
	ProductName string `json:"product_name"`
	Sessions    int64  `json:"sessions"`
}

// CartAbandonmentResult is the range's cart abandonment and the products
// most often left behind.
type CartAbandonmentResult struct {
	// CartSessions are the sessions with an add_to_cart; Abandoned those
	// of them without a purchase.
	CartSessions int64 `json:"cart_sessions"`
	Abandoned    int64 `json:"abandoned"`
	// Rate is Abandoned ÷ CartSessions as a percentage with two decimals,
	// Stats' cart_abandonment_rate.
	Rate float64 `json:"rate"`
	// Products are the products added in abandoned sessions, by how many
	// abandoned sessions added them (ties by id).
	Products []AbandonedProduct `json:"products"`
}

// CartAbandonment measures the sessions that added to a cart and did not
// buy, as Stats' cart_abandonment_rate does, and names the products they
// added most often. Sessions are formed as everywhere (see the package
// documentation), so it reads every event of the range.
func CartAbandonment(ctx context.Context, s store.Store, q Query, o CartAbandonmentOptions) (CartAbandonmentResult, error) {
	limit, err := limitOrDefault(o.Limit, DefaultLimit, MaxLimit)
	if err != nil {
		return CartAbandonmentResult{}, fmt.Errorf("analytics: cart abandonment: %w", err)
	}
	z := newSessionizer()
	added := map[int][]string{} // session index → products added, in order, once each
	names := map[string]string{}
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return CartAbandonmentResult{}, fmt.Errorf("analytics: cart abandonment: %w", err)
		}
		i := z.add(&e)
		if e.Type == tracking.AddToCart && e.ProductID != "" {
			if !slices.Contains(added[i], e.ProductID) {
				added[i] = append(added[i], e.ProductID)
			}
			if e.ProductName != "" {
				names[e.ProductID] = e.ProductName
			}
		}
	}
	var r CartAbandonmentResult
	bySessions := map[string]int64{}
	for i := range z.sessions {
		ss := &z.sessions[i]
		if ss.adds == 0 {
			continue
		}
		r.CartSessions++
		if ss.purchases > 0 {
			continue
		}
		r.Abandoned++
		for _, p := range added[i] {
			bySessions[p]++
		}
	}
	r.Rate = percent(r.Abandoned, r.CartSessions)
	r.Products = make([]AbandonedProduct, 0, len(bySessions))
	for p, n := range bySessions {
		r.Products = append(r.Products, AbandonedProduct{ProductID: p, ProductName: names[p], Sessions: n})
	}
	slices.SortFunc(r.Products, func(a, b AbandonedProduct) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(a.ProductID, b.ProductID))
	})
	if len(r.Products) > limit {
		r.Products = r.Products[:limit]
	}
	return r, nil
}
