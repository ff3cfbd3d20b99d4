package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Metric is what a time series measures per bucket.
type Metric string

// Metrics.
const (
	// MetricEvents counts events.
	MetricEvents Metric = "events"
	// MetricRevenue sums purchase totals of one currency.
	MetricRevenue Metric = "revenue"
	// MetricOrders counts purchase_completed events.
	MetricOrders Metric = "orders"
	// MetricUsers counts the distinct users active in the bucket.
	MetricUsers Metric = "users"
	// MetricSessions counts sessions in the bucket of their first event.
	MetricSessions Metric = "sessions"
)

// TimeSeriesOptions configure TimeSeries. The zero value counts events per
// day.
type TimeSeriesOptions struct {
	// Metric is what is measured (default MetricEvents).
	Metric Metric
	// Interval is the bucket (default Day).
	Interval Interval
	// Type keeps only events of this type ("" keeps all): the events
	// counted, the users active with one, the sessions that have one. With
	// revenue and orders only purchase_completed counts, so another type
	// gives zeros.
	Type string
	// Currency is the currency of revenue (default: the currency rule).
	Currency string
	// MaxPoints caps the buckets (default MaxPoints); more is an
	// OptionError naming interval.
	MaxPoints int
}

// Point is one bucket.
type Point struct {
	// Start is the instant the bucket starts; T its label: the local date
	// for days and weeks, the RFC 3339 instant in the zone for hours.
	Start time.Time
	T     string
	// Value is the count, or for revenue the total in minor units of the
	// series' currency.
	Value int64
}

// TimeSeriesResult is a series of buckets over the range, every bucket
// present (0 when nothing happened).
type TimeSeriesResult struct {
	Metric   Metric
	Interval Interval
	// TZ is the zone's name.
	TZ string
	// Currency is set for revenue: the currency the values are in.
	Currency string
	Points   []Point
}

// MarshalJSON gives the contract's form, {"metric","interval","tz",
// "points":[{"t","value"}]} with "currency" for revenue and revenue
// values as decimal strings.
func (r TimeSeriesResult) MarshalJSON() ([]byte, error) {
	type point struct {
		T     string          `json:"t"`
		Value json.RawMessage `json:"value"`
	}
	out := struct {
		Metric   Metric   `json:"metric"`
		Interval Interval `json:"interval"`
		TZ       string   `json:"tz"`
		Currency string   `json:"currency,omitempty"`
		Points   []point  `json:"points"`
	}{r.Metric, r.Interval, r.TZ, r.Currency, make([]point, len(r.Points))}
	digits := tracking.MinorDigits(r.Currency)
	for i, p := range r.Points {
		var v []byte
		if r.Metric == MetricRevenue {
			v = append(tracking.AppendDecimal(append(v, '"'), p.Value, digits), '"')
		} else {
			v = strconv.AppendInt(v, p.Value, 10)
		}
		out.Points[i] = point{p.T, v}
	}
	return json.Marshal(out)
}

// TimeSeries measures the metric per bucket of the query's zone. Days are
// local days (23 or 25 hours across a daylight saving change), weeks start
// on Monday; the first bucket is the one holding From, so it may start
// before From. Users are resolved through identify links before they are
// counted, so one person on two devices is one user in a bucket.
func TimeSeries(ctx context.Context, s store.Store, q Query, o TimeSeriesOptions) (TimeSeriesResult, error) {
	r, err := timeSeries(ctx, s, q, o)
	if err != nil {
		return TimeSeriesResult{}, fmt.Errorf("analytics: timeseries: %w", err)
	}
	return r, nil
}

