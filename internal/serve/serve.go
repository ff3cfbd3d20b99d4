// Package serve runs shoplytics as a server process: the ingester, the HTTP
// handler and an http.Server over one store, with an orderly shutdown. The
// example programs share it.
package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store"
)

// Keys are the shops and keys a server accepts: the -config file.
type Keys struct {
	AdminKey string         `json:"admin_key"`
	Shops    []httpapi.Shop `json:"shops"`
	// Insights configures the insight rules, the scheduler and its
	// notifications (see InsightsConfig).
	Insights InsightsConfig `json:"insights,omitzero"`
}

// DemoKeys is the demo shop used when no -config file is given.
var DemoKeys = Keys{AdminKey: "ak_demo", Shops: []httpapi.Shop{{ID: "demo", WriteKey: "wk_demo", ReadKey: "rk_demo"}}}

// LoadKeys reads a -config file; with an empty path it returns DemoKeys and
// prints them to w. A field the file format does not have (a misspelt
// "writekey"), trailing data, or an invalid shop (an id events could not
// carry, an unknown time zone, a key shared by two shops) is an error naming
// the field, so a mistake stops start-up instead of silently turning a
// shop's events away.
func LoadKeys(path string, w io.Writer) (Keys, error) {
	if path == "" {
		d := DemoKeys.Shops[0]
		fmt.Fprintf(w, "demo shop %q: write key %s, read key %s, admin key %s\n", d.ID, d.WriteKey, d.ReadKey, DemoKeys.AdminKey)
		return DemoKeys, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, fmt.Errorf("config: %w", err)
	}
	k, err := parseKeys(b)
	if err != nil {
		return Keys{}, fmt.Errorf("config %s: %w", path, err)
	}
	return k, nil
}

// parseKeys decodes and checks a -config file's contents.
func parseKeys(b []byte) (Keys, error) {
	var file struct {
		AdminKey string            `json:"admin_key"`
		Shops    []json.RawMessage `json:"shops"`
		Insights json.RawMessage   `json:"insights"`
	}
	if err := strictJSON(b, &file); err != nil {
		return Keys{}, err
	}
	k := Keys{AdminKey: file.AdminKey}
	var err error
	if k.Insights, err = parseInsights(file.Insights); err != nil {
		return Keys{}, err
	}
	for i, raw := range file.Shops {
		var s httpapi.Shop
		if err := strictJSON(raw, &s); err != nil {
			return Keys{}, fmt.Errorf("shops[%d]: %w", i, err)
		}
		if err := s.Validate(); err != nil {
			return Keys{}, fmt.Errorf("shops[%d].%w", i, err)
		}
		k.Shops = append(k.Shops, s)
	}
	// What only the whole set can tell (keys shared between shops, a shop
	// listed twice) is checked by httpapi.New, with the same names.
	return k, nil
}

// strictJSON decodes one JSON value into v, refusing unknown fields and
// anything after the value.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
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
	// StoreLabel names the store in the listening line. It is logged as it
	// is: redact the URLs in it first (store.Redact).
	StoreLabel string
	// Spool is the ingester's write-ahead spool (no Dir: none).
	Spool ingest.SpoolOptions
	// Durable answers POST /events once its events are stored
	// (httpapi.Config.Durable).
	Durable bool
	// ShutdownTimeout bounds each step of a stop (default 30s): first the
	// HTTP server's, then, with a budget of its own, the ingester's drain,
	// so slow clients cannot eat the time owed to accepted events.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds the reading of a request's headers (default
	// 10s), so a client that sends them a byte at a time (slowloris) is cut
	// off instead of holding its connection for ever.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, body included
	// (default 1 min), so a body dribbled slowly is cut off too.
	ReadTimeout time.Duration
	// NoInsights turns the insight rules off: no engine behind
	// /api/insights, no scheduler.
	NoInsights bool
	// ReportDir, when set, receives each shop's daily report as JSON and
	// CSV files.
	ReportDir string
	// InsightsClock is the insight engine's clock (default time.Now).
	InsightsClock func() time.Time
}

// Run serves until ctx ends, then stops taking requests, stores every
// accepted event and returns. It does not close the store.
func Run(ctx context.Context, c Config) error {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	if c.ReadStore == nil {
		c.ReadStore = c.Store
	}
	if c.ReadHeaderTimeout < 0 || c.ReadTimeout < 0 {
		return errors.New("serve: ReadHeaderTimeout and ReadTimeout must not be negative")
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = time.Minute
	}
	in, err := ingest.New(c.Store, ingest.Options{Logger: log, Spool: c.Spool})
	if err != nil {
		return err
	}
	var handler http.Handler
	var sched *insights.Scheduler
	var eng *insights.Engine
	if !c.NoInsights {
		eng, sched, err = c.insights(log)
	}
	if err == nil {
		var h http.Handler
		h, err = httpapi.New(httpapi.Config{
			Store: c.ReadStore, Ingester: in, Shops: c.Keys.Shops, AdminKey: c.Keys.AdminKey, Logger: log,
			Durable: c.Durable, Insights: eng,
		})
		handler = h
	}
	var ln net.Listener
	if err == nil {
		ln, err = net.Listen("tcp", c.Addr)
	}
	if err != nil {
		// Store what an earlier run left in the spool, and release it.
		drainCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return errors.Join(err, in.Shutdown(drainCtx))
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: c.ReadHeaderTimeout, ReadTimeout: c.ReadTimeout, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	spool := "off"
	if c.Spool.Dir != "" {
		spool = c.Spool.Dir
		if st := in.Stats(); st.SpoolEvents > 0 {
			log.Info("replaying the spool of an earlier run", "events", st.SpoolEvents, "corrupt_records", st.SpoolCorrupt)
		}
	}
	log.Info("shoplytics listening", "addr", "http://"+ln.Addr().String(), "store", c.StoreLabel, "spool", spool)
	schedDone := make(chan struct{})
	schedCtx, stopSched := context.WithCancel(ctx)
	go func() {
		defer close(schedDone)
		if sched != nil {
			_ = sched.Run(schedCtx)
		}
	}()
	err = httpapi.Run(ctx, srv, in, httpapi.RunOptions{Listener: ln, ShutdownTimeout: c.ShutdownTimeout, Logger: log})
	stopSched()
	<-schedDone
	st := in.Stats()
	log.Info("shoplytics stopped", "stored", st.Stored, "duplicates", st.Duplicates, "failed", st.Failed, "kept_in_spool", st.Kept)
	return err
}
