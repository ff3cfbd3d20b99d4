package ingest_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// seen collects what an observer was told, safe for flush goroutines.
type seen struct {
	mu       sync.Mutex
	ids      []string
	newCount int
}

func (s *seen) observe(events []tracking.Event, res store.AppendResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range events {
		s.ids = append(s.ids, e.ID)
		if !res.Duplicate[i] {
			s.newCount++
		}
	}
}

func (s *seen) snapshot() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...), s.newCount
}

func TestObserversSeeEveryStoredBatchUntilTheyStop(t *testing.T) {
	st := memstore.New()
	in := newIngester(t, st, ingest.Options{BatchSize: 10})
	in.Start()
	defer shutdown(t, in)
	ctx := context.Background()

	var a, b seen
	stopA := in.Observe(a.observe)
	stopB := in.Observe(b.observe)
	first := events("first", 25)
	require.NoError(t, in.Enqueue(ctx, first...))
	require.NoError(t, in.Flush(ctx))

	stopA()
	stopA() // a second call is harmless
	second := events("second", 5)
	require.NoError(t, in.Enqueue(ctx, second...))
	require.NoError(t, in.Enqueue(ctx, first[:3]...)) // duplicates: observed, not new
	require.NoError(t, in.Flush(ctx))
	stopB()

	aIDs, aNew := a.snapshot()
	require.Len(t, aIDs, 25)
	require.Equal(t, 25, aNew)
	bIDs, bNew := b.snapshot()
	require.Len(t, bIDs, 33)
	require.Equal(t, 30, bNew, "the three events sent again are duplicates")
}

func TestObserversComeAndGoWhileBatchesAreStored(t *testing.T) {
	st := memstore.New()
	in := newIngester(t, st, ingest.Options{BatchSize: 5, Flushers: 4})
	in.Start()
	defer shutdown(t, in)
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				var s seen
				stop := in.Observe(s.observe)
				stop()
			}
		})
	}
	var always seen
	stop := in.Observe(always.observe)
	defer stop()
	all := events("busy", 500)
	for i := 0; i < len(all); i += 50 {
		require.NoError(t, in.Enqueue(ctx, all[i:i+50]...))
	}
	wg.Wait()
	require.NoError(t, in.Flush(ctx))
	ids, n := always.snapshot()
	require.Len(t, ids, 500)
	require.Equal(t, 500, n)
}
