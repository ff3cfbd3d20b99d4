package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// The insert paths Append does not take, kept to compare with it (see
// BenchmarkAppendPaths) and to run the conformance suite over every one.

// writer is a way of inserting a batch. All of them insert the unique events
// of a batch in (shop_id, id) order, so two transactions inserting
// overlapping batches take their row locks in the same order and cannot
// deadlock, skip keys already stored with ON CONFLICT DO NOTHING, and report
// the keys they stored with RETURNING. Append takes writeCopyDirect; the others
// are the candidates the benchmarks measured it against.
type writer int

const (
	// writeUnnest sends each column as one array parameter and inserts
	// SELECT * FROM unnest(...): one statement of fixed text and no
	// transaction beyond the statement, but PostgreSQL parses 20 large array
	// literals, which measured slower than COPY.
	writeUnnest writer = iota
	// writeCopy COPYs the batch into a temporary staging table kept per
	// connection (ON COMMIT DELETE ROWS) and moves it with INSERT … SELECT.
	writeCopy
	// writeCopyDrop is writeCopy with a staging table created and dropped
	// by every batch (ON COMMIT DROP).
	writeCopyDrop
	// writeValues is a multi-row INSERT … VALUES with 20 parameters per row,
	// in chunks under PostgreSQL's 65535-parameter limit.
	writeValues
	// writeCopyDirect COPYs the batch straight into events, which skips the
	// staging table and the INSERT … SELECT, and falls back to writeCopy
	// when a key is already stored (the COPY then fails whole, on a unique
	// violation, and stores nothing). Duplicates are rare (retries,
	// redeliveries), so most batches take the fast path; after a conflict
	// the next batches go through staging for a while, so a client that
	// keeps resending does not pay for two writes each time.
	writeCopyDirect
)

func (w writer) String() string {
	switch w {
	case writeUnnest:
		return "unnest"
	case writeCopy:
		return "copy"
	case writeCopyDrop:
		return "copy-drop"
	case writeValues:
		return "values"
	case writeCopyDirect:
		return "copy-direct"
	}
	return "writer(" + strconv.Itoa(int(w)) + ")"
}

// writers are all the paths, Append's (writeCopyDirect) last.
var writers = []writer{writeUnnest, writeCopy, writeCopyDrop, writeValues, writeCopyDirect}

// fn returns the path as Store.appendWith takes it.
func (w writer) fn() insertFunc {
	switch w {
	case writeUnnest:
		return (*Store).insertUnnest
	case writeCopy:
		return (*Store).insertCopy
	case writeCopyDrop:
		return (*Store).insertCopyDrop
	case writeValues:
		return (*Store).insertValues
	case writeCopyDirect:
		return (*Store).insertCopyDirect
	}
	panic(fmt.Sprintf("unknown writer %d", w))
}

// writerStore is a Store whose Append takes path w.
type writerStore struct {
	*Store
	w writer
}

func (ws writerStore) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	return ws.appendWith(ctx, ws.w.fn(), events)
}

// rollupless is a writerStore without the rollup capabilities, for the
// paths that do not keep rollups.
type rollupless struct{ ws writerStore }

func (r rollupless) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	return r.ws.Append(ctx, events)
}

func (r rollupless) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	return r.ws.Events(ctx, f)
}

func (r rollupless) Close() error                   { return r.ws.Close() }
func (r rollupless) Ping(ctx context.Context) error { return r.ws.Ping(ctx) }

func (r rollupless) CountByType(ctx context.Context, f store.Filter) ([]store.TypeCount, error) {
	return r.ws.CountByType(ctx, f)
}

// insertCopyDrop is insertCopy with a staging table created and dropped by
// every batch (ON COMMIT DROP).
func (s *Store) insertCopyDrop(ctx context.Context, events []tracking.Event, unique []int) ([]store.Key, error) {
	return s.insertStaged(ctx, events, unique,
		`CREATE TEMP TABLE `+stagingTable+`_once `+stagingColumns+` ON COMMIT DROP`,
		"pg_temp."+stagingTable+"_once")
}

