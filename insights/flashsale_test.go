package insights_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// flashTraffic is three days of datagen traffic; the flash sale starts at
// noon UTC of the second day.
func flashTraffic() (events []tracking.Event, burst time.Time) {
	o := datagen.Options{ShopID: shop, Start: datagen.DefaultStart, Days: 3, Visitors: 200, Seed: 22}
	return datagen.Generate(o), o.Start.Add(36 * time.Hour)
}

// builtinAtBurst stores flashTraffic in a memory store and returns it with
// an engine of the built-in rules over it and the engine's clock, set 5
// minutes into the flash sale.
func builtinAtBurst(t *testing.T) (store.Store, *fakeClock, *insights.Engine) {
	t.Helper()
	events, burst := flashTraffic()
	s := memStore()
	appendAll(t, s, events)
	clock := newClock(burst.Add(5 * time.Minute))
	eng, err := insights.NewEngine(s, insights.EngineOptions{Now: clock.now})
	require.NoError(t, err)
	return s, clock, eng
}

// withoutBurst drops the visits the flash sale brought (those landing on
// its campaign), leaving the rest of the traffic as it was.
func withoutBurst(events []tracking.Event) []tracking.Event {
	flash := map[string]bool{}
	for _, e := range events {
		if strings.Contains(e.URL, "utm_campaign=flash_sale") {
			flash[e.SessionID] = true
		}
	}
	var out []tracking.Event
	for _, e := range events {
		if !flash[e.SessionID] {
			out = append(out, e)
		}
	}
	return out
}

func TestFlashSaleFiresWithinOneSlideOfTheBurstAndNamesTheProduct(t *testing.T) {
	events, burst := flashTraffic()
	for sname, open := range ruleStores(t) {
		t.Run(sname, func(t *testing.T) {
			s := open(t)
			appendAll(t, s, events)
			rule, err := insights.FlashSale(insights.FlashSaleOptions{})
			require.NoError(t, err)
			clock := newClock(burst.Add(-2 * time.Hour))
			eng := newEngine(t, s, clock, rule)
			var first insights.Insight
			for clock.now().Before(burst.Add(time.Hour)) {
				res, err := eng.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				if len(res.Raised) > 0 {
					require.Len(t, res.Raised, 1)
					first = res.Raised[0]
					break
				}
				clock.add(5 * time.Minute)
			}
			require.NotEmpty(t, first.ID, "the flash sale raised nothing")
			require.False(t, first.CreatedAt.Before(burst), "fired before the burst: %v", first.CreatedAt)
			require.LessOrEqual(t, first.CreatedAt.Sub(burst), 5*time.Minute, "more than one slide after the burst")
			require.Equal(t, datagen.FlashProductID, first.Subject)
			require.Contains(t, first.Message, datagen.FlashProductID)
			require.Contains(t, first.Title, "Limited Edition Sneaker")

			e := decode[insights.DemandEvidence](t, first)
			require.Equal(t, burst.Add(5*time.Minute), e.Window.End)
			require.Equal(t, count(t, s, e.Window.Start, e.Window.End, isType(tracking.ProductViewed, datagen.FlashProductID)), e.Views)
			require.GreaterOrEqual(t, e.Views, int64(100))
			var purchases int64
			for _, x := range scan(t, s, e.Window.Start, e.Window.End) {
				if x.Type == tracking.PurchaseCompleted && strings.Contains(string(x.Properties), `"`+datagen.FlashProductID+`"`) {
					purchases++
				}
			}
			require.Equal(t, purchases, e.Purchases)
			require.LessOrEqual(t, e.Purchases, int64(5))

			// It resolves once the crowd has gone, and stays in the list.
			clock.set(burst.Add(30 * time.Minute))
			res, err := eng.Evaluate(ctx(t), shop, time.UTC)
			require.NoError(t, err)
			require.Len(t, res.Resolved, 1)
			all, err := eng.Insights(ctx(t), store.InsightFilter{ShopID: shop, IncludeResolved: true})
			require.NoError(t, err)
			require.Len(t, all, 1)
		})
	}
}

func TestFlashSaleIsSilentOnTheSameTrafficWithoutTheBurst(t *testing.T) {
	events, _ := flashTraffic()
	quiet := withoutBurst(events)
	require.Less(t, len(quiet), len(events))
	s := memStore()
	appendAll(t, s, quiet)
	rule, err := insights.FlashSale(insights.FlashSaleOptions{})
	require.NoError(t, err)
	clock := newClock(datagen.DefaultStart)
	eng := newEngine(t, s, clock, rule)
	for end := datagen.DefaultStart.Add(72 * time.Hour); clock.now().Before(end); clock.add(5 * time.Minute) {
		res, err := eng.Evaluate(ctx(t), shop, time.UTC)
		require.NoError(t, err)
		require.Empty(t, res.Raised, "at %v", clock.now())
	}
}

func TestBuiltinRulesOnDatagenTrafficRaiseExplainedInsights(t *testing.T) {
	_, _, eng := builtinAtBurst(t)
	res, err := eng.Evaluate(ctx(t), shop, time.UTC)
	require.NoError(t, err)
	require.NotEmpty(t, of("flash_sale", res.Raised))
	require.NotEmpty(t, of("sales_pulse", res.Raised))
	for _, in := range res.Raised {
		require.True(t, insights.ValidSeverity(in.Severity))
		require.NotEmpty(t, in.Title)
		require.Regexp(t, `[0-9]`, in.Message, "a message says its figures")
		require.True(t, strings.HasPrefix(string(in.Evidence), "{"))
	}
}
