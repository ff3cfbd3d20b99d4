package analytics

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func labels(r TimeSeriesResult) (ts []string, vs []int64) {
	for _, p := range r.Points {
		ts = append(ts, p.T)
		vs = append(vs, p.Value)
	}
	return ts, vs
}

func TestTimeSeriesDaysAcrossDaylightSavingChanges(t *testing.T) {
	loc := berlin(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		require.NoError(t, err)
		return v
	}
	events := []tracking.Event{
		// 2026-03-29 has 23 hours: 00:00 and 23:59 are on it, 24 h after
		// its midnight is the next day's 01:00.
		ev(tracking.PageViewed, at("2026-03-29 00:00"), anon("a")),
		ev(tracking.PageViewed, at("2026-03-29 23:59"), anon("a")),
		ev(tracking.PageViewed, at("2026-03-30 00:30"), anon("a")),
		// 2026-10-25 has 25 hours.
		ev(tracking.PageViewed, at("2026-10-25 00:00"), anon("a")),
		ev(tracking.PageViewed, at("2026-10-25 23:59"), anon("a")),
		ev(tracking.PageViewed, at("2026-10-26 00:00"), anon("a")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := Query{ShopID: shop, From: at("2026-03-28 00:00"), To: at("2026-03-31 00:00"), Location: loc}
		r, err := TimeSeries(ctx, s, q, TimeSeriesOptions{})
		require.NoError(t, err)
		ts, vs := labels(r)
		require.Equal(t, []string{"2026-03-28", "2026-03-29", "2026-03-30"}, ts)
		require.Equal(t, []int64{0, 2, 1}, vs)
		require.Equal(t, 23*time.Hour, r.Points[2].Start.Sub(r.Points[1].Start))
		require.Equal(t, "Europe/Berlin", r.TZ)

		q = Query{ShopID: shop, From: at("2026-10-25 00:00"), To: at("2026-10-27 00:00"), Location: loc}
		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{})
		require.NoError(t, err)
		ts, vs = labels(r)
		require.Equal(t, []string{"2026-10-25", "2026-10-26"}, ts)
		require.Equal(t, []int64{2, 1}, vs)
		require.Equal(t, 25*time.Hour, r.Points[1].Start.Sub(r.Points[0].Start))

		// Hours of the short day: 02:00 does not exist.
		q = Query{ShopID: shop, From: at("2026-03-29 00:00"), To: at("2026-03-29 04:00"), Location: loc}
		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{Interval: Hour})
		require.NoError(t, err)
		ts, vs = labels(r)
		require.Equal(t, []string{"2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00",
			"2026-03-29T03:00:00+02:00"}, ts)
		require.Equal(t, []int64{1, 0, 0}, vs)

		// Hours of the long day: 02:00 comes twice.
		q = Query{ShopID: shop, From: at("2026-10-25 01:00"), To: at("2026-10-25 04:00"), Location: loc}
		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{Interval: Hour})
		require.NoError(t, err)
		ts, _ = labels(r)
		require.Equal(t, []string{"2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00",
			"2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"}, ts)
	})
}

func TestTimeSeriesWeeksStartOnMondayAcrossDaylightSaving(t *testing.T) {
	loc := berlin(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		require.NoError(t, err)
		return v
	}
	events := []tracking.Event{
		ev(tracking.PageViewed, at("2026-03-23 00:00"), anon("a")), // Monday
		ev(tracking.PageViewed, at("2026-03-29 23:59"), anon("b")), // Sunday, after the change
		ev(tracking.PageViewed, at("2026-03-30 00:00"), anon("a")), // next Monday
		ev(tracking.PageViewed, at("2026-03-30 00:01"), user("u"), anon("b")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		q := Query{ShopID: shop, From: at("2026-03-25 00:00"), To: at("2026-04-01 00:00"), Location: loc}
		r, err := TimeSeries(context.Background(), s, q, TimeSeriesOptions{Interval: Week})
		require.NoError(t, err)
		ts, vs := labels(r)
		// The first bucket starts on the Monday before from.
		require.Equal(t, []string{"2026-03-23", "2026-03-30"}, ts)
		require.Equal(t, []int64{1, 2}, vs) // 03-23 is before from
		require.Equal(t, 7*24*time.Hour-time.Hour, r.Points[1].Start.Sub(r.Points[0].Start))

		q.From = at("2026-03-23 00:00")
		r, err = TimeSeries(context.Background(), s, q, TimeSeriesOptions{Interval: Week, Metric: MetricUsers})
		require.NoError(t, err)
		_, vs = labels(r)
		// b was identified as u, so the second week has a and u.
		require.Equal(t, []int64{2, 2}, vs)
	})
}

