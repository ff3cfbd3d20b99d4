package analytics

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
)

// The read benchmarks answer the same questions over a month of one shop
// (benchEvents, 1,000,000 events) in SQLite, from the hourly rollups
// (…Rollup) and from the events (…Raw: the store with its capabilities
// hidden, so analytics streams Events). Compare them in one run:
//
//	go test -run '^$' -bench 'Rollup|Raw|GroupBy' -count 5 ./analytics
//
// The database is built once, by batched Append, and kept in the system's
// temporary directory under a name that says its version and size, so
// later runs reuse it; delete the file to build it again.

const pushdownBenchEvents = 1_000_000

var (
	benchDBOnce sync.Once
	benchDBPath string
	benchDBErr  error
)

// benchSQLite opens the benchmark database, building it first if need be.
func benchSQLite(b *testing.B) store.Store {
	b.Helper()
	ctx := context.Background()
	benchDBOnce.Do(func() {
		name := fmt.Sprintf("shoplytics-analytics-bench-v%d-%d.db", sqlitestore.SchemaVersion(), pushdownBenchEvents)
		benchDBPath = filepath.Join(os.TempDir(), name)
		if _, err := os.Stat(benchDBPath); err == nil {
			return
		}
		tmp := benchDBPath + ".building"
		_ = os.Remove(tmp)
		s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: tmp})
		if err != nil {
			benchDBErr = err
			return
		}
		events := benchEvents(pushdownBenchEvents)
		for i := 0; i < len(events) && benchDBErr == nil; i += 10_000 {
			_, benchDBErr = s.Append(ctx, events[i:min(i+10_000, len(events))])
		}
		if err := s.Close(); benchDBErr == nil {
			benchDBErr = err
		}
		if benchDBErr == nil {
			for _, suffix := range []string{"-wal", "-shm"} {
				_ = os.Remove(tmp + suffix)
			}
			benchDBErr = os.Rename(tmp, benchDBPath)
		}
	})
	if benchDBErr != nil {
		b.Fatal(benchDBErr)
	}
	s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: benchDBPath})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// typeCounterOnly offers only store.TypeCounter: Counts by GROUP BY over
// the events, the pushdown that came before rollups.
type typeCounterOnly struct {
	store.Store
	tc store.TypeCounter
}

func (s typeCounterOnly) CountByType(ctx context.Context, f store.Filter) ([]store.TypeCount, error) {
	return s.tc.CountByType(ctx, f)
}

func benchRead(b *testing.B, s store.Store, read func(ctx context.Context, s store.Store) error) {
	ctx := context.Background()
	if err := read(ctx, s); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := read(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

func benchQuery(b *testing.B) Query {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	q := query(t0, t0.Add(31*24*time.Hour))
	q.Location = loc
	return q
}

func readCounts(b *testing.B) func(ctx context.Context, s store.Store) error {
	q := benchQuery(b)
	return func(ctx context.Context, s store.Store) error {
		c, err := Counts(ctx, s, q)
		if err == nil && len(c) == 0 {
			err = fmt.Errorf("no counts")
		}
		return err
	}
}

func readTimeSeries(b *testing.B) func(ctx context.Context, s store.Store) error {
	q := benchQuery(b)
	return func(ctx context.Context, s store.Store) error {
		_, err := TimeSeries(ctx, s, q, TimeSeriesOptions{Interval: Day})
		return err
	}
}

func readStats(b *testing.B) func(ctx context.Context, s store.Store) error {
	q := benchQuery(b)
	return func(ctx context.Context, s store.Store) error {
		r, err := Stats(ctx, s, q, StatsOptions{})
		if err == nil && r.Events != pushdownBenchEvents {
			err = fmt.Errorf("stats of %d events", r.Events)
		}
		return err
	}
}

func BenchmarkCountsRollup(b *testing.B) { benchRead(b, benchSQLite(b), readCounts(b)) }
func BenchmarkCountsRaw(b *testing.B)    { benchRead(b, rawStore{benchSQLite(b)}, readCounts(b)) }

func BenchmarkCountsGroupBy(b *testing.B) {
	s := benchSQLite(b)
	benchRead(b, typeCounterOnly{s, s.(store.TypeCounter)}, readCounts(b))
}

func BenchmarkTimeSeriesDayRollup(b *testing.B) { benchRead(b, benchSQLite(b), readTimeSeries(b)) }
func BenchmarkTimeSeriesDayRaw(b *testing.B) {
	benchRead(b, rawStore{benchSQLite(b)}, readTimeSeries(b))
}

// BenchmarkStatsRaw is Stats over SQLite, which rollups do not answer yet
// (sessions, users and the top product need the events).
func BenchmarkStatsRaw(b *testing.B) { benchRead(b, rawStore{benchSQLite(b)}, readStats(b)) }
