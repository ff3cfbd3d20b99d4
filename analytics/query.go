package analytics

import (
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// Query selects the events a question is about: one shop, a time range
// [From, To), and the zone in which days and weeks are counted.
type Query struct {
	ShopID   string
	From, To time.Time
	// Location is the zone for day and week buckets (default UTC).
	Location *time.Location
}

func (q Query) filter() store.Filter {
	return store.Filter{ShopID: q.ShopID, From: q.From, To: q.To}
}
