package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// costEvent is a realistic add_to_cart of about 600 bytes.
func costEvent(i int) string {
	return fmt.Sprintf(`{"id":"evt-%09d","type":"add_to_cart","anonymous_id":"3f9c1d2e-7b4a-4c8e-9a51-0d6e2f7b8c90","session_id":"sess-20261123-8842","product_id":"SKU-100234","product_name":"Merino Wool Crew Sweater","category":"apparel/knitwear","price":"89.90","quantity":1,"currency":"EUR","url":"https://shop.example/products/merino-wool-crew-sweater?variant=navy-m","referrer":"https://shop.example/collections/knitwear","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15","properties":{"variant":"navy-m","list":"knitwear","position":4},"timestamp":"2026-11-23T10:15:30.123Z"}`, i)
}

// array joins items made by item into a JSON array of about size bytes.
func array(size int, item func(i int) string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item(i))
	}
	b.WriteByte(']')
	return b.String()
}

// costBodies are bodies of every shape that costs memory in its own way.
func costBodies(t *testing.T) map[string]struct {
	body string
	hdr  map[string]string
} {
	const size = 1 << 20
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, size-1)
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	events := array(size-1000, costEvent)
	ndjson := strings.ReplaceAll(strings.Trim(events, "[]"), `"},{"id"`, "\"}\n{\"id\"")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write([]byte(events))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	small := func(i int) string { return fmt.Sprintf(`{"type":"x","anonymous_id":"a%d"}`, i) }
	return map[string]struct {
		body string
		hdr  map[string]string
	}{
		"one event":               {costEvent(1), nil},
		"an array of one event":   {"[" + costEvent(1) + "]", nil},
		"100 events":              {array(60_000, costEvent), nil},
		"1 MiB of events":         {events, nil},
		"1 MiB of zeros":          {array(size-10, func(int) string { return "0" }), nil},
		"10,000 zeros":            {array(2*tracking.MaxBatchLen-1, func(int) string { return "0" }), nil},
		"10,000 empty objects":    {array(3*tracking.MaxBatchLen-1, func(int) string { return "{}" }), nil},
		"10,000 empty strings":    {array(3*tracking.MaxBatchLen-1, func(int) string { return `""` }), nil},
		"10,000 small events":     {array(330_000, small), nil},
		"10,000 small invalid":    {array(310_000, func(int) string { return `{"type":"X","anonymous_id":"a"}` }), nil},
		"10,000 slow-path events": {array(330_000, func(i int) string { return strings.Replace(small(i), `"type"`, `"TYPE"`, 1) }), nil},
		"slow-path events":        {array(size-1000, func(i int) string { return strings.Replace(costEvent(i), `"type"`, `"TYPE"`, 1) }), nil},
		"escaped strings":         {array(size-1000, func(i int) string { return small(i)[:len(small(i))-2] + strings.Repeat(`\u00e9`, 100) + `"}` }), nil},
		"large properties": {array(size-3000, func(i int) string {
			return `{"type":"x","anonymous_id":"a","properties":{"a":"` + strings.Repeat("x", 2000) + `"}}`
		}), nil},
		"properties to compact": {array(size-3000, func(i int) string {
			return `{"type":"x","anonymous_id":"a","properties":{ "a" : [` + strings.Repeat("1, ", 600) + `1]}}`
		}), nil},
		"many tiny fields": {array(size-1000, func(i int) string {
			return `{"id":0,"user_id":1,"anonymous_id":2,"session_id":3,"product_id":4,"product_name":5,"category":6,"order_id":7,"type":"x"}`
		}), nil},
		"one huge string":           {`{"type":"x","anonymous_id":"a","url":"` + strings.Repeat("x", size-100) + `"}`, nil},
		"one huge properties":       {`{"type":"x","anonymous_id":"a","properties":{"a":"` + strings.Repeat("x", size-100) + `"}}`, nil},
		"ndjson":                    {ndjson, map[string]string{"Content-Type": "application/x-ndjson"}},
		"ndjson found by the parse": {ndjson, nil},
		"gzip":                      {gz.String(), map[string]string{"Content-Encoding": "gzip"}},
		"random bytes":              {string(random), nil},
		"lines of empty objects":    {"{x\n" + strings.Repeat("{}\n", size/3-2), nil},
	}
}

