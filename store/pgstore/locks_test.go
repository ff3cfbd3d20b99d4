package pgstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// A batch of more session groups than the server's shared lock table holds
// (6,400 slots by default; 50,000 locks were refused "out of shared memory") is stored: the groups share a bounded set of
// advisory locks instead of taking one each.
func TestAppendOfManySessionGroupsFitsTheLockTable(t *testing.T) {
	s := openStore(t, newSchema(t))
	const n = 50_000
	events := make([]tracking.Event, n)
	for i := range events {
		events[i] = tracking.Event{ID: fmt.Sprintf("e%05d", i), ShopID: "shop-a", Type: tracking.PageViewed,
			AnonymousID: fmt.Sprintf("device-%05d", i), URL: "https://shop.example/",
			Timestamp: genBase.Add(time.Duration(i) * time.Second)}
	}
	res, err := s.Append(testCtx(t), events)
	require.NoError(t, err)
	require.Equal(t, n, res.Inserted)
	locks := map[int64]bool{}
	for i := range events {
		g, ok := store.SessionGroupOf(&events[i])
		require.True(t, ok)
		locks[s.lockKey(g)] = true
	}
	require.LessOrEqual(t, len(locks), sessionLocks)
}
