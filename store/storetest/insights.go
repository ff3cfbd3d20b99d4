package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
)

// keeper returns the store's insight keeper, skipping the test when it has
// none or answers errors.ErrUnsupported (a Redis store without a sink that
// keeps them).
func keeper(t *testing.T, s store.Store) store.InsightKeeper {
	k, ok := s.(store.InsightKeeper)
	if !ok {
		t.Skip("the store does not implement store.InsightKeeper")
	}
	if _, err := k.Insights(ctx(t), store.InsightFilter{ShopID: "shop-probe"}); errors.Is(err, errors.ErrUnsupported) {
		t.Skip("the store keeps no insights: " + err.Error())
	}
	return k
}

var insightBase = time.Date(2026, 4, 1, 12, 0, 0, 123456000, time.UTC)

// insight returns an insight of shop raised at insightBase+offset.
func insight(shop, id, rule, subject string, offset time.Duration) store.Insight {
	at := insightBase.Add(offset)
	return store.Insight{ID: id, ShopID: shop, Rule: rule, Subject: subject, Severity: "warning",
		Title: "Title of " + id, Message: "12 views, 0 purchases — «ünïcode» too",
		Evidence:    json.RawMessage(`{"views":12,"purchases":0,"window":{"start":"2026-04-01T11:00:00Z"},"products":["p1","p2"]}`),
		WindowStart: at.Add(-time.Hour).Truncate(time.Minute), WindowEnd: at.Truncate(time.Minute), CreatedAt: at}
}

// requireSameInsights compares insights field by field, evidence as JSON.
func requireSameInsights(t *testing.T, want, got []store.Insight) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		require.JSONEq(t, string(w.Evidence), string(g.Evidence), w.ID)
		w.Evidence, g.Evidence = nil, nil
		for _, tm := range []*time.Time{&w.WindowStart, &w.WindowEnd, &w.CreatedAt, &w.ResolvedAt, &g.WindowStart, &g.WindowEnd, &g.CreatedAt, &g.ResolvedAt} {
			if !tm.IsZero() {
				*tm = tm.UTC()
			}
		}
		require.Equal(t, w, g)
	}
}

func raise(t *testing.T, k store.InsightKeeper, in store.Insight, quietSince time.Time) bool {
	t.Helper()
	ok, err := k.RaiseInsight(ctx(t), in, quietSince)
	require.NoError(t, err)
	return ok
}

func list(t *testing.T, k store.InsightKeeper, f store.InsightFilter) []store.Insight {
	t.Helper()
	out, err := k.Insights(ctx(t), f)
	require.NoError(t, err)
	return out
}

