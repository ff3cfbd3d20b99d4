package analytics

import (
	"context"
	"encoding/json"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Golden tests: hand-computed answers for the definitions of the package
// documentation where the other tests leave a case open.

// forStoresAppendedInOrder is forStores with the events appended one
// batch at a time in the order given, so an event may reach the store
// before others that happened earlier.
func forStoresAppendedInOrder(t *testing.T, batches [][]tracking.Event, f func(t *testing.T, s store.Store)) {
	var all []tracking.Event
	for _, b := range batches {
		all = append(all, b...)
	}
	all = withIDs(all)
	for name, s := range stores(t, nil) {
		i := 0
		for _, b := range batches {
			_, err := s.Append(context.Background(), all[i:i+len(b)])
			require.NoError(t, err)
			i += len(b)
		}
		t.Run(name, func(t *testing.T) { f(t, s) })
	}
}

func TestGoldenSessionsAcrossLocalMidnight(t *testing.T) {
	loc := berlin(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		require.NoError(t, err)
		return v
	}
	// 2026-03-10 is winter time (UTC+1): 23:50 in Berlin is 22:50 UTC, so
	// both sessions lie on one UTC day and on two Berlin days.
	events := []tracking.Event{
		ev(tracking.PageViewed, at("2026-03-10 23:50"), sess("s1"), anon("a")),
		ev(tracking.ProductViewed, at("2026-03-11 00:10"), sess("s1"), anon("a"), prod("p")),
		ev(tracking.PurchaseCompleted, at("2026-03-11 00:20"), sess("s1"), anon("a"), user("u"), paid("5.00", "EUR")),
		// b has no session id: 23:45 and 00:05 are 20 minutes apart, one
		// session; 00:40 is 35 minutes later, a second.
		ev(tracking.PageViewed, at("2026-03-10 23:45"), anon("b")),
		ev(tracking.PageViewed, at("2026-03-11 00:05"), anon("b")),
		ev(tracking.PageViewed, at("2026-03-11 00:40"), anon("b")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		two := Query{ShopID: shop, From: at("2026-03-10 00:00"), To: at("2026-03-12 00:00"), Location: loc}
		series := func(q Query, o TimeSeriesOptions) ([]string, []int64) {
			r, err := TimeSeries(ctx, s, q, o)
			require.NoError(t, err)
			return labels(r)
		}
		// Sessions count on the day of their first event, events on their own.
		ts, vs := series(two, TimeSeriesOptions{Metric: MetricSessions})
		require.Equal(t, []string{"2026-03-10", "2026-03-11"}, ts)
		require.Equal(t, []int64{2, 1}, vs)
		_, vs = series(two, TimeSeriesOptions{Metric: MetricEvents})
		require.Equal(t, []int64{2, 4}, vs)
		_, vs = series(two, TimeSeriesOptions{Metric: MetricUsers})
		require.Equal(t, []int64{2, 2}, vs) // u (a) and b on both days
		_, vs = series(two, TimeSeriesOptions{Metric: MetricOrders})
		require.Equal(t, []int64{0, 1}, vs)
		// In UTC everything is on the 10th.
		utc := Query{ShopID: shop, From: at("2026-03-10 01:00"), To: at("2026-03-12 01:00")}
		ts, vs = series(utc, TimeSeriesOptions{Metric: MetricSessions})
		require.Equal(t, []string{"2026-03-10", "2026-03-11"}, ts)
		require.Equal(t, []int64{3, 0}, vs)

		st, err := Stats(ctx, s, two, StatsOptions{})
		require.NoError(t, err)
		require.EqualValues(t, 3, st.Sessions)
		require.Equal(t, 33.33, st.ConversionRate)
		require.Equal(t, 33.33, st.BounceRate)         // b's 00:40
		require.Equal(t, 1000.0, st.AvgSessionSeconds) // (1800 + 1200 + 0) / 3

		// A day's range cuts the sessions at its midnight: on the 11th s1
		// starts at 00:10 and b's first session at 00:05.
		day := Query{ShopID: shop, From: at("2026-03-11 00:00"), To: at("2026-03-12 00:00"), Location: loc}
		ss, err := Sessions(ctx, s, day, SessionsOptions{})
		require.NoError(t, err)
		require.Len(t, ss, 3)
		require.Equal(t, "b@2026-03-10T23:05:00Z", ss[0].ID)
		require.True(t, ss[0].Bounced)
		require.Equal(t, "s1", ss[1].ID)
		require.Equal(t, at("2026-03-11 00:10"), ss[1].Start.In(loc))
		require.Equal(t, 10*time.Minute, ss[1].End.Sub(ss[1].Start))
		require.Equal(t, "u", ss[1].UserID)
		require.Equal(t, "b@2026-03-10T23:40:00Z", ss[2].ID)

		// Retention by local day: both are back the day after they came.
		c, err := Retention(ctx, s, two, RetentionOptions{Interval: Day})
		require.NoError(t, err)
		require.Equal(t, []Cohort{
			{Start: "2026-03-10", Users: 2, Retained: []int64{2, 2}},
			{Start: "2026-03-11", Users: 0, Retained: []int64{0}},
		}, c)
	})
}

func TestGoldenHoursAndDaysOfDaylightSavingChanges(t *testing.T) {
	loc := berlin(t)
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		require.NoError(t, err)
		return v
	}
	events := []tracking.Event{
		// 2026-03-29, 23 hours: 01:30 CET is 00:30 UTC, 03:30 CEST is 01:30 UTC.
		ev(tracking.PageViewed, utc("2026-03-29 00:30"), anon("a")),
		ev(tracking.PurchaseCompleted, utc("2026-03-29 01:30"), anon("a"), paid("1.00", "EUR")),
		ev(tracking.PageViewed, utc("2026-03-29 21:59"), anon("b")), // 23:59 CEST, still the 29th
		ev(tracking.PageViewed, utc("2026-03-29 22:00"), anon("c")), // 00:00 of the 30th
		// 2026-10-25, 25 hours: 02:30 comes twice, at 00:30 and 01:30 UTC.
		ev(tracking.PageViewed, utc("2026-10-25 00:30"), anon("a")),
		ev(tracking.PurchaseCompleted, utc("2026-10-25 01:30"), anon("a"), paid("2.00", "EUR")),
		ev(tracking.PurchaseCompleted, utc("2026-10-25 01:45"), anon("b"), paid("0.50", "EUR")),
		ev(tracking.PageViewed, utc("2026-10-25 22:59"), anon("d")), // 23:59 CET, still the 25th
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		series := func(from, to string, o TimeSeriesOptions) ([]string, []int64) {
			q := Query{ShopID: shop, From: utc(from), To: utc(to), Location: loc}
			r, err := TimeSeries(ctx, s, q, o)
			require.NoError(t, err)
			return labels(r)
		}
		ts, vs := series("2026-03-28 23:00", "2026-03-29 02:00", TimeSeriesOptions{Interval: Hour})
		require.Equal(t, []string{"2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"}, ts)
		require.Equal(t, []int64{0, 1, 1}, vs)
		_, vs = series("2026-03-28 23:00", "2026-03-29 02:00", TimeSeriesOptions{Interval: Hour, Metric: MetricRevenue})
		require.Equal(t, []int64{0, 0, 100}, vs)

		ts, vs = series("2026-10-24 23:00", "2026-10-25 03:00", TimeSeriesOptions{Interval: Hour})
		require.Equal(t, []string{"2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00",
			"2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"}, ts)
		require.Equal(t, []int64{0, 1, 2, 0}, vs)
		_, vs = series("2026-10-24 23:00", "2026-10-25 03:00", TimeSeriesOptions{Interval: Hour, Metric: MetricRevenue})
		require.Equal(t, []int64{0, 0, 250, 0}, vs)
		_, vs = series("2026-10-24 23:00", "2026-10-25 03:00", TimeSeriesOptions{Interval: Hour, Metric: MetricUsers})
		require.Equal(t, []int64{0, 1, 2, 0}, vs)

		// Days of 23 and 25 hours hold what their local hours hold.
		ts, vs = series("2026-03-28 23:00", "2026-03-30 22:00", TimeSeriesOptions{Metric: MetricUsers})
		require.Equal(t, []string{"2026-03-29", "2026-03-30"}, ts)
		require.Equal(t, []int64{2, 1}, vs)
		ts, vs = series("2026-10-24 22:00", "2026-10-25 23:00", TimeSeriesOptions{Metric: MetricRevenue})
		require.Equal(t, []string{"2026-10-25"}, ts)
		require.Equal(t, []int64{250}, vs)
		_, vs = series("2026-10-24 22:00", "2026-10-25 23:00", TimeSeriesOptions{Metric: MetricSessions})
		require.Equal(t, []int64{4}, vs) // a's two, an hour apart; b; d
	})
}

