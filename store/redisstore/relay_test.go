package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/faultstore"
	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/redisstore"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

// relayTargets are the destinations every relay test runs against; each
// opens a fresh, empty store. A SQL store joins the list by adding a line.
var relayTargets = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"memory", func(t *testing.T) store.Store {
		s := memstore.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) store.Store { return pgtest.Open(t) }},
}

func forEachTarget(t *testing.T, fn func(t *testing.T, openTarget func(t *testing.T) store.Store)) {
	for _, tc := range relayTargets {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fn(t, tc.open)
		})
	}
}

// waitTimeout bounds every wait for the relay; it is a safety net against a
// hung test, not a performance assertion.
const waitTimeout = 60 * time.Second

var relayBase = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// someEvents returns n events spread over shops, timestamps out of order.
func someEvents(n, shops int, tag string) []tracking.Event {
	events := make([]tracking.Event, n)
	for i := range events {
		e := ev(fmt.Sprintf("shop-%d", i%shops), fmt.Sprintf("%s-%05d", tag, i), relayBase.Add(time.Duration((i*7919)%n)*time.Millisecond))
		e.UserID = fmt.Sprintf("u%d", i%13)
		events[i] = e
	}
	return events
}

func appendAll(t *testing.T, s store.Store, events []tracking.Event, batch int) {
	t.Helper()
	for i := 0; i < len(events); i += batch {
		_, err := s.Append(context.Background(), events[i:min(i+batch, len(events))])
		require.NoError(t, err)
	}
}

// stored returns how many times each id (per shop) is in dst.
func stored(t *testing.T, dst store.Store, shops int) map[store.Key]int {
	t.Helper()
	got := map[store.Key]int{}
	for i := range shops {
		for _, e := range storetest.All(t, dst, store.Filter{ShopID: fmt.Sprintf("shop-%d", i)}) {
			got[store.KeyOf(&e)]++
		}
	}
	return got
}

// requireExactlyOnce checks dst holds every event once and nothing else.
func requireExactlyOnce(t *testing.T, dst store.Store, events []tracking.Event, shops int) {
	t.Helper()
	got := stored(t, dst, shops)
	require.Len(t, got, len(events))
	for _, e := range events {
		require.Equal(t, 1, got[store.KeyOf(&e)], "event %s", e.ID)
	}
}

func waitStored(t *testing.T, dst store.Store, n, shops int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(stored(t, dst, shops)) == n }, waitTimeout, 10*time.Millisecond)
}

// pending returns the group's delivered-but-unacknowledged entries over the
// shops' streams.
func pending(t *testing.T, c *redis.Client, prefix, group string, shops int) int64 {
	t.Helper()
	var n int64
	for i := range shops {
		p, err := c.XPending(context.Background(), fmt.Sprintf("{%s}:s:shop-%d", prefix, i), group).Result()
		if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
			continue // the relay has not created the group yet
		}
		require.NoError(t, err)
		n += p.Count
	}
	return n
}

// runRelay starts r and returns a stop function that cancels it and waits
// for Run to return, failing the test if it returned an error.
func runRelay(t *testing.T, r *redisstore.Relay) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// fast are relay options that keep tests short.
func fast(group, consumer string) redisstore.RelayOptions {
	return redisstore.RelayOptions{
		Group: group, Consumer: consumer, BatchSize: 100,
		Block: 20 * time.Millisecond, Refresh: 20 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
	}
}

func TestRelayDeliversEverythingOnce(t *testing.T) {
	forEachTarget(t, func(t *testing.T, openTarget func(*testing.T) store.Store) {
		c := newClient(t)
		prefix := newPrefix(t, c)
		src := newStore(t, c, prefix)
		dst := openTarget(t)
		const shops = 3
		before, after := someEvents(900, shops, "before"), someEvents(600, shops, "after")
		appendAll(t, src, before, 250)

		r, err := redisstore.NewRelay(src, dst, fast("g", "c1"))
		require.NoError(t, err)
		stop := runRelay(t, r)
		appendAll(t, src, after, 50) // streams grow while the relay runs
		all := append(before, after...)
		waitStored(t, dst, len(all), shops)
		stop()

		requireExactlyOnce(t, dst, all, shops)
		st := r.Stats()
		require.Equal(t, int64(len(all)), st.Relayed)
		require.Zero(t, st.Duplicates)
		require.Equal(t, shops, st.Streams)
		require.Zero(t, pending(t, c, prefix, "g", shops))
		// Relayed events read back in the destination's order.
		got := storetest.All(t, dst, store.Filter{ShopID: "shop-1"})
		require.IsNonDecreasing(t, timestamps(got))
	})
}

