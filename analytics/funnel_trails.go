package analytics

import (
	"context"
	"errors"
	"fmt"

	"github.com/shoplytics/shoplytics/store"
)

// funnelFromTrails answers a funnel by session from a store's session
// trails (store.FunnelReader), without reading the events of the range:
// the sessions that hold step 1's type and not step 2's, wholly inside
// the range, are counted by the store; the trail of every other session
// that may get further, or that a bound of the range cuts (cut at the
// bound, as the generic path sees it), goes through trailFunnel, the rule
// of funnelRun for one session. ok is false when the store cannot answer
// (no FunnelReader, errors.ErrUnsupported), by user (identify stitching
// joins sessions), or for a step of a custom type, which trails do not
// keep; the caller then reads the events.
func funnelFromTrails(ctx context.Context, s store.Store, q Query, o FunnelOptions) (r FunnelResult, ok bool, err error) {
	fr, can := s.(store.FunnelReader)
	if !can || o.By != BySession {
		return r, false, nil
	}
	f, known := newTrailFunnel(o)
	if !known {
		return r, false, nil
	}
	second := ""
	if len(o.Steps) > 1 {
		second = o.Steps[1]
	}
	tally := newFunnelTally(len(o.Steps))
	entered, err := fr.SessionTrails(ctx, q.filter(), o.Steps[0], second, func(t store.Trail) error {
		if t.Overflowed() {
			return fmt.Errorf("a session of more than %d events has no trail: %w", store.MaxTrailEvents, errors.ErrUnsupported)
		}
		if times := f.session(t); len(times) > 0 {
			tally.addMicros(times)
		}
		return ctx.Err()
	})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return r, false, nil
		}
		return r, false, errRollup(err)
	}
	tally.counts[0] += entered
	return tally.result(o), true, nil
}

// trailFunnel applies funnelRun's rule to one session's trail at a time,
// its attempts held in fixed arrays of microseconds, so that a session
// costs no allocation: for each step k, the attempt with the latest start
// that reached k (best[k]), and the counted attempt. See funnelRun for why
// that is enough and which attempt is counted.
type trailFunnel struct {
	n      int
	codes  [MaxFunnelSteps]uint8 // the steps' trail codes
	first  [256]int8             // first step of a code, -1 for none
	window int64                 // nanoseconds, 0 for none

	best    [MaxFunnelSteps][MaxFunnelSteps]int64
	has     [MaxFunnelSteps]bool
	counted [MaxFunnelSteps]int64
	reached int // steps of the counted attempt, 0 before a step-1 event

	events []trailStep // the session's events of the steps' types
}

type trailStep struct {
	step int8 // the first step of its type
	at   int64
}

// newTrailFunnel returns the funnel of o's steps; ok is false when a step
// is a custom type, which trails do not keep.
func newTrailFunnel(o FunnelOptions) (f *trailFunnel, ok bool) {
	f = &trailFunnel{n: len(o.Steps), window: int64(o.Window)}
	for i := range f.first {
		f.first[i] = -1
	}
	for k, st := range o.Steps {
		c, known := store.TrailCode(st)
		if !known {
			return nil, false
		}
		f.codes[k] = c
	}
	for k := f.n - 1; k >= 0; k-- {
		f.first[f.codes[k]] = int8(k)
	}
	return f, true
}

// session returns the step times of the session's counted attempt, nil
// when it never reached step 1; they are valid until the next call.
func (f *trailFunnel) session(t store.Trail) []int64 {
	f.events = f.events[:0]
	for _, e := range t {
		if k := f.first[e.Code]; k >= 0 {
			f.events = append(f.events, trailStep{k, e.At})
		}
	}
	// Events at one instant are taken in the order of their steps
	// (funnelRun.flush): an insertion sort, the trail being in time order.
	ev := f.events
	for i := 1; i < len(ev); i++ {
		for j := i; j > 0 && ev[j].at == ev[j-1].at && ev[j].step < ev[j-1].step; j-- {
			ev[j], ev[j-1] = ev[j-1], ev[j]
		}
	}
	f.has = [MaxFunnelSteps]bool{}
	f.reached = 0
	for _, e := range ev {
		f.apply(e.step, e.at)
	}
	return f.counted[:f.reached]
}

// apply is funnelRun.apply for an event of the type of step s.
func (f *trailFunnel) apply(s int8, at int64) {
	if f.reached == 0 && s != 0 {
		return // nothing starts before a step-1 event
	}
	code := f.codes[s]
	for k := f.n - 1; k >= 1; k-- {
		if f.codes[k] != code || !f.has[k-1] {
			continue
		}
		start := f.best[k-1][0]
		if f.window > 0 && (at-start)*1000 > f.window {
			continue
		}
		if f.has[k] && start <= f.best[k][0] {
			continue
		}
		copy(f.best[k][:k], f.best[k-1][:k])
		f.best[k][k] = at
		f.has[k] = true
		if f.reached < k+1 {
			copy(f.counted[:k+1], f.best[k][:k+1])
			f.reached = k + 1
		}
	}
	if s == 0 {
		f.best[0][0] = at
		f.has[0] = true
		if f.reached == 0 {
			f.counted[0] = at
			f.reached = 1
		}
	}
}
