package analytics

import (
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// lineItem is one product of an order (see store.OrderLines, which the
// stores' product rollups share, so both read an order alike).
type lineItem = store.LineItem

// orderLines returns what a purchase sold.
func orderLines(e *tracking.Event, buf []lineItem) []lineItem { return store.OrderLines(e, buf) }
