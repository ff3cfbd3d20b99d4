package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func events(prefix string, n int) []tracking.Event {
	out := make([]tracking.Event, n)
	for i := range out {
		out[i] = tracking.Event{
			ID: fmt.Sprintf("%s-%06d", prefix, i), ShopID: "shop", Type: tracking.PageViewed,
			AnonymousID: "a", Timestamp: t0.Add(time.Duration(i) * time.Millisecond), ReceivedAt: t0,
		}
	}
	return out
}

func count(t *testing.T, s store.Store) int {
	t.Helper()
	n := 0
	for _, err := range s.Events(context.Background(), store.Filter{ShopID: "shop"}) {
		require.NoError(t, err)
		n++
	}
	return n
}

// fastRetry keeps retry waits short so outage tests run quickly.
var fastRetry = ingest.RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

func newIngester(t *testing.T, s store.Store, opts ingest.Options) *ingest.Ingester {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	in, err := ingest.New(s, opts)
	require.NoError(t, err)
	return in
}

func shutdown(t *testing.T, in *ingest.Ingester) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, in.Shutdown(ctx))
}

func TestShutdownDrainsEverythingQueued(t *testing.T) {
	mem := memstore.New()
	// A huge batch age: only Shutdown's drain writes the partial batches.
	in := newIngester(t, mem, ingest.Options{BatchSize: 300, MaxBatchAge: time.Hour})
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("e", 1000)...))
	shutdown(t, in)
	require.Equal(t, 1000, count(t, mem))
	st := in.Stats()
	require.Equal(t, uint64(1000), st.Stored)
	require.Equal(t, uint64(0), st.Queued+st.InFlight+st.Failed)
	require.ErrorIs(t, in.TryEnqueue(events("late", 1)...), ingest.ErrClosed)
	require.ErrorIs(t, in.Enqueue(context.Background(), events("late", 1)...), ingest.ErrClosed)
}

func TestShutdownWithoutStartDrains(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{})
	require.NoError(t, in.TryEnqueue(events("e", 10)...))
	shutdown(t, in)
	require.Equal(t, 10, count(t, mem))
}

func TestDuplicatesAreStoredOnceAndCounted(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{BatchSize: 64})
	in.Start()
	evs := events("d", 500)
	require.NoError(t, in.Enqueue(context.Background(), evs...))
	require.NoError(t, in.Enqueue(context.Background(), evs[:200]...))
	shutdown(t, in)
	require.Equal(t, 500, count(t, mem))
	st := in.Stats()
	require.Equal(t, uint64(500), st.Stored)
	require.Equal(t, uint64(200), st.Duplicates)
}

func TestBatchAgeWritesPartialBatches(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{BatchSize: 1000, MaxBatchAge: 5 * time.Millisecond})
	in.Start()
	defer shutdown(t, in)
	require.NoError(t, in.Enqueue(context.Background(), events("p", 3)...))
	require.Eventually(t, func() bool { return in.Stats().Stored == 3 }, 10*time.Second, time.Millisecond)
}

func TestFlushWritesWithoutWaitingForTheBatch(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{BatchSize: 1000, MaxBatchAge: time.Hour})
	in.Start()
	defer shutdown(t, in)
	require.NoError(t, in.Enqueue(context.Background(), events("f", 7)...))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, in.Flush(ctx))
	require.Equal(t, 7, count(t, mem))
}

func TestStoreOutageLosesNothing(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.SetDown(true)
	in := newIngester(t, fs, ingest.Options{BatchSize: 100, MaxBatchAge: time.Millisecond, Retry: fastRetry})
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("o", 2000)...))
	require.Eventually(t, func() bool { return in.Stats().Retries >= 10 }, 10*time.Second, time.Millisecond)
	require.Equal(t, uint64(0), in.Stats().Stored, "nothing can be stored while the store is down")
	fs.SetDown(false)
	shutdown(t, in)
	require.Equal(t, 2000, count(t, fs))
	st := in.Stats()
	require.Equal(t, uint64(2000), st.Stored)
	require.Equal(t, uint64(0), st.Failed)
}

