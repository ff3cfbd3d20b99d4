package analytics

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/pgstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// The read benchmarks ask the same questions of a month of one shop in
// SQLite and PostgreSQL, through the rollups and through the events alone
// (raw: the store with its capabilities hidden, so analytics streams
// Events), the two in turn in every iteration, and report each path's
// median and 95th percentile latency and their ratio:
//
//	go test -run '^$' -bench 'Reads' -benchtime 10x ./analytics
//	SHOPLYTICS_BENCH_EVENTS=5000000 go test -run '^$' -bench 'Reads' -benchtime 5x -timeout 3h ./analytics
//
// The size is SHOPLYTICS_BENCH_EVENTS (default 1,000,000). The data is
// built once per size and seed, by Append in batches of 10,000, and kept:
// SQLite in a file under SHOPLYTICS_BENCH_DIR (default the user's cache
// directory), PostgreSQL (when SHOPLYTICS_TEST_POSTGRES_URL is set) in a
// schema of that database named after the size, seed and schema version;
// later runs reuse them. Delete the file or drop the schema to build again.
//
// BenchmarkIngestRollups measures what the rollups cost Append.

const benchSeed = 1

// benchSize is the number of events of the read benchmarks.
func benchSize(b *testing.B) int {
	if v := os.Getenv("SHOPLYTICS_BENCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("SHOPLYTICS_BENCH_EVENTS=%q: a number of at least 1000", v)
		}
		return n
	}
	return 1_000_000
}

// benchChunks calls emit with the events of a month of one shop (visitors
// in sessions of a few events a minute apart, a tenth of the events with a
// user id, purchases in two currencies, 500 products), day by day, each
// day's in stream order, n in all. The same n and seed give the same
// events.
func benchChunks(n int, seed uint64, emit func([]tracking.Event) error) error {
	r := rand.New(rand.NewPCG(seed, 2))
	types := []string{tracking.PageViewed, tracking.PageViewed, tracking.ProductViewed, tracking.ProductViewed,
		tracking.ProductViewed, tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted}
	const days = 30
	visit := 0
	done := 0
	for d := range days {
		want := n*(d+1)/days - done
		chunk := make([]tracking.Event, 0, want+8)
		for len(chunk) < want {
			start := t0.Add(time.Duration(d)*24*time.Hour + time.Duration(r.Int64N(int64(24*time.Hour)))).Truncate(time.Microsecond)
			visitor := fmt.Sprintf("a%d", r.IntN(max(n/20, 1)))
			for k := range 1 + r.IntN(8) {
				if len(chunk) == want {
					break
				}
				e := ev(types[r.IntN(len(types))], start.Add(time.Duration(k)*time.Minute), anon(visitor),
					id(fmt.Sprintf("b%d-%d", visit, k)))
				if r.IntN(10) == 0 {
					e.UserID = fmt.Sprintf("u%d", r.IntN(max(n/50, 1)))
				}
				if e.Type == tracking.ProductViewed || e.Type == tracking.AddToCart {
					e.ProductID = fmt.Sprintf("p%d", r.IntN(500))
					e.ProductName = "Product " + e.ProductID
				}
				if e.Type == tracking.PurchaseCompleted {
					c := []string{"EUR", "USD"}[r.IntN(2)]
					e.Revenue, e.Currency = tracking.Money{Minor: r.Int64N(20_000), Currency: c}, c
					e.ProductID = fmt.Sprintf("p%d", r.IntN(500))
				}
				chunk = append(chunk, e)
			}
			visit++
		}
		done += len(chunk)
		slices.SortFunc(chunk, func(a, b tracking.Event) int {
			return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.ID, b.ID))
		})
		if err := emit(chunk); err != nil {
			return err
		}
	}
	return nil
}

// loadBench appends the benchmark's events to s in batches of 10,000.
func loadBench(ctx context.Context, s store.Store, n int) error {
	return benchChunks(n, benchSeed, func(chunk []tracking.Event) error {
		for i := 0; i < len(chunk); i += 10_000 {
			if _, err := s.Append(ctx, chunk[i:min(i+10_000, len(chunk))]); err != nil {
				return err
			}
		}
		return nil
	})
}

var (
	benchBuild   sync.Mutex
	benchVersion = sqlitestore.SchemaVersion()
)

