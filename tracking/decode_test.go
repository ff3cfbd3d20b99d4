package tracking

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecodeBody(t *testing.T) {
	ev := func(id string) string { return `{"id":"` + id + `","type":"page_viewed","anonymous_id":"a"}` }
	bad := `{"id":"bad","type":"product_viewed","anonymous_id":"a"}` // no product_id
	for _, tc := range []struct {
		name     string
		body     string
		ndjson   bool
		writeKey string
		sentAt   time.Time
		ids      []string // accepted, in body order
		rejected []int
	}{
		{name: "single object", body: ev("e1"), ids: []string{"e1"}},
		{name: "single object with white space", body: "\n  " + ev("e1") + " \n", ids: []string{"e1"}},
		{name: "single bad object", body: bad, rejected: []int{0}},
		{name: "single object with a wrong type", body: `{"type":"x","anonymous_id":"a","quantity":"lots"}`, rejected: []int{0}},
		{name: "array", body: "[" + ev("e1") + "," + ev("e2") + "]", ids: []string{"e1", "e2"}},
		{name: "empty array", body: "[]"},
		{name: "array with bad events", body: "[" + bad + "," + ev("e1") + `,1,"s",null,[],` + bad + "," + ev("e2") + `,{"type":5}]`,
			ids: []string{"e1", "e2"}, rejected: []int{0, 2, 3, 4, 5, 6, 8}},
		{name: "batch", body: `{"batch":[` + ev("e1") + "," + bad + "," + ev("e2") + `],"writeKey":"wk_1","sentAt":"2025-03-14T15:00:00Z"}`,
			writeKey: "wk_1", sentAt: time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC), ids: []string{"e1", "e2"}, rejected: []int{1}},
		{name: "batch with sent_at", body: `{"sent_at":"2025-03-14T15:00:00Z","batch":[` + ev("e1") + `]}`,
			sentAt: time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC), ids: []string{"e1"}},
		{name: "single object with writeKey", body: `{"writeKey":"wk_2","type":"x","anonymous_id":"a","id":"e1"}`, writeKey: "wk_2", ids: []string{"e1"}},
		{name: "ndjson forced", body: ev("e1") + "\n" + bad + "\n\n" + ev("e2") + "\r\n", ndjson: true, ids: []string{"e1", "e2"}, rejected: []int{1}},
		{name: "ndjson forced, one line", body: ev("e1"), ndjson: true, ids: []string{"e1"}},
		{name: "ndjson forced, broken line", body: ev("e1") + "\n{\"type\":\n" + ev("e2"), ndjson: true, ids: []string{"e1", "e2"}, rejected: []int{1}},
		{name: "ndjson forced, array line", body: "[" + ev("e1") + "]\n" + ev("e2"), ndjson: true, ids: []string{"e2"}, rejected: []int{0}},
		{name: "ndjson detected", body: ev("e1") + "\n" + ev("e2") + "\n" + bad + "\n", ids: []string{"e1", "e2"}, rejected: []int{2}},
		{name: "ndjson detected, broken line", body: ev("e1") + "\n{nope\n" + ev("e2"), ids: []string{"e1", "e2"}, rejected: []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBody([]byte(tc.body), tc.ndjson)
			require.NoError(t, err)
			require.Equal(t, tc.writeKey, b.WriteKey)
			require.Equal(t, tc.sentAt, b.SentAt)
			require.Equal(t, len(tc.ids)+len(tc.rejected), b.Len())
			events, rejected := b.Events(NormalizeOptions{Now: testNow, ShopID: "shop1"})
			var ids []string
			for _, e := range events {
				require.NoError(t, Validate(&e))
				ids = append(ids, e.ID)
			}
			require.Equal(t, tc.ids, ids)
			var idx []int
			for _, r := range rejected {
				idx = append(idx, r.Index)
				var ve *ValidationError
				require.ErrorAs(t, r.Err, &ve)
			}
			require.Equal(t, tc.rejected, idx)
		})
	}
}

func TestDecodeBodyRejectsTheBody(t *testing.T) {
	many := "[" + strings.Repeat(`{},`, MaxBatchLen) + "{}]"
	for _, tc := range []struct {
		name   string
		body   string
		ndjson bool
	}{
		{"empty", "", false},
		{"white space", " \n\t ", false},
		{"empty ndjson", "\n\n", true},
		{"garbage", "hello", false},
		{"number", "42", false},
		{"string", `"event"`, false},
		{"null", "null", false},
		{"truncated object", `{"type":"x"`, false},
		{"truncated array", `[{"type":"x"}`, false},
		{"broken array", `[{"type":"x"},}]`, false},
		{"concatenated on one line", `{"type":"x"}{"type":"y"}`, false},
		{"batch too long", `{"batch":` + many + `}`, false},
		{"array too long", many, false},
		{"ndjson too long", strings.Repeat("{}\n", MaxBatchLen+1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBody([]byte(tc.body), tc.ndjson)
			require.ErrorIs(t, err, ErrBody)
		})
	}
	_, err := DecodeBody([]byte("["+strings.Repeat(`{},`, MaxBatchLen-1)+"{}]"), false)
	require.NoError(t, err, "exactly MaxBatchLen is fine")
}

