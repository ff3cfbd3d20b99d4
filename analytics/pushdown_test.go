package analytics

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// rawStore hides a store's optional capabilities, so analytics takes its
// generic path over Events.
type rawStore struct{ store.Store }

// spyStore is a store with rollups that counts its Events reads, to tell a
// pushed-down answer from a generic one.
type spyStore struct {
	store.Store
	hr    store.HourlyReader
	reads atomic.Int64
}

func (s *spyStore) HourlyCounts(ctx context.Context, f store.Filter) ([]store.HourlyRow, error) {
	return s.hr.HourlyCounts(ctx, f)
}

func (s *spyStore) SessionHours(ctx context.Context, f store.Filter) ([]store.SessionHour, error) {
	return s.Store.(store.SessionReader).SessionHours(ctx, f)
}

func (s *spyStore) SessionsAt(ctx context.Context, shopID string, t time.Time) ([]store.Session, error) {
	return s.Store.(store.SessionReader).SessionsAt(ctx, shopID, t)
}

func (s *spyStore) SessionSpan(ctx context.Context, shopID string) (time.Duration, error) {
	return s.Store.(store.SessionReader).SessionSpan(ctx, shopID)
}

func (s *spyStore) CountPeople(ctx context.Context, f store.Filter) (int64, error) {
	return s.Store.(store.PeopleReader).CountPeople(ctx, f)
}

func (s *spyStore) ProductTotals(ctx context.Context, f store.Filter) ([]store.ProductHour, error) {
	return s.Store.(store.ProductReader).ProductTotals(ctx, f)
}

func (s *spyStore) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	s.reads.Add(1)
	return s.Store.Events(ctx, f)
}

// pushdownStart is a Sunday, a week before the spring change of
// America/New_York (March 8) and four before Europe/Berlin's (March 29).
var pushdownStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// pushdownEvents returns the events of two shops over 40 days (both
// spring clock changes of America/New_York and Europe/Berlin) in batches
// to append in order: shuffled in time (late and out-of-order events),
// purchases in USD, EUR and JPY and some of no amount, and every tenth
// event sent again in a later batch, some changed (the stored copy
// stands).
func pushdownEvents(seed uint64, n int) [][]tracking.Event {
	r := rand.New(rand.NewPCG(seed, 11))
	types := []string{tracking.PageViewed, tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart,
		tracking.CheckoutStarted, tracking.PurchaseCompleted, tracking.Identify, "wishlist_added"}
	currencies := []string{"USD", "USD", "EUR", "JPY"}
	events := make([]tracking.Event, n)
	for i := range events {
		at := pushdownStart.Add(time.Duration(r.Int64N(int64(40 * 24 * time.Hour)))).Truncate(time.Microsecond)
		if r.IntN(10) == 0 { // on the hour, or the microsecond before
			at = at.Truncate(time.Hour).Add(-time.Duration(r.IntN(2)) * time.Microsecond)
		}
		e := tracking.Event{
			ID: fmt.Sprintf("p%06d", i), ShopID: []string{shop, shop, shop, "shop-other"}[r.IntN(4)],
			Type: types[r.IntN(len(types))], AnonymousID: fmt.Sprintf("a%d", r.IntN(300)),
			SessionID: fmt.Sprintf("s%d", r.IntN(900)), Currency: "USD", Timestamp: at, ReceivedAt: at,
		}
		if r.IntN(4) == 0 {
			e.UserID = fmt.Sprintf("u%d", r.IntN(100))
		}
		switch e.Type {
		case tracking.ProductViewed, tracking.AddToCart:
			e.ProductID = fmt.Sprintf("p%d", r.IntN(40))
		case tracking.PurchaseCompleted:
			e.Currency = currencies[r.IntN(len(currencies))]
			if r.IntN(20) != 0 {
				e.Revenue = tracking.Money{Minor: 1 + r.Int64N(50_000), Currency: e.Currency}
			}
		}
		events[i] = e
	}
	var batches [][]tracking.Event
	for i := 0; i < n; i += 500 {
		batch := slices.Clone(events[i:min(i+500, n)])
		for k := range batch {
			if r.IntN(10) == 0 && i > 0 {
				again := events[r.IntN(i)]
				if r.IntN(2) == 0 {
					again.Type, again.Revenue = tracking.PurchaseCompleted, tracking.Money{Minor: 7, Currency: again.Currency}
				}
				batch = append(batch, again)
			}
			if k%97 == 0 {
				batch = append(batch, batch[k]) // twice in one batch
			}
		}
		r.Shuffle(len(batch), func(a, b int) { batch[a], batch[b] = batch[b], batch[a] })
		batches = append(batches, batch)
	}
	return batches
}

