package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// columns of the events table, in the order INSERT binds them and SELECT
// reads them.
var columns = [...]string{
	"shop_id", "id", "type", "user_id", "anonymous_id", "session_id",
	"product_id", "product_name", "category", "price_minor", "quantity",
	"revenue_minor", "currency", "order_id", "url", "referrer", "user_agent",
	"properties", "ts", "received_at",
}

// insertSQL stores one event unless its key is taken; the number of rows it
// changed (0 or 1) says which. Append runs it once per event inside one
// transaction: measured against a multi-row INSERT … RETURNING and against
// a SELECT of the existing keys before a multi-row INSERT, it costs less CPU
// per event than either, and as little as a plain multi-row INSERT with no
// duplicate detection at all (see the benchmarks).
var insertSQL = "INSERT INTO events (" + strings.Join(columns[:], ", ") + ") VALUES (" +
	strings.Repeat("?, ", len(columns)-1) + "?) ON CONFLICT (shop_id, id) DO NOTHING"

// Append implements store.Store. The batch is one transaction: either all
// its new events are stored or none is.
func (s *Store) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	if s.closed.Load() {
		return store.AppendResult{}, fmt.Errorf("sqlitestore: append: %w", store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return store.AppendResult{}, fmt.Errorf("sqlitestore: append: %w", err)
	}
	unique, dup := store.SplitBatch(events)
	if len(unique) == 0 {
		return store.Result(dup), nil
	}
	for _, i := range unique {
		if err := checkMoney(&events[i]); err != nil {
			return store.AppendResult{}, fmt.Errorf("sqlitestore: append: event %d: %w", i, err)
		}
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return store.AppendResult{}, fmt.Errorf("sqlitestore: append: %w", ctx.Err())
	}
	defer func() { <-s.writer }()
	if s.closed.Load() {
		return store.AppendResult{}, fmt.Errorf("sqlitestore: append: %w", store.ErrClosed)
	}
	if err := s.insert(ctx, events, unique, dup); err != nil {
		return store.AppendResult{}, fmt.Errorf("sqlitestore: append: %w", fail(ctx, err))
	}
	return store.Result(dup), nil
}

// checkMoney refuses amounts the table cannot keep exactly: it has one
// currency column, which Normalize makes the currency of both amounts.
func checkMoney(e *tracking.Event) error {
	if !e.Price.IsZero() && e.Price.Currency != e.Currency {
		return fmt.Errorf("%w: price currency %q differs from event currency %q", store.ErrInvalid, e.Price.Currency, e.Currency)
	}
	if !e.Revenue.IsZero() && e.Revenue.Currency != e.Currency {
		return fmt.Errorf("%w: revenue currency %q differs from event currency %q", store.ErrInvalid, e.Revenue.Currency, e.Currency)
	}
	return nil
}

