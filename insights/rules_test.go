package insights_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

// ruleCase is one rule's lifecycle over crafted events: fixture(at, true)
// makes it hold at at, fixture(at, false) is the same one short of the
// minimum sample. The evaluation at resolveAt sees none of it, coolAt is
// within the cooldown of the first raise and againAt past it.
type ruleCase struct {
	name    string
	rule    func() (insights.Rule, error)
	at      time.Time
	fixture func(at time.Time, enough bool) []tracking.Event
	subject string
	// check holds the evidence to figures computed here from the raw
	// events of s.
	check                      func(t *testing.T, s store.Store, in insights.Insight)
	resolveAt, coolAt, againAt time.Time
}

// count counts the events of [from, to) that keep says.
func count(t *testing.T, s store.Store, from, to time.Time, keep func(e *tracking.Event) bool) int64 {
	var n int64
	for _, e := range scan(t, s, from, to) {
		if keep(&e) {
			n++
		}
	}
	return n
}

// orders counts the purchase_completed events in currency of w and totals
// their revenue.
func orders(t *testing.T, s store.Store, w insights.Window, currency string) (int64, tracking.Money) {
	var n, total int64
	for _, x := range scan(t, s, w.Start, w.End) {
		if x.Type == tracking.PurchaseCompleted && x.Currency == currency {
			n++
			total += x.Revenue.Minor
		}
	}
	return n, tracking.Money{Minor: total, Currency: currency}
}

func isType(typ, productID string) func(e *tracking.Event) bool {
	return func(e *tracking.Event) bool { return e.Type == typ && (productID == "" || e.ProductID == productID) }
}

// crowd is n events of typ on a product in [at-span, at), each of its own visitor.
func crowd(n int, typ string, at time.Time, span time.Duration, mods ...func(*tracking.Event)) []tracking.Event {
	out := make([]tracking.Event, n)
	for i := range out {
		out[i] = ev(typ, at.Add(-span+time.Duration(i)*span/time.Duration(n+1)), mods...)
	}
	return out
}

func cut(enough bool, n int) int {
	if enough {
		return n
	}
	return n - 1
}