func testInsightKeeper(t *testing.T, s store.Store) {
	k := keeper(t, s)
	a := insight("shop-a", "i1", "flash_sale", "p1", 0)
	b := insight("shop-a", "i2", "sales_pulse", "", time.Minute)
	b.Severity, b.Evidence = "info", json.RawMessage(`{}`)
	c := insight("shop-a", "i3", "flash_sale", "p2", 2*time.Minute)
	c.Severity = "critical"
	other := insight("shop-b", "i1", "flash_sale", "p1", 0) // the same id in another shop
	for _, in := range []store.Insight{a, b, c, other} {
		require.True(t, raise(t, k, in, in.CreatedAt.Add(-time.Hour)), in.ID)
	}
	requireSameInsights(t, []store.Insight{c, b, a}, list(t, k, store.InsightFilter{ShopID: "shop-a"}))
	requireSameInsights(t, []store.Insight{other}, list(t, k, store.InsightFilter{ShopID: "shop-b"}))
	requireSameInsights(t, []store.Insight{c, a}, list(t, k, store.InsightFilter{ShopID: "shop-a", Rule: "flash_sale"}))
	requireSameInsights(t, []store.Insight{c}, list(t, k, store.InsightFilter{ShopID: "shop-a", Severity: "critical"}))
	requireSameInsights(t, []store.Insight{a}, list(t, k, store.InsightFilter{ShopID: "shop-a", Subject: "p1"}))
	requireSameInsights(t, []store.Insight{c, b}, list(t, k, store.InsightFilter{ShopID: "shop-a", Since: b.CreatedAt}))
	requireSameInsights(t, []store.Insight{a}, list(t, k, store.InsightFilter{ShopID: "shop-a", Until: b.CreatedAt}))
	requireSameInsights(t, []store.Insight{b}, list(t, k, store.InsightFilter{ShopID: "shop-a", Since: b.CreatedAt, Until: c.CreatedAt}))
	requireSameInsights(t, []store.Insight{c}, list(t, k, store.InsightFilter{ShopID: "shop-a", Limit: 1}))

	// Raised once: the same id, or another open one of the rule and subject.
	require.False(t, raise(t, k, a, time.Time{}))
	again := insight("shop-a", "i1-later", "flash_sale", "p1", time.Hour)
	require.False(t, raise(t, k, again, again.CreatedAt.Add(-time.Minute)), "an open insight of the subject holds")

	// Resolved: listed only with IncludeResolved, resolved once.
	resolvedAt := insightBase.Add(30 * time.Minute)
	require.NoError(t, k.ResolveInsight(ctx(t), "shop-a", "i1", resolvedAt))
	require.NoError(t, k.ResolveInsight(ctx(t), "shop-a", "i1", resolvedAt.Add(time.Hour)))
	require.NoError(t, k.ResolveInsight(ctx(t), "shop-a", "no-such-id", resolvedAt))
	requireSameInsights(t, []store.Insight{c, b}, list(t, k, store.InsightFilter{ShopID: "shop-a"}))
	a.ResolvedAt = resolvedAt
	requireSameInsights(t, []store.Insight{c, b, a}, list(t, k, store.InsightFilter{ShopID: "shop-a", IncludeResolved: true}))
	requireSameInsights(t, []store.Insight{other}, list(t, k, store.InsightFilter{ShopID: "shop-b"})) // another shop's insight is its own

	// The cooldown: a resolved insight created at or after quietSince
	// holds the subject back; one created before does not.
	require.False(t, raise(t, k, again, a.CreatedAt))
	require.True(t, raise(t, k, again, a.CreatedAt.Add(time.Microsecond)))
	requireSameInsights(t, []store.Insight{again}, list(t, k, store.InsightFilter{ShopID: "shop-a", Subject: "p1"}))

	_, err := k.Insights(ctx(t), store.InsightFilter{})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func testInsightKeeperConcurrentRaisers(t *testing.T, s store.Store) {
	k := keeper(t, s)
	const n, rounds = 16, 20
	race := func(round int, subject string) (raised int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Distinct ids (evaluators in different windows) of one
				// rule and subject: only one may hold it.
				in := insight("shop-c", fmt.Sprintf("c%02d-%02d-%s", round, i, subject), "flash_sale", subject, time.Duration(i)*time.Millisecond)
				<-start
				ok, err := k.RaiseInsight(ctx(t), in, in.CreatedAt.Add(-time.Hour))
				errs[i] = err
				if ok {
					mu.Lock()
					raised++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		return raised
	}
	// A first round on subjects of their own opens the connections a
	// pooled backend needs, so the rounds after race for real.
	for i := range n {
		require.Equal(t, 1, race(-1, fmt.Sprintf("warm%02d", i)))
	}
	for round := range rounds {
		subject := fmt.Sprintf("p%02d", round)
		require.Equal(t, 1, race(round, subject), "round %d", round)
		require.Len(t, list(t, k, store.InsightFilter{ShopID: "shop-c", Subject: subject, IncludeResolved: true}), 1)
	}
}

func testInsightsAcrossReopen(t *testing.T, s store.Store, reopen func(*testing.T, store.Store) store.Store) {
	k := keeper(t, s)
	a := insight("shop-r", "r1", "refund_spike", "", 0)
	require.True(t, raise(t, k, a, time.Time{}))
	require.NoError(t, k.ResolveInsight(ctx(t), "shop-r", "r1", insightBase.Add(time.Minute)))
	s = reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })
	k = keeper(t, s)
	a.ResolvedAt = insightBase.Add(time.Minute)
	requireSameInsights(t, []store.Insight{a}, list(t, k, store.InsightFilter{ShopID: "shop-r", IncludeResolved: true}))
	// The cooldown survives too.
	later := insight("shop-r", "r2", "refund_spike", "", time.Hour)
	require.False(t, raise(t, k, later, insightBase.Add(-time.Hour)))
}

// RunInsightKeeper runs only the store.InsightKeeper tests, for a store
// whose keeper lives elsewhere (a Redis store keeps insights in its sink).
// newStore must return a new store with no insights; the suite closes it.
func RunInsightKeeper(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	open := func(t *testing.T) store.Store {
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("InsightKeeper", func(t *testing.T) { testInsightKeeper(t, open(t)) })
	t.Run("InsightKeeperConcurrentRaisers", func(t *testing.T) { testInsightKeeperConcurrentRaisers(t, open(t)) })
	if cfg.reopen != nil {
		t.Run("InsightsAcrossReopen", func(t *testing.T) { testInsightsAcrossReopen(t, newStore(t), cfg.reopen) })
	}
}
