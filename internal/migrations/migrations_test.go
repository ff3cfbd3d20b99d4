package migrations

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestLoadOrdersByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql": {Data: []byte("B")},
		"m/0002_first.sql": {Data: []byte("A")},
		"m/README":         {Data: []byte("not a step")},
	}
	ms, err := Load(fsys, "m/*.sql")
	require.NoError(t, err)
	require.Equal(t, []Migration{{2, "0002_first", "A"}, {10, "0010_later", "B"}}, ms)
}

func TestLoadRefusesBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":      {"m/init.sql": {}},
		"zero":           {"m/0000_x.sql": {}},
		"shared version": {"m/0001_a.sql": {}, "m/1_b.sql": {}},
	} {
		_, err := Load(fsys, "m/*.sql")
		require.Error(t, err, name)
	}
}
