package memstore

import (
	"context"
	"fmt"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.Eraser = (*Store)(nil)

// ErasePerson implements store.Eraser.
func (s *Store) ErasePerson(ctx context.Context, shopID, userID string) (int64, error) {
	if shopID == "" || userID == "" {
		return 0, fmt.Errorf("memstore: erase: shop and user are required: %w", store.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("memstore: erase: %w", store.ErrClosed)
	}
	evs := s.shops[shopID]
	devices := map[string]bool{}
	for i := range evs {
		if evs[i].UserID == userID && evs[i].AnonymousID != "" {
			devices[evs[i].AnonymousID] = true
		}
	}
	kept := evs[:0]
	var n int64
	for _, e := range evs {
		if e.UserID == userID || e.UserID == "" && devices[e.AnonymousID] {
			delete(s.keys, store.KeyOf(&e))
			n++
			continue
		}
		kept = append(kept, e)
	}
	clear(evs[len(kept):]) // drop the erased events' properties for the collector
	s.shops[shopID] = kept
	return n, nil
}
