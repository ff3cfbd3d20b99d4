package sqlitestore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

// rollupEvents returns n events of shop "shop" over two days, purchases
// among them.
func rollupEvents(prefix string, n int) []tracking.Event {
	out := make([]tracking.Event, n)
	for i := range out {
		e := event("shop", fmt.Sprintf("%s%04d", prefix, i), time.Duration(i*37)*time.Minute%(48*time.Hour))
		if i%3 == 0 {
			e.Type, e.Currency = tracking.PurchaseCompleted, []string{"USD", "JPY"}[i%2]
			e.Revenue = tracking.Money{Minor: int64(100 + i), Currency: e.Currency}
		}
		out[i] = e
	}
	return out
}

func TestRollupsOffMarkTheShopStaleUntilRebuild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	on, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	_, err = on.Append(testCtx(t), rollupEvents("a", 200))
	require.NoError(t, err)
	storetest.RequireHourlyMatchesEvents(t, on, store.Filter{ShopID: "shop"})
	require.NoError(t, on.Close())

	off, err := store.Open(testCtx(t), "sqlite://"+path+"?rollups=off")
	require.NoError(t, err)
	_, err = off.Append(testCtx(t), rollupEvents("b", 200))
	require.NoError(t, err)
	_, err = off.(store.HourlyReader).HourlyCounts(testCtx(t), store.Filter{ShopID: "shop"})
	require.ErrorIs(t, err, errors.ErrUnsupported, "rollups missing events are not read")
	require.NoError(t, off.Close())

	on, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	defer on.Close()
	_, err = on.HourlyCounts(testCtx(t), store.Filter{ShopID: "shop"})
	require.ErrorIs(t, err, errors.ErrUnsupported, "still stale with rollups back on")
	require.NoError(t, on.Rebuild(testCtx(t), "shop"))
	storetest.RequireHourlyMatchesEvents(t, on, store.Filter{ShopID: "shop"})
	_, err = on.Append(testCtx(t), rollupEvents("c", 100))
	require.NoError(t, err)
	storetest.RequireHourlyMatchesEvents(t, on, store.Filter{ShopID: "shop"})
}

func TestRollupMigrationFillsExistingEvents(t *testing.T) {
	s, path := openFile(t)
	_, err := s.Append(testCtx(t), rollupEvents("a", 300))
	require.NoError(t, err)
	// Back to the schema before rollups, as a database of an older build.
	for _, q := range []string{`DROP TABLE hourly_rollups`, `DROP TABLE rollup_stale`,
		`DELETE FROM schema_migrations WHERE version = 2`} {
		_, err := s.DB().ExecContext(testCtx(t), q)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	s, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	defer s.Close()
	storetest.RequireHourlyMatchesEvents(t, s, store.Filter{ShopID: "shop"})
}

func TestRollupsURLParameter(t *testing.T) {
	_, err := store.Open(testCtx(t), "sqlite://"+filepath.Join(t.TempDir(), "x.db")+"?rollups=sometimes")
	require.Error(t, err)
}

// TestDetailMigrationWaitsForARebuild: a database holding events from
// before the detail rollups answers errors.ErrUnsupported for them (the
// readers then take the events) until a Rebuild fills them.
func TestDetailMigrationWaitsForARebuild(t *testing.T) {
	s, path := openFile(t)
	_, err := s.Append(testCtx(t), rollupEvents("a", 300))
	require.NoError(t, err)
	// Back to the schema before the detail rollups.
	for _, q := range []string{`DROP TABLE sessions`, `DROP TABLE session_hours`, `DROP TABLE session_spans`,
		`DROP TABLE person_hours`, `DROP TABLE identify_links`, `DROP TABLE product_hours`, `DROP TABLE rollup_pending`,
		`DELETE FROM schema_migrations WHERE version = 3`} {
		_, err := s.DB().ExecContext(testCtx(t), q)
		require.NoError(t, err, q)
	}
	require.NoError(t, s.Close())
	s, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.SessionHours(testCtx(t), store.Filter{ShopID: "shop"})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = s.CountPeople(testCtx(t), store.Filter{ShopID: "shop"})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = s.ProductTotals(testCtx(t), store.Filter{ShopID: "shop"})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.NoError(t, s.Rebuild(testCtx(t), "shop"))
	rows, err := s.SessionHours(testCtx(t), store.Filter{ShopID: "shop"})
	require.NoError(t, err)
	var sessions int64
	for _, r := range rows {
		sessions += r.Sessions
	}
	require.Positive(t, sessions)
	n, err := s.CountPeople(testCtx(t), store.Filter{ShopID: "shop"})
	require.NoError(t, err)
	require.Positive(t, n)
}

// TestHourlyRollupsOnlyKeepsCountsAndMarksTheDetailPending: rollups=hourly
// keeps the hourly rollups exact while the detail readers answer
// errors.ErrUnsupported (Stats and TopProducts then read events), until a
// store with every rollup rebuilds the shop.
func TestHourlyRollupsOnlyKeepsCountsAndMarksTheDetailPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	hourly, err := store.Open(testCtx(t), "sqlite://"+path+"?rollups=hourly")
	require.NoError(t, err)
	_, err = hourly.Append(testCtx(t), rollupEvents("a", 200))
	require.NoError(t, err)
	f := store.Filter{ShopID: "shop"}
	storetest.RequireHourlyMatchesEvents(t, hourly, f)
	_, err = hourly.(store.ProductReader).ProductTotals(testCtx(t), f)
	require.ErrorIs(t, err, errors.ErrUnsupported, "the product rollup lacks these events")
	_, err = hourly.(store.SessionReader).SessionHours(testCtx(t), f)
	require.ErrorIs(t, err, errors.ErrUnsupported, "the session rollup lacks these events")
	require.NoError(t, hourly.Close())

	full, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	defer full.Close()
	require.NoError(t, full.Rebuild(testCtx(t), "shop"))
	_, err = full.ProductTotals(testCtx(t), f)
	require.NoError(t, err)
	storetest.RequireHourlyMatchesEvents(t, full, f)

	_, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path, DisableRollups: true, HourlyRollupsOnly: true})
	require.ErrorContains(t, err, "exclusive")
}
