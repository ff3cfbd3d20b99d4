package ingest_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/faultstore"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// spoolOpts are ingester options with a spool in dir and quick retries.
func spoolOpts(dir string, sp ingest.SpoolOptions) ingest.Options {
	sp.Dir = dir
	return ingest.Options{BatchSize: 100, MaxBatchAge: time.Millisecond, Retry: fastRetry, Spool: sp}
}

// segments lists the segment files in dir.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	sort.Strings(m)
	return m
}

// ids returns how many times each id of the shop is stored.
func ids(t *testing.T, s store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for e, err := range s.Events(context.Background(), store.Filter{ShopID: "shop"}) {
		require.NoError(t, err)
		out[e.ID]++
	}
	return out
}

// enqueueCalls enqueues calls × per events, prefix-numbered, per call.
func enqueueCalls(t *testing.T, in *ingest.Ingester, prefix string, calls, per int) {
	t.Helper()
	for c := range calls {
		require.NoError(t, in.Enqueue(context.Background(), events(fmt.Sprintf("%s%04d", prefix, c), per)...))
	}
}

// crashAfterCalls opens an ingester spooling to dir in front of s made
// unreachable, enqueues calls calls of per events (ids from prefix) and
// crashes it: what it spooled stays on disk.
func crashAfterCalls(t *testing.T, dir string, s store.Store, sp ingest.SpoolOptions, prefix string, calls, per int) {
	t.Helper()
	fs := faultstore.New(s)
	fs.SetDown(true)
	in := newIngester(t, fs, spoolOpts(dir, sp))
	enqueueCalls(t, in, prefix, calls, per)
	in.Crash()
}

// drain starts a new ingester on the spool with a good store, waits until
// it has stored what the spool held, and shuts it down.
func drain(t *testing.T, dir string, s store.Store, sp ingest.SpoolOptions) ingest.Stats {
	t.Helper()
	in := newIngester(t, s, spoolOpts(dir, sp))
	in.Start()
	shutdown(t, in)
	return in.Stats()
}

func TestSpoolKeepsEveryEventThroughACrash(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	fs := faultstore.New(mem)
	in := newIngester(t, fs, spoolOpts(dir, ingest.SpoolOptions{SegmentBytes: 16 << 10}))
	in.Start()
	enqueueCalls(t, in, "early", 5, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, in.Flush(ctx))
	fs.Hold()
	enqueueCalls(t, in, "held", 40, 50)
	require.NotEmpty(t, segments(t, dir))
	in.Crash()

	st := drain(t, dir, mem, ingest.SpoolOptions{})
	got := ids(t, mem)
	require.Len(t, got, 500+2000)
	for id, n := range got {
		require.Equal(t, 1, n, id)
	}
	require.GreaterOrEqual(t, st.Replayed, uint64(2000))
	require.Equal(t, st.Replayed, st.Stored+st.Duplicates, "every replayed event is stored or known")
	require.Equal(t, uint64(2000), st.Stored)
	require.Zero(t, st.Failed+st.Kept+st.SpoolEvents+st.SpoolCorrupt)
	require.Empty(t, segments(t, dir), "finished segments are deleted")
}

func TestSpoolKeepsEveryFieldOfAnEvent(t *testing.T) {
	dir := t.TempDir()
	fs := faultstore.New(memstore.New())
	fs.SetDown(true)
	in := newIngester(t, fs, spoolOpts(dir, ingest.SpoolOptions{}))
	in.Start()
	full := tracking.Event{
		ID: "full-1", ShopID: "shop", Type: tracking.PurchaseCompleted, UserID: "u\"1", AnonymousID: "a\u00e9",
		SessionID: "s1", ProductID: "p1", ProductName: "Röd <tröja>\n", Category: "tops",
		Price: tracking.Money{Minor: 1999, Currency: "EUR"}, Quantity: 3, Revenue: tracking.Money{Minor: 5997, Currency: "EUR"},
		Currency: "EUR", OrderID: "o1", URL: "https://shop.example/p1?x=1&y=2", Referrer: "https://ref.example/",
		UserAgent: "Mozilla/5.0", Properties: []byte(`{"coupon":"X","n":[1,2.5,{"a":null}],"u":"\u2028"}`),
		Timestamp:  time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC),
		ReceivedAt: time.Date(2026, 5, 1, 12, 0, 1, 987654321, time.UTC),
	}
	require.NoError(t, tracking.Validate(&full))
	minimal := tracking.Event{ID: "min-1", ShopID: "shop", Type: tracking.PageViewed, AnonymousID: "a", Timestamp: t0, ReceivedAt: t0}
	require.NoError(t, in.Enqueue(context.Background(), full, minimal))
	in.Crash()

	mem := memstore.New()
	drain(t, dir, mem, ingest.SpoolOptions{})
	byID := map[string]tracking.Event{}
	for e, err := range mem.Events(context.Background(), store.Filter{ShopID: "shop"}) {
		require.NoError(t, err)
		byID[e.ID] = e
	}
	require.Equal(t, full, byID["full-1"], "every field, received_at included, comes back from the spool")
	require.Equal(t, minimal, byID["min-1"])
}