func TestTimeSeriesRevenueOrdersSessionsAndTheCurrencyRule(t *testing.T) {
	h := time.Hour
	events := []tracking.Event{
		ev(tracking.PurchaseCompleted, t0.Add(1*h), anon("a"), paid("1.10", "EUR")),
		ev(tracking.PurchaseCompleted, t0.Add(2*h), anon("a"), paid("2.20", "EUR")),
		ev(tracking.PurchaseCompleted, t0.Add(26*h), anon("b"), paid("3.30", "EUR")),
		ev(tracking.PurchaseCompleted, t0.Add(27*h), anon("b"), paid("1500", "JPY")),
		ev(tracking.PageViewed, t0.Add(49*h), anon("c")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := query(t0, t0.Add(72*h))
		r, err := TimeSeries(ctx, s, q, TimeSeriesOptions{Metric: MetricRevenue})
		require.NoError(t, err)
		require.Equal(t, "EUR", r.Currency)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.JSONEq(t, `{"metric":"revenue","interval":"day","tz":"UTC","currency":"EUR","points":[
			{"t":"2026-03-02","value":"3.30"},{"t":"2026-03-03","value":"3.30"},{"t":"2026-03-04","value":"0.00"}]}`, string(b))

		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{Metric: MetricRevenue, Currency: "jpy"})
		require.NoError(t, err)
		b, err = json.Marshal(r)
		require.NoError(t, err)
		require.JSONEq(t, `{"metric":"revenue","interval":"day","tz":"UTC","currency":"JPY","points":[
			{"t":"2026-03-02","value":"0"},{"t":"2026-03-03","value":"1500"},{"t":"2026-03-04","value":"0"}]}`, string(b))

		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{Metric: MetricOrders})
		require.NoError(t, err)
		_, vs := labels(r)
		require.Equal(t, []int64{2, 2, 0}, vs)

		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{Metric: MetricSessions})
		require.NoError(t, err)
		_, vs = labels(r)
		require.Equal(t, []int64{2, 2, 1}, vs) // a's purchases are an hour apart

		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{Metric: MetricSessions, Type: "purchase"})
		require.NoError(t, err)
		_, vs = labels(r)
		require.Equal(t, []int64{2, 2, 0}, vs)

		r, err = TimeSeries(ctx, s, q, TimeSeriesOptions{Type: tracking.PageViewed})
		require.NoError(t, err)
		_, vs = labels(r)
		require.Equal(t, []int64{0, 0, 1}, vs)

		r, err = TimeSeries(ctx, s, query(t0.Add(60*h), t0.Add(61*h)), TimeSeriesOptions{Metric: MetricRevenue})
		require.NoError(t, err)
		require.Equal(t, DefaultCurrency, r.Currency)
	})
}

func TestTimeSeriesRefusesBadOptions(t *testing.T) {
	s := stores(t, nil)["memstore"]
	q := query(t0, t0.Add(24*time.Hour))
	for _, c := range []struct {
		o     TimeSeriesOptions
		q     Query
		field string
	}{
		{TimeSeriesOptions{Metric: "clicks"}, q, "metric"},
		{TimeSeriesOptions{Interval: "month"}, q, "interval"},
		{TimeSeriesOptions{Type: "Bad Type"}, q, "type"},
		{TimeSeriesOptions{Currency: "EURO"}, q, "currency"},
		{TimeSeriesOptions{Interval: Hour}, query(t0, t0.Add(500*24*time.Hour)), "interval"},
		{TimeSeriesOptions{}, Query{ShopID: shop, To: t0}, "from"},
	} {
		_, err := TimeSeries(context.Background(), s, c.q, c.o)
		var oe *OptionError
		require.ErrorAs(t, err, &oe, "%+v", c.o)
		require.Equal(t, c.field, oe.Field)
	}
	// Exactly the cap is fine.
	r, err := TimeSeries(context.Background(), s, query(t0, t0.Add(MaxPoints*time.Hour)), TimeSeriesOptions{Interval: Hour})
	require.NoError(t, err)
	require.Len(t, r.Points, MaxPoints)
}
