package ingest_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// BenchmarkEnqueue is the HTTP hot path: one event per call from many
// producers (like concurrent requests), into a memstore, without a spool
// and with each sync policy. The time includes storing every event, so the
// variants do the same work:
//
//	go test -run '^$' -bench Enqueue -benchtime 2s ./ingest
func BenchmarkEnqueue(b *testing.B) {
	for _, bc := range []struct {
		name  string
		spool ingest.SpoolOptions
	}{
		{"spool=off", ingest.SpoolOptions{}},
		{"spool=interval", ingest.SpoolOptions{Sync: ingest.SyncInterval}},
		{"spool=always", ingest.SpoolOptions{Sync: ingest.SyncAlways}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.name != "spool=off" {
				bc.spool.Dir = b.TempDir()
			}
			mem := memstore.New()
			in, err := ingest.New(mem, ingest.Options{Spool: bc.spool, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			in.Start()
			var seq atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				e := tracking.Event{ShopID: "shop", Type: tracking.PageViewed, AnonymousID: "a", URL: "https://shop.example/products/p1", ReceivedAt: t0}
				for pb.Next() {
					n := seq.Add(1)
					e.ID = "b" + strconv.FormatInt(n, 10)
					e.Timestamp = t0.Add(time.Duration(n) * time.Microsecond) // in time order, as memstore likes them
					if err := in.Enqueue(ctx, e); err != nil {
						b.Fatal(err)
					}
				}
			})
			if err := in.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := in.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			st := in.Stats()
			if st.Stored != uint64(b.N) {
				b.Fatalf("stored %d of %d", st.Stored, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if bc.spool.Dir != "" {
				b.ReportMetric(float64(b.N)/float64(max(st.SpoolSyncs, 1)), "events/fsync")
			}
		})
	}
}
