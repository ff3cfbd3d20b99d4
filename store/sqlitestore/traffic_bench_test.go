package sqlitestore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/tracking"
)

// BenchmarkAppendShopTraffic appends internal/datagen's shop traffic (as
// scripts/bench-e2e.sh -bodies datagen sends it: many visitors, sessions,
// people and products, in order of receipt) in batches of 64 events, the
// size of a durable server's group commits at 64 clients, and of 1,000, a
// buffered server's, with the rollups on and off. Compare them in one run:
//
//	go test -run '^$' -bench 'AppendShopTraffic' -benchtime 20000x -count 3 ./store/sqlitestore
func BenchmarkAppendShopTraffic(b *testing.B) {
	for _, batch := range []int{64, 1000} {
		for _, rollups := range []string{"on", "off"} {
			b.Run("batch="+strconv.Itoa(batch)+"/rollups="+rollups, func(b *testing.B) {
				benchShopTraffic(b, batch, rollups == "off")
			})
		}
	}
}

// shopTraffic is the traffic the benchmark goes round, generated once.
var shopTraffic []tracking.Event

func benchShopTraffic(b *testing.B, batch int, disable bool) {
	if shopTraffic == nil {
		shopTraffic = datagen.Generate(datagen.Options{Days: 10, Visitors: 5000, Seed: 1})
	}
	s := newBenchStore(b, disable)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make([]tracking.Event, batch)
	next, seq := 0, 0
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range events {
			events[i] = shopTraffic[next]
			next = (next + 1) % len(shopTraffic)
			seq++
			events[i].ID = "e" + strconv.Itoa(seq) // every send is a new event, as over HTTP
		}
		start := cpuTime()
		b.StartTimer()
		res, err := s.Append(ctx, events)
		b.StopTimer()
		cpu += cpuTime() - start
		b.StartTimer()
		if err != nil || res.Inserted != len(events) {
			b.Fatalf("append: %v, %+v", err, res.Inserted)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/event")
}
