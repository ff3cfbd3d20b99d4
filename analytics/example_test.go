package analytics_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// ExampleStats summarises a small day: one visitor who views, adds to the
// cart and buys, another who leaves after one page.
func ExampleStats() {
	ctx := context.Background()
	st := memstore.New()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	price := tracking.Money{Minor: 2450, Currency: "EUR"}
	_, err := st.Append(ctx, []tracking.Event{
		{ID: "1", ShopID: "shop", Type: tracking.PageViewed, AnonymousID: "a1", Timestamp: day},
		{ID: "2", ShopID: "shop", Type: tracking.ProductViewed, AnonymousID: "a1", ProductID: "mug", Timestamp: day.Add(time.Minute)},
		{ID: "3", ShopID: "shop", Type: tracking.AddToCart, AnonymousID: "a1", ProductID: "mug", Timestamp: day.Add(2 * time.Minute)},
		{ID: "4", ShopID: "shop", Type: tracking.PurchaseCompleted, AnonymousID: "a1", UserID: "ann", ProductID: "mug",
			Revenue: price, Currency: "EUR", Timestamp: day.Add(4 * time.Minute)},
		{ID: "5", ShopID: "shop", Type: tracking.PageViewed, AnonymousID: "a2", Timestamp: day.Add(time.Hour)},
	})
	if err != nil {
		log.Fatal(err)
	}
	s, err := analytics.Stats(ctx, st, analytics.Query{ShopID: "shop", From: day, To: day.Add(24 * time.Hour)}, analytics.StatsOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("events:", s.Events, "sessions:", s.Sessions, "users:", s.Users)
	fmt.Println("conversion:", s.ConversionRate, "bounce:", s.BounceRate, "average session:", s.AvgSessionSeconds, "s")
	for _, r := range s.Revenue {
		fmt.Println("revenue:", r.Total, r.Currency, "in", r.Orders, "order(s), average", r.Average)
	}
	fmt.Println("top product:", s.TopProductID)
	// Output:
	// events: 5 sessions: 2 users: 2
	// conversion: 50 bounce: 50 average session: 120 s
	// revenue: 24.50 EUR in 1 order(s), average 24.50
	// top product: mug
}
