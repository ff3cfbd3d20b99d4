// Command shop is a small web shop that embeds shoplytics in its own
// router: the story of importing the library into a shop, in one program.
//
//	go run ./examples/shop [-addr 127.0.0.1:8090] [-store URL] [-spool DIR] [-demo]
//
// The shop (product list, product pages, a cart and a checkout) is served
// on an http.ServeMux of its own, with the shoplytics handler mounted under
// /analytics/. Its pages load /analytics/tracker.js with the async snippet,
// mark the add-to-cart buttons with data-shoplytics-event, and the checkout
// records the purchase server-side, in the visitor's session. The
// dashboard is at /analytics/dashboard/ (read key rk_demo).
//
// -store takes the same URLs as examples/server (default
// sqlite://shop.db; memory:// for a throw-away store). -demo fills an empty
// store with 30 days of generated traffic of the same products, so the
// dashboard is full on the first run. SIGINT or SIGTERM stops it after
// every accepted event is stored.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/internal/serve"
	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/all"
	"github.com/shoplytics/shoplytics/tracking"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run serves the shop until ctx ends, logging to logTo.
func run(ctx context.Context, args []string, logTo io.Writer) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(logTo)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	storeURL := fs.String("store", "sqlite://shop.db", "store URL: sqlite://PATH, postgres://..., redis://host:port/db?sink=URL, memory://")
	spoolDir := fs.String("spool", "shop.spool", `directory of the write-ahead spool of accepted events ("off": none; memory:// has none unless one is named)`)
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "how long a stop waits for the HTTP server, then again for the store")
	demo := fs.Bool("demo", false, `when the store holds no events of shop "demo", store 30 days of generated traffic for it`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *shutdownTimeout <= 0 {
		return fmt.Errorf("-shutdown-timeout: %v is not a positive duration", *shutdownTimeout)
	}
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "spool" })
	var spool ingest.SpoolOptions
	if *spoolDir != "off" && (named || !strings.HasPrefix(*storeURL, "memory:")) {
		spool.Dir = *spoolDir
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	keys := serve.DemoKeys
	shopKeys := keys.Shops[0]

	st, err := store.Open(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if *demo {
		o := datagen.Options{ShopID: shopKeys.ID, Start: time.Now().Add(-30 * 24 * time.Hour), Days: 30,
			Visitors: 400, Seed: 1, BatchSize: 1000}
		if _, err := serve.SeedDemo(ctx, st, o, log); err != nil {
			return err
		}
	}

	in, err := ingest.New(st, ingest.Options{Logger: log, Spool: spool})
	if err != nil {
		return err
	}
	analytics, err := httpapi.New(httpapi.Config{Store: st, Ingester: in, Shops: keys.Shops, AdminKey: keys.AdminKey, Logger: log})
	if err != nil {
		return errors.Join(err, shutdownIngester(in))
	}
	// Purchases are recorded server-side, where ad blockers cannot drop
	// them: a tracking.Client handing its batches to the ingester (a shop
	// in another process would give it Endpoint and WriteKey instead).
	client, err := tracking.NewClient(tracking.ClientOptions{Sink: in, ShopID: shopKeys.ID, Logger: log})
	if err != nil {
		return errors.Join(err, shutdownIngester(in))
	}
	shop, err := newShop(shopKeys.ID, shopKeys.WriteKey, client, log)
	if err != nil {
		return errors.Join(err, client.Close(context.Background()), shutdownIngester(in))
	}

	mux := http.NewServeMux()
	mux.Handle("/analytics/", http.StripPrefix("/analytics", analytics))
	shop.routes(mux)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(err, shutdownIngester(in))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	url := "http://" + ln.Addr().String()
	log.Info("shop listening", "addr", url, "dashboard", url+"/analytics/dashboard/", "read_key", shopKeys.ReadKey, "store", store.Redact(*storeURL))
	err = httpapi.Run(ctx, srv, in, httpapi.RunOptions{Listener: ln, ShutdownTimeout: *shutdownTimeout, Logger: log,
		BeforeDrain: client.Close})
	s := in.Stats()
	log.Info("shop stopped", "stored", s.Stored, "duplicates", s.Duplicates, "failed", s.Failed, "kept_in_spool", s.Kept)
	return err
}

// shutdownIngester releases an ingester that never ran (storing what an
// earlier run left in its spool).
func shutdownIngester(in *ingest.Ingester) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return in.Shutdown(ctx)
}
