package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/faultstore"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

func basic(key string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))}
}

// segmentBatch is a /v1/batch body of the messages given.
func segmentBatch(msgs ...string) []byte {
	return []byte(`{"sentAt":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","context":{"library":{"name":"test"}},"batch":[` + strings.Join(msgs, ",") + `]}`)
}

func TestSegmentAuthentication(t *testing.T) {
	e := newEnv(t, envOptions{})
	msg := `{"type":"track","messageId":"%s","anonymousId":"a1","event":"Cart Viewed"}`
	for _, tc := range []struct {
		name   string
		path   string
		body   string
		hdr    map[string]string
		status int
		id     string // stored for shop-a when 200
	}{
		{"basic user name", "/v1/batch", string(segmentBatch(fmt.Sprintf(msg, "b1"))), basic("wk_a"), 200, "b1"},
		{"writeKey in a batch", "/v1/batch", `{"writeKey":"wk_a","batch":[` + fmt.Sprintf(msg, "b2") + `]}`, nil, 200, "b2"},
		{"writeKey in a single message", "/v1/track", `{"writeKey":"wk_a","messageId":"b3","anonymousId":"a1","event":"Cart Viewed"}`, nil, 200, "b3"},
		{"unknown basic key", "/v1/batch", string(segmentBatch(fmt.Sprintf(msg, "b4"))), basic("nope"), 401, ""},
		{"read key is no write key", "/v1/batch", string(segmentBatch(fmt.Sprintf(msg, "b5"))), basic("rk_a"), 401, ""},
		{"unknown body key", "/v1/track", `{"writeKey":"nope","messageId":"b6","anonymousId":"a1","event":"X"}`, nil, 401, ""},
		{"no key", "/v1/batch", string(segmentBatch(fmt.Sprintf(msg, "b7"))), nil, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, b := e.do("POST", tc.path, []byte(tc.body), tc.hdr)
			require.Equal(t, tc.status, status, string(b))
			if status == 200 {
				require.JSONEq(t, `{"success":true}`, string(b))
			} else {
				require.Equal(t, `Basic realm="shoplytics"`, hdr.Get("WWW-Authenticate"))
			}
		})
	}
	e.flush()
	var ids []string
	for _, ev := range e.stored("shop-a") {
		ids = append(ids, ev.ID)
	}
	require.ElementsMatch(t, []string{"b1", "b2", "b3"}, ids)
}

func TestSegmentPathsSetTheType(t *testing.T) {
	e := newEnv(t, envOptions{})
	for path, body := range map[string]string{
		"/v1/track":    `{"messageId":"t","userId":"u","event":"Product Added","properties":{"product_id":"p","price":19.99}}`,
		"/v1/page":     `{"messageId":"p","userId":"u","name":"Home","properties":{"url":"https://shop.example/"}}`,
		"/v1/screen":   `{"messageId":"s","userId":"u","name":"Cart"}`,
		"/v1/identify": `{"messageId":"i","userId":"u","anonymousId":"a","traits":{"plan":"gold"}}`,
		"/v1/group":    `{"messageId":"g","userId":"u","groupId":"acme"}`,
		"/v1/alias":    `{"messageId":"al","userId":"u","previousId":"a2"}`,
	} {
		status, _, b := e.do("POST", path, []byte(body), basic("wk_a"))
		require.Equal(t, 200, status, path+": "+string(b))
	}
	e.flush()
	got := map[string]tracking.Event{}
	for _, ev := range e.stored("shop-a") {
		got[ev.ID] = ev
	}
	require.Equal(t, tracking.AddToCart, got["t"].Type)
	require.Equal(t, "19.99", got["t"].Price.String())
	require.Equal(t, tracking.PageViewed, got["p"].Type)
	require.Equal(t, "https://shop.example/", got["p"].URL)
	require.Equal(t, "screen_viewed", got["s"].Type)
	require.Equal(t, tracking.Identify, got["i"].Type)
	require.Equal(t, "group", got["g"].Type)
	require.Equal(t, tracking.Identify, got["al"].Type)
	require.Equal(t, "a2", got["al"].AnonymousID)
}

func TestSegmentGzipBody(t *testing.T) {
	e := newEnv(t, envOptions{})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, err := zw.Write(segmentBatch(`{"type":"track","messageId":"z1","userId":"u","event":"Cart Viewed"}`))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	hdr := basic("wk_a")
	hdr["Content-Encoding"] = "gzip"
	status, _, b := e.do("POST", "/v1/batch", zb.Bytes(), hdr)
	require.Equal(t, 200, status, string(b))
	e.flush()
	stored := e.stored("shop-a")
	require.Len(t, stored, 1)
	require.Equal(t, "z1", stored[0].ID)
}

