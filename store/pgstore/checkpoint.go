package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.CheckpointKeeper = (*Store)(nil)

func (s *Store) checkpoints() string { return pq.QuoteIdentifier(s.schema) + ".checkpoints" }

// LoadCheckpoint implements store.CheckpointKeeper.
func (s *Store) LoadCheckpoint(ctx context.Context, shopID, name string) ([]byte, bool, error) {
	if err := store.CheckCheckpoint(shopID, name, nil); err != nil {
		return nil, false, fmt.Errorf("pgstore: load checkpoint: %w", err)
	}
	if s.closed.Load() {
		return nil, false, fmt.Errorf("pgstore: load checkpoint: %w", store.ErrClosed)
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM `+s.checkpoints()+` WHERE shop_id = $1 AND name = $2`, shopID, name).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, s.fail(ctx, "load checkpoint", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// SaveCheckpoint implements store.CheckpointKeeper.
func (s *Store) SaveCheckpoint(ctx context.Context, shopID, name string, value []byte) error {
	if err := store.CheckCheckpoint(shopID, name, value); err != nil {
		return fmt.Errorf("pgstore: save checkpoint: %w", err)
	}
	if value == nil {
		value = []byte{} // NOT NULL
	}
	return s.exec(ctx, "save checkpoint", `INSERT INTO `+s.checkpoints()+` (shop_id, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (shop_id, name) DO UPDATE SET value = excluded.value, updated_at = now()`, shopID, name, value)
}

// DeleteCheckpoint implements store.CheckpointKeeper.
func (s *Store) DeleteCheckpoint(ctx context.Context, shopID, name string) error {
	if err := store.CheckCheckpoint(shopID, name, nil); err != nil {
		return fmt.Errorf("pgstore: delete checkpoint: %w", err)
	}
	return s.exec(ctx, "delete checkpoint", `DELETE FROM `+s.checkpoints()+` WHERE shop_id = $1 AND name = $2`, shopID, name)
}