func TestSpoolShutdownDeadlineKeepsEventsOnDisk(t *testing.T) {
	dir := t.TempDir()
	fs := faultstore.New(memstore.New())
	fs.SetDown(true)
	var reported int
	var mu sync.Mutex
	opts := spoolOpts(dir, ingest.SpoolOptions{SegmentBytes: 32 << 10})
	opts.QueueSize = 500
	opts.Hooks.OnFailed = func(evs []tracking.Event, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported += len(evs)
	}
	in := newIngester(t, fs, opts)
	in.Start()
	enqueueCalls(t, in, "d", 30, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := in.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "kept in the spool")
	st := in.Stats()
	require.Equal(t, uint64(3000), st.Kept)
	require.Zero(t, st.Failed, "kept events are not lost")
	require.Zero(t, reported, "kept events are not given up")
	require.NotEmpty(t, segments(t, dir))

	mem := memstore.New()
	st = drain(t, dir, mem, ingest.SpoolOptions{})
	require.Len(t, ids(t, mem), 3000)
	require.Equal(t, uint64(3000), st.Replayed)
	require.Empty(t, segments(t, dir))
}

func TestSpoolBoundsMemoryThroughALongOutage(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.SetDown(true)
	opts := spoolOpts(dir, ingest.SpoolOptions{SegmentBytes: 256 << 10, Sync: ingest.SyncInterval, SyncEvery: 10 * time.Millisecond})
	opts.QueueSize, opts.BatchSize, opts.Flushers = 1000, 100, 2
	in := newIngester(t, fs, opts)
	in.Start()
	for c := range 1000 {
		evs := events(fmt.Sprintf("o%04d", c), 50)
		for i := range evs { // in time order, as memstore likes them
			evs[i].Timestamp = t0.Add(time.Duration(c*50+i) * time.Millisecond)
		}
		require.NoError(t, in.Enqueue(context.Background(), evs...))
		st := in.Stats()
		require.LessOrEqual(t, st.Queued, uint64(1000), "memory holds at most QueueSize events")
		require.LessOrEqual(t, st.InFlight, uint64((opts.Flushers+1)*opts.BatchSize), "and the batches being written")
	}
	st := in.Stats()
	require.Equal(t, uint64(50_000), st.SpoolEvents, "every event is on disk")
	require.Greater(t, st.SpoolSegments, uint64(10))
	require.Zero(t, st.Stored)

	fs.SetDown(false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, in.Flush(ctx))
	st = in.Stats()
	require.Equal(t, uint64(50_000), st.Stored)
	require.Zero(t, st.SpoolEvents)
	// The batch that ends Flush releases its segments just after: the
	// spool's lock is taken outside the ingester's.
	require.Eventually(t, func() bool { return in.Stats().SpoolSegments <= 1 }, 10*time.Second, time.Millisecond,
		"only the segment being written may stay")
	shutdown(t, in)
	require.Empty(t, segments(t, dir))
	got := ids(t, mem)
	require.Len(t, got, 50_000)
	for id, n := range got {
		require.Equal(t, 1, n, id)
	}
}

