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
// either map exactly as FromSegment does or hand back.
var segmentSeeds = []string{
	// What analytics.js and analytics-go send.
	`{"type":"track","messageId":"evt-1","anonymousId":"3f9c1d2e","event":"Product Added","properties":{"product_id":"SKU-1","name":"Merino Wool Crew Sweater","category":"apparel/knitwear","price":89.90,"quantity":1,"currency":"EUR","variant":"navy-m","list":"knitwear","position":4},"context":{"page":{"url":"https://shop.example/p?x=1","referrer":"https://shop.example/c"},"userAgent":"Mozilla/5.0 (Macintosh)","library":{"name":"analytics.js","version":"5.2.0"}},"timestamp":"2026-11-23T10:15:30.123Z"}`,
	`{"type":"track","messageId":"m2","userId":"u1","event":"Order Completed","properties":{"order_id":"o1","total":30,"revenue":25.00,"currency":"usd","products":[{"product_id":"p1","price":10,"quantity":2},{"product_id":"p2","price":"5.00"}]},"originalTimestamp":"2026-03-01T11:00:00Z","sentAt":"2026-03-01T11:00:05Z","context":{"ip":"203.0.113.9","library":{"name":"analytics-go"}}}`,
	`{"type":"track","messageId":77,"userId":12345678901234567890,"event":"Product Viewed","properties":{"id":"p9","productId":"p8","orderId":5,"order_id":null,"price":"19.99","quantity":"3"}}`,
	`{"type":"track","event":"Wishlist Added","anonymousId":"a","properties":{"ip":"10.0.0.1"},"context":{"ip":"203.0.113.9"}}`,
	`{"type":"track","event":"Coupon Applied","userId":"u","properties":{}}`,
	`{"type":"track","event":"x","userId":"u","properties":null,"context":null,"timestamp":"0001-01-01T00:00:00Z"}`,
	`{ "type" : "track" , "event" : "Spaced Out" , "userId" : "u" , "properties" : { "a" : [ 1 , 2 , { "b" : "c d" } ] , "z" : "y" } }`,
	// What it must hand back, or map the same way all the same.
	`{"type":"track","Event":"Folded","userId":"u"}`,
	`{"type":"track","event":"Twice","event":"Again","userId":"u"}`,
	`{"type":"track","event":"Html","userId":"u","properties":{"note":"<b>&</b>"}}`,
	`{"type":"track","event":"Esc\u0041ped","userId":"u\n","properties":{"k\u00e9y":"v\"q"}}`,
	`{"type":"track","event":"Unicode ünï","userId":"ü","properties":{"name":"Crème brûlée","ß":"x"}}`,
	"{\"type\":\"track\",\"event\":\"Sep\",\"userId\":\"u\",\"properties\":{\"s\":\"a\u2028b\"}}",
	`{"type":"track","event":"Bad price","userId":"u","properties":{"price":"abc"}}`,
	`{"type":"track","event":"Bad currency","userId":"u","properties":{"price":1,"currency":"ZZZ"}}`,
	`{"type":"track","event":"Bad time","userId":"u","timestamp":"yesterday"}`,
	`{"type":"track","event":"Wrong type","userId":{"id":1}}`,
	`{"type":"track","event":"","userId":"u"}`,
	`{"type":"track","event":"!!!","userId":"u"}`,
	`{"type":"page","name":"Home","anonymousId":"a","properties":{"url":"https://x/"}}`,
	`{"type":"identify","userId":"u","traits":{"plan":"pro"}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"Page":{"url":"x"}}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"page":"not an object"}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"page":{"url":1}}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"page":{"url":"a","url":"b"}}}`,
	`{"type":"track","event":"Ctx","userId":"u","context":{"ip":"1.2.3.4","ip":"5.6.7.8"}}`,
	`{"type":"track","event":"Dup","userId":"u","properties":{"a":1,"a":2}}`,
	`{"type":"track","event":"Props","userId":"u","properties":[1]}`,
	`{"type":"track","event":"Name","userId":"u","name":5}`,
	`{"type":"track","event":"Total only","userId":"u","properties":{"total":"12.50","currency":"JPY"}}`,
	`{"type":"track","event":"Big","userId":"u","properties":{"quantity":1.5}}`,
	`{"type":"track","event":"Null strings","userId":"u","anonymousId":null,"properties":{"name":null,"category":"c"}}`,
}

func FuzzSegmentFastMatchesFromSegment(f *testing.F) {
	for _, s := range segmentSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, msg []byte, typed bool) {
		if !json.Valid(msg) {
			return
		}
		env := SegmentEnvelope{SentAt: time.Date(2026, 3, 1, 11, 0, 1, 0, time.UTC)}
		if typed {
			env.Type = "track"
		}
		fast, fastSent, ok := fromSegmentFast(msg, env)
		if !ok {
			return
		}
		slow, slowSent, err := FromSegment(msg, env)
		require.NoError(t, err, "the fast path mapped a message FromSegment refuses")
		require.True(t, reflect.DeepEqual(slow, fast), "fast %+v\nslow %+v", fast, slow)
		require.Equal(t, slowSent, fastSent)
	})
}

