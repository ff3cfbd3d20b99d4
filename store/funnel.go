package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// Session trails: what an ordered funnel by session needs of a session,
// kept with the session rollups. A trail is the session's events of the
// canonical types as (type, time), in time order; events of custom types
// are left out (a funnel naming one reads the events). Events at one
// instant are in no particular order: a funnel takes them in the order of
// its steps.

// trailTypes are the types a trail keeps, by code (index + 1). The codes
// are stored: a new canonical type is appended, never inserted.
var trailTypes = []string{
	tracking.PageViewed, tracking.SessionStarted, tracking.ProductViewed, tracking.ProductListViewed,
	tracking.ProductSearched, tracking.ProductListFiltered, tracking.AddToCart, tracking.RemoveFromCart,
	tracking.CartViewed, tracking.CheckoutStarted, tracking.PurchaseCompleted, tracking.OrderRefunded,
	tracking.Identify,
}

// TrailCode returns the stored code of a canonical type, 1 or more; ok is
// false for a custom type, which trails do not keep.
func TrailCode(typ string) (code uint8, ok bool) {
	i := slices.Index(trailTypes, typ)
	if i < 0 {
		return 0, false
	}
	return uint8(i + 1), true
}

// TrailBit is the bit of a canonical type in TrailTypes' mask; 0 for a
// custom type.
func TrailBit(typ string) int64 {
	c, ok := TrailCode(typ)
	if !ok {
		return 0
	}
	return 1 << c
}

// TrailEvent is one event of a trail.
type TrailEvent struct {
	Code uint8 // see TrailCode
	At   int64 // microseconds since the Unix epoch
}

// Type returns the event's type ("" for the mark of an overflowed trail).
func (e TrailEvent) Type() string {
	if e.Code == overflowCode {
		return ""
	}
	return trailTypes[e.Code-1]
}

// Trail is a session's trail. The zero value is empty.
//
// A trail of more than MaxTrailEvents events is not kept: it overflows,
// and is stored as a mark alone (a session_id that a client sends with
// everything, or a bot's, would otherwise have its whole, ever longer
// trail read and rewritten by every batch that adds to it). An overflowed
// trail holds every type as far as Types says, Within keeps it whole,
// and a funnel that meets one reads the events instead.
type Trail []TrailEvent

// MaxTrailEvents is the longest trail kept; see Trail.
const MaxTrailEvents = 2048

// overflowCode marks an overflowed trail: its only stored byte, and an
// event of the trail in memory (at the earliest instant) that events added
// later join.
const overflowCode uint8 = 0xFF

// Overflowed reports a trail that is too long to keep (see Trail).
func (t Trail) Overflowed() bool {
	return len(t) > MaxTrailEvents || slices.ContainsFunc(t, func(e TrailEvent) bool { return e.Code == overflowCode })
}

// add takes e, an event of the session.
func (t *Trail) add(e *tracking.Event) {
	if c, ok := TrailCode(e.Type); ok {
		*t = append(*t, TrailEvent{Code: c, At: e.Timestamp.UnixMicro()})
	}
}

// Types returns the mask of the types the trail holds (TrailBit): every
// canonical type for an overflowed trail, which cannot tell.
func (t Trail) Types() int64 {
	var m int64
	if t.Overflowed() {
		for c := range len(trailTypes) {
			m |= 1 << (c + 1)
		}
		return m
	}
	for _, e := range t {
		m |= 1 << e.Code
	}
	return m
}

// Sort puts the trail in time order.
func (t Trail) Sort() {
	slices.SortStableFunc(t, func(a, b TrailEvent) int { return cmp.Compare(a.At, b.At) })
}

// Within returns the events of the sorted trail in [from, to) (zero
// bounds are unbounded), sharing t's array; an overflowed trail whole.
func (t Trail) Within(from, to time.Time) Trail {
	if t.Overflowed() {
		return t
	}
	lo, hi := 0, len(t)
	search := func(at time.Time) int {
		i, _ := slices.BinarySearchFunc(t, at.UnixMicro(), func(e TrailEvent, at int64) int { return cmp.Compare(e.At, at) })
		return i
	}
	if !from.IsZero() {
		lo = search(from)
	}
	if !to.IsZero() {
		hi = search(to)
	}
	if hi < lo {
		hi = lo
	}
	return t[lo:hi]
}