// TestDecodingCostCoversWhatARequestAllocates measures what a request
// allocates, from a cold start (empty pools) and without collection,
// for bodies of every costly shape, and requires the decoding budget to
// have been charged at least that much: the figures in budget.go are
// what keeps the memory of many bodies at once bounded.
func TestDecodingCostCoversWhatARequestAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's own allocations would be counted")
	}
	mem := memstore.New()
	// A queue already full refuses the events after they are decoded, so
	// the queue's own growth, bounded by its size, is not counted.
	in, err := ingest.New(mem, ingest.Options{QueueSize: 1, BatchSize: 1, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, in.TryEnqueue(tracking.Event{ShopID: "s", Type: "x", AnonymousID: "a"}))
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	hh, err := New(Config{Store: mem, Ingester: in, Shops: []Shop{{ID: "s", WriteKey: "wk"}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h := hh.(*handler)
	var held int64
	h.cfg.budget.released = func(n int64) { held = n }

	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for name, tc := range costBodies(t) {
		for _, chunked := range []bool{false, true} {
			for _, key := range []string{"?key=wk", ""} {
				runtime.GC()
				runtime.GC() // empties the pools: the cold start costs most
				req := httptest.NewRequest("POST", "/events"+key, strings.NewReader(tc.body))
				if chunked {
					req.ContentLength = -1
				}
				for k, v := range tc.hdr {
					req.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				h.ServeHTTP(w, req)
				runtime.ReadMemStats(&after)
				allocated := int64(after.TotalAlloc - before.TotalAlloc)
				t.Logf("%-26s chunked=%-5v key=%-5v %d: %8d bytes, allocated %9d (%5.2f a byte), charged %9d (%5.2f a byte)",
					name, chunked, key != "", w.Code, len(tc.body), allocated, float64(allocated)/float64(len(tc.body)), held, float64(held)/float64(len(tc.body)))
				require.NotContains(t, w.Body.String(), errBusy.Error(), "the default budget holds one request")
				require.LessOrEqual(t, allocated, held, "%s: the charge covers what the request allocated", name)
			}
		}
	}
}

// watched is a request body that counts the bytes read from it.
type watched struct {
	r    *strings.Reader
	read int
}

func (b *watched) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

func budgetHandler(t *testing.T, cfg Config) *handler {
	t.Helper()
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	cfg.Store, cfg.Ingester, cfg.Logger = mem, in, slog.New(slog.DiscardHandler)
	cfg.Shops = []Shop{{ID: "s", WriteKey: "wk"}}
	hh, err := New(cfg)
	require.NoError(t, err)
	return hh.(*handler)
}

func TestPostEventsPastTheDecodingBudgetAnswers503WithoutReadingTheBody(t *testing.T) {
	h := budgetHandler(t, Config{RetryAfter: 3 * time.Second})
	const ev = `{"type":"page_viewed","anonymous_id":"a"}`
	for _, tc := range []struct {
		name, path, body string
		left             int64 // what the budget has left
	}{
		{"no room for its first bytes, with a key", "/events?key=wk", ev, 1},
		{"no room for its first bytes, the key in the body", "/events", `{"writeKey":"wk","type":"x","anonymous_id":"a"}`, 1},
		{"room to read it, not to decode it", "/events?key=wk", ev, 2 * int64(len(ev)+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.cfg.budget.used.Store(h.cfg.budget.max - tc.left)
			body := &watched{r: strings.NewReader(tc.body)}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", tc.path, body))
			require.Equal(t, 503, w.Code, w.Body.String())
			require.Equal(t, "3", w.Header().Get("Retry-After"))
			require.JSONEq(t, `{"error":"busy decoding other requests: try again later"}`, w.Body.String())
			if tc.left == 1 {
				require.Zero(t, body.read, "refused before a byte is read")
			}
			require.Equal(t, h.cfg.budget.max-tc.left, h.cfg.budget.used.Load(), "what it took is given back")

			h.cfg.budget.used.Store(0)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body)))
			require.Equal(t, 202, w.Code, "with room it is taken: %s", w.Body.String())
		})
	}
}

// Whatever a request ends in, it gives back all it took of the budget.
func TestPostEventsGivesBackTheBudgetOnEveryAnswer(t *testing.T) {
	h := budgetHandler(t, Config{MaxBodyBytes: 1 << 16})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(strings.Repeat(" ", 1<<17)))
	require.NoError(t, zw.Close())
	for _, tc := range []struct {
		name, path, body string
		hdr              map[string]string
		status           int
	}{
		{"accepted", "/events?key=wk", `{"type":"x","anonymous_id":"a"}`, nil, 202},
		{"nothing valid", "/events?key=wk", `[{"type":"x"}]`, nil, 400},
		{"not JSON", "/events?key=wk", `nope`, nil, 400},
		{"no key in the body", "/events", `{"type":"x","anonymous_id":"a"}`, nil, 401},
		{"over the limit", "/events?key=wk", strings.Repeat(" ", 1<<17), nil, 413},
		{"over the limit once gunzipped", "/events?key=wk", gz.String(), map[string]string{"Content-Encoding": "gzip"}, 413},
		{"too many events", "/events?key=wk", "[" + strings.Repeat("0,", 20_000) + "0]", nil, 413},
		{"bad gzip", "/events?key=wk", "nope", map[string]string{"Content-Encoding": "gzip"}, 400},
	} {
		for _, chunked := range []bool{false, true} {
			req := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
			if chunked {
				req.ContentLength = -1
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, tc.status, w.Code, "%s: %s", tc.name, w.Body.String())
			require.Zero(t, h.cfg.budget.used.Load(), tc.name)
		}
	}
}

