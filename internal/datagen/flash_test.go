package datagen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlashSaleSaysWhenTheCrowdArrives(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	for _, o := range []Options{
		{Days: 3, Visitors: 50, Seed: 1},
		{Days: 10, Visitors: 40, Seed: 2, Zone: berlin, Start: time.Date(2026, 3, 23, 7, 13, 0, 0, time.UTC)},
	} {
		start, ok := o.FlashSale()
		require.True(t, ok)
		var first, last time.Time
		for _, e := range Generate(o) {
			if e.ProductID != FlashProductID {
				continue
			}
			if first.IsZero() || e.Timestamp.Before(first) {
				first = e.Timestamp
			}
			if e.Timestamp.After(last) {
				last = e.Timestamp
			}
		}
		require.False(t, first.Before(start), "no flash event before %v: %v", start, first)
		require.Less(t, first.Sub(start), time.Minute)
		require.Less(t, last.Sub(start), 10*time.Minute)
		zone := o.Zone
		if zone == nil {
			zone = time.UTC
		}
		require.Equal(t, "12:00", start.In(zone).Format("15:04"), "local noon")
	}
	none := Options{Days: 1, Start: time.Date(2026, 3, 2, 12, 5, 0, 0, time.UTC)}
	_, ok := none.FlashSale()
	require.False(t, ok, "a day starting just after noon: the next sale would end after the range")
	for _, e := range Generate(none) {
		require.NotEqual(t, FlashProductID, e.ProductID)
	}
}