// syncBuffer is a log sink safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSegmentInvalidMessagesAre200AndLogged(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }})
	big := `{"type":"track","messageId":"big","userId":"u","event":"X","properties":{"p":"` + strings.Repeat("x", tracking.SegmentMaxMessageBytes) + `"}}`
	body := segmentBatch(
		`{"type":"track","messageId":"ok1","userId":"u","event":"Cart Viewed"}`,
		`{"type":"track","messageId":"bad","userId":"u","event":"Product Viewed"}`, // no product_id
		big,
		`{"type":"page","messageId":"ok2","anonymousId":"a"}`,
	)
	status, _, b := e.do("POST", "/v1/batch", body, basic("wk_a"))
	require.Equal(t, 200, status, string(b))
	require.JSONEq(t, `{"success":true}`, string(b))
	e.flush()
	var ids []string
	for _, ev := range e.stored("shop-a") {
		ids = append(ids, ev.ID)
	}
	require.ElementsMatch(t, []string{"ok1", "ok2"}, ids)
	require.Contains(t, logs.String(), "invalid=2")
	require.Contains(t, logs.String(), "product_id")

	// Nothing valid at all is still 200: a retry would fail the same way.
	status, _, b = e.do("POST", "/v1/track", []byte(`{"messageId":"x","event":"Cart Viewed"}`), basic("wk_a"))
	require.Equal(t, 200, status, string(b))

	_, _, m := e.do("GET", "/metrics", nil, nil)
	require.Contains(t, string(m), "shoplytics_segment_dropped_messages_total 3", "every dropped message is counted")
}

func TestSegmentLimitsAnswer400(t *testing.T) {
	e := newEnv(t, envOptions{})
	small := `{"type":"track","userId":"u","event":"Cart Viewed","properties":{"pad":"` + strings.Repeat("x", 1000) + `"}}`
	var msgs []string
	for range tracking.SegmentMaxBatchBytes/len(small) + 1 {
		msgs = append(msgs, small)
	}
	for _, tc := range []struct {
		name, path string
		body       []byte
		status     int
	}{
		{"batch under 500 KB", "/v1/batch", segmentBatch(msgs[:len(msgs)-2]...), 200},
		{"batch over 500 KB", "/v1/batch", segmentBatch(msgs...), 400},
		{"single message over 32 KB", "/v1/track", []byte(`{"userId":"u","event":"X","properties":{"p":"` + strings.Repeat("x", tracking.SegmentMaxMessageBytes) + `"}}`), 400},
		{"not JSON", "/v1/batch", []byte(`not json`), 400},
		{"an array", "/v1/batch", []byte(`[]`), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := e.do("POST", tc.path, tc.body, basic("wk_a"))
			require.Equal(t, tc.status, status, string(b))
		})
	}
}

func TestSegmentQueueFullAnswers503WithRetryAfter(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.Hold()
	e := newEnv(t, envOptions{store: fs, ingest: ingest.Options{QueueSize: 20, BatchSize: 10, Flushers: 1}})
	var msgs []string
	for range 10 {
		msgs = append(msgs, `{"type":"page","anonymousId":"a"}`)
	}
	var status int
	var hdr http.Header
	for range 100 {
		status, hdr, _ = e.do("POST", "/v1/batch", segmentBatch(msgs...), basic("wk_a"))
		if status != http.StatusOK {
			break
		}
	}
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "1", hdr.Get("Retry-After"))
	fs.Release()
}

