package tracking

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// decodeOne decodes and normalises one event object the way ingestion does.
func decodeOne(t *testing.T, body string) (Event, error) {
	t.Helper()
	b, err := DecodeBody([]byte(body), false)
	require.NoError(t, err)
	require.Equal(t, 1, b.Len())
	events, rejected := b.Events(NormalizeOptions{Now: testNow, ShopID: "shop1"})
	if len(rejected) > 0 {
		require.Len(t, rejected, 1)
		require.Equal(t, 0, rejected[0].Index)
		return Event{}, rejected[0].Err
	}
	require.Len(t, events, 1)
	return events[0], nil
}

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// Every accepted input name of the contract lands in its field.
func TestInputNames(t *testing.T) {
	const base = `"anonymous_id":"a1"`
	for _, tc := range []struct {
		name  string
		body  string
		check func(t *testing.T, e Event)
	}{
		{"type", `{"type":"page_viewed",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, PageViewed, e.Type) }},
		{"event_type", `{"event_type":"page_viewed",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, PageViewed, e.Type) }},
		{"eventType", `{"eventType":"page_viewed",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, PageViewed, e.Type) }},
		{"event", `{"event":"page_viewed",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, PageViewed, e.Type) }},
		{"type wins over event", `{"event":"x","type":"page_viewed",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, PageViewed, e.Type) }},
		{"custom type", `{"type":"wishlist_added_2",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "wishlist_added_2", e.Type) }},
		{"id", `{"id":"e1","type":"x",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "e1", e.ID) }},
		{"numeric id", `{"id":12345678901234567890,"type":"x",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "12345678901234567890", e.ID) }},
		{"shop_id", `{"shop_id":"shop1","type":"x",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "shop1", e.ShopID) }},
		{"shopId", `{"shopId":"shop1","type":"x",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "shop1", e.ShopID) }},
		{"user_id", `{"type":"x","user_id":"u1"}`, func(t *testing.T, e Event) { require.Equal(t, "u1", e.UserID) }},
		{"userId", `{"type":"x","userId":"u1"}`, func(t *testing.T, e Event) { require.Equal(t, "u1", e.UserID) }},
		{"numeric userId", `{"type":"x","userId":42}`, func(t *testing.T, e Event) { require.Equal(t, "42", e.UserID) }},
		{"anonymousId", `{"type":"x","anonymousId":"a1"}`, func(t *testing.T, e Event) { require.Equal(t, "a1", e.AnonymousID) }},
		{"anonymous_id", `{"type":"x","anonymous_id":"a1"}`, func(t *testing.T, e Event) { require.Equal(t, "a1", e.AnonymousID) }},
		{"session_id", `{"type":"x","session_id":"s1"}`, func(t *testing.T, e Event) { require.Equal(t, "s1", e.SessionID) }},
		{"sessionId", `{"type":"x","sessionId":"s1"}`, func(t *testing.T, e Event) { require.Equal(t, "s1", e.SessionID) }},
		{"numeric session", `{"type":"x","session_id":-7.5}`, func(t *testing.T, e Event) { require.Equal(t, "-7.5", e.SessionID) }},
		{"product_id", `{"type":"x","product_id":"p1",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "p1", e.ProductID) }},
		{"productId", `{"type":"x","productId":"p1",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "p1", e.ProductID) }},
		{"numeric productId", `{"type":"x","productId":1001,` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "1001", e.ProductID) }},
		{"product_name", `{"type":"x","product_name":"Mug",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "Mug", e.ProductName) }},
		{"productName", `{"type":"x","productName":"Mug",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "Mug", e.ProductName) }},
		{"category", `{"type":"x","category":"Kitchen",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "Kitchen", e.Category) }},
		{"order_id", `{"type":"x","order_id":"o1",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "o1", e.OrderID) }},
		{"orderId", `{"type":"x","orderId":1001,` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "1001", e.OrderID) }},
		{"url", `{"type":"x","url":"https://s.example/p?a=1&b=<2>",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "https://s.example/p?a=1&b=<2>", e.URL) }},
		{"referrer", `{"type":"x","referrer":"https://google.com/",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "https://google.com/", e.Referrer) }},
		{"user_agent", `{"type":"x","user_agent":"Mozilla/5.0",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "Mozilla/5.0", e.UserAgent) }},
		{"userAgent", `{"type":"x","userAgent":"Mozilla/5.0",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "Mozilla/5.0", e.UserAgent) }},
		{"escaped string", `{"type":"x","product_name":"a\"b\\c\u00e9\ud83d\ude00\n",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "a\"b\\cé😀\n", e.ProductName) }},
		{"quantity", `{"type":"x","quantity":3,` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, int64(3), e.Quantity) }},
		{"quantity as string", `{"type":"x","quantity":" 3 ",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, int64(3), e.Quantity) }},
		{"price as number", `{"type":"x","price":19.99,` + base + `}`, func(t *testing.T, e Event) {
			require.Equal(t, Money{1999, "USD"}, e.Price)
			require.Equal(t, "USD", e.Currency)
		}},
		{"price as string", `{"type":"x","price":"19.99","currency":"eur",` + base + `}`, func(t *testing.T, e Event) {
			require.Equal(t, Money{1999, "EUR"}, e.Price)
			require.Equal(t, "EUR", e.Currency)
		}},
		{"price float noise", `{"type":"x","price":0.30000000000000004,` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{30, "USD"}, e.Price) }},
		{"price exponent", `{"type":"x","price":1.5E-1,` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{15, "USD"}, e.Price) }},
		{"price in JPY", `{"type":"x","price":500,"currency":"JPY",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{500, "JPY"}, e.Price) }},
		{"price in KWD", `{"type":"x","price":"1.25","currency":"KWD",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{1250, "KWD"}, e.Price) }},
		{"revenue", `{"type":"purchase","revenue":"100.10",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{10010, "USD"}, e.Revenue) }},
		{"order_amount", `{"type":"purchase","order_amount":100.1,` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{10010, "USD"}, e.Revenue) }},
		{"total", `{"type":"purchase","total":"100.1",` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{10010, "USD"}, e.Revenue) }},
		{"revenue wins over total", `{"type":"purchase","total":1,"revenue":2,` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, Money{200, "USD"}, e.Revenue) }},
		{"properties", `{"type":"x","properties":{ "a" : [1, 2] },` + base + `}`, func(t *testing.T, e Event) { require.JSONEq(t, `{"a":[1,2]}`, string(e.Properties)) }},
		{"properties null", `{"type":"x","properties":null,` + base + `}`, func(t *testing.T, e Event) { require.Nil(t, e.Properties) }},
		{"null fields", `{"type":"x","id":null,"price":null,"quantity":null,` + base + `}`, func(t *testing.T, e Event) {
			require.NotEmpty(t, e.ID)
			require.True(t, e.Price.IsZero())
			require.Zero(t, e.Quantity)
		}},
		{"timestamp", `{"type":"x","timestamp":"2025-03-14T10:00:00.123456789+02:00",` + base + `}`, func(t *testing.T, e Event) {
			require.Equal(t, time.Date(2025, 3, 14, 8, 0, 0, 123456000, time.UTC), e.Timestamp)
		}},
		{"unknown fields ignored", `{"type":"x","context":{"ip":"1.2.3.4"},"extra":[1],` + base + `}`, func(t *testing.T, e Event) { require.Equal(t, "x", e.Type) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := decodeOne(t, tc.body)
			require.NoError(t, err)
			tc.check(t, e)
		})
	}
}

func TestTypeAliases(t *testing.T) {
	for in, want := range map[string]string{
		"view":          ProductViewed,
		"page_view":     PageViewed,
		"purchase":      PurchaseCompleted,
		"search":        ProductSearched,
		"filter":        ProductListFiltered,
		"session_start": SessionStarted,
		"add_to_cart":   AddToCart,
		"custom_thing":  "custom_thing",
	} {
		require.Equal(t, want, CanonicalType(in), in)
		body := `{"type":"` + in + `","anonymous_id":"a","product_id":"p","revenue":1}`
		e, err := decodeOne(t, body)
		require.NoError(t, err)
		require.Equal(t, want, e.Type)
	}
}

// A value of the wrong JSON type is rejected naming the field it was in.
func TestWrongTypesNameTheField(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"type":5,"anonymous_id":"a"}`, "type"},
		{`{"eventType":true,"anonymous_id":"a"}`, "type"},
		{`{"type":"x","id":true,"anonymous_id":"a"}`, "id"},
		{`{"type":"x","userId":{},"anonymous_id":"a"}`, "user_id"},
		{`{"type":"x","anonymous_id":["a"]}`, "anonymous_id"},
		{`{"type":"x","anonymous_id":"a","price":true}`, "price"},
		{`{"type":"x","anonymous_id":"a","price":""}`, "price"},
		{`{"type":"x","anonymous_id":"a","price":"abc"}`, "price"},
		{`{"type":"x","anonymous_id":"a","total":"1e999"}`, "total"},
		{`{"type":"x","anonymous_id":"a","order_amount":[1]}`, "order_amount"},
		{`{"type":"x","anonymous_id":"a","quantity":1.5}`, "quantity"},
		{`{"type":"x","anonymous_id":"a","quantity":"x"}`, "quantity"},
		{`{"type":"x","anonymous_id":"a","currency":1}`, "currency"},
		{`{"type":"x","anonymous_id":"a","currency":"dollars"}`, "currency"},
		{`{"type":"x","anonymous_id":"a","currency":"XYZ"}`, "currency"},
		{`{"type":"x","anonymous_id":"a","price":1,"currency":"xts"}`, "currency"},
		{`{"type":"x","anonymous_id":"a","url":1}`, "url"},
		{`{"type":"x","anonymous_id":"a","timestamp":1700000000}`, "timestamp"},
		{`{"type":"x","anonymous_id":"a","timestamp":"yesterday"}`, "timestamp"},
		{`{"type":"x","anonymous_id":"a","properties":[1]}`, "properties"},
		{`{"type":"x","anonymous_id":"a","properties":"s"}`, "properties"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			_, err := decodeOne(t, tc.body)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Field, ve.Error())
		})
	}
}

