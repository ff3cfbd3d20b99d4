package redisstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/memstore"
	_ "github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/store/storetest"
)

func TestInsightsWithoutASinkAreUnsupported(t *testing.T) {
	c := newClient(t)
	s := newStore(t, c, newPrefix(t, c))
	k, ok := store.Store(s).(store.InsightKeeper)
	require.True(t, ok)
	_, err := k.Insights(context.Background(), store.InsightFilter{ShopID: "a"})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = k.RaiseInsight(context.Background(), store.Insight{ShopID: "a", ID: "i", Rule: "r"}, time.Time{})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.ErrorIs(t, k.ResolveInsight(context.Background(), "a", "i", time.Now()), errors.ErrUnsupported)
}

// TestInsightsLiveInTheSink runs the insight keeper's suite on Redis stores
// whose sink is a SQLite file, reopened on the same file.
func TestInsightsLiveInTheSink(t *testing.T) {
	c := newClient(t)
	open := func(t *testing.T, prefix, path string) store.Store {
		u := storeURL(t, "prefix", prefix, "sink", "sqlite://"+path)
		s, err := store.Open(context.Background(), u.String())
		require.NoError(t, err)
		return s
	}
	paths := map[store.Store][2]string{}
	storetest.RunInsightKeeper(t, func(t *testing.T) store.Store {
		prefix, path := newPrefix(t, c), filepath.Join(t.TempDir(), "sink.db")
		s := open(t, prefix, path)
		paths[s] = [2]string{prefix, path}
		return s
	}, storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
		p := paths[s]
		require.NoError(t, s.Close())
		return open(t, p[0], p[1])
	}))
}
