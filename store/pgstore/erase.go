package pgstore

import (
	"context"
	"fmt"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.Eraser = (*Store)(nil)

// ErasePerson implements store.Eraser: one transaction deletes the
// person's events (theirs, and the anonymous ones of the devices their
// events name; a scan of the shop's events, as no index is by person) and
// marks the shop's rollups stale, so no read counts an erased event; the
// rebuild that follows clears the mark.
func (s *Store) ErasePerson(ctx context.Context, shopID, userID string) (n int64, err error) {
	if shopID == "" || userID == "" {
		return 0, fmt.Errorf("pgstore: erase: shop and user are required: %w", store.ErrInvalid)
	}
	if s.closed.Load() {
		return 0, fmt.Errorf("pgstore: erase: %w", store.ErrClosed)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.fail(ctx, "erase", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, `DELETE FROM `+s.events+` WHERE shop_id = $1 AND (user_id = $2 OR user_id IS NULL AND anonymous_id IN (
		SELECT DISTINCT anonymous_id FROM `+s.events+` WHERE shop_id = $1 AND user_id = $2 AND anonymous_id IS NOT NULL))`, shopID, userID)
	if err != nil {
		return 0, s.fail(ctx, "erase", err)
	}
	if n, err = res.RowsAffected(); err != nil {
		return 0, s.fail(ctx, "erase", err)
	}
	if n == 0 {
		return 0, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+s.stale+` (shop_id) VALUES ($1) ON CONFLICT DO NOTHING`, shopID); err != nil {
		return 0, s.fail(ctx, "erase", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.fail(ctx, "erase", err)
	}
	if err := s.Rebuild(ctx, shopID); err != nil {
		return n, fmt.Errorf("pgstore: erase: %d events erased, the shop's rollups are stale (reads use the events) until a rebuild: %w", n, err)
	}
	return n, nil
}
