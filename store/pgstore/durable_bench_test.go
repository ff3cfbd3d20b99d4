package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/tracking"
)

// BenchmarkDurableStore is the durable answer (-durable) without HTTP:
// 64 callers (or one) each storing one event at a time with
// Ingester.Store, which returns once the event is committed, so
// concurrent calls share commits; with one caller, ns/op is the latency
// of a commit.
// The events are the HTTP benchmark's: one shop, visitor and session, so
// every commit adds to the same rollup rows. Variants: the rollups kept
// (all, hourly only, none), 1 or 2 flushers, and lib/pq's
// binary_parameters (one round trip per statement with arguments instead
// of two). Compare events/s within one run:
//
//	go test -run '^$' -bench DurableStore -benchtime 5000x ./store/pgstore
func BenchmarkDurableStore(b *testing.B) {
	for _, bc := range []struct {
		callers  int
		rollups  string
		flushers int
		binary   bool
	}{{64, "on", 2, false}, {64, "on", 2, true}, {64, "on", 1, false}, {64, "hourly", 2, false}, {64, "off", 2, false},
		{1, "on", 2, false}, {1, "on", 2, true}} {
		b.Run(fmt.Sprintf("callers=%d/rollups=%s/flushers=%d/binary_parameters=%v", bc.callers, bc.rollups, bc.flushers, bc.binary), func(b *testing.B) {
			dsn := testenv.PostgresURL(b) + "&binary_parameters=no"
			if bc.binary {
				dsn = testenv.PostgresURL(b) + "&binary_parameters=yes"
			}
			s, err := New(testCtx(b), Options{DSN: dsn, Schema: newSchema(b),
				HourlyRollupsOnly: bc.rollups == "hourly", DisableRollups: bc.rollups == "off"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			in, err := ingest.New(s, ingest.Options{Flushers: bc.flushers, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			in.Start()
			ctx := context.Background()
			base := time.Now().UTC().Truncate(time.Second)
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, bc.callers)
			b.ResetTimer()
			for range bc.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						e := tracking.Event{ID: fmt.Sprintf("d%09d", n), ShopID: "shop", Type: tracking.ProductViewed,
							AnonymousID: "anon-4f1c2a", SessionID: "sess-77a1", ProductID: "sku-1234", ProductName: "Linen shirt",
							Category: "shirts", Price: tracking.Money{Minor: 4990, Currency: "EUR"}, Currency: "EUR",
							URL: "https://shop.example/p/sku-1234?utm_source=news", Referrer: "https://search.example/",
							Properties: []byte(`{"variant":"blue-m","list":"summer"}`),
							Timestamp:  base.Add(time.Duration(n) * time.Millisecond), ReceivedAt: base}
						if r, err := in.Store(ctx, e); err != nil || r.Inserted != 1 {
							errs <- fmt.Errorf("%s: %+v, %v", e.ID, r, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			st := in.Stats()
			if err := in.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			if st.Stored != uint64(b.N) {
				b.Fatalf("stored %d of %d", st.Stored, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/float64(max(st.Batches, 1)), "events/commit")
		})
	}
}
