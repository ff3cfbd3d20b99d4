package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.InsightKeeper = (*Store)(nil)

// keeper is the sink's insight keeper: insights live in the SQL store the
// relay feeds (Open with sink=), where their uniqueness is a constraint.
// Without such a sink there is none, and the methods answer
// errors.ErrUnsupported, so an engine keeps its insights in memory.
func (s *Store) keeper(op string) (store.InsightKeeper, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("redisstore: %s: %w", op, store.ErrClosed)
	}
	if k, ok := s.sink.(store.InsightKeeper); ok {
		return k, nil
	}
	return nil, fmt.Errorf("redisstore: %s: insights need a sink that keeps them: %w", op, errors.ErrUnsupported)
}

// RaiseInsight implements store.InsightKeeper through the sink.
func (s *Store) RaiseInsight(ctx context.Context, in store.Insight, quietSince time.Time) (bool, error) {
	k, err := s.keeper("raise insight")
	if err != nil {
		return false, err
	}
	return k.RaiseInsight(ctx, in, quietSince)
}

// ResolveInsight implements store.InsightKeeper through the sink.
func (s *Store) ResolveInsight(ctx context.Context, shopID, id string, at time.Time) error {
	k, err := s.keeper("resolve insight")
	if err != nil {
		return err
	}
	return k.ResolveInsight(ctx, shopID, id, at)
}

// Insights implements store.InsightKeeper through the sink.
func (s *Store) Insights(ctx context.Context, f store.InsightFilter) ([]store.Insight, error) {
	k, err := s.keeper("insights")
	if err != nil {
		return nil, err
	}
	return k.Insights(ctx, f)
}
