package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// where renders f's conditions as a WHERE clause and its arguments. With
// types false, Filter.Types is left out (CountByType ignores it).
func where(f *store.Filter, types bool) (string, []any) {
	var sb strings.Builder
	args := []any{f.ShopID}
	sb.WriteString(" WHERE shop_id = $1")
	cond := func(sql string, arg any) {
		args = append(args, arg)
		sb.WriteString(" AND ")
		sb.WriteString(sql)
		sb.WriteString(" $")
		sb.WriteString(strconv.Itoa(len(args)))
	}
	if !f.From.IsZero() {
		cond("ts >=", f.From.UTC())
	}
	if !f.To.IsZero() {
		cond("ts <", f.To.UTC())
	}
	if f.UserID != "" {
		cond("user_id =", f.UserID)
	}
	if f.AnonymousID != "" {
		cond("anonymous_id =", f.AnonymousID)
	}
	if f.SessionID != "" {
		cond("session_id =", f.SessionID)
	}
	if types && len(f.Types) > 0 {
		args = append(args, pq.StringArray(f.Types))
		sb.WriteString(" AND type = ANY($" + strconv.Itoa(len(args)) + "::text[])")
	}
	return sb.String(), args
}

// Events implements store.Store. Rows stream from the server as the caller
// iterates; breaking out of the loop closes them, which reads and discards
// what the server already sent of the rest (cancel ctx, or set Filter.Limit,
// to stop a large query on the server).
func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	if err := f.Validate(); err != nil {
		return store.ErrorSeq(fmt.Errorf("pgstore: events: %w", err))
	}
	cond, args := where(&f, true)
	query := `SELECT shop_id, id, type, coalesce(user_id, ''), coalesce(anonymous_id, ''),
		coalesce(session_id, ''), coalesce(product_id, ''), coalesce(product_name, ''),
		coalesce(category, ''), price, quantity, revenue, coalesce(currency, ''), coalesce(order_id, ''),
		coalesce(url, ''), coalesce(referrer, ''), coalesce(user_agent, ''), properties, ts, received_at
		FROM ` + s.events + cond + ` ORDER BY ts, id`
	if f.Limit > 0 {
		query += " LIMIT " + strconv.Itoa(f.Limit)
	}
	return func(yield func(tracking.Event, error) bool) {
		if s.closed.Load() {
			yield(tracking.Event{}, fmt.Errorf("pgstore: events: %w", store.ErrClosed))
			return
		}
		release, err := s.acquireRead(ctx)
		if err != nil {
			yield(tracking.Event{}, s.fail(ctx, "events", err))
			return
		}
		defer release()
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err != nil {
			yield(tracking.Event{}, s.fail(ctx, "events", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			if err := ctx.Err(); err != nil {
				yield(tracking.Event{}, fmt.Errorf("pgstore: events: %w", err))
				return
			}
			var (
				e              tracking.Event
				price, revenue sql.NullInt64
				receivedAt     sql.NullTime
				props          []byte // json.RawMessage would not take NULL
			)
			if err := rows.Scan(&e.ShopID, &e.ID, &e.Type, &e.UserID, &e.AnonymousID, &e.SessionID,
				&e.ProductID, &e.ProductName, &e.Category, &price, &e.Quantity, &revenue, &e.Currency,
				&e.OrderID, &e.URL, &e.Referrer, &e.UserAgent, &props, &e.Timestamp, &receivedAt); err != nil {
				yield(tracking.Event{}, s.fail(ctx, "events", err))
				return
			}
			if props != nil {
				e.Properties = props
			}
			if price.Valid {
				e.Price = tracking.Money{Minor: price.Int64, Currency: e.Currency}
			}
			if revenue.Valid {
				e.Revenue = tracking.Money{Minor: revenue.Int64, Currency: e.Currency}
			}
			e.Timestamp = e.Timestamp.UTC()
			if receivedAt.Valid {
				e.ReceivedAt = receivedAt.Time.UTC()
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(tracking.Event{}, s.fail(ctx, "events", err))
		}
	}
}

// CountByType implements store.TypeCounter with a GROUP BY in the database.
func (s *Store) CountByType(ctx context.Context, f store.Filter) ([]store.TypeCount, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: count by type: %w", err)
	}
	if s.closed.Load() {
		return nil, fmt.Errorf("pgstore: count by type: %w", store.ErrClosed)
	}
	release, err := s.acquireRead(ctx)
	if err != nil {
		return nil, s.fail(ctx, "count by type", err)
	}
	defer release()
	cond, args := where(&f, false)
	var out []store.TypeCount
	err = s.db.SelectContext(ctx, &out, `SELECT type, count(*) AS count FROM `+s.events+cond+` GROUP BY type`, args...)
	if err != nil {
		return nil, s.fail(ctx, "count by type", err)
	}
	return out, nil
}
