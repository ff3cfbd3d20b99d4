package shopify_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/integrations/shopify"
	"github.com/shoplytics/shoplytics/tracking"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func money(t *testing.T, s, cur string) tracking.Money {
	t.Helper()
	m, err := tracking.ParseMoney(s, cur)
	require.NoError(t, err)
	return m
}

func TestOrderWebhookMapsToOnePurchase(t *testing.T) {
	body := fixture(t, "orders_create.json")
	for _, topic := range []string{shopify.TopicOrdersCreate, shopify.TopicOrdersPaid} {
		e, err := shopify.Webhook(topic, body, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
		require.NoError(t, err)
		require.Equal(t, "shopify:order:820982911946154508", e.ID, "the id keeps every digit and is the same for both topics")
		require.Equal(t, tracking.PurchaseCompleted, e.Type)
		require.Equal(t, "820982911946154508", e.OrderID)
		require.Equal(t, "115310627314723954", e.UserID)
		require.Equal(t, "f3b5a4c2e1d0987654321abcdef01234", e.AnonymousID)
		require.Equal(t, money(t, "403.00", "USD"), e.Revenue)
		require.Equal(t, "USD", e.Currency)
		require.Equal(t, time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), e.Timestamp)
		require.Equal(t, "https://www.google.com/search?q=ipod", e.Referrer)
		require.True(t, strings.HasPrefix(e.URL, "/products/ipod-nano?utm_source=newsletter"))
		var props struct {
			Products []struct {
				ProductID string `json:"product_id"`
				Name      string `json:"name"`
				Price     string `json:"price"`
				Quantity  int64  `json:"quantity"`
				SKU       string `json:"sku"`
			} `json:"products"`
			OrderName string `json:"order_name"`
			Test      bool   `json:"test"`
		}
		require.NoError(t, json.Unmarshal(e.Properties, &props))
		require.Len(t, props.Products, 2)
		require.Equal(t, "632910392", props.Products[0].ProductID)
		require.Equal(t, "199.00", props.Products[0].Price)
		require.Equal(t, int64(1), props.Products[0].Quantity)
		require.Equal(t, "921728736", props.Products[1].ProductID)
		require.Equal(t, "IPod Touch 8GB", props.Products[1].Name)
		require.Equal(t, int64(2), props.Products[1].Quantity)
		require.Equal(t, "IPOD2009BLUE", props.Products[1].SKU)
		require.Equal(t, "#9999", props.OrderName)
		require.True(t, props.Test)

		e.ShopID = "shop-a"
		require.NoError(t, tracking.Normalize(&e, time.Time{}, tracking.NormalizeOptions{}), "the mapped event is valid")
	}
}

func TestRefundWebhookSumsSuccessfulRefundTransactions(t *testing.T) {
	e, err := shopify.Webhook(shopify.TopicRefundsCreate, fixture(t, "refunds_create.json"), "w1")
	require.NoError(t, err)
	require.Equal(t, "shopify:refund:890088186047892319", e.ID)
	require.Equal(t, tracking.OrderRefunded, e.Type)
	require.Equal(t, "820982911946154508", e.OrderID)
	require.Equal(t, money(t, "209.00", "USD"), e.Revenue, "199.00 + 10.00; the failed transaction is not money given back")
	require.Equal(t, "shopify-order:820982911946154508", e.AnonymousID, "the refund payload names no customer")
	require.Equal(t, time.Date(2022, 1, 3, 15, 15, 0, 0, time.UTC), e.Timestamp)
	require.Contains(t, string(e.Properties), `"product_id":"632910392"`)
	e.ShopID = "shop-a"
	require.NoError(t, tracking.Normalize(&e, time.Time{}, tracking.NormalizeOptions{}))
}