func ruleCases() []ruleCase {
	h := time.Hour
	return []ruleCase{{
		name: "high_interest_no_purchase",
		rule: func() (insights.Rule, error) {
			return insights.HighInterest(insights.HighInterestOptions{Cooldown: 72 * h})
		},
		at: t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			evs := crowd(cut(enough, 50), tracking.ProductViewed, at, 2*h, product("p1", "Blue Mug"))
			evs = append(evs, crowd(3, tracking.AddToCart, at, h, product("p1", "Blue Mug"))...)
			return append(evs, ev(tracking.PurchaseCompleted, at.Add(-time.Minute), product("p2", "Red Mug"), paid("9.00", "USD")))
		},
		subject: "p1",
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.DemandEvidence](t, in)
			from, to := e.Window.Start, e.Window.End
			require.Equal(t, 24*time.Hour, to.Sub(from))
			require.Equal(t, count(t, s, from, to, isType(tracking.ProductViewed, "p1")), e.Views)
			require.Equal(t, count(t, s, from, to, isType(tracking.AddToCart, "p1")), e.Adds)
			require.Equal(t, count(t, s, from, to, isType(tracking.PurchaseCompleted, "p1")), e.Purchases)
			require.Equal(t, "Blue Mug", e.ProductName)
			require.Equal(t, int64(50), e.MinViews)
			require.Contains(t, in.Message, fmt.Sprintf("viewed %d times", e.Views))
		},
		resolveAt: t0.Add(25 * h), coolAt: t0.Add(30 * h), againAt: t0.Add(100 * h),
	}, {
		name: "flash_sale",
		rule: func() (insights.Rule, error) { return insights.FlashSale(insights.FlashSaleOptions{}) },
		at:   t0.Add(5 * time.Minute),
		fixture: func(at time.Time, enough bool) []tracking.Event {
			evs := crowd(cut(enough, 100), tracking.ProductViewed, at, 5*time.Minute, product("p-flash", "Sneaker"))
			return append(evs, crowd(2, tracking.PurchaseCompleted, at, time.Minute, product("p-flash", "Sneaker"), paid("49.99", "USD"))...)
		},
		subject: "p-flash",
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.DemandEvidence](t, in)
			require.Equal(t, 10*time.Minute, e.Window.End.Sub(e.Window.Start))
			require.Equal(t, count(t, s, e.Window.Start, e.Window.End, isType(tracking.ProductViewed, "p-flash")), e.Views)
			require.Equal(t, count(t, s, e.Window.Start, e.Window.End, isType(tracking.PurchaseCompleted, "p-flash")), e.Purchases)
			require.Equal(t, insights.Critical, in.Severity)
			require.Equal(t, []int64{100, 5}, []int64{e.MinViews, e.MaxPurchases})
			require.Contains(t, in.Message, `"Sneaker" (p-flash)`)
		},
		resolveAt: t0.Add(20 * time.Minute), coolAt: t0.Add(35 * time.Minute), againAt: t0.Add(2 * h),
	}, {
		name: "cart_conversion",
		rule: func() (insights.Rule, error) {
			return insights.CartConversion(insights.CartConversionOptions{Cooldown: 72 * h})
		},
		at: t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			evs := crowd(cut(enough, 20), tracking.AddToCart, at, 3*h, product("p3", "Lamp"))
			return append(evs, ev(tracking.PurchaseCompleted, at.Add(-h), product("p3", "Lamp"), paid("30.00", "USD")))
		},
		subject: "p3",
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.CartConversionEvidence](t, in)
			adds := count(t, s, e.Window.Start, e.Window.End, isType(tracking.AddToCart, "p3"))
			buys := count(t, s, e.Window.Start, e.Window.End, isType(tracking.PurchaseCompleted, "p3"))
			require.Equal(t, []int64{adds, buys}, []int64{e.Adds, e.Purchases})
			require.Equal(t, float64(buys*100)/float64(adds), e.ConversionRate)
		},
		resolveAt: t0.Add(25 * h), coolAt: t0.Add(30 * h), againAt: t0.Add(100 * h),
	}, {
		name: "cart_abandonment",
		rule: func() (insights.Rule, error) {
			return insights.CartAbandonment(insights.CartAbandonmentOptions{Cooldown: 72 * h})
		},
		at: t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			var evs []tracking.Event
			for i := range cut(enough, 20) {
				sid := fmt.Sprintf("s-%d-%d", at.Unix(), i)
				p := product("p4", "Chair")
				if i%3 == 0 {
					p = product("p5", "Table")
				}
				evs = append(evs, ev(tracking.AddToCart, at.Add(-2*h+time.Duration(i)*time.Minute), session(sid), p))
				if i < 2 {
					evs = append(evs, ev(tracking.PurchaseCompleted, at.Add(-h+time.Duration(i)*time.Minute), session(sid), paid("10.00", "EUR")))
				}
			}
			return evs
		},
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.AbandonmentEvidence](t, in)
			carts, bought, products := map[string]bool{}, map[string]bool{}, map[string]map[string]bool{}
			for _, x := range scan(t, s, e.Window.Start, e.Window.End) {
				switch x.Type {
				case tracking.AddToCart:
					carts[x.SessionID] = true
					if products[x.ProductID] == nil {
						products[x.ProductID] = map[string]bool{}
					}
					products[x.ProductID][x.SessionID] = true
				case tracking.PurchaseCompleted:
					bought[x.SessionID] = true
				}
			}
			var abandoned int64
			for sid := range carts {
				if !bought[sid] {
					abandoned++
				}
			}
			require.Equal(t, []int64{int64(len(carts)), abandoned}, []int64{e.CartSessions, e.Abandoned})
			require.Equal(t, "p4", e.Products[0].ProductID)
			for _, p := range e.Products {
				var n int64
				for sid := range products[p.ProductID] {
					if !bought[sid] {
						n++
					}
				}
				require.Equal(t, n, p.Sessions, p.ProductID)
			}
			require.Contains(t, in.Message, fmt.Sprintf("%d of %d sessions", abandoned, len(carts)))
		},
		resolveAt: t0.Add(25 * h), coolAt: t0.Add(30 * h), againAt: t0.Add(100 * h),
	}, {
		name: "sales_pulse",
		rule: func() (insights.Rule, error) {
			return insights.SalesPulse(insights.SalesPulseOptions{MinOrders: 3, Cooldown: 3 * h})
		},
		at: t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			var evs []tracking.Event
			for i := range cut(enough, 3) {
				evs = append(evs, ev(tracking.PurchaseCompleted, at.Add(-time.Duration(i+1)*7*time.Minute), paid([]string{"10.00", "0.10", "25.05"}[i], "EUR")))
			}
			return append(evs, ev(tracking.PurchaseCompleted, at.Add(-time.Minute), paid("500", "JPY")))
		},
		subject: "EUR",
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.SalesPulseEvidence](t, in)
			n, total := orders(t, s, e.Window, "EUR")
			require.Equal(t, n, e.Orders)
			require.Equal(t, total.String(), e.Total)
			require.Equal(t, "35.15", e.Total)
			require.Equal(t, "11.72", e.Average)
		},
		resolveAt: t0.Add(65 * time.Minute), coolAt: t0.Add(2 * h), againAt: t0.Add(4 * h),
	}, {
		name: "revenue_drop",
		rule: func() (insights.Rule, error) { return insights.RevenueDrop(insights.DropOptions{}) },
		at:   t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			y, m, d := at.Date()
			var evs []tracking.Event
			for k := 1; k <= 4; k++ {
				day := time.Date(y, m, d-7*k, 1, 0, 0, 0, time.UTC)
				n := 5
				if k == 4 {
					n = cut(enough, 5)
				}
				for i := range n {
					evs = append(evs, ev(tracking.PurchaseCompleted, day.Add(time.Duration(i)*10*time.Minute), paid("20.00", "EUR")))
				}
			}
			return append(evs, ev(tracking.PurchaseCompleted, time.Date(y, m, d, 2, 0, 0, 0, time.UTC), paid("20.00", "EUR")))
		},
		subject: "EUR",
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.DropEvidence](t, in)
			n, total := orders(t, s, e.Today.Window, "EUR")
			require.Equal(t, []any{n, total.String()}, []any{e.Today.Orders, e.Today.Total})
			require.Len(t, e.Baseline, 4)
			for i, b := range e.Baseline {
				require.Equal(t, e.Today.Window.Start.AddDate(0, 0, -7*(i+1)), b.Window.Start)
				n, total := orders(t, s, b.Window, "EUR")
				require.Equal(t, []any{n, total.String()}, []any{b.Orders, b.Total})
			}
			require.Equal(t, "100.00", e.BaselineMean)
			require.Equal(t, 80.0, e.DropPercent)
		},
		resolveAt: t0.Add(22 * h), coolAt: t0.Add(23 * h), againAt: t0.Add(49 * h),
	}, {
		name: "conversion_drop",
		rule: func() (insights.Rule, error) { return insights.ConversionDrop(insights.DropOptions{}) },
		at:   t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			y, m, d := at.Date()
			var evs []tracking.Event
			day := func(k, sessions, buying int) {
				start := time.Date(y, m, d-7*k, 1, 0, 0, 0, time.UTC)
				for i := range sessions {
					sid := fmt.Sprintf("c-%d-%d-%d", at.Unix(), k, i)
					evs = append(evs, ev(tracking.PageViewed, start.Add(time.Duration(i)*time.Minute), session(sid)))
					if i < buying {
						evs = append(evs, ev(tracking.PurchaseCompleted, start.Add(time.Duration(i)*time.Minute+time.Second), session(sid), paid("5.00", "USD")))
					}
				}
			}
			for k := 1; k <= 4; k++ {
				day(k, 50, 10)
			}
			day(0, cut(enough, 50), 2)
			return evs
		},
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.DropEvidence](t, in)
			rate := func(w insights.Window) (int64, float64) {
				all, buying := map[string]bool{}, map[string]bool{}
				for _, x := range scan(t, s, w.Start, w.End) {
					all[x.SessionID] = true
					if x.Type == tracking.PurchaseCompleted {
						buying[x.SessionID] = true
					}
				}
				return int64(len(all)), float64(len(buying)*10000/len(all)) / 100
			}
			n, r := rate(e.Today.Window)
			require.Equal(t, []any{n, r}, []any{e.Today.Sessions, e.Today.ConversionRate})
			for _, b := range e.Baseline {
				n, r := rate(b.Window)
				require.Equal(t, []any{n, r}, []any{b.Sessions, b.ConversionRate})
			}
			require.Equal(t, "20.00", e.BaselineMean)
			require.Equal(t, 80.0, e.DropPercent)
		},
		resolveAt: t0.Add(22 * h), coolAt: t0.Add(23 * h), againAt: t0.Add(49 * h),
	}, {
		name: "trending_product",
		rule: func() (insights.Rule, error) { return insights.Trending(insights.TrendingOptions{}) },
		at:   t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			evs := crowd(cut(enough, 30), tracking.ProductViewed, at, 50*time.Minute, product("p7", "Kite"))
			return append(evs, crowd(9, tracking.ProductViewed, at.Add(-h), 50*time.Minute, product("p7", "Kite"))...)
		},
		subject: "p7",
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.TrendingEvidence](t, in)
			v := count(t, s, e.Window.Start, e.Window.End, isType(tracking.ProductViewed, "p7"))
			pv := count(t, s, e.PreviousWindow.Start, e.PreviousWindow.End, isType(tracking.ProductViewed, "p7"))
			require.Equal(t, []int64{v, pv}, []int64{e.Views, e.PreviousViews})
			require.Equal(t, e.Window.Start, e.PreviousWindow.End)
			require.NotNil(t, e.GrowthPercent)
			require.Equal(t, float64((v-pv)*10000/pv)/100, *e.GrowthPercent)
		},
		resolveAt: t0.Add(3 * h), coolAt: t0.Add(4 * h), againAt: t0.Add(8 * h),
	}, {
		name: "refund_spike",
		rule: func() (insights.Rule, error) {
			return insights.RefundSpike(insights.RefundSpikeOptions{Periods: 2, Cooldown: 96 * h})
		},
		at: t0,
		fixture: func(at time.Time, enough bool) []tracking.Event {
			evs := crowd(cut(enough, 5), tracking.OrderRefunded, at, 2*h)
			for k := 1; k <= 2; k++ {
				evs = append(evs, ev(tracking.OrderRefunded, at.Add(-time.Duration(k)*24*h-3*h)))
			}
			return evs
		},
		check: func(t *testing.T, s store.Store, in insights.Insight) {
			e := decode[insights.RefundEvidence](t, in)
			require.Equal(t, count(t, s, e.Window.Start, e.Window.End, isType(tracking.OrderRefunded, "")), e.Refunds)
			require.Len(t, e.Baseline, 2)
			require.Equal(t, "1.00", e.BaselineMean)
			for k, n := range e.Baseline {
				end := e.Window.Start.Add(-time.Duration(k) * 24 * h)
				require.Equal(t, count(t, s, end.Add(-24*h), end, isType(tracking.OrderRefunded, "")), n, k)
			}
		},
		resolveAt: t0.Add(25 * h), coolAt: t0.Add(75 * h), againAt: t0.Add(150 * h),
	}}
}

