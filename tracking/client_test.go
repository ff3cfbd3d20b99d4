package tracking_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

var quiet = slog.New(slog.DiscardHandler)

// server is the real handler over a real store, behind a middleware
// that can fail requests the way networks and overloaded servers do.
type server struct {
	t     *testing.T
	url   string
	store store.Store
	in    *ingest.Ingester
	// requests counts the requests that reached the middleware;
	// gzipped those that came compressed.
	requests, gzipped atomic.Int64
	// fault, when set, may answer a request itself (return true).
	mu    sync.Mutex
	fault func(n int64, w http.ResponseWriter, r *http.Request, next http.Handler) bool
}

func newServer(t *testing.T, cfg func(*httpapi.Config)) *server {
	t.Helper()
	st, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "client.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	in, err := ingest.New(st, ingest.Options{Logger: quiet})
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	c := httpapi.Config{Store: st, Ingester: in, Logger: quiet,
		Shops: []httpapi.Shop{{ID: "shop-a", WriteKey: "wk_a", ReadKey: "rk_a"}}}
	if cfg != nil {
		cfg(&c)
	}
	h, err := httpapi.New(c)
	require.NoError(t, err)
	s := &server{t: t, store: st, in: in}
	mux := http.NewServeMux()
	mux.Handle("/analytics/", http.StripPrefix("/analytics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		if r.Header.Get("Content-Encoding") == "gzip" {
			s.gzipped.Add(1)
		}
		s.mu.Lock()
		fault := s.fault
		s.mu.Unlock()
		if fault != nil && fault(n, w, r, h) {
			return
		}
		h.ServeHTTP(w, r)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/analytics"
	return s
}

func (s *server) setFault(f func(n int64, w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// storedIDs flushes the ingester and returns the ids stored, sorted.
func storedIDs(t *testing.T, s store.Store, in *ingest.Ingester) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, in.Flush(ctx))
	var ids []string
	for e, err := range s.Events(ctx, store.Filter{ShopID: "shop-a"}) {
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	return ids
}

func purchase(i int) tracking.Event {
	return tracking.Event{ID: fmt.Sprintf("ord-%04d", i), Type: tracking.PurchaseCompleted, UserID: fmt.Sprintf("cust-%d", i%7),
		OrderID: fmt.Sprintf("%d", 1000+i), Revenue: tracking.Money{Minor: int64(1999 + i), Currency: "EUR"}, Currency: "EUR"}
}

func wantIDs(n int) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("ord-%04d", i)
	}
	sort.Strings(ids)
	return ids
}

