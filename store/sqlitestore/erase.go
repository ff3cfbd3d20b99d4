package sqlitestore

import (
	"context"
	"fmt"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.Eraser = (*Store)(nil)

// eraseSQL deletes a person's events: theirs, and the anonymous ones of
// the devices their events name. It scans the shop's events (there is no
// index by person: erasure is rare, reads by time are not).
const eraseSQL = `DELETE FROM events WHERE shop_id = ?1 AND (user_id = ?2 OR user_id IS NULL AND anonymous_id IN (
	SELECT DISTINCT anonymous_id FROM events WHERE shop_id = ?1 AND user_id = ?2 AND anonymous_id IS NOT NULL))`

// ErasePerson implements store.Eraser. The delete marks the shop's rollups
// stale in its transaction, so no read counts an erased event even if the
// rebuild that follows (and clears the mark) does not happen.
func (s *Store) ErasePerson(ctx context.Context, shopID, userID string) (n int64, err error) {
	if shopID == "" || userID == "" {
		return 0, fmt.Errorf("sqlitestore: erase: shop and user are required: %w", store.ErrInvalid)
	}
	if s.closed.Load() {
		return 0, fmt.Errorf("sqlitestore: erase: %w", store.ErrClosed)
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("sqlitestore: erase: %w", ctx.Err())
	}
	n, err = s.erase(ctx, shopID, userID)
	<-s.writer
	if err != nil || n == 0 {
		return n, err
	}
	if err := s.Rebuild(ctx, shopID); err != nil {
		return n, fmt.Errorf("sqlitestore: erase: %d events erased, the shop's rollups are stale (reads use the events) until a rebuild: %w", n, err)
	}
	return n, nil
}

// erase deletes the events and marks the shop stale, in one transaction;
// the caller holds the writer slot.
func (s *Store) erase(ctx context.Context, shopID, userID string) (n int64, err error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("sqlitestore: erase: %w", store.ErrClosed)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: erase: %w", fail(ctx, err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, eraseSQL, shopID, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: erase: %w", fail(ctx, err))
	}
	if n, err = res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("sqlitestore: erase: %w", fail(ctx, err))
	}
	if n == 0 {
		return 0, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, markStaleSQL, shopID); err != nil {
		return 0, fmt.Errorf("sqlitestore: erase: %w", fail(ctx, err))
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlitestore: erase: %w", fail(ctx, err))
	}
	return n, nil
}