func timestamps(events []tracking.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Timestamp.UnixMicro()
	}
	return out
}

// blockingStore blocks every Append until its context is done, then fails:
// a relay stuck in a hung destination, killed before it could ack.
type blockingStore struct {
	store.Store
	entered chan struct{}
	once    sync.Once
}

func (b *blockingStore) Append(ctx context.Context, _ []tracking.Event) (store.AppendResult, error) {
	b.once.Do(func() { close(b.entered) })
	<-ctx.Done()
	return store.AppendResult{}, ctx.Err()
}

func TestRelayKilledMidBatchIsTakenOver(t *testing.T) {
	forEachTarget(t, func(t *testing.T, openTarget func(*testing.T) store.Store) {
		c := newClient(t)
		prefix := newPrefix(t, c)
		src := newStore(t, c, prefix)
		dst := openTarget(t)
		const shops = 2
		events := someEvents(500, shops, "k")
		appendAll(t, src, events, 500)

		hung := &blockingStore{Store: dst, entered: make(chan struct{})}
		o := fast("g", "doomed")
		o.StopTimeout = time.Millisecond // stop abandons the batch in hand
		first, err := redisstore.NewRelay(src, hung, o)
		require.NoError(t, err)
		stopFirst := runRelay(t, first)
		<-hung.entered
		stopFirst()
		held := pending(t, c, prefix, "g", shops)
		require.Positive(t, held, "the killed relay's batch stays pending, unacknowledged")
		require.Zero(t, first.Stats().Relayed)

		o = fast("g", "heir")
		o.ClaimIdle = 50 * time.Millisecond
		second, err := redisstore.NewRelay(src, dst, o)
		require.NoError(t, err)
		stop := runRelay(t, second)
		waitStored(t, dst, len(events), shops)
		require.Eventually(t, func() bool { return pending(t, c, prefix, "g", shops) == 0 }, waitTimeout, 10*time.Millisecond)
		stop()
		requireExactlyOnce(t, dst, events, shops)
		require.Equal(t, int64(len(events)), second.Stats().Relayed)
	})
}

// gatedStore fails every Append with store.ErrUnavailable while down.
type gatedStore struct {
	store.Store
	down  atomic.Bool
	calls atomic.Int64
}

func (g *gatedStore) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	g.calls.Add(1)
	if g.down.Load() {
		return store.AppendResult{}, fmt.Errorf("target: %w", store.ErrUnavailable)
	}
	return g.Store.Append(ctx, events)
}

func TestRelayKeepsEntriesPendingWhileTargetFails(t *testing.T) {
	forEachTarget(t, func(t *testing.T, openTarget func(*testing.T) store.Store) {
		c := newClient(t)
		prefix := newPrefix(t, c)
		src := newStore(t, c, prefix)
		dst := openTarget(t)
		target := &gatedStore{Store: dst}
		target.down.Store(true)
		const shops = 2
		events := someEvents(300, shops, "f")
		appendAll(t, src, events, 300)

		r, err := redisstore.NewRelay(src, target, fast("g", "c1"))
		require.NoError(t, err)
		stop := runRelay(t, r)
		require.Eventually(t, func() bool { return target.calls.Load() >= 5 }, waitTimeout, time.Millisecond)
		require.Positive(t, pending(t, c, prefix, "g", shops), "failed batches are not acknowledged")
		require.Eventually(t, func() bool { return r.Stats().Pending > 0 }, waitTimeout, time.Millisecond)
		require.Empty(t, stored(t, dst, shops))
		require.GreaterOrEqual(t, r.Stats().Errors, int64(4))

		target.down.Store(false)
		waitStored(t, dst, len(events), shops)
		require.Eventually(t, func() bool { return pending(t, c, prefix, "g", shops) == 0 }, waitTimeout, 10*time.Millisecond)
		stop()
		requireExactlyOnce(t, dst, events, shops)
		require.Equal(t, int64(len(events)), r.Stats().Relayed)
	})
}

