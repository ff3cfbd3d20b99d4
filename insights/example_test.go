package insights_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// An engine over a store evaluates the built-in rules for a shop: a crowd
// of 120 views on one product in five minutes, with no purchase, is a
// flash sale that is not converting.
func ExampleEngine() {
	ctx := context.Background()
	s := memstore.New()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var events []tracking.Event
	for i := range 120 {
		events = append(events, tracking.Event{ID: fmt.Sprintf("v%d", i), ShopID: "shop-1", Type: tracking.ProductViewed,
			AnonymousID: fmt.Sprintf("visitor-%d", i), ProductID: "p-7", ProductName: "Rain Jacket",
			Timestamp: at.Add(time.Duration(i) * 2 * time.Second), ReceivedAt: at})
	}
	if _, err := s.Append(ctx, events); err != nil {
		panic(err)
	}
	eng, err := insights.NewEngine(s, insights.EngineOptions{Now: func() time.Time { return at.Add(5 * time.Minute) }})
	if err != nil {
		panic(err)
	}
	res, err := eng.Evaluate(ctx, "shop-1", time.UTC)
	if err != nil {
		panic(err)
	}
	for _, in := range res.Raised {
		fmt.Println(in.Rule, in.Severity, in.Subject)
		fmt.Println(in.Message)
	}
	// Output:
	// flash_sale critical p-7
	// "Rain Jacket" (p-7) drew 120 views in 10 minutes (11:55 Fri 1 May UTC to 12:05 Fri 1 May UTC) but only 0 purchases and 0 cart adds. A crowd is there now: check stock, price and the checkout.
	// trending_product info p-7
	// "Rain Jacket" (p-7) had 120 views between 11:05 Fri 1 May UTC and 12:05 Fri 1 May UTC, against none in the previous hour. Make sure it is in stock and easy to find.
}

// A threshold rule is data: here, fewer than 3 orders in two hours.
func ExampleThreshold() {
	rule, err := insights.Threshold{Name: "few_orders", Metric: "orders", Comparison: "<", Threshold: "3",
		Window: insights.Duration(2 * time.Hour)}.Rule()
	if err != nil {
		panic(err)
	}
	fmt.Println(rule.Name(), "—", rule.Description())
	// Output: few_orders — orders < 3 over 2 hours
}
