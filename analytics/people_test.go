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

func TestSessionsSplitAtThirtyMinutesOfInactivity(t *testing.T) {
	m := time.Minute
	events := []tracking.Event{
		ev(tracking.PageViewed, t0, anon("a")),
		ev(tracking.ProductViewed, t0.Add(29*m+59*time.Second), anon("a")), // still the first
		ev(tracking.PageViewed, t0.Add(59*m+59*time.Second), anon("a")),    // exactly 30 min later: a new one
		ev(tracking.PurchaseCompleted, t0.Add(60*m), anon("a"), user("u"), paid("2.50", "EUR")),
		// session ids are kept whatever the gap
		ev(tracking.PageViewed, t0, sess("s"), anon("b")),
		ev(tracking.PageViewed, t0.Add(5*time.Hour), sess("s"), anon("b")),
		// a user without an anonymous id is its own device
		ev(tracking.PageViewed, t0.Add(2*m), user("u")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ss, err := Sessions(context.Background(), s, query(t0, t0.Add(24*time.Hour)), SessionsOptions{})
		require.NoError(t, err)
		require.Len(t, ss, 4)
		require.Equal(t, "a@2026-03-02T00:00:00Z", ss[0].ID)
		require.Equal(t, "u", ss[0].UserID) // a is identified as u by the purchase
		require.EqualValues(t, 2, ss[0].Events)
		require.Equal(t, "s", ss[1].ID)
		require.Equal(t, 5*time.Hour, ss[1].End.Sub(ss[1].Start))
		require.Equal(t, "u@2026-03-02T00:02:00Z", ss[2].ID)
		require.True(t, ss[2].Bounced)
		require.Equal(t, "a@2026-03-02T00:59:59Z", ss[3].ID)
		require.Equal(t, []Amount{{Currency: "EUR", Total: money("2.50", "EUR")}}, ss[3].Revenue)
		b, err := json.Marshal(ss[3])
		require.NoError(t, err)
		require.JSONEq(t, `{"id":"a@2026-03-02T00:59:59Z","user_id":"u","start":"2026-03-02T00:59:59Z",
			"end":"2026-03-02T01:00:00Z","seconds":1,"events":2,"page_views":1,"product_views":0,"add_to_carts":0,
			"checkouts":0,"purchases":1,"revenue":[{"currency":"EUR","total":"2.50"}],"bounced":false}`, string(b))

		ss, err = Sessions(context.Background(), s, query(t0, t0.Add(24*time.Hour)), SessionsOptions{UserID: "u", Limit: 2})
		require.NoError(t, err)
		require.Len(t, ss, 2)
	})
}

func TestJourneyStitchesAnonymousHistoryAcrossDevices(t *testing.T) {
	m := time.Minute
	events := []tracking.Event{
		ev(tracking.PageViewed, t0, anon("phone"), id("1")),
		ev(tracking.ProductViewed, t0.Add(1*m), anon("laptop"), id("2")),
		ev(tracking.PageViewed, t0.Add(2*m), anon("other"), id("3")),
		ev(tracking.Identify, t0.Add(3*m), anon("phone"), user("u"), id("4")),
		ev(tracking.PurchaseCompleted, t0.Add(4*m), anon("laptop"), user("u"), paid("1", "USD"), id("5")),
		ev(tracking.PageViewed, t0.Add(5*m), anon("phone"), id("6")),
		// the laptop later logs in as someone else: that event is theirs
		ev(tracking.PageViewed, t0.Add(6*m), anon("laptop"), user("v"), id("7")),
		ev(tracking.PageViewed, t0.Add(7*m), user("u"), id("8")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		q := query(t0, t0.Add(time.Hour))
		got, err := Journey(context.Background(), s, q, JourneyOptions{UserID: "u"})
		require.NoError(t, err)
		var idsOf []string
		for _, e := range got {
			idsOf = append(idsOf, e.ID)
		}
		require.Equal(t, []string{"1", "2", "4", "5", "6", "8"}, idsOf)
		got, err = Journey(context.Background(), s, q, JourneyOptions{UserID: "other"})
		require.NoError(t, err)
		require.Len(t, got, 1)
		got, err = Journey(context.Background(), s, q, JourneyOptions{UserID: "u", Limit: 2})
		require.NoError(t, err)
		require.Len(t, got, 2)
		_, err = Journey(context.Background(), s, q, JourneyOptions{})
		var oe *OptionError
		require.ErrorAs(t, err, &oe)
	})
}

