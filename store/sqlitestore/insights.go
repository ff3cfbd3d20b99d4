package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.InsightKeeper = (*Store)(nil)

// raiseInsightSQL inserts an insight unless its rule and subject have one
// open or created at or after the cooldown's start; ON CONFLICT covers its
// id and the one-open-insight index.
const raiseInsightSQL = `INSERT INTO insights (shop_id, id, rule, subject, severity, title, message, evidence,
	window_start, window_end, created_at, resolved_at)
SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL
WHERE NOT EXISTS (SELECT 1 FROM insights WHERE shop_id = ? AND rule = ? AND subject = ?
	AND (resolved_at IS NULL OR created_at >= ?))
ON CONFLICT DO NOTHING`

// RaiseInsight implements store.InsightKeeper. It takes the writer slot, as
// Append does, so that it waits in Go rather than on the file lock.
func (s *Store) RaiseInsight(ctx context.Context, in store.Insight, quietSince time.Time) (bool, error) {
	var raised bool
	err := s.write(ctx, "raise insight", func() error {
		if in.ShopID == "" || in.ID == "" || in.Rule == "" {
			return fmt.Errorf("%w: shop id, id and rule are required", store.ErrInvalid)
		}
		ev := string(in.Evidence)
		if ev == "" {
			ev = "{}"
		}
		res, err := s.db.ExecContext(ctx, raiseInsightSQL, in.ShopID, in.ID, in.Rule, in.Subject, in.Severity, in.Title,
			in.Message, ev, micros(in.WindowStart), micros(in.WindowEnd), micros(in.CreatedAt),
			in.ShopID, in.Rule, in.Subject, micros(quietSince))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		raised = n == 1
		return err
	})
	return raised, err
}

// ResolveInsight implements store.InsightKeeper.
func (s *Store) ResolveInsight(ctx context.Context, shopID, id string, at time.Time) error {
	return s.exec(ctx, "resolve insight", `UPDATE insights SET resolved_at = ? WHERE shop_id = ? AND id = ? AND resolved_at IS NULL`,
		micros(at), shopID, id)
}

// Insights implements store.InsightKeeper.
func (s *Store) Insights(ctx context.Context, f store.InsightFilter) ([]store.Insight, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("sqlitestore: insights: %w", store.ErrClosed)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: insights: %w", err)
	}
	where := []string{"shop_id = ?"}
	args := []any{f.ShopID}
	for _, c := range []struct{ col, v string }{{"rule", f.Rule}, {"subject", f.Subject}, {"severity", f.Severity}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, micros(f.Until))
	}
	if !f.IncludeResolved {
		where = append(where, "resolved_at IS NULL")
	}
	q := `SELECT id, shop_id, rule, subject, severity, title, message, evidence, window_start, window_end, created_at, resolved_at
FROM insights WHERE ` + strings.Join(where, " AND ") + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: insights: %w", s.readError(ctx, err))
	}
	defer rows.Close()
	var out []store.Insight
	for rows.Next() {
		var in store.Insight
		var ev string
		var ws, we, ca int64
		var ra sql.NullInt64
		if err := rows.Scan(&in.ID, &in.ShopID, &in.Rule, &in.Subject, &in.Severity, &in.Title, &in.Message, &ev,
			&ws, &we, &ca, &ra); err != nil {
			return nil, fmt.Errorf("sqlitestore: insights: %w", s.readError(ctx, err))
		}
		in.Evidence = json.RawMessage(ev)
		in.WindowStart, in.WindowEnd, in.CreatedAt = fromMicros(ws), fromMicros(we), fromMicros(ca)
		if ra.Valid {
			in.ResolvedAt = fromMicros(ra.Int64)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: insights: %w", s.readError(ctx, err))
	}
	return out, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
