package pgstore

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/storetest"
)

// scanPeople counts the people of a range as store.PeopleReader says,
// over every person-hour of the range: the reference the chains are held
// to.
func scanPeople(t *testing.T, s *Store, f store.Filter) int64 {
	t.Helper()
	from, to := "-infinity", "infinity"
	if !f.From.IsZero() {
		from = stamp(f.From)
	}
	if !f.To.IsZero() {
		to = stamp(f.To)
	}
	var n int64
	require.NoError(t, s.db.QueryRowContext(testCtx(t), `SELECT count(DISTINCT CASE
			WHEN p.is_user THEN 'u:' || p.id
			WHEN NOT p.raw THEN NULL
			WHEN l.user_id IS NOT NULL AND l.ts < $2::timestamptz THEN 'u:' || l.user_id
			WHEN p.linked OR l.user_id IS NOT NULL AND l.ts < $3::timestamptz THEN NULL
			WHEN l.user_id IS NOT NULL THEN 'u:' || l.user_id
			ELSE 'a:' || p.id END)
		FROM (SELECT is_user, id, bool_or(raw) AS raw, bool_or(linked) AS linked FROM `+s.table("person_hours")+`
			WHERE shop_id = $1 AND hour >= $2::timestamptz AND hour < $3::timestamptz GROUP BY is_user, id) AS p
		LEFT JOIN `+s.table("identify_links")+` AS l ON NOT p.is_user AND l.shop_id = $1 AND l.anonymous_id = p.id`,
		f.ShopID, from, to).Scan(&n))
	return n
}

// requirePeopleAsScan holds CountPeople and TopPurchased to scans of the
// person and product rollups over ranges.
func requirePeopleAsScan(t *testing.T, s *Store, ranges [][2]time.Time, msg string) {
	t.Helper()
	storetest.RequirePeopleAsScan(t, testCtx(t), s, ranges, msg, func(f store.Filter) int64 { return scanPeople(t, s, f) })
}

// chainTables returns the rows of the chain tables, the slots of a cell
// or purchase day summed, zero cells left out.
func chainTables(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	ctx := testCtx(t)
	query := func(q string) (storetest.ColumnRows, error) { return s.db.QueryContext(ctx, q) }
	return storetest.QueryRows(t, query, map[string]string{
		"person_chain": `SELECT shop_id, kind, key, hour, n, coalesce(next::text, 'none') FROM ` + s.table("person_chain") + ` ORDER BY 1, 2, 3, 4`,
		"person_cells": `SELECT shop_id, kind, prev_day, hour, sum(n) FROM ` + s.table("person_cells") + `
			GROUP BY 1, 2, 3, 4 HAVING sum(n) != 0 ORDER BY 1, 2, 3, 4`,
		"premature_links": `SELECT shop_id, hour, anonymous_id FROM ` + s.table("premature_links") + ` ORDER BY 1, 2, 3`,
		"product_purchase_days": `SELECT shop_id, day, product_id, sum(purchases) FROM ` + s.table("product_purchase_days") + `
			GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
	})
}

// TestPeopleChainsCountAsTheScan appends people's events in shuffled
// batches (late events splicing into chains, identifies arriving after an
// id's events and earlier than its stored link, duplicates), from several
// appenders at once for part of them, and holds the distinct people and
// the top product of many ranges to scans of the rollups, and the chains
// kept by Append to those Rebuild recomputes; then erases a person.
func TestPeopleChainsCountAsTheScan(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testPeopleChains(t, seed) })
	}
}

func testPeopleChains(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	s := openStore(t, newSchema(t))
	ctx := testCtx(t)
	events := storetest.LateShuffled(r, storetest.PeopleEvents(r, "e", 1500))
	ranges := storetest.PeopleRanges(r, 30)
	for i := 0; i < 900; {
		n := min(1+r.IntN(300), 900-i)
		_, err := s.Append(ctx, events[i:i+n])
		require.NoError(t, err)
		i += n
		requirePeopleAsScan(t, s, ranges, fmt.Sprintf("after %d events", i))
	}
	// The rest from four appenders at once, in small batches.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	rest := events[900:]
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * 10; i < len(rest); i += 40 {
				if _, err := s.Append(ctx, rest[i:min(i+10, len(rest))]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	requirePeopleAsScan(t, s, ranges, "after concurrent appends")
	_, err := s.Append(ctx, events[:500])
	require.NoError(t, err)
	requirePeopleAsScan(t, s, ranges, "after duplicates")

	kept := chainTables(t, s)
	require.NotEmpty(t, kept["premature_links"], "some ids are linked before their identify")
	require.NotEmpty(t, kept["product_purchase_days"])
	require.NoError(t, s.Rebuild(ctx, "shop"))
	require.Equal(t, chainTables(t, s), kept, "Append keeps the chains Rebuild computes")
	requirePeopleAsScan(t, s, ranges, "after a rebuild")

	n, err := s.ErasePerson(ctx, "shop", "user-3")
	require.NoError(t, err)
	require.Positive(t, n)
	requirePeopleAsScan(t, s, ranges, "after an erase")
}

// TestPeopleChainsMigrationFillsExistingRollups takes a schema back to
// before the chains and opens it: the migration fills them from the
// person, link and product rollups as Append kept them.
func TestPeopleChainsMigrationFillsExistingRollups(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := testCtx(t)
	events := storetest.PeopleEvents(r, "e", 1200)
	for i := 0; i < len(events); i += 200 {
		_, err := s.Append(ctx, events[i:i+200])
		require.NoError(t, err)
	}
	kept := chainTables(t, s)
	for _, q := range []string{`DROP TABLE ` + s.table("person_chain"), `DROP TABLE ` + s.table("person_cells"),
		`DROP TABLE ` + s.table("premature_links"), `DROP TABLE ` + s.table("product_purchase_days"),
		`DROP INDEX ` + s.table("product_hours_purchases_idx"), `DELETE FROM ` + s.table("schema_migrations") + ` WHERE version IN (6, 8)`} {
		_, err := s.db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	s = openStore(t, schema)
	require.Equal(t, kept, chainTables(t, s))
	requirePeopleAsScan(t, s, storetest.PeopleRanges(r, 20), "after the migration")
}

// TestPeopleChainsBesideRebuilds appends from three appenders while the
// shop is rebuilt again and again: the chains Append keeps stay those a
// rebuild computes.
func TestPeopleChainsBesideRebuilds(t *testing.T) {
	s := openStore(t, newSchema(t))
	events := storetest.PeopleEvents(rand.New(rand.NewPCG(11, 7)), "r", 1800)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 3 {
		wg.Go(func() {
			for i := w * 50; i < len(events); i += 150 {
				if _, err := s.Append(testCtx(t), events[i:i+50]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 6 {
			if err := s.Rebuild(testCtx(t), "shop"); err != nil {
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
	kept := chainTables(t, s)
	require.NoError(t, s.Rebuild(testCtx(t), "shop"))
	require.Equal(t, chainTables(t, s), kept)
	requirePeopleAsScan(t, s, storetest.PeopleRanges(rand.New(rand.NewPCG(1, 1)), 20), "after appends beside rebuilds")
}
