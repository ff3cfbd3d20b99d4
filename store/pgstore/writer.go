package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// writer is a way of inserting a batch. All of them insert the unique events
// of a batch in (shop_id, id) order, so two transactions inserting
// overlapping batches take their row locks in the same order and cannot
// deadlock, skip keys already stored with ON CONFLICT DO NOTHING, and report
// the keys they stored with RETURNING. Append uses defaultWriter; the others
// are kept for the benchmarks that chose it (see append_bench_test.go).
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

// defaultWriter is the fastest path measured by BenchmarkAppendPaths: COPY
// straight into events, with the staging table kept per connection
// (writeCopy) as the fallback for batches holding stored keys.
// (writeCopyDrop was as fast as writeCopy, but creates and drops a catalog
// entry for every batch.)
const defaultWriter = writeCopyDirect

// stagingAfterConflict is how many batches go through staging after a
// direct COPY met a stored key.
const stagingAfterConflict = 16

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

// columns of events in the order every writer sends them.
const columns = `shop_id, id, type, user_id, anonymous_id, session_id, product_id, product_name, category,
	price, quantity, revenue, currency, order_id, url, referrer, user_agent, properties, ts, received_at`

const numColumns = 20

// insert stores events[unique] (already in key order) with path w and
// returns the keys the database did not hold before.
func (s *Store) insert(ctx context.Context, w writer, events []tracking.Event, unique []int) ([]store.Key, error) {
	switch w {
	case writeUnnest:
		return s.insertUnnest(ctx, events, unique)
	case writeCopy:
		return s.insertCopy(ctx, events, unique, false)
	case writeCopyDrop:
		return s.insertCopy(ctx, events, unique, true)
	case writeValues:
		return s.insertValues(ctx, events, unique)
	case writeCopyDirect:
		return s.insertCopyDirect(ctx, events, unique)
	}
	return nil, fmt.Errorf("unknown writer %d", w)
}

// queryer is what a writer needs of a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanKeys reads the (shop_id, id) rows of a RETURNING clause.
func scanKeys(ctx context.Context, q queryer, keys []store.Key, query string, args ...any) ([]store.Key, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return keys, err
	}
	defer rows.Close()
	for rows.Next() {
		var k store.Key
		if err := rows.Scan(&k.ShopID, &k.ID); err != nil {
			return keys, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
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

// stagingTable names the temporary staging table. It carries the version of
// stagingColumns, so a connection that still holds a table of an older shape
// (a caller's pool shared with an older build) is not reused.
const stagingTable = "shoplytics_staging_v1"

// stagingColumns defines the staging table; it mirrors events without
// constraints or indexes.
const stagingColumns = `(shop_id text COLLATE "C", id text COLLATE "C", type text COLLATE "C", user_id text, anonymous_id text, session_id text,
	product_id text, product_name text, category text, price bigint, quantity bigint, revenue bigint,
	currency text, order_id text, url text, referrer text, user_agent text, properties jsonb,
	ts timestamptz, received_at timestamptz)`

// copyDataStmt is the COPY statement of lib/pq, which takes pre-encoded
// lines; Exec(nil) ends the COPY and reports its errors.
type copyDataStmt interface {
	driver.Stmt
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// encodeCopy encodes events[unique] as COPY text rows.
func encodeCopy(events []tracking.Event, unique []int) string {
	var data copyText
	data.b = make([]byte, 0, len(unique)*512)
	for n, i := range unique {
		if n > 0 {
			data.b = append(data.b, '\n')
		}
		data.row(&events[i])
	}
	return string(data.b)
}

// copyIn runs COPY table FROM STDIN with data on conn, through the driver,
// which takes the whole encoded batch at once.
func copyIn(ctx context.Context, conn *sql.Conn, table, data string) error {
	return conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare; pgstore needs lib/pq", dc)
		}
		st, err := prep.PrepareContext(ctx, `COPY `+table+` (`+columns+`) FROM STDIN`)
		if err != nil {
			return err
		}
		defer st.Close()
		cp, ok := st.(copyDataStmt)
		if !ok {
			return fmt.Errorf("driver statement %T does not take COPY data; pgstore needs lib/pq", st)
		}
		if _, err := cp.CopyData(ctx, data); err != nil {
			return err
		}
		_, err = cp.Exec(nil) // lib/pq's COPY statement has no ExecContext
		return err
	})
}

// insertCopyDirect COPYs the batch straight into events, in a transaction
// of its own; when a key is already stored the COPY fails whole, and the
// batch goes through insertCopy.
func (s *Store) insertCopyDirect(ctx context.Context, events []tracking.Event, unique []int) ([]store.Key, error) {
	if s.stagingBatches.Load() > 0 {
		s.stagingBatches.Add(-1)
		return s.insertCopy(ctx, events, unique, false)
	}
	err := s.copyDirect(ctx, encodeCopy(events, unique))
	if isUniqueViolation(err) {
		s.stagingBatches.Store(stagingAfterConflict)
		return s.insertCopy(ctx, events, unique, false)
	}
	if err != nil {
		return nil, err
	}
	keys := make([]store.Key, len(unique))
	for n, i := range unique {
		keys[n] = store.KeyOf(&events[i])
	}
	return keys, nil
}

func (s *Store) copyDirect(ctx context.Context, data string) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil) // lib/pq runs COPY only in a transaction
	if err != nil {
		return err
	}
	if err := copyIn(ctx, conn, s.events, data); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// insertCopy COPYs the batch into a temporary staging table and moves the
// new rows into events, in one transaction.
func (s *Store) insertCopy(ctx context.Context, events []tracking.Event, unique []int, dropEach bool) (keys []store.Key, err error) {
	data := encodeCopy(events, unique)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// The first batch on a connection creates the table; later ones find it
	// (a notice, no catalog change) and commit empties it.
	staging := "pg_temp." + stagingTable
	create := `CREATE TEMP TABLE IF NOT EXISTS ` + stagingTable + ` ` + stagingColumns + ` ON COMMIT DELETE ROWS`
	if dropEach {
		staging = "pg_temp." + stagingTable + "_once"
		create = `CREATE TEMP TABLE ` + stagingTable + `_once ` + stagingColumns + ` ON COMMIT DROP`
	}
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return nil, err
	}
	if err := copyIn(ctx, conn, staging, data); err != nil {
		return nil, err
	}
	keys, err = scanKeys(ctx, tx, make([]store.Key, 0, len(unique)), `INSERT INTO `+s.events+` (`+columns+`)
		SELECT `+columns+` FROM `+staging+` ORDER BY shop_id, id
		ON CONFLICT (shop_id, id) DO NOTHING RETURNING shop_id, id`)
	if err != nil {
		return nil, err
	}
	return keys, tx.Commit()
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