func TestRetentionCohortsByFirstEventInTheZone(t *testing.T) {
	loc := berlin(t)
	day := func(d int, h int) time.Time { return time.Date(2026, 3, 28+d, h, 0, 0, 0, loc) }
	events := []tracking.Event{
		// 03-28: a (phone) and b; 03-29 (23 h): a on the laptop, c; 03-30: b.
		ev(tracking.PageViewed, day(0, 10), anon("phone")),
		ev(tracking.PageViewed, day(0, 23), anon("b")), // 22:00 UTC, still the 28th in Berlin
		ev(tracking.PageViewed, day(1, 23), anon("laptop")),
		ev(tracking.Identify, day(1, 23), anon("laptop"), user("a")),
		ev(tracking.Identify, day(1, 23), anon("phone"), user("a")),
		ev(tracking.PageViewed, day(1, 12), anon("c")),
		ev(tracking.PageViewed, day(2, 0), anon("b")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		q := Query{ShopID: shop, From: day(0, 0), To: day(3, 0), Location: loc}
		got, err := Retention(context.Background(), s, q, RetentionOptions{Interval: Day})
		require.NoError(t, err)
		require.Equal(t, []Cohort{
			{Start: "2026-03-28", Users: 2, Retained: []int64{2, 1, 1}},
			{Start: "2026-03-29", Users: 1, Retained: []int64{1, 0}},
			{Start: "2026-03-30", Users: 0, Retained: []int64{0}},
		}, got)
		got, err = Retention(context.Background(), s, q, RetentionOptions{})
		require.NoError(t, err)
		require.Equal(t, []Cohort{
			{Start: "2026-03-23", Users: 3, Retained: []int64{3, 1}},
			{Start: "2026-03-30", Users: 0, Retained: []int64{0}},
		}, got)
		_, err = Retention(context.Background(), s, q, RetentionOptions{Interval: Hour})
		var oe *OptionError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, "interval", oe.Field)
	})
}

func TestBreakdownByEventAndSessionDimensions(t *testing.T) {
	m := time.Minute
	events := []tracking.Event{
		// a lands from a search engine with a campaign, buys on /checkout.
		ev(tracking.PageViewed, t0, anon("a"), page("https://shop.example/?utm_source=news&utm_campaign=spring"),
			ref("https://WWW.Google.com/search?q=mug")),
		ev(tracking.ProductViewed, t0.Add(1*m), anon("a"), page("https://shop.example/p/mug"), prod("mug"), cat("kitchen")),
		ev(tracking.PurchaseCompleted, t0.Add(2*m), anon("a"), page("https://shop.example/checkout"), paid("8.00", "EUR"),
			props(`{"products":[{"product_id":"mug","category":"kitchen","price":"8.00"}]}`)),
		// b comes straight in, twice the mug page.
		ev(tracking.PageViewed, t0.Add(3*m), anon("b"), page("https://shop.example/p/mug?x=1")),
		ev(tracking.ProductViewed, t0.Add(4*m), anon("b"), page("https://shop.example/p/mug"), prod("mug")),
		ev(tracking.ProductViewed, t0.Add(5*m), anon("b"), prod("pot"), cat("kitchen")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := query(t0, t0.Add(time.Hour))
		rows, err := Breakdown(ctx, s, q, BreakdownOptions{Dimension: ByPage})
		require.NoError(t, err)
		b, err := json.Marshal(rows)
		require.NoError(t, err)
		require.JSONEq(t, `[
			{"value":"/p/mug","events":3,"sessions":2,"users":2,"purchases":0,"revenue":[]},
			{"value":"/","events":1,"sessions":1,"users":1,"purchases":0,"revenue":[]},
			{"value":"/checkout","events":1,"sessions":1,"users":1,"purchases":1,"revenue":[{"currency":"EUR","total":"8.00"}]}]`, string(b))

		rows, err = Breakdown(ctx, s, q, BreakdownOptions{})
		require.NoError(t, err)
		require.Equal(t, []BreakdownRow{
			{Value: "mug", Events: 3, Sessions: 2, Users: 2, Purchases: 1, Revenue: []Amount{{"EUR", money("8.00", "EUR")}}},
			{Value: "pot", Events: 1, Sessions: 1, Users: 1, Revenue: []Amount{}},
		}, rows)

		rows, err = Breakdown(ctx, s, q, BreakdownOptions{Dimension: ByCategory, Limit: 1})
		require.NoError(t, err)
		require.Equal(t, []BreakdownRow{{Value: "kitchen", Events: 3, Sessions: 2, Users: 2, Purchases: 1,
			Revenue: []Amount{{"EUR", money("8.00", "EUR")}}}}, rows)

		rows, err = Breakdown(ctx, s, q, BreakdownOptions{Dimension: ByReferrer})
		require.NoError(t, err)
		require.Equal(t, []BreakdownRow{ // a tie, by value
			{Value: Direct, Events: 3, Sessions: 1, Users: 1, Revenue: []Amount{}},
			{Value: "www.google.com", Events: 3, Sessions: 1, Users: 1, Purchases: 1, Revenue: []Amount{{"EUR", money("8.00", "EUR")}}},
		}, rows)

		for d, want := range map[Dimension][]string{ByUTMSource: {"news", None}, ByUTMCampaign: {"spring", None}, ByUTMMedium: {None}} {
			rows, err = Breakdown(ctx, s, q, BreakdownOptions{Dimension: d})
			require.NoError(t, err)
			var values []string
			for _, r := range rows {
				values = append(values, r.Value)
			}
			require.ElementsMatch(t, want, values, d)
		}
		_, err = Breakdown(ctx, s, q, BreakdownOptions{Dimension: "country"})
		var oe *OptionError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, "dimension", oe.Field)
	})
}

