package sqlitestore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

// trails is storetest.TrailsOf of shop "shop".
func trails(t *testing.T, s *sqlitestore.Store) (list []string, only int64, err error) {
	return storetest.TrailsOf(testCtx(t), s, "shop")
}

// TestTrailsOfADatabaseFromBeforeThemWaitForARebuild opens a database made
// before the trails (a file at schema version 5, as an older build left
// it): the migration marks its shops, whose funnels then read the events
// while their other detail rollups still answer, until a rebuild fills
// their trails.
func TestTrailsOfADatabaseFromBeforeThemWaitForARebuild(t *testing.T) {
	events := rollupEvents("a", 300)
	for i := range events { // sessions of page views alone, and with purchases
		events[i].SessionID = fmt.Sprintf("t%d", i%4)
		if events[i].Type == tracking.PageViewed && i%2 == 0 {
			events[i].SessionID = fmt.Sprintf("s%d", i%5)
		}
	}
	fresh, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "fresh.db")})
	require.NoError(t, err)
	defer fresh.Close()
	_, err = fresh.Append(testCtx(t), events)
	require.NoError(t, err)
	want, wantOnly, err := trails(t, fresh)
	require.NoError(t, err)
	require.NotEmpty(t, want)
	require.Positive(t, wantOnly)

	s, path := openFile(t)
	_, err = s.Append(testCtx(t), events[:200])
	require.NoError(t, err)
	for _, q := range []string{"DROP TABLE session_trails", "DROP TABLE trails_pending",
		"DELETE FROM schema_migrations WHERE version = 7"} {
		_, err = s.DB().ExecContext(testCtx(t), q)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())

	s, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	defer s.Close()
	_, _, err = trails(t, s)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = s.SessionHours(testCtx(t), store.Filter{ShopID: "shop"})
	require.NoError(t, err, "the other detail rollups still answer")
	_, err = s.Append(testCtx(t), events[150:]) // some new, some stored
	require.NoError(t, err)
	_, _, err = trails(t, s)
	require.ErrorIs(t, err, errors.ErrUnsupported, "still pending")

	require.NoError(t, s.Rebuild(testCtx(t), "shop"))
	got, only, err := trails(t, s)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, wantOnly, only)
}