func TestRelayStopFinishesInFlightBatch(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	src := newStore(t, c, prefix)
	dst := memstore.New()
	slow := &slowStore{Store: dst, entered: make(chan struct{}), release: make(chan struct{})}
	events := someEvents(50, 1, "s")
	appendAll(t, src, events, 50)

	r, err := redisstore.NewRelay(src, slow, fast("g", "c1"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-slow.entered
	cancel() // stop while the batch is in the destination
	close(slow.release)
	require.NoError(t, <-done)
	require.Equal(t, 50, dst.Len())
	require.Zero(t, pending(t, c, prefix, "g", 1), "the finished batch was acknowledged")
}

// slowStore holds the first Append until released, ignoring cancellation.
type slowStore struct {
	store.Store
	entered, release chan struct{}
	once             sync.Once
}

func (s *slowStore) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	s.once.Do(func() { close(s.entered); <-s.release })
	if err := ctx.Err(); err != nil {
		return store.AppendResult{}, err
	}
	return s.Store.Append(ctx, events)
}

func TestTwoStoresAppendingSameIDsStoreEachOnce(t *testing.T) {
	c1, c2 := newClient(t), newClient(t)
	prefix := newPrefix(t, c1)
	stores := []*redisstore.Store{newStore(t, c1, prefix), newStore(t, c2, prefix)}
	events := someEvents(2000, 3, "same")

	var inserted, duplicates atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for i := 0; i < len(events); i += 100 {
				res, err := s.Append(context.Background(), events[i:i+100])
				if err != nil {
					t.Error(err)
					return
				}
				inserted.Add(int64(res.Inserted))
				duplicates.Add(int64(res.Duplicates))
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(len(events)), inserted.Load(), "each id inserted once")
	require.Equal(t, int64(3*len(events)), duplicates.Load())
	var inStreams int
	for i := range 3 {
		inStreams += streamEvents(t, c1, prefix, fmt.Sprintf("shop-%d", i))
	}
	require.Equal(t, len(events), inStreams, "each id in the streams once")
	requireExactlyOnce(t, stores[1], events, 3)
}

func TestRelayOptionsAreValidated(t *testing.T) {
	c := newClient(t)
	src := newStore(t, c, newPrefix(t, c))
	cases := []struct {
		name string
		opts redisstore.RelayOptions
	}{
		{"negative batch", redisstore.RelayOptions{BatchSize: -1}},
		{"negative block", redisstore.RelayOptions{Block: -time.Second}},
		{"negative claim idle", redisstore.RelayOptions{ClaimIdle: -time.Second}},
		{"sub-millisecond block", redisstore.RelayOptions{Block: time.Microsecond}},
		{"backoff bounds reversed", redisstore.RelayOptions{MinBackoff: time.Second, MaxBackoff: time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redisstore.NewRelay(src, memstore.New(), tc.opts)
			require.Error(t, err)
		})
	}
	_, err := redisstore.NewRelay(nil, memstore.New(), redisstore.RelayOptions{})
	require.Error(t, err)
}

func TestRelayRunsOnce(t *testing.T) {
	c := newClient(t)
	src := newStore(t, c, newPrefix(t, c))
	r, err := redisstore.NewRelay(src, memstore.New(), fast("g", "c"))
	require.NoError(t, err)
	runRelay(t, r)
	require.Eventually(t, func() bool { return !r.Stats().PendingAt.IsZero() }, waitTimeout, time.Millisecond)
	require.Error(t, r.Run(context.Background()), "a second Run of the same relay is refused")
}

func TestRelayIsolatesAnEventTheTargetRefuses(t *testing.T) {
	forEachTarget(t, func(t *testing.T, openTarget func(*testing.T) store.Store) {
		c := newClient(t)
		prefix := newPrefix(t, c)
		src := newStore(t, c, prefix)
		dst := openTarget(t)
		target := faultstore.New(dst)
		events := someEvents(100, 1, "p")
		bad := events[37].ID
		target.Reject(func(e *tracking.Event) bool { return e.ID == bad })
		appendAll(t, src, events, 100)

		r, err := redisstore.NewRelay(src, target, fast("g", "c1"))
		require.NoError(t, err)
		stop := runRelay(t, r)
		waitStored(t, dst, 99, 1)
		require.Eventually(t, func() bool { return pending(t, c, prefix, "g", 1) == 0 }, waitTimeout, 10*time.Millisecond,
			"the refused event does not keep its batch pending")
		stop()
		got := stored(t, dst, 1)
		require.Len(t, got, 99)
		for k, n := range got {
			require.Equal(t, 1, n, k)
			require.NotEqual(t, bad, k.ID)
		}
		st := r.Stats()
		require.Equal(t, int64(1), st.Rejected)
		require.Equal(t, int64(1), st.DeadLetters)
		require.Equal(t, int64(99), st.Relayed)

		dead, err := src.DeadLetters(context.Background(), "", 10)
		require.NoError(t, err)
		require.Len(t, dead, 1, "the refused event is kept, not lost")
		d := dead[0]
		require.Equal(t, "g", d.Group)
		require.Equal(t, "{"+prefix+"}:s:shop-0", d.Stream)
		require.NotEmpty(t, d.Entry)
		require.Contains(t, d.Reason, "invalid")
		e, err := tracking.DecodeStored([]byte(d.Event))
		require.NoError(t, err)
		require.Equal(t, bad, e.ID)
		require.Equal(t, events[37].Timestamp, e.Timestamp)

		require.NoError(t, src.DeleteDeadLetters(context.Background(), d.ID))
		dead, err = src.DeadLetters(context.Background(), "", 10)
		require.NoError(t, err)
		require.Empty(t, dead)
	})
}

func TestRelayMovesAnUndecodableEventToDeadLetters(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	src := newStore(t, c, prefix)
	dst := memstore.New()
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	good1, good2 := ev("shop", "g1", at), ev("shop", "g2", at)
	// An entry as no Append writes it: a corrupt event between two good ones.
	data := string(good1.AppendJSON(nil)) + "\x00{not json\x00" + string(good2.AppendJSON(nil))
	stream := "{" + prefix + "}:s:shop"
	entry, err := c.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"k", "", "e", data}}).Result()
	require.NoError(t, err)
	require.NoError(t, c.SAdd(ctx, "{"+prefix+"}:shops", "shop").Err())

	r, err := redisstore.NewRelay(src, dst, fast("g", "c1"))
	require.NoError(t, err)
	stop := runRelay(t, r)
	require.Eventually(t, func() bool { return r.Stats().DeadLetters == 1 }, waitTimeout, 10*time.Millisecond)
	stop()
	require.Zero(t, r.Stats().Rejected, "the destination refused nothing")
	require.Equal(t, 2, dst.Len(), "the good events of the entry are stored")
	p, err := c.XPending(ctx, stream, "g").Result()
	require.NoError(t, err)
	require.Zero(t, p.Count, "the entry is acknowledged")
	dead, err := src.DeadLetters(ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, "{not json", dead[0].Event)
	require.Equal(t, entry, dead[0].Entry)
	require.Contains(t, dead[0].Reason, "does not decode")

	more, err := src.DeadLetters(ctx, dead[0].ID, 10)
	require.NoError(t, err)
	require.Empty(t, more, "paging goes past the last one")
	_, err = src.DeadLetters(ctx, "", 0)
	require.Error(t, err)
}