// pushdownStores returns the reference store and the stores with rollups,
// all holding the events of batches.
func pushdownStores(t *testing.T, batches [][]tracking.Event) (ref store.Store, pushed map[string]store.Store) {
	t.Helper()
	ctx := context.Background()
	sq, err := sqlitestore.New(ctx, sqlitestore.Options{Path: filepath.Join(t.TempDir(), "pushdown.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sq.Close() })
	pushed = map[string]store.Store{"sqlitestore": sq}
	if os.Getenv("SHOPLYTICS_TEST_POSTGRES_URL") != "" || testenv.Required() {
		pushed["pgstore"] = pgtest.Open(t)
	}
	ref = memstore.New()
	for _, s := range append([]store.Store{ref}, slices.Collect(mapValues(pushed))...) {
		for _, b := range batches {
			_, err := s.Append(ctx, b)
			require.NoError(t, err)
		}
	}
	return ref, pushed
}

func mapValues[K comparable, V any](m map[K]V) iter.Seq[V] {
	return func(yield func(V) bool) {
		keys := make([]K, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		for _, k := range keys {
			if !yield(m[k]) {
				return
			}
		}
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// pushdownRanges are ranges on whole hours (pushed down whole) and not
// (the edges read from events), across clock changes.
func pushdownRanges() []struct {
	name     string
	from, to time.Time
	aligned  bool
} {
	d := func(day, hour int) time.Time { return pushdownStart.Add(time.Duration(day*24+hour) * time.Hour) }
	odd := 17*time.Minute + 23*time.Second + 123456*time.Microsecond
	return []struct {
		name     string
		from, to time.Time
		aligned  bool
	}{
		{"all days", d(0, 0), d(40, 0), true},
		{"hours across both spring changes", d(3, 7), d(31, 19), true},
		{"Berlin's local days", d(20, -1), d(34, -2), true},
		{"one hour", d(7, 6), d(7, 7), true},
		{"inside hours at both ends", d(2, 5).Add(odd), d(29, 3).Add(odd), false},
		{"inside an hour at the end", d(8, 0), d(12, 4).Add(time.Microsecond), false},
		{"within one hour", d(9, 2).Add(odd), d(9, 2).Add(2 * odd), false},
	}
}

var pushdownZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide"}

// requirePushdownEqualsGeneric checks every pushed-down question against
// the generic path on the reference store, and that the questions a
// rollup answers whole read no events.
func requirePushdownEqualsGeneric(t *testing.T, ref store.Store, pushed map[string]store.Store) {
	ctx := context.Background()
	for name, s := range pushed {
		spy := &spyStore{Store: s, hr: s.(store.HourlyReader)}
		for _, rg := range pushdownRanges() {
			for _, sh := range []string{shop, "shop-other", "nobody"} {
				q := Query{ShopID: sh, From: rg.from, To: rg.to}
				want, err := Counts(ctx, ref, q)
				require.NoError(t, err)
				spy.reads.Store(0)
				got, err := Counts(ctx, spy, q)
				require.NoError(t, err)
				require.Equal(t, want, got, "%s counts %s %s", name, rg.name, sh)
				if rg.aligned {
					require.Zero(t, spy.reads.Load(), "%s counts %s read events", name, rg.name)
				}
				wantStats, err := statsGeneric(ctx, ref, q)
				require.NoError(t, err)
				spy.reads.Store(0)
				gotStats, err := Stats(ctx, spy, q, StatsOptions{})
				require.NoError(t, err)
				require.Equal(t, wantStats, gotStats, "%s stats %s %s", name, rg.name, sh)
				if rg.name == "all days" {
					require.Zero(t, spy.reads.Load(), "%s stats %s read events", name, rg.name)
				}
				for _, by := range []ProductRank{ByViews, ByAdds, ByPurchases, ByRevenue} {
					for _, c := range []string{"", "JPY", "GBP"} {
						o := TopProductsOptions{By: by, Currency: c, Limit: MaxLimit}
						want, err := TopProducts(ctx, rawStore{ref}, q, o)
						require.NoError(t, err)
						spy.reads.Store(0)
						got, err := TopProducts(ctx, spy, q, o)
						require.NoError(t, err)
						require.Equal(t, want, got, "%s top products %s %s %+v", name, rg.name, sh, o)
						if rg.aligned {
							require.Zero(t, spy.reads.Load(), "%s top products %s read events", name, rg.name)
						}
					}
				}
			}
			for _, zone := range pushdownZones {
				loc := mustZone(t, zone)
				whole := zone == "UTC" || zone == "Europe/Berlin" || zone == "America/New_York"
				q := Query{ShopID: shop, From: rg.from, To: rg.to, Location: loc}
				for _, o := range timeSeriesCases() {
					want, err := TimeSeries(ctx, ref, q, o)
					require.NoError(t, err)
					spy.reads.Store(0)
					got, err := TimeSeries(ctx, spy, q, o)
					require.NoError(t, err)
					require.Equal(t, want, got, "%s timeseries %s %s %+v", name, rg.name, zone, o)
					if rg.aligned && whole && o.Metric != MetricUsers && o.Metric != MetricSessions {
						require.Zero(t, spy.reads.Load(), "%s timeseries %s %s %+v read events", name, rg.name, zone, o)
					}
				}
			}
		}
		unbounded := Query{ShopID: shop}
		want, err := Counts(ctx, ref, unbounded)
		require.NoError(t, err)
		got, err := Counts(ctx, spy, unbounded)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s counts of all time", name)
	}
}

func timeSeriesCases() []TimeSeriesOptions {
	var out []TimeSeriesOptions
	for _, iv := range []Interval{Hour, Day, Week} {
		out = append(out,
			TimeSeriesOptions{Interval: iv},
			TimeSeriesOptions{Interval: iv, Type: tracking.AddToCart},
			TimeSeriesOptions{Interval: iv, Metric: MetricOrders},
			TimeSeriesOptions{Interval: iv, Metric: MetricOrders, Type: tracking.PageViewed},
			TimeSeriesOptions{Interval: iv, Metric: MetricRevenue},
			TimeSeriesOptions{Interval: iv, Metric: MetricRevenue, Currency: "JPY"},
			TimeSeriesOptions{Interval: iv, Metric: MetricRevenue, Currency: "GBP"},
			TimeSeriesOptions{Interval: iv, Metric: MetricRevenue, Type: "purchase"},
		)
	}
	return append(out, TimeSeriesOptions{Metric: MetricUsers}, TimeSeriesOptions{Metric: MetricSessions})
}

// TestPushdownEqualsGeneric holds Counts and TimeSeries over the SQL
// stores' rollups to the generic answers over the same events, before and
// after the rollups are rebuilt.
func TestPushdownEqualsGeneric(t *testing.T) {
	ref, pushed := pushdownStores(t, pushdownEvents(1, 12_000))
	t.Run("appended", func(t *testing.T) { requirePushdownEqualsGeneric(t, ref, pushed) })
	for _, s := range pushed {
		for _, sh := range []string{shop, "shop-other"} {
			require.NoError(t, s.(store.RollupRebuilder).Rebuild(context.Background(), sh))
		}
	}
	t.Run("rebuilt", func(t *testing.T) { requirePushdownEqualsGeneric(t, ref, pushed) })
}

// TestWholeHourZone checks the zones whose buckets rollups can fill.
func TestWholeHourZone(t *testing.T) {
	from, to := pushdownStart, pushdownStart.Add(365*24*time.Hour)
	for zone, want := range map[string]bool{
		"UTC": true, "Europe/Berlin": true, "America/New_York": true, "Asia/Tokyo": true,
		"Asia/Kolkata": false, "Asia/Kathmandu": false, "Australia/Adelaide": false, "America/St_Johns": false,
		"Australia/Lord_Howe": false, // +10:30, and +11 in summer
	} {
		require.Equal(t, want, wholeHourZone(mustZone(t, zone), from, to), zone)
	}
	// Lord Howe's summer is whole hours (+11) but changes to +10:30.
	lh := mustZone(t, "Australia/Lord_Howe")
	jan := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	require.True(t, wholeHourZone(lh, jan, jan.Add(30*24*time.Hour)), "a summer month")
	require.False(t, wholeHourZone(lh, jan, jan.Add(120*24*time.Hour)), "into its winter")
}
