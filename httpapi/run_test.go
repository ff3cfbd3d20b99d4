package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/faultstore"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// TestRunStoresEveryAcceptedEventWhenItsContextEnds cancels Run while
// clients are posting to a store that is slow to take batches, and finds
// every event answered 202 stored once Run has returned.
func TestRunStoresEveryAcceptedEventWhenItsContextEnds(t *testing.T) {
	mem := memstore.New()
	fs := faultstore.New(mem)
	fs.Hold() // nothing is stored until the stop: all of it waits in the queue
	in, err := ingest.New(fs, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h, err := httpapi.New(httpapi.Config{Store: mem, Ingester: in, Shops: shops, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpapi.Run(ctx, &http.Server{Handler: h}, in, httpapi.RunOptions{Listener: ln, Logger: slog.New(slog.DiscardHandler)})
	}()

	var accepted atomic.Int64
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/events",
					strings.NewReader(fmt.Sprintf(`{"id":"c%d-%d","type":"page_viewed","anonymous_id":"a"}`, c, i)))
				req.SetBasicAuth("wk_a", "")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server has stopped listening
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					return
				}
				accepted.Add(1)
				if accepted.Load() >= 2000 {
					return
				}
			}
		}()
	}
	require.Eventually(t, func() bool { return accepted.Load() >= 500 }, 30*time.Second, time.Millisecond)
	cancel()
	go func() { time.Sleep(100 * time.Millisecond); fs.Release() }()
	require.NoError(t, <-done)
	wg.Wait()
	require.Equal(t, int(accepted.Load()), mem.Len(), "every event answered 202 is stored when Run returns")
	require.ErrorIs(t, in.TryEnqueue(tracking.Event{ID: "late", ShopID: "shop-a", Type: "page_viewed", AnonymousID: "a", Timestamp: time.Now(), ReceivedAt: time.Now()}), ingest.ErrClosed)
}

func TestRunDrainsTheIngesterWhenItCannotListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, in.TryEnqueue(tracking.Event{ShopID: "shop-a", Type: "page_viewed", AnonymousID: "a"}))
	err = httpapi.Run(context.Background(), &http.Server{Addr: busy.Addr().String()}, in, httpapi.RunOptions{})
	require.ErrorContains(t, err, "listen")
	require.Equal(t, 1, mem.Len(), "the queue is drained although the server never ran")
}

func TestHealthIs503WhileTheStoreTakesNoWrites(t *testing.T) {
	mem := memstore.New()
	fs := faultstore.New(mem)
	var offset atomic.Int64 // the clock runs offset ahead of real time
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	e := newEnv(t, envOptions{
		store:  fs,
		ingest: ingest.Options{Now: now, Retry: ingest.RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}},
		config: func(c *httpapi.Config) { c.Now = now },
	})
	status, _ := e.get("", "/health")
	require.Equal(t, 200, status)

	fs.FailNext(1_000_000, fmt.Errorf("disk full: %w", store.ErrUnavailable)) // pings still answer
	status, _ = e.post("wk_a", `{"type":"page_viewed","anonymous_id":"a"}`)
	require.Equal(t, http.StatusAccepted, status)
	require.Eventually(t, func() bool { return e.in.Stats().Retries > 0 }, 10*time.Second, time.Millisecond)
	status, _ = e.get("", "/health")
	require.Equal(t, 200, status, "a write failing a moment is not yet a sick store")
	offset.Store(int64(3 * time.Second))
	status, b := e.get("", "/health")
	require.Equal(t, 503, status)
	require.JSONEq(t, `{"status":"unavailable","error":"store not taking writes"}`, string(b))

	fs.FailNext(0, nil)
	require.Eventually(t, func() bool { return mem.Len() == 1 }, 10*time.Second, time.Millisecond)
	status, _ = e.get("", "/health")
	require.Equal(t, 200, status, "healthy again once a write succeeds")
}

func TestMetricsExposeTheIngesterAndTheProcess(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, _ := e.post("wk_a", `[{"id":"m1","type":"page_viewed","anonymous_id":"a"},{"id":"m2","type":"page_viewed","anonymous_id":"a"}]`)
	require.Equal(t, http.StatusAccepted, status)
	e.flush()
	status, hdr, b := e.do("GET", "/metrics", nil, nil)
	require.Equal(t, 200, status)
	require.Contains(t, hdr.Get("Content-Type"), "text/plain")
	body := string(b)
	for _, want := range []string{
		"shoplytics_ingest_enqueued_events_total 2",
		"shoplytics_ingest_stored_events_total 2",
		"shoplytics_ingest_queued_events 0",
		"go_goroutines ",
		"process_resident_memory_bytes ",
		"process_open_fds ",
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "shop-a", "nothing in it is per shop")
}

// TestRunClosesWhatFeedsTheIngesterBeforeItDrains tracks events through a
// tracking.Client whose Sink is the ingester, with a flush interval that
// never comes: only BeforeDrain's Close hands them over, before the drain
// that stores them.
func TestRunClosesWhatFeedsTheIngesterBeforeItDrains(t *testing.T) {
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	client, err := tracking.NewClient(tracking.ClientOptions{Sink: in, BatchSize: 1000, FlushInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpapi.Run(ctx, &http.Server{Handler: http.NotFoundHandler()}, in, httpapi.RunOptions{Listener: ln,
			Logger: slog.New(slog.DiscardHandler), BeforeDrain: client.Close})
	}()
	for i := range 50 {
		require.NoError(t, client.Track(context.Background(), tracking.Event{ID: fmt.Sprintf("order-%d", i), ShopID: "shop-a",
			Type: "page_viewed", AnonymousID: "a"}))
	}
	require.Zero(t, mem.Len(), "the client holds the events until it is closed")
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, 50, mem.Len())
}
