package store

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProductNameKeySortsByTimeThenID: the keys of names sort bytewise as
// (time, id) do, whatever bytes the ids hold, and give the name back.
func TestProductNameKeySortsByTimeThenID(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	rows := []ProductHour{ // in (NameAt, NameID) order
		{Name: "before 1970", NameAt: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC), NameID: "z"},
		{Name: "a", NameAt: at, NameID: ""},
		{Name: "b", NameAt: at, NameID: "\x00"},
		{Name: "c", NameAt: at, NameID: "\x00\x01"},
		{Name: "d", NameAt: at, NameID: "\x01"},
		{Name: "e", NameAt: at, NameID: "\x02x"},
		{Name: "f", NameAt: at, NameID: "\x03"},
		{Name: "g\x01with a separator", NameAt: at, NameID: "e1"},
		{Name: "", NameAt: at, NameID: "e10"},
		{Name: "h", NameAt: at, NameID: "e2"},
		{Name: "later", NameAt: at.Add(time.Microsecond), NameID: "a"},
	}
	var keys []string
	for _, r := range rows {
		k := r.NameKey()
		var back ProductHour
		require.NoError(t, back.SetNameKey(k))
		require.Equal(t, [3]any{r.Name, r.NameAt, r.NameID}, [3]any{back.Name, back.NameAt, back.NameID})
		keys = append(keys, k)
	}
	require.True(t, slices.IsSorted(keys))
	require.Empty(t, (&ProductHour{}).NameKey(), "no name")
	require.Error(t, (&ProductHour{}).SetNameKey("short"))
}
