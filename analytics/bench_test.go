package analytics

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// benchEvents is a month of one shop: visitors in sessions of a few
// events, a share identified, purchases in two currencies.
func benchEvents(n int) []tracking.Event {
	r := rand.New(rand.NewPCG(1, 2))
	types := []string{tracking.PageViewed, tracking.PageViewed, tracking.ProductViewed, tracking.ProductViewed,
		tracking.ProductViewed, tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted}
	out := make([]tracking.Event, 0, n)
	for i := 0; len(out) < n; i++ {
		start := t0.Add(time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Microsecond)
		visitor := fmt.Sprintf("a%d", r.IntN(n/20))
		for k := range 1 + r.IntN(8) {
			e := ev(types[r.IntN(len(types))], start.Add(time.Duration(k)*time.Minute), anon(visitor),
				id(fmt.Sprintf("b%d-%d", i, k)))
			if r.IntN(10) == 0 {
				e.UserID = fmt.Sprintf("u%d", r.IntN(n/50))
			}
			if e.Type == tracking.ProductViewed || e.Type == tracking.AddToCart {
				e.ProductID = fmt.Sprintf("p%d", r.IntN(500))
			}
			if e.Type == tracking.PurchaseCompleted {
				c := []string{"EUR", "USD"}[r.IntN(2)]
				e.Revenue, e.Currency = tracking.Money{Minor: r.Int64N(20_000), Currency: c}, c
			}
			out = append(out, e)
		}
	}
	out = out[:n]
	// In stream order, so that the store appends rather than inserts.
	slices.SortFunc(out, func(a, b tracking.Event) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	const n = 200_000
	st := memstore.New()
	events := benchEvents(n)
	for i := 0; i < len(events); i += 10_000 {
		if _, err := st.Append(ctx, events[i:i+10_000]); err != nil {
			b.Fatal(err)
		}
	}
	q := query(t0, t0.Add(31*24*time.Hour))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := Stats(ctx, st, q, StatsOptions{})
		if err != nil || s.Events != n {
			b.Fatal(err, s.Events)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkFunnel(b *testing.B) {
	ctx := context.Background()
	const n = 200_000
	st := memstore.New()
	events := benchEvents(n)
	for i := 0; i < len(events); i += 10_000 {
		if _, err := st.Append(ctx, events[i:i+10_000]); err != nil {
			b.Fatal(err)
		}
	}
	q := query(t0, t0.Add(31*24*time.Hour))
	o := FunnelOptions{Steps: []string{tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Funnel(ctx, st, q, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStreamOnly is the floor under the others: reading the same
// events and counting them by type.
func BenchmarkStreamOnly(b *testing.B) {
	ctx := context.Background()
	const n = 200_000
	st := memstore.New()
	events := benchEvents(n)
	for i := 0; i < len(events); i += 10_000 {
		if _, err := st.Append(ctx, events[i:i+10_000]); err != nil {
			b.Fatal(err)
		}
	}
	q := query(t0, t0.Add(31*24*time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := countsGeneric(ctx, st, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
