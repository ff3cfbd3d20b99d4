package pgstore

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/storetest"
)

func TestRollupsOffMarkTheShopStaleUntilRebuild(t *testing.T) {
	schema := newSchema(t)
	on := openStore(t, schema)
	_, err := on.Append(testCtx(t), genEvents(1, "a", 500))
	require.NoError(t, err)
	storetest.RequireHourlyMatchesEvents(t, on, store.Filter{ShopID: "shop-a"})

	off, err := store.Open(testCtx(t), testenv.PostgresURL(t)+"&schema="+schema+"&rollups=off")
	require.NoError(t, err)
	defer off.Close()
	_, err = off.Append(testCtx(t), genEvents(2, "b", 500))
	require.NoError(t, err)
	for _, s := range []store.Store{off, on} {
		_, err = s.(store.HourlyReader).HourlyCounts(testCtx(t), store.Filter{ShopID: "shop-a"})
		require.ErrorIs(t, err, errors.ErrUnsupported, "rollups missing events are not read")
	}
	require.NoError(t, on.Rebuild(testCtx(t), "shop-a"))
	storetest.RequireHourlyMatchesEvents(t, on, store.Filter{ShopID: "shop-a"})
	_, err = on.Append(testCtx(t), genEvents(3, "c", 300))
	require.NoError(t, err)
	storetest.RequireHourlyMatchesEvents(t, on, store.Filter{ShopID: "shop-a"})

	_, err = store.Open(testCtx(t), testenv.PostgresURL(t)+"&schema="+schema+"&rollups=maybe")
	require.Error(t, err)
}

func TestRollupMigrationFillsExistingEvents(t *testing.T) {
	schema := newSchema(t)
	s := openStore(t, schema)
	_, err := s.Append(testCtx(t), genEvents(4, "a", 2000))
	require.NoError(t, err)
	// Back to the schema before rollups, as a database of an older build.
	for _, q := range []string{`DROP TABLE ` + s.hourly, `DROP TABLE ` + s.stale,
		`DELETE FROM ` + schema + `.schema_migrations WHERE version IN (2, 8)`} {
		_, err := s.db.ExecContext(testCtx(t), q)
		require.NoError(t, err)
	}
	s2 := openStore(t, schema)
	for _, shop := range []string{"shop-a", "shop-b", "shop-c"} {
		storetest.RequireHourlyMatchesEvents(t, s2, store.Filter{ShopID: shop})
	}
}

// A rebuild running beside appenders neither loses nor doubles their
// events.
func TestRebuildBesideAppenders(t *testing.T) {
	s := openStore(t, newSchema(t))
	events := genEvents(5, "r", 6000)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 3 {
		wg.Go(func() {
			for i := w * 200; i < len(events); i += 600 {
				if _, err := s.Append(context.Background(), events[i:i+200]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if err := s.Rebuild(context.Background(), "shop-a"); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	storetest.RequireHourlyMatchesEvents(t, s, store.Filter{ShopID: "shop-a"})
}

// TestHourlyRollupsOnlyKeepsCountsAndMarksTheDetailPending: rollups=hourly
// keeps the hourly rollups exact while the detail readers answer
// errors.ErrUnsupported (Stats and TopProducts then read events), until a
// store with every rollup rebuilds the shop.
func TestHourlyRollupsOnlyKeepsCountsAndMarksTheDetailPending(t *testing.T) {
	schema := newSchema(t)
	full := openStore(t, schema)
	hourly, err := store.Open(testCtx(t), testenv.PostgresURL(t)+"&schema="+schema+"&rollups=hourly")
	require.NoError(t, err)
	defer hourly.Close()
	_, err = hourly.Append(testCtx(t), genEvents(1, "a", 500))
	require.NoError(t, err)
	f := store.Filter{ShopID: "shop-a"}
	storetest.RequireHourlyMatchesEvents(t, hourly, f)
	for _, s := range []store.Store{hourly, full} {
		_, err = s.(store.ProductReader).ProductTotals(testCtx(t), f)
		require.ErrorIs(t, err, errors.ErrUnsupported, "the product rollup lacks these events")
		_, err = s.(store.SessionReader).SessionHours(testCtx(t), f)
		require.ErrorIs(t, err, errors.ErrUnsupported, "the session rollup lacks these events")
	}
	require.NoError(t, full.Rebuild(testCtx(t), "shop-a"))
	_, err = full.ProductTotals(testCtx(t), f)
	require.NoError(t, err)
	storetest.RequireHourlyMatchesEvents(t, full, f)
}