func TestFullQueueRefusesAndBlocksThenRecovers(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.Hold()
	in := newIngester(t, fs, ingest.Options{QueueSize: 100, BatchSize: 10, Flushers: 1, MaxBatchAge: time.Millisecond})
	in.Start()

	// Fill everything: the queue plus what the held flusher and the batcher hold.
	accepted := 0
	for i := 0; ; i++ {
		err := in.TryEnqueue(events(fmt.Sprintf("q%03d", i), 10)...)
		if errors.Is(err, ingest.ErrQueueFull) {
			break
		}
		require.NoError(t, err)
		accepted += 10
		if in.Stats().Queued < 100 {
			time.Sleep(time.Millisecond) // let the batcher take what it can
		}
	}
	require.GreaterOrEqual(t, accepted, 100)
	require.Equal(t, uint64(10), in.Stats().Refused)
	require.ErrorIs(t, in.TryEnqueue(events("big", 101)...), ingest.ErrTooLarge)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, in.Enqueue(ctx, events("blocked", 5)...), context.DeadlineExceeded)

	done := make(chan error, 1)
	go func() { done <- in.Enqueue(context.Background(), events("waiter", 5)...) }()
	fs.Release()
	require.NoError(t, <-done, "a blocked Enqueue goes through once there is room")
	shutdown(t, in)
	require.Equal(t, accepted+5, count(t, fs))
}

func TestInvalidEventIsIsolatedFromItsBatch(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.Reject(func(e *tracking.Event) bool { return e.ID == "bad-000137" })
	var failed []string
	var failures []error
	var mu sync.Mutex
	in := newIngester(t, fs, ingest.Options{BatchSize: 500, Hooks: ingest.Hooks{
		OnFailed: func(evs []tracking.Event, err error) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, err)
			for _, e := range evs {
				failed = append(failed, e.ID)
			}
		},
	}})
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("bad", 500)...))
	shutdown(t, in)
	require.Equal(t, []string{"bad-000137"}, failed)
	require.Len(t, failures, 1)
	require.ErrorIs(t, failures[0], store.ErrInvalid)
	require.Equal(t, 499, count(t, fs))
	st := in.Stats()
	require.Equal(t, uint64(499), st.Stored)
	require.Equal(t, uint64(1), st.Failed)
}

func TestShutdownDeadlineReportsWhatWasNotStored(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.SetDown(true)
	var lost atomic.Int64
	in := newIngester(t, fs, ingest.Options{BatchSize: 50, Retry: fastRetry, Hooks: ingest.Hooks{
		OnFailed: func(evs []tracking.Event, err error) { lost.Add(int64(len(evs))) },
	}})
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("x", 300)...))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := in.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, int64(300), lost.Load(), "every event not stored is reported")
	require.Equal(t, uint64(300), in.Stats().Failed)
}

func TestRunDrainsWhenItsContextEnds(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{MaxBatchAge: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	require.NoError(t, in.Enqueue(context.Background(), events("r", 42)...))
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, 42, count(t, mem))
}

func TestConcurrentProducers(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{QueueSize: 1000, BatchSize: 100, Flushers: 4, MaxBatchAge: time.Millisecond})
	in.Start()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for p := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := events(fmt.Sprintf("p%02d", p), 1000)
			for i := 0; i < len(evs); i += 25 {
				if err := in.Enqueue(context.Background(), evs[i:i+25]...); err != nil {
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
	shutdown(t, in)
	require.Equal(t, 16000, count(t, mem))
	require.Equal(t, uint64(16000), in.Stats().Stored)
}

func TestOptionsAreValidated(t *testing.T) {
	for _, o := range []ingest.Options{
		{QueueSize: -1},
		{BatchSize: -1},
		{MaxBatchAge: -time.Second},
		{Flushers: -2},
		{AppendTimeout: -time.Second},
		{QueueSize: 10, BatchSize: 11},
		{Retry: ingest.RetryPolicy{Jitter: 1.5}},
		{Retry: ingest.RetryPolicy{InitialBackoff: time.Minute, MaxBackoff: time.Second}},
	} {
		_, err := ingest.New(memstore.New(), o)
		require.Error(t, err, "%+v", o)
	}
	_, err := ingest.New(nil, ingest.Options{})
	require.Error(t, err)
}

func TestClosedStoreFailsTheBatchWhole(t *testing.T) {
	mem := memstore.New()
	require.NoError(t, mem.Close())
	fs := faultstore.New(mem)
	var mu sync.Mutex
	var failures []error
	var sizes []int
	in := newIngester(t, fs, ingest.Options{BatchSize: 1000, Hooks: ingest.Hooks{
		OnFailed: func(evs []tracking.Event, err error) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, err)
			sizes = append(sizes, len(evs))
		},
	}})
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("c", 1000)...))
	shutdown(t, in)
	appends, _ := fs.Counts()
	require.Equal(t, 1, appends, "only invalid data is split; a closed store is not retried event by event")
	require.Equal(t, []int{1000}, sizes)
	require.ErrorIs(t, failures[0], store.ErrClosed)
	st := in.Stats()
	require.Equal(t, uint64(1000), st.Failed)
	require.Equal(t, uint64(0), st.InFlight)
}

