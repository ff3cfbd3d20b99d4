package sqlitestore

import (
	"context"
	"database/sql"
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

// insertSQL returns the multi-row INSERT for rows events. Conflicting rows
// are skipped, and RETURNING names those that were stored, which is how
// Append tells new events from duplicates in the same statement.
func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO events (")
	b.WriteString(strings.Join(columns[:], ", "))
	b.WriteString(") VALUES ")
	row := "(" + strings.Repeat("?, ", len(columns)-1) + "?)"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT (shop_id, id) DO NOTHING RETURNING shop_id, id")
	return b.String()
}

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
		return store.AppendResult{}, fmt.Errorf("sqlitestore: append: %w", mapError(ctx, err))
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
// table already held. It runs with the writer slot held.
func (s *Store) insert(ctx context.Context, events []tracking.Event, unique []int, dup []bool) (err error) {
	// Full chunks, then the remainder as a sum of powers of two, so every
	// statement comes from a small cache of prepared ones. They are
	// prepared before the transaction takes the write lock.
	var sizes []int
	for rest := len(unique); rest > 0; {
		n := s.maxRows
		for n > rest {
			n /= 2
		}
		sizes = append(sizes, n)
		rest -= n
	}
	stmts := make([]*sql.Stmt, len(sizes))
	for i, n := range sizes {
		if stmts[i], err = s.prepared(ctx, n); err != nil {
			return err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	args := make([]any, 0, sizes[0]*len(columns))
	stored := make(map[store.Key]struct{}, sizes[0])
	rest := unique
	for c, n := range sizes {
		chunk := rest[:n]
		rest = rest[n:]
		args = args[:0]
		for _, i := range chunk {
			args = appendArgs(args, &events[i])
		}
		if err := runChunk(ctx, tx.StmtContext(ctx, stmts[c]), args, stored); err != nil {
			return err
		}
		if len(stored) < len(chunk) {
			for _, i := range chunk {
				if _, ok := stored[store.KeyOf(&events[i])]; !ok {
					dup[i] = true
				}
			}
		}
		clear(stored)
	}
	return tx.Commit()
}

// runChunk executes one INSERT and collects the keys it stored.
func runChunk(ctx context.Context, stmt *sql.Stmt, args []any, stored map[store.Key]struct{}) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var k store.Key
	for rows.Next() {
		if err := rows.Scan(&k.ShopID, &k.ID); err != nil {
			return err
		}
		stored[k] = struct{}{}
	}
	return rows.Err()
}

// prepared returns the cached INSERT for n rows, preparing it once.
func (s *Store) prepared(ctx context.Context, n int) (*sql.Stmt, error) {
	if st, ok := s.inserts[n]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, insertSQL(n))
	if err != nil {
		return nil, err
	}
	s.inserts[n] = st
	return st, nil
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
