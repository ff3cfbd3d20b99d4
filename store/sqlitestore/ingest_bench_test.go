package sqlitestore_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/shoplytics/shoplytics/ingest"
)

// BenchmarkIngesterEndToEnd is the whole write path behind the HTTP layer:
// events enqueued into an Ingester, batched, and appended to SQLite. Each
// iteration enqueues the same 1,000 rows as the raw benchmarks write, so
// with the same -benchtime it compares directly with
// BenchmarkRawBatchedInsert (the ceiling) and BenchmarkNaiveInsert:
//
//	go test -run '^$' -bench 'IngesterEndToEnd|RawBatchedInsert|NaiveInsert' -benchtime 30x -count 5 ./store/sqlitestore
func BenchmarkIngesterEndToEnd(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	in, err := ingest.New(s, ingest.Options{BatchSize: benchBatchLen, QueueSize: 20 * benchBatchLen, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	in.Start()
	defer in.Shutdown(ctx)
	g := newBenchBatches()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := in.Enqueue(ctx, g.next()...); err != nil {
			b.Fatal(err)
		}
	}
	if err := in.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if st := in.Stats(); st.Stored != uint64(b.N*benchBatchLen) {
		b.Fatalf("stored %d of %d", st.Stored, b.N*benchBatchLen)
	}
	b.ReportMetric(float64(b.N*benchBatchLen)/b.Elapsed().Seconds(), "events/s")
}
