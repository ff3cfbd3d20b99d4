package analytics

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// MaxFunnelSteps is the longest funnel that may be asked for.
const MaxFunnelSteps = 10

// FunnelOptions configure Funnel. Steps are required; the rest defaults to
// sessions without a window.
type FunnelOptions struct {
	// Steps are event types, in order (aliases such as "purchase" are
	// taken); 1 to MaxFunnelSteps of them, a type may repeat.
	Steps []string
	// By counts sessions or users (default BySession).
	By Entity
	// Window is how long after its step-1 event a session or user may
	// complete the steps; 0 means no window. A step exactly Window after
	// step 1 is within it.
	Window time.Duration
}

// FunnelStep is one step's figures.
type FunnelStep struct {
	EventName string `json:"event_name"`
	// Count is the sessions or users that reached this step.
	Count int64 `json:"count"`
	// ConversionFromPrevious and ConversionFromStart are percentages with
	// two decimals; step 1 has 100 for both (0 when nobody entered).
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
	ConversionFromStart    float64 `json:"conversion_from_start"`
	// MedianSecondsFromPrevious is the median time from the previous step
	// of those that reached this one, in seconds rounded half-up to two
	// decimals (the mean of the middle two for an even number); nil for
	// step 1 and for a step nobody reached.
	MedianSecondsFromPrevious *float64 `json:"median_seconds_from_previous"`
}

// FunnelResult is a funnel's steps.
type FunnelResult struct {
	By     Entity        `json:"by"`
	Window time.Duration `json:"-"`
	Steps  []FunnelStep  `json:"steps"`
}

// Funnel counts the sessions or users that went through the steps in
// order. See the package documentation for the exact rule; in short, a
// session or user reaches step k when it has events of steps 1..k in
// stream order (timestamp, then id), each later than the previous, all
// within Window of the step-1 event, other events allowed in between.
// Several step-1 events are several attempts; the one counted is the one
// that gets furthest.
//
// By session, a store that keeps session trails (store.FunnelReader)
// answers from them when every step is a canonical type: a row per
// session of the range, and only the sessions that can get past step 1
// in full, at any bounds; otherwise it reads the range once. By user it
// reads it twice, first to learn who every anonymous id is, then the
// steps' events alone.
func Funnel(ctx context.Context, s store.Store, q Query, o FunnelOptions) (FunnelResult, error) {
	r, err := funnel(ctx, s, q, o)
	if err != nil {
		return FunnelResult{}, fmt.Errorf("analytics: funnel: %w", err)
	}
	return r, nil
}

func (o *FunnelOptions) check() error {
	if len(o.Steps) == 0 || len(o.Steps) > MaxFunnelSteps {
		return optionError("steps", "must name 1 to %d event types", MaxFunnelSteps)
	}
	steps := make([]string, len(o.Steps))
	for i, st := range o.Steps {
		c, err := checkType("steps", st)
		if err != nil {
			return err
		}
		steps[i] = c
	}
	o.Steps = steps
	var err error
	if o.By, err = o.By.orDefault(BySession); err != nil {
		return err
	}
	if o.Window < 0 {
		return optionError("window", "must not be negative")
	}
	return nil
}

func funnel(ctx context.Context, s store.Store, q Query, o FunnelOptions) (FunnelResult, error) {
	if err := o.check(); err != nil {
		return FunnelResult{}, err
	}
	var reached [][]time.Time // per entity, the times of the counted attempt
	if r, ok, err := funnelFromTrails(ctx, s, q, o); err != nil || ok {
		return r, err
	}
	if o.By == BySession {
		// Sessions need every event (the 30-minute rule), so no type filter.
		z := newSessionizer()
		run := newFunnelRun[int](o.Steps, o.Window)
		for e, err := range s.Events(ctx, q.filter()) {
			if err != nil {
				return FunnelResult{}, err
			}
			run.add(z.add(&e), &e)
		}
		reached = run.attempts()
	} else {
		ids, err := learnIdentities(ctx, s, q)
		if err != nil {
			return FunnelResult{}, err
		}
		f := q.filter()
		f.Types = unique(o.Steps)
		run := newFunnelRun[person](o.Steps, o.Window)
		for e, err := range s.Events(ctx, f) {
			if err != nil {
				return FunnelResult{}, err
			}
			if p, ok := rawPerson(&e); ok {
				run.add(ids.resolve(p), &e)
			}
		}
		reached = run.attempts()
	}
	return funnelResult(o, reached), nil
}

// funnelResult turns the counted attempts of every entity into steps.
func funnelResult(o FunnelOptions, attempts [][]time.Time) FunnelResult {
	t := newFunnelTally(len(o.Steps))
	for _, times := range attempts {
		t.addTimes(times)
	}
	return t.result(o)
}

// funnelTally gathers the counted attempts of entities: per step, how
// many reached it and their times from the previous step.
type funnelTally struct {
	counts []int64
	gaps   [][]int64 // microseconds from the previous step
}

func newFunnelTally(n int) *funnelTally {
	return &funnelTally{counts: make([]int64, n), gaps: make([][]int64, n)}
}

func (t *funnelTally) addTimes(times []time.Time) {
	for k := range times {
		t.counts[k]++
		if k > 0 {
			t.gaps[k] = append(t.gaps[k], times[k].Sub(times[k-1]).Microseconds())
		}
	}
}

