package pgstore

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/tcpproxy"
	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
)

// The tests below put a proxy between the Store and PostgreSQL and make it
// stall or go down. Their bounds are generous: the point is that a call
// returns when its context says, not after TCP gives up minutes later.

// proxy returns a proxy to the test server and the test URL pointed at it.
func proxy(t *testing.T) (*tcpproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	p, err := tcpproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	return p, u.String()
}

// proxiedStore opens a Store on a fresh schema through a proxy.
func proxiedStore(t *testing.T, opts Options) (*Store, *tcpproxy.Proxy) {
	t.Helper()
	p, dsn := proxy(t)
	opts.DSN, opts.Schema = dsn, newSchema(t)
	s, err := New(testCtx(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, p
}

// within runs fn with a context that ends after d and returns fn's error
// and how long fn took.
func within(d time.Duration, fn func(ctx context.Context) error) (error, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	return err, time.Since(start)
}

// countAll reads every event of every shop genEvents makes and counts each id.
func countAll(t *testing.T, s *Store) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, shop := range []string{"shop-a", "shop-b", "shop-c"} {
		for e, err := range s.Events(testCtx(t), store.Filter{ShopID: shop}) {
			require.NoError(t, err)
			seen[e.ID]++
		}
	}
	return seen
}

func readOne(ctx context.Context, s *Store) error {
	for _, err := range s.Events(ctx, store.Filter{ShopID: "shop-a", Limit: 1}) {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestStalledServerCallsReturnWhenTheirContextEnds(t *testing.T) {
	s, p := proxiedStore(t, Options{})
	before := genEvents(11, "before", 200)
	_, err := s.Append(testCtx(t), before)
	require.NoError(t, err)

	p.Stall()

	err, took := within(time.Second, s.Ping)
	t.Logf("ping: %v after %v", err, took)
	require.ErrorIs(t, err, store.ErrUnavailable, "a server that does not answer in time is unavailable")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, took, 5*time.Second)

	during := genEvents(11, "during", 200)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err = s.Append(ctx, during)
	took = time.Since(start)
	t.Logf("append, cancelled: %v after %v", err, took)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, took, 5*time.Second)

	err, took = within(time.Second, func(ctx context.Context) error {
		_, err := s.Append(ctx, during)
		return err
	})
	t.Logf("append, deadline: %v after %v", err, took)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.True(t, store.Retryable(err), "the ingester retries it")
	require.Less(t, took, 5*time.Second)

	err, took = within(time.Second, func(ctx context.Context) error { return readOne(ctx, s) })
	t.Logf("events: %v after %v", err, took)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Less(t, took, 5*time.Second)

	err, took = within(time.Second, func(ctx context.Context) error {
		_, err := s.CountByType(ctx, store.Filter{ShopID: "shop-a"})
		return err
	})
	t.Logf("count by type: %v after %v", err, took)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Less(t, took, 5*time.Second)

	p.Pass()
	require.NoError(t, s.Ping(testCtx(t)))
	res, err := s.Append(testCtx(t), during)
	require.NoError(t, err)
	require.Equal(t, len(during), res.Inserted+res.Duplicates)
	seen := countAll(t, s)
	require.Len(t, seen, len(before)+len(during), "nothing appended before or during the stall is lost")
	for id, n := range seen {
		require.Equal(t, 1, n, "event %s stored once", id)
	}
}

func TestStalledServerDoesNotHoldNewConnections(t *testing.T) {
	p, dsn := proxy(t)
	schema := newSchema(t)
	p.Stall()

	err, took := within(time.Second, func(ctx context.Context) error {
		_, err := New(ctx, Options{DSN: dsn, Schema: schema})
		return err
	})
	t.Logf("new, 1s context: %v after %v", err, took)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Less(t, took, 4*time.Second, "the context ends the handshake before connect_timeout")

	start := time.Now()
	_, err = New(context.Background(), Options{DSN: dsn, Schema: schema, ConnectTimeout: time.Second})
	took = time.Since(start)
	t.Logf("new, ConnectTimeout 1s: %v after %v", err, took)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Less(t, took, 4*time.Second, "ConnectTimeout bounds a handshake nobody answers")

	start = time.Now()
	_, err = New(context.Background(), Options{DSN: dsn + "&connect_timeout=1", Schema: schema})
	took = time.Since(start)
	t.Logf("new, connect_timeout=1: %v after %v", err, took)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Less(t, took, 4*time.Second, "the DSN's connect_timeout is honoured")
}

func TestServerDownIsUnavailableAtOnce(t *testing.T) {
	s, p := proxiedStore(t, Options{})
	before := genEvents(12, "before", 100)
	_, err := s.Append(testCtx(t), before)
	require.NoError(t, err)

	p.Down()
	calls := map[string]func(ctx context.Context) error{
		"ping": s.Ping,
		"append": func(ctx context.Context) error {
			_, err := s.Append(ctx, genEvents(12, "down", 10))
			return err
		},
		"events": func(ctx context.Context) error { return readOne(ctx, s) },
		"count by type": func(ctx context.Context) error {
			_, err := s.CountByType(ctx, store.Filter{ShopID: "shop-a"})
			return err
		},
	}
	for name, call := range calls {
		err, took := within(30*time.Second, call)
		t.Logf("%s: %v after %v", name, err, took)
		require.ErrorIs(t, err, store.ErrUnavailable, name)
		require.NotErrorIs(t, err, context.DeadlineExceeded, name)
		require.Less(t, took, 5*time.Second, name)
	}

	p.Pass()
	require.NoError(t, s.Ping(testCtx(t)))
	_, err = s.Append(testCtx(t), genEvents(12, "after", 10))
	require.NoError(t, err)
	require.Len(t, countAll(t, s), len(before)+10)
}

func TestReadersCannotStarveWritersOrPing(t *testing.T) {
	s, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: newSchema(t), MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Append(testCtx(t), genEvents(13, "r", 2000))
	require.NoError(t, err)

	// Readers that take one event and then stop reading, as an export to a
	// client that stopped reading does, more of them than the pool.
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range s.Events(testCtx(t), store.Filter{ShopID: "shop-a"}) {
				<-release
				return
			}
		})
	}
	defer wg.Wait()
	defer close(release)
	require.Eventually(t, func() bool { return len(s.reads) == cap(s.reads) }, 10*time.Second, 10*time.Millisecond,
		"the readers hold every share of the pool reads may take")
	require.Equal(t, 2, cap(s.reads), "reads get half of 4 connections by default")

	err, took := within(5*time.Second, func(ctx context.Context) error {
		_, err := s.Append(ctx, genEvents(13, "w", 100))
		return err
	})
	require.NoError(t, err, "append while readers hold their share")
	t.Logf("append with stuck readers: %v", took)
	err, took = within(2*time.Second, s.Ping)
	require.NoError(t, err, "ping while readers hold their share")
	t.Logf("ping with stuck readers: %v", took)

	err, _ = within(300*time.Millisecond, func(ctx context.Context) error { return readOne(ctx, s) })
	require.ErrorIs(t, err, store.ErrUnavailable, "one more read waits for a share, until its deadline")
}

// A context that ends while its rows are being closed must not reach the
// connection once another caller has it.
func TestAContextEndingAsItsReadEndsSparesTheNextCaller(t *testing.T) {
	s, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: newSchema(t), MaxConns: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Append(testCtx(t), genEvents(14, "c", 300))
	require.NoError(t, err)
	for i := range 100 {
		ctx, cancel := context.WithCancel(context.Background())
		for range s.Events(ctx, store.Filter{ShopID: "shop-a"}) {
			cancel() // as an export that fails mid-stream does, before the rows close
			break
		}
		cancel()
		n := 0
		for _, err := range s.Events(context.Background(), store.Filter{ShopID: "shop-a", Limit: 5}) {
			require.NoError(t, err, "round %d", i)
			n++
		}
		require.Equal(t, 5, n)
	}
}
