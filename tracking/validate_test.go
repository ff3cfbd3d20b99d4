package tracking

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func validEvent() Event {
	return Event{
		ID:          "e1",
		ShopID:      "shop1",
		Type:        ProductViewed,
		AnonymousID: "a1",
		ProductID:   "p1",
		Timestamp:   testNow.Add(-time.Minute),
		ReceivedAt:  testNow,
	}
}

func TestNormalize(t *testing.T) {
	opts := NormalizeOptions{Now: testNow}
	for _, tc := range []struct {
		name  string
		edit  func(e *Event)
		opts  NormalizeOptions
		sent  time.Time
		field string // rejected naming this field, or accepted when empty
		check func(t *testing.T, e Event)
	}{
		{name: "generates an id", edit: func(e *Event) { e.ID = "" }, opts: opts, check: func(t *testing.T, e Event) {
			require.Regexp(t, uuidV7, e.ID)
		}},
		{name: "keeps a given id", opts: opts, check: func(t *testing.T, e Event) { require.Equal(t, "e1", e.ID) }},
		{name: "sets received_at from Now", edit: func(e *Event) { e.ReceivedAt = time.Time{} }, opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, testNow.Truncate(time.Microsecond), e.ReceivedAt)
		}},
		{name: "overrides a client received_at", edit: func(e *Event) { e.ReceivedAt = testNow.Add(-time.Hour) }, opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, testNow.Truncate(time.Microsecond), e.ReceivedAt)
		}},
		{name: "received_at defaults to the clock", edit: func(e *Event) { e.Timestamp = time.Time{} }, check: func(t *testing.T, e Event) {
			require.WithinDuration(t, time.Now(), e.ReceivedAt, time.Hour)
			require.Equal(t, e.ReceivedAt, e.Timestamp)
		}},
		{name: "timestamp defaults to received_at", edit: func(e *Event) { e.Timestamp = time.Time{} }, opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, e.ReceivedAt, e.Timestamp)
		}},
		{name: "timestamp in UTC to the microsecond", edit: func(e *Event) {
			e.Timestamp = time.Date(2025, 3, 14, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
		}, opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, time.Date(2025, 3, 14, 11, 0, 0, 123456000, time.UTC), e.Timestamp)
			require.Equal(t, time.UTC, e.Timestamp.Location())
		}},
		{name: "skew corrected by the event's sent_at", edit: func(e *Event) {
			e.Timestamp = testNow.Add(-10 * time.Second).Add(time.Hour) // client clock one hour fast
		}, sent: testNow.Add(time.Hour), opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, testNow.Add(-10*time.Second).Truncate(time.Microsecond), e.Timestamp)
		}},
		{name: "skew corrected by the envelope's sent_at", edit: func(e *Event) {
			e.Timestamp = testNow.Add(-10 * time.Second).Add(-2 * time.Hour) // client clock two hours slow
		}, opts: NormalizeOptions{Now: testNow, SentAt: testNow.Add(-2 * time.Hour)}, check: func(t *testing.T, e Event) {
			require.Equal(t, testNow.Add(-10*time.Second).Truncate(time.Microsecond), e.Timestamp)
		}},
		{name: "event's sent_at wins over the envelope's", edit: func(e *Event) {
			e.Timestamp = testNow.Add(time.Hour)
		}, sent: testNow.Add(time.Hour), opts: NormalizeOptions{Now: testNow, SentAt: testNow.Add(-time.Hour)}, check: func(t *testing.T, e Event) {
			require.Equal(t, testNow.Truncate(time.Microsecond), e.Timestamp)
		}},
		{name: "skew correction lets a far future clock through", edit: func(e *Event) {
			e.Timestamp = testNow.Add(48 * time.Hour)
		}, sent: testNow.Add(48 * time.Hour), opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, testNow.Truncate(time.Microsecond), e.Timestamp)
		}},
		{name: "no skew correction without a timestamp", edit: func(e *Event) { e.Timestamp = time.Time{} }, sent: testNow.Add(time.Hour), opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, e.ReceivedAt, e.Timestamp)
		}},
		{name: "23h in the future is accepted", edit: func(e *Event) { e.Timestamp = testNow.Add(23 * time.Hour) }, opts: opts},
		{name: "more than 24h in the future is rejected", edit: func(e *Event) { e.Timestamp = testNow.Add(24*time.Hour + time.Second) }, opts: opts, field: "timestamp"},
		{name: "before 1970 is rejected", edit: func(e *Event) { e.Timestamp = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) }, opts: opts, field: "timestamp"},
		{name: "canonical type", edit: func(e *Event) { e.Type = "view" }, opts: opts, check: func(t *testing.T, e Event) { require.Equal(t, ProductViewed, e.Type) }},
		{name: "missing shop gets the key's shop", edit: func(e *Event) { e.ShopID = "" }, opts: NormalizeOptions{Now: testNow, ShopID: "shopK"}, check: func(t *testing.T, e Event) {
			require.Equal(t, "shopK", e.ShopID)
		}},
		{name: "same shop as the key", opts: NormalizeOptions{Now: testNow, ShopID: "shop1"}},
		{name: "another shop than the key's is rejected", opts: NormalizeOptions{Now: testNow, ShopID: "shopK"}, field: "shop_id"},
		{name: "missing shop without a key is rejected", edit: func(e *Event) { e.ShopID = "" }, opts: opts, field: "shop_id"},
		{name: "currency defaults to USD with an amount", edit: func(e *Event) { e.Price = Money{Minor: 250} }, opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, "USD", e.Currency)
			require.Equal(t, Money{250, "USD"}, e.Price)
		}},
		{name: "currency upper-cased", edit: func(e *Event) { e.Currency = "eur"; e.Revenue = Money{Minor: 250} }, opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, "EUR", e.Currency)
			require.Equal(t, Money{250, "EUR"}, e.Revenue)
		}},
		{name: "no currency without an amount", opts: opts, check: func(t *testing.T, e Event) { require.Empty(t, e.Currency) }},
		{name: "properties compacted", edit: func(e *Event) { e.Properties = json.RawMessage(" {\n \"a\" : [ 1 , \"b c\" ] } ") }, opts: opts, check: func(t *testing.T, e Event) {
			require.Equal(t, `{"a":[1,"b c"]}`, string(e.Properties))
		}},
		{name: "properties must be an object", edit: func(e *Event) { e.Properties = json.RawMessage(`[1]`) }, opts: opts, field: "properties"},
		{name: "properties must be JSON", edit: func(e *Event) { e.Properties = json.RawMessage(`{"a":`) }, opts: opts, field: "properties"},
		{name: "properties must be one value", edit: func(e *Event) { e.Properties = json.RawMessage(`{}{}`) }, opts: opts, field: "properties"},
		{name: "properties must be UTF-8", edit: func(e *Event) { e.Properties = json.RawMessage("{\"a\":\"\xff\"}") }, opts: opts, field: "properties"},
		{name: "properties of 8 KiB", edit: func(e *Event) { e.Properties = props(MaxPropertiesLen) }, opts: opts},
		{name: "properties over 8 KiB", edit: func(e *Event) { e.Properties = props(MaxPropertiesLen + 1) }, opts: opts, field: "properties"},
		{name: "properties over 8 KiB only before compaction", edit: func(e *Event) {
			e.Properties = append(props(MaxPropertiesLen - 1)[:0:0], (" " + string(props(MaxPropertiesLen)))...)
		}, opts: opts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := validEvent()
			if tc.edit != nil {
				tc.edit(&e)
			}
			err := Normalize(&e, tc.sent, tc.opts)
			if tc.field != "" {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.field, ve.Field, ve.Error())
				return
			}
			require.NoError(t, err)
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

