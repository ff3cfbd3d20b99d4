package insights_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/pgstore"
)

// TestTwoEnginesOverOnePostgreSQLStoreRaiseEachInsightOnce runs two
// engines, each with its own connection pool as two app instances would
// have, over one schema, evaluating the same shop at the same moments
// (their clocks a millisecond apart, across the boundary of a slide) through the flash sale: every finding
// is stored once and raised by one of them.
func TestTwoEnginesOverOnePostgreSQLStoreRaiseEachInsightOnce(t *testing.T) {
	schema := pgtest.Schema(t)
	open := func() *pgstore.Store {
		s, err := pgstore.New(ctx(t), pgstore.Options{DSN: testenv.PostgresURL(t), Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	events, burst := flashTraffic()
	appendAll(t, a, events)

	var raised []insights.Insight
	for at := burst.Add(-10 * time.Minute); at.Before(burst.Add(40 * time.Minute)); at = at.Add(5 * time.Minute) {
		var wg sync.WaitGroup
		results := make([]insights.Result, 2)
		errs := make([]error, 2)
		for i, s := range []store.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// One on the slide's boundary, the other a millisecond
				// before it: their windows differ, and so do the ids of
				// what both find, so only the one-open-insight rule of the
				// store keeps a finding single.
				clock := newClock(at.Add(-time.Duration(i) * time.Millisecond))
				eng, err := insights.NewEngine(s, insights.EngineOptions{Now: clock.now})
				if err == nil {
					results[i], err = eng.Evaluate(ctx(t), shop, time.UTC)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i := range results {
			require.NoError(t, errs[i])
			raised = append(raised, results[i].Raised...)
		}
	}
	stored, err := a.Insights(ctx(t), store.InsightFilter{ShopID: shop, IncludeResolved: true})
	require.NoError(t, err)
	require.NotEmpty(t, of("flash_sale", stored))
	require.Len(t, raised, len(stored), "each stored insight was raised by exactly one engine")
	ids := map[string]bool{}
	for _, in := range raised {
		require.False(t, ids[in.ID], "raised twice: %s", in.ID)
		ids[in.ID] = true
	}
	for _, in := range stored {
		require.True(t, ids[in.ID])
	}
}

// TestManyEnginesRacingOverOnePostgreSQLStoreRaiseAFindingOnce races eight
// engines, each on its own pool, released at one instant, over a rule
// that finds the same subject in windows of their own (so the ids
// differ): round after round, exactly one raises it.
func TestManyEnginesRacingOverOnePostgreSQLStoreRaiseAFindingOnce(t *testing.T) {
	schema := pgtest.Schema(t)
	const engines, rounds = 8, 15
	var stores []*pgstore.Store
	for range engines {
		s, err := pgstore.New(ctx(t), pgstore.Options{DSN: testenv.PostgresURL(t), Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	for round := range rounds {
		subject := fmt.Sprintf("p%02d", round)
		r := &staticRule{name: "race", found: []insights.Insight{{Subject: subject, Severity: insights.Warning, Title: "t", Message: "m"}}}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		raised := 0
		errs := make([]error, engines)
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				eng, err := insights.NewEngine(s, insights.EngineOptions{Rules: []insights.Rule{r},
					Now: newClock(t0.Add(time.Duration(round)*24*time.Hour + time.Duration(i)*time.Millisecond)).now})
				if err == nil {
					// Warm this engine's pool, then race.
					_, err = eng.Insights(context.Background(), store.InsightFilter{ShopID: shop})
				}
				<-start
				if err == nil {
					var res insights.Result
					res, err = eng.Evaluate(context.Background(), shop, nil)
					mu.Lock()
					raised += len(res.Raised)
					mu.Unlock()
				}
				errs[i] = err
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, 1, raised, "round %d", round)
		stored, err := stores[0].Insights(ctx(t), store.InsightFilter{ShopID: shop, Subject: subject, IncludeResolved: true})
		require.NoError(t, err)
		require.Len(t, stored, 1)
	}
}
