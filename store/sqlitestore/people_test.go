package sqlitestore_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
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

// peopleEvents returns n events of shop "shop" over four days from base,
// of few people: anonymous ids alone, users alone, both (links), and
// identify events of half the anonymous ids, some of them days after or before the rest of an id's
// events.
func peopleEvents(r *rand.Rand, prefix string, n int) []tracking.Event {
	out := make([]tracking.Event, n)
	for i := range out {
		e := tracking.Event{
			ID:        fmt.Sprintf("%s-%05d", prefix, i),
			ShopID:    "shop",
			Type:      tracking.PageViewed,
			Timestamp: base.Add(time.Duration(r.Int64N(int64(96 * time.Hour)))).Truncate(time.Microsecond),
		}
		e.ReceivedAt = e.Timestamp.Add(time.Second)
		a := r.IntN(60)
		anon, user := fmt.Sprintf("anon-%d", a), fmt.Sprintf("user-%d", r.IntN(12))
		switch k := r.IntN(10); {
		case k < 5:
			e.AnonymousID = anon
		case k < 6:
			e.UserID = user
		case k < 8:
			e.AnonymousID, e.UserID = anon, user
		case a < 30: // the others are never identified
			e.Type, e.AnonymousID, e.UserID = tracking.Identify, anon, user
		default:
			e.AnonymousID = anon
		}
		switch r.IntN(6) {
		case 0:
			e.Type, e.ProductID, e.ProductName = tracking.ProductViewed, fmt.Sprintf("sku-%d", r.IntN(6)), "P"
		case 1:
			e.Type, e.Currency = tracking.PurchaseCompleted, []string{"USD", "EUR"}[r.IntN(2)]
			e.Revenue = tracking.Money{Minor: int64(100 + r.IntN(1000)), Currency: e.Currency}
			e.ProductID, e.OrderID = fmt.Sprintf("sku-%d", r.IntN(6)), "o-"+e.ID
		}
		out[i] = e
	}
	return out
}

// randomRanges returns ranges of whole hours over the events' days and
// around them: zero bounds, whole days, ranges cut inside days, single
// hours.
func randomRanges(r *rand.Rand, n int) [][2]time.Time {
	out := [][2]time.Time{{}, {base, time.Time{}}, {time.Time{}, base.Add(30 * time.Hour)}}
	day0 := base.Truncate(24 * time.Hour)
	out = append(out, [2]time.Time{day0.Add(24 * time.Hour), day0.Add(72 * time.Hour)})
	for range n {
		from := day0.Add(time.Duration(r.IntN(5*24)-6) * time.Hour)
		to := from.Add(time.Duration(1+r.IntN(60)) * time.Hour)
		out = append(out, [2]time.Time{from, to})
	}
	return out
}

// requirePeopleAsScan holds CountPeople and TopPurchased to scans of the
// person and product rollups over ranges.
func requirePeopleAsScan(t *testing.T, s *sqlitestore.Store, ranges [][2]time.Time, msg string) {
	t.Helper()
	ctx := testCtx(t)
	for _, rg := range ranges {
		f := store.Filter{ShopID: "shop", From: rg[0], To: rg[1]}
		from, to := int64(math.MinInt64), int64(math.MaxInt64)
		if !f.From.IsZero() {
			from = f.From.UnixMicro()
		}
		if !f.To.IsZero() {
			to = f.To.UnixMicro()
		}
		var want int64
		require.NoError(t, s.DB().QueryRowContext(ctx, scanPeopleSQL, "shop", from, to).Scan(&want))
		got, err := s.CountPeople(ctx, f)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s: people of [%s, %s)", msg, f.From, f.To)

		totals, err := s.ProductTotals(ctx, f)
		require.NoError(t, err)
		top, err := s.TopPurchased(ctx, f)
		require.NoError(t, err)
		require.Equal(t, topByPurchases(totals), top, "%s: top product of [%s, %s)", msg, f.From, f.To)
	}
}

// topByPurchases ranks product totals as analytics does by purchases:
// purchases, then views, then the least id; "" without purchases.
func topByPurchases(rows []store.ProductHour) string {
	type agg struct {
		id               string
		purchases, views int64
	}
	by := map[string]*agg{}
	for _, r := range rows {
		a := by[r.ProductID]
		if a == nil {
			a = &agg{id: r.ProductID}
			by[r.ProductID] = a
		}
		a.purchases += r.Purchases
		a.views += r.Views
	}
	var all []*agg
	for _, a := range by {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b *agg) int {
		return cmp.Or(cmp.Compare(b.purchases, a.purchases), cmp.Compare(b.views, a.views), cmp.Compare(a.id, b.id))
	})
	if len(all) == 0 || all[0].purchases == 0 {
		return ""
	}
	return all[0].id
}

// chainTables returns the rows of the chain tables, zero cells left out.
func chainTables(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, q := range map[string]string{
		"person_chain":          `SELECT shop_id, kind, key, hour, n, coalesce(next, 'none') FROM person_chain ORDER BY 1, 2, 3, 4`,
		"person_cells":          `SELECT shop_id, kind, prev_day, hour, n FROM person_cells WHERE n != 0 ORDER BY 1, 2, 3, 4`,
		"premature_links":       `SELECT shop_id, hour, anonymous_id FROM premature_links ORDER BY 1, 2, 3`,
		"product_purchase_days": `SELECT shop_id, day, product_id, purchases FROM product_purchase_days ORDER BY 1, 2, 3`,
	} {
		rows, err := db.QueryContext(context.Background(), q)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			require.NoError(t, rows.Scan(p...))
			out[name] = append(out[name], fmt.Sprintf("%v", v))
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
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
			events := peopleEvents(r, "e", 1500)
			// In time order mostly, a fifth of the events held back and
			// sent at the end in reverse: late, and identifies earlier
			// than the links already stored.
			slices.SortFunc(events, func(a, b tracking.Event) int { return a.Timestamp.Compare(b.Timestamp) })
			var late []tracking.Event
			events = slices.DeleteFunc(events, func(e tracking.Event) bool {
				if r.IntN(5) == 0 {
					late = append(late, e)
					return true
				}
				return false
			})
			slices.Reverse(late)
			events = append(events, late...)
			ranges := randomRanges(r, 40)
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
			more := peopleEvents(r, "f", 300)
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
	events := peopleEvents(r, "e", 1200)
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
	requirePeopleAsScan(t, s, randomRanges(r, 30), "after the migration")
}
