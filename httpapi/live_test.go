package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// sseMessage is one message of an event stream: an event with its data,
// or a comment.
type sseMessage struct {
	event, data, comment string
}

// liveReader reads an event stream as fast as it comes, keeping every
// message and the shop/id of every event.
type liveReader struct {
	mu   sync.Mutex
	msgs []sseMessage
	ids  []string
	bad  error // an event whose data did not decode
	done bool  // the stream ended
	err  error
}

// openLive opens GET /api/live with a bearer key and returns once the
// stream has said it is subscribed (its opening comment). The stream is
// closed when the test ends.
func openLive(t *testing.T, url, key string) *liveReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	lr := &liveReader{}
	go lr.read(resp.Body)
	require.Eventually(t, func() bool { return len(lr.comments()) > 0 || lr.ended() }, 30*time.Second, time.Millisecond)
	require.False(t, lr.ended(), "the stream ended at once: %v", lr.err)
	return lr
}

func (lr *liveReader) read(body io.ReadCloser) {
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur sseMessage
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" || cur.data != "" {
				lr.add(cur)
			}
			cur = sseMessage{}
		case strings.HasPrefix(line, ":"):
			lr.add(sseMessage{comment: strings.TrimSpace(line[1:])})
		case strings.HasPrefix(line, "event: "):
			cur.event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			cur.data += line[len("data: "):]
		}
	}
	lr.mu.Lock()
	lr.done, lr.err = true, sc.Err()
	lr.mu.Unlock()
}

func (lr *liveReader) add(m sseMessage) {
	var id string
	var err error
	if m.event == "event" {
		var e tracking.Event
		if err = json.Unmarshal([]byte(m.data), &e); err == nil {
			id = e.ShopID + "/" + e.ID
		}
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.msgs = append(lr.msgs, m)
	if id != "" {
		lr.ids = append(lr.ids, id)
	}
	if err != nil && lr.bad == nil {
		lr.bad = fmt.Errorf("%w: %s", err, m.data)
	}
}

func (lr *liveReader) ended() bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.done
}

func (lr *liveReader) comments() []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	var out []string
	for _, m := range lr.msgs {
		if m.comment != "" {
			out = append(out, m.comment)
		}
	}
	return out
}

// count is how many events arrived so far.
func (lr *liveReader) count() int {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return len(lr.ids)
}

// events returns the shop/id of the events so far, in order.
func (lr *liveReader) events(t *testing.T) []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	require.NoError(t, lr.bad)
	return append([]string(nil), lr.ids...)
}

func liveEvents(shop, prefix string, n, propBytes int) []tracking.Event {
	now := time.Now().UTC()
	props := json.RawMessage(fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", propBytes)))
	out := make([]tracking.Event, n)
	for i := range out {
		out[i] = tracking.Event{ID: fmt.Sprintf("%s-%05d", prefix, i), ShopID: shop, Type: tracking.PageViewed,
			AnonymousID: "a", Timestamp: now, ReceivedAt: now}
		if propBytes > 0 {
			out[i].Properties = props
		}
	}
	return out
}

func ids(shop string, events []tracking.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = shop + "/" + e.ID
	}
	return out
}

func TestLiveStreamsEachNewEventToItsShopsReaders(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := openLive(t, e.url+"/api/live", "rk_a")
	b := openLive(t, e.url+"/api/live", "rk_b")
	admin := openLive(t, e.url+"/api/live?shop=shop-a", adminKey)

	status, ans := e.post("wk_a", `[{"id":"a1","type":"page_viewed","anonymous_id":"x"},{"id":"a2","type":"add_to_cart","anonymous_id":"x","product_id":"p1","price":"2.50"}]`)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, 2, ans.Accepted)
	status, _ = e.post("wk_b", `{"id":"b1","type":"page_viewed","anonymous_id":"y"}`)
	require.Equal(t, http.StatusAccepted, status)
	e.flush()
	// Sent again: stored once, so streamed once.
	status, _ = e.post("wk_a", `{"id":"a1","type":"page_viewed","anonymous_id":"x"}`)
	require.Equal(t, http.StatusAccepted, status)
	e.flush()
	status, _ = e.post("wk_a", `{"id":"a3","type":"page_viewed","anonymous_id":"x"}`)
	require.Equal(t, http.StatusAccepted, status)
	e.flush()

	want := []string{"shop-a/a1", "shop-a/a2", "shop-a/a3"}
	require.Eventually(t, func() bool { return a.count() >= 3 && admin.count() >= 3 && b.count() >= 1 },
		30*time.Second, time.Millisecond)
	require.Equal(t, want, a.events(t))
	require.Equal(t, want, admin.events(t))
	require.Equal(t, []string{"shop-b/b1"}, b.events(t), "a shop's stream holds only its own events")

	// The data is the stored event's JSON, money exact.
	a.mu.Lock()
	var got tracking.Event
	for _, m := range a.msgs {
		if strings.Contains(m.data, `"a2"`) {
			require.NoError(t, json.Unmarshal([]byte(m.data), &got))
		}
	}
	a.mu.Unlock()
	require.Equal(t, "p1", got.ProductID)
	require.Equal(t, "2.50", got.Price.String())
	stored, err := tracking.DecodeStored([]byte(a.msgs[len(a.msgs)-1].data))
	require.NoError(t, err)
	require.False(t, stored.ReceivedAt.IsZero(), "the data is the stored form, received_at included")
}