func TestEnqueueNormalisesEventsThatSkippedNormalize(t *testing.T) {
	mem := memstore.New()
	now := time.Date(2026, 6, 1, 9, 30, 0, 123456789, time.UTC)
	in := newIngester(t, mem, ingest.Options{Now: func() time.Time { return now }})
	in.Start()
	raw := []tracking.Event{
		{ShopID: "shop", Type: "purchase", UserID: "u1", Revenue: tracking.Money{Minor: 1999}},
		{ShopID: "shop", Type: "purchase", UserID: "u2", Revenue: tracking.Money{Minor: 500}, Currency: "eur"},
	}
	require.NoError(t, in.Enqueue(context.Background(), raw...))
	require.NoError(t, in.TryEnqueue(tracking.Event{ShopID: "shop", Type: "view", AnonymousID: "a", ProductID: "p1"}))
	require.Empty(t, raw[0].ID, "the caller's events are not modified")
	shutdown(t, in)

	var got []tracking.Event
	for e, err := range mem.Events(context.Background(), store.Filter{ShopID: "shop"}) {
		require.NoError(t, err)
		got = append(got, e)
	}
	require.Len(t, got, 3, "events without an id are not duplicates of each other")
	ids := map[string]bool{}
	for _, e := range got {
		require.NotEmpty(t, e.ID)
		ids[e.ID] = true
		require.Equal(t, now.Truncate(time.Microsecond), e.Timestamp)
		require.Equal(t, now.Truncate(time.Microsecond), e.ReceivedAt)
		require.NoError(t, tracking.Validate(&e))
	}
	require.Len(t, ids, 3)
	byUser := map[string]tracking.Event{}
	for _, e := range got {
		byUser[e.UserID] = e
	}
	require.Equal(t, tracking.PurchaseCompleted, byUser["u1"].Type)
	require.Equal(t, "USD", byUser["u1"].Currency)
	require.Equal(t, tracking.Money{Minor: 1999, Currency: "USD"}, byUser["u1"].Revenue)
	require.Equal(t, "EUR", byUser["u2"].Currency)
	require.Equal(t, tracking.ProductViewed, byUser[""].Type)
}

func TestEnqueueRefusesInvalidEventsWithTheirField(t *testing.T) {
	mem := memstore.New()
	in := newIngester(t, mem, ingest.Options{})
	in.Start()
	good := events("g", 2)
	for _, tc := range []struct {
		name  string
		bad   tracking.Event
		field string
	}{
		{"no shop", tracking.Event{Type: tracking.PageViewed, AnonymousID: "a"}, "shop_id"},
		{"purchase without revenue", tracking.Event{ShopID: "shop", Type: tracking.PurchaseCompleted, UserID: "u"}, "revenue"},
		{"no person", tracking.Event{ShopID: "shop", Type: tracking.PageViewed}, "anonymous_id"},
		{"normalised but no id", tracking.Event{ShopID: "shop", Type: tracking.PageViewed, AnonymousID: "a", Timestamp: t0, ReceivedAt: t0}, "id"},
		{"normalised but an alias type", tracking.Event{ID: "x", ShopID: "shop", Type: "purchase", UserID: "u", Revenue: tracking.Money{Minor: 1, Currency: "USD"}, Currency: "USD", Timestamp: t0, ReceivedAt: t0}, "type"},
		{"normalised but no timestamp", tracking.Event{ID: "x", ShopID: "shop", Type: tracking.PageViewed, AnonymousID: "a", ReceivedAt: t0}, "timestamp"},
		{"normalised but properties not JSON", tracking.Event{ID: "x", ShopID: "shop", Type: tracking.PageViewed, AnonymousID: "a", Timestamp: t0, ReceivedAt: t0, Properties: json.RawMessage("=A1")}, "properties"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := append(append([]tracking.Event(nil), good...), tc.bad)
			for _, err := range []error{
				in.Enqueue(context.Background(), batch...),
				in.TryEnqueue(batch...),
			} {
				var ie *ingest.InvalidEventError
				require.ErrorAs(t, err, &ie)
				require.Equal(t, 2, ie.Index)
				var ve *tracking.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.field, ve.Field)
			}
		})
	}
	shutdown(t, in)
	require.Equal(t, 0, count(t, mem), "a call with an invalid event takes none of its events")
}
