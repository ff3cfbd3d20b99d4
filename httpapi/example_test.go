package httpapi_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
)

// ExampleRun serves the handler on an application's router until its
// context ends, then stops in the order that loses nothing: the event
// answered 202 is stored by the time Run returns. A program gets its
// context from signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM);
// here it is cancelled by hand.
func ExampleRun() {
	st := memstore.New()
	defer st.Close()
	in, err := ingest.New(st, ingest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{Store: st, Ingester: in,
		Shops: []httpapi.Shop{{ID: "myshop", WriteKey: "wk_public", ReadKey: "rk_secret"}}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux() // the application's router
	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a program sets http.Server.Addr instead
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpapi.Run(ctx, &http.Server{Handler: mux}, in, httpapi.RunOptions{Listener: ln})
	}()

	resp, err := http.Post("http://"+ln.Addr().String()+"/analytics/events?key=wk_public", "application/json",
		strings.NewReader(`{"type":"product_viewed","anonymous_id":"a1","product_id":"p1"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	stop() // SIGTERM
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	stored := 0
	for _, err := range st.Events(context.Background(), store.Filter{ShopID: "myshop"}) {
		if err != nil {
			log.Fatal(err)
		}
		stored++
	}
	fmt.Println("stored:", stored)
	// Output:
	// 202 Accepted
	// stored: 1
}
