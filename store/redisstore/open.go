package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

func init() {
	store.Register("redis", Open)
	store.Register("rediss", Open)
}

// Open opens a store from a URL, registered for the schemes "redis" and
// "rediss" (TLS):
//
//	redis://[user:password@]host:port/db?prefix=shoplytics&maxlen=0&dedup_ttl=168h&sink=<store URL>
//
// prefix, maxlen and dedup_ttl set the Options of the same names; every
// other query parameter goes to redis.ParseURL (dial_timeout, pool_size, …).
// With sink=, a store URL such as "postgres://…" (query-escaped when it has
// its own query), the store opens that sink with store.Open and runs a Relay
// into it in the background until Close; group= and consumer= set the
// relay's consumer group and name. The relay logs to slog.Default.
func Open(ctx context.Context, u *url.URL) (store.Store, error) {
	q := u.Query()
	take := func(name string) string {
		v := q.Get(name)
		q.Del(name)
		return v
	}
	var opts Options
	opts.Prefix = take("prefix")
	if v := take("maxlen"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redisstore: open: maxlen: %w", err)
		}
		opts.MaxLen = n
	}
	if v := take("dedup_ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("redisstore: open: dedup_ttl: %w", err)
		}
		opts.DedupTTL = d
	}
	sinkURL := take("sink")
	relayOpts := RelayOptions{Group: take("group"), Consumer: take("consumer"), Logger: slog.Default()}
	if sinkURL == "" && (relayOpts.Group != "" || relayOpts.Consumer != "") {
		return nil, fmt.Errorf("redisstore: open: group and consumer need sink")
	}
	ru := *u
	ru.RawQuery = q.Encode()
	opts.URL = ru.String()

	s, err := New(ctx, opts)
	if err != nil {
		return nil, err
	}
	if sinkURL == "" {
		return s, nil
	}
	sink, err := store.Open(ctx, sinkURL)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("redisstore: open sink: %w", err)
	}
	relay, err := NewRelay(s, sink, relayOpts)
	if err != nil {
		_ = sink.Close()
		_ = s.Close()
		return nil, err
	}
	s.sink = sink
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	s.stopSink = func() error {
		cancel()
		err := <-done
		if cerr := sink.Close(); cerr != nil && err == nil {
			err = cerr
		}
		return err
	}
	return s, nil
}