func TestRefundWebhookTakesTheCustomerThePayloadCarries(t *testing.T) {
	sample := fixture(t, "refunds_create.json")
	e, err := shopify.Webhook(shopify.TopicRefundsCreate, sample, "w1")
	require.NoError(t, err)
	require.Empty(t, e.UserID, "user_id 548380009 is the staff member who made the refund, not the customer")

	// The same refund with the order's customer in it, as Shopify's
	// customer object.
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(sample, &body))
	body["customer"] = json.RawMessage(`{"id":115310627314723954,"email":"john@example.com","created_at":"2021-12-31T19:00:00-05:00","state":"enabled","currency":"USD"}`)
	withCustomer, err := json.Marshal(body)
	require.NoError(t, err)
	e, err = shopify.Webhook(shopify.TopicRefundsCreate, withCustomer, "w1")
	require.NoError(t, err)
	require.Equal(t, "115310627314723954", e.UserID, "the order's customer, every digit kept")
	require.Empty(t, e.AnonymousID, "the customer is the person: no stand-in for the order")
	require.Equal(t, "shopify:refund:890088186047892319", e.ID)
	require.Equal(t, money(t, "209.00", "USD"), e.Revenue)
	e.ShopID = "shop-a"
	require.NoError(t, tracking.Normalize(&e, time.Time{}, tracking.NormalizeOptions{}))

	// The order read by the sync comes first.
	var r shopify.Refund
	require.NoError(t, json.Unmarshal(withCustomer, &r))
	e, err = shopify.RefundEvent(&r, &shopify.Order{ID: "820982911946154508", Currency: "USD", Customer: &shopify.Customer{ID: "42"}})
	require.NoError(t, err)
	require.Equal(t, "42", e.UserID)

	// A customer without an id is none.
	body["customer"] = json.RawMessage(`{"id":null}`)
	noID, err := json.Marshal(body)
	require.NoError(t, err)
	e, err = shopify.Webhook(shopify.TopicRefundsCreate, noID, "w1")
	require.NoError(t, err)
	require.Empty(t, e.UserID)
	require.Equal(t, "shopify-order:820982911946154508", e.AnonymousID)
}

func TestRefundWithoutTransactionsIsValuedAtItsLines(t *testing.T) {
	r := shopify.Refund{ID: "7", OrderID: "9", CreatedAt: "2023-07-05T19:05:24-04:00",
		RefundLineItems: []shopify.RefundLineItem{
			{Quantity: 1, Subtotal: "195.67", TotalTax: "3.98", LineItem: shopify.LineItem{ProductID: "632910392"}},
			{Quantity: 1, Subtotal: "195.66", TotalTax: "3.98", LineItem: shopify.LineItem{ProductID: "632910392"}},
		}}
	r.RefundLineItems[0].SubtotalSet.ShopMoney.CurrencyCode = "USD"
	r.RefundLineItems[1].SubtotalSet.ShopMoney.CurrencyCode = "USD"
	o := shopify.Order{ID: "9", Currency: "USD", Customer: &shopify.Customer{ID: "42"}, CheckoutToken: "tok"}
	e, err := shopify.RefundEvent(&r, &o)
	require.NoError(t, err)
	require.Equal(t, money(t, "399.29", "USD"), e.Revenue)
	require.Equal(t, "42", e.UserID, "the order gives the customer")
	require.Equal(t, "tok", e.AnonymousID)
}

func TestCheckoutAndCustomerWebhooks(t *testing.T) {
	e, err := shopify.Webhook(shopify.TopicCheckoutsCreate, fixture(t, "checkouts_create.json"), "w2")
	require.NoError(t, err)
	require.Equal(t, "shopify:checkout:f3b5a4c2e1d0987654321abcdef01234", e.ID)
	require.Equal(t, tracking.CheckoutStarted, e.Type)
	require.Equal(t, "603851970716743426", e.UserID)
	require.Equal(t, "f3b5a4c2e1d0987654321abcdef01234", e.AnonymousID, "the token joins the order made from it")
	require.Contains(t, string(e.Properties), `"total":"408.00"`)

	e, err = shopify.Webhook(shopify.TopicCustomersCreate, fixture(t, "customers_create.json"), "w3")
	require.NoError(t, err)
	require.Equal(t, "shopify:customer:706405506930370084", e.ID)
	require.Equal(t, tracking.Identify, e.Type)
	require.Equal(t, "706405506930370084", e.UserID)
	require.NotContains(t, string(e.Properties), "bob@biller.com", "nothing personal is kept")
}

