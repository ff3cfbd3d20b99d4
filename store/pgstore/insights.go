package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.InsightKeeper = (*Store)(nil)

func (s *Store) insightsTable() string { return pq.QuoteIdentifier(s.schema) + ".insights" }

// RaiseInsight implements store.InsightKeeper in one statement: it inserts
// the insight unless its rule and subject have one open or created at or
// after quietSince. Two statements racing both see no such row; the
// second then waits on the one-open-insight index for the first to commit
// and does nothing, so the insight is raised once.
func (s *Store) RaiseInsight(ctx context.Context, in store.Insight, quietSince time.Time) (bool, error) {
	if s.closed.Load() {
		return false, fmt.Errorf("pgstore: raise insight: %w", store.ErrClosed)
	}
	if in.ShopID == "" || in.ID == "" || in.Rule == "" {
		return false, fmt.Errorf("pgstore: raise insight: %w: shop id, id and rule are required", store.ErrInvalid)
	}
	ev := string(in.Evidence)
	if ev == "" {
		ev = "{}"
	}
	t := s.insightsTable()
	res, err := s.db.ExecContext(ctx, `INSERT INTO `+t+` (shop_id, id, rule, subject, severity, title, message, evidence,
	window_start, window_end, created_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
WHERE NOT EXISTS (SELECT 1 FROM `+t+` WHERE shop_id = $1 AND rule = $3 AND subject = $4
	AND (resolved_at IS NULL OR created_at >= $12))
ON CONFLICT DO NOTHING`,
		in.ShopID, in.ID, in.Rule, in.Subject, in.Severity, in.Title, in.Message, ev,
		in.WindowStart.UTC(), in.WindowEnd.UTC(), in.CreatedAt.UTC(), quietSince.UTC())
	if err != nil {
		return false, s.fail(ctx, "raise insight", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail(ctx, "raise insight", err)
	}
	return n == 1, nil
}

// ResolveInsight implements store.InsightKeeper.
func (s *Store) ResolveInsight(ctx context.Context, shopID, id string, at time.Time) error {
	return s.exec(ctx, "resolve insight", `UPDATE `+s.insightsTable()+` SET resolved_at = $3 WHERE shop_id = $1 AND id = $2 AND resolved_at IS NULL`,
		shopID, id, at.UTC())
}

// Insights implements store.InsightKeeper.
func (s *Store) Insights(ctx context.Context, f store.InsightFilter) ([]store.Insight, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("pgstore: insights: %w", store.ErrClosed)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: insights: %w", err)
	}
	where := []string{"shop_id = $1"}
	args := []any{f.ShopID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Rule != "" {
		add("rule = $%d", f.Rule)
	}
	if f.Subject != "" {
		add("subject = $%d", f.Subject)
	}
	if f.Severity != "" {
		add("severity = $%d", f.Severity)
	}
	if !f.Since.IsZero() {
		add("created_at >= $%d", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("created_at < $%d", f.Until.UTC())
	}
	if !f.IncludeResolved {
		where = append(where, "resolved_at IS NULL")
	}
	q := `SELECT id, shop_id, rule, subject, severity, title, message, evidence, window_start, window_end, created_at, resolved_at
FROM ` + s.insightsTable() + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	release, err := s.acquireRead(ctx)
	if err != nil {
		return nil, s.fail(ctx, "insights", err)
	}
	defer release()
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(ctx, "insights", err)
	}
	defer rows.Close()
	var out []store.Insight
	for rows.Next() {
		var in store.Insight
		var ev string
		var ra sql.NullTime
		if err := rows.Scan(&in.ID, &in.ShopID, &in.Rule, &in.Subject, &in.Severity, &in.Title, &in.Message, &ev,
			&in.WindowStart, &in.WindowEnd, &in.CreatedAt, &ra); err != nil {
			return nil, s.fail(ctx, "insights", err)
		}
		in.Evidence = json.RawMessage(ev)
		in.WindowStart, in.WindowEnd, in.CreatedAt = in.WindowStart.UTC(), in.WindowEnd.UTC(), in.CreatedAt.UTC()
		if ra.Valid {
			in.ResolvedAt = ra.Time.UTC()
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "insights", err)
	}
	return out, nil
}
