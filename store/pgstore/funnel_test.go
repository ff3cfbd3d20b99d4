package pgstore

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/storetest"
)

// trailsOf is storetest.TrailsOf of the shop.
func trailsOf(t *testing.T, s *Store, shop string) (list []string, only int64, err error) {
	return storetest.TrailsOf(testCtx(t), s, shop)
}

// TestTrailsOfADatabaseFromBeforeThemWaitForARebuild opens a schema made
// before the trails (at version 5, as an older build left it): the
// migration marks its shops, whose funnels then read the events while
// their other detail rollups still answer, until a rebuild fills their
// trails.
func TestTrailsOfADatabaseFromBeforeThemWaitForARebuild(t *testing.T) {
	events := genEvents(3, "m", 600)
	fresh := openStore(t, newSchema(t))
	_, err := fresh.Append(testCtx(t), events)
	require.NoError(t, err)
	want, wantOnly, err := trailsOf(t, fresh, "shop-a")
	require.NoError(t, err)
	require.NotEmpty(t, want)
	require.Positive(t, wantOnly)

	schema := newSchema(t)
	s, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: schema})
	require.NoError(t, err)
	_, err = s.Append(testCtx(t), events[:400])
	require.NoError(t, err)
	for _, q := range []string{"DROP TABLE " + schema + ".session_trails", "DROP TABLE " + schema + ".trails_pending",
		"DELETE FROM " + schema + ".schema_migrations WHERE version = 7"} {
		_, err = s.db.ExecContext(testCtx(t), q)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())

	s = openStore(t, schema)
	_, _, err = trailsOf(t, s, "shop-a")
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = s.SessionHours(testCtx(t), store.Filter{ShopID: "shop-a"})
	require.NoError(t, err, "the other detail rollups still answer")
	_, err = s.Append(testCtx(t), events[300:]) // some new, some stored
	require.NoError(t, err)
	_, _, err = trailsOf(t, s, "shop-a")
	require.ErrorIs(t, err, errors.ErrUnsupported, "still pending")

	require.NoError(t, s.Rebuild(testCtx(t), "shop-a"))
	got, only, err := trailsOf(t, s, "shop-a")
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, wantOnly, only)
}
