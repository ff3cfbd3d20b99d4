package tracking

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// segmentSeeds are Segment messages of every shape the fast path must
// either map exactly as FromSegment does or hand back: the common ones it
// maps, then the odd ones.
var segmentSeeds = append(segmentCommon[:len(segmentCommon):len(segmentCommon)], segmentOdd...)

// segmentCommon are messages as analytics.js and analytics-go send them.
var segmentCommon = []string{
	`{"type":"track","messageId":"evt-1","anonymousId":"3f9c1d2e","event":"Product Added","properties":{"product_id":"SKU-1","name":"Merino Wool Crew Sweater","category":"apparel/knitwear","price":89.90,"quantity":1,"currency":"EUR","variant":"navy-m","list":"knitwear","position":4},"context":{"page":{"url":"https://shop.example/p?x=1","referrer":"https://shop.example/c"},"userAgent":"Mozilla/5.0 (Macintosh)","library":{"name":"analytics.js","version":"5.2.0"}},"timestamp":"2026-11-23T10:15:30.123Z"}`,
	`{"type":"track","messageId":"m2","userId":"u1","event":"Order Completed","properties":{"order_id":"o1","total":30,"revenue":25.00,"currency":"usd","products":[{"product_id":"p1","price":10,"quantity":2},{"product_id":"p2","price":"5.00"}]},"originalTimestamp":"2026-03-01T11:00:00Z","sentAt":"2026-03-01T11:00:05Z","context":{"ip":"203.0.113.9","library":{"name":"analytics-go"}}}`,
	`{"type":"track","messageId":77,"userId":12345678901234567890,"event":"Product Viewed","properties":{"id":"p9","productId":"p8","orderId":5,"order_id":null,"price":"19.99","quantity":"3"}}`,
	`{"type":"track","event":"Wishlist Added","anonymousId":"a","properties":{"ip":"10.0.0.1"},"context":{"ip":"203.0.113.9"}}`,
	`{"type":"track","event":"Coupon Applied","userId":"u","properties":{}}`,
	`{"type":"track","event":"x","userId":"u","properties":null,"context":null,"timestamp":"0001-01-01T00:00:00Z"}`,
	`{ "type" : "track" , "event" : "Spaced Out" , "userId" : "u" , "properties" : { "a" : [ 1 , 2 , { "b" : "c d" } ] , "z" : "y" } }`,
	`{"type":"track","event":"Html","userId":"u","properties":{"note":"<b>&</b>","z":"a\u2028b"}}`,
	`{"type":"track","event":"Esc\u0041ped","userId":"u\n","messageId":"m\u00e9","properties":{"name":"v\"q","price":" 12.5 "}}`,
	`{"type":"track","event":"Unicode ünï","userId":"ü","properties":{"name":"Crème brûlée","ß":"x","ip":"1"}}`,
	`{"type":"track","event":"Ip","userId":"u","properties":{"a":1,"z":2},"context":{"ip":"203.0.113.9","userAgent":"UA"}}`,
	`{"type":"track","event":"Ip","userId":"u","context":{"ip":"<odd>"}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"page":null,"userAgent":null}}`,
	`{"type":"track","event":"Null strings","userId":"u","anonymousId":null,"properties":{"name":null,"category":"c"}}`,
	`{"type":"track","event":"Order Completed","userId":"u","properties":{"orderId":"o2","revenue":null,"total":"7"},"timestamp":"2026-03-01T11:00:00+02:00"}`,
	`{"type":"page","name":"Home","anonymousId":"a","properties":{"url":"https://x/"}}`,
	`{"type":"page","messageId":"p2","anonymousId":"a","name":"Sweaters","category":"Knitwear","properties":{"name":"ignored","category":"gone","path":"/c/knitwear","title":"Knitwear & more","url":"","referrer":null,"search":""},"context":{"page":{"url":"https://shop.example/c","referrer":"https://ref.example/"},"ip":"203.0.113.9","userAgent":"UA"}}`,
	`{"type":"screen","userId":"u","name":"Cart","properties":{"referrer":"app://home","z":1}}`,
	`{"type":"page","userId":"u","properties":{"price":"9.99","product_id":"p","url":"https://x/p"}}`,
}

