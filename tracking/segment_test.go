package tracking_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/tracking"
)

func TestSegmentEventName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Product Viewed", tracking.ProductViewed},
		{"Product Added", tracking.AddToCart},
		{"Product Removed", tracking.RemoveFromCart},
		{"Checkout Started", tracking.CheckoutStarted},
		{"Order Completed", tracking.PurchaseCompleted},
		{"Products Searched", tracking.ProductSearched},
		{"Product List Viewed", tracking.ProductListViewed},
		{"Product List Filtered", tracking.ProductListFiltered},
		{"Cart Viewed", tracking.CartViewed},
		{"Order Refunded", tracking.OrderRefunded},
		{"Wishlist Added", "wishlist_added"},
		{"  Coupon -- Applied!! ", "coupon_applied"},
		{"already_snake", "already_snake"},
		{"Ünïcode Name", "n_code_name"},
		{"!!!", ""},
		{strings.Repeat("ab ", 40), strings.TrimRight(strings.Repeat("ab_", 22), "_")[:64]},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := tracking.SegmentEventName(tc.in)
			require.Equal(t, tc.want, got)
			if got != "" {
				require.True(t, tracking.ValidType(got), got)
			}
		})
	}
}

func TestFromSegment(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	usd := func(minor int64) tracking.Money { return tracking.Money{Minor: minor, Currency: "USD"} }
	envCtx := json.RawMessage(`{"library":{"name":"analytics-go"},"ip":"203.0.113.9","page":{"url":"https://shop.example/env"}}`)
	for _, tc := range []struct {
		name string
		msg  string
		env  tracking.SegmentEnvelope
		want tracking.Event // compared after Normalize; ReceivedAt is now
		err  string         // the field at fault, when rejected
	}{
		{
			name: "product viewed",
			msg: `{"type":"track","messageId":"m1","anonymousId":"a1","event":"Product Viewed","timestamp":"2026-03-01T11:00:00Z",
				"properties":{"product_id":"p1","name":"Mug","category":"Kitchen","price":19.99,"sku":"S-1"},
				"context":{"page":{"url":"https://shop.example/p1","referrer":"https://ref.example/"},"userAgent":"UA/1"}}`,
			want: tracking.Event{ID: "m1", Type: tracking.ProductViewed, AnonymousID: "a1", ProductID: "p1", ProductName: "Mug",
				Category: "Kitchen", Price: usd(1999), Currency: "USD", URL: "https://shop.example/p1", Referrer: "https://ref.example/",
				UserAgent: "UA/1", Properties: json.RawMessage(`{"sku":"S-1"}`), Timestamp: now.Add(-time.Hour)},
		},
		{
			name: "product added, numeric id and quantity",
			msg:  `{"type":"track","messageId":"m2","userId":42,"event":"Product Added","properties":{"product_id":7,"price":"5","quantity":3,"currency":"eur"}}`,
			want: tracking.Event{ID: "m2", Type: tracking.AddToCart, UserID: "42", ProductID: "7", Quantity: 3,
				Price: tracking.Money{Minor: 500, Currency: "EUR"}, Currency: "EUR", Timestamp: now},
		},
		{
			name: "order completed with revenue and products",
			msg: `{"type":"track","messageId":"m3","userId":"u1","event":"Order Completed",
				"properties":{"order_id":"o1","revenue":25.00,"total":30.5,"currency":"USD","products":[{"product_id":"p1","price":12.5,"quantity":2}]}}`,
			want: tracking.Event{ID: "m3", Type: tracking.PurchaseCompleted, UserID: "u1", OrderID: "o1", Revenue: usd(2500), Currency: "USD",
				Properties: json.RawMessage(`{"products":[{"product_id":"p1","price":12.5,"quantity":2}],"total":30.5}`), Timestamp: now},
		},
		{
			name: "order completed with total only",
			msg:  `{"type":"track","messageId":"m4","userId":"u1","event":"Order Completed","properties":{"order_id":"o2","total":0.30000000000000004}}`,
			want: tracking.Event{ID: "m4", Type: tracking.PurchaseCompleted, UserID: "u1", OrderID: "o2", Revenue: usd(30), Currency: "USD", Timestamp: now},
		},
		{
			name: "Spec v1 names and synonyms: id of a product event, orderId",
			msg:  `{"type":"track","messageId":"m14","userId":"u","event":"Viewed Product","properties":{"id":"p9","sku":"S"}}`,
			want: tracking.Event{ID: "m14", Type: tracking.ProductViewed, UserID: "u", ProductID: "p9", Properties: json.RawMessage(`{"sku":"S"}`), Timestamp: now},
		},
		{
			name: "id of another event stays a property, orderId is the order",
			msg:  `{"type":"track","messageId":"m15","userId":"u","event":"Order Completed","properties":{"id":"x","orderId":"o9","revenue":"1.50"}}`,
			want: tracking.Event{ID: "m15", Type: tracking.PurchaseCompleted, UserID: "u", OrderID: "o9", Revenue: usd(150), Currency: "USD",
				Properties: json.RawMessage(`{"id":"x"}`), Timestamp: now},
		},
		{
			name: "products searched keeps the query",
			msg:  `{"type":"track","messageId":"m5","anonymousId":"a1","event":"Products Searched","properties":{"query":"blue mug"}}`,
			want: tracking.Event{ID: "m5", Type: tracking.ProductSearched, AnonymousID: "a1", Properties: json.RawMessage(`{"query":"blue mug"}`), Timestamp: now},
		},
		{
			name: "custom track event",
			msg:  `{"type":"track","messageId":"m6","anonymousId":"a1","event":"Wishlist Added"}`,
			want: tracking.Event{ID: "m6", Type: "wishlist_added", AnonymousID: "a1", Timestamp: now},
		},
		{
			name: "envelope context under the message's own, sentAt skew",
			msg:  `{"type":"track","messageId":"m7","anonymousId":"a1","event":"Cart Viewed","timestamp":"2026-03-01T10:00:00Z","context":{"userAgent":"UA/2"}}`,
			env:  tracking.SegmentEnvelope{SentAt: now.Add(-2 * time.Hour), Context: envCtx},
			want: tracking.Event{ID: "m7", Type: tracking.CartViewed, AnonymousID: "a1", URL: "https://shop.example/env", UserAgent: "UA/2",
				Properties: json.RawMessage(`{"ip":"203.0.113.9"}`), Timestamp: now},
		},
		{
			name: "message sentAt over the envelope's, originalTimestamp over timestamp",
			msg: `{"type":"track","messageId":"m8","anonymousId":"a1","event":"Cart Viewed","sentAt":"2026-03-01T11:30:00Z",
				"originalTimestamp":"2026-03-01T11:20:00Z","timestamp":"2000-01-01T00:00:00Z"}`,
			env:  tracking.SegmentEnvelope{SentAt: now.Add(-5 * time.Hour)},
			want: tracking.Event{ID: "m8", Type: tracking.CartViewed, AnonymousID: "a1", Timestamp: now.Add(-10 * time.Minute)},
		},
		{
			name: "page from the path, url from properties",
			msg:  `{"messageId":"m9","anonymousId":"a1","name":"Home","category":"Landing","properties":{"url":"https://shop.example/?utm_source=x","title":"Hi"},"context":{"page":{"url":"https://other/"}}}`,
			env:  tracking.SegmentEnvelope{Type: "page"},
			want: tracking.Event{ID: "m9", Type: tracking.PageViewed, AnonymousID: "a1", URL: "https://shop.example/?utm_source=x",
				Properties: json.RawMessage(`{"category":"Landing","name":"Home","title":"Hi"}`), Timestamp: now},
		},
		{
			name: "screen",
			msg:  `{"type":"screen","messageId":"m10","userId":"u1","name":"Cart"}`,
			want: tracking.Event{ID: "m10", Type: "screen_viewed", UserID: "u1", Properties: json.RawMessage(`{"name":"Cart"}`), Timestamp: now},
		},
		{
			name: "identify with traits",
			msg:  `{"type":"identify","messageId":"m11","userId":"u1","anonymousId":"a1","traits":{"email":"x@example.com","plan":"gold"}}`,
			want: tracking.Event{ID: "m11", Type: tracking.Identify, UserID: "u1", AnonymousID: "a1",
				Properties: json.RawMessage(`{"email":"x@example.com","plan":"gold"}`), Timestamp: now},
		},
		{
			name: "alias links previousId",
			msg:  `{"type":"alias","messageId":"m12","previousId":"a9","userId":"u9"}`,
			want: tracking.Event{ID: "m12", Type: tracking.Identify, UserID: "u9", AnonymousID: "a9", Timestamp: now},
		},
		{
			name: "group",
			msg:  `{"type":"group","messageId":"m13","userId":"u1","groupId":"g1","traits":{"name":"Acme"}}`,
			want: tracking.Event{ID: "m13", Type: "group", UserID: "u1", Properties: json.RawMessage(`{"group_id":"g1","traits":{"name":"Acme"}}`), Timestamp: now},
		},
		{name: "no type in a batch", msg: `{"messageId":"x","userId":"u"}`, err: "type"},
		{name: "unknown type", msg: `{"type":"nope","userId":"u"}`, err: "type"},
		{name: "track without event", msg: `{"type":"track","userId":"u"}`, err: "event"},
		{name: "no identity", msg: `{"type":"track","event":"Cart Viewed"}`, err: "anonymous_id"},
		{name: "product viewed without product_id", msg: `{"type":"track","userId":"u","event":"Product Viewed"}`, err: "product_id"},
		{name: "order without revenue", msg: `{"type":"track","userId":"u","event":"Order Completed","properties":{}}`, err: "revenue"},
		{name: "price finer than cents", msg: `{"type":"track","userId":"u","event":"Product Added","properties":{"product_id":"p","price":1.999}}`, err: "properties.price"},
		{name: "price of the wrong type", msg: `{"type":"track","userId":"u","event":"Product Added","properties":{"product_id":"p","price":true}}`, err: "properties.price"},
		{name: "bad currency", msg: `{"type":"track","userId":"u","event":"Cart Viewed","properties":{"currency":"ZZZ","price":1}}`, err: "currency"},
		{name: "bad timestamp", msg: `{"type":"track","userId":"u","event":"Cart Viewed","timestamp":"yesterday"}`, err: "timestamp"},
		{name: "properties not an object", msg: `{"type":"track","userId":"u","event":"Cart Viewed","properties":[1]}`, err: "properties"},
		{name: "alias without previousId", msg: `{"type":"alias","userId":"u"}`, err: "previousId"},
		{name: "group without groupId", msg: `{"type":"group","userId":"u"}`, err: "groupId"},
		{name: "userId of the wrong type", msg: `{"type":"track","userId":{},"event":"X"}`, err: "userId"},
		{name: "oversized", msg: `{"type":"track","userId":"u","event":"X","properties":{"p":"` + strings.Repeat("x", tracking.SegmentMaxMessageBytes) + `"}}`, err: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, sentAt, err := tracking.FromSegment([]byte(tc.msg), tc.env)
			if err == nil {
				err = tracking.Normalize(&e, sentAt, tracking.NormalizeOptions{Now: now, ShopID: "s"})
			}
			if tc.want.Type == "" {
				require.Error(t, err)
				var ve *tracking.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.err, ve.Field, err.Error())
				return
			}
			require.NoError(t, err)
			tc.want.ReceivedAt, tc.want.ShopID = now, "s"
			require.Equal(t, tc.want, e)
		})
	}
}