// A bad event never stops the others: every index is reported once, either
// accepted or rejected.
func TestEventsReportsEveryIndex(t *testing.T) {
	var items []string
	for i := range 100 {
		if i%3 == 0 {
			items = append(items, fmt.Sprintf(`{"id":"e%d","type":"x"}`, i)) // nobody
		} else {
			items = append(items, fmt.Sprintf(`{"id":"e%d","type":"x","anonymous_id":"a"}`, i))
		}
	}
	b, err := DecodeBody([]byte("["+strings.Join(items, ",")+"]"), false)
	require.NoError(t, err)
	events, rejected := b.Events(NormalizeOptions{Now: testNow, ShopID: "s"})
	require.Len(t, rejected, 34)
	require.Len(t, events, 66)
	for k, r := range rejected {
		require.Equal(t, 3*k, r.Index)
		require.EqualError(t, r.Err, "anonymous_id: one of user_id, anonymous_id or session_id is required")
	}
}

func TestEventsAppliesBatchSentAt(t *testing.T) {
	body := `{"sentAt":"2025-03-14T17:09:26.535897Z","batch":[
		{"id":"e1","type":"x","anonymous_id":"a","timestamp":"2025-03-14T17:00:00Z"},
		{"id":"e2","type":"x","anonymous_id":"a","timestamp":"2025-03-14T17:00:00Z","sent_at":"2025-03-14T16:09:26.535897Z"}]}`
	b, err := DecodeBody([]byte(body), false)
	require.NoError(t, err)
	events, rejected := b.Events(NormalizeOptions{Now: testNow, ShopID: "s"})
	require.Empty(t, rejected)
	require.Equal(t, time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC), events[0].Timestamp, "two hours fast")
	require.Equal(t, time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC), events[1].Timestamp, "its own sent_at: one hour fast")
}

func TestEventsBindsTheShop(t *testing.T) {
	body := `[{"type":"x","anonymous_id":"a"},{"type":"x","anonymous_id":"a","shop_id":"mine"},{"type":"x","anonymous_id":"a","shopId":"other"}]`
	b, err := DecodeBody([]byte(body), false)
	require.NoError(t, err)
	events, rejected := b.Events(NormalizeOptions{Now: testNow, ShopID: "mine"})
	require.Len(t, events, 2)
	require.Equal(t, "mine", events[0].ShopID)
	require.Equal(t, "mine", events[1].ShopID)
	require.Len(t, rejected, 1)
	require.Equal(t, 2, rejected[0].Index)
	var ve *ValidationError
	require.ErrorAs(t, rejected[0].Err, &ve)
	require.Equal(t, "shop_id", ve.Field)
}

func fullEvent() Event {
	return Event{
		ID:          "0195953f-1d3b-7c4e-9a2b-5f6e7d8c9b0a",
		ShopID:      "shop-1",
		Type:        PurchaseCompleted,
		UserID:      "u1",
		AnonymousID: "a1",
		SessionID:   "s1",
		ProductID:   "p1",
		ProductName: "Mug \"Large\"",
		Category:    "Kitchen/Mugs",
		Price:       Money{1250, "KWD"},
		Quantity:    3,
		Revenue:     Money{3750, "KWD"},
		Currency:    "KWD",
		OrderID:     "o-77",
		URL:         "https://shop.example/p/1?a=1&b=<2>",
		Referrer:    "https://google.com/search?q=mug",
		UserAgent:   "Mozilla/5.0 (X11; Linux x86_64)",
		Properties:  json.RawMessage(`{"coupon":"SPRING","items":[{"id":"p1","q":3}],"gift":false}`),
		Timestamp:   time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		ReceivedAt:  time.Date(2025, 3, 14, 15, 9, 27, 0, time.UTC),
	}
}

