package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/faultstore"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// slowStore takes a millisecond per Append, as a database commit does.
type slowStore struct{ store.Store }

func (s slowStore) Append(ctx context.Context, evs []tracking.Event) (store.AppendResult, error) {
	time.Sleep(time.Millisecond)
	return s.Store.Append(ctx, evs)
}

func TestStoreReturnsOnceCommittedAndSharesBatches(t *testing.T) {
	for _, spool := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			mem := memstore.New()
			opts := ingest.Options{MaxBatchAge: time.Hour} // no call may wait for a batch to age
			if spool {
				opts.Spool.Dir = t.TempDir()
			}
			in := newIngester(t, slowStore{mem}, opts)
			in.Start()
			const callers, calls = 64, 20
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for c := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range calls {
						ev := events(fmt.Sprintf("c%02d-%03d", c, i), 1)
						r, err := in.Store(context.Background(), ev...)
						if err == nil && r != (ingest.Receipt{Inserted: 1}) {
							err = fmt.Errorf("receipt %+v", r)
						}
						if err == nil {
							n := 0
							for e := range mem.Events(context.Background(), store.Filter{ShopID: "shop"}) {
								if e.ID == ev[0].ID {
									n++
								}
							}
							if n != 1 {
								err = fmt.Errorf("%s not in the store when Store returned", ev[0].ID)
							}
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			st := in.Stats()
			require.Equal(t, uint64(callers*calls), st.Stored)
			require.Less(t, st.Batches, uint64(callers*calls/4), "concurrent calls share batches")
			shutdown(t, in)
		})
	}
}

func TestStoreCountsDuplicatesExactly(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{})
	in.Start()
	evs := events("d", 10)
	r, err := in.Store(context.Background(), evs...)
	require.NoError(t, err)
	require.Equal(t, ingest.Receipt{Inserted: 10}, r)
	r, err = in.Store(context.Background(), append(evs[:4:4], events("n", 2)...)...)
	require.NoError(t, err)
	require.Equal(t, ingest.Receipt{Inserted: 2, Duplicates: 4}, r, "ids stored earlier are duplicates")
	r, err = in.Store(context.Background(), events("twice", 1)[0], events("twice", 1)[0])
	require.NoError(t, err)
	require.Equal(t, ingest.Receipt{Inserted: 1, Duplicates: 1}, r, "an id repeated in the call is a duplicate")
	shutdown(t, in)
}

func TestStoreReportsEventsTheStoreRefuses(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.Reject(func(e *tracking.Event) bool { return e.ID == "r-000003" })
	in := newIngester(t, fs, ingest.Options{})
	in.Start()
	r, err := in.Store(context.Background(), events("r", 8)...)
	require.ErrorIs(t, err, ingest.ErrNotStored)
	require.Equal(t, ingest.Receipt{Inserted: 7}, r)
	shutdown(t, in)
}

func TestStoreEndsAtShutdownsDeadline(t *testing.T) {
	for _, spool := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			fs := faultstore.New(memstore.New())
			fs.Hold()
			defer fs.Release()
			opts := ingest.Options{}
			if spool {
				opts.Spool.Dir = t.TempDir()
			}
			in := newIngester(t, fs, opts)
			in.Start()
			done := make(chan error, 1)
			go func() {
				_, err := in.Store(context.Background(), events("s", 5)...)
				done <- err
			}()
			require.Eventually(t, func() bool { return in.Stats().InFlight == 5 }, 10*time.Second, time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			require.Error(t, in.Shutdown(ctx))
			require.ErrorIs(t, <-done, ingest.ErrNotStored)
		})
	}
}

func TestStoreStopsWaitingWhenItsContextEnds(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.Hold()
	in := newIngester(t, fs, ingest.Options{})
	in.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := in.Store(ctx, events("x", 3)...)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	fs.Release()
	shutdown(t, in)
	require.Equal(t, 3, count(t, fs), "the events are written all the same")
}

// deafStore ignores cancellation, as a driver on a stalled connection
// does: Append returns only when the test lets it.
type deafStore struct {
	store.Store
	gate chan struct{}
}

func (s deafStore) Append(ctx context.Context, evs []tracking.Event) (store.AppendResult, error) {
	<-s.gate
	return s.Store.Append(ctx, evs)
}

func TestShutdownReturnsByItsDeadlineWhenTheStoreIgnoresCancellation(t *testing.T) {
	for _, spool := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			dir := t.TempDir()
			opts := ingest.Options{}
			if spool {
				opts.Spool.Dir = dir
			}
			deaf := deafStore{memstore.New(), make(chan struct{})}
			defer close(deaf.gate)
			in := newIngester(t, deaf, opts)
			in.Start()
			require.NoError(t, in.Enqueue(context.Background(), events("z", 50)...))
			require.Eventually(t, func() bool { return in.Stats().InFlight == 50 }, 10*time.Second, time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			returned := make(chan error, 1)
			go func() { returned <- in.Shutdown(ctx) }()
			select {
			case err := <-returned:
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.ErrorContains(t, err, "50 events not stored")
			case <-time.After(20 * time.Second):
				t.Fatal("Shutdown did not return while the store ignored cancellation")
			}
			if spool {
				mem := memstore.New()
				next := newIngester(t, mem, ingest.Options{Spool: ingest.SpoolOptions{Dir: dir}})
				next.Start()
				shutdown(t, next)
				require.Equal(t, 50, count(t, mem), "the abandoned events were kept in the spool")
			}
		})
	}
}