func TestSegmentsOfUsersAndSessions(t *testing.T) {
	m := time.Minute
	var events []tracking.Event
	views := func(who func(*tracking.Event), n int, at time.Time) {
		for i := range n {
			events = append(events, ev(tracking.ProductViewed, at.Add(time.Duration(i)*m), who, prod("p")))
		}
	}
	views(anon("a1"), 3, t0) // window shopper
	events = append(events, ev(tracking.AddToCart, t0.Add(5*m), anon("a1"), prod("p")))
	views(anon("a2"), 2, t0)                                                                                              // neither
	events = append(events, ev(tracking.AddToCart, t0.Add(5*m), anon("a3"), prod("p")))                                   // abandoner…
	events = append(events, ev(tracking.PurchaseCompleted, t0.Add(2*time.Hour), anon("a4"), user("u"), paid("1", "USD"))) // …who is u
	events = append(events, ev(tracking.Identify, t0.Add(3*time.Hour), anon("a3"), user("u")))
	forStores(t, events, func(t *testing.T, s store.Store) {
		got, err := Segments(context.Background(), s, query(t0, t0.Add(24*time.Hour)), SegmentsOptions{})
		require.NoError(t, err)
		b, err := json.Marshal(got)
		require.NoError(t, err)
		// Users: a1, a2, u (a3 and a4).
		require.JSONEq(t, `[
			{"name":"buyers","by":"user","size":1,"share":33.33,"examples":["u"]},
			{"name":"cart_abandoners","by":"user","size":1,"share":33.33,"examples":["a1"]},
			{"name":"window_shoppers","by":"user","size":1,"share":33.33,"examples":["a1"]}]`, string(b))

		got, err = Segments(context.Background(), s, query(t0, t0.Add(24*time.Hour)), SegmentsOptions{By: BySession, MinProductViews: 2})
		require.NoError(t, err)
		// Sessions: a1, a2, a3, a4's purchase, a3's identify.
		require.Equal(t, []Segment{
			{Name: Buyers, By: BySession, Size: 1, Share: 20, Examples: []string{"a4@2026-03-02T02:00:00Z"}},
			{Name: CartAbandoners, By: BySession, Size: 2, Share: 40, Examples: []string{"a1@2026-03-02T00:00:00Z", "a3@2026-03-02T00:05:00Z"}},
			{Name: WindowShoppers, By: BySession, Size: 2, Share: 40, Examples: []string{"a1@2026-03-02T00:00:00Z", "a2@2026-03-02T00:00:00Z"}},
		}, got)
	})
}