// segmentOdd are messages the fast path must hand back, or map the same
// way all the same.
var segmentOdd = []string{
	`{"type":"track","Event":"Folded","userId":"u"}`,
	`{"type":"track","event":"Twice","event":"Again","userId":"u"}`,
	`{"type":"track","event":"Esc key","userId":"u","properties":{"k\u00e9y":"v"}}`,
	"{\"type\":\"track\",\"event\":\"Bad UTF-8\",\"userId\":\"u\",\"properties\":{\"s\":\"a\xffb\"}}",
	`{"type":"track","event":"Bad price","userId":"u","properties":{"price":"abc"}}`,
	`{"type":"track","event":"Bad currency","userId":"u","properties":{"price":1,"currency":"ZZZ"}}`,
	`{"type":"track","event":"Bad time","userId":"u","timestamp":"yesterday"}`,
	`{"type":"track","event":"Wrong type","userId":{"id":1}}`,
	`{"type":"track","event":"Wrong type","userId":"u","groupId":true}`,
	`{"type":"track","event":"","userId":"u"}`,
	`{"type":"track","event":"!!!","userId":"u"}`,
	`{"type":"identify","userId":"u","traits":{"plan":"pro"}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"Page":{"url":"x"}}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"page":"not an object"}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"page":{"url":1}}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"page":{"url":"a","url":"b"}}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"ip":"1.2.3.4","ip":"5.6.7.8"}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":"str"}`,
	`{"type":"track","event":"Total only","userId":"u","properties":{"total":"12.50","currency":"JPY"}}`,
	`{"type":"track","event":"Dup","userId":"u","properties":{"a":1,"a":2}}`,
	`{"type":"track","event":"Props","userId":"u","properties":[1]}`,
	`{"type":"track","event":"Name","userId":"u","name":5}`,
	`{"type":"track","event":"Big","userId":"u","properties":{"quantity":1.5}}`,
	`{"type":"track","event":"Qty","userId":"u","properties":{"quantity":"+2"}}`,
	`{"type":"track","event":"Nul","userId":"u\u0000"}`,
	`{"type":"track","event":"Product Added","userId":"u","properties":{"product_id":"p","price":-1}}`,
	`{"event":"No type","userId":"u"}`,
	`[1]`,
	`{}`,
}

// segmentEnvelopes are envelope contexts a message is merged with.
var segmentEnvelopes = []string{
	``,
	`{"library":{"name":"analytics-go","version":"3.3.0"}}`,
	`{"page":{"url":"https://shop.example/env","referrer":"https://ref.example/"},"userAgent":"EnvUA"}`,
	`{"ip":"198.51.100.7"}`,
	`{"Page":{"url":"x"}}`,
	`{"page":{"url":"a"},"page":{"url":"b"}}`,
	`{"userAgent":5}`,
	`"not an object"`,
}

// segmentBody puts msg into a batch with envelope context number ctx (of
// segmentEnvelopes), before or after the batch.
func segmentBody(msg string, ctx uint8, after bool) []byte {
	c := segmentEnvelopes[int(ctx)%len(segmentEnvelopes)]
	var b strings.Builder
	b.WriteString(`{"sentAt":"2026-03-01T11:00:01Z",`)
	if c != "" && !after {
		b.WriteString(`"context":` + c + `,`)
	}
	b.WriteString(`"batch":[` + msg + `]`)
	if c != "" && after {
		b.WriteString(`,"context":` + c)
	}
	b.WriteString(`,"messageId":"batch-1"}`)
	return []byte(b.String())
}

