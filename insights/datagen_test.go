package insights_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// TestBuiltinEvidenceOnDatagenTrafficEqualsTheRawEvents runs every built-in
// rule over two weeks of datagen traffic (flash sale and refunds included)
// on a fake clock, every 3 hours and every 5 minutes around the flash sale,
// and holds the counted evidence of whatever they raise to a count over the
// raw events of the insight's own windows: views, adds and purchases of its
// product, orders and revenue of its currency, refunds of each window. So
// the rules' figures are what the events say on realistic traffic, not only
// on the crafted fixtures of the per-rule tests.
func TestBuiltinEvidenceOnDatagenTrafficEqualsTheRawEvents(t *testing.T) {
	o := datagen.Options{ShopID: shop, Start: datagen.DefaultStart, Days: 14, Visitors: 300, Seed: 7}
	events := datagen.Generate(o)
	burst, ok := o.FlashSale()
	require.True(t, ok, "the traffic has a flash sale")
	for sname, open := range ruleStores(t) {
		t.Run(sname, func(t *testing.T) {
			s := open(t)
			appendAll(t, s, events)
			clock := newClock(o.Start.Add(24 * time.Hour))
			eng, err := insights.NewEngine(s, insights.EngineOptions{Now: clock.now})
			require.NoError(t, err)
			var raised []insights.Insight
			end := o.Start.Add(time.Duration(o.Days) * 24 * time.Hour)
			for at := clock.now(); at.Before(end); {
				clock.set(at)
				res, err := eng.Evaluate(ctx(t), shop, time.UTC)
				require.NoError(t, err)
				raised = append(raised, res.Raised...)
				step := 3 * time.Hour
				if at.After(burst.Add(-time.Hour)) && at.Before(burst.Add(time.Hour)) {
					step = 5 * time.Minute
				}
				at = at.Add(step)
			}
			checked := map[string]int{}
			for _, in := range raised {
				checkEvidence(t, s, in)
				checked[in.Rule]++
			}
			t.Logf("raised and checked: %v", checked)
			for _, rule := range []string{"flash_sale", "high_interest_no_purchase", "sales_pulse", "trending_product"} {
				require.NotZero(t, checked[rule], "%s never fired on this traffic: the test would check nothing of it", rule)
			}
		})
	}
}

// checkEvidence holds the figures of in's evidence that are counts of
// events to a count over s's raw events; rules whose evidence is no plain
// count (abandonment, drops, thresholds) have their own tests.
func checkEvidence(t *testing.T, s store.Store, in insights.Insight) {
	t.Helper()
	views := func(w insights.Window, p string) int64 {
		return count(t, s, w.Start, w.End, isType(tracking.ProductViewed, p))
	}
	adds := func(w insights.Window, p string) int64 {
		return count(t, s, w.Start, w.End, isType(tracking.AddToCart, p))
	}
	// Orders that sold p: the purchase names it, or one of its line items
	// (properties.products[].product_id) does; read here with
	// encoding/json, apart from the stores' own line-item parsing.
	buys := func(w insights.Window, p string) int64 {
		return count(t, s, w.Start, w.End, func(e *tracking.Event) bool {
			if e.Type != tracking.PurchaseCompleted {
				return false
			}
			if e.ProductID == p {
				return true
			}
			var props struct {
				Products []struct {
					ProductID string `json:"product_id"`
				} `json:"products"`
			}
			_ = json.Unmarshal(e.Properties, &props)
			for _, l := range props.Products {
				if l.ProductID == p {
					return true
				}
			}
			return false
		})
	}
	switch in.Rule {
	case "flash_sale", "high_interest_no_purchase":
		e := decode[insights.DemandEvidence](t, in)
		require.Equal(t, in.Subject, e.ProductID)
		require.Equal(t, []int64{views(e.Window, e.ProductID), adds(e.Window, e.ProductID), buys(e.Window, e.ProductID)},
			[]int64{e.Views, e.Adds, e.Purchases}, "%s at %v", in.Rule, in.CreatedAt)
		require.GreaterOrEqual(t, e.Views, e.MinViews)
		require.LessOrEqual(t, e.Purchases, e.MaxPurchases)
	case "cart_conversion":
		e := decode[insights.CartConversionEvidence](t, in)
		require.Equal(t, []int64{adds(e.Window, e.ProductID), buys(e.Window, e.ProductID)}, []int64{e.Adds, e.Purchases},
			"%s at %v", in.Rule, in.CreatedAt)
	case "trending_product":
		e := decode[insights.TrendingEvidence](t, in)
		require.Equal(t, []int64{views(e.Window, e.ProductID), views(e.PreviousWindow, e.ProductID)},
			[]int64{e.Views, e.PreviousViews}, "%s at %v", in.Rule, in.CreatedAt)
		require.GreaterOrEqual(t, e.Views, e.MinViews)
	case "sales_pulse":
		e := decode[insights.SalesPulseEvidence](t, in)
		n, total := orders(t, s, e.Window, e.Currency)
		require.Equal(t, n, e.Orders, "%s at %v", in.Rule, in.CreatedAt)
		require.Equal(t, total.String(), e.Total)
	case "refund_spike":
		e := decode[insights.RefundEvidence](t, in)
		require.Equal(t, count(t, s, e.Window.Start, e.Window.End, isType(tracking.OrderRefunded, "")), e.Refunds)
	}
}