// props returns a compact JSON object of exactly n bytes.
func props(n int) json.RawMessage {
	const head, tail = `{"k":"`, `"}`
	return json.RawMessage(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name  string
		edit  func(e *Event)
		field string
	}{
		{"valid", func(e *Event) {}, ""},
		{"id required", func(e *Event) { e.ID = "" }, "id"},
		{"id of 128", func(e *Event) { e.ID = long(128) }, ""},
		{"id over 128", func(e *Event) { e.ID = long(129) }, "id"},
		{"id not UTF-8", func(e *Event) { e.ID = "\xff" }, "id"},
		{"shop required", func(e *Event) { e.ShopID = "" }, "shop_id"},
		{"shop over 64", func(e *Event) { e.ShopID = long(65) }, "shop_id"},
		{"shop characters", func(e *Event) { e.ShopID = "my shop" }, "shop_id"},
		{"shop punctuation", func(e *Event) { e.ShopID = "Shop-1.eu_2:x" }, ""},
		{"type required", func(e *Event) { e.Type = "" }, "type"},
		{"type upper case", func(e *Event) { e.Type = "PageViewed" }, "type"},
		{"type with space", func(e *Event) { e.Type = "page viewed" }, "type"},
		{"type of 64", func(e *Event) { e.Type = long(64) }, ""},
		{"type over 64", func(e *Event) { e.Type = long(65) }, "type"},
		{"type alias view", func(e *Event) { e.Type = "view" }, "type"},
		{"type alias purchase", func(e *Event) { e.Type = "purchase"; e.Revenue = Money{100, "USD"}; e.Currency = "USD" }, "type"},
		{"type alias session_start", func(e *Event) { e.Type = "session_start" }, "type"},
		{"canonical type", func(e *Event) { e.Type = PurchaseCompleted; e.Revenue = Money{100, "USD"}; e.Currency = "USD" }, ""},
		{"custom type", func(e *Event) { e.Type = "wishlist_added" }, ""},
		{"someone required", func(e *Event) { e.AnonymousID = "" }, "anonymous_id"},
		{"user_id is enough", func(e *Event) { e.AnonymousID = ""; e.UserID = "u" }, ""},
		{"session_id is enough", func(e *Event) { e.AnonymousID = ""; e.SessionID = "s" }, ""},
		{"user_id over 128", func(e *Event) { e.UserID = long(129) }, "user_id"},
		{"anonymous_id over 128", func(e *Event) { e.AnonymousID = long(129) }, "anonymous_id"},
		{"session_id over 128", func(e *Event) { e.SessionID = long(129) }, "session_id"},
		{"product_id over 512", func(e *Event) { e.ProductID = long(513) }, "product_id"},
		{"product_name over 512", func(e *Event) { e.ProductName = long(513) }, "product_name"},
		{"product_name not UTF-8", func(e *Event) { e.ProductName = "a\xc3" }, "product_name"},
		{"category over 512", func(e *Event) { e.Category = long(513) }, "category"},
		{"order_id over 512", func(e *Event) { e.OrderID = long(513) }, "order_id"},
		{"url over 8192", func(e *Event) { e.URL = long(8193) }, "url"},
		{"referrer over 8192", func(e *Event) { e.Referrer = long(8193) }, "referrer"},
		{"user_agent over 1024", func(e *Event) { e.UserAgent = long(1025) }, "user_agent"},
		{"product_viewed needs product_id", func(e *Event) { e.ProductID = "" }, "product_id"},
		{"add_to_cart needs product_id", func(e *Event) { e.Type = AddToCart; e.ProductID = "" }, "product_id"},
		{"remove_from_cart needs product_id", func(e *Event) { e.Type = RemoveFromCart; e.ProductID = "" }, "product_id"},
		{"page_viewed does not", func(e *Event) { e.Type = PageViewed; e.ProductID = "" }, ""},
		{"purchase needs revenue", func(e *Event) { e.Type = PurchaseCompleted }, "revenue"},
		{"purchase with revenue", func(e *Event) { e.Type = PurchaseCompleted; e.Revenue = Money{100, "USD"}; e.Currency = "USD" }, ""},
		{"free purchase", func(e *Event) { e.Type = PurchaseCompleted; e.Revenue = Money{0, "USD"}; e.Currency = "USD" }, ""},
		{"negative revenue", func(e *Event) { e.Revenue = Money{-1, "USD"}; e.Currency = "USD" }, "revenue"},
		{"negative price", func(e *Event) { e.Price = Money{-1, "USD"}; e.Currency = "USD" }, "price"},
		{"free product", func(e *Event) { e.Price = Money{0, "USD"}; e.Currency = "USD" }, ""},
		{"currency code", func(e *Event) { e.Currency = "usd" }, "currency"},
		{"currency not ISO 4217", func(e *Event) { e.Currency = "XYZ" }, "currency"},
		{"currency for testing", func(e *Event) { e.Currency = "XTS"; e.Price = Money{1, "XTS"} }, "currency"},
		{"currency CFA franc", func(e *Event) { e.Currency = "XAF"; e.Price = Money{1, "XAF"} }, ""},
		{"negative quantity", func(e *Event) { e.Quantity = -1 }, "quantity"},
		{"properties too large", func(e *Event) { e.Properties = props(MaxPropertiesLen + 1) }, "properties"},
		{"properties not JSON", func(e *Event) { e.Properties = json.RawMessage("=A1") }, "properties"},
		{"properties not an object", func(e *Event) { e.Properties = json.RawMessage(`"=1+1"`) }, "properties"},
		{"properties null", func(e *Event) { e.Properties = json.RawMessage("null") }, "properties"},
		{"properties cut short", func(e *Event) { e.Properties = json.RawMessage(`{"a":1`) }, "properties"},
		{"properties with line breaks", func(e *Event) { e.Properties = json.RawMessage("{\n \"a\": 1\n}") }, ""},
		{"timestamp required", func(e *Event) { e.Timestamp = time.Time{} }, "timestamp"},
		{"timestamp far future", func(e *Event) { e.Timestamp = testNow.Add(25 * time.Hour) }, "timestamp"},
		{"timestamp far future without received_at", func(e *Event) { e.Timestamp = testNow.Add(25 * time.Hour); e.ReceivedAt = time.Time{} }, ""},
		{"timestamp after 9999", func(e *Event) { e.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC); e.ReceivedAt = time.Time{} }, "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := validEvent()
			tc.edit(&e)
			err := Validate(&e)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Field)
			require.True(t, strings.HasPrefix(err.Error(), tc.field+": "), err.Error())
		})
	}
}

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := make(map[string]struct{}, 100_000)
	for range 100_000 {
		id := NewID(testNow)
		require.Regexp(t, uuidV7, id)
		_, dup := seen[id]
		require.False(t, dup, id)
		seen[id] = struct{}{}
	}
	// The first 48 bits are the Unix time in milliseconds, so ids sort by time.
	a, b := NewID(testNow), NewID(testNow.Add(time.Millisecond))
	require.Less(t, a, b)
	ms := fmt.Sprintf("%012x", testNow.UnixMilli())
	id := NewID(testNow)
	require.Equal(t, ms[:8]+"-"+ms[8:], id[:13])
}

