package pgstore

import (
	"strconv"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// arrayText builds the text form of a one-dimensional PostgreSQL array
// ({"a","b",NULL}) element by element, without the reflection of pq.Array,
// for the unnest writer.
type arrayText struct{ b []byte }

func (a *arrayText) sep() {
	if len(a.b) == 0 {
		a.b = append(a.b, '{')
	} else {
		a.b = append(a.b, ',')
	}
}

// text appends s quoted; inside quotes only '"' and '\' need escaping.
func (a *arrayText) text(s string) {
	a.sep()
	a.b = append(a.b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			a.b = append(a.b, '\\')
		}
		a.b = append(a.b, s[i])
	}
	a.b = append(a.b, '"')
}

// optText appends s, or NULL when it is empty.
func (a *arrayText) optText(s string) {
	if s == "" {
		a.null()
		return
	}
	a.text(s)
}

func (a *arrayText) null() {
	a.sep()
	a.b = append(a.b, "NULL"...)
}

func (a *arrayText) int(v int64) {
	a.sep()
	a.b = strconv.AppendInt(a.b, v, 10)
}

// money appends the minor units of m, or NULL when no amount was given.
func (a *arrayText) money(m tracking.Money) {
	if m.IsZero() {
		a.null()
		return
	}
	a.int(m.Minor)
}

// time appends t in UTC with its full precision (PostgreSQL rounds to the
// microsecond), or NULL for the zero time.
func (a *arrayText) time(t time.Time) {
	if t.IsZero() {
		a.null()
		return
	}
	a.sep()
	a.b = append(a.b, '"')
	a.b = t.UTC().AppendFormat(a.b, time.RFC3339Nano)
	a.b = append(a.b, '"')
}

// String returns the array literal; an array with no element is "{}".
func (a *arrayText) String() string {
	if len(a.b) == 0 {
		return "{}"
	}
	return string(append(a.b, '}'))
}