// nullable maps the zero value of an optional field to SQL NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func money(m tracking.Money) any {
	if m.IsZero() {
		return nil
	}
	return m.Minor
}

func properties(p []byte) any {
	if len(p) == 0 {
		return nil
	}
	return string(p) // a string, not []byte, which lib/pq would send as bytea
}

func instant(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// appendRow appends the column values of e, in columns order.
func appendRow(args []any, e *tracking.Event) []any {
	return append(args,
		e.ShopID, e.ID, e.Type, nullable(e.UserID), nullable(e.AnonymousID), nullable(e.SessionID),
		nullable(e.ProductID), nullable(e.ProductName), nullable(e.Category),
		money(e.Price), e.Quantity, money(e.Revenue), nullable(e.Currency), nullable(e.OrderID),
		nullable(e.URL), nullable(e.Referrer), nullable(e.UserAgent), properties(e.Properties),
		e.Timestamp.UTC(), instant(e.ReceivedAt))
}

// insertUnnest sends the batch as 20 array parameters, one per column.
func (s *Store) insertUnnest(ctx context.Context, events []tracking.Event, unique []int) ([]store.Key, error) {
	var cols [numColumns]arrayText
	for _, i := range unique {
		e := &events[i]
		cols[0].text(e.ShopID)
		cols[1].text(e.ID)
		cols[2].text(e.Type)
		cols[3].optText(e.UserID)
		cols[4].optText(e.AnonymousID)
		cols[5].optText(e.SessionID)
		cols[6].optText(e.ProductID)
		cols[7].optText(e.ProductName)
		cols[8].optText(e.Category)
		cols[9].money(e.Price)
		cols[10].int(e.Quantity)
		cols[11].money(e.Revenue)
		cols[12].optText(e.Currency)
		cols[13].optText(e.OrderID)
		cols[14].optText(e.URL)
		cols[15].optText(e.Referrer)
		cols[16].optText(e.UserAgent)
		cols[17].optText(string(e.Properties))
		cols[18].time(e.Timestamp)
		cols[19].time(e.ReceivedAt)
	}
	args := make([]any, numColumns)
	for i := range cols {
		args[i] = cols[i].String()
	}
	return scanKeys(ctx, s.db, make([]store.Key, 0, len(unique)), `INSERT INTO `+s.events+` (`+columns+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[],
			$14::text[], $15::text[], $16::text[], $17::text[], $18::jsonb[], $19::timestamptz[], $20::timestamptz[])
		ON CONFLICT (shop_id, id) DO NOTHING RETURNING shop_id, id`, args...)
}

// maxParams is PostgreSQL's limit on the parameters of one statement.
const maxParams = 65535

// insertValues sends multi-row INSERT … VALUES statements, in one
// transaction when the batch needs more than one.
func (s *Store) insertValues(ctx context.Context, events []tracking.Event, unique []int) (keys []store.Key, err error) {
	const rowsPerStmt = maxParams / numColumns
	var q queryer = s.db
	if len(unique) > rowsPerStmt {
		// Not :=, which would shadow err and hide a failed commit from the
		// deferred functions below.
		var tx *sql.Tx
		tx, err = s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				_ = tx.Rollback()
			}
		}()
		q = tx
		defer func() {
			if err == nil {
				err = tx.Commit()
			}
		}()
	}
	keys = make([]store.Key, 0, len(unique))
	for start := 0; start < len(unique); start += rowsPerStmt {
		chunk := unique[start:min(start+rowsPerStmt, len(unique))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO ` + s.events + ` (` + columns + `) VALUES `)
		args := make([]any, 0, len(chunk)*numColumns)
		for r, i := range chunk {
			if r > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for c := range numColumns {
				if c > 0 {
					sb.WriteByte(',')
				}
				sb.WriteByte('$')
				sb.WriteString(strconv.Itoa(r*numColumns + c + 1))
			}
			sb.WriteByte(')')
			args = appendRow(args, &events[i])
		}
		sb.WriteString(` ON CONFLICT (shop_id, id) DO NOTHING RETURNING shop_id, id`)
		if keys, err = scanKeys(ctx, q, keys, sb.String(), args...); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