func TestWebhookErrors(t *testing.T) {
	tests := []struct {
		name, topic, body string
		is                error
		field             string
	}{
		{"unknown topic", "products/update", `{"id":1}`, shopify.ErrUnknownTopic, ""},
		{"voided order", "orders/create", `{"id":1,"financial_status":"voided","currency":"USD","total_price":"1.00"}`, shopify.ErrNothingToRecord, ""},
		{"no currency", "orders/create", `{"id":1,"total_price":"1.00","customer":{"id":2}}`, nil, "currency"},
		{"no total", "orders/paid", `{"id":1,"currency":"USD","customer":{"id":2}}`, nil, "total_price"},
		{"sub-cent total", "orders/paid", `{"id":1,"currency":"USD","total_price":"1.001","customer":{"id":2}}`, nil, "total_price"},
		{"bad time", "orders/paid", `{"id":1,"currency":"USD","total_price":"1.00","created_at":"yesterday"}`, nil, "created_at"},
		{"id of the wrong type", "orders/paid", `{"id":{"a":1},"currency":"USD","total_price":"1.00"}`, nil, ""},
		{"customer without id", "customers/create", `{"email":"a@b.c"}`, nil, "id"},
		{"refund in two currencies", "refunds/create", `{"id":1,"order_id":2,"transactions":[{"kind":"refund","amount":"1.00","currency":"USD"},{"kind":"refund","amount":"1.00","currency":"EUR"}]}`, nil, "transactions[1].amount"},
		{"not JSON", "orders/create", `<xml/>`, nil, ""},
		{"string id with a lone surrogate", "orders/create", `{"id":"o\ud800","currency":"USD","total_price":"1.00"}`, nil, "id"},
		{"checkout token with a lone surrogate", "orders/create", `{"id":1,"checkout_token":"t\udbff","currency":"USD","total_price":"1.00"}`, nil, "checkout_token"},
		{"line item title not UTF-8", "orders/create", "{\"id\":1,\"currency\":\"USD\",\"total_price\":\"1.00\",\"line_items\":[{\"product_id\":2,\"title\":\"\xff\"}]}", nil, "title"},
		{"customer id with a lone low surrogate", "customers/create", `{"id":"c\udc00"}`, nil, "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := shopify.Webhook(tc.topic, []byte(tc.body), "w")
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			if tc.field != "" {
				var ve *tracking.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.field, ve.Field)
			}
		})
	}
}

// Text that encoding/json would decode with a loss is refused (see
// TestWebhookErrors); a surrogate pair, escaped or not, is no loss.
func TestWebhookTakesSurrogatePairs(t *testing.T) {
	for _, title := range []string{`\ud83d\ude00`, `\uD83D\uDE00`, "😀"} {
		body := `{"id":"o` + title + `","currency":"USD","total_price":"1.00","line_items":[{"product_id":2,"title":"` + title + `"}]}`
		e, err := shopify.Webhook("orders/create", []byte(body), "w")
		require.NoError(t, err, body)
		require.Equal(t, "shopify:order:o😀", e.ID)
		require.Contains(t, string(e.Properties), "😀")
	}
	_, err := shopify.Webhook("orders/create", []byte(`{"id":1,"currency":"USD","total_price":"1.00","note_attributes":{"k\ud800":"v"}}`), "w")
	var ve *tracking.ValidationError
	require.ErrorAs(t, err, &ve, "a key is checked too")
	require.Equal(t, "note_attributes", ve.Field, "named by the key it is in")
}

func TestOrderWithoutIDTakesTheWebhookID(t *testing.T) {
	e, err := shopify.Webhook("orders/create", []byte(`{"currency":"EUR","total_price":"10.00","customer":{"id":"5"}}`), "b54557e4")
	require.NoError(t, err)
	require.Equal(t, "shopify:webhook:b54557e4", e.ID)
	_, err = shopify.Webhook("orders/create", []byte(`{"currency":"EUR","total_price":"10.00","customer":{"id":"5"}}`), "")
	require.Error(t, err, "no natural key and no webhook id")
}

func TestLargeOrderPropertiesStayUnderTheLimit(t *testing.T) {
	o := shopify.Order{ID: "1", Currency: "USD", TotalPrice: "1000.00", Customer: &shopify.Customer{ID: "2"}}
	for i := range 300 {
		o.LineItems = append(o.LineItems, shopify.LineItem{ProductID: shopify.ID(fmt.Sprint(1000000 + i)), VariantID: "123456789012",
			SKU: "SKU-LONG-NAME-" + fmt.Sprint(i), Title: "A product with a long descriptive title", Price: "3.33", Quantity: 1})
	}
	e, err := shopify.OrderEvent(&o)
	require.NoError(t, err)
	require.LessOrEqual(t, len(e.Properties), tracking.MaxPropertiesLen)
	var props struct {
		Products []json.RawMessage `json:"products"`
		Total    int               `json:"products_total"`
	}
	require.NoError(t, json.Unmarshal(e.Properties, &props))
	require.Equal(t, 300, props.Total)
	require.NotEmpty(t, props.Products)
	require.Less(t, len(props.Products), 300)
}