func TestAppendJSONRoundTrip(t *testing.T) {
	full := fullEvent()
	// Each field alone, then all of them: nothing is lost or invented.
	cases := map[string]Event{"all": full, "none": {}}
	v := func(f func(e *Event)) Event { var e Event; f(&e); return e }
	cases["id"] = v(func(e *Event) { e.ID = full.ID })
	cases["shop_id"] = v(func(e *Event) { e.ShopID = full.ShopID })
	cases["type"] = v(func(e *Event) { e.Type = full.Type })
	cases["user_id"] = v(func(e *Event) { e.UserID = full.UserID })
	cases["anonymous_id"] = v(func(e *Event) { e.AnonymousID = full.AnonymousID })
	cases["session_id"] = v(func(e *Event) { e.SessionID = full.SessionID })
	cases["product_id"] = v(func(e *Event) { e.ProductID = full.ProductID })
	cases["product_name"] = v(func(e *Event) { e.ProductName = full.ProductName })
	cases["category"] = v(func(e *Event) { e.Category = full.Category })
	cases["price"] = v(func(e *Event) { e.Price = Money{-1999, "USD"}; e.Currency = "USD" })
	cases["price JPY"] = v(func(e *Event) { e.Price = Money{500, "JPY"}; e.Currency = "JPY" })
	cases["zero price"] = v(func(e *Event) { e.Price = Money{0, "EUR"}; e.Currency = "EUR" })
	cases["quantity"] = v(func(e *Event) { e.Quantity = 1 << 40 })
	cases["revenue"] = v(func(e *Event) { e.Revenue = Money{9223372036854775807, "USD"}; e.Currency = "USD" })
	cases["currency"] = v(func(e *Event) { e.Currency = "EUR" })
	cases["order_id"] = v(func(e *Event) { e.OrderID = full.OrderID })
	cases["url"] = v(func(e *Event) { e.URL = full.URL })
	cases["referrer"] = v(func(e *Event) { e.Referrer = full.Referrer })
	cases["user_agent"] = v(func(e *Event) { e.UserAgent = full.UserAgent })
	cases["properties"] = v(func(e *Event) { e.Properties = full.Properties })
	cases["timestamp"] = v(func(e *Event) { e.Timestamp = full.Timestamp })
	cases["received_at"] = v(func(e *Event) { e.ReceivedAt = full.ReceivedAt })
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			out := e.AppendJSON(nil)
			require.True(t, json.Valid(out), string(out))
			got, err := DecodeStored(out)
			require.NoError(t, err)
			requireSameEvent(t, e, got)
		})
	}
}

func requireSameEvent(t *testing.T, want, got Event) {
	t.Helper()
	require.True(t, want.Timestamp.Equal(got.Timestamp), "timestamp %v != %v", want.Timestamp, got.Timestamp)
	require.True(t, want.ReceivedAt.Equal(got.ReceivedAt), "received_at %v != %v", want.ReceivedAt, got.ReceivedAt)
	want.Timestamp, got.Timestamp = time.Time{}, time.Time{}
	want.ReceivedAt, got.ReceivedAt = time.Time{}, time.Time{}
	if len(want.Properties) == 0 {
		want.Properties = nil
	}
	if len(got.Properties) == 0 {
		got.Properties = nil
	}
	require.Equal(t, want, got)
}