// FuzzSegmentFastMatchesFromSegment holds every message the fast path
// maps to what FromSegment makes of it, field by field, and to the same
// event or error once normalised.
func FuzzSegmentFastMatchesFromSegment(f *testing.F) {
	for _, s := range segmentSeeds {
		for ctx := range uint8(len(segmentEnvelopes)) {
			f.Add([]byte(s), ctx, ctx%2 == 0, false)
		}
		for k := range uint8(3) {
			f.Add([]byte(s), k, false, true)
		}
	}
	now := time.Date(2026, 3, 1, 11, 0, 3, 0, time.UTC)
	f.Fuzz(func(t *testing.T, msg []byte, ctx uint8, after, single bool) {
		if !json.Valid(msg) {
			return
		}
		var b *SegmentBody
		var ok bool
		if single {
			msg = bytes.TrimSpace(msg)
			if len(msg) == 0 || msg[0] != '{' {
				return
			}
			b, ok = decodeSegmentFast(msg, [...]string{"track", "page", "screen"}[ctx%3])
		} else {
			b, ok = decodeSegmentFast(segmentBody(string(msg), ctx, after), "")
		}
		if !ok {
			return
		}
		require.Len(t, b.Messages, 1)
		if !b.fast.items[0].ok {
			return
		}
		var fast Event
		fastSent, ok := b.fast.fill(0, &fast, &b.Envelope)
		if !ok {
			return
		}
		slow, slowSent, err := FromSegment(b.Messages[0], b.Envelope)
		require.NoError(t, err, "the fast path mapped a message FromSegment refuses")
		require.True(t, reflect.DeepEqual(slow, fast), "fast %+v\nslow %+v", fast, slow)
		require.Equal(t, slowSent, fastSent)

		slowSentID := slow.ID
		opts := NormalizeOptions{Now: now, ShopID: "s"}
		fastErr := normalize(&fast, fastSent, opts, true, b.fast.items[0].clean)
		slowErr := Normalize(&slow, slowSent, opts)
		require.Equal(t, slowErr, fastErr)
		if slowErr == nil {
			if slow.ID != fast.ID && slowSentID == "" {
				slow.ID, fast.ID = "", "" // both generated (NewID)
			}
			require.Equal(t, slow, fast)
		}
	})
}

// FuzzDecodeSegmentMatchesJSON holds DecodeSegment, fast path and all, to
// the encoding/json path: the same error or the same envelope, messages,
// events and rejections.
func FuzzDecodeSegmentMatchesJSON(f *testing.F) {
	f.Add([]byte(`{"batch":[`+strings.Join(segmentSeeds, ",")+`],"sentAt":"2026-03-01T11:00:05Z","writeKey":"wk","context":{"ip":"1.2.3.4"}}`), uint8(0))
	f.Add([]byte(`{"writeKey":"wk","batch":[`+strings.Join(segmentCommon, ",")+`],"context":{"library":{"name":"analytics-go"}}}`), uint8(0))
	for _, s := range segmentSeeds {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
		f.Add(segmentBody(s, 2, true), uint8(0))
	}
	for _, s := range []string{
		`{"batch":[]}`, `{"batch":null}`, `{"Batch":[1]}`, `{"batch":[1],"batch":[2]}`, `{"batch":{"a":1}}`,
		`{"writeKey":5,"batch":[]}`, `{"sentAt":null,"batch":[ 1 , "x" , {} ]}`, `{}`, `{"batch":[1,2,3],"other":{"x":[]}}`,
		`{"batch":[{"type":"track"`, `{"batch":[]} x`, `{"write\u004bey":"wk","batch":[]}`, `{"sentAt":"\ud800"}`,
		`{"writeKey":"wk","WriteKey":"other","type":"track","event":"A","userId":"u"}`,
		`{"writeKey":"a","writeKey":"b","event":"A","userId":"u"}`, `{"writeKey":7,"event":"A","userId":"u"}`,
	} {
		for k := range uint8(5) {
			f.Add([]byte(s), k)
		}
	}
	now := time.Date(2026, 3, 1, 11, 0, 3, 0, time.UTC)
	kinds := []string{"", "track", "page", "screen", "identify"}
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		kind := kinds[int(k)%len(kinds)]
		got, gotErr := DecodeSegment(data, kind)
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) == 0 || trimmed[0] != '{' || kind != "" && len(trimmed) > SegmentMaxMessageBytes {
			require.Error(t, gotErr)
			return
		}
		want, wantErr := decodeSegmentJSON(trimmed, kind)
		if wantErr != nil {
			require.EqualError(t, gotErr, wantErr.Error())
			return
		}
		require.NoError(t, gotErr)
		require.Equal(t, want.WriteKey, got.WriteKey)
		require.Equal(t, want.Envelope.Type, got.Envelope.Type)
		require.Equal(t, want.Envelope.SentAt, got.Envelope.SentAt)
		require.Equal(t, string(want.Envelope.Context), string(got.Envelope.Context))
		require.Equal(t, len(want.Messages), len(got.Messages))
		for i := range want.Messages {
			require.Equal(t, string(want.Messages[i]), string(got.Messages[i]))
		}
		opts := NormalizeOptions{Now: now, ShopID: "s"}
		wantEvents, wantRejected := want.AppendEvents(nil, opts)
		gotEvents, gotRejected := got.AppendEvents(nil, opts)
		require.Equal(t, len(wantEvents), len(gotEvents))
		for i := range wantEvents {
			w, g := wantEvents[i], gotEvents[i]
			if w.ID != g.ID && len(w.ID) == 36 && len(g.ID) == 36 {
				w.ID, g.ID = "", "" // both generated (NewID)
			}
			require.Equal(t, w, g)
		}
		require.Equal(t, len(wantRejected), len(gotRejected))
		for i := range wantRejected {
			require.Equal(t, wantRejected[i].Index, gotRejected[i].Index)
			require.EqualError(t, gotRejected[i].Err, wantRejected[i].Err.Error())
		}
	})
}

