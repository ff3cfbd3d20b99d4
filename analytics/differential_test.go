package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// The differential test asks every analytics question of the same events
// held by every backend and requires the same answer, the whole result,
// as from memstore, the reference. Whatever a backend pushes down (SQL
// aggregations, rollups) is held to the generic definitions this way.
//
// To cover a new question or option, add a row to differentialCases; to
// cover a new backend, add it to differentialBackends.

const diffShop = "shop-diff"

// differentialData is ten days of datagen traffic in Berlin across the
// spring daylight saving change (2026-03-29): sessions with and without
// session ids, sessions across midnight, identifies on two devices, three
// currencies (one without a minor unit), refunds, a flash sale, late events
// and duplicate sends.
func differentialData() (datagen.Options, []tracking.Event) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	o := datagen.Options{ShopID: diffShop, Start: time.Date(2026, 3, 23, 0, 0, 0, 0, berlin), Days: 10,
		Visitors: 60, Seed: 2026, Zone: berlin}
	return o, datagen.Generate(o)
}

// diffCase is one question: its name and how to ask it of a store.
type diffCase struct {
	name string
	run  func(ctx context.Context, s store.Store) (any, error)
}

// differentialCases are the questions of the test, over the whole range
// and over a range whose bounds cut through days and sessions. stitched is
// a user seen on two devices, for the per-user questions.
func differentialCases(t *testing.T, o datagen.Options, stitched string) []diffCase {
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		zones = append(zones, loc)
	}
	full := analytics.Query{ShopID: diffShop, From: o.Start, To: o.End()}
	cut := analytics.Query{ShopID: diffShop, From: o.Start.Add(36*time.Hour + 17*time.Minute + 3*time.Second),
		To: o.End().Add(-29*time.Hour - 41*time.Minute)}
	var cases []diffCase
	type namedQuery struct {
		name string
		q    analytics.Query
	}
	both := []namedQuery{{"full", full}, {"cut", cut}}
	// addIn adds a question asked over each of the queries.
	addIn := func(queries []namedQuery, name string, run func(ctx context.Context, s store.Store, q analytics.Query) (any, error)) {
		for _, r := range queries {
			q := r.q
			cases = append(cases, diffCase{name + "/" + r.name, func(ctx context.Context, s store.Store) (any, error) {
				return run(ctx, s, q)
			}})
		}
	}
	add := func(name string, run func(ctx context.Context, s store.Store, q analytics.Query) (any, error)) {
		addIn(both, name, run)
	}
	inZone := func(q analytics.Query, loc *time.Location) analytics.Query { q.Location = loc; return q }

	// hours cuts days and sessions on whole hours, where rollups answer
	// and the sessions open at a bound are counted over their part.
	hours := namedQuery{"hours", analytics.Query{ShopID: diffShop, From: o.Start.Add(36 * time.Hour),
		To: o.End().Add(-29 * time.Hour)}}
	withHours := append(both[:len(both):len(both)], hours)
	for h := 0; h < 24; h += 5 {
		from := o.Start.Add(time.Duration(48+h) * time.Hour)
		withHours = append(withHours, namedQuery{fmt.Sprintf("hours-%d", h),
			analytics.Query{ShopID: diffShop, From: from, To: from.Add(time.Duration(1+h*7) * time.Hour)}})
	}
	addIn(withHours, "stats", func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
		return analytics.Stats(ctx, s, q, analytics.StatsOptions{})
	})
	add("counts", func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
		return analytics.Counts(ctx, s, q)
	})
	for _, m := range []analytics.Metric{analytics.MetricEvents, analytics.MetricRevenue, analytics.MetricOrders,
		analytics.MetricUsers, analytics.MetricSessions} {
		for _, iv := range []analytics.Interval{analytics.Hour, analytics.Day, analytics.Week} {
			for _, loc := range zones {
				// Every zone over the whole range; the cut range in
				// the zones whose midnight is not on the hour of UTC.
				queries := both
				if loc == time.UTC || loc.String() == "America/New_York" {
					queries = both[:1]
				}
				addIn(queries, fmt.Sprintf("timeseries/%s/%s/%s", m, iv, loc), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
					return analytics.TimeSeries(ctx, s, inZone(q, loc), analytics.TimeSeriesOptions{Metric: m, Interval: iv})
				})
			}
		}
	}
	for _, o := range []analytics.TimeSeriesOptions{
		{Metric: analytics.MetricRevenue, Currency: "JPY"},
		{Metric: analytics.MetricRevenue, Currency: "EUR", Interval: analytics.Hour},
		{Metric: analytics.MetricEvents, Type: tracking.ProductViewed, Interval: analytics.Hour},
		{Metric: analytics.MetricUsers, Type: tracking.AddToCart},
		{Metric: analytics.MetricSessions, Type: tracking.PurchaseCompleted},
		{Metric: analytics.MetricOrders, Type: tracking.PageViewed},
	} {
		add(fmt.Sprintf("timeseries/%s/type=%s/currency=%s", o.Metric, o.Type, o.Currency), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
			return analytics.TimeSeries(ctx, s, inZone(q, zones[1]), o)
		})
	}
	funnels := [][]string{
		{tracking.ProductViewed, tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted},
		{tracking.PageViewed, tracking.ProductViewed, tracking.ProductViewed, tracking.AddToCart},
		{tracking.ProductSearched, "purchase"},
		{tracking.AddToCart, tracking.ProductViewed},                         // out of the usual order
		{tracking.ProductViewed, tracking.AddToCart, tracking.ProductViewed}, // a type again, later
	}
	for i, steps := range funnels {
		for _, by := range []analytics.Entity{analytics.BySession, analytics.ByUser} {
			for _, w := range []time.Duration{0, 5 * time.Minute, 30 * time.Minute} {
				// By session the trails answer, at any bound: whole
				// hours too, cutting sessions open at them.
				queries := withHours
				if by == analytics.ByUser {
					queries = both
				}
				addIn(queries, fmt.Sprintf("funnel/%d/%s/window=%s", i, by, w), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
					return analytics.Funnel(ctx, s, q, analytics.FunnelOptions{Steps: steps, By: by, Window: w})
				})
			}
		}
	}
	for _, by := range []analytics.ProductRank{analytics.ByViews, analytics.ByAdds, analytics.ByPurchases, analytics.ByRevenue} {
		for _, c := range []string{"", "EUR", "JPY"} {
			add(fmt.Sprintf("top-products/%s/currency=%s", by, c), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
				return analytics.TopProducts(ctx, s, q, analytics.TopProductsOptions{By: by, Currency: c, Limit: analytics.MaxLimit})
			})
		}
		addIn(withHours, fmt.Sprintf("top-products/%s/limit=3", by), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
			return analytics.TopProducts(ctx, s, q, analytics.TopProductsOptions{By: by, Limit: 3})
		})
	}
	for _, c := range []string{"", "USD", "JPY"} {
		add("top-customers/currency="+c, func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
			return analytics.TopCustomers(ctx, s, q, analytics.TopCustomersOptions{Currency: c, Limit: analytics.MaxLimit})
		})
	}
	for _, iv := range []analytics.Interval{analytics.Day, analytics.Week} {
		for _, loc := range zones {
			add(fmt.Sprintf("retention/%s/%s", iv, loc), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
				return analytics.Retention(ctx, s, inZone(q, loc), analytics.RetentionOptions{Interval: iv})
			})
		}
	}
	add("sessions", func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
		return analytics.Sessions(ctx, s, q, analytics.SessionsOptions{})
	})
	add("sessions/of-a-stitched-user", func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
		return analytics.Sessions(ctx, s, q, analytics.SessionsOptions{UserID: stitched})
	})
	add("journey/of-a-stitched-user", func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
		events, err := analytics.Journey(ctx, s, q, analytics.JourneyOptions{UserID: stitched})
		return canonicalProperties(events), err
	})
	for _, d := range []analytics.Dimension{analytics.ByProduct, analytics.ByCategory, analytics.ByPage, analytics.ByReferrer,
		analytics.ByUTMSource, analytics.ByUTMMedium, analytics.ByUTMCampaign} {
		add("breakdown/"+string(d), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
			return analytics.Breakdown(ctx, s, q, analytics.BreakdownOptions{Dimension: d, Limit: analytics.MaxLimit})
		})
	}
	for _, by := range []analytics.Entity{analytics.ByUser, analytics.BySession} {
		for _, views := range []int{0, 1, 5} {
			add(fmt.Sprintf("segments/%s/min-views=%d", by, views), func(ctx context.Context, s store.Store, q analytics.Query) (any, error) {
				return analytics.Segments(ctx, s, q, analytics.SegmentsOptions{By: by, MinProductViews: views})
			})
		}
	}
	return cases
}

