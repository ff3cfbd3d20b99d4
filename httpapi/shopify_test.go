package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

const (
	shopifySecret    = "whsec_current_4f1c9a"
	shopifyOldSecret = "whsec_previous_77b2e0"
	shopifyDomain    = "jsmith.myshopify.com"
)

// shopifyShops are the test shops with Shopify set up: shop-a with a
// domain and a secret being rotated, shop-b without a secret.
var shopifyShops = []httpapi.Shop{
	{ID: "shop-a", WriteKey: "wk_a", ReadKey: "rk_a", ShopifySecret: shopifySecret, ShopifyPreviousSecret: shopifyOldSecret, ShopifyDomain: shopifyDomain},
	{ID: "shop-b", WriteKey: "wk_b", ReadKey: "rk_b"},
}

func shopifyFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "integrations", "shopify", "testdata", name))
	require.NoError(t, err)
	return b
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhook is one delivery as Shopify makes it.
type webhook struct {
	query, topic, id, domain, hmac string
	body                           []byte
}

func newShopifyEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "shopify.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return newEnv(t, envOptions{store: st, config: func(c *httpapi.Config) { c.Shops = shopifyShops }})
}

func (e *env) deliver(w webhook) (int, map[string]any) {
	e.t.Helper()
	hdr := map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": w.topic,
		"X-Shopify-Webhook-Id": w.id, "X-Shopify-Api-Version": "2024-10",
		"X-Shopify-Triggered-At": "2026-03-14T09:26:53.589793Z"}
	if w.domain != "" {
		hdr["X-Shopify-Shop-Domain"] = w.domain
	}
	if w.hmac != "" {
		hdr["X-Shopify-Hmac-Sha256"] = w.hmac
	}
	status, _, b := e.do("POST", "/webhooks/shopify"+w.query, w.body, hdr)
	var ans map[string]any
	require.NoError(e.t, json.Unmarshal(b, &ans), string(b))
	return status, ans
}

// deliverAccepted delivers each webhook, requiring each answered 200 with
// one event accepted, flushes, and returns the shop's stored events by
// type.
func (e *env) deliverAccepted(shop string, ws ...webhook) map[string]tracking.Event {
	e.t.Helper()
	for _, w := range ws {
		status, ans := e.deliver(w)
		require.Equal(e.t, http.StatusOK, status, ans)
		require.EqualValues(e.t, 1, ans["accepted"], w.topic)
	}
	e.flush()
	byType := map[string]tracking.Event{}
	for _, ev := range e.stored(shop) {
		byType[ev.Type] = ev
	}
	return byType
}

// signed is a webhook for shop-a found by its domain, signed with the
// current secret.
func signed(topic, id string, body []byte) webhook {
	return webhook{topic: topic, id: id, domain: shopifyDomain, hmac: sign(shopifySecret, body), body: body}
}

func TestShopifyWebhookReplayedIsStoredOnce(t *testing.T) {
	e := newShopifyEnv(t)
	body := shopifyFixture(t, "orders_create.json")
	for range 3 {
		status, ans := e.deliver(signed("orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", body))
		require.Equal(t, http.StatusOK, status, ans)
		require.EqualValues(t, 1, ans["accepted"])
	}
	e.flush()
	events := e.stored("shop-a")
	require.Len(t, events, 1)
	require.Equal(t, "shopify:order:820982911946154508", events[0].ID)
	require.Equal(t, "shop-a", events[0].ShopID)
}

func TestShopifyOrderCreateAndPaidCountOnePurchase(t *testing.T) {
	e := newShopifyEnv(t)
	body := shopifyFixture(t, "orders_create.json")
	status, _ := e.deliver(signed("orders/create", "a1", body))
	require.Equal(t, http.StatusOK, status)
	status, _ = e.deliver(signed("orders/paid", "a2", body))
	require.Equal(t, http.StatusOK, status)
	e.flush()

	q := analytics.Query{ShopID: "shop-a", From: time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC)}
	stats, err := analytics.Stats(context.Background(), e.store, q, analytics.StatsOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Purchases)
	require.Len(t, stats.Revenue, 1)
	require.Equal(t, "USD", stats.Revenue[0].Currency)
	require.Equal(t, "403.00", stats.Revenue[0].Total.String())
	require.EqualValues(t, 1, stats.Users)

	top, err := analytics.TopProducts(context.Background(), e.store, q, analytics.TopProductsOptions{By: analytics.ByPurchases})
	require.NoError(t, err)
	require.Len(t, top.Products, 2)
	byID := map[string]analytics.Product{}
	for _, p := range top.Products {
		byID[p.ProductID] = p
	}
	require.EqualValues(t, 1, byID["632910392"].Purchases)
	require.Equal(t, "199.00", byID["632910392"].Revenue.String())
	require.EqualValues(t, 1, byID["921728736"].Purchases)
	require.Equal(t, "209.00", byID["921728736"].Revenue.String(), "2 × 104.50")
	require.Equal(t, "IPod Touch 8GB", byID["921728736"].ProductName)
}

