package insights_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store"
)

// staticRule finds what it is told to.
type staticRule struct {
	name  string
	found []insights.Insight
	err   error
}

func (r *staticRule) Name() string        { return r.name }
func (r *staticRule) Description() string { return "a rule of the test" }
func (r *staticRule) Evaluate(ctx context.Context, env insights.Env) ([]insights.Insight, error) {
	out := make([]insights.Insight, len(r.found))
	for i, in := range r.found {
		in.WindowStart, in.WindowEnd = env.Now.Add(-time.Hour), env.Now
		out[i] = in
	}
	return out, r.err
}

func TestEngineRefusesBadRuleSets(t *testing.T) {
	for name, rules := range map[string][]insights.Rule{
		"listed twice": {&staticRule{name: "a"}, &staticRule{name: "a"}},
		"bad name":     {&staticRule{name: "Not Snake"}},
		"nil":          {nil},
	} {
		_, err := insights.NewEngine(memStore(), insights.EngineOptions{Rules: rules})
		require.Error(t, err, name)
	}
	_, err := insights.NewEngine(nil, insights.EngineOptions{})
	require.Error(t, err)
}

func TestEngineKeepsEvaluatingWhenOneRuleFails(t *testing.T) {
	clock := newClock(t0)
	bad := &staticRule{name: "bad", err: errors.New("boom")}
	good := &staticRule{name: "good", found: []insights.Insight{{Subject: "x", Severity: insights.Info, Title: "t", Message: "m 1"}}}
	eng := newEngine(t, memStore(), clock, bad, good)
	res, err := eng.Evaluate(ctx(t), shop, nil)
	require.ErrorContains(t, err, "rule bad: boom")
	require.Len(t, res.Raised, 1)
	require.Equal(t, "good", res.Raised[0].Rule)
	require.Equal(t, insights.InsightID("good", shop, "x", t0.Add(-time.Hour)), res.Raised[0].ID)

	// A failing rule's open insights are not resolved by its failure.
	good.err, good.found = errors.New("down"), nil
	clock.add(time.Hour)
	res, err = eng.Evaluate(ctx(t), shop, nil)
	require.Error(t, err)
	require.Empty(t, res.Resolved)
}

func TestEngineRefusesAnUnknownSeverity(t *testing.T) {
	r := &staticRule{name: "r", found: []insights.Insight{{Severity: "urgent"}}}
	_, err := newEngine(t, memStore(), newClock(t0), r).Evaluate(ctx(t), shop, nil)
	require.ErrorContains(t, err, "urgent")
}

func TestConcurrentEnginesOverOneStoreRaiseAFindingOnce(t *testing.T) {
	s := memStore()
	r := &staticRule{name: "r", found: []insights.Insight{{Subject: "p", Severity: insights.Warning, Title: "t", Message: "m"}}}
	var mu sync.Mutex
	var raised int
	var wg sync.WaitGroup
	for i := range 8 {
		// Engines a few milliseconds apart, as in several processes.
		eng := newEngine(t, s, newClock(t0.Add(time.Duration(i)*time.Millisecond)), r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := eng.Evaluate(context.Background(), shop, nil)
			if err == nil {
				mu.Lock()
				raised += len(res.Raised)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, raised)
	all, err := s.Insights(ctx(t), store.InsightFilter{ShopID: shop, IncludeResolved: true})
	require.NoError(t, err)
	require.Len(t, all, 1)
}

// noKeeper is a store whose insight keeping is unsupported, as a Redis
// store without a SQL sink answers.
type noKeeper struct{ store.Store }

func (noKeeper) RaiseInsight(context.Context, store.Insight, time.Time) (bool, error) {
	return false, errors.ErrUnsupported
}
func (noKeeper) ResolveInsight(context.Context, string, string, time.Time) error {
	return errors.ErrUnsupported
}
func (noKeeper) Insights(context.Context, store.InsightFilter) ([]store.Insight, error) {
	return nil, errors.ErrUnsupported
}

func TestEngineKeepsInsightsInMemoryWhenTheStoreCannot(t *testing.T) {
	r := &staticRule{name: "r", found: []insights.Insight{{Severity: insights.Info, Title: "t", Message: "m"}}}
	eng := newEngine(t, noKeeper{memStore()}, newClock(t0), r)
	res, err := eng.Evaluate(ctx(t), shop, nil)
	require.NoError(t, err)
	require.Len(t, res.Raised, 1)
	list, err := eng.Insights(ctx(t), store.InsightFilter{ShopID: shop})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.IsType(t, &store.MemoryInsights{}, eng.Keeper())
}
