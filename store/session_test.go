package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/tracking"
)

// TestMergeOfOneLargeSessionIsLinear joins a batch whose thousands of
// events share one session_id: the trail grows by appending, so the
// allocations are a few, not one copy of the whole trail per event.
func TestMergeOfOneLargeSessionIsLinear(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 4096
	var z Sessions
	for i := range n {
		z.Add(&tracking.Event{ShopID: "s", SessionID: "one", Type: tracking.PageViewed, Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}
	g := SessionGroup{"s", SessionByID, "one"}
	stored := []Session{{SessionGroup: g, Start: t0.Add(-time.Hour), End: t0.Add(-time.Hour), Events: 1, Views: 1,
		Trail: Trail{{Code: 1, At: t0.Add(-time.Hour).UnixMicro()}}}}
	storedTrail := append(Trail(nil), stored[0].Trail...)

	var added []Session
	allocs := testing.AllocsPerRun(3, func() { _, added = z.Merge(g, stored) })
	require.Less(t, allocs, 100.0, "allocations merging %d events of one session", n)

	require.Len(t, added, 1)
	require.EqualValues(t, n+1, added[0].Events)
	require.Len(t, added[0].Trail, n+1)
	require.Equal(t, storedTrail, stored[0].Trail, "the stored session's trail is not written into")
	for i, s := range z.groups[g] {
		require.Len(t, s.Trail, 1, "batch session %d", i)
		require.Equal(t, t0.Add(time.Duration(i)*time.Second).UnixMicro(), s.Trail[0].At, "batch session %d is not written into", i)
	}
}
