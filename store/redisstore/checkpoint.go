package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shoplytics/shoplytics/store"
)

// The store keeps checkpoints in Redis itself, next to the streams, also
// when it relays to a sink: a checkpoint says which events were appended,
// and appended means in the stream (the relay delivers them from there),
// so the two share Redis's durability. A checkpoint kept in the sink
// could run ahead of events still waiting in the stream, and be lost with
// them.
var _ store.CheckpointKeeper = (*Store)(nil)

// LoadCheckpoint implements store.CheckpointKeeper.
func (s *Store) LoadCheckpoint(ctx context.Context, shopID, name string) ([]byte, bool, error) {
	if err := s.checkpointCall(shopID, name, nil); err != nil {
		return nil, false, fmt.Errorf("redisstore: load checkpoint: %w", err)
	}
	v, err := s.client.HGet(ctx, s.keys.checkpoints(shopID), name).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, wrap("load checkpoint", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// SaveCheckpoint implements store.CheckpointKeeper.
func (s *Store) SaveCheckpoint(ctx context.Context, shopID, name string, value []byte) error {
	if err := s.checkpointCall(shopID, name, value); err != nil {
		return fmt.Errorf("redisstore: save checkpoint: %w", err)
	}
	return wrap("save checkpoint", s.client.HSet(ctx, s.keys.checkpoints(shopID), name, value).Err())
}

// DeleteCheckpoint implements store.CheckpointKeeper.
func (s *Store) DeleteCheckpoint(ctx context.Context, shopID, name string) error {
	if err := s.checkpointCall(shopID, name, nil); err != nil {
		return fmt.Errorf("redisstore: delete checkpoint: %w", err)
	}
	return wrap("delete checkpoint", s.client.HDel(ctx, s.keys.checkpoints(shopID), name).Err())
}

func (s *Store) checkpointCall(shopID, name string, value []byte) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return store.CheckCheckpoint(shopID, name, value)
}
