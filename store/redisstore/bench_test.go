package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/redisstore"
	"github.com/shoplytics/shoplytics/tracking"
)

const benchBatch = 1000

// benchEvents returns a batch of realistic events (a product view with a
// few properties) whose ids carry n, so each call gives fresh ids.
func benchEvents(dst []tracking.Event, n int) []tracking.Event {
	dst = dst[:0]
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range benchBatch {
		id := "evt-" + strconv.Itoa(n) + "-" + strconv.Itoa(i)
		dst = append(dst, tracking.Event{
			ID: id, ShopID: "shop-" + strconv.Itoa(i%4), Type: tracking.ProductViewed,
			AnonymousID: "anon-" + strconv.Itoa(i%97), SessionID: "sess-" + strconv.Itoa(i%211),
			ProductID: "sku-" + strconv.Itoa(i%50), Price: tracking.Money{Minor: 1999, Currency: "USD"}, Currency: "USD",
			URL:        "https://shop.example/products/sku-" + strconv.Itoa(i%50),
			UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
			Properties: []byte(`{"list":"search","position":3}`),
			Timestamp:  at.Add(time.Duration(n*benchBatch+i) * time.Millisecond), ReceivedAt: at.Add(time.Second),
		})
	}
	return dst
}

func reportEvents(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkAppend(b *testing.B) {
	c := newClient(b)
	s := newStore(b, c, newPrefix(b, c))
	benchAppend(b, s)
}

// BenchmarkAppendPerScript compares how many events one script call writes:
// 1 is one script per event.
func BenchmarkAppendPerScript(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			c := newClient(b)
			s := newStore(b, c, newPrefix(b, c))
			s.SetPerScript(n)
			benchAppend(b, s)
		})
	}
}

func benchAppend(b *testing.B, s *redisstore.Store) {
	ctx := context.Background()
	var events []tracking.Event
	n := 0
	for b.Loop() {
		events = benchEvents(events, n)
		n++
		res, err := s.Append(ctx, events)
		if err != nil || res.Inserted != benchBatch {
			b.Fatal(err, res.Inserted)
		}
	}
	reportEvents(b, n*benchBatch)
}

// BenchmarkRawPipelinedXADD is the floor Append is measured against: the
// same events, encoded once beforehand, XADDed in pipelines of 1,000 with no
// dedup, index or registry.
func BenchmarkRawPipelinedXADD(b *testing.B) {
	c := newClient(b)
	prefix := newPrefix(b, c)
	ctx := context.Background()
	events := benchEvents(nil, 0)
	payloads := make([][]byte, len(events))
	streams := make([]string, len(events))
	for i := range events {
		payloads[i] = events[i].AppendJSON(nil)
		streams[i] = "{" + prefix + "}:s:" + events[i].ShopID
	}
	n := 0
	for b.Loop() {
		pipe := c.Pipeline()
		for i := range payloads {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: streams[i], Values: []any{"e", payloads[i]}})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportEvents(b, n*benchBatch)
}

// BenchmarkRelay measures a relay draining a backlog of 20,000 events (four
// shops) into a memory store; each round is a new consumer group, which
// reads the streams from the start.
func BenchmarkRelay(b *testing.B) {
	const backlog = 20 * benchBatch
	c := newClient(b)
	src := newStore(b, c, newPrefix(b, c))
	ctx := context.Background()
	var events []tracking.Event
	for n := range backlog / benchBatch {
		events = benchEvents(events, n)
		_, err := src.Append(ctx, events)
		require.NoError(b, err)
	}
	rounds := 0
	for b.Loop() {
		rounds++
		dst := memstore.New()
		r, err := redisstore.NewRelay(src, dst, redisstore.RelayOptions{Group: "g" + strconv.Itoa(rounds), Block: 10 * time.Millisecond})
		require.NoError(b, err)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(runCtx) }()
		for dst.Len() < backlog {
			time.Sleep(100 * time.Microsecond)
		}
		cancel()
		require.NoError(b, <-done)
	}
	reportEvents(b, rounds*backlog)
}