// benchSQLite opens the benchmark's SQLite database, building it first if
// need be.
func benchSQLite(b *testing.B) store.Store {
	b.Helper()
	ctx := context.Background()
	n := benchSize(b)
	dir := os.Getenv("SHOPLYTICS_BENCH_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(cache, "shoplytics-bench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("analytics-v%d-seed%d-%d.db", benchVersion, benchSeed, n))
	benchBuild.Lock()
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".building"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(tmp + suffix)
		}
		s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: tmp})
		if err == nil {
			start := time.Now()
			err = loadBench(ctx, s, n)
			b.Logf("built %s in %s", path, time.Since(start).Round(time.Second))
			if cerr := s.Close(); err == nil {
				err = cerr
			}
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			benchBuild.Unlock()
			b.Fatal(err)
		}
	}
	benchBuild.Unlock()
	s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// benchPostgres opens the benchmark's PostgreSQL schema, building it first
// if need be; it skips without SHOPLYTICS_TEST_POSTGRES_URL.
func benchPostgres(b *testing.B) store.Store {
	b.Helper()
	if os.Getenv("SHOPLYTICS_TEST_POSTGRES_URL") == "" && !testenv.Required() {
		b.Skip("SHOPLYTICS_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	n := benchSize(b)
	dsn := testenv.PostgresURL(b)
	schema := fmt.Sprintf("bench_analytics_v%d_seed%d_%d", benchVersion, benchSeed, n)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	benchBuild.Lock()
	defer benchBuild.Unlock()
	var complete bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'bench_complete')`,
		schema).Scan(&complete); err != nil {
		b.Fatal(err)
	}
	if !complete {
		if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			b.Fatal(err)
		}
		s, err := pgstore.New(ctx, pgstore.Options{DSN: dsn, Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		err = loadBench(ctx, s, n)
		_ = s.Close()
		if err == nil {
			_, err = db.ExecContext(ctx, `VACUUM ANALYZE`)
		}
		if err == nil {
			_, err = db.ExecContext(ctx, `CREATE TABLE `+schema+`.bench_complete ()`)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("built schema %s in %s", schema, time.Since(start).Round(time.Second))
	}
	s, err := pgstore.New(ctx, pgstore.Options{DSN: dsn, Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// latencies are the durations of the runs of one path.
type latencies []time.Duration

// at returns the p-quantile in milliseconds.
func (l latencies) at(p float64) float64 {
	s := slices.Sorted(slices.Values(l))
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}

// benchPaths runs each read once per iteration, in turn, so that every
// path sees the same machine (shared and busy, here), and reports each
// one's median and 95th percentile latency, and with two paths the ratio
// of the second's median to the first's.
func benchPaths(b *testing.B, names []string, reads ...func(ctx context.Context) error) {
	ctx := context.Background()
	for _, read := range reads { // warm the caches
		if err := read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	took := make([]latencies, len(reads))
	for b.Loop() {
		for i, read := range reads {
			start := time.Now()
			if err := read(ctx); err != nil {
				b.Fatal(err)
			}
			took[i] = append(took[i], time.Since(start))
		}
	}
	for i, name := range names {
		b.ReportMetric(took[i].at(0.50), name+"-p50-ms")
		b.ReportMetric(took[i].at(0.95), name+"-p95-ms")
	}
	if len(reads) == 2 {
		b.ReportMetric(took[1].at(0.50)/took[0].at(0.50), "ratio")
	}
}

func benchQuery(b *testing.B) Query {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	// Berlin's midnights of March are whole UTC hours: the range is the
	// month in the shop's zone, as the dashboard asks for it.
	q := query(t0.Add(-time.Hour), t0.Add(31*24*time.Hour-time.Hour))
	q.Location = loc
	return q
}

// BenchmarkReads: every question, backend and path; see the top of the
// file.
func BenchmarkReads(b *testing.B) {
	n := benchSize(b)
	q := benchQuery(b)
	questions := []struct {
		name string
		read func(ctx context.Context, s store.Store) error
		raw  bool // also through the events alone
	}{
		{"stats", func(ctx context.Context, s store.Store) error {
			r, err := Stats(ctx, s, q, StatsOptions{})
			if err == nil && r.Events != int64(n) {
				err = fmt.Errorf("stats of %d events, want %d", r.Events, n)
			}
			return err
		}, true},
		{"counts", func(ctx context.Context, s store.Store) error {
			_, err := Counts(ctx, s, q)
			return err
		}, true},
		{"timeseries-day", func(ctx context.Context, s store.Store) error {
			_, err := TimeSeries(ctx, s, q, TimeSeriesOptions{Interval: Day})
			return err
		}, true},
		{"top-products", func(ctx context.Context, s store.Store) error {
			_, err := TopProducts(ctx, s, q, TopProductsOptions{By: ByRevenue})
			return err
		}, true},
		// By session: from the session trails, against the
		// sessionizer over every event of the range.
		{"funnel-4-steps", func(ctx context.Context, s store.Store) error {
			r, err := Funnel(ctx, s, q, FunnelOptions{Steps: []string{tracking.PageViewed, tracking.ProductViewed,
				tracking.AddToCart, tracking.PurchaseCompleted}})
			if err == nil && r.Steps[3].Count == 0 {
				err = fmt.Errorf("nobody reached step 4: %+v", r.Steps)
			}
			return err
		}, true},
	}
	for _, backend := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{{"sqlite", benchSQLite}, {"postgres", benchPostgres}} {
		for _, qq := range questions {
			b.Run(backend.name+"/"+qq.name, func(b *testing.B) {
				s := backend.open(b)
				read := func(s store.Store) func(ctx context.Context) error {
					return func(ctx context.Context) error { return qq.read(ctx, s) }
				}
				if qq.raw {
					benchPaths(b, []string{"rollups", "raw"}, read(s), read(rawStore{s}))
				} else {
					benchPaths(b, []string{"generic"}, read(s))
				}
			})
		}
	}
}

// BenchmarkIngestRollups appends the same batches of 1,000 events (the
// read benchmarks' data, SHOPLYTICS_BENCH_INGEST events of it, default
// 200,000) to two fresh stores, one keeping rollups and one not, batch by
// batch in turn, so both see the same machine; it reports each store's
// events per second of Append and their ratio. "in-order" sends the
// events as they happened; "backfill" shuffles them over the month first,
// the worst case for rollups (every batch touches hundreds of hours).
func BenchmarkIngestRollups(b *testing.B) {
	total := 200_000
	if v := os.Getenv("SHOPLYTICS_BENCH_INGEST"); v != "" {
		var err error
		if total, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	var events []tracking.Event
	if err := benchChunks(total, benchSeed+1, func(c []tracking.Event) error { events = append(events, c...); return nil }); err != nil {
		b.Fatal(err)
	}
	shuffled := slices.Clone(events)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	ctx := context.Background()
	for _, backend := range []struct {
		name string
		open func(b *testing.B, off bool) store.Store
	}{
		{"sqlite", func(b *testing.B, off bool) store.Store {
			s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: filepath.Join(b.TempDir(), "ingest.db"), DisableRollups: off})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"postgres", func(b *testing.B, off bool) store.Store {
			if os.Getenv("SHOPLYTICS_TEST_POSTGRES_URL") == "" && !testenv.Required() {
				b.Skip("SHOPLYTICS_TEST_POSTGRES_URL is not set")
			}
			schema := testenv.UniqueName("bench_ingest_")
			s, err := pgstore.New(ctx, pgstore.Options{DSN: testenv.PostgresURL(b), Schema: schema, DisableRollups: off})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				_ = s.Close()
				if db, err := sql.Open("postgres", testenv.PostgresURL(b)); err == nil {
					_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
					_ = db.Close()
				}
			})
			return s
		}},
	} {
		for _, order := range []struct {
			name   string
			events []tracking.Event
		}{{"in-order", events}, {"backfill", shuffled}} {
			b.Run(backend.name+"/"+order.name, func(b *testing.B) {
				var on, off time.Duration
				var appended int
				for b.Loop() {
					b.StopTimer()
					with, without := backend.open(b, false), backend.open(b, true)
					b.StartTimer()
					for i := 0; i < len(order.events); i += 1000 {
						batch := order.events[i:min(i+1000, len(order.events))]
						stores := []store.Store{with, without}
						if i/1000%2 == 1 {
							stores[0], stores[1] = stores[1], stores[0]
						}
						for _, s := range stores {
							start := time.Now()
							if _, err := s.Append(ctx, batch); err != nil {
								b.Fatal(err)
							}
							if s == with {
								on += time.Since(start)
							} else {
								off += time.Since(start)
							}
						}
						appended += len(batch)
					}
				}
				b.ReportMetric(float64(appended)/on.Seconds(), "events/s-rollups")
				b.ReportMetric(float64(appended)/off.Seconds(), "events/s-without")
				b.ReportMetric(off.Seconds()/on.Seconds(), "ratio")
			})
		}
	}
}
