package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/store/storetest"
)

// scanPeopleSQL counts the people of a range as store.PeopleReader says,
// over every person-hour of the range: the reference the chains are held
// to.
const scanPeopleSQL = `SELECT count(DISTINCT CASE
		WHEN p.is_user THEN 'u:' || p.id
		WHEN NOT p.raw THEN NULL
		WHEN l.user_id IS NOT NULL AND l.ts < ?2 THEN 'u:' || l.user_id
		WHEN p.linked OR l.user_id IS NOT NULL AND l.ts < ?3 THEN NULL
		WHEN l.user_id IS NOT NULL THEN 'u:' || l.user_id
		ELSE 'a:' || p.id END)
	FROM (SELECT is_user, id, max(raw) AS raw, max(linked) AS linked FROM person_hours
		WHERE shop_id = ?1 AND hour >= ?2 AND hour < ?3 GROUP BY is_user, id) AS p
	LEFT JOIN identify_links AS l ON NOT p.is_user AND l.shop_id = ?1 AND l.anonymous_id = p.id`

// requirePeopleAsScan holds CountPeople and TopPurchased to scans of the
// person and product rollups over ranges.
func requirePeopleAsScan(t *testing.T, s *sqlitestore.Store, ranges [][2]time.Time, msg string) {
	t.Helper()
	ctx := testCtx(t)
	storetest.RequirePeopleAsScan(t, ctx, s, ranges, msg, func(f store.Filter) int64 {
		from, to := store.MicroBounds(&f)
		var want int64
		require.NoError(t, s.DB().QueryRowContext(ctx, scanPeopleSQL, "shop", from, to).Scan(&want))
		return want
	})
}

// chainTables returns the rows of the chain tables, zero cells left out.
func chainTables(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	query := func(q string) (storetest.ColumnRows, error) { return db.QueryContext(context.Background(), q) }
	return storetest.QueryRows(t, query, map[string]string{
		"person_chain":          `SELECT shop_id, kind, key, hour, n, coalesce(next, 'none') FROM person_chain ORDER BY 1, 2, 3, 4`,
		"person_cells":          `SELECT shop_id, kind, prev_day, hour, n FROM person_cells WHERE n != 0 ORDER BY 1, 2, 3, 4`,
		"premature_links":       `SELECT shop_id, hour, anonymous_id FROM premature_links ORDER BY 1, 2, 3`,
		"product_purchase_days": `SELECT shop_id, day, product_id, purchases FROM product_purchase_days ORDER BY 1, 2, 3`,
	})
}

// TestPeopleChainsCountAsTheScan appends people's events in shuffled
// batches (late events splicing into chains, identifies arriving after an
// id's events and earlier than its stored link, duplicates), and after
// each batch holds the distinct people and the top product of many ranges
// to scans of the rollups, and the chains kept by Append to those Rebuild
// recomputes; then erases a person.
func TestPeopleChainsCountAsTheScan(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			s, _ := openFile(t)
			defer s.Close()
			ctx := testCtx(t)
			// In time order mostly, a fifth of the events held back and
			// sent at the end in reverse: late, and identifies earlier
			// than the links already stored.
			events := storetest.LateShuffled(r, storetest.PeopleEvents(r, "e", 1500))
			ranges := storetest.PeopleRanges(r, 40)
			for i := 0; i < len(events); {
				n := min(1+r.IntN(300), len(events)-i)
				_, err := s.Append(ctx, events[i:i+n])
				require.NoError(t, err)
				i += n
				requirePeopleAsScan(t, s, ranges, fmt.Sprintf("after %d events", i))
			}
			_, err := s.Append(ctx, events[:500])
			require.NoError(t, err)
			requirePeopleAsScan(t, s, ranges, "after duplicates")

			kept := chainTables(t, s.DB().DB)
			require.NotEmpty(t, kept["premature_links"], "some ids are linked before their identify")
			require.NotEmpty(t, kept["product_purchase_days"])
			for _, kind := range []string{"u", "r", "l"} {
				var n int
				require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(DISTINCT key) FROM person_chain WHERE kind = ?`, kind).Scan(&n))
				require.Greater(t, n, 1, "chains of kind %s", kind)
			}
			require.NoError(t, s.Rebuild(ctx, "shop"))
			require.Equal(t, chainTables(t, s.DB().DB), kept, "Append keeps the chains Rebuild computes")
			requirePeopleAsScan(t, s, ranges, "after a rebuild")

			n, err := s.ErasePerson(ctx, "shop", "user-3")
			require.NoError(t, err)
			require.Positive(t, n)
			requirePeopleAsScan(t, s, ranges, "after an erase")
			more := storetest.PeopleEvents(r, "f", 300)
			_, err = s.Append(ctx, more)
			require.NoError(t, err)
			requirePeopleAsScan(t, s, ranges, "after appending again")
			kept = chainTables(t, s.DB().DB)
			require.NoError(t, s.Rebuild(ctx, "shop"))
			require.Equal(t, chainTables(t, s.DB().DB), kept, "Append keeps the chains Rebuild computes")
		})
	}
}

// TestPeopleChainsMigrationFillsExistingRollups takes a database back to
// the schema before the chains and opens it: the migration fills them
// from the person, link and product rollups as Rebuild would.
func TestPeopleChainsMigrationFillsExistingRollups(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	s, path := openFile(t)
	ctx := testCtx(t)
	events := storetest.PeopleEvents(r, "e", 1200)
	for i := 0; i < len(events); i += 200 {
		_, err := s.Append(ctx, events[i:i+200])
		require.NoError(t, err)
	}
	kept := chainTables(t, s.DB().DB)
	for _, q := range []string{`DROP TABLE person_chain`, `DROP TABLE person_cells`, `DROP TABLE premature_links`,
		`DROP TABLE product_purchase_days`, `DROP INDEX product_hours_purchases`, `DELETE FROM schema_migrations WHERE version = 6`} {
		_, err := s.DB().ExecContext(ctx, q)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: path})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, kept, chainTables(t, s.DB().DB))
	requirePeopleAsScan(t, s, storetest.PeopleRanges(r, 30), "after the migration")
}