func TestLiveRefusesKeysThatMayNotReadTheShop(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name, key, query string
		status           int
		field            string
	}{
		{"no key", "", "", http.StatusUnauthorized, ""},
		{"a write key", "wk_a", "", http.StatusUnauthorized, ""},
		{"another shop's", "rk_a", "?shop=shop-b", http.StatusForbidden, "shop"},
		{"admin without a shop", adminKey, "", http.StatusBadRequest, "shop"},
		{"admin with an unknown shop", adminKey, "?shop=nope", http.StatusNotFound, "shop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.get(tc.key, "/api/live"+tc.query)
			require.Equal(t, tc.status, status, string(body))
			var eb struct{ Error, Field string }
			require.NoError(t, json.Unmarshal(body, &eb))
			require.NotEmpty(t, eb.Error)
			require.Equal(t, tc.field, eb.Field)
		})
	}
}

func TestLiveSendsHeartbeatsWhileNothingHappens(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.LiveHeartbeat = 5 * time.Millisecond }})
	lr := openLive(t, e.url+"/api/live", "rk_a")
	require.Eventually(t, func() bool {
		for _, c := range lr.comments() {
			if c == "heartbeat" {
				return true
			}
		}
		return false
	}, 30*time.Second, time.Millisecond)
}

func TestLiveRefusesStreamsPastTheCap(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.MaxLiveStreams = 1 }})
	openLive(t, e.url+"/api/live", "rk_a")
	status, hdr, body := e.do("GET", "/api/live", nil, map[string]string{"Authorization": "Bearer rk_b"})
	require.Equal(t, http.StatusServiceUnavailable, status, string(body))
	require.NotEmpty(t, hdr.Get("Retry-After"))
}

// One shop's streams cannot take every stream: past its share it is
// refused, while another shop still gets one.
func TestLiveCapsStreamsPerShop(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.MaxLiveStreams, c.MaxLiveStreamsPerShop = 4, 1 }})
	openLive(t, e.url+"/api/live", "rk_a")
	status, hdr, body := e.do("GET", "/api/live", nil, map[string]string{"Authorization": "Bearer rk_a"})
	require.Equal(t, http.StatusServiceUnavailable, status, string(body))
	require.NotEmpty(t, hdr.Get("Retry-After"))
	openLive(t, e.url+"/api/live", "rk_b")
}

// A client that never reads cannot hold the ingester or the other
// clients: batches keep being stored, the others get every event, and the
// stuck one is dropped once it is LiveBufferBytes behind.
func TestLiveStuckClientBlocksNeitherIngestionNorOtherClients(t *testing.T) {
	e := newEnv(t, envOptions{ingest: ingest.Options{BatchSize: 100}, config: func(c *httpapi.Config) {
		c.LiveBufferBytes = 1 << 20
		c.LiveWriteTimeout = 10 * time.Minute // dropped for its buffer, not cut by a deadline
	}})
	stuck := openStuck(t, e.url, "rk_a")
	defer stuck.Close()
	readers := []*liveReader{openLive(t, e.url+"/api/live", "rk_a"), openLive(t, e.url+"/api/live?shop=shop-a", adminKey)}

	// About 10 MB of events: more than the stuck connection's socket
	// buffers and its stream's 1 MiB together. The readers are let catch
	// up after each round (about 600 KB), so only the stuck one falls
	// behind by more than its buffer.
	const rounds, perRound = 16, 500
	var want []string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang, not a speed, fails this
	defer cancel()
	for i := range rounds {
		evs := liveEvents("shop-a", fmt.Sprintf("r%02d", i), perRound, 1000)
		require.NoError(t, e.in.Enqueue(ctx, evs...))
		require.NoError(t, e.in.Flush(ctx), "the stuck client held the ingester")
		want = append(want, ids("shop-a", evs)...)
		for _, r := range readers {
			require.Eventually(t, func() bool { return r.count() >= len(want) || r.ended() }, 2*time.Minute, time.Millisecond)
			require.False(t, r.ended(), "a reader that keeps up was dropped")
		}
	}
	// Concurrent flushes store batches in any order; each event comes once.
	slices.Sort(want)
	for _, r := range readers {
		got := r.events(t)
		slices.Sort(got)
		require.True(t, slices.Equal(want, got), "a reader got %d events, not the %d stored, or some twice", len(got), len(want))
	}
	var metrics string
	require.Eventually(t, func() bool {
		_, body := e.get("", "/metrics")
		metrics = string(body)
		return strings.Contains(metrics, "shoplytics_live_dropped_streams_total 1\n")
	}, 2*time.Minute, 10*time.Millisecond, "the stuck stream was never dropped")
	require.Contains(t, metrics, "shoplytics_live_streams 2\n", "the two readers are still open")
}