// largestBatch records the largest Append it passed on.
type largestBatch struct {
	store.Store
	max atomic.Int64
}

func (l *largestBatch) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	for {
		m := l.max.Load()
		if int64(len(events)) <= m || l.max.CompareAndSwap(m, int64(len(events))) {
			break
		}
	}
	return l.Store.Append(ctx, events)
}

func TestRelayHandsOverAtMostBatchSizeEvents(t *testing.T) {
	// After many one-event entries the relay reads many entries at once; a
	// backlog of full chunks then must still reach the destination in
	// batches of BatchSize, not all at once.
	c := newClient(t)
	src := newStore(t, c, newPrefix(t, c))
	dst := &largestBatch{Store: memstore.New()}
	opts := fast("g", "c1")
	opts.BatchSize = 100
	r, err := redisstore.NewRelay(src, dst, opts)
	require.NoError(t, err)
	stop := runRelay(t, r)
	defer stop()
	singles := someEvents(200, 1, "one")
	for i := range singles {
		appendAll(t, src, singles[i:i+1], 1)
	}
	require.Eventually(t, func() bool { return r.Stats().Relayed == 200 }, waitTimeout, 10*time.Millisecond)
	backlog := someEvents(10_000, 1, "many")
	appendAll(t, src, backlog, 10_000)
	require.Eventually(t, func() bool { return r.Stats().Relayed == 10_200 }, waitTimeout, 10*time.Millisecond)
	require.LessOrEqual(t, dst.max.Load(), int64(100))
}