// stallOnce hangs its first Append until the attempt's context ends, as a
// stalled connection does, then works.
type stallOnce struct {
	store.Store
	stalled atomic.Bool
}

func (s *stallOnce) Append(ctx context.Context, evs []tracking.Event) (store.AppendResult, error) {
	if s.stalled.CompareAndSwap(false, true) {
		<-ctx.Done()
		return store.AppendResult{}, fmt.Errorf("stalled: %w", ctx.Err())
	}
	return s.Store.Append(ctx, evs)
}

func TestAStalledAppendIsCancelledAndRetried(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, &stallOnce{Store: mem}, ingest.Options{AppendTimeout: 50 * time.Millisecond, Retry: fastRetry})
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("st", 10)...))
	require.Eventually(t, func() bool { return in.Stats().Stored == 10 }, 10*time.Second, time.Millisecond,
		"the stalled attempt is given up after AppendTimeout and the retry stores the batch")
	require.Equal(t, uint64(1), in.Stats().Retries)
	shutdown(t, in)
}

// While a batch is being written, a partial one waits for it and grows:
// concurrent Store calls then share one commit instead of each starting a
// small one on the second flusher (they would commit one after the other
// anyway when they touch the same rollup rows).
func TestAPartialBatchWaitsForTheOneInFlight(t *testing.T) {
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.Hold()
	in := newIngester(t, fs, ingest.Options{MaxBatchAge: time.Hour, Flushers: 2})
	in.Start()
	var wg sync.WaitGroup
	store := func(id string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := in.Store(context.Background(), events(id, 1)...); err != nil || r != (ingest.Receipt{Inserted: 1}) {
				t.Errorf("%s: %+v, %v", id, r, err)
			}
		}()
	}
	store("first")
	require.Eventually(t, func() bool { a, _ := fs.Counts(); return a == 1 }, 5*time.Second, time.Millisecond)
	for i := range 5 {
		store(fmt.Sprintf("later%d", i))
		require.Eventually(t, func() bool {
			st := in.Stats()
			return st.Queued+st.InFlight == uint64(i+2)
		}, 5*time.Second, time.Millisecond)
	}
	st := in.Stats()
	require.Equal(t, uint64(5), st.Queued, "the later calls wait for the batch in flight")
	fs.Release()
	wg.Wait()
	appends, _ := fs.Counts()
	require.Equal(t, 2, appends, "the five later calls share one batch")
	require.Equal(t, uint64(2), in.Stats().Batches)
	shutdown(t, in)
	require.Len(t, ids(t, mem), 6)
}

// fakeClock is an ingester's clock that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// comebackAfterLongBatch starts an ingester whose first batch, a Store
// call's, takes an hour by its clock, with queued (and, when enqueue,
// not Store's) events waiting behind it: the call it answers may come
// back, and the ingester may wait up to half an hour (capped by
// maxBatchAge) for it.
func comebackAfterLongBatch(t *testing.T, maxBatchAge time.Duration, queued int) (*ingest.Ingester, *memstore.Store) {
	t.Helper()
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.Hold()
	clock := newFakeClock()
	in := newIngester(t, fs, ingest.Options{MaxBatchAge: maxBatchAge, Flushers: 2, Now: clock.now})
	in.Start()
	t.Cleanup(func() { fs.Release(); shutdown(t, in) })
	stored := make(chan error, 1)
	go func() {
		_, err := in.Store(context.Background(), events("caller", 1)...)
		stored <- err
	}()
	require.Eventually(t, func() bool { a, _ := fs.Counts(); return a == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, in.Enqueue(context.Background(), events("enqueued", queued)...))
	require.Eventually(t, func() bool { return in.Stats().Queued == uint64(queued) }, 5*time.Second, time.Millisecond)
	clock.advance(time.Hour)
	fs.Release()
	require.NoError(t, <-stored)
	return in, mem
}

// Flush writes what is queued at once, even just after a batch that
// answered Store calls, whose callers the ingester would otherwise wait a
// moment for.
func TestFlushDoesNotWaitForStoreCallersToComeBack(t *testing.T) {
	in, mem := comebackAfterLongBatch(t, 2*time.Hour, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, in.Flush(ctx), "Flush waits for no caller to come back")
	require.Equal(t, 4, count(t, mem))
}

// Enqueued events due by MaxBatchAge are written when due, even just
// after a batch that answered Store calls: only events that Store calls
// wait for wait for those callers to come back.
func TestDueEnqueuedEventsDoNotWaitForStoreCallersToComeBack(t *testing.T) {
	in, _ := comebackAfterLongBatch(t, 10*time.Minute, 3)
	require.Eventually(t, func() bool { return in.Stats().Stored == 4 }, 10*time.Second, time.Millisecond,
		"the enqueued events, an hour old, are written without waiting")
}