func timeSeries(ctx context.Context, s store.Store, q Query, o TimeSeriesOptions) (TimeSeriesResult, error) {
	switch o.Metric {
	case "":
		o.Metric = MetricEvents
	case MetricEvents, MetricRevenue, MetricOrders, MetricUsers, MetricSessions:
	default:
		return TimeSeriesResult{}, optionError("metric", "%q is not events, revenue, orders, users or sessions", string(o.Metric))
	}
	var err error
	if o.Interval, err = o.Interval.orDefault(Day); err != nil {
		return TimeSeriesResult{}, err
	}
	if o.Type != "" {
		if o.Type, err = checkType("type", o.Type); err != nil {
			return TimeSeriesResult{}, err
		}
	}
	currency, err := checkCurrency(o.Currency)
	if err != nil {
		return TimeSeriesResult{}, err
	}
	if o.MaxPoints < 0 {
		return TimeSeriesResult{}, optionError("max_points", "must not be negative")
	}
	if o.MaxPoints == 0 {
		o.MaxPoints = MaxPoints
	}
	if err := q.bounded(); err != nil {
		return TimeSeriesResult{}, err
	}
	loc := q.location()
	b, err := newBuckets(q.From, q.To, o.Interval, loc, o.MaxPoints)
	if err != nil {
		return TimeSeriesResult{}, err
	}
	values := make([]int64, len(b.starts))
	cur := cursor{b: b}
	f := q.filter()
	res := TimeSeriesResult{Metric: o.Metric, Interval: o.Interval, TZ: loc.String()}

	if done, err := timeSeriesRollup(ctx, s, q, o, b, currency, &res, values); done || err != nil {
		return res, err
	}
	switch o.Metric {
	case MetricEvents:
		if o.Type != "" {
			f.Types = []string{o.Type}
		}
		for e, err := range s.Events(ctx, f) {
			if err != nil {
				return TimeSeriesResult{}, err
			}
			if i := cur.index(e.Timestamp); i >= 0 {
				values[i]++
			}
		}
	case MetricOrders, MetricRevenue:
		f.Types = []string{tracking.PurchaseCompleted}
		if o.Type != "" && o.Type != tracking.PurchaseCompleted {
			f.Types = []string{o.Type} // nothing counts; the currency rule still runs
		}
		orders := orderCounter{}
		perCurrency := map[string][]int64{}
		for e, err := range s.Events(ctx, f) {
			if err != nil {
				return TimeSeriesResult{}, err
			}
			i := cur.index(e.Timestamp)
			if e.Type != tracking.PurchaseCompleted || i < 0 {
				continue
			}
			if o.Metric == MetricOrders {
				values[i]++
				continue
			}
			m := orderAmount(&e)
			orders[m.Currency]++
			v := perCurrency[m.Currency]
			if v == nil {
				v = make([]int64, len(values))
				perCurrency[m.Currency] = v
			}
			v[i] += m.Minor
		}
		if o.Metric == MetricRevenue {
			res.Currency = orders.pick(currency)
			if v := perCurrency[res.Currency]; v != nil {
				values = v
			}
		}
	case MetricUsers:
		ids, err := loadIdentities(ctx, s, q.ShopID)
		if err != nil {
			return TimeSeriesResult{}, err
		}
		active := make([]people, len(values))
		for e, err := range s.Events(ctx, f) {
			if err != nil {
				return TimeSeriesResult{}, err
			}
			ids.learn(&e)
			i := cur.index(e.Timestamp)
			if i < 0 || o.Type != "" && e.Type != o.Type {
				continue
			}
			if active[i] == nil {
				active[i] = people{}
			}
			active[i].add(&e)
		}
		for i, ps := range active {
			values[i] = ps.count(ids)
		}
	case MetricSessions:
		z := newSessionizer()
		var first []int  // bucket of each session's first event
		var typed []bool // whether the session has an event of o.Type
		for e, err := range s.Events(ctx, f) {
			if err != nil {
				return TimeSeriesResult{}, err
			}
			k := z.add(&e)
			if k == len(first) {
				first = append(first, cur.index(e.Timestamp))
				typed = append(typed, false)
			}
			if o.Type == "" || e.Type == o.Type {
				typed[k] = true
			}
		}
		for k, i := range first {
			if i >= 0 && typed[k] {
				values[i]++
			}
		}
	}
	res.Points = make([]Point, len(values))
	for i, v := range values {
		res.Points[i] = Point{Start: b.starts[i], T: b.labels[i], Value: v}
	}
	return res, nil
}

// timeSeriesRollup answers a series of events, orders or revenue from the
// store's hourly rollups, when it has them and the zone's hours, days and
// weeks start at whole UTC hours throughout the range (see wholeHourZone),
// so that every rollup hour lies in one bucket. It fills res and reports
// done; false leaves both to the generic path.
func timeSeriesRollup(ctx context.Context, s store.Store, q Query, o TimeSeriesOptions, b *buckets,
	currency string, res *TimeSeriesResult, values []int64) (done bool, err error) {
	if o.Metric != MetricEvents && o.Metric != MetricOrders && o.Metric != MetricRevenue {
		return false, nil
	}
	if _, ok := s.(store.HourlyReader); !ok || !wholeHourZone(b.loc, q.From, q.To) {
		return false, nil
	}
	f := q.filter()
	switch {
	case o.Metric == MetricEvents && o.Type != "":
		f.Types = []string{o.Type}
	case o.Metric == MetricEvents:
	case o.Type != "" && o.Type != tracking.PurchaseCompleted:
		f.Types = []string{o.Type} // nothing counts; the currency rule still runs
	default:
		f.Types = []string{tracking.PurchaseCompleted}
	}
	rows, ok, err := hourlyRows(ctx, s, f)
	if err != nil || !ok {
		return false, err
	}
	orders := orderCounter{}
	perCurrency := map[string][]int64{}
	for _, r := range rows {
		i := b.bucketOf(r.Hour)
		switch {
		case i < 0: // not in the range; HourlyCounts keeps to it
		case o.Metric == MetricEvents:
			values[i] += r.Events
		case r.Type != tracking.PurchaseCompleted:
		case o.Metric == MetricOrders:
			values[i] += r.Orders
		default:
			orders[r.Currency] += r.Orders
			v := perCurrency[r.Currency]
			if v == nil {
				v = make([]int64, len(values))
				perCurrency[r.Currency] = v
			}
			v[i] += r.RevenueMinor
		}
	}
	if o.Metric == MetricRevenue {
		res.Currency = orders.pick(currency)
		if v := perCurrency[res.Currency]; v != nil {
			values = v
		}
	}
	res.Points = make([]Point, len(values))
	for i, v := range values {
		res.Points[i] = Point{Start: b.starts[i], T: b.labels[i], Value: v}
	}
	return true, nil
}