// canonicalProperties re-encodes the properties of events with sorted
// keys: a store may keep an object's keys in an order of its own
// (PostgreSQL's jsonb does), which is the same object.
func canonicalProperties(events []tracking.Event) []tracking.Event {
	for i := range events {
		if len(events[i].Properties) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(events[i].Properties, &v); err != nil {
			continue
		}
		events[i].Properties, _ = json.Marshal(v)
	}
	return events
}

// differentialBackends open an empty store of each backend for a test.
var differentialBackends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"memstore", func(t *testing.T) store.Store { return memstore.New() }},
	{"sqlitestore", func(t *testing.T) store.Store {
		s, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "diff.db")})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	// Skipped when PostgreSQL is not configured, unless SHOPLYTICS_TEST_REQUIRE=1.
	{"pgstore", func(t *testing.T) store.Store { return pgtest.Open(t) }},
}

// stitchedUser is a user who identified on two devices.
func stitchedUser(t *testing.T, events []tracking.Event) string {
	devices := map[string]map[string]bool{}
	for _, e := range events {
		if e.Type == tracking.Identify {
			if devices[e.UserID] == nil {
				devices[e.UserID] = map[string]bool{}
			}
			devices[e.UserID][e.AnonymousID] = true
		}
	}
	best := ""
	for u, d := range devices {
		if len(d) >= 2 && (best == "" || u < best) {
			best = u
		}
	}
	require.NotEmpty(t, best, "the data has a user on two devices")
	return best
}

