package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/faultstore"
	"github.com/shoplytics/shoplytics/store/memstore"
)

const pv = `{"type":"product_viewed","anonymous_id":"a1","product_id":"p1"}`

func TestPostEventsAcceptsEveryBodyForm(t *testing.T) {
	e := newEnv(t, envOptions{})
	ev := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"type":"product_viewed","anonymous_id":"a1","product_id":"p1"}`, id)
	}
	cases := []struct {
		name, contentType, body string
		want                    int
	}{
		{"object", "application/json", ev("o1"), 1},
		{"array", "application/json", "[" + ev("r1") + "," + ev("r2") + "]", 2},
		{"batch", "application/json", `{"batch":[` + ev("b1") + "," + ev("b2") + "," + ev("b3") + `]}`, 3},
		{"ndjson", "application/x-ndjson", ev("n1") + "\n" + ev("n2") + "\n", 2},
		{"text/plain from sendBeacon", "text/plain;charset=UTF-8", ev("t1"), 1},
		{"camelCase", "application/json", `{"id":"c1","eventType":"view","anonymousId":"a","productId":"p"}`, 1},
	}
	total := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := e.do("POST", "/events?key=wk_a", []byte(tc.body), map[string]string{"Content-Type": tc.contentType})
			require.Equal(t, http.StatusAccepted, status, string(b))
			var a answer
			require.NoError(t, json.Unmarshal(b, &a))
			require.Equal(t, tc.want, a.Accepted)
			require.Empty(t, a.Rejected)
			total += tc.want
		})
	}
	e.flush()
	got := e.stored("shop-a")
	require.Len(t, got, total)
	for _, ev := range got {
		require.Equal(t, "product_viewed", ev.Type)
		require.Equal(t, "shop-a", ev.ShopID, "the key decides the shop")
	}
}

func TestPostEventsGzipBody(t *testing.T) {
	e := newEnv(t, envOptions{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte("[" + pv + "," + pv + "]"))
	require.NoError(t, zw.Close())
	status, _, b := e.do("POST", "/events?key=wk_a", buf.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, http.StatusAccepted, status, string(b))
	require.JSONEq(t, `{"accepted":2,"duplicates":0,"rejected":[],"rejected_count":0}`, string(b))
}

func TestPostEventsKeys(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		name   string
		path   string
		body   string
		hdr    map[string]string
		status int
	}{
		{"basic auth user name", "/events", pv, map[string]string{"Authorization": "Basic d2tfYTo="}, 202},
		{"query key", "/events?key=wk_b", pv, nil, 202},
		{"body writeKey", "/events", `{"writeKey":"wk_a","batch":[` + pv + `]}`, nil, 202},
		{"writeKey in a single event object", "/events", `{"writeKey":"wk_a","type":"page_viewed","anonymous_id":"x"}`, nil, 202},
		{"no key", "/events", pv, nil, 401},
		{"unknown key", "/events?key=nope", pv, nil, 401},
		{"read key cannot write", "/events?key=rk_a", pv, nil, 401},
		{"admin key cannot write", "/events?key=" + adminKey, pv, nil, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := e.do("POST", tc.path, []byte(tc.body), tc.hdr)
			require.Equal(t, tc.status, status, string(b))
			if status != 202 {
				var a answer
				require.NoError(t, json.Unmarshal(b, &a))
				require.NotEmpty(t, a.Error)
			}
		})
	}
}

func TestPostEventsRejectsPerIndexAndKeepsTheRest(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := `[
		{"id":"ok1","type":"page_viewed","anonymous_id":"a"},
		{"id":"bad-type","type":"Not A Type","anonymous_id":"a"},
		{"id":"other-shop","shop_id":"shop-b","type":"page_viewed","anonymous_id":"a"},
		{"id":"ok2","shop_id":"shop-a","type":"purchase","user_id":"u","revenue":"10.00"},
		{"id":"no-revenue","type":"purchase_completed","user_id":"u"},
		42,
		{"id":"ok1","type":"page_viewed","anonymous_id":"a"},
		{"id":"bad-price","type":"add_to_cart","anonymous_id":"a","product_id":"p","price":"ten"}
	]`
	status, a := e.post("wk_a", body)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, 2, a.Accepted)
	require.Equal(t, 1, a.Duplicates, "the repeated id in one request is counted once")
	var fields []string
	var idx []int
	for _, r := range a.Rejected {
		idx = append(idx, r.Index)
		fields = append(fields, r.Field)
		require.NotEmpty(t, r.Error)
	}
	require.Equal(t, []int{1, 2, 4, 5, 7}, idx)
	require.Equal(t, []string{"type", "shop_id", "revenue", "", "price"}, fields)
	e.flush()
	require.Len(t, e.stored("shop-a"), 2)
	require.Empty(t, e.stored("shop-b"), "an event naming another shop never lands there")
}

func TestPostEventsBadBodies(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.MaxBodyBytes = 1000 }})
	big := "[" + strings.Repeat(pv+",", 30) + pv + "]"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(big))
	require.NoError(t, zw.Close())
	require.Less(t, gz.Len(), 1000, "compressed it fits; decompressed it does not")

	cases := []struct {
		name   string
		body   []byte
		hdr    map[string]string
		status int
		field  string
	}{
		{"not JSON", []byte("hello"), nil, 400, ""},
		{"empty", nil, nil, 400, ""},
		{"nothing valid", []byte(`[{"type":"page_viewed"}]`), nil, 400, "anonymous_id"},
		{"revenue finer than cents", []byte(`{"type":"purchase_completed","user_id":"u","revenue":"19.999","currency":"USD"}`), nil, 400, "revenue"},
		{"price finer than yen", []byte(`{"type":"product_viewed","anonymous_id":"a","product_id":"p","price":100.5,"currency":"JPY"}`), nil, 400, "price"},
		{"negative price", []byte(`{"type":"product_viewed","anonymous_id":"a","product_id":"p","price":"-1.00"}`), nil, 400, "price"},
		{"currency outside ISO 4217", []byte(`{"type":"product_viewed","anonymous_id":"a","product_id":"p","price":"1.00","currency":"XYZ"}`), nil, 400, "currency"},
		{"id with a lone surrogate", []byte(`{"id":"s\ud800","type":"page_viewed","anonymous_id":"a"}`), nil, 400, "id"},
		{"properties not UTF-8", []byte("{\"type\":\"page_viewed\",\"anonymous_id\":\"a\",\"properties\":{\"k\":\"\xff\"}}"), nil, 400, "properties"},
		{"over the limit", []byte(big), nil, 413, ""},
		{"over the limit once gunzipped", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}, 413, ""},
		{"bad gzip", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}, 400, ""},
		{"unknown encoding", []byte(pv), map[string]string{"Content-Encoding": "br"}, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, b := e.do("POST", "/events?key=wk_a", tc.body, tc.hdr)
			require.Equal(t, tc.status, status, string(b))
			require.Equal(t, "application/json", hdr.Get("Content-Type"))
			var a answer
			require.NoError(t, json.Unmarshal(b, &a), string(b))
			require.NotEmpty(t, a.Error)
			require.Equal(t, tc.field, a.Field)
		})
	}
}

func TestPostEventsQueueFullAnswers503WithRetryAfter(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.Hold()
	e := newEnv(t, envOptions{store: fs, ingest: ingest.Options{QueueSize: 20, BatchSize: 10, Flushers: 1}})
	var status int
	var hdr http.Header
	for i := 0; i < 100; i++ {
		status, hdr, _ = e.do("POST", "/events?key=wk_a", []byte("["+strings.Repeat(pv+",", 9)+pv+"]"), nil)
		if status != http.StatusAccepted {
			break
		}
	}
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "1", hdr.Get("Retry-After"))
	accepted := e.in.Stats().Enqueued
	fs.Release()
	e.flush()
	require.Len(t, e.stored("shop-a"), int(accepted), "everything accepted before the 503 is stored")
}

func TestPostEventsSurvivesAStoreOutage(t *testing.T) {
	fs := faultstore.New(memstore.New())
	fs.SetDown(true)
	e := newEnv(t, envOptions{store: fs, ingest: ingest.Options{
		BatchSize: 50, MaxBatchAge: time.Millisecond,
		Retry: ingest.RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	}})
	for i := range 20 {
		body := fmt.Sprintf(`[{"id":"x%d-1","type":"page_viewed","anonymous_id":"a"},{"id":"x%d-2","type":"page_viewed","anonymous_id":"a"}]`, i, i)
		status, _ := e.post("wk_a", body)
		require.Equal(t, http.StatusAccepted, status)
	}
	status, _, _ := e.do("GET", "/health", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, status, "health reports the store down")
	require.Eventually(t, func() bool { return e.in.Stats().Retries > 3 }, 10*time.Second, time.Millisecond)
	fs.SetDown(false)
	e.flush()
	require.Len(t, e.stored("shop-a"), 40)
	status, _, b := e.do("GET", "/health", nil, nil)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"status":"ok"}`, string(b))
}

