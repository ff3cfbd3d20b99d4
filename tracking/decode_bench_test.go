package tracking

import (
	"fmt"
	"strings"
	"testing"
)

// benchEvent is a realistic tracker event: ids, a product, money as a
// string, page context and a few properties; about 575 bytes.
func benchEvent(i int) string {
	typ := ProductViewed
	if i%3 == 2 {
		typ = AddToCart
	}
	return fmt.Sprintf(`{"id":"0195953f-1d3b-7c4e-9a2b-%012d","type":%q,"anonymous_id":"anon-%012d",`+
		`"session_id":"s-%06d","product_id":"SKU-%05d","product_name":"Stoneware Mug \u2013 Slate",`+
		`"category":"Kitchen/Mugs & Cups","price":"24.90","quantity":%d,"currency":"EUR",`+
		`"url":"https://shop.example.com/products/mug-slate?variant=4471",`+
		`"referrer":"https://www.google.com/",`+
		`"user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1",`+
		`"properties":{"variant":"slate-blue","list":"search","position":%d,"stock":true},`+
		`"timestamp":"2025-03-14T15:09:%02d.%03dZ"}`,
		i, typ, i%977, i%5000, i%20000, 1+i%3, i%48, i%60, i%1000)
}

func benchBody(n int) []byte {
	items := make([]string, n)
	for i := range items {
		items[i] = benchEvent(i)
	}
	return []byte("[" + strings.Join(items, ",") + "]")
}

// benchmarkDecodeValidate decodes a 100-event array; reuse appends the
// events to one slice, cleared after each body, as a server handing them
// on by value does.
func benchmarkDecodeValidate(b *testing.B, decode func([]byte, bool) (*Body, error), reuse bool) {
	body := benchBody(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	opts := NormalizeOptions{Now: testNow, ShopID: "shop1"}
	var dst []Event
	for b.Loop() {
		bd, err := decode(body, false)
		if err != nil {
			b.Fatal(err)
		}
		var events []Event
		var rejected []Rejection
		if reuse {
			events, rejected = bd.AppendEvents(dst[:0], opts)
		} else {
			events, rejected = bd.Events(opts)
		}
		if len(events) != 100 || len(rejected) != 0 {
			b.Fatalf("%d events, %v", len(events), rejected)
		}
		if reuse {
			clear(events)
			dst = events
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecodeValidate(b *testing.B) {
	b.Run("json", func(b *testing.B) {
		benchmarkDecodeValidate(b, func(data []byte, _ bool) (*Body, error) { return decodeBodyJSON(data) }, false)
	})
	b.Run("fast", func(b *testing.B) { benchmarkDecodeValidate(b, DecodeBody, false) })
	b.Run("fast-reuse", func(b *testing.B) { benchmarkDecodeValidate(b, DecodeBody, true) })
}

func TestBenchEventSize(t *testing.T) {
	for i := range 100 {
		n := len(benchEvent(i))
		if n < 540 || n > 610 {
			t.Fatalf("event %d is %d bytes", i, n)
		}
	}
}
