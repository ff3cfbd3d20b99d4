package memstore

import (
	"context"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.InsightKeeper = (*Store)(nil)

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// RaiseInsight implements store.InsightKeeper.
func (s *Store) RaiseInsight(ctx context.Context, in store.Insight, quietSince time.Time) (bool, error) {
	if s.isClosed() {
		return false, store.ErrClosed
	}
	return s.insights.RaiseInsight(ctx, in, quietSince)
}

// ResolveInsight implements store.InsightKeeper.
func (s *Store) ResolveInsight(ctx context.Context, shopID, id string, at time.Time) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	return s.insights.ResolveInsight(ctx, shopID, id, at)
}

// Insights implements store.InsightKeeper.
func (s *Store) Insights(ctx context.Context, f store.InsightFilter) ([]store.Insight, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	return s.insights.Insights(ctx, f)
}