// stores are the backends the rule tests run on: the reference and SQLite
// with rollups, so pushed-down answers are held to the same figures.
func ruleStores(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"memstore": func(t *testing.T) store.Store { return memStore() },
		"sqlitestore": func(t *testing.T) store.Store {
			s, err := sqlitestore.New(ctx(t), sqlitestore.Options{Path: sqlitestore.MemoryPath})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
}

func TestRulesFireHoldResolveAndKeepTheirCooldown(t *testing.T) {
	for _, tc := range ruleCases() {
		for sname, open := range ruleStores(t) {
			t.Run(tc.name+"/"+sname, func(t *testing.T) {
				t.Parallel()
				rule, err := tc.rule()
				require.NoError(t, err)
				clock := newClock(tc.at)
				s := open(t)
				eng := newEngine(t, s, clock, rule)

				// Under the minimum sample: silent.
				under := open(t)
				appendAll(t, under, tc.fixture(tc.at, false))
				res, err := newEngine(t, under, clock, rule).Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				require.Empty(t, res.Raised, "one short of the minimum sample")

				// Enough: it fires, with evidence equal to the raw events'.
				appendAll(t, s, tc.fixture(tc.at, true))
				res, err = eng.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				require.Len(t, res.Raised, 1)
				first := res.Raised[0]
				require.Equal(t, tc.name, first.Rule)
				require.Equal(t, tc.subject, first.Subject)
				require.Equal(t, tc.at, first.CreatedAt)
				require.NotEmpty(t, first.Title)
				require.NotEmpty(t, first.Message)
				tc.check(t, s, first)

				// Evaluated again while it holds: not raised twice.
				clock.add(time.Second)
				res, err = eng.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				require.Empty(t, res.Raised)
				require.Empty(t, res.Resolved)

				// Once the window has moved past it: resolved, kept.
				clock.set(tc.resolveAt)
				res, err = eng.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				require.Empty(t, res.Raised)
				require.Len(t, res.Resolved, 1)
				require.Equal(t, first.ID, res.Resolved[0].ID)
				open, err := eng.Insights(ctx(t), store.InsightFilter{ShopID: shop})
				require.NoError(t, err)
				require.Empty(t, open)
				all, err := eng.Insights(ctx(t), store.InsightFilter{ShopID: shop, IncludeResolved: true})
				require.NoError(t, err)
				require.Len(t, all, 1)
				require.Equal(t, tc.resolveAt, all[0].ResolvedAt)

				// Holding again within the cooldown: silent.
				appendAll(t, s, tc.fixture(tc.coolAt, true))
				clock.set(tc.coolAt)
				res, err = eng.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				require.Empty(t, res.Raised, "within the cooldown")
				// The rule does hold there: a fresh engine over an empty
				// keeper raises it.
				fresh, err := insights.NewEngine(s, insights.EngineOptions{Rules: []insights.Rule{rule}, Now: clock.now, Keeper: &store.MemoryInsights{}})
				require.NoError(t, err)
				res, err = fresh.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				require.Len(t, res.Raised, 1, "the cooldown, not the data, kept it silent")

				// Past the cooldown: raised again, a new insight.
				appendAll(t, s, tc.fixture(tc.againAt, true))
				clock.set(tc.againAt)
				res, err = eng.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				require.Len(t, res.Raised, 1)
				require.NotEqual(t, first.ID, res.Raised[0].ID)
				tc.check(t, s, res.Raised[0])
			})
		}
	}
}

func TestBuiltinRulesHaveUniqueNamesAndDescriptions(t *testing.T) {
	var names []string
	for _, r := range insights.Builtin() {
		require.NotEmpty(t, r.Description())
		names = append(names, r.Name())
	}
	require.Len(t, names, 9)
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	require.Len(t, slices.Compact(sorted), 9)
}

func TestRuleOptionsRefuseNegativeValuesNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		make  func() (insights.Rule, error)
	}{
		{"MinViews", func() (insights.Rule, error) { return insights.FlashSale(insights.FlashSaleOptions{MinViews: -1}) }},
		{"Window", func() (insights.Rule, error) {
			return insights.HighInterest(insights.HighInterestOptions{Window: -time.Hour})
		}},
		{"MaxConversionRate", func() (insights.Rule, error) {
			return insights.CartConversion(insights.CartConversionOptions{MaxConversionRate: 101})
		}},
		{"MaxRate", func() (insights.Rule, error) {
			return insights.CartAbandonment(insights.CartAbandonmentOptions{MaxRate: -1})
		}},
		{"MinOrders", func() (insights.Rule, error) { return insights.SalesPulse(insights.SalesPulseOptions{MinOrders: -2}) }},
		{"MinDropPercent", func() (insights.Rule, error) { return insights.RevenueDrop(insights.DropOptions{MinDropPercent: 120}) }},
		{"Weeks", func() (insights.Rule, error) { return insights.ConversionDrop(insights.DropOptions{Weeks: -1}) }},
		{"MinGrowthPercent", func() (insights.Rule, error) {
			return insights.Trending(insights.TrendingOptions{MinGrowthPercent: -5})
		}},
		{"Periods", func() (insights.Rule, error) { return insights.RefundSpike(insights.RefundSpikeOptions{Periods: -1}) }},
	} {
		_, err := tc.make()
		require.ErrorContains(t, err, tc.field)
	}
}

