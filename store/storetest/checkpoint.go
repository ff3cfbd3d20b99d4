package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
)

// testCheckpointKeeper holds a store.CheckpointKeeper to its contract:
// values read back byte for byte, saves replace, names are per shop,
// deletes are idempotent, bad arguments are ErrInvalid, a closed store
// ErrClosed.
func testCheckpointKeeper(t *testing.T, s store.Store) {
	k, ok := s.(store.CheckpointKeeper)
	if !ok {
		t.Skip("the store does not implement store.CheckpointKeeper")
	}
	c := ctx(t)
	_, found, err := k.LoadCheckpoint(c, "shop-a", "shopify-sync")
	require.NoError(t, err)
	require.False(t, found, "nothing saved yet")

	binary := []byte("{\"page_info\":\"eyJsYXN0X2lkIjo0NTA3ODk0Njl9\"}\x00\xff\xfe")
	require.NoError(t, k.SaveCheckpoint(c, "shop-a", "shopify-sync", binary))
	v, found, err := k.LoadCheckpoint(c, "shop-a", "shopify-sync")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, binary, v, "byte for byte")

	require.NoError(t, k.SaveCheckpoint(c, "shop-a", "shopify-sync", []byte("second")))
	v, _, err = k.LoadCheckpoint(c, "shop-a", "shopify-sync")
	require.NoError(t, err)
	require.Equal(t, []byte("second"), v, "a save replaces")

	_, found, err = k.LoadCheckpoint(c, "shop-b", "shopify-sync")
	require.NoError(t, err)
	require.False(t, found, "names are per shop")
	_, found, err = k.LoadCheckpoint(c, "shop-a", "other-job")
	require.NoError(t, err)
	require.False(t, found)

	require.NoError(t, k.SaveCheckpoint(c, "shop-a", "empty", []byte{}))
	v, found, err = k.LoadCheckpoint(c, "shop-a", "empty")
	require.NoError(t, err)
	require.True(t, found, "an empty value is a value")
	require.Empty(t, v)

	big := []byte(strings.Repeat("c", store.MaxCheckpointLen))
	require.NoError(t, k.SaveCheckpoint(c, "shop-b", "big", big))
	v, _, err = k.LoadCheckpoint(c, "shop-b", "big")
	require.NoError(t, err)
	require.Equal(t, big, v)

	require.NoError(t, k.DeleteCheckpoint(c, "shop-a", "shopify-sync"))
	_, found, err = k.LoadCheckpoint(c, "shop-a", "shopify-sync")
	require.NoError(t, err)
	require.False(t, found, "deleted")
	require.NoError(t, k.DeleteCheckpoint(c, "shop-a", "shopify-sync"), "deleting twice is no error")

	for name, call := range map[string]func() error{
		"no shop": func() error { return k.SaveCheckpoint(c, "", "n", nil) },
		"no name": func() error { return k.SaveCheckpoint(c, "shop-a", "", nil) },
		"long name": func() error {
			return k.SaveCheckpoint(c, "shop-a", strings.Repeat("n", store.MaxCheckpointNameLen+1), nil)
		},
		"too large":      func() error { return k.SaveCheckpoint(c, "shop-a", "n", append(big, 'x')) },
		"load no name":   func() error { _, _, err := k.LoadCheckpoint(c, "shop-a", ""); return err },
		"delete no shop": func() error { return k.DeleteCheckpoint(c, "", "n") },
	} {
		require.ErrorIs(t, call(), store.ErrInvalid, name)
	}

	cancelled, cancel := context.WithCancel(c)
	cancel()
	require.Error(t, k.SaveCheckpoint(cancelled, "shop-a", "n", []byte("x")), "a cancelled context")

	require.NoError(t, s.Close())
	_, _, err = k.LoadCheckpoint(c, "shop-b", "big")
	require.ErrorIs(t, err, store.ErrClosed)
	require.ErrorIs(t, k.SaveCheckpoint(c, "shop-b", "big", nil), store.ErrClosed)
}

// testCheckpointAcrossReopen checks that a checkpoint outlives the store
// that saved it, as a resumed job needs.
func testCheckpointAcrossReopen(t *testing.T, s store.Store, reopen func(*testing.T, store.Store) store.Store) {
	k, ok := s.(store.CheckpointKeeper)
	if !ok {
		_ = s.Close()
		t.Skip("the store does not implement store.CheckpointKeeper")
	}
	require.NoError(t, k.SaveCheckpoint(ctx(t), "shop-a", "shopify-sync", []byte("page 7")))
	s = reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })
	v, found, err := s.(store.CheckpointKeeper).LoadCheckpoint(ctx(t), "shop-a", "shopify-sync")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, []byte("page 7"), v)
}