func TestShopifyRefundCheckoutAndCustomerWebhooks(t *testing.T) {
	e := newShopifyEnv(t)
	byType := e.deliverAccepted("shop-a",
		signed("checkouts/create", "c1", shopifyFixture(t, "checkouts_create.json")),
		signed("orders/create", "c2", shopifyFixture(t, "orders_create.json")),
		signed("refunds/create", "c3", shopifyFixture(t, "refunds_create.json")),
		signed("customers/create", "c4", shopifyFixture(t, "customers_create.json")),
	)
	require.Len(t, byType, 4)
	refund := byType[tracking.OrderRefunded]
	require.Equal(t, "209.00", refund.Revenue.String())
	require.Equal(t, "USD", refund.Currency)
	require.Equal(t, "820982911946154508", refund.OrderID)
	require.Equal(t, "shopify:checkout:f3b5a4c2e1d0987654321abcdef01234", byType[tracking.CheckoutStarted].ID)
	require.Equal(t, "706405506930370084", byType[tracking.Identify].UserID)

	q := analytics.Query{ShopID: "shop-a", From: time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC)}
	stats, err := analytics.Stats(context.Background(), e.store, q, analytics.StatsOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Checkouts)
	require.EqualValues(t, 1, stats.Purchases)
}

func TestShopifyRefundWebhookCarriesTheOrdersCustomer(t *testing.T) {
	e := newShopifyEnv(t)
	sample := shopifyFixture(t, "refunds_create.json")
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(sample, &body))
	body["customer"] = json.RawMessage(`{"id":115310627314723954,"email":"john@example.com","state":"enabled"}`)
	withCustomer, err := json.Marshal(body)
	require.NoError(t, err)
	byType := e.deliverAccepted("shop-a",
		signed("orders/create", "d1", shopifyFixture(t, "orders_create.json")),
		signed("refunds/create", "d2", withCustomer),
	)
	require.Equal(t, "115310627314723954", byType[tracking.OrderRefunded].UserID)
	require.Equal(t, byType[tracking.PurchaseCompleted].UserID, byType[tracking.OrderRefunded].UserID,
		"the refund is the buyer's, as the purchase is")
	require.Equal(t, "209.00", byType[tracking.OrderRefunded].Revenue.String())
}

func TestShopifyWebhookSignedWithThePreviousSecretDuringRotation(t *testing.T) {
	e := newShopifyEnv(t)
	body := shopifyFixture(t, "customers_create.json")
	w := signed("customers/create", "r1", body)
	w.hmac = sign(shopifyOldSecret, body)
	status, ans := e.deliver(w)
	require.Equal(t, http.StatusOK, status, ans)
	require.EqualValues(t, 1, ans["accepted"])
	e.flush()
	require.Len(t, e.stored("shop-a"), 1)
}

func TestShopifyWebhookRefusals(t *testing.T) {
	body := shopifyFixture(t, "orders_create.json")
	good := sign(shopifySecret, body)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = ' '
	tests := []struct {
		name   string
		w      webhook
		status int
		field  string
	}{
		{"no signature", webhook{topic: "orders/create", domain: shopifyDomain, body: body}, 401, "X-Shopify-Hmac-Sha256"},
		{"signature not base64", webhook{topic: "orders/create", domain: shopifyDomain, hmac: "not base64!", body: body}, 401, "X-Shopify-Hmac-Sha256"},
		{"signature under another secret", webhook{topic: "orders/create", domain: shopifyDomain, hmac: sign("guess", body), body: body}, 401, "X-Shopify-Hmac-Sha256"},
		{"body changed after signing", webhook{topic: "orders/create", domain: shopifyDomain, hmac: good, body: tampered}, 401, "X-Shopify-Hmac-Sha256"},
		{"signature in hex", webhook{topic: "orders/create", domain: shopifyDomain, hmac: strings.Repeat("ab", 32), body: body}, 401, "X-Shopify-Hmac-Sha256"},
		{"shop without a secret", webhook{query: "?shop=shop-b", topic: "orders/create", hmac: sign("", body), body: body}, 401, "shop"},
		{"unknown shop id", webhook{query: "?shop=nope", topic: "orders/create", hmac: good, body: body}, 404, "shop"},
		{"unknown domain", webhook{topic: "orders/create", domain: "other.myshopify.com", hmac: good, body: body}, 404, "X-Shopify-Shop-Domain"},
		{"no shop at all", webhook{topic: "orders/create", hmac: good, body: body}, 404, "shop"},
		{"shop and domain disagree", webhook{query: "?shop=shop-b", topic: "orders/create", domain: shopifyDomain, hmac: good, body: body}, 400, "X-Shopify-Shop-Domain"},
		{"no topic", webhook{domain: shopifyDomain, hmac: good, body: body}, 400, "X-Shopify-Topic"},
	}
	e := newShopifyEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, ans := e.deliver(tc.w)
			require.Equal(t, tc.status, status, ans)
			require.Equal(t, tc.field, ans["field"], ans)
			require.NotEmpty(t, ans["error"])
		})
	}
	e.flush()
	require.Empty(t, e.stored("shop-a"), "nothing refused is stored")
	require.Empty(t, e.stored("shop-b"))
}

