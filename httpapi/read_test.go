package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

func TestReadAuthorisationAndParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	type tc struct {
		name   string
		key    string
		query  string
		status int
		field  string
	}
	cases := []tc{
		{"own shop", "rk_a", "", 200, ""},
		{"own shop named", "rk_a", "shop=shop-a", 200, ""},
		{"other shop", "rk_a", "shop=shop-b", 403, "shop"},
		{"admin with shop", adminKey, "shop=shop-b", 200, ""},
		{"admin without shop", adminKey, "", 400, "shop"},
		{"admin with unknown shop", adminKey, "shop=shop-zz", 404, "shop"},
		{"no key", "", "", 401, ""},
		{"unknown key", "rk_nope", "", 401, ""},
		{"write key", "wk_a", "", 401, ""},
		{"dates", "rk_a", "from=2026-01-01&to=2026-02-01", 200, ""},
		{"RFC 3339", "rk_a", "from=2026-01-01T00:00:00Z&to=2026-01-01T12:00:00%2B02:00", 200, ""},
		{"zone", "rk_a", "from=2026-01-01&to=2026-01-02&tz=Europe/Berlin", 200, ""},
		{"bad from", "rk_a", "from=yesterday", 400, "from"},
		{"bad to", "rk_a", "to=2026-13-01", 400, "to"},
		{"from after to", "rk_a", "from=2026-02-01&to=2026-01-01", 400, "from"},
		{"from equals to", "rk_a", "from=2026-02-01&to=2026-02-01", 400, "from"},
		{"unknown zone", "rk_a", "tz=Mars/Olympus", 400, "tz"},
		{"range too large", "rk_a", "from=2020-01-01&to=2026-01-01", 400, "from"},
		{"year one is not 'not given'", "rk_a", "from=0001-01-01", 400, "from"},
		{"zero instant", "rk_a", "from=0001-01-01T00:00:00Z&to=2026-01-01", 400, "from"},
		{"before 1970", "rk_a", "from=1969-12-31&to=1970-01-02", 400, "from"},
		{"year one to", "rk_a", "to=0001-01-01", 400, "to"},
	}
	for _, route := range []string{"/api/counts", "/api/export"} {
		all := append([]tc(nil), cases...)
		if route == "/api/export" {
			all = append(all, tc{"bad format", "rk_a", "format=xml", 400, "format"})
		}
		for _, c := range all {
			t.Run(route+"/"+c.name, func(t *testing.T) {
				status, b := e.get(c.key, route+"?"+c.query)
				require.Equal(t, c.status, status, string(b))
				if status != 200 {
					var eb struct{ Error, Field string }
					require.NoError(t, json.Unmarshal(b, &eb), string(b))
					require.NotEmpty(t, eb.Error)
					require.Equal(t, c.field, eb.Field)
				}
				if status == 404 {
					require.JSONEq(t, `{"error":"unknown shop","field":"shop"}`, string(b))
				}
			})
		}
	}
}

// knownSet posts a fixed set of events, with duplicates and rejects, and
// returns what must have been stored, by id.
func knownSet(t *testing.T, e *env) map[string]tracking.Event {
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339Nano) }
	body := fmt.Sprintf(`[
		{"id":"k1","type":"page_viewed","anonymous_id":"a1","url":"https://shop.example/","timestamp":%q},
		{"id":"k2","type":"product_viewed","anonymous_id":"a1","product_id":"p1","price":19.99,"timestamp":%q},
		{"id":"k3","type":"add_to_cart","anonymous_id":"a1","product_id":"p1","price":"19.99","quantity":2,"timestamp":%q},
		{"id":"k4","type":"purchase","user_id":"u1","revenue":"39.98","currency":"eur","order_id":"o1","properties":{"coupon":"X, \"Y\"\nZ","note":"ünïcödé"},"timestamp":%q},
		{"id":"k2","type":"product_viewed","anonymous_id":"a1","product_id":"p1"},
		{"id":"bad","type":"product_viewed","anonymous_id":"a1"},
		{"id":"k5","type":"product_viewed","anonymous_id":"a2","product_id":"p2","product_name":"Café, \"le\" grand\nmodèle","timestamp":%q}
	]`, ts(5*time.Hour), ts(4*time.Hour), ts(3*time.Hour), ts(2*time.Hour), ts(time.Hour))
	status, a := e.post("wk_a", body)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, 5, a.Accepted)
	require.Equal(t, 1, a.Duplicates)
	require.Len(t, a.Rejected, 1)
	// Sent again in a later request: the store drops them.
	status, _ = e.post("wk_a", `{"id":"k1","type":"page_viewed","anonymous_id":"a1"}`)
	require.Equal(t, http.StatusAccepted, status)
	// Another shop's events must never show up.
	status, _ = e.post("wk_b", `{"id":"b1","type":"page_viewed","anonymous_id":"z"}`)
	require.Equal(t, http.StatusAccepted, status)
	e.flush()
	out := map[string]tracking.Event{}
	for _, ev := range e.stored("shop-a") {
		out[ev.ID] = ev
	}
	require.Len(t, out, 5)
	return out
}