func appendAll(t *testing.T, s store.Store, events []tracking.Event) store.AppendResult {
	var total store.AppendResult
	for i := 0; i < len(events); i += 1000 {
		r, err := s.Append(context.Background(), events[i:min(i+1000, len(events))])
		require.NoError(t, err)
		total.Inserted += r.Inserted
		total.Duplicates += r.Duplicates
	}
	return total
}

// TestEveryBackendGivesTheSameAnswers is the differential test: every
// question of differentialCases on every backend, the same answer as
// memstore's, and again after every event was appended a second time,
// after more events arrived late and out of order (every fifth event held
// back and sent last, shuffled), and after the rollups were rebuilt.
func TestEveryBackendGivesTheSameAnswers(t *testing.T) {
	ctx := context.Background()
	o, events := differentialData()
	require.Greater(t, len(events), 2000)
	ref := memstore.New()
	stored := appendAll(t, ref, events)
	require.Positive(t, stored.Duplicates, "the data has duplicate sends")
	cases := differentialCases(t, o, stitchedUser(t, events))
	want := make([]any, len(cases))
	for i, c := range cases {
		var err error
		want[i], err = c.run(ctx, ref)
		require.NoError(t, err, c.name)
	}
	for _, b := range differentialBackends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			r := appendAll(t, s, events)
			require.Equal(t, stored.Inserted, r.Inserted)
			check := func(t *testing.T) {
				for i, c := range cases {
					got, err := c.run(ctx, s)
					require.NoError(t, err, c.name)
					require.Equal(t, want[i], got, c.name)
				}
			}
			t.Run("once", check)
			r = appendAll(t, s, events)
			require.Zero(t, r.Inserted, "every event is stored already")
			t.Run("appended-twice", check)
			if rb, ok := s.(store.RollupRebuilder); ok {
				require.NoError(t, rb.Rebuild(ctx, diffShop))
				t.Run("rebuilt", check)
			}
		})
		t.Run(b.name+"/late-and-out-of-order", func(t *testing.T) {
			s := b.open(t)
			early, late := splitLate(events)
			appendAll(t, s, early)
			r := appendAll(t, s, late)
			require.Positive(t, r.Inserted)
			for i, c := range cases {
				got, err := c.run(ctx, s)
				require.NoError(t, err, c.name)
				require.Equal(t, want[i], got, c.name)
			}
		})
	}
}

// splitLate holds back every fifth event, to be sent after the others in
// a shuffled order: the late events fall between stored ones, extend and
// join sessions, and land in hours already rolled up.
func splitLate(events []tracking.Event) (early, late []tracking.Event) {
	for i, e := range events {
		if i%5 == 2 {
			late = append(late, e)
		} else {
			early = append(early, e)
		}
	}
	r := rand.New(rand.NewPCG(5, 7))
	r.Shuffle(len(late), func(i, j int) { late[i], late[j] = late[j], late[i] })
	return early, late
}

// TestTheDifferentialDataIsNotTrivial keeps the data of the differential
// test holding what makes the comparison worth it: answers that are not
// empty.
func TestTheDifferentialDataIsNotTrivial(t *testing.T) {
	ctx := context.Background()
	o, events := differentialData()
	s := memstore.New()
	appendAll(t, s, events)
	q := analytics.Query{ShopID: diffShop, From: o.Start, To: o.End()}
	st, err := analytics.Stats(ctx, s, q, analytics.StatsOptions{})
	require.NoError(t, err)
	require.Positive(t, st.Purchases)
	require.GreaterOrEqual(t, len(st.Revenue), 2)
	require.Less(t, st.Users, st.Sessions)
	f, err := analytics.Funnel(ctx, s, q, analytics.FunnelOptions{Steps: []string{tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted}})
	require.NoError(t, err)
	require.Positive(t, f.Steps[2].Count)
	j, err := analytics.Journey(ctx, s, q, analytics.JourneyOptions{UserID: stitchedUser(t, events)})
	require.NoError(t, err)
	anons := map[string]bool{}
	for _, e := range j {
		anons[e.AnonymousID] = true
	}
	require.GreaterOrEqual(t, len(anons), 2, "the journey stitches two devices")
}