func TestGoldenFunnelStepsArrivingOutOfOrder(t *testing.T) {
	m := time.Minute
	view, add, buy := tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted
	batches := [][]tracking.Event{
		// The purchase and the add reach the store first; the view that
		// happened before them arrives hours later (an app offline).
		{
			ev(buy, t0.Add(10*m), sess("s1"), anon("a1"), paid("1", "USD")),
			ev(add, t0.Add(5*m), sess("s1"), anon("a1")),
			// s2's add is older than its view: arriving later does not
			// make it a later step.
			ev(view, t0.Add(5*m), sess("s2"), anon("a2")),
		},
		{
			ev(add, t0, sess("s2"), anon("a2")),
			ev(view, t0, sess("s1"), anon("a1")),
			// s3: view and add at the same instant count ("at or after").
			ev(add, t0.Add(m), sess("s3"), anon("a3"), id("s3-b")),
			ev(view, t0.Add(m), sess("s3"), anon("a3"), id("s3-a")),
		},
	}
	forStoresAppendedInOrder(t, batches, func(t *testing.T, s store.Store) {
		r, err := Funnel(context.Background(), s, query(t0, t0.Add(time.Hour)), FunnelOptions{Steps: []string{view, add, buy}})
		require.NoError(t, err)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.JSONEq(t, `{"by":"session","steps":[
			{"event_name":"product_viewed","count":3,"conversion_from_previous":100,"conversion_from_start":100,"median_seconds_from_previous":null},
			{"event_name":"add_to_cart","count":2,"conversion_from_previous":66.67,"conversion_from_start":66.67,"median_seconds_from_previous":150},
			{"event_name":"purchase_completed","count":1,"conversion_from_previous":50,"conversion_from_start":33.33,"median_seconds_from_previous":300}]}`, string(b))
	})
}