func TestCountsMatchWhatWasPosted(t *testing.T) {
	e := newEnv(t, envOptions{})
	knownSet(t, e)
	status, b := e.get("rk_a", "/api/counts")
	require.Equal(t, 200, status, string(b))
	require.JSONEq(t, `{"shop_id":"shop-a","counts":[
		{"event_name":"product_viewed","count":2},
		{"event_name":"add_to_cart","count":1},
		{"event_name":"page_viewed","count":1},
		{"event_name":"purchase_completed","count":1}]}`, string(b))

	// The range is honoured: only the last 150 minutes.
	from := time.Now().Add(-150 * time.Minute).UTC().Format(time.RFC3339)
	status, b = e.get(adminKey, "/api/counts?shop=shop-a&from="+from)
	require.Equal(t, 200, status, string(b))
	require.JSONEq(t, `{"shop_id":"shop-a","counts":[
		{"event_name":"product_viewed","count":1},
		{"event_name":"purchase_completed","count":1}]}`, string(b))

	status, b = e.get("rk_b", "/api/counts")
	require.Equal(t, 200, status)
	require.JSONEq(t, `{"shop_id":"shop-b","counts":[{"event_name":"page_viewed","count":1}]}`, string(b))
}

func TestExportNDJSONMatchesWhatWasPosted(t *testing.T) {
	e := newEnv(t, envOptions{})
	want := knownSet(t, e)
	status, hdr, b := e.do("GET", "/api/export", nil, map[string]string{"Authorization": "Bearer rk_a"})
	require.Equal(t, 200, status, string(b))
	require.Equal(t, "application/x-ndjson", hdr.Get("Content-Type"))
	require.Contains(t, hdr.Get("Content-Disposition"), `attachment; filename="shoplytics-shop-a-`)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 5)
	var prev time.Time
	for _, line := range lines {
		got, err := tracking.DecodeStored([]byte(line))
		require.NoError(t, err)
		w, ok := want[got.ID]
		require.True(t, ok, got.ID)
		require.Equal(t, string(w.AppendJSON(nil)), string(got.AppendJSON(nil)), "every field, received_at included")
		require.False(t, got.ReceivedAt.IsZero())
		require.False(t, got.Timestamp.Before(prev), "time order")
		prev = got.Timestamp
	}
	require.Equal(t, "39.98", mustEvent(t, lines, "k4").Revenue.String())
	require.Equal(t, "EUR", mustEvent(t, lines, "k4").Currency)
}

func mustEvent(t *testing.T, lines []string, id string) tracking.Event {
	for _, l := range lines {
		ev, err := tracking.DecodeStored([]byte(l))
		require.NoError(t, err)
		if ev.ID == id {
			return ev
		}
	}
	t.Fatalf("no event %s", id)
	return tracking.Event{}
}

