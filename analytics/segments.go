package analytics

import (
	"context"
	"fmt"
	"slices"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Segment names.
const (
	// Buyers made a purchase.
	Buyers = "buyers"
	// CartAbandoners added to a cart and made no purchase.
	CartAbandoners = "cart_abandoners"
	// WindowShoppers viewed at least MinProductViews products and made no
	// purchase (they may have added to a cart too).
	WindowShoppers = "window_shoppers"
)

// DefaultMinProductViews is the product views that make a window shopper
// when the option is zero.
const DefaultMinProductViews = 3

// SegmentExamples is how many ids a segment lists at most.
const SegmentExamples = 5

// SegmentsOptions configure Segments. The zero value segments users, with
// window shoppers at DefaultMinProductViews views.
type SegmentsOptions struct {
	// By segments users or sessions (default ByUser).
	By Entity
	// MinProductViews is the product_viewed events that make a window
	// shopper (default DefaultMinProductViews).
	MinProductViews int
}

// Segment is one group of users or sessions.
type Segment struct {
	Name string `json:"name"`
	By   Entity `json:"by"`
	Size int64  `json:"size"`
	// Share is Size as a percentage, with two decimals, of the users (or
	// sessions) with any event in the range.
	Share float64 `json:"share"`
	// Examples are up to SegmentExamples ids of members, the smallest
	// first: user ids (or never identified anonymous ids) or session ids.
	Examples []string `json:"examples"`
}

// Segments sorts the users or sessions of the range into buyers, cart
// abandoners and window shoppers; one may be in several (an abandoner who
// viewed many products is a window shopper too).
func Segments(ctx context.Context, s store.Store, q Query, o SegmentsOptions) ([]Segment, error) {
	r, err := segments(ctx, s, q, o)
	if err != nil {
		return nil, fmt.Errorf("analytics: segments: %w", err)
	}
	return r, nil
}

type activity struct{ views, adds, purchases int64 }

func segments(ctx context.Context, s store.Store, q Query, o SegmentsOptions) ([]Segment, error) {
	by, err := o.By.orDefault(ByUser)
	if err != nil {
		return nil, err
	}
	switch {
	case o.MinProductViews < 0:
		return nil, optionError("min_product_views", "must not be negative")
	case o.MinProductViews == 0:
		o.MinProductViews = DefaultMinProductViews
	}
	ids, err := loadIdentities(ctx, s, q.ShopID)
	if err != nil {
		return nil, err
	}
	z := newSessionizer()
	raw := map[person]*activity{}
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return nil, err
		}
		if by == BySession {
			z.add(&e)
			continue
		}
		ids.learn(&e)
		p, ok := rawPerson(&e)
		if !ok {
			continue
		}
		a := raw[p]
		if a == nil {
			a = &activity{}
			raw[p] = a
		}
		a.count(e.Type)
	}
	members := map[string]activity{}
	if by == BySession {
		for i := range z.sessions {
			ss := &z.sessions[i]
			members[ss.id] = activity{views: ss.views, adds: ss.adds, purchases: ss.purchases}
		}
	} else {
		for p, a := range raw {
			id := ids.resolve(p).id
			m := members[id]
			m.views, m.adds, m.purchases = m.views+a.views, m.adds+a.adds, m.purchases+a.purchases
			members[id] = m
		}
	}
	tests := []struct {
		name string
		in   func(activity) bool
	}{
		{Buyers, func(a activity) bool { return a.purchases > 0 }},
		{CartAbandoners, func(a activity) bool { return a.adds > 0 && a.purchases == 0 }},
		{WindowShoppers, func(a activity) bool { return a.views >= int64(o.MinProductViews) && a.purchases == 0 }},
	}
	out := make([]Segment, len(tests))
	for i, t := range tests {
		seg := Segment{Name: t.name, By: by, Examples: []string{}}
		for id, a := range members {
			if !t.in(a) {
				continue
			}
			seg.Size++
			// Keep the smallest ids without sorting every member.
			if len(seg.Examples) < SegmentExamples || id < seg.Examples[len(seg.Examples)-1] {
				j, _ := slices.BinarySearch(seg.Examples, id)
				seg.Examples = slices.Insert(seg.Examples, j, id)
				if len(seg.Examples) > SegmentExamples {
					seg.Examples = seg.Examples[:SegmentExamples]
				}
			}
		}
		seg.Share = percent(seg.Size, int64(len(members)))
		out[i] = seg
	}
	return out, nil
}

func (a *activity) count(typ string) {
	switch typ {
	case tracking.ProductViewed:
		a.views++
	case tracking.AddToCart:
		a.adds++
	case tracking.PurchaseCompleted:
		a.purchases++
	}
}
