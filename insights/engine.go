package insights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// DefaultCooldown is EngineOptions.Cooldown's default.
const DefaultCooldown = time.Hour

// EngineOptions configure an Engine. The zero value evaluates the built-in
// rules (Builtin) with their default options, keeps insights in the store
// when it is an insight keeper (else in the memory of the process), with a
// cooldown of DefaultCooldown, on the system clock.
type EngineOptions struct {
	// Rules are evaluated in order (default Builtin()). Names must be
	// unique.
	Rules []Rule
	// Keeper keeps the insights and their cooldowns (default: the store,
	// when it implements store.InsightKeeper and does not answer
	// errors.ErrUnsupported; else a store.MemoryInsights of the engine).
	Keeper store.InsightKeeper
	// Cooldown is how long after raising an insight about a subject a rule
	// raises no other about it, for rules that do not say (Cooldowner);
	// default DefaultCooldown.
	Cooldown time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives what the engine cannot return: the switch to memory
	// when the store keeps no insights (default slog.Default()).
	Logger *slog.Logger
}

// Engine evaluates a set of rules for a shop and keeps what they find:
// it raises new findings, not again while they hold or within a cooldown,
// and resolves those that stopped holding (resolved, never deleted). It is
// safe for concurrent use; engines in several processes sharing a store
// that keeps insights raise each finding once.
type Engine struct {
	st       store.Store
	rules    []Rule
	keeper   store.InsightKeeper
	fallback *store.MemoryInsights // used when keeper answers ErrUnsupported
	inMemory atomic.Bool
	cooldown time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// NewEngine returns an engine over the events of s.
func NewEngine(s store.Store, o EngineOptions) (*Engine, error) {
	if s == nil {
		return nil, errors.New("insights: engine: a store is required")
	}
	if o.Cooldown < 0 {
		return nil, errors.New("insights: engine: Cooldown must not be negative")
	}
	e := &Engine{st: s, rules: o.Rules, keeper: o.Keeper, fallback: &store.MemoryInsights{}, cooldown: o.Cooldown,
		now: o.Now, log: o.Logger}
	if e.rules == nil {
		e.rules = Builtin()
	}
	seen := map[string]bool{}
	for i, r := range e.rules {
		if r == nil {
			return nil, fmt.Errorf("insights: engine: Rules[%d] is nil", i)
		}
		if err := checkName(r.Name()); err != nil {
			return nil, fmt.Errorf("insights: engine: Rules[%d]: %w", i, err)
		}
		if seen[r.Name()] {
			return nil, fmt.Errorf("insights: engine: Rules[%d]: rule %q is listed twice", i, r.Name())
		}
		seen[r.Name()] = true
	}
	if e.keeper == nil {
		if k, ok := s.(store.InsightKeeper); ok {
			e.keeper = k
		} else {
			e.keeper = e.fallback
			e.inMemory.Store(true)
		}
	}
	if e.cooldown == 0 {
		e.cooldown = DefaultCooldown
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	return e, nil
}

// Rules returns the engine's rules.
func (e *Engine) Rules() []Rule { return slices.Clone(e.rules) }

// Store returns the store the engine reads.
func (e *Engine) Store() store.Store { return e.st }

// Keeper returns where the engine keeps insights: the store's keeper, or
// the engine's memory when the store keeps none.
func (e *Engine) Keeper() store.InsightKeeper {
	if e.inMemory.Load() {
		return e.fallback
	}
	return e.keeper
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.now() }

// keep runs op against the keeper, switching to memory for good when the
// store answers that it keeps no insights (a Redis store without a SQL
// sink).
func (e *Engine) keep(op func(k store.InsightKeeper) error) error {
	if e.inMemory.Load() {
		return op(e.fallback)
	}
	err := op(e.keeper)
	if errors.Is(err, errors.ErrUnsupported) {
		if !e.inMemory.Swap(true) {
			e.log.Warn("insights: the store keeps no insights; they are kept in memory and lost on restart", "error", err)
		}
		return op(e.fallback)
	}
	return err
}

// Insights lists kept insights, newest first.
func (e *Engine) Insights(ctx context.Context, f store.InsightFilter) ([]Insight, error) {
	var out []Insight
	err := e.keep(func(k store.InsightKeeper) (err error) {
		out, err = k.Insights(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("insights: list: %w", err)
	}
	return out, nil
}

// Result is what one evaluation did.
type Result struct {
	// Raised are the insights this evaluation created, Resolved those it
	// marked resolved.
	Raised, Resolved []Insight
}

// Evaluate runs every rule for the shop at the engine's clock's time, in
// the shop's zone loc (nil is UTC).
func (e *Engine) Evaluate(ctx context.Context, shopID string, loc *time.Location) (Result, error) {
	return e.EvaluateAt(ctx, shopID, loc, e.now())
}

// EvaluateAt runs every rule for the shop at now. A rule that fails does
// not stop the others; its error is returned, joined with theirs, and its
// open insights are left as they are.
func (e *Engine) EvaluateAt(ctx context.Context, shopID string, loc *time.Location, now time.Time) (Result, error) {
	if shopID == "" {
		return Result{}, errors.New("insights: evaluate: a shop id is required")
	}
	if loc == nil {
		loc = time.UTC
	}
	now = now.UTC().Truncate(time.Microsecond)
	env := Env{Store: e.st, ShopID: shopID, Now: now, Location: loc}
	var res Result
	var errs []error
	for _, r := range e.rules {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("insights: evaluate: %w", err)
		}
		if err := e.evaluateRule(ctx, r, env, &res); err != nil {
			errs = append(errs, &RuleError{Rule: r.Name(), Err: err})
		}
	}
	return res, errors.Join(errs...)
}

func (e *Engine) evaluateRule(ctx context.Context, r Rule, env Env, res *Result) error {
	found, err := r.Evaluate(ctx, env)
	if err != nil {
		return err
	}
	cooldown := e.cooldown
	if c, ok := r.(Cooldowner); ok && c.Cooldown() > 0 {
		cooldown = c.Cooldown()
	}
	holding := map[string]bool{}
	for _, in := range found {
		if holding[in.Subject] {
			continue // one finding per subject and evaluation
		}
		holding[in.Subject] = true
		in.ShopID, in.Rule, in.CreatedAt = env.ShopID, r.Name(), env.Now
		if in.ID == "" {
			in.ID = InsightID(in.Rule, in.ShopID, in.Subject, in.WindowStart)
		}
		if !ValidSeverity(in.Severity) {
			return fmt.Errorf("severity %q of subject %q is not info, warning or critical", in.Severity, in.Subject)
		}
		in.ResolvedAt = time.Time{}
		var raised bool
		if err := e.keep(func(k store.InsightKeeper) (err error) {
			raised, err = k.RaiseInsight(ctx, in, env.Now.Add(-cooldown))
			return err
		}); err != nil {
			return fmt.Errorf("raise: %w", err)
		}
		if raised {
			res.Raised = append(res.Raised, in)
		}
	}
	var open []Insight
	if err := e.keep(func(k store.InsightKeeper) (err error) {
		open, err = k.Insights(ctx, store.InsightFilter{ShopID: env.ShopID, Rule: r.Name()})
		return err
	}); err != nil {
		return fmt.Errorf("open insights: %w", err)
	}
	for _, in := range open {
		if holding[in.Subject] || in.CreatedAt.After(env.Now) {
			continue
		}
		if err := e.keep(func(k store.InsightKeeper) error { return k.ResolveInsight(ctx, env.ShopID, in.ID, env.Now) }); err != nil {
			return fmt.Errorf("resolve: %w", err)
		}
		in.ResolvedAt = env.Now
		res.Resolved = append(res.Resolved, in)
	}
	return nil
}

// RuleError is the failure of one rule in an evaluation; Evaluate joins
// them (errors.Join), and FailedRules lists their rules.
type RuleError struct {
	Rule string
	Err  error
}

func (e *RuleError) Error() string { return "insights: rule " + e.Rule + ": " + e.Err.Error() }
func (e *RuleError) Unwrap() error { return e.Err }

// FailedRules returns the names of the rules an evaluation's error says
// failed, in order.
func FailedRules(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if re, ok := err.(*RuleError); ok {
			out = append(out, re.Rule)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// CheckName holds a rule name to lowercase snake_case of 1 to 64
// characters, as event types are.
func CheckName(n string) error { return checkName(n) }

// checkName holds a rule name to lowercase snake_case of 1 to 64
// characters, as event types are.
func checkName(n string) error {
	if n == "" || len(n) > 64 {
		return fmt.Errorf("rule name %q must have 1 to 64 characters", n)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("rule name %q may hold only a-z, 0-9 and _", n)
		}
	}
	return nil
}