func TestNULCharactersAreRefused(t *testing.T) {
	base := func() Event {
		return Event{ID: "x", ShopID: "s", Type: PageViewed, AnonymousID: "a", Timestamp: time.Now(), ReceivedAt: time.Now()}
	}
	e := base()
	e.UserID = "a\x00b"
	var ve *ValidationError
	require.ErrorAs(t, Validate(&e), &ve)
	require.Equal(t, "user_id", ve.Field)

	for _, tc := range []struct {
		props string
		bad   bool
	}{
		{`{"k":"a\u0000b"}`, true},
		{`{"k\u0000":1}`, true},
		{`{"k":"\\u0000"}`, false}, // an escaped backslash, then text
		{`{"k":"\\\u0000"}`, true}, // an escaped backslash, then NUL
		{`{"k":"u0000"}`, false},
	} {
		e := base()
		e.Properties = []byte(tc.props)
		err := Validate(&e)
		if tc.bad {
			require.ErrorAs(t, err, &ve, tc.props)
			require.Equal(t, "properties", ve.Field)
		} else {
			require.NoError(t, err, tc.props)
		}
	}
}

func TestMoneyInAnotherCurrencyThanTheEventIsRefused(t *testing.T) {
	e := Event{ID: "x", ShopID: "s", Type: PurchaseCompleted, UserID: "u", Currency: "USD",
		Revenue: Money{Minor: 100, Currency: "JPY"}, Timestamp: time.Now(), ReceivedAt: time.Now()}
	var ve *ValidationError
	require.ErrorAs(t, Validate(&e), &ve)
	require.Equal(t, "revenue", ve.Field)
	e.Revenue.Currency = "USD"
	e.Price = Money{Minor: 5, Currency: "EUR"}
	require.ErrorAs(t, Validate(&e), &ve)
	require.Equal(t, "price", ve.Field)
}

// Validate refuses every alias with a message naming its canonical type;
// Normalize, which canonicalises first, accepts them.
func TestValidateRefusesAliases(t *testing.T) {
	for alias, canonical := range aliases {
		e := validEvent()
		e.Type, e.Revenue, e.Currency = alias, Money{100, "USD"}, "USD"
		err := Validate(&e)
		require.EqualError(t, err, fmt.Sprintf("type: %q is an alias of %q; normalise the event first", alias, canonical))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "type", ve.Field)

		require.NoError(t, Normalize(&e, time.Time{}, NormalizeOptions{Now: testNow}))
		require.Equal(t, canonical, e.Type)
		require.NoError(t, Validate(&e))
	}
	require.Len(t, aliases, 6)
}