func TestEventUnmarshalJSON(t *testing.T) {
	var e Event
	require.NoError(t, json.Unmarshal([]byte(`{"eventType":"view","userId":7,"price":"2.50","currency":"eur"}`), &e))
	require.Equal(t, "view", e.Type, "UnmarshalJSON does not normalise")
	require.Equal(t, "7", e.UserID)
	require.Equal(t, Money{250, "EUR"}, e.Price)

	err := json.Unmarshal([]byte(`{"price":true}`), &e)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "price", ve.Field)
}

// decodeBoth decodes one event object through the fast decoder and through
// encoding/json alone, and requires the same outcome of both.
func decodeBoth(t *testing.T, body string) (Event, error) {
	t.Helper()
	e, err := decodeOne(t, body)
	ref, refErr := decodeReference([]byte(body), false)
	require.NoError(t, refErr)
	events, rejected := ref.Events(NormalizeOptions{Now: testNow, ShopID: "shop1"})
	if err != nil {
		require.Empty(t, events)
		require.Len(t, rejected, 1)
		require.EqualError(t, rejected[0].Err, err.Error())
		return Event{}, err
	}
	require.Empty(t, rejected)
	require.Len(t, events, 1)
	require.Equal(t, e.Price, events[0].Price)
	require.Equal(t, e.Revenue, events[0].Revenue)
	return e, nil
}

