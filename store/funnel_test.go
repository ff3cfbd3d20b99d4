package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/tracking"
)

func TestTrailOverflows(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var s Session
	for i := range MaxTrailEvents {
		s.Add(&tracking.Event{Type: tracking.PageViewed, Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}
	require.False(t, s.Trail.Overflowed())
	require.Equal(t, TrailBit(tracking.PageViewed), s.Trail.Types())
	full := s.Trail.Encode()
	back, _, err := DecodeTrail(nil, full)
	require.NoError(t, err)
	require.Equal(t, s.Trail, back)

	s.Add(&tracking.Event{Type: tracking.AddToCart, Timestamp: t0})
	require.True(t, s.Trail.Overflowed())
	stored := s.Trail.Encode()
	require.Equal(t, []byte{overflowCode}, stored, "an overflowed trail is its mark alone")
	back, rest, err := DecodeTrail(nil, append(append(stored, 0), full...))
	require.NoError(t, err)
	require.True(t, back.Overflowed())
	require.Equal(t, full, rest, "the next trail follows the mark")
	require.True(t, back.Within(t0.Add(time.Hour), t0.Add(2*time.Hour)).Overflowed(), "cut, it stays overflowed")
	for _, typ := range []string{tracking.PageViewed, tracking.PurchaseCompleted, tracking.Identify} {
		require.NotZero(t, back.Types()&TrailBit(typ), "an overflowed trail may hold %s", typ)
	}

	// Events added to a stored overflowed trail keep it overflowed.
	var later Session
	later.Trail = back
	later.Add(&tracking.Event{Type: tracking.PurchaseCompleted, Timestamp: t0.Add(time.Hour)})
	require.Equal(t, []byte{overflowCode}, later.Trail.Encode())
}
