package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// nullStore accepts everything and keeps nothing, so a benchmark measures
// the handler and the ingester, not a database.
type nullStore struct{}

func (nullStore) Append(_ context.Context, events []tracking.Event) (store.AppendResult, error) {
	return store.AppendResult{Inserted: len(events), Duplicate: make([]bool, len(events))}, nil
}
func (nullStore) Events(context.Context, store.Filter) iter.Seq2[tracking.Event, error] {
	return func(func(tracking.Event, error) bool) {}
}
func (nullStore) Close() error { return nil }

// benchEvent is a realistic add_to_cart of about 575 bytes.
func benchEvent(i int) string {
	return fmt.Sprintf(`{"id":"evt-%09d","type":"add_to_cart","anonymous_id":"3f9c1d2e-7b4a-4c8e-9a51-0d6e2f7b8c90","session_id":"sess-20261123-8842","product_id":"SKU-100234","product_name":"Merino Wool Crew Sweater","category":"apparel/knitwear","price":"89.90","quantity":1,"currency":"EUR","url":"https://shop.example/products/merino-wool-crew-sweater?variant=navy-m","referrer":"https://shop.example/collections/knitwear","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15","properties":{"variant":"navy-m","list":"knitwear","position":4},"timestamp":"2026-11-23T10:15:30.123Z"}`, i)
}

func BenchmarkPostEvents(b *testing.B) {
	for _, perRequest := range []int{1, 100} {
		b.Run(fmt.Sprintf("events=%d", perRequest), func(b *testing.B) {
			in, err := ingest.New(nullStore{}, ingest.Options{QueueSize: 1 << 20, BatchSize: 1000, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			in.Start()
			defer in.Shutdown(context.Background())
			h, err := httpapi.New(httpapi.Config{Store: nullStore{}, Ingester: in, Shops: shops, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			var sb strings.Builder
			sb.WriteByte('[')
			for i := range perRequest {
				if i > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(benchEvent(i))
			}
			sb.WriteByte(']')
			body := []byte(sb.String())
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := httptest.NewRecorder()
				for pb.Next() {
					req := httptest.NewRequest("POST", "/events?key=wk_a", bytes.NewReader(body))
					w.Body.Reset()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusAccepted {
						b.Fatalf("status %d: %s", w.Code, w.Body.String())
					}
				}
			})
			b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// segmentBenchMessage is benchEvent as analytics.js would send it to
// /v1/batch: the same add_to_cart, in Segment's shape.
func segmentBenchMessage(i int) string {
	return fmt.Sprintf(`{"type":"track","messageId":"evt-%09d","anonymousId":"3f9c1d2e-7b4a-4c8e-9a51-0d6e2f7b8c90","event":"Product Added","properties":{"product_id":"SKU-100234","name":"Merino Wool Crew Sweater","category":"apparel/knitwear","price":89.90,"quantity":1,"currency":"EUR","variant":"navy-m","list":"knitwear","position":4},"context":{"page":{"url":"https://shop.example/products/merino-wool-crew-sweater?variant=navy-m","referrer":"https://shop.example/collections/knitwear"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15","library":{"name":"analytics.js","version":"5.2.0"}},"timestamp":"2026-11-23T10:15:30.123Z"}`, i)
}

// BenchmarkSegmentBatchVsEvents sends the same 100 add_to_cart events per
// request to /v1/batch in Segment's shape and to /events in ours, side by
// side in one run: Segment compatibility should cost little next to the
// native path (see BENCHMARKS.md).
func BenchmarkSegmentBatchVsEvents(b *testing.B) {
	const perRequest = 100
	bodies := map[string]struct {
		path, body string
		status     int
	}{}
	var seg, ours strings.Builder
	seg.WriteString(`{"batch":[`)
	ours.WriteByte('[')
	for i := range perRequest {
		if i > 0 {
			seg.WriteByte(',')
			ours.WriteByte(',')
		}
		seg.WriteString(segmentBenchMessage(i))
		ours.WriteString(benchEvent(i))
	}
	seg.WriteString(`],"sentAt":"2026-11-23T10:15:31.000Z"}`)
	ours.WriteByte(']')
	bodies["segment"] = struct {
		path, body string
		status     int
	}{"/v1/batch", seg.String(), http.StatusOK}
	bodies["events"] = struct {
		path, body string
		status     int
	}{"/events", ours.String(), http.StatusAccepted}
	for _, name := range []string{"events", "segment"} {
		c := bodies[name]
		b.Run("api="+name, func(b *testing.B) {
			in, err := ingest.New(nullStore{}, ingest.Options{QueueSize: 1 << 20, BatchSize: 1000, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			in.Start()
			defer in.Shutdown(context.Background())
			h, err := httpapi.New(httpapi.Config{Store: nullStore{}, Ingester: in, Shops: shops, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			body := []byte(c.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := httptest.NewRecorder()
				for pb.Next() {
					req := httptest.NewRequest("POST", c.path, bytes.NewReader(body))
					req.SetBasicAuth("wk_a", "")
					w.Body.Reset()
					h.ServeHTTP(w, req)
					if w.Code != c.status {
						b.Fatalf("status %d: %s", w.Code, w.Body.String())
					}
				}
			})
			b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkLiveFanOut measures what the live feed costs ingestion: events
// queued and stored (into nullStore) with no live stream open, and with
// 1 and 10 streams of the shop reading every event over HTTP.
func BenchmarkLiveFanOut(b *testing.B) {
	events := make([]tracking.Event, 1000)
	decoded, _ := tracking.DecodeBody([]byte(benchEvent(0)), false)
	proto, _ := decoded.Events(tracking.NormalizeOptions{Now: time.Now(), ShopID: "shop-a"})
	for i := range events {
		events[i] = proto[0]
		events[i].ID = fmt.Sprintf("evt-%09d", i)
	}
	for _, streams := range []int{0, 1, 10} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			in, err := ingest.New(nullStore{}, ingest.Options{QueueSize: 1 << 20, BatchSize: 1000, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			in.Start()
			defer in.Shutdown(context.Background())
			h, err := httpapi.New(httpapi.Config{Store: nullStore{}, Ingester: in, Shops: shops, Logger: slog.New(slog.DiscardHandler),
				LiveBufferBytes: 1 << 30}) // a benchmark reader is never dropped
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for range streams {
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/live", nil)
				req.Header.Set("Authorization", "Bearer rk_a")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				go func() { _, _ = io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := in.Enqueue(ctx, events...); err != nil {
					b.Fatal(err)
				}
			}
			if err := in.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