// An amount finer than its currency's minor unit, or a negative one, is
// refused naming its field, by either decoder and wherever the currency
// stands in the object; float noise and trailing zeros are not finer.
func TestMoneyFinerThanTheMinorUnitOrNegative(t *testing.T) {
	const who = `"anonymous_id":"a"`
	for _, tc := range []struct {
		body         string
		err          string // refused with this, or accepted
		price, total Money
		validation   bool // refused by validation, not already by Event.UnmarshalJSON
	}{
		{body: `{"type":"purchase",` + who + `,"revenue":19.999}`, err: "revenue: 19.999 has more decimal places than USD allows (2)"},
		{body: `{"type":"purchase",` + who + `,"revenue":"19.999","currency":"USD"}`, err: "revenue: 19.999 has more decimal places than USD allows (2)"},
		{body: `{"type":"x",` + who + `,"price":100.5,"currency":"jpy"}`, err: "price: 100.5 has more decimal places than JPY allows (0)"},
		{body: `{"currency":"KWD","type":"x",` + who + `,"price":"1.2505"}`, err: "price: 1.2505 has more decimal places than KWD allows (3)"},
		{body: `{"type":"purchase",` + who + `,"total":0.001}`, err: "total: 0.001 has more decimal places than USD allows (2)"},
		{body: `{"type":"purchase",` + who + `,"order_amount":"2.675","currency":"EUR"}`, err: "order_amount: 2.675 has more decimal places than EUR allows (2)"},
		{body: `{"type":"x",` + who + `,"price":-0.01}`, err: "price: must not be negative", validation: true},
		{body: `{"type":"x",` + who + `,"price":"-5","currency":"JPY"}`, err: "price: must not be negative", validation: true},
		{body: `{"type":"purchase",` + who + `,"total":-1}`, err: "revenue: must not be negative", validation: true},
		{body: `{"type":"x",` + who + `,"price":"-0"}`, price: Money{0, "USD"}},
		{body: `{"type":"x",` + who + `,"price":"1.00","currency":"XYZ"}`, err: "currency: not an ISO 4217 currency code"},
		{body: `{"currency":"XXX","type":"x",` + who + `}`, err: "currency: not an ISO 4217 currency code"},
		{body: `{"type":"x",` + who + `,"price":"1","currency":"xof"}`, price: Money{1, "XOF"}},
		{body: `{"type":"x",` + who + `,"price":"1.5","currency":"XAU"}`, price: Money{150, "XAU"}},
		{body: `{"type":"purchase",` + who + `,"revenue":"19.990000"}`, total: Money{1999, "USD"}},
		{body: `{"type":"purchase",` + who + `,"revenue":0.30000000000000004}`, total: Money{30, "USD"}},
		{body: `{"type":"x",` + who + `,"price":0.7999999999999999,"currency":"EUR"}`, price: Money{80, "EUR"}},
		{body: `{"type":"x",` + who + `,"price":"1.250","currency":"KWD"}`, price: Money{1250, "KWD"}},
		{body: `{"type":"x",` + who + `,"price":100,"currency":"JPY"}`, price: Money{100, "JPY"}},
		{body: `{"type":"x",` + who + `,"price":1e2}`, price: Money{10000, "USD"}},
	} {
		t.Run(tc.body, func(t *testing.T) {
			e, err := decodeBoth(t, tc.body)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				if !tc.validation {
					var direct Event
					require.EqualError(t, json.Unmarshal([]byte(tc.body), &direct), tc.err, "Event.UnmarshalJSON")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.price, e.Price)
			require.Equal(t, tc.total, e.Revenue)
		})
	}
}