func TestSpoolFullRefusesWithoutHalfRecords(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.SetDown(true)
	sp := ingest.SpoolOptions{SegmentBytes: 16 << 10, MaxBytes: 64 << 10}
	in := newIngester(t, fs, spoolOpts(dir, sp))
	in.Start()
	accepted := 0
	for c := 0; ; c++ {
		err := in.TryEnqueue(events(fmt.Sprintf("f%04d", c), 10)...)
		if errors.Is(err, ingest.ErrQueueFull) {
			break
		}
		require.NoError(t, err)
		accepted += 10
	}
	st := in.Stats()
	require.Equal(t, uint64(10), st.Refused)
	require.LessOrEqual(t, st.SpoolBytes, uint64(64<<10))
	var onDisk int64
	for _, p := range segments(t, dir) {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		onDisk += fi.Size()
	}
	require.LessOrEqual(t, onDisk, int64(64<<10))
	require.Equal(t, uint64(onDisk), st.SpoolBytes)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, in.Enqueue(ctx, events("blocked", 10)...), context.DeadlineExceeded, "Enqueue waits for space")
	in.Crash()

	st = drain(t, dir, mem, sp)
	require.Zero(t, st.SpoolCorrupt, "a refused call leaves nothing behind")
	require.Len(t, ids(t, mem), accepted)
}

func TestSpoolFullBlocksEnqueueUntilSpaceFrees(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.SetDown(true)
	in := newIngester(t, fs, spoolOpts(dir, ingest.SpoolOptions{SegmentBytes: 8 << 10, MaxBytes: 32 << 10}))
	in.Start()
	accepted := 0
	for c := 0; ; c++ {
		if err := in.TryEnqueue(events(fmt.Sprintf("b%04d", c), 10)...); err != nil {
			require.ErrorIs(t, err, ingest.ErrQueueFull)
			break
		}
		accepted += 10
	}
	done := make(chan error, 1)
	go func() { done <- in.Enqueue(context.Background(), events("waiter", 10)...) }()
	fs.SetDown(false)
	require.NoError(t, <-done)
	shutdown(t, in)
	require.Len(t, ids(t, mem), accepted+10)
	require.Empty(t, segments(t, dir))
}

func TestSpoolConcurrentCallersShareFsyncs(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	in := newIngester(t, mem, spoolOpts(dir, ingest.SpoolOptions{}))
	in.Start()
	const producers, calls = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				if err := in.Enqueue(context.Background(), events(fmt.Sprintf("g%02d-%03d", p, c), 1)...); err != nil {
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
	require.Positive(t, st.SpoolSyncs)
	require.Less(t, st.SpoolSyncs, uint64(producers*calls), "one fsync serves many callers")
	t.Logf("%d calls, %d fsyncs", producers*calls, st.SpoolSyncs)
	shutdown(t, in)
	require.Len(t, ids(t, mem), producers*calls)
}

// TestSpoolLeaderGathersTheReadyCallers runs on one P so that callers
// made ready together queue behind the first: its fsync waits for the
// goroutines ready to run, so one fsync serves all of them rather than the
// first caller alone, then the next, and so on.
func TestSpoolLeaderGathersTheReadyCallers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	dir := t.TempDir()
	mem := memstore.New()
	in := newIngester(t, mem, spoolOpts(dir, ingest.SpoolOptions{}))
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("first", 1)...)) // the segment exists
	before := in.Stats().SpoolSyncs

	const callers = 40
	start := make(chan struct{})
	errs := make(chan error, callers)
	for c := range callers {
		go func() {
			<-start
			errs <- in.Enqueue(context.Background(), events(fmt.Sprintf("c%02d", c), 1)...)
		}()
	}
	close(start)
	for range callers {
		require.NoError(t, <-errs)
	}
	// One, as a rule; a turn that runs the ingester's own goroutines
	// rather than callers can end the gathering early, so allow a few.
	// Without gathering each caller syncs alone here.
	syncs := in.Stats().SpoolSyncs - before
	require.LessOrEqual(t, syncs, uint64(4), "fsyncs for %d callers ready together", callers)
	shutdown(t, in)
	require.Len(t, ids(t, mem), callers+1)
}

