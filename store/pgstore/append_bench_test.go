package pgstore

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/tracking"
)

// The benchmarks write the same generated rows (about 400 bytes of fields
// each, a fifth with JSON properties), each iteration under fresh ids so
// every event is new, into a fresh schema. Compare them in one run:
//
//	go test -run '^$' -bench 'Append|Naive' -count 5 ./store/pgstore
//
// and read the events/s metric: a batch benchmark's op is a batch of
// benchBatch events, BenchmarkNaiveInsert's op is one event.

const benchBatch = 1000

// benchRows are the rows every benchmark writes.
var benchRows = genEvents(42, "bench", benchBatch)

// renamed returns rows under ids unique to iteration i.
func renamed(dst, rows []tracking.Event, i int) []tracking.Event {
	prefix := "i" + strconv.Itoa(i) + "-"
	dst = append(dst[:0], rows...)
	for j := range dst {
		dst[j].ID = prefix + dst[j].ID
	}
	return dst
}

func benchBatches(b *testing.B, appendBatch func(context.Context, []tracking.Event) (int, error)) {
	ctx := context.Background()
	var batch []tracking.Event
	events := 0
	for i := 0; b.Loop(); i++ {
		batch = renamed(batch, benchRows, i)
		n, err := appendBatch(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if n != len(batch) {
			b.Fatalf("inserted %d of %d", n, len(batch))
		}
		events += n
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppend measures Store.Append as callers use it.
func BenchmarkAppend(b *testing.B) {
	s := openStore(b, newSchema(b))
	benchBatches(b, func(ctx context.Context, events []tracking.Event) (int, error) {
		res, err := s.Append(ctx, events)
		return res.Inserted, err
	})
}

// BenchmarkAppendPaths measures each candidate way of writing a batch; the
// fastest, writeCopyDirect, is Append's.
func BenchmarkAppendPaths(b *testing.B) {
	for _, w := range writers {
		b.Run(w.String(), func(b *testing.B) {
			s := openStore(b, newSchema(b))
			benchBatches(b, func(ctx context.Context, events []tracking.Event) (int, error) {
				res, err := s.appendWith(ctx, w.fn(), events)
				return res.Inserted, err
			})
		})
	}
}

// BenchmarkNaiveInsert is the baseline: one autocommitted INSERT per event.
// Its op is one event.
func BenchmarkNaiveInsert(b *testing.B) {
	s := openStore(b, newSchema(b))
	ctx := context.Background()
	query := `INSERT INTO ` + s.events + ` (` + columns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		ON CONFLICT (shop_id, id) DO NOTHING`
	var batch []tracking.Event
	args := make([]any, 0, numColumns)
	events := 0
	for i := 0; b.Loop(); i++ {
		if i%benchBatch == 0 {
			batch = renamed(batch, benchRows, i/benchBatch)
		}
		_, err := s.db.ExecContext(ctx, query, appendRow(args[:0], &batch[i%benchBatch])...)
		require.NoError(b, err)
		events++
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