// A string field holding invalid UTF-8 or an unpaired UTF-16 surrogate
// escape is refused naming the field, in every input name and by both
// decoders, rather than repaired to U+FFFD: "s\ud800" and "s\udbff" would
// otherwise become the same id.
func TestStringFieldsRefuseInvalidUTF8(t *testing.T) {
	fields := map[string]string{ // input name: the field named
		"id": "id", "shop_id": "shop_id", "shopId": "shop_id",
		"type": "type", "event_type": "type", "eventType": "type", "event": "type",
		"user_id": "user_id", "userId": "user_id", "anonymous_id": "anonymous_id", "anonymousId": "anonymous_id",
		"session_id": "session_id", "sessionId": "session_id", "product_id": "product_id", "productId": "product_id",
		"product_name": "product_name", "productName": "product_name", "category": "category",
		"currency": "currency", "order_id": "order_id", "orderId": "order_id",
		"url": "url", "referrer": "referrer", "user_agent": "user_agent", "userAgent": "user_agent",
		"timestamp": "timestamp", "sent_at": "sent_at", "sentAt": "sent_at", "received_at": "received_at",
		"price": "price", "revenue": "revenue", "order_amount": "order_amount", "total": "total", "quantity": "quantity",
	}
	const surrogate, badUTF8 = "contains an unpaired UTF-16 surrogate", "not valid UTF-8"
	for _, tc := range []struct{ value, reason string }{
		{`s\ud800`, surrogate},
		{`s\udbff`, surrogate},
		{`\udc00s`, surrogate},
		{`s\ud800x`, surrogate},
		{`s\ud800\u0041`, surrogate},
		{`s\ud800\ud800\udc00`, surrogate},
		{`s\ude00\ud83d`, surrogate},
		{`s\ud83d`, surrogate},
		{"s\xff", badUTF8},
		{"s\xc3", badUTF8},
		{"s\xed\xa0\x80", badUTF8}, // a surrogate encoded as UTF-8
		{"s\xc0\xaf", badUTF8},     // overlong
		{"\xff" + `\ud800`, badUTF8},
		{`\ud800` + "\xff", surrogate},
		{`\n` + "\xff", badUTF8},
	} {
		for in, field := range fields {
			body := `{"` + in + `":"` + tc.value + `"`
			if in != "type" {
				body += `,"type":"x"`
			}
			if in != "anonymous_id" {
				body += `,"anonymous_id":"a"`
			}
			body += "}"
			t.Run(body, func(t *testing.T) {
				_, err := decodeBoth(t, body)
				require.EqualError(t, err, field+": "+tc.reason)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, field, ve.Field)
				var e Event
				require.EqualError(t, json.Unmarshal([]byte(body), &e), field+": "+tc.reason, "Event.UnmarshalJSON")
				_, err = DecodeStored([]byte(body))
				require.EqualError(t, err, field+": "+tc.reason, "DecodeStored")
			})
		}
	}
}

