package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

func Example() {
	ctx := context.Background()
	// A file path in practice: sqlitestore.Options{Path: "shoplytics.db"},
	// or store.Open(ctx, "sqlite://shoplytics.db").
	s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: sqlitestore.MemoryPath})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	view := tracking.Event{ID: "e1", ShopID: "demo", Type: tracking.PageViewed, AnonymousID: "a1", Timestamp: at}
	buy := tracking.Event{ID: "e2", ShopID: "demo", Type: tracking.PurchaseCompleted, AnonymousID: "a1",
		Currency: "EUR", Revenue: tracking.Money{Minor: 4250, Currency: "EUR"}, Timestamp: at.Add(time.Minute)}

	res, err := s.Append(ctx, []tracking.Event{view, buy, view}) // view twice: stored once
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inserted", res.Inserted, "duplicates", res.Duplicates)

	for e, err := range s.Events(ctx, store.Filter{ShopID: "demo"}) {
		if err != nil {
			log.Fatal(err)
		}
		line := e.Timestamp.Format(time.TimeOnly) + " " + e.Type
		if !e.Revenue.IsZero() { // money comes back exact, in its currency
			line += " " + e.Revenue.String() + " " + e.Revenue.Currency
		}
		fmt.Println(line)
	}
	// Output:
	// inserted 2 duplicates 1
	// 12:00:00 page_viewed
	// 12:01:00 purchase_completed 42.50 EUR
}
