package tracking

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// decodeReference is DecodeBody through encoding/json alone.
func decodeReference(data []byte, ndjson bool) (*Body, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return DecodeBody(data, ndjson)
	}
	if ndjson {
		return decodeNDJSON(data)
	}
	return decodeBodyJSON(data)
}

// requireSameDecoding checks that the fast decoder and encoding/json agree
// on data: the same body error, or the same events and the same rejections.
func requireSameDecoding(t *testing.T, data []byte, ndjson bool) {
	t.Helper()
	want, wantErr := decodeReference(data, ndjson)
	got, err := DecodeBody(data, ndjson)
	if wantErr != nil {
		require.EqualError(t, err, wantErr.Error())
		return
	}
	require.NoError(t, err)
	require.Equal(t, want.WriteKey, got.WriteKey)
	require.Equal(t, want.SentAt, got.SentAt)
	require.Equal(t, want.Len(), got.Len())
	opts := NormalizeOptions{Now: testNow, ShopID: "shop1"}
	wantEvents, wantRejected := want.Events(opts)
	gotEvents, gotRejected := got.Events(opts)
	require.Equal(t, len(wantEvents), len(gotEvents))
	for i := range wantEvents {
		w, g := wantEvents[i], gotEvents[i]
		if w.ID != g.ID && uuidV7.MatchString(w.ID) && uuidV7.MatchString(g.ID) {
			w.ID, g.ID = "", "" // both generated
		}
		if len(w.Properties) == 0 && len(g.Properties) == 0 {
			w.Properties, g.Properties = nil, nil
		}
		require.Equal(t, w, g, "event %d of %q", i, data)
	}
	require.Equal(t, len(wantRejected), len(gotRejected), "%q", data)
	for i := range wantRejected {
		require.Equal(t, wantRejected[i].Index, gotRejected[i].Index)
		require.EqualError(t, gotRejected[i].Err, wantRejected[i].Err.Error(), "%q", data)
	}
}

var fastDecodeSeeds = []string{
	`{"type":"page_viewed","anonymous_id":"a"}`,
	`{"id":7,"type":"view","userId":7,"product_id":"p","price":"1.5","currency":"jpy","quantity":2}`,
	`[{"type":"view","userId":7,"product_id":"p","price":" 1.5 ","currency":"jpy"},1,{"type":5},"s",null,[],{}]`,
	`{"batch":[{"event":"purchase","anonymousId":"a","total":10.005,"properties":{ "a" : [1,{"b":null}] }}],"writeKey":"k","sentAt":"2025-03-14T15:00:00Z"}`,
	`{"sentAt":"2025-03-14T15:00:00Z","batch":[{"type":"x","session_id":"s","timestamp":"2025-03-14T14:00:00Z"}],"writeKey":"k","type":"ignored"}`,
	`{"batch":[],"writeKey":"k"}`, `{"batch":null,"type":"x","anonymous_id":"a"}`, `{"batch":5}`, `{"batch":{}}`,
	`{"writeKey":5,"type":"x","anonymous_id":"a"}`,
	"{\"type\":\"x\",\"session_id\":\"s\"}\n{\"type\":\"y\"}\n{bad\n[1]\n",
	`{"type":"x","anonymous_id":"a\u2028\ud800\ud83d\ude00\u00e9\\\/\"\b\f\n\r\t","timestamp":"2025-03-14T15:00:00.1234567+01:00","sent_at":"2025-03-14T18:00:00Z"}`,
	"{\"type\":\"x\",\"anonymous_id\":\"bad \xff utf8 \xed\xa0\x80\",\"properties\":{\"k\":\"\xff\"}}",
	`{"type":"x","anonymous_id":"a","properties":{ "k" : "v w" }, "quantity":"2"}`,
	`{"type":"x","anonymous_id":"a","Type":"y"}`, `{"type":"x","type":"y","anonymous_id":"a"}`,
	`{"type":"x","anonymous_id":"a","ANONYMOUS_ID":"b"}`, `{"TYPE":"x","anonymous_id":"a"}`,
	`{"type":"x","anonymous_id":"a","ſession_id":"b"}`, `{"type":"x","anonymous_\u0069d":"a"}`,
	`{"type":"x","anonymous_id":"a","quantity":1e2}`, `{"type":"x","anonymous_id":"a","quantity":-3}`,
	`{"type":"x","anonymous_id":"a","quantity":99999999999999999999}`, `{"type":"x","anonymous_id":"a","quantity":null}`,
	`{"type":"x","anonymous_id":"a","price":-0.5e1,"revenue":"1e400"}`, `{"type":"x","anonymous_id":"a","price":""}`,
	`{"type":"x","anonymous_id":"a","price":true}`, `{"type":null,"event":"y","anonymous_id":"a"}`,
	`{"type":"x","anonymous_id":"a","properties":null}`, `{"type":"x","anonymous_id":"a","properties":[]}`,
	`{"type":"x","anonymous_id":"a","properties":"{}"}`, `{"type":"x","anonymous_id":"a","url":1}`,
	`{"type":"x","anonymous_id":"a","extra":{"deep":[[[{"x":"\u0000"}]]]},"context":null}`,
	`{"type":"x","anonymous_id":"a"}{"type":"y","anonymous_id":"a"}`, `[{"type":"x"},]`, `[01]`, `{"a":tru}`,
	`{"type":"x","anonymous_id":"a","batch":[1],"writeKey":"k"}`, `[{"type":"x","anonymous_id":"a","batch":[1],"writeKey":3}]`,
	`[{"type":"x","anonymous_id":"a","product_id":"p\u0000"},{"type":"x","anonymous_id":"a"}]`,
	`{"type":"x","session_id":"s","user_agent":"\u0000"}`, `[{"type":"x","anonymous_id":"a\\u0000"}]`,
	"[{\"type\":\"x\",\"anonymous_id\":\"a\",\"url\":\"\xc3\"},{\"type\":\"x\",\"anonymous_id\":\"\xe6\x97\xa5\"}]",
	"[\n {\"type\" : \"x\" ,\n  \"anonymous_id\" : \"a\" }\n]", `[{"type":"x","anonymous_id":"a","timestamp":"2025-03-16T15:00:00Z"}]`,
	`{"type":"purchase","anonymous_id":"a","revenue":"19.999","currency":"USD"}`, `{"currency":"jpy","type":"x","anonymous_id":"a","price":100.5}`,
	`[{"type":"x","anonymous_id":"a","price":0.30000000000000004,"total":0.7999999999999999},{"type":"x","anonymous_id":"a","price":-1}]`,
	`[{"type":"x","session_id":"s\ud800"},{"type":"x","session_id":"s\udbff"},{"type":"x","session_id":"s\ud83d\ude00"}]`,
	`{"eventType":"x","userId":"\udc00","anonymousId":"a"}`, `{"type":"x","anonymous_id":"a","url":"\ud800\u0041"}`,
	`{"type":"x","anonymous_id":"a","timestamp":"2025-03-14T15:00:00Z\ud800"}`, `{"type":"x","anonymous_id":"a","currency":"US\udfff"}`,
	`{"type":"x","anonymous_id":"a","price":"1\ud800"}`, `{"type":"x","anonymous_id":"a","quantity":"\ud800"}`,
	"{\"type\":\"x\",\"anonymous_id\":\"a\",\"category\":\"\xed\xa0\x80\"}", "{\"event\":\"x\xff\",\"anonymous_id\":\"a\"}",
	"{\"type\":\"x\",\"anonymous_id\":\"a\",\"order_id\":\"\\n\xc3\"}",
	`{"batch":[{"type":"x","anonymous_id":"a"}],"sentAt":"\ud800","writeKey":"k"}`, `{"batch":[{"type":"x","anonymous_id":"a"}],"writeKey":"k\ud800"}`,
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range fastDecodeSeeds {
		for _, ndjson := range []bool{false, true} {
			requireSameDecoding(t, []byte(s), ndjson)
		}
	}
	requireSameDecoding(t, benchBody(100), false)
}