// Strings that trip up hand-written encoders still come out as valid JSON
// that decodes to the same text (invalid UTF-8 as U+FFFD, as encoding/json
// does).
func TestAppendJSONNastyStrings(t *testing.T) {
	for _, s := range []string{
		`"quoted"`, `back\slash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"\u2028line\u2029para", "<script>&amp;</script>", "héllo 日本 😀",
		"bad \xff utf8", "\xc3", "\xed\xa0\x80", "end\\",
	} {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			e := fullEvent()
			e.ProductName, e.URL, e.UserID = s, s, s
			out := e.AppendJSON(nil)
			require.True(t, json.Valid(out), string(out))
			require.NotContains(t, string(out), "\u2028")
			var m map[string]any
			require.NoError(t, json.Unmarshal(out, &m))
			want := strings.ToValidUTF8(s, "\uFFFD")
			if s == "\xed\xa0\x80" { // a surrogate's encoding is three bad bytes
				want = "\uFFFD\uFFFD\uFFFD"
			}
			require.Equal(t, want, m["product_name"])
			got, err := DecodeStored(out)
			require.NoError(t, err)
			require.Equal(t, want, got.ProductName)
		})
	}
}

// encoding/json and AppendJSON agree byte for byte, except that json.Marshal
// escapes <, > and & for HTML.
func TestMarshalEqualsAppendJSON(t *testing.T) {
	e := fullEvent()
	e.ProductName = "tab\t \"q\" \u2028 \x01 \xff"
	marshalled, err := json.Marshal(e)
	require.NoError(t, err)
	var escaped bytes.Buffer
	appended := e.AppendJSON(nil)
	json.HTMLEscape(&escaped, appended)
	require.Equal(t, escaped.String(), string(marshalled))

	e.URL = "https://shop.example/p/1"
	marshalled, err = json.Marshal(&e)
	require.NoError(t, err)
	require.Equal(t, string(e.AppendJSON(nil)), string(marshalled))

	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	e = fullEvent()
	require.NoError(t, enc.Encode(e))
	require.Equal(t, string(e.AppendJSON(nil))+"\n", buf.String())
}

func TestDecodeStoredRejects(t *testing.T) {
	for _, tc := range []struct{ data, field string }{
		{`{"received_at":"soon"}`, "received_at"},
		{`{"timestamp":"soon"}`, "timestamp"},
		{`{"price":"x"}`, "price"},
		{`{"quantity":true}`, "quantity"},
	} {
		_, err := DecodeStored([]byte(tc.data))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tc.data)
		require.Equal(t, tc.field, ve.Field)
	}
	_, err := DecodeStored([]byte(`{`))
	require.Error(t, err)
}

// An over-long body is refused while its elements are counted, in every
// form and whichever decoder reads it, without keeping anything per
// element: half a million zeros cost a few times what the body does (the
// fast decoder's buffers, sized by the body, and its first MaxBatchLen
// items), not the 40 bytes an element that encoding/json would keep.
func TestDecodeBodyRefusesAnOverLongBodyWithoutKeepingIt(t *testing.T) {
	zeros := "[" + strings.Repeat("0,", 500_000) + "0]"
	for _, tc := range []struct {
		name   string
		body   string
		ndjson bool
	}{
		{"array of zeros", zeros, false},
		{"array of empty objects", "[" + strings.Repeat("{},", 300_000) + "{}]", false},
		{"array of strings with commas", "[" + strings.Repeat(`",[{",`, 100_000) + `""]`, false},
		{"nested arrays", "[" + strings.Repeat("[0,0],", 100_000) + "[]]", false},
		{"batch", `{"writeKey":"k","batch":` + zeros + `}`, false},
		{"batch after other keys", `{"a":[1,2,{"b":"]"}],"type":"x","batch":` + zeros + `}`, false},
		{"batch in capitals", `{"BATCH":` + zeros + `}`, false},
		{"batch escaped", `{"b\u0061tch":` + zeros + `}`, false},
		{"batch repeated", `{"batch":` + zeros + `,"batch":[]}`, false},
		{"ndjson", strings.Repeat("{}\n", 500_000), true},
		{"ndjson detected", "{x\n" + strings.Repeat("{}\n", 500_000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.body)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := DecodeBody(data, tc.ndjson)
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, ErrTooManyEvents)
			require.ErrorIs(t, err, ErrBody)
			require.EqualError(t, err, "body is not a JSON event, array, batch or NDJSON: more than 10000 events")
			allocated := after.TotalAlloc - before.TotalAlloc
			require.Less(t, allocated, uint64(3*len(data)+2<<20), "allocated %d bytes for a body of %d", allocated, len(data))
			requireSameDecoding(t, data, tc.ndjson)
		})
	}
}

// A body that is not JSON gets encoding/json's syntax error however long
// it is: the count is only believed of valid JSON.
func TestDecodeBodyReportsTheSyntaxErrorOfAnOverLongBrokenBody(t *testing.T) {
	for _, body := range []string{
		"[" + strings.Repeat("0,", 20_000) + "0",
		"[" + strings.Repeat("0,", 20_000) + "0]]",
		"[" + strings.Repeat("0,", 20_000) + "x]",
		`{"batch":[` + strings.Repeat("0,", 20_000) + `0],}`,
		`{"batch":[` + strings.Repeat("0,", 20_000) + `0]`,
	} {
		_, err := DecodeBody([]byte(body), false)
		require.ErrorIs(t, err, ErrBody)
		require.NotErrorIs(t, err, ErrTooManyEvents)
		var v any
		jsonErr := json.Unmarshal([]byte(body), &v)
		require.Error(t, jsonErr)
		require.ErrorContains(t, err, jsonErr.Error())
	}
}

// TestAppendJSONIsOneLine: properties stored with line breaks as white
// space (an event that skipped Normalize) still encode as one line, the
// same JSON value.
func TestAppendJSONIsOneLine(t *testing.T) {
	e := Event{ID: "e1", ShopID: "s", Type: PageViewed, AnonymousID: "a",
		Properties: json.RawMessage("{\n  \"a\": 1,\r\n  \"b\": \"x\\ny\"\n}")}
	out := e.AppendJSON(nil)
	require.NotContains(t, string(out), "\n")
	require.NotContains(t, string(out), "\r")
	var back Event
	require.NoError(t, json.Unmarshal(out, &back))
	require.JSONEq(t, `{"a":1,"b":"x\ny"}`, string(back.Properties))
}
