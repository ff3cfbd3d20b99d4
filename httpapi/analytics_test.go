package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/tracking"
)

// analyticsEnv is a handler over a small day of shop-a: two visitors, one
// identified on two devices, purchases in EUR and JPY.
func analyticsEnv(t *testing.T) *env {
	e := newEnv(t, envOptions{})
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	m := time.Minute
	mk := func(i int, typ string, at time.Duration, f func(*tracking.Event)) tracking.Event {
		ev := tracking.Event{ID: fmt.Sprintf("e%02d", i), ShopID: "shop-a", Type: typ, Timestamp: day.Add(at), ReceivedAt: day}
		f(&ev)
		return ev
	}
	eur := tracking.Money{Minor: 1999, Currency: "EUR"}
	events := []tracking.Event{
		mk(1, tracking.PageViewed, 0, func(e *tracking.Event) {
			e.AnonymousID, e.URL, e.Referrer = "phone", "https://shop.example/?utm_source=mail", "https://news.example/a"
		}),
		mk(2, tracking.ProductViewed, 1*m, func(e *tracking.Event) { e.AnonymousID, e.ProductID, e.ProductName = "phone", "mug", "Mug" }),
		mk(3, tracking.AddToCart, 2*m, func(e *tracking.Event) { e.AnonymousID, e.ProductID = "phone", "mug" }),
		mk(4, tracking.Identify, 3*m, func(e *tracking.Event) { e.AnonymousID, e.UserID = "phone", "ann" }),
		mk(5, tracking.PurchaseCompleted, 90*m, func(e *tracking.Event) {
			e.AnonymousID, e.UserID, e.ProductID, e.Revenue, e.Currency = "laptop", "ann", "mug", eur, "EUR"
		}),
		mk(6, tracking.PageViewed, 2*time.Hour, func(e *tracking.Event) { e.AnonymousID, e.URL = "bob", "https://shop.example/p/pot" }),
		mk(7, tracking.PurchaseCompleted, 3*time.Hour, func(e *tracking.Event) {
			e.AnonymousID, e.Revenue, e.Currency = "bob", tracking.Money{Minor: 500, Currency: "JPY"}, "JPY"
		}),
		mk(8, tracking.PageViewed, 0, func(e *tracking.Event) { e.ShopID, e.AnonymousID = "shop-b", "x" }),
	}
	_, err := e.store.Append(context.Background(), events)
	require.NoError(t, err)
	return e
}

const rangeQuery = "from=2026-03-02&to=2026-03-03"

func TestAnalyticsRoutesAnswerTheContractShapes(t *testing.T) {
	e := analyticsEnv(t)
	for _, c := range []struct {
		path string
		want string
	}{
		{"/api/stats?" + rangeQuery, `{"shop_id":"shop-a","from":"2026-03-02T00:00:00Z","to":"2026-03-03T00:00:00Z",
			"events":7,"sessions":4,"users":2,"page_views":2,"product_views":1,"add_to_carts":1,"checkouts":0,"purchases":2,
			"conversion_rate":50,"revenue":[
				{"currency":"EUR","total":"19.99","orders":1,"average":"19.99","min":"19.99","max":"19.99"},
				{"currency":"JPY","total":"500","orders":1,"average":"500","min":"500","max":"500"}],
			"top_product_id":"mug","cart_abandonment_rate":100,"bounce_rate":25,"avg_session_seconds":45}`},
		{"/api/timeseries?metric=revenue&interval=day&currency=JPY&" + rangeQuery,
			`{"metric":"revenue","interval":"day","tz":"UTC","currency":"JPY","points":[{"t":"2026-03-02","value":"500"}]}`},
		{"/api/timeseries?metric=users&interval=hour&from=2026-03-02T00:00:00Z&to=2026-03-02T03:00:00Z&tz=Europe/Berlin",
			`{"metric":"users","interval":"hour","tz":"Europe/Berlin","points":[
				{"t":"2026-03-02T01:00:00+01:00","value":1},{"t":"2026-03-02T02:00:00+01:00","value":1},{"t":"2026-03-02T03:00:00+01:00","value":1}]}`},
		{"/api/funnel?steps=product_viewed,add_to_cart,purchase&by=user&window=2h&" + rangeQuery, `{"by":"user","steps":[
			{"event_name":"product_viewed","count":1,"conversion_from_previous":100,"conversion_from_start":100,"median_seconds_from_previous":null},
			{"event_name":"add_to_cart","count":1,"conversion_from_previous":100,"conversion_from_start":100,"median_seconds_from_previous":60},
			{"event_name":"purchase_completed","count":1,"conversion_from_previous":100,"conversion_from_start":100,"median_seconds_from_previous":5280}]}`},
		{"/api/top-products?by=revenue&limit=5&" + rangeQuery, `{"by":"revenue","currency":"EUR","products":[
			{"product_id":"mug","product_name":"Mug","views":1,"adds":1,"purchases":1,"revenue":"19.99"}]}`},
		{"/api/top-customers?limit=5&" + rangeQuery, `{"currency":"EUR","customers":[
			{"user_id":"ann","orders":1,"revenue":"19.99"},{"user_id":"bob","orders":1,"revenue":"0.00"}]}`},
		{"/api/retention?interval=day&" + rangeQuery, `{"interval":"day","tz":"UTC","cohorts":[{"start":"2026-03-02","users":2,"retained":[2]}]}`},
		{"/api/breakdown?dimension=referrer&" + rangeQuery, `{"dimension":"referrer","rows":[
			{"value":"news.example","events":4,"sessions":1,"users":1,"purchases":0,"revenue":[]},
			{"value":"(direct)","events":3,"sessions":3,"users":2,"purchases":2,"revenue":[{"currency":"EUR","total":"19.99"},{"currency":"JPY","total":"500"}]}]}`},
		{"/api/segments?" + rangeQuery, `{"segments":[
			{"name":"buyers","by":"user","size":2,"share":100,"examples":["ann","bob"]},
			{"name":"cart_abandoners","by":"user","size":0,"share":0,"examples":[]},
			{"name":"window_shoppers","by":"user","size":0,"share":0,"examples":[]}]}`},
	} {
		t.Run(c.path, func(t *testing.T) {
			status, b := e.get("rk_a", c.path)
			require.Equal(t, 200, status, string(b))
			require.JSONEq(t, c.want, string(b))
		})
	}

	status, b := e.get("rk_a", "/api/users/ann/journey?"+rangeQuery)
	require.Equal(t, 200, status, string(b))
	var j struct {
		UserID string           `json:"user_id"`
		Events []tracking.Event `json:"events"`
	}
	require.NoError(t, json.Unmarshal(b, &j))
	require.Equal(t, "ann", j.UserID)
	var ids []string
	for _, ev := range j.Events {
		ids = append(ids, ev.ID)
	}
	require.Equal(t, []string{"e01", "e02", "e03", "e04", "e05"}, ids)
	status, b = e.get("rk_a", "/api/users/"+url.PathEscape("nobody")+"/journey?"+rangeQuery)
	require.Equal(t, 200, status)
	require.JSONEq(t, `{"user_id":"nobody","events":[]}`, string(b))
}

