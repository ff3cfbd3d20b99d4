// Command pipeline runs the burst-proof ingestion pipeline:
//
//	HTTP ingest → Redis stream → Relay → PostgreSQL
//
// Events are acknowledged once they are in Redis (fast, absorbs bursts the
// database could not take at once); relays move them into PostgreSQL through
// a consumer group, and the read API answers from PostgreSQL.
//
//	go run ./examples/pipeline [-addr 127.0.0.1:8080] [-redis URL] [-postgres URL] [-relays N] [-config FILE]
//
// Redis here keeps nothing on disk: events not yet relayed are lost if Redis
// restarts. Run Redis with persistence (AOF) where that matters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/shoplytics/shoplytics/internal/serve"
	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/pgstore"
	"github.com/shoplytics/shoplytics/store/redisstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

// run runs the pipeline until ctx ends, then drains it, logging to logOut.
func run(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/0", "Redis URL of the stream")
	pgURL := fs.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL of the destination (schema= picks the schema)")
	prefix := fs.String("prefix", redisstore.DefaultPrefix, "key prefix of the stream in Redis")
	relays := fs.Int("relays", 2, "relays moving events from Redis into PostgreSQL")
	every := fs.Duration("stats", 10*time.Second, "how often to log the relays' progress and lag (0: never)")
	configFile := fs.String("config", "", "JSON file with admin_key and shops (default: a demo shop)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *relays < 1 {
		return fmt.Errorf("-relays must be at least 1")
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))
	keys, err := serve.LoadKeys(*configFile, os.Stdout)
	if err != nil {
		return err
	}
	stream, err := redisstore.New(ctx, redisstore.Options{URL: *redisURL, Prefix: *prefix})
	if err != nil {
		return err
	}
	defer stream.Close()
	db, err := store.Open(ctx, *pgURL)
	if err != nil {
		return err
	}
	defer db.Close()

	// The relays outlive the HTTP server: they stop only after it has
	// drained its accepted events into the stream.
	relayCtx, stopRelays := context.WithCancel(context.Background())
	// A relay that ends for good (its destination closed or refusing for
	// good) stops the whole pipeline: events would only pile up in Redis.
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	var relayErr error
	var relayErrOnce sync.Once
	var wg sync.WaitGroup
	var all []*redisstore.Relay
	for i := range *relays {
		r, err := redisstore.NewRelay(stream, db, redisstore.RelayOptions{
			Consumer: fmt.Sprintf("pipeline-%d-%d", os.Getpid(), i), Logger: log,
		})
		if err != nil {
			stopRelays()
			return err
		}
		all = append(all, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(relayCtx); err != nil {
				log.Error("relay stopped; stopping the pipeline", "err", err)
				relayErrOnce.Do(func() { relayErr = fmt.Errorf("relay: %w", err) })
				stopServing()
			}
		}()
	}
	if *every > 0 {
		go logStats(relayCtx, log, all, *every)
	}

	err = serve.Run(serveCtx, serve.Config{
		Addr: *addr, Store: stream, ReadStore: db, Keys: keys, Logger: log,
		StoreLabel: store.Redact(*redisURL) + " → " + store.Redact(*pgURL),
	})
	stopRelays()
	wg.Wait()
	return errors.Join(err, relayErr)
}

// logStats logs what the relays moved and how far behind they are.
func logStats(ctx context.Context, log *slog.Logger, relays []*redisstore.Relay, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var relayed, dups, dead int64
		var lag time.Duration
		var pending int64
		for _, r := range relays {
			s := r.Stats()
			relayed += s.Relayed
			dups += s.Duplicates
			dead += s.DeadLetters
			pending = max(pending, s.Pending)
			lag = max(lag, s.OldestPending)
		}
		log.Info("relay", "relayed", relayed, "duplicates", dups, "dead_letters", dead, "pending", pending, "oldest_pending", lag)
	}
}
