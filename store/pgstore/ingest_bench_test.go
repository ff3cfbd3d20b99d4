package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/tracking"
)

// BenchmarkIngesterEndToEnd is the write path behind the HTTP layer into
// PostgreSQL: events enqueued into an Ingester, batched by 1,000 and
// appended by 1, 2 or 4 concurrent flushes (one connection each). Its op
// is one batch of benchBatch events; compare its events/s with
// BenchmarkNaiveInsert's in the same run.
func BenchmarkIngesterEndToEnd(b *testing.B) {
	for _, flushers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("flushers=%d", flushers), func(b *testing.B) {
			s := openStore(b, newSchema(b))
			ctx := context.Background()
			in, err := ingest.New(s, ingest.Options{BatchSize: benchBatch, QueueSize: 16 * benchBatch, Flushers: flushers, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			in.Start()
			defer in.Shutdown(ctx)
			var batch []tracking.Event
			b.ResetTimer()
			for i := range b.N {
				batch = renamed(batch, benchRows, i)
				if err := in.Enqueue(ctx, batch...); err != nil {
					b.Fatal(err)
				}
			}
			if err := in.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if st := in.Stats(); st.Stored != uint64(b.N*benchBatch) {
				b.Fatalf("stored %d of %d", st.Stored, b.N*benchBatch)
			}
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