func TestSegmentFastPathTakesTheCommonMessages(t *testing.T) {
	for _, s := range segmentSeeds[:7] {
		_, _, ok := fromSegmentFast([]byte(s), SegmentEnvelope{})
		require.True(t, ok, s)
	}
	// And the seeds agree where it does take them (the fuzz seeds run in
	// every go test; this names the failing seed more plainly).
	for _, s := range segmentSeeds {
		fast, _, ok := fromSegmentFast([]byte(s), SegmentEnvelope{})
		if !ok {
			continue
		}
		slow, _, err := FromSegment([]byte(s), SegmentEnvelope{})
		require.NoError(t, err, s)
		require.Equal(t, slow, fast, s)
	}
}

func TestSegmentFastPathHandsBackWhatItCannotMapExactly(t *testing.T) {
	for _, s := range segmentSeeds[7:] {
		fast, _, ok := fromSegmentFast([]byte(s), SegmentEnvelope{})
		slow, _, err := FromSegment([]byte(s), SegmentEnvelope{})
		if ok {
			// Taken only when it maps the same.
			require.NoError(t, err, s)
			require.Equal(t, slow, fast, s)
		}
	}
	for _, s := range []string{
		`{"type":"track","Event":"Folded","userId":"u"}`,
		`{"type":"track","event":"Twice","event":"Again","userId":"u"}`,
		`{"type":"track","event":"Html","userId":"u","properties":{"note":"<b>&</b>"}}`,
		`{"type":"track","event":"Bad price","userId":"u","properties":{"price":"abc"}}`,
		`{"type":"page","name":"Home","anonymousId":"a"}`,
	} {
		_, _, ok := fromSegmentFast([]byte(s), SegmentEnvelope{})
		require.False(t, ok, s)
	}
	_, _, ok := fromSegmentFast([]byte(segmentSeeds[0]), SegmentEnvelope{Context: json.RawMessage(`{"ip":"1.1.1.1"}`)})
	require.False(t, ok, "an envelope context is merged by FromSegment")
}

func FuzzValidJSONNeverAcceptsInvalid(f *testing.F) {
	for _, s := range append(segmentSeeds, `[]`, `{}`, ` 1 `, `-0.5e+3`, `[1,]`, `{"a":}`, `"\u12"`, `01`, `[true,false,null]`, `nul`, `{"a":1}x`, "\"\x01\"") {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if validJSON(data) {
			require.True(t, json.Valid(data), "%q", data)
		}
		if json.Valid(data) && !bytes.Contains(data, []byte("[[[[[[[[")) && !bytes.Contains(data, []byte("{\"\":{\"\":{\"\":{")) {
			require.True(t, validJSON(data), "valid JSON refused: %q", data)
		}
	})
}

func FuzzSplitSegmentMatchesUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"batch":[` + strings.Join(segmentSeeds[:3], ",") + `],"sentAt":"2026-03-01T11:00:05Z","writeKey":"wk","context":{"ip":"1.2.3.4"}}`,
		`{"batch":[]}`, `{"batch":null}`, `{"Batch":[1]}`, `{"batch":[1],"batch":[2]}`, `{"batch":{"a":1}}`,
		`{"writeKey":5,"batch":[]}`, `{"sentAt":null,"batch":[ 1 , "x" , {} ]}`, `{}`, `{"batch":[1,2,3],"other":{"x":[]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.TrimSpace(data)
		if len(data) == 0 || data[0] != '{' {
			return
		}
		var fast segmentEnvelope
		ok, tooMany := splitSegmentFast(data, &fast)
		if !ok || tooMany {
			return
		}
		var slow segmentEnvelope
		require.NoError(t, json.Unmarshal(data, &slow), "%q", data)
		require.Equal(t, len(slow.Batch), len(fast.Batch))
		for i := range slow.Batch {
			require.Equal(t, string(slow.Batch[i]), string(fast.Batch[i]))
		}
		require.Equal(t, slow.WriteKey, fast.WriteKey)
		require.Equal(t, slow.SentAt, fast.SentAt)
		require.Equal(t, string(slow.Context), string(fast.Context))
	})
}

func TestSplitSegmentStopsAtMaxBatchLen(t *testing.T) {
	body := `{"batch":[` + strings.Repeat(`{},`, MaxBatchLen) + `{}]}`
	_, err := DecodeSegment([]byte(body), "")
	require.ErrorIs(t, err, ErrTooManyEvents)
	body = `{"batch":[` + strings.Repeat(`{},`, MaxBatchLen-1) + `{}]}`
	b, err := DecodeSegment([]byte(body), "")
	require.NoError(t, err)
	require.Len(t, b.Messages, MaxBatchLen)
}
