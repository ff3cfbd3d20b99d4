// Package serve runs shoplytics as a server process: the ingester, the HTTP
// handler and an http.Server over one store, with an orderly shutdown. The
// example programs share it.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
)

// Keys are the shops and keys a server accepts: the -config file.
type Keys struct {
	AdminKey string         `json:"admin_key"`
	Shops    []httpapi.Shop `json:"shops"`
}

// DemoKeys is the demo shop used when no -config file is given.
var DemoKeys = Keys{AdminKey: "ak_demo", Shops: []httpapi.Shop{{ID: "demo", WriteKey: "wk_demo", ReadKey: "rk_demo"}}}

// LoadKeys reads a -config file; with an empty path it returns DemoKeys and
// prints them to w.
func LoadKeys(path string, w io.Writer) (Keys, error) {
	if path == "" {
		d := DemoKeys.Shops[0]
		fmt.Fprintf(w, "demo shop %q: write key %s, read key %s, admin key %s\n", d.ID, d.WriteKey, d.ReadKey, DemoKeys.AdminKey)
		return DemoKeys, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, err
	}
	var k Keys
	if err := json.Unmarshal(b, &k); err != nil {
		return Keys{}, fmt.Errorf("config %s: %w", path, err)
	}
	return k, nil
}

// Config is what Run serves.
type Config struct {
	// Addr is the TCP address to listen on.
	Addr string
	// Store takes the accepted events.
	Store store.Store
	// ReadStore answers the read API and /health (default Store).
	ReadStore store.Store
	// Keys are the shops and keys accepted.
	Keys Keys
	// Logger receives the server's log (default slog.Default()).
	Logger *slog.Logger
	// StoreLabel names the store in the listening line (passwords redacted).
	StoreLabel string
	// ShutdownTimeout bounds each step of a stop (default 30s): first the
	// HTTP server's, then, with a budget of its own, the ingester's drain,
	// so slow clients cannot eat the time owed to accepted events.
	ShutdownTimeout time.Duration
}

// Run serves until ctx ends, then stops taking requests, stores every
// accepted event and returns. It does not close the store.
func Run(ctx context.Context, c Config) error {
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	if c.ReadStore == nil {
		c.ReadStore = c.Store
	}
	in, err := ingest.New(c.Store, ingest.Options{Logger: log})
	if err != nil {
		return err
	}
	h, err := httpapi.New(httpapi.Config{
		Store: c.ReadStore, Ingester: in, Shops: c.Keys.Shops, AdminKey: c.Keys.AdminKey, Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	in.Start()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("shoplytics listening", "addr", "http://"+ln.Addr().String(), "store", Redact(c.StoreLabel))

	var failed error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		failed = fmt.Errorf("serve: %w", err)
		log.Error("serve", "err", err)
	}
	// Stop taking requests first, then store everything that was accepted.
	httpCtx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(httpCtx); err != nil {
		log.Warn("http shutdown: closing the connections still open", "err", err)
		_ = srv.Close()
	}
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancelDrain()
	if err := in.Shutdown(drainCtx); err != nil {
		return errors.Join(failed, err)
	}
	st := in.Stats()
	log.Info("shoplytics stopped", "stored", st.Stored, "duplicates", st.Duplicates, "failed", st.Failed)
	return failed
}

// Redact hides a password in a URL before it is logged.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}
