package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// upsertRollupHead and upsertRollupTail add rows of a batch's rollup to
// hourly_rollups (execRows).
const (
	upsertRollupHead = `INSERT INTO hourly_rollups
	(shop_id, hour, type, currency, events, orders, revenue_minor, revenue_min, revenue_max)`
	upsertRollupTail = ` ON CONFLICT (shop_id, hour, type, currency) DO UPDATE SET
		events = events + excluded.events,
		orders = orders + excluded.orders,
		revenue_minor = revenue_minor + excluded.revenue_minor,
		revenue_min = CASE WHEN orders = 0 THEN excluded.revenue_min
			WHEN excluded.orders = 0 THEN revenue_min ELSE min(revenue_min, excluded.revenue_min) END,
		revenue_max = CASE WHEN orders = 0 THEN excluded.revenue_max
			WHEN excluded.orders = 0 THEN revenue_max ELSE max(revenue_max, excluded.revenue_max) END`
)

// markStaleSQL records that a shop had events appended without rollups.
const markStaleSQL = `INSERT INTO rollup_stale (shop_id) VALUES (?) ON CONFLICT DO NOTHING`

// rebuildSQL rolls up one shop's stored events, as the migration that made
// the table did for every shop.
const rebuildSQL = `INSERT INTO hourly_rollups
	(shop_id, hour, type, currency, events, orders, revenue_minor, revenue_min, revenue_max)
SELECT shop_id, hour, type, currency, COUNT(*), SUM(is_order), SUM(amount),
	IFNULL(MIN(CASE WHEN is_order THEN amount END), 0), IFNULL(MAX(CASE WHEN is_order THEN amount END), 0)
FROM (
	SELECT shop_id, ts - ((ts % 3600000000) + 3600000000) % 3600000000 AS hour, type,
		CASE WHEN type = 'purchase_completed' THEN IFNULL(currency, 'USD') ELSE '' END AS currency,
		type = 'purchase_completed' AS is_order,
		CASE WHEN type = 'purchase_completed' THEN IFNULL(revenue_minor, 0) ELSE 0 END AS amount
	FROM events WHERE shop_id = ?
)
GROUP BY shop_id, hour, type, currency`

// writeRollups keeps the rollups of the batch's inserted events in tx: it
// adds them, or with rollups turned off marks their shops stale.
func (s *Store) writeRollups(ctx context.Context, tx *sql.Tx, h *store.Hourly) error {
	if h.Len() == 0 {
		return nil
	}
	if s.noRollups {
		if err := markShops(ctx, tx, h, markStaleSQL); err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
		return nil
	}
	keys := h.Keys()
	args := make([]any, 0, 9*len(keys))
	for _, k := range keys {
		r := h.Row(k)
		args = append(args, k.ShopID, k.Hour.UnixMicro(), k.Type, k.Currency,
			r.Events, r.Orders, r.RevenueMinor, r.RevenueMin, r.RevenueMax)
	}
	if err := execRows(ctx, tx, upsertRollupHead, upsertRollupTail, 9, args); err != nil {
		return fmt.Errorf("rollup: %w", err)
	}
	return nil
}

// HourlyCounts implements store.HourlyReader: one range scan of the
// hourly_rollups key. A shop marked stale (events appended with rollups
// off) answers errors.ErrUnsupported until Rebuild.
func (s *Store) HourlyCounts(ctx context.Context, f store.Filter) ([]store.HourlyRow, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("sqlitestore: rollup: %w", store.ErrClosed)
	}
	if err := store.HourlyFilter(&f); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	var b strings.Builder
	args := []any{f.ShopID, f.ShopID}
	// The stale mark and the rows come from one statement, so from one
	// snapshot: a Rebuild committing meanwhile is seen whole or not at all.
	b.WriteString(`SELECT 1, 0, '', '', 0, 0, 0, 0, 0 FROM rollup_stale WHERE shop_id = ?
		UNION ALL SELECT 0, hour, type, currency, events, orders, revenue_minor, revenue_min, revenue_max
		FROM hourly_rollups WHERE shop_id = ?`)
	if !f.From.IsZero() {
		b.WriteString(" AND hour >= ?")
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		b.WriteString(" AND hour < ?")
		args = append(args, f.To.UnixMicro())
	}
	if len(f.Types) > 0 {
		b.WriteString(" AND type IN (?" + strings.Repeat(", ?", len(f.Types)-1) + ")")
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	rows, err := s.db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: rollup: %w", s.readError(ctx, err))
	}
	defer rows.Close()
	var out []store.HourlyRow
	for rows.Next() {
		var (
			stale bool
			hour  int64
			r     store.HourlyRow
		)
		if err := rows.Scan(&stale, &hour, &r.Type, &r.Currency, &r.Events, &r.Orders,
			&r.RevenueMinor, &r.RevenueMin, &r.RevenueMax); err != nil {
			return nil, fmt.Errorf("sqlitestore: rollup: %w", s.readError(ctx, err))
		}
		if stale {
			return nil, fmt.Errorf("sqlitestore: rollup: shop %q needs a rebuild: %w", f.ShopID, errors.ErrUnsupported)
		}
		r.Hour = time.UnixMicro(hour).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: rollup: %w", s.readError(ctx, err))
	}
	return out, nil
}

// Rebuild implements store.RollupRebuilder: it recomputes the shop's
// rollups (hourly and detail) from its events and clears its stale and
// pending marks, in one transaction
// during which appends wait.
func (s *Store) Rebuild(ctx context.Context, shopID string) error {
	if shopID == "" {
		return fmt.Errorf("sqlitestore: rebuild: %w", store.ErrInvalid)
	}
	return s.write(ctx, "rebuild", func() (err error) {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() {
			if err != nil {
				_ = tx.Rollback()
			}
		}()
		for _, q := range []string{`DELETE FROM hourly_rollups WHERE shop_id = ?`, rebuildSQL, `DELETE FROM rollup_stale WHERE shop_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, shopID); err != nil {
				return err
			}
		}
		if err := s.rebuildDetail(ctx, tx, shopID); err != nil {
			return err
		}
		return tx.Commit()
	})
}