// openStuck opens a live stream on a connection with a tiny receive
// buffer, reads its headers and opening comment, and then never reads
// again.
func openStuck(t *testing.T, base, key string) net.Conn {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	path := "/"
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host, path = host[:i], host[i:]+"/"
	}
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	conn, err := d.Dial("tcp", host)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conn, "GET %sapi/live HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path, host, key)
	require.NoError(t, err)
	br := bufio.NewReaderSize(conn, 16)
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "retry:") { // the end of the opening
			return conn
		}
	}
}

// Run's stop ends the live streams at once, instead of waiting its whole
// timeout for streams that never end by themselves.
func TestRunEndsLiveStreamsWhenItStops(t *testing.T) {
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h, err := httpapi.New(httpapi.Config{Store: mem, Ingester: in, Shops: shops, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var logged bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logged.Write(p)
	}), nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpapi.Run(ctx, &http.Server{Handler: h}, in, httpapi.RunOptions{Listener: ln, Logger: log, ShutdownTimeout: 10 * time.Minute})
	}()
	lr := openLive(t, "http://"+ln.Addr().String()+"/api/live", "rk_a")
	cancel()
	require.NoError(t, <-done)
	require.Eventually(t, lr.ended, 30*time.Second, time.Millisecond)
	logMu.Lock()
	defer logMu.Unlock()
	require.NotContains(t, logged.String(), "closing the connections still open")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestLiveEventWithLineBreaksInItsPropertiesStaysOneMessage(t *testing.T) {
	// An event handed to the ingester already received (ReceivedAt set) is
	// validated, not normalised: its properties keep the line breaks they
	// were given, which would end the SSE data line halfway through.
	e := newEnv(t, envOptions{})
	a := openLive(t, e.url+"/api/live", "rk_a")
	ev := liveEvents("shop-a", "nl", 1, 0)[0]
	ev.Properties = json.RawMessage("{\n  \"a\": 1,\r\n  \"b\": \"x\"\n}")
	require.NoError(t, e.in.Enqueue(context.Background(), ev))
	e.flush()
	require.Eventually(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.bad != nil || len(a.ids) >= 1
	}, 30*time.Second, time.Millisecond)
	require.Equal(t, []string{"shop-a/nl-00000"}, a.events(t))
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.msgs {
		if m.event == "event" {
			var got tracking.Event
			require.NoError(t, json.Unmarshal([]byte(m.data), &got))
			require.JSONEq(t, `{"a":1,"b":"x"}`, string(got.Properties))
		}
	}
}

func TestAdminShopOutsideTheConfigMustBeAShopID(t *testing.T) {
	// An app's own Authorize may serve shops it did not list; the shop
	// parameter is still a shop id, so it cannot break the lines of the
	// live feed it names.
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) {
		c.Shops = nil
		c.Authorize = func(*http.Request, httpapi.Access) (httpapi.Principal, error) {
			return httpapi.Principal{Admin: true}, nil
		}
	}})
	for _, path := range []string{"/api/live?shop=x%0Adata:%20%7B%7D%0A%0A", "/api/counts?shop=Not%20A%20Shop"} {
		// The status and headers only: a live stream that opened would
		// not end.
		res, err := http.Get(e.url + path)
		require.NoError(t, err)
		var ans struct{ Error, Field string }
		if res.StatusCode == http.StatusBadRequest {
			require.NoError(t, json.NewDecoder(res.Body).Decode(&ans))
		}
		require.NoError(t, res.Body.Close())
		require.Equal(t, http.StatusBadRequest, res.StatusCode, path)
		require.Equal(t, "shop", ans.Field, path)
	}
	status, b := e.get("", "/api/counts?shop=elsewhere")
	require.Equal(t, http.StatusOK, status, string(b))
}