// TestSpoolCallersAfterARoundWaitForTheNext holds an fsync while more
// callers append: their records are not in that round, so they wait for
// the next one, run by whichever of them runs first once the held one
// ends. When the
// held fsync succeeds, one more fsync serves them all; when it fails, the
// segment takes no more and every one of them is refused, none left
// waiting.
func TestSpoolCallersAfterARoundWaitForTheNext(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("fail=", fail), func(t *testing.T) {
			dir := t.TempDir()
			mem := memstore.New()
			in := newIngester(t, mem, spoolOpts(dir, ingest.SpoolOptions{}))
			in.Start()
			require.NoError(t, in.Enqueue(context.Background(), events("before", 1)...))
			entered, release := make(chan struct{}), make(chan struct{})
			in.HoldFsync(entered, release, fail)
			first := make(chan error, 1)
			go func() { first <- in.Enqueue(context.Background(), events("held", 1)...) }()
			<-entered
			syncs := in.Stats().SpoolSyncs

			const later = 8
			errs := make(chan error, later)
			for c := range later {
				go func() { errs <- in.Enqueue(context.Background(), events(fmt.Sprintf("later%d", c), 1)...) }()
			}
			require.Eventually(t, func() bool { return in.Stats().Enqueued == 2+later }, 10*time.Second, time.Millisecond)
			close(release)
			timeout := time.After(30 * time.Second)
			for range later + 1 {
				var err error
				select {
				case err = <-first:
				case err = <-errs:
				case <-timeout:
					t.Fatal("a caller is still waiting")
				}
				if fail {
					require.ErrorContains(t, err, "fsync")
				} else {
					require.NoError(t, err)
				}
			}
			if !fail {
				require.Equal(t, syncs+2, in.Stats().SpoolSyncs, "the held fsync and one for the callers after it")
			}
			require.NoError(t, in.Enqueue(context.Background(), events("after", 1)...))
			shutdown(t, in)
			got := ids(t, mem)
			require.Contains(t, got, "before-000000")
			require.Contains(t, got, "after-000000")
			if !fail {
				require.Len(t, got, 3+later)
			}
		})
	}
}

// TestSpoolCrashWhileTheLeaderGathers crashes the spool during the turn a
// fsync leader gives the goroutines ready to run: its record is never
// written, and its call is refused rather than acknowledged by a spool
// that is gone.
func TestSpoolCrashWhileTheLeaderGathers(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	in := newIngester(t, mem, spoolOpts(dir, ingest.SpoolOptions{}))
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("before", 1)...))
	crashed := make(chan struct{})
	in.OnGather(func() {
		in.CrashSpool()
		go func() { // the rest of Crash waits for the ingester's goroutines
			in.Crash()
			close(crashed)
		}()
	})
	err := in.Enqueue(context.Background(), events("gathered", 1)...)
	require.ErrorContains(t, err, "closed before its fsync")
	<-crashed

	// Replayed into a store of its own: what the spool holds, not what
	// the crashed ingester's flusher may have stored from memory.
	replay := memstore.New()
	st := drain(t, dir, replay, ingest.SpoolOptions{})
	require.Zero(t, st.SpoolCorrupt)
	require.NotContains(t, ids(t, replay), "gathered-000000", "nothing is written to the spool after the crash")
}

func TestSpoolDirectoryIsLocked(t *testing.T) {
	dir := t.TempDir()
	first := newIngester(t, memstore.New(), spoolOpts(dir, ingest.SpoolOptions{}))
	_, err := ingest.New(memstore.New(), spoolOpts(dir, ingest.SpoolOptions{}))
	require.ErrorIs(t, err, ingest.ErrSpoolLocked)
	require.Contains(t, err.Error(), fmt.Sprintf("process %d", os.Getpid()))
	shutdown(t, first)
	second := newIngester(t, memstore.New(), spoolOpts(dir, ingest.SpoolOptions{}))
	shutdown(t, second)
}

func TestSpoolInvalidEventsAreFinished(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.Reject(func(e *tracking.Event) bool { return e.ID == "bad-000042" })
	var failed []string
	var mu sync.Mutex
	opts := spoolOpts(dir, ingest.SpoolOptions{})
	opts.Hooks.OnFailed = func(evs []tracking.Event, err error) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			failed = append(failed, e.ID)
		}
	}
	in := newIngester(t, fs, opts)
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("bad", 100)...))
	shutdown(t, in)
	require.Equal(t, []string{"bad-000042"}, failed)
	require.Equal(t, uint64(1), in.Stats().Failed)
	require.Empty(t, segments(t, dir), "an event refused as invalid is final")
	st := drain(t, dir, mem, ingest.SpoolOptions{})
	require.Zero(t, st.Replayed)
}