func fastClient(t *testing.T, o tracking.ClientOptions) *tracking.Client {
	t.Helper()
	o.MinBackoff, o.MaxBackoff, o.Logger = time.Millisecond, 5*time.Millisecond, quiet
	c, err := tracking.NewClient(o)
	require.NoError(t, err)
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientSendsGzippedBatchesToTheHandler(t *testing.T) {
	s := newServer(t, nil)
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a", BatchSize: 50})
	for i := range 230 {
		require.NoError(t, c.Track(ctxT(t), purchase(i)))
	}
	require.NoError(t, c.Close(ctxT(t)))
	require.Equal(t, wantIDs(230), storedIDs(t, s.store, s.in))
	require.EqualValues(t, 5, s.requests.Load(), "four full batches of 50 and the rest")
	require.Equal(t, s.requests.Load(), s.gzipped.Load())
	st := c.Stats()
	require.EqualValues(t, 230, st.Tracked)
	require.EqualValues(t, 230, st.Sent)
	require.Zero(t, st.Buffered)

	var got tracking.Event
	for e, err := range s.store.Events(ctxT(t), store.Filter{ShopID: "shop-a", UserID: "cust-0"}) {
		require.NoError(t, err)
		if e.ID == "ord-0000" {
			got = e
		}
	}
	require.Equal(t, "EUR", got.Currency)
	require.Equal(t, "19.99", got.Revenue.String(), "money arrives exact")
}

func TestClientRetriesUntilTheServerRecoversAndStoresEachEventOnce(t *testing.T) {
	s := newServer(t, nil)
	s.setFault(func(n int64, w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		switch {
		case n <= 3:
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":"overloaded"}`, http.StatusServiceUnavailable)
			return true
		case n == 4:
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		case n == 5:
			// The server takes the batch but the answer is lost: the
			// client cannot know, and sends it again.
			next.ServeHTTP(httptest.NewRecorder(), r)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return true
		}
		return false
	})
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a", BatchSize: 40})
	for i := range 100 {
		require.NoError(t, c.Track(ctxT(t), purchase(i)))
	}
	require.NoError(t, c.Flush(ctxT(t)))
	require.NoError(t, c.Close(ctxT(t)))
	require.Equal(t, wantIDs(100), storedIDs(t, s.store, s.in), "every event once, the resent batch included")
	st := c.Stats()
	require.EqualValues(t, 100, st.Sent)
	require.GreaterOrEqual(t, st.Retries, uint64(5))
	require.Zero(t, st.Dropped)
}

func TestClientDoesNotRetryARefusal(t *testing.T) {
	s := newServer(t, nil)
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_wrong"})
	for i := range 3 {
		require.NoError(t, c.Track(ctxT(t), purchase(i)))
	}
	err := c.Flush(ctxT(t))
	require.ErrorContains(t, err, "3 events were not stored")
	require.ErrorContains(t, err, "401")
	require.EqualValues(t, 1, s.requests.Load(), "a 401 is not retried")
	require.EqualValues(t, 3, c.Stats().Dropped)
	require.NoError(t, c.Close(ctxT(t)))
	require.Empty(t, storedIDs(t, s.store, s.in))
}

func TestClientCountsEventsTheServerRejects(t *testing.T) {
	s := newServer(t, nil)
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a"})
	require.NoError(t, c.Track(ctxT(t), purchase(0)))
	// Valid on the client, refused by the server: another shop's event
	// sent with this shop's key.
	other := purchase(1)
	other.ShopID = "shop-b"
	require.NoError(t, c.Track(ctxT(t), other))
	err := c.Close(ctxT(t))
	require.ErrorContains(t, err, "1 events were not stored")
	require.EqualValues(t, 1, c.Stats().Rejected)
	require.EqualValues(t, 1, c.Stats().Sent)
	require.Equal(t, []string{"ord-0000"}, storedIDs(t, s.store, s.in))
}

func TestClientSplitsABatchTheServerFindsTooLarge(t *testing.T) {
	s := newServer(t, func(c *httpapi.Config) { c.MaxBodyBytes = 4 << 10 })
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a", BatchSize: 100})
	for i := range 100 {
		require.NoError(t, c.Track(ctxT(t), purchase(i)))
	}
	require.NoError(t, c.Close(ctxT(t)))
	require.Equal(t, wantIDs(100), storedIDs(t, s.store, s.in))
	require.Greater(t, s.requests.Load(), int64(2))
}

func TestClientIntoAnIngester(t *testing.T) {
	s := newServer(t, nil)
	c := fastClient(t, tracking.ClientOptions{Sink: s.in, ShopID: "shop-a", BatchSize: 64})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < 500; i += 4 {
				if err := c.Track(context.Background(), purchase(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, c.Close(ctxT(t)))
	require.Equal(t, wantIDs(500), storedIDs(t, s.store, s.in))
	require.Zero(t, s.requests.Load(), "no HTTP")
}

func TestClientTrackWaitsForRoomUntilItsContextEnds(t *testing.T) {
	s := newServer(t, nil)
	release := make(chan struct{})
	s.setFault(func(n int64, w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		<-release
		return false
	})
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a", BatchSize: 2, MaxBuffered: 4})
	for i := range 4 {
		require.NoError(t, c.Track(ctxT(t), purchase(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Track(ctx, purchase(4))
	require.ErrorIs(t, err, tracking.ErrBufferFull)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	require.NoError(t, c.Track(ctxT(t), purchase(4)), "room again once batches are sent")
	require.NoError(t, c.Close(ctxT(t)))
	require.Equal(t, wantIDs(5), storedIDs(t, s.store, s.in))
	require.ErrorIs(t, c.Track(ctxT(t), purchase(5)), tracking.ErrClientClosed)
}

func TestClientCloseGivesUpAtItsDeadline(t *testing.T) {
	s := newServer(t, nil)
	s.setFault(func(n int64, w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a"})
	for i := range 10 {
		require.NoError(t, c.Track(ctxT(t), purchase(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for s.requests.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := c.Close(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.EqualValues(t, 10, c.Stats().Dropped)
	require.Zero(t, c.Stats().Buffered)
}

func TestClientGivesUpAfterMaxAttempts(t *testing.T) {
	s := newServer(t, nil)
	s.setFault(func(n int64, w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		w.WriteHeader(http.StatusBadGateway)
		return true
	})
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a", MaxAttempts: 3})
	require.NoError(t, c.Track(ctxT(t), purchase(0)))
	require.ErrorContains(t, c.Flush(ctxT(t)), "gave up after 3 attempts")
	require.EqualValues(t, 3, s.requests.Load())
	require.NoError(t, c.Close(ctxT(t)))
}

func TestClientRefusesInvalidEventsAndOptions(t *testing.T) {
	s := newServer(t, nil)
	c := fastClient(t, tracking.ClientOptions{Endpoint: s.url, WriteKey: "wk_a"})
	err := c.Track(ctxT(t), tracking.Event{Type: tracking.PurchaseCompleted, UserID: "u"})
	var ve *tracking.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "revenue", ve.Field)
	require.NoError(t, c.Close(ctxT(t)))

	for name, o := range map[string]tracking.ClientOptions{
		"neither endpoint nor sink": {},
		"both":                      {Endpoint: s.url, WriteKey: "k", Sink: s.in},
		"no write key":              {Endpoint: s.url},
		"not a URL":                 {Endpoint: "localhost:8080", WriteKey: "k"},
		"negative batch":            {Endpoint: s.url, WriteKey: "k", BatchSize: -1},
		"buffer below batch":        {Endpoint: s.url, WriteKey: "k", BatchSize: 100, MaxBuffered: 10},
		"bad shop id":               {Sink: s.in, ShopID: "a shop"},
	} {
		_, err := tracking.NewClient(o)
		require.Error(t, err, name)
	}
}

func TestClientFlushWithNothingTracked(t *testing.T) {
	c := fastClient(t, tracking.ClientOptions{Endpoint: "http://127.0.0.1:1", WriteKey: "k"})
	require.NoError(t, c.Flush(ctxT(t)))
	require.NoError(t, c.Close(ctxT(t)))
	require.True(t, errors.Is(c.Track(ctxT(t), purchase(0)), tracking.ErrClientClosed))
}

// A server that answers the contract's shape alone ("rejected" listed,
// no "rejected_count") still has its rejections counted as such, not as
// sent.
func TestClientCountsRejectionsListedWithoutACount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"accepted":1,"duplicates":0,"rejected":[{"index":1,"error":"shop_id: not this key's shop"}]}`))
	}))
	t.Cleanup(srv.Close)
	c := fastClient(t, tracking.ClientOptions{Endpoint: srv.URL, WriteKey: "wk_a"})
	require.NoError(t, c.Track(ctxT(t), purchase(0)))
	require.NoError(t, c.Track(ctxT(t), purchase(1)))
	err := c.Close(ctxT(t))
	require.ErrorContains(t, err, "1 events were not stored")
	require.EqualValues(t, 1, c.Stats().Rejected)
	require.EqualValues(t, 1, c.Stats().Sent)
}
