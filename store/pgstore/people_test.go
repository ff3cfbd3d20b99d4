package pgstore

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
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

// peopleEvents returns n events of shop "shop" over four days, of few
// people: anonymous ids alone, users alone, both (links), and identify
// events of half the anonymous ids.
func peopleEvents(r *rand.Rand, prefix string, n int) []tracking.Event {
	out := make([]tracking.Event, n)
	for i := range out {
		e := tracking.Event{
			ID:        fmt.Sprintf("%s-%05d", prefix, i),
			ShopID:    "shop",
			Type:      tracking.PageViewed,
			Timestamp: genBase.Add(time.Duration(r.Int64N(int64(96 * time.Hour)))).Truncate(time.Microsecond),
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

// peopleRanges returns ranges of whole hours over the events' days and
// around them: zero bounds, whole days, ranges cut inside days.
func peopleRanges(r *rand.Rand, n int) [][2]time.Time {
	day0 := genBase.Truncate(24 * time.Hour)
	out := [][2]time.Time{{}, {genBase, time.Time{}}, {time.Time{}, genBase.Add(30 * time.Hour)},
		{day0.Add(24 * time.Hour), day0.Add(72 * time.Hour)}}
	for range n {
		from := day0.Add(time.Duration(r.IntN(5*24)-6) * time.Hour)
		out = append(out, [2]time.Time{from, from.Add(time.Duration(1+r.IntN(60)) * time.Hour)})
	}
	return out
}

// requirePeopleAsScan holds CountPeople and TopPurchased to scans of the
// person and product rollups over ranges.
func requirePeopleAsScan(t *testing.T, s *Store, ranges [][2]time.Time, msg string) {
	t.Helper()
	for _, rg := range ranges {
		f := store.Filter{ShopID: "shop", From: rg[0], To: rg[1]}
		got, err := s.CountPeople(testCtx(t), f)
		require.NoError(t, err)
		require.Equal(t, scanPeople(t, s, f), got, "%s: people of [%s, %s)", msg, f.From, f.To)
		totals, err := s.ProductTotals(testCtx(t), f)
		require.NoError(t, err)
		top, err := s.TopPurchased(testCtx(t), f)
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
		if by[r.ProductID] == nil {
			by[r.ProductID] = &agg{id: r.ProductID}
		}
		by[r.ProductID].purchases += r.Purchases
		by[r.ProductID].views += r.Views
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
func chainTables(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, q := range map[string]string{
		"person_chain":          `SELECT shop_id, kind, key, hour, n, coalesce(next::text, 'none') FROM ` + s.table("person_chain") + ` ORDER BY 1, 2, 3, 4`,
		"person_cells":          `SELECT shop_id, kind, prev_day, hour, n FROM ` + s.table("person_cells") + ` WHERE n != 0 ORDER BY 1, 2, 3, 4`,
		"premature_links":       `SELECT shop_id, hour, anonymous_id FROM ` + s.table("premature_links") + ` ORDER BY 1, 2, 3`,
		"product_purchase_days": `SELECT shop_id, day, product_id, purchases FROM ` + s.table("product_purchase_days") + ` ORDER BY 1, 2, 3`,
	} {
		rows, err := s.db.QueryContext(testCtx(t), q)
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
			out[name] = append(out[name], fmt.Sprintf("%s", v))
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
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
	events := peopleEvents(r, "e", 1500)
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
	ranges := peopleRanges(r, 30)
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
	events := peopleEvents(r, "e", 1200)
	for i := 0; i < len(events); i += 200 {
		_, err := s.Append(ctx, events[i:i+200])
		require.NoError(t, err)
	}
	kept := chainTables(t, s)
	for _, q := range []string{`DROP TABLE ` + s.table("person_chain"), `DROP TABLE ` + s.table("person_cells"),
		`DROP TABLE ` + s.table("premature_links"), `DROP TABLE ` + s.table("product_purchase_days"),
		`DROP INDEX ` + s.table("product_hours_purchases_idx"), `DELETE FROM ` + s.table("schema_migrations") + ` WHERE version = 6`} {
		_, err := s.db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	s = openStore(t, schema)
	require.Equal(t, kept, chainTables(t, s))
	requirePeopleAsScan(t, s, peopleRanges(r, 20), "after the migration")
}

// TestPeopleChainsBesideRebuilds appends from three appenders while the
// shop is rebuilt again and again: the chains Append keeps stay those a
// rebuild computes.
func TestPeopleChainsBesideRebuilds(t *testing.T) {
	s := openStore(t, newSchema(t))
	events := peopleEvents(rand.New(rand.NewPCG(11, 7)), "r", 1800)
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
	requirePeopleAsScan(t, s, peopleRanges(rand.New(rand.NewPCG(1, 1)), 20), "after appends beside rebuilds")
}
