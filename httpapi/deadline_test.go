package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/internal/tcpproxy"
	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/pgstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// getHealth asks /health and returns the status and how long it took.
func getHealth(t *testing.T, base string) (int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/health", nil)
	require.NoError(t, err)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, time.Since(start)
}

func TestHealthAnswers503WithinItsTimeoutWhenPostgresStalls(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	p, err := tcpproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	s, err := pgstore.New(context.Background(), pgstore.Options{DSN: u.String(), Schema: pgtest.Schema(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	e := newEnv(t, envOptions{store: s})

	status, took := getHealth(t, e.url)
	require.Equal(t, http.StatusOK, status)

	p.Stall()
	status, took = getHealth(t, e.url)
	t.Logf("health, stalled: %d after %v", status, took)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Less(t, took, 5*time.Second)

	p.Pass()
	require.Eventually(t, func() bool {
		status, _ := getHealth(t, e.url)
		return status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "healthy again once the server answers")
}

// hangingStore is a store whose Ping ignores its context until released.
type hangingStore struct {
	store.Store
	release chan struct{}
}

func (s hangingStore) Ping(ctx context.Context) error {
	<-s.release
	return nil
}

func TestHealthAnswers503WithinItsTimeoutWhenThePingIgnoresItsContext(t *testing.T) {
	s := hangingStore{Store: memstore.New(), release: make(chan struct{})}
	defer close(s.release)
	e := newEnv(t, envOptions{store: s})
	status, took := getHealth(t, e.url)
	t.Logf("health, hanging ping: %d after %v", status, took)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Less(t, took, 5*time.Second)
}

// exportEvents returns n events of shop-a within the export's default range,
// each a few hundred bytes of NDJSON.
func exportEvents(n int, now time.Time) []tracking.Event {
	events := make([]tracking.Event, n)
	for i := range events {
		events[i] = tracking.Event{
			ID: fmt.Sprintf("exp-%06d", i), ShopID: "shop-a", Type: tracking.PageViewed,
			AnonymousID: fmt.Sprintf("anon-%04d", i%1000), SessionID: fmt.Sprintf("sess-%05d", i%5000),
			URL:       fmt.Sprintf("https://shop.example/products/%d?utm_source=newsletter&utm_campaign=spring", i),
			UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
			Referrer:  "https://www.google.com/", Currency: "USD",
			Timestamp: now.Add(-time.Duration(i) * time.Second).UTC().Truncate(time.Microsecond),
		}
	}
	return events
}

func TestExportReadersThatNeverReadCannotStarveWritesOrHealth(t *testing.T) {
	s, err := pgstore.New(context.Background(), pgstore.Options{
		DSN: testenv.PostgresURL(t), Schema: pgtest.Schema(t), // 10 connections, 5 for reads
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now()
	_, err = s.Append(context.Background(), exportEvents(30000, now)) // ~12 MB of NDJSON per export
	require.NoError(t, err)

	in, err := ingest.New(s, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = in.Shutdown(ctx)
	})
	h, err := httpapi.New(httpapi.Config{Store: s, Ingester: in, Shops: shops, AdminKey: adminKey,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	const writeTimeout = 4 * time.Second // longer than the bounds below
	httpapi.SetExportWriteTimeout(h, writeTimeout)
	var started, running atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/export" {
			started.Add(1)
			running.Add(1)
			defer running.Add(-1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	// Ten clients, as many as the pool has connections, send an export
	// request and never read the answer.
	const readers = 10
	conns := make([]net.Conn, readers)
	for i := range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = io.WriteString(c, "GET /api/export?format=ndjson HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer rk_a\r\n\r\n")
		require.NoError(t, err)
		conns[i] = c
	}
	require.Eventually(t, func() bool { return started.Load() == readers }, 10*time.Second, 10*time.Millisecond)

	// Meanwhile the store takes writes and /health says ok, while exports
	// still hold their connections.
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		_, err := s.Append(ctx, exportEvents(1, now.Add(time.Hour)))
		cancel()
		require.NoError(t, err)
		t.Logf("append during stuck exports: %v (%d exports running)", time.Since(start), running.Load())
		status, took := getHealth(t, srv.URL)
		require.Equal(t, http.StatusOK, status)
		require.Less(t, took, 2*time.Second)
		t.Logf("health during stuck exports: %v", took)
		time.Sleep(200 * time.Millisecond)
	}
	require.Positive(t, running.Load(), "the checks ran while exports were stuck")

	// The write deadline cuts every reader, half of them at a time as the
	// read share frees up.
	start := time.Now()
	require.Eventually(t, func() bool { return running.Load() == 0 }, 60*time.Second, 20*time.Millisecond)
	t.Logf("all %d stuck exports cut %v later", readers, time.Since(start))

	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { // assert, not require: this is not the test's goroutine
			if !assert.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second))) {
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if !assert.NoError(t, err, "reader %d", i) || !assert.Equal(t, http.StatusOK, resp.StatusCode) {
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			if assert.Error(t, err, "reader %d: the export was cut, not completed", i) {
				assert.False(t, strings.Contains(err.Error(), "timeout"), "reader %d: the server ended it: %v", i, err)
			}
		})
	}
	wg.Wait()

	// Reads work again: a client that reads gets the whole export.
	req, err := http.NewRequest("GET", srv.URL+"/api/export?format=ndjson", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer rk_a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 30000, lines)
}