func TestSpoolClosedStoreKeepsEvents(t *testing.T) {
	dir := t.TempDir()
	closed := memstore.New()
	require.NoError(t, closed.Close())
	in := newIngester(t, closed, spoolOpts(dir, ingest.SpoolOptions{}))
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("c", 100)...))
	shutdown(t, in)
	st := in.Stats()
	require.Equal(t, uint64(100), st.Kept)
	require.Zero(t, st.Failed)
	mem := memstore.New()
	drain(t, dir, mem, ingest.SpoolOptions{})
	require.Len(t, ids(t, mem), 100)
}

func TestSpoolSequenceGoesOnAfterADrainedRun(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	in := newIngester(t, mem, spoolOpts(dir, ingest.SpoolOptions{}))
	require.NoError(t, in.Enqueue(context.Background(), events("s", 10)...))
	shutdown(t, in)
	require.Empty(t, segments(t, dir))

	fs := faultstore.New(mem)
	fs.SetDown(true)
	in = newIngester(t, fs, spoolOpts(dir, ingest.SpoolOptions{}))
	require.NoError(t, in.Enqueue(context.Background(), events("t", 5)...))
	in.Crash()
	segs := segments(t, dir)
	require.Len(t, segs, 1)
	require.Equal(t, "00000000000000000010.seg", filepath.Base(segs[0]), "numbering goes on from the last run")
}

// recordOffsets returns where each record of a segment file starts.
func recordOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var offs []int64
	for off := int64(8); off+8 <= int64(len(b)); {
		l := int64(binary.LittleEndian.Uint32(b[off:]))
		if l == 0 { // the zeros a segment is extended with
			break
		}
		offs = append(offs, off)
		off += 8 + l
	}
	return offs
}

// recordsEnd returns where the last record of a segment file ends.
func recordsEnd(t *testing.T, path string) int64 {
	t.Helper()
	offs := recordOffsets(t, path)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	last := offs[len(offs)-1]
	return last + 8 + int64(binary.LittleEndian.Uint32(b[last:]))
}

// The segment being written is extended with zeros ahead of its records;
// a crash leaves them. They end the segment; a torn or corrupt record
// before or among them is still counted and skipped.
func TestSpoolZeroTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage breaks the last segment's file, whose records (of 10
		// events each) end at end, and returns how many of its records
		// stay valid and how many corrupt bytes the scan must count.
		damage func(t *testing.T, path string, offs []int64, end int64) (valid int, corrupt int64)
	}{
		{"zeros after the last record", func(t *testing.T, path string, offs []int64, end int64) (int, int64) {
			return len(offs), 0
		}},
		{"record torn before the zeros", func(t *testing.T, path string, offs []int64, end int64) (int, int64) {
			// The last group write reached the disk only in part: its
			// record's second half is still the zeros written ahead.
			last := offs[len(offs)-1]
			cut := last + (end-last)/2
			writeAt(t, path, make([]byte, end-cut), cut)
			return len(offs) - 1, lastNonZeroIn(t, path) - last
		}},
		{"record whose start did not reach the disk", func(t *testing.T, path string, offs []int64, end int64) (int, int64) {
			last := offs[len(offs)-1]
			writeAt(t, path, make([]byte, 8), last)
			return len(offs) - 1, lastNonZeroIn(t, path) - last
		}},
		{"garbage far past the zeros", func(t *testing.T, path string, offs []int64, end int64) (int, int64) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			writeAt(t, path, []byte("garbage!"), fi.Size()-100)
			return len(offs), fi.Size() - 92 - end
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := ingest.SpoolOptions{SegmentBytes: 1 << 20}
			crashAfterCalls(t, dir, memstore.New(), sp, "z", 40, 10)
			segs := segments(t, dir)
			require.Len(t, segs, 1)
			path := segs[0]
			offs := recordOffsets(t, path)
			require.Len(t, offs, 40)
			end := recordsEnd(t, path)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.Greater(t, fi.Size(), end, "the segment was extended with zeros ahead of its records")
			require.Equal(t, end, lastNonZeroIn(t, path))
			valid, corrupt := tc.damage(t, path, offs, end)

			mem := memstore.New()
			st := drain(t, dir, mem, sp)
			got := ids(t, mem)
			require.Len(t, got, valid*10, "every valid record is replayed")
			for c := range valid {
				require.Contains(t, got, fmt.Sprintf("z%04d-000009", c))
			}
			if corrupt == 0 {
				require.Zero(t, st.SpoolCorrupt, "zeros are the end, not corruption")
				require.Zero(t, st.SpoolCorruptBytes)
			} else {
				require.Equal(t, uint64(1), st.SpoolCorrupt)
				require.Equal(t, uint64(corrupt), st.SpoolCorruptBytes, "corrupt bytes run to the last non-zero byte")
			}
			require.Empty(t, segments(t, dir))

			// A later run numbers on and its records come back too.
			crashAfterCalls(t, dir, mem, sp, "after", 3, 10)
			st = drain(t, dir, mem, sp)
			require.Zero(t, st.SpoolCorrupt)
			for c := range 3 {
				require.Contains(t, ids(t, mem), fmt.Sprintf("after%04d-000009", c))
			}
		})
	}
}