func TestDecodeSegment(t *testing.T) {
	t.Run("batch envelope", func(t *testing.T) {
		b, err := tracking.DecodeSegment([]byte(`{"writeKey":"wk","sentAt":"2026-03-01T12:00:00Z","context":{"ip":"1.2.3.4"},
			"batch":[{"type":"track","event":"A","userId":"u"},{"type":"page","userId":"u"}]}`), "")
		require.NoError(t, err)
		require.Equal(t, "wk", b.WriteKey)
		require.Len(t, b.Messages, 2)
		require.Equal(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), b.Envelope.SentAt)
		require.JSONEq(t, `{"ip":"1.2.3.4"}`, string(b.Envelope.Context))
		events, rejected := b.AppendEvents(nil, tracking.NormalizeOptions{ShopID: "s"})
		require.Empty(t, rejected)
		require.Len(t, events, 2)
		require.Equal(t, "a", events[0].Type)
		require.Equal(t, tracking.PageViewed, events[1].Type)
	})
	t.Run("single message takes the path's type", func(t *testing.T) {
		b, err := tracking.DecodeSegment([]byte(`{"writeKey":"wk","type":"page","event":"Cart Viewed","userId":"u"}`), "track")
		require.NoError(t, err)
		require.Equal(t, "wk", b.WriteKey)
		events, rejected := b.AppendEvents(nil, tracking.NormalizeOptions{ShopID: "s"})
		require.Empty(t, rejected)
		require.Equal(t, tracking.CartViewed, events[0].Type)
	})
	for _, tc := range []struct{ name, body, kind string }{
		{"not JSON", `nope`, ""},
		{"an array", `[{}]`, ""},
		{"broken object", `{"batch":[`, ""},
		{"batch not an array", `{"batch":{}}`, ""},
		{"broken single", `{"type":`, "track"},
		{"single over 32 KB", `{"p":"` + strings.Repeat("x", tracking.SegmentMaxMessageBytes) + `"}`, "track"},
		{"too many messages", `{"batch":[` + strings.Repeat(`{},`, tracking.MaxBatchLen) + `{}]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tracking.DecodeSegment([]byte(tc.body), tc.kind)
			require.Error(t, err)
		})
	}
}