func TestRelayEndsWhenTheDestinationIsClosed(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	src := newStore(t, c, prefix)
	const shops = 2
	events := someEvents(2000, shops, "x")
	appendAll(t, src, events, 50)
	entries := int64(0)
	for i := range shops {
		n, err := c.XLen(context.Background(), fmt.Sprintf("{%s}:s:shop-%d", prefix, i)).Result()
		require.NoError(t, err)
		entries += n
	}

	closed := memstore.New()
	require.NoError(t, closed.Close())
	dst := faultstore.New(closed)
	r, err := redisstore.NewRelay(src, dst, fast("g", "c1"))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	select {
	case err = <-done:
	case <-time.After(waitTimeout):
		t.Fatal("Run goes on with a closed destination")
	}
	require.ErrorIs(t, err, store.ErrClosed)

	appends, _ := dst.Counts()
	require.Equal(t, 1, appends, "a closed destination is not tried again")
	held := pending(t, c, prefix, "g", shops)
	require.Positive(t, held, "the batch in hand stays pending")
	require.Less(t, held, entries, "the relay stopped reading")
	dead, err := src.DeadLetters(context.Background(), "", 10)
	require.NoError(t, err)
	require.Empty(t, dead, "nothing is dead-lettered")
	st := r.Stats()
	require.Zero(t, st.Relayed)
	require.Zero(t, st.Rejected)
	require.Zero(t, st.DeadLetters)
}

// attempts records when each Append reached it.
type attempts struct {
	store.Store
	mu    sync.Mutex
	times []time.Time
}

func (a *attempts) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.mu.Unlock()
	return a.Store.Append(ctx, events)
}

// within counts the attempts made less than d after the first.
func (a *attempts) within(d time.Duration) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, at := range a.times {
		if at.Sub(a.times[0]) < d {
			n++
		}
	}
	return n
}

func TestRelayBacksOffWhileTheDestinationFailsRetryably(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	src := newStore(t, c, prefix)
	dst := memstore.New()
	const failures = 6
	faults := faultstore.New(dst)
	faults.FailNext(failures, fmt.Errorf("target: %w", store.ErrUnavailable))
	target := &attempts{Store: faults}
	events := someEvents(50, 1, "b")
	appendAll(t, src, events, 50)

	o := fast("g", "c1")
	o.MinBackoff, o.MaxBackoff = 50*time.Millisecond, time.Second
	r, err := redisstore.NewRelay(src, target, o)
	require.NoError(t, err)
	stop := runRelay(t, r)
	waitStored(t, dst, len(events), 1)
	stop()

	// Waits of at least 25, 50, 100 and 200 ms (half of 50, 100, 200,
	// 400) leave room for at most five attempts in the first 500 ms; a
	// fixed wait of 50 ms would make ten, a loop without one thousands.
	require.LessOrEqual(t, target.within(500*time.Millisecond), 5)
	appends, failed := faults.Counts()
	require.Equal(t, failures, failed)
	require.Equal(t, failures+1, appends, "retried until stored, then no more")
	require.Equal(t, int64(failures), r.Stats().Errors)
	require.Equal(t, int64(len(events)), r.Stats().Relayed)
	requireExactlyOnce(t, dst, events, 1)
}