// TestGoldenFunnelStepsAtTheSameInstantWhateverTheirIDs pins the
// contract's "each at or after the previous": an add to cart at the very
// instant of its view is a step after it, whichever id sorts first. The
// package documentation reads it as stream order (timestamp, then id), so
// an add whose id sorts before its view's does not count.
func TestGoldenFunnelStepsAtTheSameInstantWhateverTheirIDs(t *testing.T) {
	events := []tracking.Event{
		ev(tracking.AddToCart, t0, sess("s"), anon("a"), id("1")),
		ev(tracking.ProductViewed, t0, sess("s"), anon("a"), id("2")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		r, err := Funnel(context.Background(), s, query(t0, t0.Add(time.Hour)),
			FunnelOptions{Steps: []string{tracking.ProductViewed, tracking.AddToCart}})
		require.NoError(t, err)
		require.Equal(t, []int64{1, 1}, stepCounts(r))
	})
}

func TestGoldenIdentifyStitchesTwoDevices(t *testing.T) {
	m := time.Minute
	batches := [][]tracking.Event{{
		// u browses on the phone and adds to the cart, then buys on the
		// laptop; neither device carries a user id until the identifies,
		// which arrive last.
		ev(tracking.PageViewed, t0, anon("phone"), sess("p1")),
		ev(tracking.ProductViewed, t0.Add(1*m), anon("phone"), sess("p1"), prod("p")),
		ev(tracking.AddToCart, t0.Add(2*m), anon("phone"), sess("p1"), prod("p")),
		ev(tracking.PageViewed, t0.Add(3*time.Hour), anon("laptop"), sess("l1")),
		ev(tracking.PurchaseCompleted, t0.Add(3*time.Hour+5*m), anon("laptop"), sess("l1"), prod("p"), paid("30.00", "USD")),
		ev(tracking.PageViewed, t0.Add(4*time.Hour), anon("stranger"), sess("x1")),
	}, {
		ev(tracking.Identify, t0.Add(3*time.Hour+4*m), anon("laptop"), user("u"), sess("l1")),
		ev(tracking.Identify, t0.Add(26*time.Hour), anon("phone"), user("u")), // the next day, outside the range
	}}
	forStoresAppendedInOrder(t, batches, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := query(t0, t0.Add(24*time.Hour))
		st, err := Stats(ctx, s, q, StatsOptions{})
		require.NoError(t, err)
		require.EqualValues(t, 2, st.Users) // u and the stranger
		require.EqualValues(t, 3, st.Sessions)
		require.Equal(t, 100.0, st.CartAbandonmentRate) // by session, p1 abandoned

		ss, err := Sessions(ctx, s, q, SessionsOptions{UserID: "u"})
		require.NoError(t, err)
		require.Len(t, ss, 2)
		require.Equal(t, []string{"p1", "l1"}, []string{ss[0].ID, ss[1].ID})
		require.Equal(t, []string{"u", "u"}, []string{ss[0].UserID, ss[1].UserID})

		f, err := Funnel(ctx, s, q, FunnelOptions{Steps: []string{tracking.AddToCart, tracking.PurchaseCompleted}, By: ByUser})
		require.NoError(t, err)
		require.Equal(t, []int64{1, 1}, stepCounts(f))
		f, err = Funnel(ctx, s, q, FunnelOptions{Steps: []string{tracking.AddToCart, tracking.PurchaseCompleted}, By: ByUser, Window: time.Hour})
		require.NoError(t, err)
		require.Equal(t, []int64{1, 0}, stepCounts(f))

		seg, err := Segments(ctx, s, q, SegmentsOptions{})
		require.NoError(t, err)
		require.Equal(t, []Segment{
			{Name: Buyers, By: ByUser, Size: 1, Share: 50, Examples: []string{"u"}},
			{Name: CartAbandoners, By: ByUser, Size: 0, Share: 0, Examples: []string{}},
			{Name: WindowShoppers, By: ByUser, Size: 0, Share: 0, Examples: []string{}},
		}, seg)

		c, err := TopCustomers(ctx, s, q, TopCustomersOptions{})
		require.NoError(t, err)
		require.Equal(t, []Customer{{UserID: "u", Orders: 1, Revenue: money("30.00", "USD")}}, c.Customers)

		j, err := Journey(ctx, s, q, JourneyOptions{UserID: "u"})
		require.NoError(t, err)
		require.Len(t, j, 6) // both devices; the phone's identify is outside the range
	})
}

