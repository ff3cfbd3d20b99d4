package analytics

import (
	"time"
)

// Interval is the length of a time bucket or a retention period.
type Interval string

// Intervals. Days and weeks are local to the query's zone, so a day is 23
// or 25 hours long across a daylight saving change; weeks start on Monday
// (ISO 8601).
const (
	Hour Interval = "hour"
	Day  Interval = "day"
	Week Interval = "week"
)

// MaxPoints is the default cap on the buckets of a time series and the
// periods of a retention table: hour buckets over a long range would be an
// answer nobody can draw.
const MaxPoints = 10_000

func (iv Interval) orDefault(def Interval) (Interval, error) {
	switch iv {
	case "":
		return def, nil
	case Hour, Day, Week:
		return iv, nil
	}
	return "", optionError("interval", "%q is not hour, day or week", string(iv))
}

// buckets cut [start of From's bucket, To) into the periods of an interval
// in a zone.
type buckets struct {
	interval Interval
	loc      *time.Location
	starts   []time.Time
	labels   []string
	to       time.Time
}

// newBuckets returns the buckets covering [from, to), or an OptionError
// naming interval when there would be more than max.
func newBuckets(from, to time.Time, iv Interval, loc *time.Location, max int) (*buckets, error) {
	b := &buckets{interval: iv, loc: loc, to: to}
	start, label := b.first(from)
	for start.Before(to) {
		if len(b.starts) == max {
			return nil, optionError("interval", "%s buckets over this range would be more than %d", iv, max)
		}
		b.starts = append(b.starts, start)
		b.labels = append(b.labels, label)
		start, label = b.next(start)
	}
	return b, nil
}

// first returns the start and label of the bucket holding t.
func (b *buckets) first(t time.Time) (time.Time, string) {
	local := t.In(b.loc)
	switch b.interval {
	case Hour:
		s := local.Add(-time.Duration(local.Minute())*time.Minute - time.Duration(local.Second())*time.Second -
			time.Duration(local.Nanosecond()))
		return s, s.Format(time.RFC3339)
	case Week:
		y, m, d := local.Date()
		d -= (int(local.Weekday()) + 6) % 7
		return b.midnight(y, m, d)
	default:
		y, m, d := local.Date()
		return b.midnight(y, m, d)
	}
}

// midnight is the start of a local date, labelled with the date itself: a
// zone whose clocks skip midnight starts the day at its first instant.
func (b *buckets) midnight(y int, m time.Month, d int) (time.Time, string) {
	t := time.Date(y, m, d, 0, 0, 0, 0, b.loc)
	ty, tm, td := t.Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // normalises d
	if ty != date.Year() || tm != date.Month() || td != date.Day() {
		// The normalised instant fell on the day before; its day starts
		// at the next hour that exists.
		t = t.Add(time.Hour)
	}
	return t, date.Format(time.DateOnly)
}

// next returns the bucket after the one starting at start.
func (b *buckets) next(start time.Time) (time.Time, string) {
	switch b.interval {
	case Hour:
		n, label := b.first(start.Add(time.Hour))
		if !n.After(start) {
			n = start.Add(time.Hour)
			label = n.In(b.loc).Format(time.RFC3339)
		}
		return n, label
	case Week:
		y, m, d := start.In(b.loc).Date()
		return b.midnight(y, m, d+7)
	default:
		y, m, d := start.In(b.loc).Date()
		return b.midnight(y, m, d+1)
	}
}

// cursor finds the bucket of each instant of an ascending sequence in
// amortised constant time.
type cursor struct {
	b *buckets
	i int
}

// index returns the bucket of t, or -1 when t lies outside the buckets.
func (c *cursor) index(t time.Time) int {
	s := c.b.starts
	if len(s) == 0 || t.Before(s[0]) || !t.Before(c.b.to) {
		return -1
	}
	if t.Before(s[c.i]) { // not ascending after all: start over
		c.i = 0
	}
	for c.i+1 < len(s) && !t.Before(s[c.i+1]) {
		c.i++
	}
	return c.i
}
