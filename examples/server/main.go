// Command server is shoplytics as a stand-alone server: the HTTP API with
// the tracker and dashboard, on SQLite by default.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-store URL] [-config FILE]
//
// -store (or SHOPLYTICS_STORE) takes sqlite://PATH (default
// sqlite://shoplytics.db), postgres://..., redis://host:port/db?sink=URL or
// memory://. Without -config it creates shop "demo" with write key wk_demo,
// read key rk_demo and admin key ak_demo. SIGINT or SIGTERM stops it after
// every accepted event is stored.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/all"
)

// fileConfig is the -config file.
type fileConfig struct {
	AdminKey string         `json:"admin_key"`
	Shops    []httpapi.Shop `json:"shops"`
}

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
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	cfg, err := loadConfig(*configFile)
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
	in, err := ingest.New(st, ingest.Options{Logger: log})
	if err != nil {
		return err
	}
	in.Start()
	h, err := httpapi.New(httpapi.Config{
		Store: st, Ingester: in, Shops: cfg.Shops, AdminKey: cfg.AdminKey, Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("shoplytics listening", "addr", "http://"+ln.Addr().String(), "store", redact(*storeURL))

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve", "err", err)
		}
	}
	stop()
	// Stop taking requests first, then store everything that was accepted.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := in.Shutdown(shutdownCtx); err != nil {
		return err
	}
	st2 := in.Stats()
	log.Info("shoplytics stopped", "stored", st2.Stored, "duplicates", st2.Duplicates, "failed", st2.Failed)
	return nil
}

func loadConfig(path string) (fileConfig, error) {
	if path == "" {
		c := fileConfig{AdminKey: "ak_demo", Shops: []httpapi.Shop{{ID: "demo", WriteKey: "wk_demo", ReadKey: "rk_demo"}}}
		fmt.Printf("demo shop %q: write key %s, read key %s, admin key %s\n", "demo", "wk_demo", "rk_demo", "ak_demo")
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fileConfig{}, err
	}
	var c fileConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return fileConfig{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// redact hides a password in a store URL before it is logged.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}