// Valid escapes, a surrogate pair among them, stay accepted.
func TestStringFieldsKeepValidEscapes(t *testing.T) {
	for _, in := range []string{"id", "userId", "anonymous_id", "session_id", "product_name", "category", "order_id", "url", "referrer", "userAgent"} {
		body := `{"type":"x","anonymous_id":"a","` + in + `":"s\ud83d\ude00\u00e9\uFFFD` + "\xef\xbf\xbd日本" + `"}`
		if in == "anonymous_id" {
			body = `{"type":"x","anonymous_id":"s\ud83d\ude00\u00e9\uFFFD` + "\xef\xbf\xbd日本" + `"}`
		}
		_, err := decodeBoth(t, body)
		require.NoError(t, err, body)
	}
	e, err := decodeBoth(t, `{"type":"x","sessionId":"s\ud83d\ude00"}`)
	require.NoError(t, err)
	require.Equal(t, "s😀", e.SessionID)
}

// Two ids that differ only in their unpaired surrogates are both refused,
// not stored as one and dropped as a duplicate.
func TestUnpairedSurrogatesDoNotCollide(t *testing.T) {
	for _, body := range []string{
		`[{"type":"x","session_id":"s\ud800"},{"type":"x","session_id":"s\udbff"}]`,
		`{"batch":[{"type":"x","session_id":"s\ud800"},{"type":"x","session_id":"s\udbff"}]}`,
		"{\"type\":\"x\",\"session_id\":\"s\\ud800\"}\n{\"type\":\"x\",\"session_id\":\"s\\udbff\"}\n",
	} {
		requireSameDecoding(t, []byte(body), false)
		b, err := DecodeBody([]byte(body), false)
		require.NoError(t, err)
		events, rejected := b.Events(NormalizeOptions{Now: testNow, ShopID: "shop1"})
		require.Empty(t, events, body)
		require.Len(t, rejected, 2, body)
		for k, r := range rejected {
			require.Equal(t, k, r.Index)
			require.EqualError(t, r.Err, "session_id: contains an unpaired UTF-16 surrogate")
		}
	}
}
