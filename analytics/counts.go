package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shoplytics/shoplytics/store"
)

// Count is how many events of one type there are.
type Count struct {
	EventName string `json:"event_name"`
	Count     int64  `json:"count"`
}

// Counts returns the number of events of each type in the query's range,
// most frequent first, ties by name. It reads the store's hourly rollups
// when it has them (store.HourlyReader; the events themselves for a part
// of an hour at either end of the range), else lets the store count when it
// implements store.TypeCounter.
func Counts(ctx context.Context, s store.Store, q Query) ([]Count, error) {
	rows, ok, err := hourlyRows(ctx, s, q.filter())
	if err != nil {
		return nil, fmt.Errorf("analytics: counts: %w", errRollup(err))
	}
	if ok {
		return countsOf(rows), nil
	}
	if tc, ok := s.(store.TypeCounter); ok {
		rows, err := tc.CountByType(ctx, q.filter())
		if err == nil {
			out := make([]Count, len(rows))
			for i, r := range rows {
				out[i] = Count{EventName: r.Type, Count: r.Count}
			}
			return sortCounts(out), nil
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			return nil, fmt.Errorf("analytics: counts: %w", err)
		}
	}
	return countsGeneric(ctx, s, q)
}

// countsGeneric counts by streaming every event of the range.
func countsGeneric(ctx context.Context, s store.Store, q Query) ([]Count, error) {
	byType := map[string]int64{}
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return nil, fmt.Errorf("analytics: counts: %w", err)
		}
		byType[e.Type]++
	}
	out := make([]Count, 0, len(byType))
	for t, n := range byType {
		out = append(out, Count{EventName: t, Count: n})
	}
	return sortCounts(out), nil
}

// countsOf sums rollup rows by type.
func countsOf(rows []store.HourlyRow) []Count {
	byType := map[string]int64{}
	for _, r := range rows {
		byType[r.Type] += r.Events
	}
	out := make([]Count, 0, len(byType))
	for t, n := range byType {
		out = append(out, Count{EventName: t, Count: n})
	}
	return sortCounts(out)
}

func sortCounts(c []Count) []Count {
	slices.SortFunc(c, func(a, b Count) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return cmp.Compare(a.EventName, b.EventName)
	})
	return c
}