// FuzzAppendMarshalled holds the properties' value encoding to json.Marshal.
func FuzzAppendMarshalled(f *testing.F) {
	for _, s := range []string{`1`, `"a b"`, ` { "a" : [ 1 , "<&>" ] } `, "\"\u2028\u2029\"", `"\"\\"`, `[ ]`, `"é"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		v = bytes.TrimSpace(v)
		if !json.Valid(v) {
			return
		}
		want, err := json.Marshal(json.RawMessage(v))
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendMarshalled(nil, v)))
	})
}

func TestSegmentFastPathTakesTheCommonMessages(t *testing.T) {
	common := segmentCommon
	for _, s := range common {
		for ctx := range uint8(4) { // envelopes the fast path merges
			for _, after := range []bool{false, true} {
				b, ok := decodeSegmentFast(segmentBody(s, ctx, after), "")
				require.True(t, ok, s)
				taken := b.fast.items[0].ok
				if ctx == 3 && !strings.Contains(s, `"ip"`) {
					// Only FromSegment places an envelope's ip among the properties.
					require.False(t, taken, s)
					continue
				}
				require.True(t, taken, "ctx %d: %s", ctx, s)
			}
		}
	}
	b, ok := decodeSegmentFast([]byte(`{"writeKey":"wk","messageId":"m","userId":"u","event":"Cart Viewed"}`), "track")
	require.True(t, ok)
	require.True(t, b.fast.items[0].ok)
	require.Equal(t, "wk", b.WriteKey)
	// And they agree with FromSegment (the fuzz seeds run in every go test;
	// this names the failing message more plainly).
	for _, s := range common {
		b, _ := decodeSegmentFast(segmentBody(s, 1, true), "")
		var fast Event
		_, ok := b.fast.fill(0, &fast, &b.Envelope)
		require.True(t, ok, s)
		slow, _, err := FromSegment([]byte(s), b.Envelope)
		require.NoError(t, err, s)
		require.Equal(t, slow, fast, s)
	}
}

func TestSegmentFastPathHandsBackWhatItCannotMapExactly(t *testing.T) {
	for _, s := range segmentOdd {
		b, ok := decodeSegmentFast(segmentBody(s, 0, false), "")
		require.True(t, ok, s)
		if !b.fast.items[0].ok {
			continue
		}
		// Taken only when it maps the same: fill refuses what FromSegment
		// refuses, and the rest fails Normalize the same way.
		var fast Event
		sentAt, ok := b.fast.fill(0, &fast, &b.Envelope)
		slow, _, err := FromSegment([]byte(s), b.Envelope)
		if !ok {
			require.Error(t, err, s)
			continue
		}
		require.NoError(t, err, s)
		opts := NormalizeOptions{Now: time.Now(), ShopID: "s"}
		fastErr := normalize(&fast, sentAt, opts, true, b.fast.items[0].clean)
		require.Error(t, fastErr, s)
		require.Equal(t, Normalize(&slow, sentAt, opts), fastErr, s)
	}
	for _, s := range []string{
		`{"type":"track","Event":"Folded","userId":"u"}`,
		`{"type":"track","event":"Twice","event":"Again","userId":"u"}`,
		`{"type":"identify","userId":"u","traits":{"plan":"pro"}}`,
		`{"type":"page","name":"Home","anonymousId":"a","properties":{"url":5}}`,
	} {
		b, _ := decodeSegmentFast(segmentBody(s, 0, false), "")
		require.False(t, b.fast.items[0].ok, s)
	}
	for ctx := 4; ctx < len(segmentEnvelopes)-1; ctx++ {
		b, _ := decodeSegmentFast(segmentBody(segmentSeeds[0], uint8(ctx), true), "")
		require.False(t, b.fast.items[0].ok, "envelope context %s is merged by FromSegment", segmentEnvelopes[ctx])
	}
	// Bodies it leaves whole to encoding/json.
	for _, s := range []string{
		`{"batch":[{"type":"track"`, `{"Batch":[]}`, `{"batch":[],"batch":[]}`, `{"writeKey":5}`, `{"write\u004bey":"x"}`,
		`{"batch":{}}`, `{"batch":[]} {}`,
	} {
		_, ok := decodeSegmentFast([]byte(s), "")
		require.False(t, ok, s)
	}
	for _, s := range []string{`{"WriteKey":"x","event":"A"}`, `{"writeKey":"a","writeKey":"b"}`, `{"writeKey":1}`, `{"writ\u0065Key":"x"}`} {
		_, ok := decodeSegmentFast([]byte(s), "track")
		require.False(t, ok, s)
	}
	_, ok := decodeSegmentFast([]byte(`{"event":"A","userId":"u"}`), "identify")
	require.False(t, ok)
	b, ok := decodeSegmentFast([]byte(`{"writeKey":"wk","userId":"u","name":"Cart","type":"track"}`), "screen")
	require.True(t, ok)
	require.True(t, b.fast.items[0].ok, "the path's type wins")
	require.Equal(t, "screen_viewed", b.fast.items[0].typ)
}

func TestSplitSegmentStopsAtMaxBatchLen(t *testing.T) {
	body := `{"batch":[` + strings.Repeat(`{},`, MaxBatchLen) + `{}]}`
	_, err := DecodeSegment([]byte(body), "")
	require.ErrorIs(t, err, ErrTooManyEvents)
	body = `{"batch":[` + strings.Repeat(`{},`, MaxBatchLen-1) + `{}]}`
	b, err := DecodeSegment([]byte(body), "")
	require.NoError(t, err)
	require.Len(t, b.Messages, MaxBatchLen)
	require.NotNil(t, b.fast)
}

// FuzzScanStr holds the eight-at-a-time string scan to scanString.
func FuzzScanStr(f *testing.F) {
	for _, s := range []string{`"abc"`, `"0123456789abcdef\"x"`, `"0123456789\\u00e9xyz"`, "\"0123456789ab\x01\"", `"0123456789Ünï"`, `"unterminated 0123456789`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '"' {
			return
		}
		end, esc, high, ok := scanString(data, 0)
		end2, esc2, high2, ok2 := scanStr(data, 0)
		require.Equal(t, ok, ok2)
		if ok {
			require.Equal(t, []any{end, esc, high}, []any{end2, esc2, high2})
		}
	})
}
