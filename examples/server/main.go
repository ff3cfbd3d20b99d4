// Command server is shoplytics as a stand-alone server: the HTTP API over a
// store, on SQLite by default.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-store URL] [-config FILE] [-spool DIR] [-spool-sync always|interval] [-durable] [-shutdown-timeout 30s] [-demo] [-report-dir DIR] [-no-insights] [-shopify-sync SHOP -shopify-token TOKEN]
//
// -store (or SHOPLYTICS_STORE) takes sqlite://PATH (default
// sqlite://shoplytics.db), postgres://..., redis://host:port/db?sink=URL or
// memory://. Without -config it creates shop "demo" with write key wk_demo,
// read key rk_demo and admin key ak_demo. SIGINT or SIGTERM stops it after
// every accepted event is stored.
//
// Accepted events are written to a local spool (a write-ahead log, default
// directory shoplytics.spool, fsynced before the answer with -spool-sync
// always) and replayed at the next start, so an event answered 202 survives
// kill -9, a store outage and a shutdown deadline. -spool off turns it off
// (the default for memory://). -durable answers only once the events are
// committed in the store.
//
// -read-header-timeout (default 10s) and -read-timeout (default 1m) bound
// how long a client may take to send a request's headers, and the whole
// request: slower clients are cut off, so that a crowd of them cannot hold
// the server's connections.
//
// The insight rules (the built-in ones and the threshold rules of the
// -config file's "insights" object) are evaluated for every shop every 5
// minutes (or the file's insights.interval); what they raise is logged,
// POSTed to insights.webhook when configured, and listed by GET
// /api/insights. After midnight in each shop's zone the scheduler makes
// the day's report; -report-dir DIR also writes it as DIR/<shop>-<date>.json
// and .csv. -no-insights turns all of it off.
//
// -shopify-sync SHOP imports the shop's Shopify orders and refunds through
// the Admin API instead of serving, and exits: -shopify-token (or
// SHOPLYTICS_SHOPIFY_TOKEN) is an access token with read_orders, the
// shop's shopify_domain in -config names the shop (-shopify-api replaces
// its URL). It prints a progress line per page (orders done, rate, ETA)
// and keeps its cursor in the store, so a sync stopped by SIGINT or a
// crash resumes where it was; run again after it completed, it reads the
// orders changed since (-shopify-full: all of them). Orders the webhooks
// brought already are not counted twice.
//
// -demo fills an empty store with 30 days of generated traffic of shop
// "demo" (sessions, funnels, identifies, purchases in several currencies,
// refunds, a flash sale), so a first run shows real numbers, and
// evaluates the insight rules through the flash sale, so the insights list
// shows it; when the store holds events of the shop it adds nothing.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/integrations/shopify"
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
	spoolDir := fs.String("spool", "shoplytics.spool", `directory of the write-ahead spool of accepted events ("off": none; memory:// has none unless one is named)`)
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "how long a stop waits for the HTTP server, then again for the store (what the store has not taken by then stays in the spool)")
	durable := fs.Bool("durable", false, "answer POST /events only once its events are committed in the store (exact duplicates; concurrent requests share a transaction)")
	spoolSync := fs.String("spool-sync", "always", "when the spool is fsynced: always (before each answer, shared by concurrent requests) or interval (every second)")
	readHeaderTimeout := fs.Duration("read-header-timeout", 10*time.Second, "longest a client may take to send a request's headers")
	readTimeout := fs.Duration("read-timeout", time.Minute, "longest a client may take to send a whole request, body included")
	demo := fs.Bool("demo", false, `when the store holds no events of shop "demo", store 30 days of generated traffic for it`)
	var sync shopifySync
	fs.StringVar(&sync.shop, "shopify-sync", "", "instead of serving, import the Shopify orders of this shop (its shopify_domain from -config) and exit; a stopped sync resumes")
	fs.StringVar(&sync.token, "shopify-token", "", "Admin API access token for -shopify-sync (env SHOPLYTICS_SHOPIFY_TOKEN)")
	fs.StringVar(&sync.apiURL, "shopify-api", "", "base URL of the Admin API for -shopify-sync (default https://<shopify_domain>)")
	fs.StringVar(&sync.version, "shopify-api-version", shopify.DefaultAPIVersion, "Admin API version for -shopify-sync")
	fs.BoolVar(&sync.full, "shopify-full", false, "with -shopify-sync, read every order even after a complete sync (default: what changed since)")
	reportDir := fs.String("report-dir", "", "directory to write each shop's daily report to, as JSON and CSV (default: none)")
	noInsights := fs.Bool("no-insights", false, "do not evaluate the insight rules (no scheduler; /api/insights answers 501)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for name, d := range map[string]time.Duration{"read-header-timeout": *readHeaderTimeout, "read-timeout": *readTimeout, "shutdown-timeout": *shutdownTimeout} {
		if d <= 0 {
			return fmt.Errorf("-%s: %v is not a positive duration", name, d)
		}
	}
	spool, err := spoolOptions(fs, *spoolDir, *spoolSync, *storeURL)
	if err != nil {
		return err
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
	if sync.shop != "" {
		return runShopifySync(ctx, st, keys, sync, log, os.Stdout)
	}
	if *demo {
		if err := seedDemo(ctx, st, keys, log, time.Now(), !*noInsights); err != nil {
			return err
		}
	}
	return serve.Run(ctx, serve.Config{Addr: *addr, Store: st, Keys: keys, Logger: log, StoreLabel: store.Redact(*storeURL),
		Spool: spool, Durable: *durable, ShutdownTimeout: *shutdownTimeout,
		ReadHeaderTimeout: *readHeaderTimeout, ReadTimeout: *readTimeout, ReportDir: *reportDir, NoInsights: *noInsights})
}

// spoolOptions turns the -spool flags into the ingester's spool options.
func spoolOptions(fs *flag.FlagSet, dir, sync, storeURL string) (ingest.SpoolOptions, error) {
	var o ingest.SpoolOptions
	switch sync {
	case "always":
		o.Sync = ingest.SyncAlways
	case "interval":
		o.Sync = ingest.SyncInterval
	default:
		return o, fmt.Errorf("-spool-sync: %q is neither always nor interval", sync)
	}
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "spool" })
	if dir == "off" || strings.HasPrefix(storeURL, "memory:") && !named {
		return ingest.SpoolOptions{}, nil
	}
	o.Dir = dir
	return o, nil
}
