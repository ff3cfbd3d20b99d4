package analytics

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// funnelFromTrails answers a funnel by session from a store's session
// trails (store.FunnelReader), without reading the events of the range:
// the sessions that hold step 1's type and not step 2's, wholly inside
// the range, are counted by the store; the trail of every other session
// that may get further, or that a bound of the range cuts (cut at the
// bound, as the generic path sees it), goes through the same funnelRun as
// the events would, one session at a time. ok is false when the store
// cannot answer (no FunnelReader, errors.ErrUnsupported), by user (identify
// stitching joins sessions), or for a step of a custom type, which trails
// do not keep; the caller then reads the events.
func funnelFromTrails(ctx context.Context, s store.Store, q Query, o FunnelOptions) (r FunnelResult, ok bool, err error) {
	fr, can := s.(store.FunnelReader)
	if !can || o.By != BySession {
		return r, false, nil
	}
	codes := make([]uint8, len(o.Steps))
	for i, st := range o.Steps {
		c, known := store.TrailCode(st)
		if !known {
			return r, false, nil
		}
		codes[i] = c
	}
	// firstStep[code] is the first step of that type, -1 for none.
	var firstStep [256]int
	for i := range firstStep {
		firstStep[i] = -1
	}
	for i := len(codes) - 1; i >= 0; i-- {
		firstStep[codes[i]] = i
	}
	second := ""
	if len(o.Steps) > 1 {
		second = o.Steps[1]
	}
	run := newFunnelRun[int](o.Steps, o.Window)
	var attempts [][]time.Time
	entered, err := fr.SessionTrails(ctx, q.filter(), o.Steps[0], second, func(t store.Trail) error {
		for _, e := range t {
			if k := firstStep[e.Code]; k >= 0 {
				run.addAt(0, k, o.Steps[k], e.At)
			}
		}
		run.flush()
		if st := run.state[0]; st != nil {
			attempts = append(attempts, slices.Clip(st.counted))
			clear(run.state)
		}
		return ctx.Err()
	})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return r, false, nil
		}
		return r, false, errRollup(err)
	}
	return funnelSteps(o, attempts, entered), true, nil
}
