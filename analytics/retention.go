package analytics

import (
	"context"
	"fmt"
	"slices"

	"github.com/shoplytics/shoplytics/store"
)

// RetentionOptions configure Retention. The zero value makes weekly
// cohorts.
type RetentionOptions struct {
	// Interval is the period of cohorts, Day or Week (default Week).
	Interval Interval
	// MaxPeriods caps the periods of the range (default 1000); more is an
	// OptionError naming interval. A table of n periods has n(n+1)/2
	// cells.
	MaxPeriods int
}

// Cohort is the users whose first event of the range fell in one period.
type Cohort struct {
	// Start is the period's first local date, YYYY-MM-DD.
	Start string `json:"start"`
	// Users is the cohort's size.
	Users int64 `json:"users"`
	// Retained[n] is how many of them were active n periods after the
	// cohort's; Retained[0] is Users. It runs to the range's last period.
	Retained []int64 `json:"retained"`
}

// Retention makes a cohort table: users grouped by the period (local day or
// Monday week of the query's zone) of their first event in the range, and
// for each later period how many of them had any event in it. Users are
// resolved through identify links: the first event of someone's phone and
// laptop is their first.
func Retention(ctx context.Context, s store.Store, q Query, o RetentionOptions) ([]Cohort, error) {
	r, err := retention(ctx, s, q, o)
	if err != nil {
		return nil, fmt.Errorf("analytics: retention: %w", err)
	}
	return r, nil
}

func retention(ctx context.Context, s store.Store, q Query, o RetentionOptions) ([]Cohort, error) {
	iv, err := o.Interval.orDefault(Week)
	if err != nil {
		return nil, err
	}
	if iv == Hour {
		return nil, optionError("interval", "retention is by day or week")
	}
	if o.MaxPeriods < 0 {
		return nil, optionError("max_periods", "must not be negative")
	}
	if o.MaxPeriods == 0 {
		o.MaxPeriods = 1000
	}
	if err := q.bounded(); err != nil {
		return nil, err
	}
	b, err := newBuckets(q.From, q.To, iv, q.location(), o.MaxPeriods)
	if err != nil {
		return nil, err
	}
	ids, err := loadIdentities(ctx, s, q.ShopID)
	if err != nil {
		return nil, err
	}
	// Per raw person, the periods it was active in, ascending: the stream
	// is in time order, so appending keeps them sorted.
	active := map[person][]int32{}
	cur := cursor{b: b}
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return nil, err
		}
		ids.learn(&e)
		p, ok := rawPerson(&e)
		i := cur.index(e.Timestamp)
		if !ok || i < 0 {
			continue
		}
		ps := active[p]
		if len(ps) == 0 || ps[len(ps)-1] != int32(i) {
			active[p] = append(ps, int32(i))
		}
	}
	merged := map[person][]int32{}
	for p, ps := range active {
		rp := ids.resolve(p)
		merged[rp] = append(merged[rp], ps...)
	}
	n := len(b.starts)
	cohorts := make([]Cohort, n)
	for i := range cohorts {
		cohorts[i] = Cohort{Start: b.labels[i], Retained: make([]int64, n-i)}
	}
	for _, ps := range merged {
		slices.Sort(ps)
		ps = slices.Compact(ps)
		c := &cohorts[ps[0]]
		c.Users++
		for _, p := range ps {
			c.Retained[p-ps[0]]++
		}
	}
	return cohorts, nil
}
