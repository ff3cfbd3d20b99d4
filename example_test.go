package shoplytics_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/memstore"
)

// Example embeds shoplytics in an application's own router under
// /analytics/, sends an event and reads the counts back.
func Example() {
	ctx := context.Background()
	st, err := store.Open(ctx, "memory://")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	in, err := ingest.New(st, ingest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	in.Start()
	h, err := httpapi.New(httpapi.Config{
		Store: st, Ingester: in,
		Shops: []httpapi.Shop{{ID: "myshop", WriteKey: "wk_public", ReadKey: "rk_secret"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/analytics/events?key=wk_public", "application/json",
		strings.NewReader(`{"type":"product_viewed","anonymous_id":"a1","product_id":"p1"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	if err := in.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/analytics/api/counts", nil)
	req.Header.Set("Authorization", "Bearer rk_secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Status)
	fmt.Println(b.String())
	_ = in.Shutdown(ctx)
	// Output:
	// 202 Accepted
	// 200 OK
}
