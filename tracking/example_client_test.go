package tracking_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// A shop's backend records its purchases with a Client, where no ad
// blocker stands in the way. Here the shoplytics server runs in the same
// test; in production Endpoint is its URL.
func ExampleClient() {
	ctx := context.Background()
	mem := memstore.New()
	in, _ := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	in.Start()
	h, _ := httpapi.New(httpapi.Config{Store: mem, Ingester: in, Logger: slog.New(slog.DiscardHandler),
		Shops: []httpapi.Shop{{ID: "shop", WriteKey: "wk_shop", ReadKey: "rk_shop"}}})
	srv := httptest.NewServer(h)
	defer srv.Close()

	client, err := tracking.NewClient(tracking.ClientOptions{Endpoint: srv.URL, WriteKey: "wk_shop"})
	if err != nil {
		panic(err)
	}
	total, _ := tracking.ParseMoney("59.90", "EUR")
	err = client.Track(ctx, tracking.Event{
		ID:   "order-1001", // the order's own id: sent twice, stored once
		Type: tracking.PurchaseCompleted, UserID: "cust-42", OrderID: "1001",
		Revenue: total, Currency: "EUR",
	})
	if err != nil {
		panic(err)
	}
	// Close sends what is buffered; call it when the backend stops.
	if err := client.Close(ctx); err != nil {
		panic(err)
	}

	_ = in.Shutdown(ctx)
	for e, err := range mem.Events(ctx, store.Filter{ShopID: "shop"}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.ID, e.Type, e.UserID, e.Revenue, e.Currency)
	}
	// Output: order-1001 purchase_completed cust-42 59.90 EUR
}
