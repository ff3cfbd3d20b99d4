package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.CheckpointKeeper = (*Store)(nil)

// LoadCheckpoint implements store.CheckpointKeeper.
func (s *Store) LoadCheckpoint(ctx context.Context, shopID, name string) ([]byte, bool, error) {
	if err := store.CheckCheckpoint(shopID, name, nil); err != nil {
		return nil, false, fmt.Errorf("sqlitestore: load checkpoint: %w", err)
	}
	if s.closed.Load() {
		return nil, false, fmt.Errorf("sqlitestore: load checkpoint: %w", store.ErrClosed)
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE shop_id = ? AND name = ?`, shopID, name).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("sqlitestore: load checkpoint: %w", s.readError(ctx, err))
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// SaveCheckpoint implements store.CheckpointKeeper.
func (s *Store) SaveCheckpoint(ctx context.Context, shopID, name string, value []byte) error {
	if err := store.CheckCheckpoint(shopID, name, value); err != nil {
		return fmt.Errorf("sqlitestore: save checkpoint: %w", err)
	}
	if value == nil {
		value = []byte{} // NOT NULL
	}
	return s.exec(ctx, "save checkpoint",
		`INSERT INTO checkpoints (shop_id, name, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		shopID, name, value, time.Now().UnixMicro())
}

// DeleteCheckpoint implements store.CheckpointKeeper.
func (s *Store) DeleteCheckpoint(ctx context.Context, shopID, name string) error {
	if err := store.CheckCheckpoint(shopID, name, nil); err != nil {
		return fmt.Errorf("sqlitestore: delete checkpoint: %w", err)
	}
	return s.exec(ctx, "delete checkpoint", `DELETE FROM checkpoints WHERE shop_id = ? AND name = ?`, shopID, name)
}