// TestSegmentAnalyticsGoClient sends through Segment's own Go client and
// checks what is stored, field by field.
func TestSegmentAnalyticsGoClient(t *testing.T) {
	e := newEnv(t, envOptions{})
	var failures syncBuffer
	client, err := analytics.NewWithConfig("wk_a", analytics.Config{
		Endpoint: strings.TrimSuffix(e.url, "/"), BatchSize: 3, Interval: 50 * time.Millisecond,
		Callback: failureRecorder{&failures},
	})
	require.NoError(t, err)
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	ctx := &analytics.Context{
		Page:      analytics.PageInfo{URL: "https://shop.example/mug", Referrer: "https://search.example/"},
		UserAgent: "Mozilla/5.0 test",
		IP:        []byte{203, 0, 113, 7},
	}
	require.NoError(t, client.Enqueue(analytics.Track{MessageId: "go-1", AnonymousId: "anon-1", Event: "Product Viewed", Timestamp: at, Context: ctx,
		Properties: analytics.NewProperties().SetProductId("mug-1").SetName("Blue Mug").SetCategory("Kitchen").SetPrice(19.99).Set("color", "blue")}))
	require.NoError(t, client.Enqueue(analytics.Track{MessageId: "go-2", AnonymousId: "anon-1", Event: "Product Added", Timestamp: at,
		Properties: analytics.NewProperties().SetProductId("mug-1").SetPrice(19.99).Set("quantity", 2)}))
	require.NoError(t, client.Enqueue(analytics.Track{MessageId: "go-3", UserId: "user-1", Event: "Order Completed", Timestamp: at,
		Properties: analytics.NewProperties().SetOrderId("order-1").SetRevenue(39.98).SetTotal(45.5).SetCurrency("EUR").
			SetProducts(analytics.Product{ID: "mug-1", Name: "Blue Mug", Price: 19.99})}))
	require.NoError(t, client.Enqueue(analytics.Page{MessageId: "go-4", AnonymousId: "anon-1", Name: "Home", Timestamp: at,
		Properties: analytics.NewProperties().SetURL("https://shop.example/").SetTitle("Shop")}))
	require.NoError(t, client.Enqueue(analytics.Identify{MessageId: "go-5", UserId: "user-1", AnonymousId: "anon-1", Timestamp: at,
		Traits: analytics.NewTraits().SetEmail("buyer@example.com")}))
	require.NoError(t, client.Enqueue(analytics.Alias{MessageId: "go-6", PreviousId: "anon-2", UserId: "user-1", Timestamp: at}))
	require.NoError(t, client.Close())
	require.Empty(t, failures.String())
	e.flush()

	got := map[string]tracking.Event{}
	for _, ev := range e.stored("shop-a") {
		got[ev.ID] = ev
	}
	require.Len(t, got, 6)
	for id, ev := range got {
		require.Equal(t, "shop-a", ev.ShopID, id)
		require.WithinDuration(t, at, ev.Timestamp, 5*time.Second, id) // corrected by sentAt, within the send delay
	}

	pv := got["go-1"]
	require.Equal(t, tracking.ProductViewed, pv.Type)
	require.Equal(t, "anon-1", pv.AnonymousID)
	require.Equal(t, "mug-1", pv.ProductID)
	require.Equal(t, "Blue Mug", pv.ProductName)
	require.Equal(t, "Kitchen", pv.Category)
	require.Equal(t, tracking.Money{Minor: 1999, Currency: "USD"}, pv.Price)
	require.Equal(t, "https://shop.example/mug", pv.URL)
	require.Equal(t, "https://search.example/", pv.Referrer)
	require.Equal(t, "Mozilla/5.0 test", pv.UserAgent)
	require.JSONEq(t, `{"color":"blue","ip":"203.0.113.7"}`, string(pv.Properties))

	add := got["go-2"]
	require.Equal(t, tracking.AddToCart, add.Type)
	require.Equal(t, "mug-1", add.ProductID)
	require.Equal(t, int64(2), add.Quantity)
	require.Equal(t, "19.99", add.Price.String())

	order := got["go-3"]
	require.Equal(t, tracking.PurchaseCompleted, order.Type)
	require.Equal(t, "user-1", order.UserID)
	require.Equal(t, "order-1", order.OrderID)
	require.Equal(t, tracking.Money{Minor: 3998, Currency: "EUR"}, order.Revenue)
	require.Equal(t, "EUR", order.Currency)
	require.JSONEq(t, `{"total":45.5,"products":[{"id":"mug-1","name":"Blue Mug","price":19.99}]}`, string(order.Properties))

	page := got["go-4"]
	require.Equal(t, tracking.PageViewed, page.Type)
	require.Equal(t, "https://shop.example/", page.URL)
	require.JSONEq(t, `{"name":"Home","title":"Shop"}`, string(page.Properties))

	id := got["go-5"]
	require.Equal(t, tracking.Identify, id.Type)
	require.Equal(t, "user-1", id.UserID)
	require.Equal(t, "anon-1", id.AnonymousID)
	require.JSONEq(t, `{"email":"buyer@example.com"}`, string(id.Properties))

	alias := got["go-6"]
	require.Equal(t, tracking.Identify, alias.Type)
	require.Equal(t, "user-1", alias.UserID)
	require.Equal(t, "anon-2", alias.AnonymousID)
}

// failureRecorder is an analytics.Callback noting every message the client
// gave up on.
type failureRecorder struct{ b *syncBuffer }

func (f failureRecorder) Success(analytics.Message) {}

func (f failureRecorder) Failure(m analytics.Message, err error) {
	fmt.Fprintf(f.b, "%T: %v\n", m, err)
}