// The fast decoder and encoding/json give the same events or the same
// rejections on every input.
func FuzzFastDecode(f *testing.F) {
	for _, s := range fastDecodeSeeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(benchEvent(1)), false)
	f.Fuzz(func(t *testing.T, data []byte, ndjson bool) {
		requireSameDecoding(t, data, ndjson)
	})
}

// requireSameStored checks that DecodeStored's fast path and encoding/json
// agree on data: the same event, or the same error.
func requireSameStored(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := decodeStoredJSON(data)
	got, err := DecodeStored(data)
	if wantErr != nil {
		require.EqualError(t, err, wantErr.Error(), "%q", data)
		return
	}
	require.NoError(t, err, "%q", data)
	if len(want.Properties) == 0 && len(got.Properties) == 0 {
		want.Properties, got.Properties = nil, nil
	}
	require.Equal(t, want, got, "%q", data)
}

// storedSeeds are events as AppendJSON writes them, and near misses.
func storedSeeds(t testing.TB) [][]byte {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	events := []Event{
		{ID: "e1", ShopID: "s", Type: ProductViewed, AnonymousID: "a", Timestamp: at, ReceivedAt: at.Add(time.Second)},
		{ID: "e\x002", ShopID: "s", Type: PurchaseCompleted, UserID: "u", SessionID: "x", OrderID: "o", Quantity: 3,
			Price: Money{Minor: 1999, Currency: "USD"}, Revenue: Money{Minor: -5, Currency: "USD"}, Currency: "USD",
			ProductID: "p", ProductName: "Ünïcode \"quoted\" \\ name\u2028", Category: "c", URL: "https://x/y?z=1&w=2",
			Referrer: "r", UserAgent: "ua", Properties: []byte(`{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`),
			Timestamp: at, ReceivedAt: at},
		{ID: "e3", ShopID: "s", Type: "custom_type", AnonymousID: "a", Price: Money{Minor: 5, Currency: "JPY"}, Currency: "JPY",
			Timestamp: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	var out [][]byte
	for i := range events {
		out = append(out, events[i].AppendJSON(nil))
	}
	out = append(out,
		[]byte(`{"id":"x","type":"t","received_at":"not a time","timestamp":"2026-01-01T00:00:00Z"}`),
		[]byte(`{"id":"x","type":"t","received_at":"2026-01-01T01:00:00+01:00"}`),
		[]byte(` {"id":"x","type":"t"} `), []byte(`{"id":"x","type":"t"}{}`), []byte(`{"id":"x","id":"y"}`),
		[]byte(`{"id":"x","quantity":"2","price":"1.50","currency":"eur"}`), []byte(`[]`), []byte(``), []byte(`{`),
	)
	for _, s := range fastDecodeSeeds {
		out = append(out, []byte(s))
	}
	return out
}

func TestDecodeStoredMatchesEncodingJSON(t *testing.T) {
	for _, data := range storedSeeds(t) {
		requireSameStored(t, data)
	}
}

// DecodeStored's fast path and encoding/json give the same event or the
// same error on every input.
func FuzzDecodeStored(f *testing.F) {
	for _, data := range storedSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		requireSameStored(t, data)
	})
}