// Weeks whose orders took nothing (free orders) are no baseline to fall
// below: revenue_drop does not warn of a drop of 0 %.
func TestRevenueDropStaysQuietOverABaselineOfZeroRevenue(t *testing.T) {
	y, m, d := t0.Date()
	var evs []tracking.Event
	for k := 1; k <= 4; k++ {
		day := time.Date(y, m, d-7*k, 1, 0, 0, 0, time.UTC)
		for i := range 5 {
			evs = append(evs, ev(tracking.PurchaseCompleted, day.Add(time.Duration(i)*10*time.Minute), paid("0.00", "EUR")))
		}
	}
	s := memStore()
	appendAll(t, s, evs)
	rule, err := insights.RevenueDrop(insights.DropOptions{})
	require.NoError(t, err)
	res, err := newEngine(t, s, newClock(t0), rule).Evaluate(ctx(t), shop, time.UTC)
	require.NoError(t, err)
	require.Empty(t, res.Raised)
}

// A product that sold a few times in the window (as many as MaxPurchases
// lets through) is not titled as selling nothing: the title agrees with
// the purchases in the message and the evidence.
func TestDemandRulesTitleFewSalesAsFewNotNone(t *testing.T) {
	for _, tc := range []struct {
		rule    func() (insights.Rule, error)
		views   int
		none    string
		said    string
		at      time.Time
		minutes time.Duration
	}{
		{func() (insights.Rule, error) { return insights.FlashSale(insights.FlashSaleOptions{}) }, 120, "without sales", "only 3 purchases", t0, 10 * time.Minute},
		{func() (insights.Rule, error) {
			return insights.HighInterest(insights.HighInterestOptions{MaxPurchases: 3})
		}, 60, "no sales", "bought 3 times", t0, 24 * time.Hour},
	} {
		rule, err := tc.rule()
		require.NoError(t, err)
		t.Run(rule.Name(), func(t *testing.T) {
			mug := product("p1", "Mug")
			evs := crowd(tc.views, tracking.ProductViewed, tc.at, tc.minutes, mug)
			evs = append(evs, crowd(3, tracking.PurchaseCompleted, tc.at, tc.minutes, mug, paid("9.00", "EUR"))...)
			s := memStore()
			appendAll(t, s, evs)
			res, err := newEngine(t, s, newClock(tc.at), rule).Evaluate(ctx(t), shop, time.UTC)
			require.NoError(t, err)
			require.Len(t, res.Raised, 1)
			in := res.Raised[0]
			require.EqualValues(t, 3, decode[insights.DemandEvidence](t, in).Purchases)
			require.Contains(t, in.Message, tc.said)
			require.NotContains(t, in.Title, tc.none)
		})
	}
}
