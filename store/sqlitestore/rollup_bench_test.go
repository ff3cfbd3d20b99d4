package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// The cost of the hourly rollups on the write path: the same batches as
// BenchmarkAppend, with rollups kept and without. Compare them in one run:
//
//	go test -run '^$' -bench 'AppendWith' -benchtime 300x -count 5 ./store/sqlitestore

// newBenchStore opens a store in a fresh file, with rollups kept unless
// disable, closed when the benchmark ends.
func newBenchStore(b *testing.B, disable bool) *sqlitestore.Store {
	s, err := sqlitestore.New(context.Background(), sqlitestore.Options{
		Path: filepath.Join(b.TempDir(), "bench.db"), DisableRollups: disable})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchAppendRollups(b *testing.B, disable bool) {
	s := newBenchStore(b, disable)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runWrites(b, func(events []tracking.Event) {
		res, err := s.Append(ctx, events)
		if err != nil || res.Inserted != len(events) {
			b.Fatalf("append: %v, %+v", err, res.Inserted)
		}
	})
}

func BenchmarkAppendWithRollups(b *testing.B)    { benchAppendRollups(b, false) }
func BenchmarkAppendWithoutRollups(b *testing.B) { benchAppendRollups(b, true) }
