package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

// crowdEvents returns n events as storetest.PeopleEvents makes them but
// of many more people (anons anonymous ids, a tenth as many users), so
// that a batch of a few hundred of them has more than finePeopleLocks
// people, with session ids.
func crowdEvents(r *rand.Rand, prefix string, n, anons int) []tracking.Event {
	return storetest.CrowdEvents(r, prefix, n, storetest.Crowd{Anons: anons, Users: anons / 10, Sessions: true})
}

// rollupTables returns the rows of every rollup table, the slots of a row
// summed and rows counting nothing left out: what Append keeps must be
// what Rebuild computes.
func rollupTables(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	ctx := testCtx(t)
	query := func(q string) (storetest.ColumnRows, error) { return s.db.QueryContext(ctx, q) }
	out := storetest.QueryRows(t, query, map[string]string{
		"hourly_rollups": `SELECT shop_id, hour, type, currency, sum(events), sum(orders), sum(revenue_minor),
				coalesce(min(revenue_min) FILTER (WHERE orders > 0), 0), coalesce(max(revenue_max) FILTER (WHERE orders > 0), 0)
			FROM ` + s.hourly + ` GROUP BY 1, 2, 3, 4 HAVING sum(events) != 0 ORDER BY 1, 2, 3, 4`,
		"session_hours": `SELECT shop_id, hour, sum(sessions), sum(buying), sum(carting), sum(abandoning), sum(bounced), sum(length_micros)
			FROM ` + s.table("session_hours") + ` GROUP BY 1, 2
			HAVING sum(sessions) != 0 OR sum(buying) != 0 OR sum(carting) != 0 OR sum(abandoning) != 0 OR sum(bounced) != 0
				OR sum(length_micros) != 0 ORDER BY 1, 2`,
		"product_hours": `SELECT shop_id, hour, product_id, currency, sum(views), sum(adds), sum(purchases), sum(revenue_minor), max(name_key)
			FROM ` + s.table("product_hours") + ` GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
		"sessions": `SELECT shop_id, kind, key, start_ts, end_ts, events, views, adds, purchases FROM ` + s.table("sessions") + `
			ORDER BY 1, 2, 3, 4`,
		"session_trails": `SELECT shop_id, start_ts, kind, key, end_ts, types, trail FROM ` + s.table("session_trails") + `
			ORDER BY 1, 2, 3, 4`,
		"session_spans": `SELECT shop_id, micros FROM ` + s.table("session_spans") + ` ORDER BY 1`,
		"person_hours":  `SELECT shop_id, hour, is_user, id, raw, linked FROM ` + s.table("person_hours") + ` ORDER BY 1, 2, 3, 4`,
		"identify_links": `SELECT shop_id, anonymous_id, user_id, ts, id FROM ` + s.table("identify_links") + `
			ORDER BY 1, 2`,
	})
	for k, v := range chainTables(t, s) {
		out[k] = v
	}
	return out
}

// rollupReads returns what every rollup reader answers for shop "shop"
// over ranges of storetest.PeopleRanges.
func rollupReads(t *testing.T, s *Store) []any {
	t.Helper()
	ctx := testCtx(t)
	var out []any
	for _, rg := range storetest.PeopleRanges(rand.New(rand.NewPCG(3, 3)), 10) {
		f := store.Filter{ShopID: "shop", From: rg[0], To: rg[1]}
		hourly, err := s.HourlyCounts(ctx, f)
		require.NoError(t, err)
		slices.SortFunc(hourly, func(a, b store.HourlyRow) int {
			return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Currency, b.Currency))
		})
		hours, err := s.SessionHours(ctx, f)
		require.NoError(t, err)
		products, err := s.ProductTotals(ctx, f)
		require.NoError(t, err)
		slices.SortFunc(products, func(a, b store.ProductHour) int {
			return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Currency, b.Currency))
		})
		people, err := s.CountPeople(ctx, f)
		require.NoError(t, err)
		top, err := s.TopPurchased(ctx, f)
		require.NoError(t, err)
		out = append(out, hourly, hours, products, people, top)
	}
	span, err := s.SessionSpan(ctx, "shop")
	require.NoError(t, err)
	return append(out, span)
}

// TestMixedBatchesBesideRebuildsAndAnErase appends overlapping batches
// of many people (their buckets locked exclusively) and of few (each
// one's own lock) from several appenders at once, duplicates among them,
// while the shop is rebuilt and a user erased: no append fails or
// deadlocks (the context bounds them), and the rollups Append keeps are
// exactly those a rebuild computes, as every reader sees them.
func TestMixedBatchesBesideRebuildsAndAnErase(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testMixedBatches(t, seed) })
	}
}

func testMixedBatches(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 31))
	s := openStore(t, newSchema(t))
	events := storetest.LateShuffled(r, crowdEvents(r, "m", 6000, 1200))
	ctx, cancel := context.WithTimeout(testCtx(t), 3*time.Minute)
	defer cancel()
	// Some batches first, so that the erase below has a user to erase.
	_, err := s.Append(ctx, events[:300])
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	run := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				errs <- err
			}
		})
	}
	// Five appenders of disjoint events of the same people (events one
	// append is inserting hold off every other append of them until it
	// commits): two of large batches (about 500 people each), three of
	// small ones; then all of them again, duplicates.
	var parts [5][]tracking.Event
	for i, e := range events[300:] {
		parts[i%5] = append(parts[i%5], e)
	}
	for w, part := range parts {
		run(func() error {
			rr := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := 0; i < len(part); {
				n := 1 + rr.IntN(40)
				if w < 2 {
					n = 400 + rr.IntN(400)
				}
				if _, err := s.Append(ctx, part[i:min(i+n, len(part))]); err != nil {
					return fmt.Errorf("appender %d, batch at %d: %w", w, i, err)
				}
				i += n
			}
			for i := 0; i < len(events); i += 500 {
				if _, err := s.Append(ctx, events[i:min(i+500, len(events))]); err != nil {
					return fmt.Errorf("appender %d, duplicates at %d: %w", w, i, err)
				}
			}
			return nil
		})
	}
	run(func() error {
		for range 3 {
			if err := s.Rebuild(ctx, "shop"); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
	run(func() error {
		time.Sleep(200 * time.Millisecond)
		if _, err := s.ErasePerson(ctx, "shop", "user-3"); err != nil {
			return fmt.Errorf("erase: %w", err)
		}
		return nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	kept, read := rollupTables(t, s), rollupReads(t, s)
	require.NotEmpty(t, kept["person_cells"])
	require.NotEmpty(t, kept["sessions"])
	require.NoError(t, s.Rebuild(ctx, "shop"))
	rebuilt := rollupTables(t, s)
	for name := range rebuilt {
		require.Equal(t, rebuilt[name], kept[name], "%s: Append keeps what Rebuild computes", name)
	}
	require.Equal(t, rollupReads(t, s), read, "every rollup read answers as after a rebuild")
	requirePeopleAsScan(t, s, storetest.PeopleRanges(rand.New(rand.NewPCG(seed, 2)), 20), "after mixed batches")
}

// TestRollupSlotsMigrationKeepsPopulatedRollups takes a populated schema
// back to before the slots (the tables without the column, their primary
// keys as they were) and opens it: the rows are kept, in slot 0, under the
// new keys, appends go on in every slot, and a rebuild computes what they
// keep.
func TestRollupSlotsMigrationKeepsPopulatedRollups(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := testCtx(t)
	events := crowdEvents(r, "g", 3000, 300)
	for i := 0; i < 1500; i += 300 {
		_, err := s.Append(ctx, events[i:i+300])
		require.NoError(t, err)
	}
	kept := rollupTables(t, s)
	for table, key := range map[string]string{"hourly_rollups": "shop_id, hour, type, currency", "session_hours": "shop_id, hour",
		"product_hours": "shop_id, product_id, currency, hour", "product_purchase_days": "shop_id, day, product_id",
		"person_cells": "shop_id, kind, prev_day, hour"} {
		// One appender at a time writes one slot: the rows are unique by
		// the old key.
		_, err := s.db.ExecContext(ctx, `ALTER TABLE `+s.table(table)+` DROP CONSTRAINT `+table+`_pkey, DROP COLUMN slot,
			ADD PRIMARY KEY (`+key+`)`)
		require.NoError(t, err)
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM `+s.table("schema_migrations")+` WHERE version = 8`)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = openStore(t, schema)
	require.Equal(t, kept, rollupTables(t, s), "the migration keeps every row")
	var others int
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+s.hourly+` WHERE slot != 0`).Scan(&others))
	require.Zero(t, others, "the rows kept are in slot 0")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 1500 + w*50; i < len(events); i += 200 {
				_, err := s.Append(ctx, events[i:i+50])
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	kept = rollupTables(t, s)
	require.NoError(t, s.Rebuild(ctx, "shop"))
	require.Equal(t, rollupTables(t, s), kept)
}