func TestGoldenYenHaveNoMinorUnit(t *testing.T) {
	m := time.Minute
	lines := `{"products":[{"product_id":"tea","price":"1500","quantity":3},{"product_id":"cup","price":1001}]}`
	events := []tracking.Event{
		ev(tracking.PurchaseCompleted, t0, anon("a"), paid("5501", "JPY"), props(lines)),
		ev(tracking.PurchaseCompleted, t0.Add(m), anon("b"), prod("tea"), paid("1000", "JPY")),
		ev(tracking.PurchaseCompleted, t0.Add(2*m), anon("b"), prod("cup"), paid("1001", "JPY")),
		ev(tracking.PurchaseCompleted, t0.Add(3*m), anon("c"), prod("tea"), paid("9.99", "USD")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := query(t0, t0.Add(time.Hour))
		st, err := Stats(ctx, s, q, StatsOptions{})
		require.NoError(t, err)
		b, err := json.Marshal(st.Revenue)
		require.NoError(t, err)
		// 7502 / 3 = 2500.67 yen: the average is 2501, half-up to the yen.
		require.JSONEq(t, `[{"currency":"JPY","total":"7502","orders":3,"average":"2501","min":"1000","max":"5501"},
			{"currency":"USD","total":"9.99","orders":1,"average":"9.99","min":"9.99","max":"9.99"}]`, string(b))

		tp, err := TopProducts(ctx, s, q, TopProductsOptions{By: ByRevenue})
		require.NoError(t, err)
		require.Equal(t, "JPY", tp.Currency) // most orders
		b, err = json.Marshal(tp)
		require.NoError(t, err)
		require.JSONEq(t, `{"by":"revenue","currency":"JPY","products":[
			{"product_id":"tea","product_name":"","views":0,"adds":0,"purchases":3,"revenue":"5500"},
			{"product_id":"cup","product_name":"","views":0,"adds":0,"purchases":2,"revenue":"2002"}]}`, string(b))

		rows, err := Breakdown(ctx, s, q, BreakdownOptions{Dimension: ByProduct})
		require.NoError(t, err)
		b, err = json.Marshal(rows)
		require.NoError(t, err)
		require.JSONEq(t, `[
			{"value":"tea","events":3,"sessions":3,"users":3,"purchases":3,"revenue":[{"currency":"JPY","total":"5500"},{"currency":"USD","total":"9.99"}]},
			{"value":"cup","events":2,"sessions":2,"users":2,"purchases":2,"revenue":[{"currency":"JPY","total":"2002"}]}]`, string(b))

		c, err := TopCustomers(ctx, s, q, TopCustomersOptions{})
		require.NoError(t, err)
		b, err = json.Marshal(c)
		require.NoError(t, err)
		require.JSONEq(t, `{"currency":"JPY","customers":[{"user_id":"a","orders":1,"revenue":"5501"},
			{"user_id":"b","orders":2,"revenue":"2001"},{"user_id":"c","orders":1,"revenue":"0"}]}`, string(b))
	})
}

