package sqlitestore_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// The write benchmarks insert the same rows (benchBatch) into the same
// schema, one 1,000-event batch per iteration with fresh ids, and report
// events/s. Compare them side by side in one run:
//
//	go test -run '^$' -bench 'Append|RawBatchedInsert|NaiveInsert' -benchtime 30x -count 5 ./store/sqlitestore
//
// BenchmarkRawBatchedInsert is the ceiling (what SQLite does with no
// idempotency bookkeeping); BenchmarkNaiveInsert is what a first attempt
// would do; BenchmarkAppendReturning and BenchmarkAppendPreselect are the
// duplicate-detecting designs Append was chosen against. A fixed -benchtime
// gives every benchmark the same table sizes.

const benchBatchLen = 1000

// benchStore opens a store on a new file; its DB is the raw benchmarks' too.
func benchStore(b *testing.B) *sqlitestore.Store {
	b.Helper()
	s, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(b.TempDir(), "bench.db")})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// benchBatches yields, per iteration, the same 1,000 generated events under
// ids no earlier iteration used.
type benchBatches struct {
	template []tracking.Event
	batch    []tracking.Event
	n        int
}

func newBenchBatches() *benchBatches {
	t := generate(rand.New(rand.NewPCG(42, 42)), "", benchBatchLen)
	return &benchBatches{template: t, batch: make([]tracking.Event, len(t))}
}

func (g *benchBatches) next() []tracking.Event {
	g.n++
	prefix := "b" + strconv.Itoa(g.n) + "-"
	copy(g.batch, g.template)
	for i := range g.batch {
		g.batch[i].ID = prefix + strconv.Itoa(i)
	}
	return g.batch
}

// runWrites runs write once per iteration on a fresh batch, outside the
// timer for building the batch, and reports events/s and the process's CPU
// time per event (user + system), which other load on the machine disturbs
// less than wall time.
func runWrites(b *testing.B, write func(events []tracking.Event)) {
	g := newBenchBatches()
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		events := g.next()
		start := cpuTime()
		b.StartTimer()
		write(events)
		b.StopTimer()
		cpu += cpuTime() - start
		b.StartTimer()
	}
	events := float64(b.N * benchBatchLen)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkAppend(b *testing.B) {
	s := benchStore(b)
	// Cancellable, as the ingester's is: the driver would pay for that per
	// statement if Append let it see ctx.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runWrites(b, func(events []tracking.Event) {
		res, err := s.Append(ctx, events)
		if err != nil || res.Inserted != len(events) {
			b.Fatalf("append: %v, %+v", err, res.Inserted)
		}
	})
}

func BenchmarkRawBatchedInsert(b *testing.B) {
	s := benchStore(b)
	raw := newRawInserter(b, s.DB().DB, benchBatchLen)
	runWrites(b, func(events []tracking.Event) { raw.insert(b, events) })
}

func BenchmarkNaiveInsert(b *testing.B) {
	s := benchStore(b)
	db := s.DB().DB
	ctx := context.Background()
	query := rawInsertSQL(1)
	runWrites(b, func(events []tracking.Event) {
		for i := range events {
			if _, err := db.ExecContext(ctx, query, rawArgs(nil, &events[i])...); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// rawColumns is the events table's columns, written out again so the raw
// benchmarks depend on the schema only.
const rawColumns = "shop_id, id, type, user_id, anonymous_id, session_id, product_id, product_name, category, " +
	"price_minor, quantity, revenue_minor, currency, order_id, url, referrer, user_agent, properties, ts, received_at"

// rawInsertSQL is a plain multi-row INSERT: no conflict handling, no
// RETURNING.
func rawInsertSQL(rows int) string {
	row := "(" + strings.Repeat("?, ", 19) + "?)"
	return "INSERT INTO events (" + rawColumns + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// rawArgs binds an event as Append does (NULL for absent values).
func rawArgs(args []any, e *tracking.Event) []any {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	money := func(m tracking.Money) any {
		if m.IsZero() {
			return nil
		}
		return m.Minor
	}
	var props, received any
	if e.Properties != nil {
		props = string(e.Properties)
	}
	if !e.ReceivedAt.IsZero() {
		received = e.ReceivedAt.UnixMicro()
	}
	return append(args, e.ShopID, e.ID, e.Type, null(e.UserID), null(e.AnonymousID), null(e.SessionID),
		null(e.ProductID), null(e.ProductName), null(e.Category), money(e.Price), e.Quantity, money(e.Revenue),
		null(e.Currency), null(e.OrderID), null(e.URL), null(e.Referrer), null(e.UserAgent), props,
		e.Timestamp.UnixMicro(), received)
}

// rawInserter writes batches of exactly rows events, each in one
// transaction with one prepared multi-row INSERT: the ceiling Append is
// measured against. Other benchmarks reuse it for their own baselines.
type rawInserter struct {
	db   *sql.DB
	stmt *sql.Stmt
	args []any
}

func newRawInserter(tb testing.TB, db *sql.DB, rows int) *rawInserter {
	stmt, err := db.Prepare(rawInsertSQL(rows))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = stmt.Close() })
	return &rawInserter{db: db, stmt: stmt, args: make([]any, 0, rows*20)}
}

func (r *rawInserter) insert(tb testing.TB, events []tracking.Event) {
	ctx := context.Background()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r.args = r.args[:0]
	for i := range events {
		r.args = rawArgs(r.args, &events[i])
	}
	if _, err := tx.StmtContext(ctx, r.stmt).ExecContext(ctx, r.args...); err != nil {
		_ = tx.Rollback()
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}