// TestConcurrentPostsStoreEveryAcceptedEventOnce posts 20,000 events from
// many clients, a tenth of them sent twice on purpose, then shuts the
// ingester down and checks every event is stored exactly once.
func TestConcurrentPostsStoreEveryAcceptedEventOnce(t *testing.T) {
	e := newEnv(t, envOptions{ingest: ingest.Options{BatchSize: 500, Flushers: 4}})
	const clients, perClient, perRequest = 20, 1000, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, duplicates := 0, 0
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := 0; start < perClient; start += perRequest {
				var b strings.Builder
				b.WriteByte('[')
				for i := start; i < start+perRequest; i++ {
					if i > start {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `{"id":"c%02d-%04d","type":"add_to_cart","session_id":"s%d","product_id":"p%d","price":"0.10"}`, c, i, c, i%7)
				}
				b.WriteByte(']')
				body := b.String()
				sends := 1
				if start%(10*perRequest) == 0 {
					sends = 2 // resend this request: its events are duplicates
				}
				for range sends {
					status, a := e.post("wk_a", body)
					if status != http.StatusAccepted {
						t.Errorf("status %d: %+v", status, a)
						return
					}
					mu.Lock()
					accepted += a.Accepted
					duplicates += a.Duplicates
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	ctx := t.Context()
	require.NoError(t, e.in.Shutdown(ctx))
	const unique = clients * perClient
	resent := clients * (perClient / (10 * perRequest)) * perRequest
	require.Equal(t, unique+resent, accepted, "resent events are accepted; the store drops them")
	st := e.in.Stats()
	require.Equal(t, uint64(unique), st.Stored)
	require.Equal(t, uint64(resent), st.Duplicates, "each duplicate sent on purpose is counted once")
	got := e.stored("shop-a")
	require.Len(t, got, unique)
	seen := map[string]bool{}
	for _, ev := range got {
		require.False(t, seen[ev.ID], "stored twice: %s", ev.ID)
		seen[ev.ID] = true
		require.Equal(t, "0.10", ev.Price.String())
	}
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.AllowedOrigins = []string{"https://shop.example"} }})
	status, hdr, _ := e.do("OPTIONS", "/events", nil, map[string]string{
		"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
	})
	require.Equal(t, http.StatusNoContent, status)
	require.Equal(t, "https://shop.example", hdr.Get("Access-Control-Allow-Origin"))
	require.Contains(t, hdr.Get("Access-Control-Allow-Methods"), "POST")

	_, hdr, _ = e.do("OPTIONS", "/events", nil, map[string]string{"Origin": "https://evil.example"})
	require.Empty(t, hdr.Get("Access-Control-Allow-Origin"), "an origin not allowed gets no CORS grant")
}

