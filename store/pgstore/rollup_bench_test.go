package pgstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/tracking"
)

// The cost of the hourly rollups on the write path: the same batches as
// BenchmarkAppend, with rollups kept and without. Compare them in one run:
//
//	go test -run '^$' -bench 'AppendWith' -count 5 ./store/pgstore

func benchAppendRollups(b *testing.B, disable bool) {
	s, err := New(testCtx(b), Options{DSN: testenv.PostgresURL(b), Schema: newSchema(b), DisableRollups: disable})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	benchBatches(b, func(ctx context.Context, events []tracking.Event) (int, error) {
		res, err := s.Append(ctx, events)
		return res.Inserted, err
	})
}

func BenchmarkAppendWithRollups(b *testing.B)    { benchAppendRollups(b, false) }
func BenchmarkAppendWithoutRollups(b *testing.B) { benchAppendRollups(b, true) }