func TestShopifyWebhookByShopQueryParameter(t *testing.T) {
	e := newShopifyEnv(t)
	body := shopifyFixture(t, "customers_create.json")
	status, ans := e.deliver(webhook{query: "?shop=shop-a", topic: "customers/create", id: "q1", hmac: sign(shopifySecret, body), body: body})
	require.Equal(t, http.StatusOK, status, ans)
	e.flush()
	require.Len(t, e.stored("shop-a"), 1)
}

func TestShopifyWebhookThatIsNoEventIsAcknowledged(t *testing.T) {
	e := newShopifyEnv(t)
	tests := []struct {
		name, topic, body, key string
	}{
		{"topic not mapped", "products/update", `{"id":632910392,"title":"IPod Nano - 8GB"}`, "ignored"},
		{"order voided unpaid", "orders/create", `{"id":1,"financial_status":"voided","currency":"USD","total_price":"1.00"}`, "ignored"},
		// No event type of the contract is a cancellation, and its money
		// comes back as the refunds/create of the refund it makes.
		{"order cancelled", "orders/cancelled", `{"id":820982911946154508,"cancelled_at":"2022-01-02T10:00:00-05:00","cancel_reason":"customer",` +
			`"financial_status":"refunded","currency":"USD","total_price":"403.00","customer":{"id":115310627314723954}}`, "ignored"},
		{"order without total", "orders/paid", `{"id":2,"currency":"USD","customer":{"id":3}}`, "dropped"},
		{"unknown currency", "orders/paid", `{"id":2,"currency":"ZZZ","total_price":"1.00","customer":{"id":3}}`, "dropped"},
		{"not JSON", "orders/paid", `not json`, "dropped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, ans := e.deliver(signed(tc.topic, "n-"+tc.name, []byte(tc.body)))
			require.Equal(t, http.StatusOK, status, "Shopify retries anything but a 2xx, and these would fail again")
			require.EqualValues(t, 0, ans["accepted"])
			require.NotEmpty(t, ans[tc.key], ans)
		})
	}
	e.flush()
	require.Empty(t, e.stored("shop-a"))
	_, _, metrics := e.do("GET", "/metrics", nil, nil)
	require.Contains(t, string(metrics), `shoplytics_shopify_webhooks_total{outcome="ignored"} 3`)
	require.Contains(t, string(metrics), `shoplytics_shopify_webhooks_total{outcome="dropped"} 3`)
}

func TestShopifyWebhookBodyOverTheLimit(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) { c.Shops = shopifyShops; c.MaxBodyBytes = 1024 }})
	body := []byte(`{"id":1,"note":"` + strings.Repeat("x", 2000) + `"}`)
	status, ans := e.deliver(signed("orders/create", "big", body))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, ans)
}

func TestShopifyConfigIsValidated(t *testing.T) {
	tests := []struct {
		name string
		shop httpapi.Shop
		want string
	}{
		{"previous secret alone", httpapi.Shop{ID: "s", ShopifyPreviousSecret: "x"}, "shopify_previous_secret"},
		{"previous secret same as current", httpapi.Shop{ID: "s", ShopifySecret: "x", ShopifyPreviousSecret: "x"}, "shopify_previous_secret"},
		{"domain with a scheme", httpapi.Shop{ID: "s", ShopifyDomain: "https://x.myshopify.com"}, "shopify_domain"},
		{"domain with a path", httpapi.Shop{ID: "s", ShopifyDomain: "x.myshopify.com/admin"}, "shopify_domain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.shop.Validate()
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), tc.want+":"), err.Error())
		})
	}
	require.NoError(t, httpapi.Shop{ID: "s", ShopifySecret: "a", ShopifyPreviousSecret: "b", ShopifyDomain: "Jsmith.myshopify.com"}.Validate())

	e := newEnv(t, envOptions{})
	_, err := httpapi.New(httpapi.Config{Store: e.store, Ingester: e.in, Shops: []httpapi.Shop{
		{ID: "a", ShopifyDomain: "x.myshopify.com"}, {ID: "b", ShopifyDomain: "X.myshopify.com"}}})
	require.ErrorContains(t, err, "shopify_domain")
}
