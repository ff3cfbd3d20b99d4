package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// selectColumns reads the columns in the order scanEvent expects; absent
// text comes back as "" rather than NULL.
var selectColumns = func() string {
	cols := make([]string, len(columns))
	for i, c := range columns {
		switch c {
		case "shop_id", "id", "type", "quantity", "price_minor", "revenue_minor", "properties", "ts", "received_at":
			cols[i] = c
		default:
			cols[i] = "IFNULL(" + c + ", '')"
		}
	}
	return strings.Join(cols, ", ")
}()

// where translates the filter's conditions (all but Limit) into SQL.
func where(f *store.Filter, types bool) (string, []any) {
	var b strings.Builder
	args := []any{f.ShopID}
	b.WriteString(" WHERE shop_id = ?")
	if !f.From.IsZero() {
		b.WriteString(" AND ts >= ?")
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		b.WriteString(" AND ts < ?")
		args = append(args, f.To.UnixMicro())
	}
	if types && len(f.Types) > 0 {
		b.WriteString(" AND type IN (?")
		b.WriteString(strings.Repeat(", ?", len(f.Types)-1))
		b.WriteString(")")
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	for _, c := range [...]struct{ col, v string }{
		{"user_id", f.UserID}, {"anonymous_id", f.AnonymousID}, {"session_id", f.SessionID},
	} {
		if c.v != "" {
			b.WriteString(" AND " + c.col + " = ?")
			args = append(args, c.v)
		}
	}
	return b.String(), args
}

// Events implements store.Store. Rows stream from one query, in (ts, id)
// order as the indexes keep them; breaking out of the loop closes the
// query, and a cancelled ctx interrupts it.
func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	if err := f.Validate(); err != nil {
		return store.ErrorSeq(fmt.Errorf("sqlitestore: events: %w", err))
	}
	cond, args := where(&f, true)
	query := "SELECT " + selectColumns + " FROM events" + cond + " ORDER BY ts, id"
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return func(yield func(tracking.Event, error) bool) {
		yieldErr := func(err error) { yield(tracking.Event{}, fmt.Errorf("sqlitestore: events: %w", err)) }
		if s.closed.Load() {
			yieldErr(store.ErrClosed)
			return
		}
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err != nil {
			yieldErr(s.readError(ctx, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvent(rows)
			if err == nil {
				err = ctx.Err() // stop promptly, not at the driver's next check
			}
			if err != nil {
				yieldErr(s.readError(ctx, err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yieldErr(s.readError(ctx, err))
		}
	}
}

// readError maps a query error, reporting a store closed meanwhile as such.
func (s *Store) readError(ctx context.Context, err error) error {
	if s.closed.Load() && ctx.Err() == nil {
		return fmt.Errorf("%w (%v)", store.ErrClosed, err)
	}
	return fail(ctx, err)
}

// scanEvent reads one row of selectColumns.
func scanEvent(rows *sql.Rows) (tracking.Event, error) {
	var (
		e              tracking.Event
		price, revenue sql.NullInt64
		props          []byte
		ts             int64
		received       sql.NullInt64
	)
	err := rows.Scan(&e.ShopID, &e.ID, &e.Type, &e.UserID, &e.AnonymousID, &e.SessionID,
		&e.ProductID, &e.ProductName, &e.Category, &price, &e.Quantity, &revenue,
		&e.Currency, &e.OrderID, &e.URL, &e.Referrer, &e.UserAgent, &props, &ts, &received)
	if err != nil {
		return tracking.Event{}, err
	}
	if price.Valid {
		e.Price = tracking.Money{Minor: price.Int64, Currency: e.Currency}
	}
	if revenue.Valid {
		e.Revenue = tracking.Money{Minor: revenue.Int64, Currency: e.Currency}
	}
	if props != nil {
		e.Properties = props
	}
	e.Timestamp = time.UnixMicro(ts).UTC()
	if received.Valid {
		e.ReceivedAt = time.UnixMicro(received.Int64).UTC()
	}
	return e, nil
}

// CountByType implements store.TypeCounter: one GROUP BY over the
// (shop_id, type, ts) index. Filter.Types and Filter.Limit are ignored.
func (s *Store) CountByType(ctx context.Context, f store.Filter) ([]store.TypeCount, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("sqlitestore: count by type: %w", store.ErrClosed)
	}
	f.Limit = 0
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: count by type: %w", err)
	}
	cond, args := where(&f, false)
	var out []store.TypeCount
	if err := s.db.SelectContext(ctx, &out, "SELECT type, COUNT(*) AS count FROM events"+cond+" GROUP BY type", args...); err != nil {
		return nil, fmt.Errorf("sqlitestore: count by type: %w", s.readError(ctx, err))
	}
	return out, nil
}