// purchaseStream is a store of n purchases of 0.10 USD, one a millisecond,
// made as they are read: a million events without holding them.
type purchaseStream struct{ n int }

func (p purchaseStream) Append(context.Context, []tracking.Event) (store.AppendResult, error) {
	return store.AppendResult{}, store.ErrInvalid
}
func (p purchaseStream) Close() error { return nil }
func (p purchaseStream) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	return func(yield func(tracking.Event, error) bool) {
		e := ev(tracking.PurchaseCompleted, t0, paid("0.10", "USD"), prod("p"))
		ids := [...]string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"}
		for i := range p.n {
			e.Timestamp = t0.Add(time.Duration(i) * time.Millisecond)
			e.AnonymousID = ids[i%len(ids)]
			if f.Match(&e) && !yield(e, nil) {
				return
			}
		}
	}
}

func TestGoldenAMillionPurchasesOfTenCents(t *testing.T) {
	ctx := context.Background()
	s := purchaseStream{n: 1_000_000}
	q := query(t0, t0.Add(24*time.Hour))
	st, err := Stats(ctx, s, q, StatsOptions{})
	require.NoError(t, err)
	require.Equal(t, []Revenue{{Currency: "USD", Orders: 1_000_000, Total: money("100000.00", "USD"),
		Average: money("0.10", "USD"), Min: money("0.10", "USD"), Max: money("0.10", "USD")}}, st.Revenue)
	b, err := json.Marshal(st.Revenue)
	require.NoError(t, err)
	require.JSONEq(t, `[{"currency":"USD","total":"100000.00","orders":1000000,"average":"0.10","min":"0.10","max":"0.10"}]`, string(b))

	ts, err := TimeSeries(ctx, s, q, TimeSeriesOptions{Metric: MetricRevenue})
	require.NoError(t, err)
	b, err = json.Marshal(ts)
	require.NoError(t, err)
	require.JSONEq(t, `{"metric":"revenue","interval":"day","tz":"UTC","currency":"USD","points":[{"t":"2026-03-02","value":"100000.00"}]}`, string(b))
}