// Encode returns the stored form of the trail, sorted first: per event its
// code and the microseconds since the previous event (the first since the
// Unix epoch), as an unsigned varint. Code 0 is never an event: stored
// trails joined by a 0 byte are read back by DecodeTrail one by one. An
// overflowed trail is its mark alone, one byte.
func (t Trail) Encode() []byte {
	if t.Overflowed() {
		return []byte{overflowCode}
	}
	t.Sort()
	b := make([]byte, 0, 8+3*len(t))
	var prev int64
	for _, e := range t {
		b = append(b, e.Code)
		b = binary.AppendVarint(b, e.At-prev)
		prev = e.At
	}
	return b
}

// DecodeTrail reads a trail that Encode wrote from the start of b,
// appending its events to dst, up to the end of b or a 0 byte after
// which rest begins.
func DecodeTrail(dst Trail, b []byte) (t Trail, rest []byte, err error) {
	var at int64
	for len(b) > 0 {
		c := b[0]
		if c == 0 {
			return dst, b[1:], nil
		}
		if c == overflowCode {
			dst = append(dst, TrailEvent{Code: overflowCode, At: math.MinInt64})
			b = b[1:]
			continue
		}
		if int(c) > len(trailTypes) {
			return dst, nil, fmt.Errorf("trail: unknown type code %d", c)
		}
		d, n := binary.Varint(b[1:])
		if n <= 0 {
			return dst, nil, errors.New("trail: truncated")
		}
		at += d
		dst = append(dst, TrailEvent{Code: c, At: at})
		b = b[1+n:]
	}
	return dst, nil, nil
}

// FunnelReader is a store whose session rollups keep every session's
// trail (Session.Trail), so that an ordered funnel by session over
// canonical types reads one row per session instead of every event, and
// only the sessions that can get past step 1 in full.
//
// SessionTrails considers the sessions of f.ShopID with an event in
// [f.From, f.To) (zero bounds are unbounded). It returns how many of
// them lie wholly in the range, hold an event of type first and none of
// type second (they reach step 1 and no further); second is "" for a
// funnel of one step, and then that is every such session holding first.
// For each of the others that holds first, or that the range's bounds cut
// (it has events on both sides of From or of To), it calls yield with the
// session's trail inside the range, sorted (a session with no events of
// canonical types may be left out); yield must not keep it. first
// and second are canonical types (TrailCode). Bounds may be any instants
// (a trail is cut at them exactly); the other rules of DetailFilter apply
// (TrailFilter), and errors.ErrUnsupported is returned as they say.
type FunnelReader interface {
	SessionTrails(ctx context.Context, f Filter, first, second string, yield func(Trail) error) (firstOnly int64, err error)
}

// TrailQuery is a FunnelReader's query in stored terms: the bits of first
// and second (second 0 for "") or an error wrapping errors.ErrUnsupported
// for a custom type.
func TrailQuery(first, second string) (b1, b2 int64, err error) {
	b1 = TrailBit(first)
	if b1 == 0 {
		return 0, 0, fmt.Errorf("trail: custom type %q: %w", first, errors.ErrUnsupported)
	}
	if second != "" {
		if b2 = TrailBit(second); b2 == 0 {
			return 0, 0, fmt.Errorf("trail: custom type %q: %w", second, errors.ErrUnsupported)
		}
	}
	return b1, b2, nil
}

// TrailRequest checks a FunnelReader's query and filter as TrailQuery
// and TrailFilter do, in that order, and returns the bits of first and
// second.
func TrailRequest(f *Filter, first, second string) (b1, b2 int64, err error) {
	if b1, b2, err = TrailQuery(first, second); err != nil {
		return 0, 0, err
	}
	if err := TrailFilter(f); err != nil {
		return 0, 0, err
	}
	return b1, b2, nil
}

// TrailsPending is the error of a FunnelReader whose shop's trails wait
// for a rebuild (errors.ErrUnsupported: the events answer instead).
func TrailsPending(shopID string) error {
	return fmt.Errorf("shop %q needs a rebuild for its trails: %w", shopID, errors.ErrUnsupported)
}

// TrailFilter checks that a FunnelReader can answer f exactly: the rules
// of DetailFilter but for bounds, which need not be whole hours.
func TrailFilter(f *Filter) error {
	if err := f.Validate(); err != nil {
		return err
	}
	switch {
	case f.UserID != "" || f.AnonymousID != "" || f.SessionID != "":
		return fmt.Errorf("trail: user, anonymous or session filter: %w", errors.ErrUnsupported)
	case f.Limit != 0:
		return fmt.Errorf("trail: limit: %w", errors.ErrUnsupported)
	case len(f.Types) > 0:
		return fmt.Errorf("trail: types: %w", errors.ErrUnsupported)
	}
	return nil
}
