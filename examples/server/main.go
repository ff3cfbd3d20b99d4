// Command server is shoplytics as a stand-alone server: the HTTP API over a
// store, on SQLite by default.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-store URL] [-config FILE]
//
// -store (or SHOPLYTICS_STORE) takes sqlite://PATH (default
// sqlite://shoplytics.db), postgres://..., redis://host:port/db?sink=URL or
// memory://. Without -config it creates shop "demo" with write key wk_demo,
// read key rk_demo and admin key ak_demo. SIGINT or SIGTERM stops it after
// every accepted event is stored.
//
// -read-header-timeout (default 10s) and -read-timeout (default 1m) bound
// how long a client may take to send a request's headers, and the whole
// request: slower clients are cut off, so that a crowd of them cannot hold
// the server's connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shoplytics/shoplytics/internal/serve"
	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/all"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	defaultStore := os.Getenv("SHOPLYTICS_STORE")
	if defaultStore == "" {
		defaultStore = "sqlite://shoplytics.db"
	}
	storeURL := fs.String("store", defaultStore, "store URL: sqlite://PATH, postgres://..., redis://host:port/db?sink=URL, memory:// (env SHOPLYTICS_STORE)")
	configFile := fs.String("config", "", "JSON file with admin_key and shops (default: a demo shop)")
	readHeaderTimeout := fs.Duration("read-header-timeout", 10*time.Second, "longest a client may take to send a request's headers")
	readTimeout := fs.Duration("read-timeout", time.Minute, "longest a client may take to send a whole request, body included")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for name, d := range map[string]time.Duration{"read-header-timeout": *readHeaderTimeout, "read-timeout": *readTimeout} {
		if d <= 0 {
			return fmt.Errorf("-%s: %v is not a positive duration", name, d)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	keys, err := serve.LoadKeys(*configFile, os.Stdout)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := store.Open(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	return serve.Run(ctx, serve.Config{Addr: *addr, Store: st, Keys: keys, Logger: log, StoreLabel: store.Redact(*storeURL),
		ReadHeaderTimeout: *readHeaderTimeout, ReadTimeout: *readTimeout})
}