// insert writes events[unique] in one transaction and marks in dup those the
// table already held; the rollups of the events it inserted go into the same
// transaction. It runs with the writer slot held.
func (s *Store) insert(ctx context.Context, events []tracking.Event, unique []int, dup []bool) (err error) {
	// The driver watches a cancellable context with a goroutine per
	// statement; checking ctx between rows is as prompt for statements this
	// short, and cheaper. Cancelling ctx also rolls the transaction back.
	run := context.WithoutCancel(ctx)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A multi-row statement journals the pages it changes, so that a
	// failing row can undo the statement alone; past 64 KiB (16 pages: a
	// few dozen rows of a rollup spread over its table) SQLite moves that
	// journal to a temporary file and writes every further page to it.
	// With temporary storage in memory it stays in memory. The setting is
	// the connection's and changes only outside a transaction, so it is
	// set for the batch and put back after: a reader that gets the
	// connection next keeps its temporary tables (DISTINCT, IN lists) out
	// of memory, as before.
	if _, err := conn.ExecContext(run, tempStoreMemorySQL); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.ExecContext(run, tempStoreDefaultSQL); err != nil {
			// Not put back: close the connection instead.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// A checkpoint copies every page the log holds back into the database;
	// with the detail rollups a batch dirties hundreds of pages, most of
	// them the same ones batch after batch (the last hour of each product,
	// person and session), so checkpointing every 32,000 pages (128 MiB)
	// instead of SQLite's 1,000 writes each of them back once for many
	// batches instead of about once for each, and syncs the files less
	// often: small batches (a durable server's group commits) dirty a
	// hundred pages or more each, and at 8,000 pages a fifth of their time
	// went to checkpoints. The log's file keeps its largest size (128 MiB
	// and a batch) between checkpoints. The setting is the connection's;
	// setting it costs no I/O.
	if _, err := tx.ExecContext(run, walAutocheckpointSQL); err != nil {
		return err
	}
	stmt := tx.StmtContext(ctx, s.insertStmt)
	defer stmt.Close()
	args := make([]any, 0, len(columns))
	var (
		rollup store.Hourly
		more   detail
	)
	for _, i := range unique {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := stmt.ExecContext(run, appendArgs(args[:0], &events[i])...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		dup[i] = n == 0
		if n == 1 {
			rollup.Add(&events[i])
			if !s.noRollups && !s.hourlyOnly {
				more.add(&events[i])
			}
		}
	}
	if err := s.writeRollups(run, tx, &rollup); err != nil {
		return err
	}
	switch {
	case s.hourlyOnly:
		if err := markShops(run, tx, &rollup, markPendingSQL); err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
	case !s.noRollups:
		if err := s.writeDetail(run, tx, &more); err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return tx.Commit()
}

// appendArgs appends the bound values of one row, in columns order.
func appendArgs(args []any, e *tracking.Event) []any {
	var props any
	if e.Properties != nil {
		props = string(e.Properties) // TEXT: SQLite would read a BLOB as JSONB
	}
	var received any
	if !e.ReceivedAt.IsZero() {
		received = e.ReceivedAt.UnixMicro()
	}
	return append(args,
		e.ShopID, e.ID, e.Type,
		text(e.UserID), text(e.AnonymousID), text(e.SessionID),
		text(e.ProductID), text(e.ProductName), text(e.Category),
		minor(e.Price), e.Quantity, minor(e.Revenue), text(e.Currency),
		text(e.OrderID), text(e.URL), text(e.Referrer), text(e.UserAgent),
		props, e.Timestamp.UnixMicro(), received,
	)
}

// text stores an absent (empty) string as NULL.
func text(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// minor stores an absent amount as NULL.
func minor(m tracking.Money) any {
	if m.IsZero() {
		return nil
	}
	return m.Minor
}

// markShops runs mark (an insert of the shop id) in tx for each shop h
// holds: stale with rollups off, pending with the hourly ones only.
func markShops(ctx context.Context, tx *sql.Tx, h *store.Hourly, mark string) error {
	var last string
	for _, k := range h.Keys() {
		if k.ShopID == last {
			continue
		}
		last = k.ShopID
		if _, err := tx.ExecContext(ctx, mark, k.ShopID); err != nil {
			return err
		}
	}
	return nil
}

// walAutocheckpointSQL sets how many pages of write-ahead log a commit
// lets accumulate before it checkpoints them (see insert).
const walAutocheckpointSQL = `PRAGMA wal_autocheckpoint = 32000`

// tempStoreMemorySQL keeps a connection's temporary storage in memory,
// tempStoreDefaultSQL puts it back (see insert).
const (
	tempStoreMemorySQL  = `PRAGMA temp_store = MEMORY`
	tempStoreDefaultSQL = `PRAGMA temp_store = DEFAULT`
)

// markPendingSQL marks a shop's detail rollups as lacking events
// (HourlyRollupsOnly): they are not read until a Rebuild.
const markPendingSQL = `INSERT INTO rollup_pending (shop_id) VALUES (?) ON CONFLICT DO NOTHING`
