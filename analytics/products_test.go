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

func TestTopProductsCountsLineItemsAndKeepsTheLatestName(t *testing.T) {
	m := time.Minute
	events := []tracking.Event{
		ev(tracking.ProductViewed, t0, anon("a"), prod("p1"), named("Mug")),
		ev(tracking.ProductViewed, t0.Add(1*m), anon("b"), prod("p1")),
		ev(tracking.ProductViewed, t0.Add(2*m), anon("b"), prod("p2"), named("Tea")),
		ev(tracking.AddToCart, t0.Add(3*m), anon("b"), prod("p2"), named("Green tea")),
		// Line items: p2 twice in one order counts once, revenue 2×1.50 + 0.25;
		// p3 by a numeric id; a line without an id is left out.
		ev(tracking.PurchaseCompleted, t0.Add(4*m), anon("b"), paid("5.00", "EUR"), props(`{"products":[
			{"product_id":"p2","price":1.5,"quantity":2},{"product_id":"p2","price":"0.25"},
			{"product_id":3,"name":"Pot","price":"2"},{"name":"nothing"}]}`)),
		// No line items: the product_id sells for the whole total.
		ev(tracking.PurchaseCompleted, t0.Add(5*m), anon("a"), prod("p1"), paid("9.99", "USD")),
		ev(tracking.PurchaseCompleted, t0.Add(6*m), anon("a"), prod("p1"), paid("1.01", "EUR")),
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		q := query(t0, t0.Add(time.Hour))
		r, err := TopProducts(ctx, s, q, TopProductsOptions{})
		require.NoError(t, err)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.JSONEq(t, `{"by":"views","currency":"EUR","products":[
			{"product_id":"p1","product_name":"Mug","views":2,"adds":0,"purchases":2,"revenue":"1.01"},
			{"product_id":"p2","product_name":"Green tea","views":1,"adds":1,"purchases":1,"revenue":"3.25"},
			{"product_id":"3","product_name":"Pot","views":0,"adds":0,"purchases":1,"revenue":"2.00"}]}`, string(b))

		r, err = TopProducts(ctx, s, q, TopProductsOptions{By: ByRevenue, Currency: "USD", Limit: 2})
		require.NoError(t, err)
		require.Equal(t, "USD", r.Currency)
		require.Len(t, r.Products, 2)
		require.Equal(t, "p1", r.Products[0].ProductID)
		require.Equal(t, "9.99", r.Products[0].Revenue.String())
		require.Equal(t, "p2", r.Products[1].ProductID) // 0 USD, ties to more purchases/views

		r, err = TopProducts(ctx, s, q, TopProductsOptions{By: ByRevenue})
		require.NoError(t, err)
		require.Equal(t, []string{"p2", "3", "p1"}, productIDs(r.Products))
		r, err = TopProducts(ctx, s, q, TopProductsOptions{By: ByAdds, Limit: 1})
		require.NoError(t, err)
		require.Equal(t, []string{"p2"}, productIDs(r.Products))
	})
	s := stores(t, nil)["memstore"]
	for _, c := range []struct {
		o     TopProductsOptions
		field string
	}{{TopProductsOptions{By: "likes"}, "by"}, {TopProductsOptions{Limit: -1}, "limit"},
		{TopProductsOptions{Limit: MaxLimit + 1}, "limit"}, {TopProductsOptions{Currency: "XXX"}, "currency"}} {
		_, err := TopProducts(context.Background(), s, query(t0, t0.Add(time.Hour)), c.o)
		var oe *OptionError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, c.field, oe.Field)
	}
}

func productIDs(ps []Product) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ProductID)
	}
	return out
}

func TestTopCustomersStitchesAnonymousPurchases(t *testing.T) {
	m := time.Minute
	events := []tracking.Event{
		ev(tracking.PurchaseCompleted, t0, anon("phone"), paid("10.00", "EUR")),
		ev(tracking.PurchaseCompleted, t0.Add(1*m), anon("laptop"), user("ann"), paid("5.00", "EUR")),
		ev(tracking.PurchaseCompleted, t0.Add(2*m), user("bob"), paid("12.00", "EUR")),
		ev(tracking.PurchaseCompleted, t0.Add(3*m), user("bob"), paid("3000", "JPY")),
		ev(tracking.PurchaseCompleted, t0.Add(4*m), anon("stranger"), paid("1.00", "EUR")),
		ev(tracking.PageViewed, t0.Add(5*m), user("carl")),
		ev(tracking.Identify, t0.Add(48*time.Hour), anon("phone"), user("ann")), // after the range
	}
	forStores(t, events, func(t *testing.T, s store.Store) {
		r, err := TopCustomers(context.Background(), s, query(t0, t0.Add(time.Hour)), TopCustomersOptions{})
		require.NoError(t, err)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.JSONEq(t, `{"currency":"EUR","customers":[
			{"user_id":"ann","orders":2,"revenue":"15.00"},
			{"user_id":"bob","orders":2,"revenue":"12.00"},
			{"user_id":"stranger","orders":1,"revenue":"1.00"}]}`, string(b))
		r, err = TopCustomers(context.Background(), s, query(t0, t0.Add(time.Hour)), TopCustomersOptions{Currency: "JPY", Limit: 1})
		require.NoError(t, err)
		require.Equal(t, []Customer{{UserID: "bob", Orders: 2, Revenue: money("3000", "JPY")}}, r.Customers)
	})
}