func TestExportCSVQuotingReadsBack(t *testing.T) {
	e := newEnv(t, envOptions{})
	want := knownSet(t, e)
	status, hdr, b := e.do("GET", "/api/export?format=csv", nil, map[string]string{"Authorization": "Bearer rk_a"})
	require.Equal(t, 200, status, string(b))
	require.Equal(t, "text/csv; charset=utf-8", hdr.Get("Content-Type"))
	require.Contains(t, hdr.Get("Content-Disposition"), `.csv"`)
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 6)
	header := records[0]
	require.Equal(t, []string{"id", "shop_id", "type", "user_id", "anonymous_id", "session_id",
		"product_id", "product_name", "category", "price", "quantity", "revenue", "currency",
		"order_id", "url", "referrer", "user_agent", "properties", "timestamp", "received_at"}, header)
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, rec := range records[1:] {
		w := want[rec[col["id"]]]
		require.Equal(t, w.ProductName, rec[col["product_name"]])
		require.Equal(t, w.Type, rec[col["type"]])
		require.Equal(t, w.Timestamp.Format(time.RFC3339Nano), rec[col["timestamp"]])
		if len(w.Properties) > 0 {
			require.JSONEq(t, string(w.Properties), rec[col["properties"]])
		}
	}
	k5 := records[5]
	require.Equal(t, "Café, \"le\" grand\nmodèle", k5[col["product_name"]], "commas, quotes, newlines and non-ASCII survive")
	k4 := records[4]
	require.Equal(t, "39.98", k4[col["revenue"]])
	require.JSONEq(t, `{"coupon":"X, \"Y\"\nZ","note":"ünïcödé"}`, k4[col["properties"]])
}

// TestExportStreamsInFlatMemory exports 200,000 events from SQLite and
// checks the heap does not grow with them: the export holds one event at a
// time, from the database cursor to the socket.
func TestExportStreamsInFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large export")
	}
	st, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "export.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e := newEnv(t, envOptions{store: st})
	const n = 200_000
	base := time.Now().Add(-24 * time.Hour).UTC()
	batch := make([]tracking.Event, 0, 10_000)
	for i := range n {
		batch = append(batch, tracking.Event{
			ID: fmt.Sprintf("m%07d", i), ShopID: "shop-a", Type: tracking.ProductViewed,
			AnonymousID: "a", ProductID: "p", Timestamp: base.Add(time.Duration(i) * time.Millisecond), ReceivedAt: base,
			Properties: json.RawMessage(`{"k":"some value that takes up room"}`),
		})
		if len(batch) == cap(batch) {
			_, err := e.store.Append(context.Background(), batch)
			require.NoError(t, err)
			batch = batch[:0]
		}
	}
	req, err := http.NewRequest("GET", e.url+"/api/export", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer rk_a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	sc := bufio.NewScanner(resp.Body)
	lines := 0
	var at10k, atEnd uint64
	for sc.Scan() {
		lines++
		if lines == 10_000 {
			at10k = heap()
		}
		if lines == n-10 {
			atEnd = heap()
		}
	}
	require.NoError(t, sc.Err())
	require.Equal(t, n, lines)
	growth := int64(atEnd) - int64(at10k)
	t.Logf("heap after 10k lines %d KiB, near the end %d KiB, growth %d KiB over %d events", at10k>>10, atEnd>>10, growth>>10, n-10_010)
	// 190,000 exported events are ~30 MB of NDJSON; holding them would
	// grow the heap by far more than 4 MiB.
	require.Less(t, growth, int64(4<<20))
}

// watchedStore reports how each Events iteration ended.
type watchedStore struct {
	store.Store
	ended chan error // the ctx error when an iteration stopped
}

func (w *watchedStore) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	inner := w.Store.Events(ctx, f)
	return func(yield func(tracking.Event, error) bool) {
		defer func() { w.ended <- ctx.Err() }()
		inner(yield)
	}
}

func TestExportStopsWhenTheClientGoesAway(t *testing.T) {
	ws := &watchedStore{Store: memstore.New(), ended: make(chan error, 1)}
	e := newEnv(t, envOptions{store: ws})
	batch := make([]tracking.Event, 0, 200_000) // ~30 MB of NDJSON: more than socket buffers hold
	base := time.Now().Add(-time.Hour).UTC()
	for i := range cap(batch) {
		batch = append(batch, tracking.Event{ID: fmt.Sprintf("g%06d", i), ShopID: "shop-a", Type: tracking.PageViewed,
			AnonymousID: "a", Timestamp: base.Add(time.Duration(i) * time.Microsecond), ReceivedAt: base})
	}
	_, err := ws.Append(context.Background(), batch)
	require.NoError(t, err)

	req, err := http.NewRequest("GET", e.url+"/api/export", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer rk_a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, err = io.ReadFull(resp.Body, make([]byte, 4096))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close()) // hang up mid-export

	select {
	case err := <-ws.ended:
		require.ErrorIs(t, err, context.Canceled, "the query stops with the request's context")
	case <-time.After(30 * time.Second):
		t.Fatal("the export went on after the client left")
	}
}

