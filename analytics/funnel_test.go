package analytics

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

func TestFunnelCountsOrderedStepsWithinTheWindow(t *testing.T) {
	m := time.Minute
	view, add, buy := tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted
	events := []tracking.Event{
		// s1: view, add 1 min later, buy 10 min after the view: all three.
		ev(view, t0, sess("s1"), anon("a1")),
		ev(add, t0.Add(1*m), sess("s1"), anon("a1")),
		ev(buy, t0.Add(10*m), sess("s1"), anon("a1"), paid("1", "USD")),
		// s2: add before view does not count; view, then nothing.
		ev(add, t0, sess("s2"), anon("a2")),
		ev(view, t0.Add(1*m), sess("s2"), anon("a2")),
		// s3: view, add 3 min later, buy exactly 10 min after the view
		// (on the window's edge), and a second buy later.
		ev(view, t0, sess("s3"), anon("a3")),
		ev(add, t0.Add(3*m), sess("s3"), anon("a3")),
		ev(buy, t0.Add(10*m), sess("s3"), anon("a3"), paid("1", "USD")),
		// s4: view, add after 11 min: outside a 10-minute window; a second
		// view later makes an attempt that gets to the end: it is the one
		// counted (add 5 min, buy 7 min after it).
		ev(view, t0, sess("s4"), anon("a4")),
		ev(view, t0.Add(6*m), sess("s4"), anon("a4")),
		ev(add, t0.Add(11*m), sess("s4"), anon("a4")),
		ev(buy, t0.Add(13*m), sess("s4"), anon("a4"), paid("1", "USD")),
		// s5: only a purchase.
		ev(buy, t0, sess("s5"), anon("a5"), paid("1", "USD")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := query(t0, t0.Add(time.Hour))
		r, err := Funnel(ctx, s, q, FunnelOptions{Steps: []string{"view", add, "purchase"}, Window: 10 * m})
		require.NoError(t, err)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		// Step 2 gaps: 60, 180, 300 s. Step 3 gaps: 540, 420, 120 s.
		require.JSONEq(t, `{"by":"session","steps":[
			{"event_name":"product_viewed","count":4,"conversion_from_previous":100,"conversion_from_start":100,"median_seconds_from_previous":null},
			{"event_name":"add_to_cart","count":3,"conversion_from_previous":75,"conversion_from_start":75,"median_seconds_from_previous":180},
			{"event_name":"purchase_completed","count":3,"conversion_from_previous":100,"conversion_from_start":75,"median_seconds_from_previous":420}]}`, string(b))

		// Without a window s4's first attempt goes all the way too, and is
		// the first to finish... both finish with the same event; the
		// later start is counted (as with the window).
		r, err = Funnel(ctx, s, q, FunnelOptions{Steps: []string{view, add, buy}})
		require.NoError(t, err)
		require.Equal(t, []int64{4, 3, 3}, stepCounts(r))

		// One second less of window: the purchases of s1 and s3 fall out.
		r, err = Funnel(ctx, s, q, FunnelOptions{Steps: []string{view, add, buy}, Window: 10*m - time.Second})
		require.NoError(t, err)
		require.Equal(t, []int64{4, 3, 1}, stepCounts(r))
		require.Equal(t, 33.33, r.Steps[2].ConversionFromPrevious)
		require.Equal(t, 25.0, r.Steps[2].ConversionFromStart)

		// A step nobody reached has no median.
		r, err = Funnel(ctx, s, q, FunnelOptions{Steps: []string{view, tracking.CheckoutStarted}})
		require.NoError(t, err)
		require.Equal(t, []int64{4, 0}, stepCounts(r))
		require.Nil(t, r.Steps[1].MedianSecondsFromPrevious)
		require.Equal(t, 0.0, r.Steps[1].ConversionFromPrevious)
	})
}

func stepCounts(r FunnelResult) []int64 {
	var out []int64
	for _, s := range r.Steps {
		out = append(out, s.Count)
	}
	return out
}

func TestFunnelByUserFollowsIdentifyAcrossDevices(t *testing.T) {
	m := time.Minute
	events := []tracking.Event{
		// u views on the phone anonymously, is identified on the laptop
		// and buys there: by session nobody converts, by user u does.
		ev(tracking.ProductViewed, t0, anon("phone")),
		ev(tracking.AddToCart, t0.Add(1*m), anon("phone")),
		ev(tracking.PurchaseCompleted, t0.Add(2*time.Hour), anon("laptop"), paid("5", "USD")),
		ev(tracking.Identify, t0.Add(3*time.Hour), anon("laptop"), user("u")),
		ev(tracking.Identify, t0.Add(3*time.Hour), anon("phone"), user("u")),
		ev(tracking.ProductViewed, t0, anon("other")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := query(t0, t0.Add(24*time.Hour))
		steps := []string{tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted}
		r, err := Funnel(ctx, s, q, FunnelOptions{Steps: steps, By: ByUser})
		require.NoError(t, err)
		require.Equal(t, []int64{2, 1, 1}, stepCounts(r))
		require.Equal(t, 7140.0, *r.Steps[2].MedianSecondsFromPrevious)
		r, err = Funnel(ctx, s, q, FunnelOptions{Steps: steps})
		require.NoError(t, err)
		require.Equal(t, []int64{2, 1, 0}, stepCounts(r))
	})
}

func TestFunnelRefusesBadOptions(t *testing.T) {
	s := stores(t, nil)["memstore"]
	for _, c := range []struct {
		o     FunnelOptions
		field string
	}{
		{FunnelOptions{}, "steps"},
		{FunnelOptions{Steps: make([]string, MaxFunnelSteps+1)}, "steps"},
		{FunnelOptions{Steps: []string{"page_viewed", "Not A Type"}}, "steps"},
		{FunnelOptions{Steps: []string{"page_viewed"}, By: "device"}, "by"},
		{FunnelOptions{Steps: []string{"page_viewed"}, Window: -time.Second}, "window"},
	} {
		_, err := Funnel(context.Background(), s, query(t0, t0.Add(time.Hour)), c.o)
		var oe *OptionError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, c.field, oe.Field)
	}
}