func TestAnalyticsRoutesNameTheParameterAtFault(t *testing.T) {
	e := analyticsEnv(t)
	for _, c := range []struct{ path, field string }{
		{"/api/timeseries?metric=clicks", "metric"},
		{"/api/timeseries?interval=month", "interval"},
		{"/api/timeseries?type=Not+a+type", "type"},
		{"/api/timeseries?metric=revenue&currency=EURO", "currency"},
		{"/api/funnel", "steps"},
		{"/api/funnel?steps=a,,b", "steps"},
		{"/api/funnel?steps=page_viewed&by=device", "by"},
		{"/api/funnel?steps=page_viewed&window=soon", "window"},
		{"/api/funnel?steps=page_viewed&window=-5m", "window"},
		{"/api/top-products?by=likes", "by"},
		{"/api/top-products?limit=0", "limit"},
		{"/api/top-products?limit=ten", "limit"},
		{"/api/top-products?limit=100000", "limit"},
		{"/api/top-products?currency=xx", "currency"},
		{"/api/top-customers?limit=-1", "limit"},
		{"/api/top-customers?currency=ABC", "currency"},
		{"/api/retention?interval=hour", "interval"},
		{"/api/retention?interval=year", "interval"},
		{"/api/breakdown?dimension=country", "dimension"},
		{"/api/breakdown?limit=x", "limit"},
		{"/api/segments?by=device", "by"},
		{"/api/segments?min_product_views=0", "min_product_views"},
		{"/api/users/ann/journey?limit=0", "limit"},
		{"/api/stats?from=yesterday", "from"},
		{"/api/stats?tz=Mars/Olympus", "tz"},
	} {
		t.Run(c.path, func(t *testing.T) {
			status, b := e.get("rk_a", c.path)
			require.Equal(t, 400, status, string(b))
			var eb struct{ Error, Field string }
			require.NoError(t, json.Unmarshal(b, &eb), string(b))
			require.NotEmpty(t, eb.Error)
			require.Equal(t, c.field, eb.Field, eb.Error)
		})
	}
}

func TestTimeSeriesCapsItsPoints(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.MaxRange = 1000 * 24 * time.Hour }})
	status, b := e.get("rk_a", "/api/timeseries?interval=hour&from=2025-01-01&to=2026-03-01")
	require.Equal(t, 400, status, string(b))
	require.Contains(t, string(b), `"field":"interval"`)
	status, b = e.get("rk_a", "/api/timeseries?interval=day&from=2025-01-01&to=2026-03-01")
	require.Equal(t, 200, status, string(b))
}

func TestAnalyticsRoutesAreAuthorisedPerShop(t *testing.T) {
	e := analyticsEnv(t)
	for _, route := range []string{"/api/stats", "/api/timeseries", "/api/funnel?steps=page_viewed", "/api/top-products",
		"/api/top-customers", "/api/retention", "/api/breakdown", "/api/segments", "/api/users/ann/journey"} {
		sep := "?"
		if strings.Contains(route, "?") {
			sep = "&"
		}
		status, _ := e.get("", route)
		require.Equal(t, 401, status, route)
		status, _ = e.get("rk_a", route+sep+"shop=shop-b")
		require.Equal(t, 403, status, route)
		status, b := e.get(adminKey, route)
		require.Equal(t, 400, status, route)
		require.Contains(t, string(b), `"field":"shop"`)
		status, b = e.get(adminKey, route+sep+"shop=shop-b")
		require.Equal(t, 200, status, "%s %s", route, b)
	}
}
