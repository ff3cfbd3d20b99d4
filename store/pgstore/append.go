package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Append implements store.Store. The batch's new events are stored by one
// statement (or one transaction) and the keys PostgreSQL reports as inserted
// decide which events were duplicates; see writer.go.
func (s *Store) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	return s.appendWith(ctx, (*Store).insertCopyDirect, events)
}

// appendWith is Append through the insert path insert.
func (s *Store) appendWith(ctx context.Context, insert insertFunc, events []tracking.Event) (store.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return store.AppendResult{}, fmt.Errorf("pgstore: append: %w", err)
	}
	if s.closed.Load() {
		return store.AppendResult{}, fmt.Errorf("pgstore: append: %w", store.ErrClosed)
	}
	unique, dup := store.SplitBatch(events)
	if len(unique) == 0 {
		return store.Result(dup), nil
	}
	// Key order makes concurrent overlapping batches lock rows in the same
	// order, so they wait for each other instead of deadlocking.
	slices.SortFunc(unique, func(i, j int) int {
		a, b := &events[i], &events[j]
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.ID, b.ID))
	})
	inserted, err := insert(s, ctx, events, unique)
	if err != nil {
		return store.AppendResult{}, s.fail(ctx, "append", err)
	}
	if len(inserted) < len(unique) {
		isNew := make(map[store.Key]struct{}, len(inserted))
		for _, k := range inserted {
			isNew[k] = struct{}{}
		}
		for _, i := range unique {
			if _, ok := isNew[store.KeyOf(&events[i])]; !ok {
				dup[i] = true
			}
		}
	}
	return store.Result(dup), nil
}