func TestReadErrorsSayTheRangeInDays(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, b := e.get("rk_a", "/api/counts?from=2020-01-01&to=2026-01-01")
	require.Equal(t, 400, status)
	require.Contains(t, string(b), "range longer than 400 days")
}

func TestReadsDefaultToTheShopsZone(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) {
		c.Shops = []httpapi.Shop{{ID: "shop-a", WriteKey: "wk_a", ReadKey: "rk_a", Timezone: "Pacific/Auckland"}}
	}})
	// 2026-01-10 in Auckland (UTC+13) starts at 2026-01-09T11:00Z.
	status, _ := e.post("wk_a", `[
		{"id":"in","type":"page_viewed","anonymous_id":"a","timestamp":"2026-01-09T11:30:00Z"},
		{"id":"out","type":"page_viewed","anonymous_id":"a","timestamp":"2026-01-09T10:30:00Z"}]`)
	require.Equal(t, http.StatusAccepted, status)
	e.flush()
	status, b := e.get("rk_a", "/api/export?from=2026-01-10&to=2026-01-11")
	require.Equal(t, 200, status, string(b))
	require.Contains(t, string(b), `"id":"in"`)
	require.NotContains(t, string(b), `"id":"out"`)
	status, b = e.get("rk_a", "/api/export?from=2026-01-10&to=2026-01-11&tz=UTC")
	require.Equal(t, 200, status, string(b))
	require.Empty(t, strings.TrimSpace(string(b)), "tz= overrides the shop's zone")
}

func TestExportCSVNeutralisesFormulas(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, a := e.post("wk_a", `[
		{"id":"=1+1","type":"product_viewed","anonymous_id":"+a","session_id":"-s","product_id":"@p","product_name":"=HYPERLINK(\"http://evil.example\",\"x\")","category":"\tcat","url":"\rhttps://shop.example/","referrer":"-2+3","user_agent":"@ua","order_id":"=o","user_id":"=cmd|' /C calc'!A0","price":"1.00"},
		{"id":"plain","type":"page_viewed","anonymous_id":"a-1","url":"https://shop.example/a=b"}]`)
	require.Equal(t, http.StatusAccepted, status, a.Error)
	require.Empty(t, a.Rejected)
	e.flush()
	status, _, b := e.do("GET", "/api/export?format=csv", nil, map[string]string{"Authorization": "Bearer rk_a"})
	require.Equal(t, 200, status, string(b))
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 3)
	for _, rec := range records[1:] {
		for i, cell := range rec {
			if cell != "" {
				require.NotContains(t, "=+-@\t\r", cell[:1], "column %s: %q", records[0][i], cell)
			}
		}
	}
	byID := map[string][]string{}
	for _, rec := range records[1:] {
		byID[rec[0]] = rec
	}
	evil := byID["'=1+1"]
	require.NotNil(t, evil, "the id is neutralised too")
	require.Equal(t, `'=HYPERLINK("http://evil.example","x")`, evil[7])
	require.Equal(t, "'\tcat", evil[8])
	require.Equal(t, "1.00", evil[9])
	plain := byID["plain"]
	require.Equal(t, "a-1", plain[4], "values that merely contain the characters are left alone")
	require.Equal(t, "https://shop.example/a=b", plain[14])

	// NDJSON is the stored data, unchanged.
	status, b = e.get("rk_a", "/api/export")
	require.Equal(t, 200, status)
	require.Contains(t, string(b), `"id":"=1+1"`)
}

// TestExportNDJSONIsOneLineAnEvent: an event handed to the ingester already
// received keeps properties with line breaks; the export still writes it as
// one line.
func TestExportNDJSONIsOneLineAnEvent(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := time.Now()
	ev := tracking.Event{ID: "nl", ShopID: "shop-a", Type: tracking.PageViewed, AnonymousID: "a",
		Timestamp: now.Add(-time.Minute), ReceivedAt: now, Properties: json.RawMessage("{\n \"a\": 1\n}")}
	require.NoError(t, e.in.Enqueue(context.Background(), ev))
	e.flush()
	status, b := e.get("rk_a", "/api/export?format=ndjson")
	require.Equal(t, http.StatusOK, status, string(b))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	require.Len(t, lines, 1, string(b))
	var got tracking.Event
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	require.JSONEq(t, `{"a":1}`, string(got.Properties))
}
