package tracking

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Canonical event types. Any other name matching [a-z0-9_]{1,64} is a custom
// event and is accepted as it is.
const (
	PageViewed          = "page_viewed"
	SessionStarted      = "session_started"
	ProductViewed       = "product_viewed"
	ProductListViewed   = "product_list_viewed"
	ProductSearched     = "product_searched"
	ProductListFiltered = "product_list_filtered"
	AddToCart           = "add_to_cart"
	RemoveFromCart      = "remove_from_cart"
	CartViewed          = "cart_viewed"
	CheckoutStarted     = "checkout_started"
	PurchaseCompleted   = "purchase_completed"
	OrderRefunded       = "order_refunded"
	Identify            = "identify"
)

// aliases maps accepted input names to canonical types.
var aliases = map[string]string{
	"view":          ProductViewed,
	"page_view":     PageViewed,
	"purchase":      PurchaseCompleted,
	"search":        ProductSearched,
	"filter":        ProductListFiltered,
	"session_start": SessionStarted,
}

// CanonicalType returns the canonical name for an input type name: aliases
// such as "view" or "purchase" become "product_viewed" and
// "purchase_completed"; every other name is returned unchanged.
func CanonicalType(name string) string {
	if c, ok := aliases[name]; ok {
		return c
	}
	return name
}

// Limits on event fields, in bytes.
const (
	MaxIDLen         = 128
	MaxShopIDLen     = 64
	MaxTypeLen       = 64
	MaxPropertiesLen = 8 << 10
	maxNameLen       = 512  // product_id, product_name, category, order_id
	maxURLLen        = 8192 // url, referrer
	maxUserAgentLen  = 1024
)

// MaxFutureSkew is how far past its receipt an event's timestamp may lie.
const MaxFutureSkew = 24 * time.Hour

// Event is one thing that happened in a shop. Its JSON form is the one of the
// API contract (snake_case fields; money as decimal strings on output).
//
// Price and Revenue are in Currency; their own Currency is set by Normalize
// whenever an amount was given, and empty otherwise.
type Event struct {
	ID          string
	ShopID      string
	Type        string
	UserID      string
	AnonymousID string
	SessionID   string
	ProductID   string
	ProductName string
	Category    string
	Price       Money // unit price
	Quantity    int64
	Revenue     Money // order total
	Currency    string
	OrderID     string
	URL         string
	Referrer    string
	UserAgent   string
	// Properties is a JSON object (compact), or nil.
	Properties json.RawMessage
	// Timestamp is when the event happened, in UTC, to the microsecond.
	Timestamp time.Time
	// ReceivedAt is when the server took the event, in UTC; never from a client.
	ReceivedAt time.Time
}

// MarshalJSON encodes e in the contract's JSON form; empty fields are left out.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// AppendJSON appends the JSON form of e to b, without the reflection of
// encoding/json; export and the live feed encode every event through it.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	key := func(name string) {
		if len(b) > 1 && b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			key(name)
			b = appendJSONString(b, v)
		}
	}
	money := func(name string, m Money) {
		if !m.IsZero() {
			key(name)
			b = append(b, '"')
			b = m.AppendText(b)
			b = append(b, '"')
		}
	}
	instant := func(name string, t time.Time) {
		if !t.IsZero() {
			key(name)
			b = append(b, '"')
			b = t.UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
	}
	str("id", e.ID)
	str("shop_id", e.ShopID)
	str("type", e.Type)
	str("user_id", e.UserID)
	str("anonymous_id", e.AnonymousID)
	str("session_id", e.SessionID)
	str("product_id", e.ProductID)
	str("product_name", e.ProductName)
	str("category", e.Category)
	money("price", e.Price)
	if e.Quantity != 0 {
		key("quantity")
		b = strconv.AppendInt(b, e.Quantity, 10)
	}
	money("revenue", e.Revenue)
	str("currency", e.Currency)
	str("order_id", e.OrderID)
	str("url", e.URL)
	str("referrer", e.Referrer)
	str("user_agent", e.UserAgent)
	if len(e.Properties) > 0 {
		key("properties")
		b = appendOneLine(b, e.Properties)
	}
	instant("timestamp", e.Timestamp)
	instant("received_at", e.ReceivedAt)
	return append(b, '}')
}

// UnmarshalJSON decodes one event object in any accepted input form
// (snake_case or camelCase names, aliases, numbers or strings for money). It
// does not normalise or validate: see Normalize.
func (e *Event) UnmarshalJSON(data []byte) error {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return fieldError(err)
	}
	ev, err := w.event()
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// DecodeStored decodes an event that shoplytics itself encoded with
// AppendJSON (a stream entry, an export line), keeping received_at, which
// client input never sets.
func DecodeStored(data []byte) (Event, error) {
	var w wireEvent
	if !decodeObjectFast(data, &w) {
		return decodeStoredJSON(data)
	}
	return w.stored()
}

// decodeStoredJSON is DecodeStored through encoding/json alone: the
// reference the fast path is tested against, and the path for anything the
// fast decoder hands back.
func decodeStoredJSON(data []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, fieldError(err)
	}
	if len(w.Properties) > 0 {
		// Stored properties are compact already; the fast path compacts
		// whatever it reads, and so does this one.
		var b bytes.Buffer
		if err := json.Compact(&b, w.Properties); err == nil {
			w.Properties = b.Bytes()
		}
	}
	return w.stored()
}

// stored makes the event of a stored form, keeping received_at.
func (w *wireEvent) stored() (Event, error) {
	e, err := w.event()
	if err != nil {
		return Event{}, err
	}
	if w.ReceivedAt != "" {
		if e.ReceivedAt, err = time.Parse(time.RFC3339Nano, string(w.ReceivedAt)); err != nil {
			return Event{}, &ValidationError{Field: "received_at", Reason: "not an RFC 3339 time"}
		}
		e.ReceivedAt = e.ReceivedAt.UTC()
	}
	e.Timestamp = e.Timestamp.UTC()
	return e, nil
}

// appendOneLine appends the JSON value raw with each raw line break made a
// space, so an event is one line of NDJSON or of a Server-Sent Events data
// field whatever white space its properties came with (an event stored
// without Normalize keeps them as given). In valid JSON a raw line break is
// only ever white space between tokens: in a string it is escaped.
func appendOneLine(b, raw []byte) []byte {
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(b, raw...)
	}
	start := len(b)
	b = append(b, raw...)
	for i := start; i < len(b); i++ {
		if b[i] == '\n' || b[i] == '\r' {
			b[i] = ' '
		}
	}
	return b
}
