package datagen_test

import (
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/tracking"
)

// A day of a small shop: the same seed gives the same traffic every time.
func ExampleGenerate() {
	events := datagen.Generate(datagen.Options{ShopID: "shop-1", Days: 1, Visitors: 50, Seed: 1,
		Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)})
	orders := map[string]int{}
	for _, e := range events {
		if e.Type == tracking.PurchaseCompleted {
			orders[e.Currency]++
		}
	}
	fmt.Println(len(events) > 100, orders["USD"] > 0)
	// Output: true true
}

// Millions of events, a batch at a time, as a load generator or a store
// benchmark would take them.
func ExampleStream() {
	n := 0
	err := datagen.Stream(datagen.Options{Days: 2, Visitors: 100, BatchSize: 500}, func(batch []tracking.Event) error {
		n += len(batch) // a store's Append(ctx, batch) goes here
		return nil
	})
	fmt.Println(err, n > 1000)
	// Output: <nil> true
}