// addMicros is addTimes for times in microseconds since the epoch.
func (t *funnelTally) addMicros(times []int64) {
	for k := range times {
		t.counts[k]++
		if k > 0 {
			t.gaps[k] = append(t.gaps[k], times[k]-times[k-1])
		}
	}
}

func (t *funnelTally) result(o FunnelOptions) FunnelResult {
	n := len(o.Steps)
	counts, gaps := t.counts, t.gaps
	r := FunnelResult{By: o.By, Window: o.Window, Steps: make([]FunnelStep, n)}
	for k := range n {
		st := FunnelStep{EventName: o.Steps[k], Count: counts[k]}
		if k == 0 {
			if counts[0] > 0 {
				st.ConversionFromPrevious, st.ConversionFromStart = 100, 100
			}
		} else {
			st.ConversionFromPrevious = percent(counts[k], counts[k-1])
			st.ConversionFromStart = percent(counts[k], counts[0])
			if g := gaps[k]; len(g) > 0 {
				slices.Sort(g)
				var m float64
				if len(g)%2 == 1 {
					m = seconds(g[len(g)/2])
				} else {
					m = float64(divRound(g[len(g)/2-1]+g[len(g)/2], 20000)) / 100
				}
				st.MedianSecondsFromPrevious = &m
			}
		}
		r.Steps[k] = st
	}
	return r
}

func unique(types []string) []string {
	out := slices.Clone(types)
	slices.Sort(out)
	return slices.Compact(out)
}

// funnelRun follows the attempts of every entity through a stream of its
// events. Per entity it keeps, for each step k, the attempt with the
// latest start among those that reached k (best[k]): a later start leaves
// more of the window, so for what can still happen it is as good as any
// other at k. That is at most one attempt per step, whatever the number of
// step-1 events. Each attempt takes, for each next step, the first event of
// that step after its previous one: no other choice gets further.
//
// Events at one instant are taken in the order of the steps they are,
// not in the stream's (timestamp, then id): a step "at or after the
// previous" may share its instant, whatever the ids.
type funnelRun[K comparable] struct {
	steps  []string
	window time.Duration
	state  map[K]*funnelState
	// instant holds the stream's events at its latest timestamp, which
	// later events may still share.
	instant []funnelEvent[K]
}

type funnelEvent[K comparable] struct {
	key  K
	step int // the first step of its type
	typ  string
	at   time.Time
}

type funnelState struct {
	best [][]time.Time // best[k]: times of steps 0..k, nil when none reached k
	// counted is the first attempt to reach the furthest step reached so
	// far; of attempts reaching it with the same event, the latest start.
	counted []time.Time
}

func newFunnelRun[K comparable](steps []string, window time.Duration) *funnelRun[K] {
	return &funnelRun[K]{steps: steps, window: window, state: map[K]*funnelState{}}
}

// add takes the next event of the stream, for the entity key.
func (r *funnelRun[K]) add(key K, e *tracking.Event) {
	step := slices.Index(r.steps, e.Type)
	if step < 0 {
		return
	}
	r.addAt(key, step, e.Type, e.Timestamp)
}

// addAt takes the next event of the stream, of type typ, the first step
// of that type.
func (r *funnelRun[K]) addAt(key K, step int, typ string, at time.Time) {
	if len(r.instant) > 0 && !at.Equal(r.instant[0].at) {
		r.flush()
	}
	r.instant = append(r.instant, funnelEvent[K]{key: key, step: step, typ: typ, at: at})
}

// flush applies the events of one instant, earlier steps first.
func (r *funnelRun[K]) flush() {
	slices.SortStableFunc(r.instant, func(a, b funnelEvent[K]) int { return a.step - b.step })
	for _, e := range r.instant {
		r.apply(e.key, e.typ, e.at)
	}
	r.instant = r.instant[:0]
}

func (r *funnelRun[K]) apply(key K, typ string, at time.Time) {
	st := r.state[key]
	if st == nil {
		if typ != r.steps[0] {
			return // nothing starts before a step-1 event
		}
		st = &funnelState{best: make([][]time.Time, len(r.steps))}
		r.state[key] = st
	}
	// From the last step down, so that one event moves an attempt one
	// step at most, and may still start a new attempt.
	for k := len(r.steps) - 1; k >= 1; k-- {
		prev := st.best[k-1]
		if r.steps[k] != typ || prev == nil {
			continue
		}
		if r.window > 0 && at.Sub(prev[0]) > r.window {
			continue
		}
		if cur := st.best[k]; cur != nil && !prev[0].After(cur[0]) {
			continue
		}
		next := append(slices.Clip(prev), at)
		st.best[k] = next
		if len(st.counted) < k+1 {
			st.counted = next
		}
	}
	if typ == r.steps[0] {
		st.best[0] = []time.Time{at}
		if st.counted == nil {
			st.counted = st.best[0]
		}
	}
}

// attempts returns the counted attempt of every entity that entered.
func (r *funnelRun[K]) attempts() [][]time.Time {
	r.flush()
	out := make([][]time.Time, 0, len(r.state))
	for _, st := range r.state {
		out = append(out, st.counted)
	}
	return out
}
