package memstore

import (
	"context"
	"fmt"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.CheckpointKeeper = (*Store)(nil)

// LoadCheckpoint implements store.CheckpointKeeper.
func (s *Store) LoadCheckpoint(ctx context.Context, shopID, name string) ([]byte, bool, error) {
	if err := s.checkpointCall(ctx, shopID, name, nil); err != nil {
		return nil, false, fmt.Errorf("memstore: load checkpoint: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, false, fmt.Errorf("memstore: load checkpoint: %w", store.ErrClosed)
	}
	v, ok := s.checkpoints[store.Key{ShopID: shopID, ID: name}]
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, v...), true, nil
}

// SaveCheckpoint implements store.CheckpointKeeper.
func (s *Store) SaveCheckpoint(ctx context.Context, shopID, name string, value []byte) error {
	if err := s.checkpointCall(ctx, shopID, name, value); err != nil {
		return fmt.Errorf("memstore: save checkpoint: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: save checkpoint: %w", store.ErrClosed)
	}
	s.checkpoints[store.Key{ShopID: shopID, ID: name}] = append([]byte{}, value...)
	return nil
}

// DeleteCheckpoint implements store.CheckpointKeeper.
func (s *Store) DeleteCheckpoint(ctx context.Context, shopID, name string) error {
	if err := s.checkpointCall(ctx, shopID, name, nil); err != nil {
		return fmt.Errorf("memstore: delete checkpoint: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: delete checkpoint: %w", store.ErrClosed)
	}
	delete(s.checkpoints, store.Key{ShopID: shopID, ID: name})
	return nil
}

func (s *Store) checkpointCall(ctx context.Context, shopID, name string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return store.CheckCheckpoint(shopID, name, value)
}
