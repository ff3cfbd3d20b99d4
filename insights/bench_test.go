package insights_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// The rule benchmarks evaluate the built-in rules for one shop holding
// about a million events (30 days of datagen traffic, 6,830 visits a day)
// in SQLite: from the hourly rollups (Rollups), with rollups off
// (RollupsOff: a copy of the database opened with
// sqlitestore.Options.DisableRollups, whose shop had an event appended so,
// as ?rollups=off leaves it: counts by GROUP BY, the rest from the events)
// and with every capability hidden (Raw: analytics streams the events).
// Compare them in one run:
//
//	go test -run '^$' -bench 'Rules' -benchtime 5x ./insights
//
// The databases are built once, by batched Append, and kept in the
// system's temporary directory under names that say their version and
// size; delete them to build them again.

const benchDays, benchVisitors = 30, 6830

var benchOptions = datagen.Options{ShopID: shop, Start: datagen.DefaultStart, Days: benchDays, Visitors: benchVisitors, Seed: 1,
	BatchSize: 10_000}

// benchAt is the evaluation time: 15:02 on the last day, so "today" has
// 15 hours and four earlier weeks of history.
var benchAt = benchOptions.Start.Add(time.Duration(benchDays-1)*24*time.Hour + 15*time.Hour + 2*time.Minute)

var (
	benchOnce          sync.Once
	benchPath, offPath = benchName(""), benchName("-rollups-off")
	benchEvents        int64
	benchErr           error
)

func benchName(suffix string) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("shoplytics-insights-bench-v%d-%dx%d%s.db", sqlitestore.SchemaVersion(), benchDays, benchVisitors, suffix))
}

func buildBenchDBs() error {
	ctx := context.Background()
	if _, err := os.Stat(benchPath); err != nil {
		tmp := benchPath + ".building"
		_ = os.Remove(tmp)
		s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: tmp})
		if err != nil {
			return err
		}
		err = datagen.Stream(benchOptions, func(batch []tracking.Event) error {
			_, err := s.Append(ctx, batch)
			return err
		})
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			_ = os.Remove(tmp + suffix)
		}
		if err := os.Rename(tmp, benchPath); err != nil {
			return err
		}
	}
	if _, err := os.Stat(offPath); err != nil {
		if err := copyFile(benchPath, offPath+".building"); err != nil {
			return err
		}
		s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: offPath + ".building", DisableRollups: true})
		if err != nil {
			return err
		}
		// An event appended with rollups off marks the shop's rollups
		// stale, as appending through ?rollups=off does; it lies years
		// before the range, outside every window.
		old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		_, err = s.Append(ctx, []tracking.Event{{ID: "bench-stale", ShopID: shop, Type: tracking.PageViewed, AnonymousID: "a",
			Currency: "USD", Timestamp: old, ReceivedAt: old}})
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := os.Rename(offPath+".building", offPath); err != nil {
			return err
		}
	}
	s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: benchPath})
	if err != nil {
		return err
	}
	defer s.Close()
	for _, err := range s.Events(ctx, store.Filter{ShopID: shop}) {
		if err != nil {
			return err
		}
		benchEvents++
	}
	return nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

func benchStore(b *testing.B, path string, off bool) store.Store {
	b.Helper()
	benchOnce.Do(func() { benchErr = buildBenchDBs() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	s, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: path, DisableRollups: off})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// hidden hides a store's capabilities: analytics streams its events.
type hidden struct{ store.Store }

// benchRules evaluates rules at benchAt, each time into an empty keeper
// so that every iteration raises what it finds.
func benchRules(b *testing.B, s store.Store, rules []insights.Rule) {
	ctx := context.Background()
	run := func() int {
		eng, err := insights.NewEngine(s, insights.EngineOptions{Rules: rules, Keeper: &store.MemoryInsights{},
			Now: func() time.Time { return benchAt }})
		if err != nil {
			b.Fatal(err)
		}
		res, err := eng.Evaluate(ctx, shop, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		return len(res.Raised)
	}
	raised := run() // warm the cache
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(raised), "insights")
	b.ReportMetric(float64(benchEvents), "events")
}

func benchEachRule(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("all", func(b *testing.B) { benchRules(b, open(b), insights.Builtin()) })
	for _, r := range insights.Builtin() {
		b.Run(r.Name(), func(b *testing.B) { benchRules(b, open(b), []insights.Rule{r}) })
	}
}

func BenchmarkRulesRollups(b *testing.B) {
	benchEachRule(b, func(b *testing.B) store.Store { return benchStore(b, benchPath, false) })
}

func BenchmarkRulesRollupsOff(b *testing.B) {
	benchEachRule(b, func(b *testing.B) store.Store { return benchStore(b, offPath, true) })
}

func BenchmarkRulesRaw(b *testing.B) {
	benchEachRule(b, func(b *testing.B) store.Store { return hidden{benchStore(b, benchPath, false)} })
}
