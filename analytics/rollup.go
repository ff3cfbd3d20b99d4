package analytics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// hourlyRows returns the rollup of the events f selects (f.Types honoured;
// no user, anonymous or session condition) per UTC hour, type and order
// currency, as store.Hourly makes it: from the store's rollups
// (store.HourlyReader) for the whole hours of the range, and from the
// events themselves for the part of an hour at each end. ok is false when
// the store cannot answer (no capability, errors.ErrUnsupported, a range
// holding no whole hour): the caller then takes its generic path.
func hourlyRows(ctx context.Context, s store.Store, f store.Filter) (rows []store.HourlyRow, ok bool, err error) {
	hr, ok := s.(store.HourlyReader)
	if !ok || f.UserID != "" || f.AnonymousID != "" || f.SessionID != "" || f.Limit != 0 {
		return nil, false, nil
	}
	inner := f
	inner.From, inner.To = ceilHour(f.From), floorHour(f.To)
	if !inner.From.IsZero() && !inner.To.IsZero() && !inner.From.Before(inner.To) {
		return nil, false, nil
	}
	rows, err = hr.HourlyCounts(ctx, inner)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var edges store.Hourly
	for _, part := range [][2]time.Time{{f.From, inner.From}, {inner.To, f.To}} {
		if part[0].Equal(part[1]) {
			continue
		}
		g := f
		g.From, g.To = part[0], part[1]
		for e, err := range s.Events(ctx, g) {
			if err != nil {
				return nil, false, err
			}
			edges.Add(&e)
		}
	}
	return append(rows, edges.Rows(f.ShopID)...), true, nil
}

// ceilHour is the first whole UTC hour at or after t; zero stays zero.
func ceilHour(t time.Time) time.Time {
	if h := t.Truncate(time.Hour); !h.Equal(t) {
		return h.Add(time.Hour)
	}
	return t
}

// floorHour is the whole UTC hour at or before t; zero stays zero.
func floorHour(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Hour)
}

// wholeHourZone reports whether loc is a whole number of hours from UTC at
// every instant of [from, to), changing only at whole UTC hours, by the
// zone's own rules: then its local hours, days and weeks start at whole UTC
// hours and an hourly rollup falls into them exactly. Asia/Kolkata (+5:30)
// is not, nor Australia/Adelaide (+9:30, +10:30).
func wholeHourZone(loc *time.Location, from, to time.Time) bool {
	for t := from; t.Before(to); {
		local := t.In(loc)
		if _, offset := local.Zone(); offset%3600 != 0 {
			return false
		}
		_, end := local.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			return true
		}
		if !store.OnHour(end) {
			return false
		}
		t = end
	}
	return true
}

// bucketOf returns the bucket holding t, which lies in [b.starts[0], b.to).
func (b *buckets) bucketOf(t time.Time) int {
	return sort.Search(len(b.starts), func(i int) bool { return b.starts[i].After(t) }) - 1
}

// errRollup wraps a rollup read's error.
func errRollup(err error) error { return fmt.Errorf("rollup: %w", err) }