func TestAuthorizeHookReplacesKeys(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) {
		c.Authorize = func(r *http.Request, access httpapi.Access) (httpapi.Principal, error) {
			if r.Header.Get("X-App-Session") == "valid" {
				return httpapi.Principal{ShopID: "shop-b"}, nil
			}
			return httpapi.Principal{}, httpapi.ErrUnauthorized
		}
	}})
	status, _, _ := e.do("POST", "/events?key=wk_a", []byte(pv), nil)
	require.Equal(t, http.StatusUnauthorized, status, "keys are not consulted when the app authorises")
	status, _, _ = e.do("POST", "/events", []byte(pv), map[string]string{"X-App-Session": "valid"})
	require.Equal(t, http.StatusAccepted, status)
	status, b := e.get("", "/api/counts")
	require.Equal(t, http.StatusUnauthorized, status, string(b))
	status, _, b = e.do("GET", "/api/counts", nil, map[string]string{"X-App-Session": "valid"})
	require.Equal(t, http.StatusOK, status, string(b))
	e.flush()
	require.Len(t, e.stored("shop-b"), 1)
}

func TestConfigIsValidated(t *testing.T) {
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{})
	require.NoError(t, err)
	for _, c := range []httpapi.Config{
		{Ingester: in},
		{Store: mem},
		{Store: mem, Ingester: in, Shops: []httpapi.Shop{{WriteKey: "k"}}},
		{Store: mem, Ingester: in, Shops: []httpapi.Shop{{ID: "a", WriteKey: "k"}, {ID: "b", ReadKey: "k"}}},
		{Store: mem, Ingester: in, MaxBodyBytes: -1},
	} {
		_, err := httpapi.New(c)
		require.Error(t, err)
	}
	for _, c := range []struct {
		shops []httpapi.Shop
		msg   string
	}{
		{[]httpapi.Shop{{ID: "my shop", WriteKey: "k"}}, `Shops[0].id: "my shop" may hold only`},
		{[]httpapi.Shop{{ID: "a"}, {ID: ""}}, `Shops[1].id: "" is required`},
		{[]httpapi.Shop{{ID: strings.Repeat("x", 65)}}, "Shops[0].id:"},
		{[]httpapi.Shop{{ID: "a"}, {ID: "a"}}, `Shops[1].id: shop "a" is listed twice`},
		{[]httpapi.Shop{{ID: "a", Timezone: "Europe/Berln"}}, `Shops[0].timezone: unknown time zone "Europe/Berln"`},
		{[]httpapi.Shop{{ID: "a", Timezone: "Local"}}, `Shops[0].timezone`},
	} {
		_, err := httpapi.New(httpapi.Config{Store: mem, Ingester: in, Shops: c.shops})
		require.ErrorContains(t, err, c.msg)
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, hdr, b := e.do("GET", "/events", nil, nil)
	require.Equal(t, http.StatusMethodNotAllowed, status)
	require.Equal(t, "POST, OPTIONS", hdr.Get("Allow"))
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	require.Contains(t, string(b), `"error"`)
	status, hdr, _ = e.do("GET", "/nope", nil, nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	status, hdr, _ = e.do("POST", "/api/users/u1/journey", nil, nil)
	require.Equal(t, http.StatusMethodNotAllowed, status, "a path with a wildcard is known too")
	require.Equal(t, "GET", hdr.Get("Allow"))
}

func TestBodyLargerThanTheQueueIs413(t *testing.T) {
	e := newEnv(t, envOptions{ingest: ingest.Options{QueueSize: 10, BatchSize: 5}})
	status, hdr, _ := e.do("POST", "/events?key=wk_a", []byte("["+strings.Repeat(pv+",", 10)+pv+"]"), nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "a retry could never fit")
	require.Empty(t, hdr.Get("Retry-After"))
}

func TestDurablePostsAnswerOnceStoredWithExactDuplicates(t *testing.T) {
	e := newEnv(t, envOptions{
		ingest: ingest.Options{MaxBatchAge: time.Hour}, // an answer must not wait for a batch to age
		config: func(c *httpapi.Config) { c.Durable = true },
	})
	status, a := e.post("wk_a", `[{"id":"d1","type":"page_viewed","anonymous_id":"a"},{"id":"d2","type":"page_viewed","anonymous_id":"a"}]`)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, 2, a.Accepted)
	require.Len(t, e.stored("shop-a"), 2, "stored before the answer, without a flush")

	status, a = e.post("wk_a", `[{"id":"d1","type":"page_viewed","anonymous_id":"a"},{"id":"d3","type":"page_viewed","anonymous_id":"a"},{"id":"d3","type":"page_viewed","anonymous_id":"a"}]`)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, 1, a.Accepted)
	require.Equal(t, 2, a.Duplicates, "one repeated in the request, one stored earlier")
	require.Len(t, e.stored("shop-a"), 3)
}