// A clean shutdown cuts the zeros off the segments it leaves.
func TestSpoolShutdownCutsTheZeros(t *testing.T) {
	dir := t.TempDir()
	fs := faultstore.New(memstore.New())
	fs.SetDown(true)
	sp := ingest.SpoolOptions{SegmentBytes: 1 << 20}
	in := newIngester(t, fs, spoolOpts(dir, sp))
	in.Start()
	enqueueCalls(t, in, "s", 20, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, in.Shutdown(ctx), context.DeadlineExceeded)
	segs := segments(t, dir)
	require.Len(t, segs, 1)
	fi, err := os.Stat(segs[0])
	require.NoError(t, err)
	require.Equal(t, recordsEnd(t, segs[0]), fi.Size())
	mem := memstore.New()
	st := drain(t, dir, mem, sp)
	require.Zero(t, st.SpoolCorrupt)
	require.Len(t, ids(t, mem), 200)
}

func writeAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

// lastNonZeroIn returns the offset just past the last non-zero byte of
// the file.
func lastNonZeroIn(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return int64(i) + 1
		}
	}
	return 0
}

func TestSpoolStartsPastCorruption(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage breaks the first segment (of records of 10 events each) and
		// returns how many of its records stay valid, and whether the
		// damage is counted as corrupt.
		damage func(t *testing.T, dir, first string) (valid int, counted bool)
	}{
		{"torn tail", func(t *testing.T, dir, first string) (int, bool) {
			offs := recordOffsets(t, first)
			fi, err := os.Stat(first)
			require.NoError(t, err)
			last := offs[len(offs)-1]
			require.NoError(t, os.Truncate(first, last+(fi.Size()-last)/2))
			return len(offs) - 1, true
		}},
		{"garbage in the middle", func(t *testing.T, dir, first string) (int, bool) {
			offs := recordOffsets(t, first)
			k := len(offs) / 2
			f, err := os.OpenFile(first, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte("garbage!"), offs[k]+40)
			require.NoError(t, err)
			return k, true
		}},
		{"truncated length header", func(t *testing.T, dir, first string) (int, bool) {
			offs := recordOffsets(t, first)
			fi, err := os.Stat(first)
			require.NoError(t, err)
			f, err := os.OpenFile(first, os.O_RDWR|os.O_APPEND, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.Write([]byte{0x10, 0x02, 0x00})
			require.NoError(t, err)
			_ = fi
			return len(offs), true
		}},
		{"length past the end", func(t *testing.T, dir, first string) (int, bool) {
			offs := recordOffsets(t, first)
			f, err := os.OpenFile(first, os.O_RDWR|os.O_APPEND, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.Write([]byte{0xff, 0xff, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
			require.NoError(t, err)
			return len(offs), true
		}},
		{"empty file", func(t *testing.T, dir, first string) (int, bool) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000000000100000.seg"), nil, 0o644))
			return len(recordOffsets(t, first)), false
		}},
		{"bad segment header", func(t *testing.T, dir, first string) (int, bool) {
			f, err := os.OpenFile(first, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte("XX"), 0)
			require.NoError(t, err)
			return 0, true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := ingest.SpoolOptions{SegmentBytes: 8 << 10}
			crashAfterCalls(t, dir, memstore.New(), sp, "c", 40, 10)
			segs := segments(t, dir)
			require.Greater(t, len(segs), 2)
			inFirst := len(recordOffsets(t, segs[0]))
			valid, counted := tc.damage(t, dir, segs[0])

			mem := memstore.New()
			st := drain(t, dir, mem, sp)
			got := ids(t, mem)
			require.Len(t, got, 400-(inFirst-valid)*10, "every valid record is replayed, in later segments too")
			for c := range valid {
				require.Contains(t, got, fmt.Sprintf("c%04d-000000", c))
			}
			if counted {
				require.Equal(t, uint64(1), st.SpoolCorrupt)
				require.Positive(t, st.SpoolCorruptBytes)
			} else {
				require.Zero(t, st.SpoolCorrupt)
			}
			require.Empty(t, segments(t, dir))

			// The writer went on in a fresh segment, which a later run reads.
			crashAfterCalls(t, dir, mem, sp, "after", 3, 10)
			drain(t, dir, mem, sp)
			for c := range 3 {
				require.Contains(t, ids(t, mem), fmt.Sprintf("after%04d-000009", c))
			}
		})
	}
}

func TestSpoolOptionsAreValidated(t *testing.T) {
	dir := t.TempDir()
	for _, sp := range []ingest.SpoolOptions{
		{Dir: dir, SegmentBytes: -1},
		{Dir: dir, MaxBytes: -1},
		{Dir: dir, Sync: ingest.SyncInterval, SyncEvery: -time.Second},
		{Dir: dir, SyncEvery: time.Second},
		{Dir: dir, Sync: ingest.SyncPolicy(7)},
		{Dir: dir, SegmentBytes: 1 << 20, MaxBytes: 1 << 19},
		{Dir: dir, SegmentBytes: 4},
		{MaxBytes: 1 << 20},
		{Sync: ingest.SyncInterval},
	} {
		_, err := ingest.New(memstore.New(), ingest.Options{Spool: sp})
		require.Error(t, err, "%+v", sp)
		require.True(t, strings.HasPrefix(err.Error(), "ingest: options:"), err.Error())
	}
	in, err := ingest.New(memstore.New(), ingest.Options{Spool: ingest.SpoolOptions{Dir: dir, MaxBytes: 1 << 20}})
	require.NoError(t, err, "SegmentBytes defaults to fit a small MaxBytes")
	shutdown(t, in)
}

func TestSpoolFailedFsyncRefusesTheCallAndWritingGoesOn(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.SetDown(true)
	in := newIngester(t, fs, spoolOpts(dir, ingest.SpoolOptions{}))
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("before", 10)...))
	in.FailFsyncs(1)
	err := in.Enqueue(context.Background(), events("failed", 10)...)
	require.ErrorContains(t, err, "fsync")
	require.NoError(t, in.Enqueue(context.Background(), events("after", 10)...))
	require.NoError(t, in.TryEnqueue(events("later", 10)...))
	require.Len(t, segments(t, dir), 2, "the segment whose fsync failed takes no more records")
	in.Crash()

	st := drain(t, dir, mem, ingest.SpoolOptions{})
	got := ids(t, mem)
	for _, prefix := range []string{"before", "after", "later"} {
		for i := range 10 {
			require.Contains(t, got, fmt.Sprintf("%s-%06d", prefix, i))
		}
	}
	require.Zero(t, st.SpoolCorrupt)
	require.Empty(t, segments(t, dir))
}

func TestSpoolSyncIntervalSyncsWithoutWaiting(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	in := newIngester(t, mem, spoolOpts(dir, ingest.SpoolOptions{Sync: ingest.SyncInterval, SyncEvery: time.Millisecond}))
	in.Start()
	require.NoError(t, in.Enqueue(context.Background(), events("i", 10)...))
	require.Eventually(t, func() bool { return in.Stats().SpoolSyncs > 0 }, 10*time.Second, time.Millisecond)
	shutdown(t, in)
	require.Len(t, ids(t, mem), 10)
}