func TestMaxDecodingBytesIsValidated(t *testing.T) {
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{})
	require.NoError(t, err)
	cfg := Config{Store: mem, Ingester: in}
	require.NoError(t, cfg.setDefaults())
	require.Equal(t, int64(64<<20), cfg.MaxDecodingBytes, "the default")

	cfg = Config{Store: mem, Ingester: in, MaxBodyBytes: 16 << 20}
	require.NoError(t, cfg.setDefaults())
	require.Equal(t, 2*worstCost(16<<20), cfg.MaxDecodingBytes, "room for two of the largest bodies")

	cfg = Config{Store: mem, Ingester: in, MaxDecodingBytes: -1}
	require.ErrorContains(t, cfg.setDefaults(), "Config.MaxDecodingBytes must not be negative")

	cfg = Config{Store: mem, Ingester: in, MaxDecodingBytes: 1 << 20}
	require.ErrorContains(t, cfg.setDefaults(), "Config.MaxDecodingBytes 1048576 cannot hold one body of MaxBodyBytes (1048576) at its worst")

	cfg = Config{Store: mem, Ingester: in, MaxDecodingBytes: worstCost(1 << 20)}
	require.NoError(t, cfg.setDefaults(), "one body at its worst is enough")
}

// Concurrent requests over a budget that holds about one of them: some are
// turned away with 503, the others are taken, and the budget ends empty.
func TestConcurrentPostsShareTheDecodingBudget(t *testing.T) {
	const limit = 1 << 16
	h := budgetHandler(t, Config{MaxBodyBytes: limit, MaxDecodingBytes: worstCost(limit)})
	big := array(limit-1000, func(i int) string { return fmt.Sprintf(`{"type":"x","anonymous_id":"a%d"}`, i) })
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	const clients, requests = 8, 10
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range requests {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("POST", "/events?key=wk", strings.NewReader(big)))
				mu.Lock()
				statuses[w.Code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("answers: %v", statuses)
	require.Equal(t, clients*requests, statuses[202]+statuses[503], "every answer is 202 or 503: %v", statuses)
	require.NotZero(t, statuses[202])
	require.Zero(t, h.cfg.budget.used.Load())
}
