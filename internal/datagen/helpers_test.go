package datagen

import (
	"cmp"
	"slices"

	"github.com/shoplytics/shoplytics/tracking"
)

// slicesSortStable orders events as stores yield them: by timestamp, then id.
func slicesSortStable(events []tracking.Event) {
	slices.SortStableFunc(events, func(a, b tracking.Event) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
