package tracking

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Segment's limits on the HTTP Tracking API: a message may be 32 KB and a
// batch body 500 KB. Segment's own clients keep under them (analytics-go
// counts 32,000 and 500,000 bytes); these are the binary kilobytes, so
// anything a client built to Segment's figures is taken.
const (
	SegmentMaxMessageBytes = 32 << 10
	SegmentMaxBatchBytes   = 500 << 10
)

// segmentTypes maps the Segment E-commerce Spec v2 event names to ours.
// Every other track name becomes a custom event (SegmentEventName).
var segmentTypes = map[string]string{
	"Product Viewed":        ProductViewed,
	"Product Added":         AddToCart,
	"Product Removed":       RemoveFromCart,
	"Checkout Started":      CheckoutStarted,
	"Order Completed":       PurchaseCompleted,
	"Products Searched":     ProductSearched,
	"Product List Viewed":   ProductListViewed,
	"Product List Filtered": ProductListFiltered,
	"Cart Viewed":           CartViewed,
	"Order Refunded":        OrderRefunded,
	// Spec v1 names, still sent by older integrations.
	"Viewed Product":    ProductViewed,
	"Added Product":     AddToCart,
	"Removed Product":   RemoveFromCart,
	"Completed Order":   PurchaseCompleted,
	"Searched Products": ProductSearched,
}

// SegmentEventName is the event type a Segment track call named name
// becomes: the E-commerce Spec v2 names map to the canonical types
// ("Order Completed" is purchase_completed); any other name is lower-cased,
// each run of characters other than a-z and 0-9 becomes one "_", and the
// result is trimmed of "_" and cut to MaxTypeLen ("Wishlist Added" is
// wishlist_added). It returns "" when nothing is left.
func SegmentEventName(name string) string {
	if t, ok := segmentTypes[strings.TrimSpace(name)]; ok {
		return t
	}
	return string(appendSegmentName(make([]byte, 0, min(len(name), MaxTypeLen)), name))
}

// appendSegmentName appends the custom event type of the track name name
// (see SegmentEventName) to b; nothing when it has no letter or digit.
func appendSegmentName[T string | []byte](b []byte, name T) []byte {
	start := len(b)
	under := false
	for i := 0; i < len(name) && len(b)-start < MaxTypeLen; i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if under && len(b) > start {
				b = append(b, '_')
				if len(b)-start == MaxTypeLen {
					break
				}
			}
			under = false
			b = append(b, c)
			continue
		}
		under = true
	}
	for len(b) > start && b[len(b)-1] == '_' {
		b = b[:len(b)-1]
	}
	return b
}

// SegmentBody is a decoded Segment HTTP Tracking API body: the envelope of
// a /v1/batch body, or one message of /v1/track, /v1/page and the others.
// As with Body, decoding happens before authentication, because the write
// key may be in the body.
type SegmentBody struct {
	// WriteKey is the body's "writeKey", if any.
	WriteKey string
	// Envelope is what the batch shares with each of its messages.
	Envelope SegmentEnvelope
	// Messages are the messages as they were sent, each decoded only by
	// FromSegment, so one bad message does not fail the others.
	Messages []json.RawMessage

	// fast holds the messages the one-scan decoder mapped; nil when the
	// body went through encoding/json.
	fast *segmentFast
}

// SegmentEnvelope is what a message takes from the body around it.
type SegmentEnvelope struct {
	// Type is the message type the path names ("track" for /v1/track); it
	// overrides the message's own, as Segment's API does. Empty for a batch,
	// whose messages name their types.
	Type string
	// SentAt is the batch's "sentAt": the client's clock when it sent the
	// body, for the skew correction of messages without their own.
	SentAt time.Time
	// Context is the batch's "context" object, which each message's own
	// context is merged over.
	Context json.RawMessage
}

// segmentEnvelope is the wire form of a batch body.
type segmentEnvelope struct {
	Batch    []json.RawMessage `json:"batch"`
	WriteKey wireString        `json:"writeKey"`
	SentAt   wireString        `json:"sentAt"`
	Context  json.RawMessage   `json:"context"`
}

// DecodeSegment parses a Segment body. kind is the message type of the
// path ("track", "page", "screen", "identify", "group", "alias"), or ""
// for /v1/batch. The body must be a JSON object; a batch must hold at most
// MaxBatchLen messages. A single message larger than
// SegmentMaxMessageBytes is refused here, as Segment refuses it; in a
// batch, an oversized message is one bad message (see FromSegment).
//
// The body may refer to data: the caller must not modify data while it
// uses the body.
func DecodeSegment(data []byte, kind string) (*SegmentBody, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: a Segment body is a JSON object", ErrBody)
	}
	if kind != "" && len(data) > SegmentMaxMessageBytes {
		return nil, fmt.Errorf("message larger than %d bytes", SegmentMaxMessageBytes)
	}
	if b, ok := decodeSegmentFast(data, kind); ok {
		return b, nil
	}
	return decodeSegmentJSON(data, kind)
}

// decodeSegmentJSON is DecodeSegment through encoding/json alone: the path
// for whatever the fast decoder hands back, and the reference it is tested
// against.
func decodeSegmentJSON(data []byte, kind string) (*SegmentBody, error) {
	if kind != "" {
		var key struct {
			WriteKey wireString `json:"writeKey"`
		}
		if err := json.Unmarshal(data, &key); err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return nil, fmt.Errorf("%w: %v", ErrBody, err)
			}
			// A wrong-typed writeKey: the message is still decoded, and
			// the key is missing.
		}
		return &SegmentBody{WriteKey: string(key.WriteKey), Envelope: SegmentEnvelope{Type: kind},
			Messages: []json.RawMessage{data}}, nil
	}
	if exceedsBatch(data) {
		return nil, ErrTooManyEvents
	}
	var env segmentEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBody, fieldError(err))
	}
	if len(env.Batch) > MaxBatchLen {
		return nil, ErrTooManyEvents
	}
	b := &SegmentBody{WriteKey: string(env.WriteKey), Messages: env.Batch}
	b.Envelope.SentAt = parseInstant(string(env.SentAt))
	if isObject(env.Context) {
		b.Envelope.Context = env.Context
	}
	return b, nil
}

// AppendEvents maps, normalises and validates every message of the body,
// appending the valid events to dst in body order and reporting each bad
// message by index; it never stops at one.
func (b *SegmentBody) AppendEvents(dst []Event, opts NormalizeOptions) ([]Event, []Rejection) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var rejected []Rejection
	for i, raw := range b.Messages {
		if f := b.fast; f != nil && f.items[i].ok {
			// Filled and normalised in place: no copy of the event.
			dst = append(dst, Event{})
			e := &dst[len(dst)-1]
			if sentAt, ok := f.fill(i, e, &b.Envelope); ok {
				// Its properties are compact already, as json.Marshal
				// writes them.
				if err := normalize(e, sentAt, opts, true, f.items[i].clean); err != nil {
					*e = Event{}
					dst = dst[:len(dst)-1]
					rejected = append(rejected, Rejection{i, err})
				}
				continue
			}
			*e = Event{}
			dst = dst[:len(dst)-1]
		}
		e, sentAt, err := FromSegment(raw, b.Envelope)
		if err == nil {
			err = Normalize(&e, sentAt, opts)
		}
		if err != nil {
			rejected = append(rejected, Rejection{i, err})
			continue
		}
		dst = append(dst, e)
	}
	return dst, rejected
}

// segmentMessage is the wire form of one Segment message: the fields of
// every message type.
type segmentMessage struct {
	Type              wireString      `json:"type"`
	MessageID         flexString      `json:"messageId"`
	UserID            flexString      `json:"userId"`
	AnonymousID       flexString      `json:"anonymousId"`
	PreviousID        flexString      `json:"previousId"`
	GroupID           flexString      `json:"groupId"`
	Event             wireString      `json:"event"`
	Name              wireString      `json:"name"`
	Category          wireString      `json:"category"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits"`
	Context           json.RawMessage `json:"context"`
	Timestamp         wireString      `json:"timestamp"`
	OriginalTimestamp wireString      `json:"originalTimestamp"`
	SentAt            wireString      `json:"sentAt"`
}

// segmentContext is what an event takes from a message's context.
type segmentContext struct {
	Page struct {
		URL      wireString `json:"url"`
		Referrer wireString `json:"referrer"`
	} `json:"page"`
	UserAgent wireString `json:"userAgent"`
	IP        wireString `json:"ip"`
}

// FromSegment maps one Segment message (track, page, screen, identify,
// group or alias) to an event, which the caller then normalises: it
// returns too the time the client sent the message (its own "sentAt", or
// the envelope's), to pass to Normalize for Segment's skew correction.
//
// The mapping: messageId is the id; userId and anonymousId keep their
// meaning; originalTimestamp, else timestamp, is when it happened. The
// envelope's context is merged under the message's own; context.page.url
// and referrer give url and referrer (a page's properties.url and
// referrer come first), context.userAgent the user agent, context.ip
// properties.ip. A track's name maps by SegmentEventName; its properties
// product_id, name, category, price, quantity, currency, order_id and
// revenue (else total), or their synonyms (see takeProperties), fill the
// event's fields, and the others stay in
// properties (products[] of Order Completed among them). A page is
// page_viewed, a screen the custom event screen_viewed (name and category
// in properties), an identify is identify with its traits as properties,
// an alias an identify linking previousId (as anonymous_id) to userId, and
// a group the custom event group with groupId and traits in properties.
//
// Errors are *ValidationError naming the message's field, such as
// "properties.price".
func FromSegment(msg []byte, env SegmentEnvelope) (Event, time.Time, error) {
	var e Event
	if len(msg) > SegmentMaxMessageBytes {
		return e, time.Time{}, &ValidationError{Reason: fmt.Sprintf("message larger than %d bytes", SegmentMaxMessageBytes)}
	}
	msg = bytes.TrimSpace(msg)
	if len(msg) == 0 || msg[0] != '{' {
		return e, time.Time{}, &ValidationError{Reason: "not a JSON object"}
	}
	var m segmentMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return e, time.Time{}, segmentFieldError(err, "")
	}
	kind := env.Type
	if kind == "" {
		kind = string(m.Type)
	}
	e.ID = string(m.MessageID)
	e.UserID = string(m.UserID)
	e.AnonymousID = string(m.AnonymousID)

	var ts time.Time
	for _, f := range [...]struct {
		name string
		v    wireString
	}{{"originalTimestamp", m.OriginalTimestamp}, {"timestamp", m.Timestamp}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, string(f.v))
		if err != nil {
			return e, time.Time{}, &ValidationError{Field: f.name, Reason: "not an RFC 3339 time"}
		}
		if t.IsZero() {
			continue // Go's zero time, which some clients send for "unset"
		}
		ts = t
		break
	}
	e.Timestamp = ts
	sentAt := parseInstant(string(m.SentAt))
	if sentAt.IsZero() {
		sentAt = env.SentAt
	}

	ctx, err := mergeContext(env.Context, m.Context)
	if err != nil {
		return e, time.Time{}, err
	}
	var c segmentContext
	if ctx != nil {
		if err := json.Unmarshal(ctx, &c); err != nil {
			return e, time.Time{}, segmentFieldError(err, "context.")
		}
	}
	e.URL, e.Referrer, e.UserAgent = string(c.Page.URL), string(c.Page.Referrer), string(c.UserAgent)

	props, err := objectOf(m.Properties, "properties")
	if err != nil {
		return e, time.Time{}, err
	}
	switch kind {
	case "track":
		if m.Event == "" {
			return e, time.Time{}, &ValidationError{Field: "event", Reason: "is required"}
		}
		if e.Type = SegmentEventName(string(m.Event)); e.Type == "" {
			return e, time.Time{}, &ValidationError{Field: "event", Reason: "has no letter or digit"}
		}
		if err := e.takeProperties(props); err != nil {
			return e, time.Time{}, err
		}
	case "page", "screen":
		e.Type = PageViewed
		if kind == "screen" {
			e.Type = "screen_viewed"
		}
		if props == nil && (m.Name != "" || m.Category != "") {
			props = map[string]json.RawMessage{}
		}
		if m.Name != "" {
			props["name"], _ = json.Marshal(string(m.Name))
		}
		if m.Category != "" {
			props["category"], _ = json.Marshal(string(m.Category))
		}
		for _, f := range [...]struct {
			name string
			dst  *string
		}{{"url", &e.URL}, {"referrer", &e.Referrer}} {
			var s wireString
			if err := takeString(props, f.name, &s); err != nil {
				return e, time.Time{}, err
			}
			if s != "" {
				*f.dst = string(s)
			}
		}
	case "identify", "group":
		e.Type = Identify
		traits, err := objectOf(m.Traits, "traits")
		if err != nil {
			return e, time.Time{}, err
		}
		if kind == "group" {
			e.Type = "group"
			if m.GroupID == "" {
				return e, time.Time{}, &ValidationError{Field: "groupId", Reason: "is required"}
			}
			props = map[string]json.RawMessage{}
			props["group_id"], _ = json.Marshal(string(m.GroupID))
			if traits != nil {
				props["traits"] = m.Traits
			}
		} else {
			props = traits
		}
	case "alias":
		e.Type = Identify
		if m.PreviousID == "" {
			return e, time.Time{}, &ValidationError{Field: "previousId", Reason: "is required"}
		}
		if m.UserID == "" {
			return e, time.Time{}, &ValidationError{Field: "userId", Reason: "is required"}
		}
		e.AnonymousID = string(m.PreviousID)
		props = nil
	case "":
		return e, time.Time{}, &ValidationError{Field: "type", Reason: "is required"}
	default:
		return e, time.Time{}, &ValidationError{Field: "type", Reason: fmt.Sprintf("%q is not a Segment message type", kind)}
	}
	if c.IP != "" {
		if props == nil {
			props = map[string]json.RawMessage{}
		}
		if _, ok := props["ip"]; !ok {
			props["ip"], _ = json.Marshal(string(c.IP))
		}
	}
	if len(props) > 0 {
		if e.Properties, err = json.Marshal(props); err != nil {
			return e, time.Time{}, &ValidationError{Field: "properties", Reason: err.Error()}
		}
	}
	return e, sentAt, nil
}

// takeProperties moves a track's properties that are fields of ours out
// of props into e, parsing money exactly in the event's currency. Among
// synonyms the first present wins: product_id, productId, and for the
// product events id (Spec v1, and analytics-go's SetProductId); order_id,
// orderId (analytics-go's SetOrderId); revenue, total (which then stays a
// property when revenue was given).
func (e *Event) takeProperties(props map[string]json.RawMessage) error {
	var productID, orderID flexString
	var name, category, currency wireString
	var price, revenue, total decimalText
	var quantity flexInt
	productEvent := e.Type == ProductViewed || e.Type == AddToCart || e.Type == RemoveFromCart
	for _, f := range [...]struct {
		name string
		dst  json.Unmarshaler
		set  func() bool // whether a synonym set the field already
	}{
		{"product_id", &productID, nil}, {"productId", &productID, func() bool { return productID != "" }},
		{"id", &productID, func() bool { return !productEvent || productID != "" }},
		{"name", &name, nil}, {"category", &category, nil},
		{"price", &price, nil}, {"quantity", &quantity, nil}, {"currency", &currency, nil},
		{"order_id", &orderID, nil}, {"orderId", &orderID, func() bool { return orderID != "" }},
		{"revenue", &revenue, nil}, {"total", &total, func() bool { return revenue != "" }},
	} {
		raw, ok := props[f.name]
		if !ok || f.set != nil && f.set() {
			continue // absent, or left as a property
		}
		if err := f.dst.UnmarshalJSON(raw); err != nil {
			return segmentFieldError(err, "properties."+f.name)
		}
		delete(props, f.name)
	}
	e.ProductID, e.ProductName, e.Category = string(productID), string(name), string(category)
	e.OrderID, e.Quantity = string(orderID), int64(quantity)
	revenueField := "properties.revenue"
	if revenue == "" {
		revenue, revenueField = total, "properties.total"
	}
	return e.setMoney(string(price), "properties.price", string(revenue), revenueField, string(currency))
}

// takeString moves the string props[name] into s.
func takeString(props map[string]json.RawMessage, name string, s *wireString) error {
	raw, ok := props[name]
	if !ok {
		return nil
	}
	if err := s.UnmarshalJSON(raw); err != nil {
		return segmentFieldError(err, "properties."+name)
	}
	delete(props, name)
	return nil
}

// objectOf decodes a JSON object into its members; absent and null are nil.
func objectOf(raw json.RawMessage, field string) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if !isObject(raw) {
		return nil, &ValidationError{Field: field, Reason: "wrong type: want an object"}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, segmentFieldError(err, field)
	}
	return m, nil
}

// mergeContext merges a message's context over the envelope's, member by
// member: the message's own members win.
func mergeContext(env, own json.RawMessage) (json.RawMessage, error) {
	if len(own) == 0 || string(own) == "null" {
		return env, nil
	}
	if !isObject(own) {
		return nil, &ValidationError{Field: "context", Reason: "wrong type: want an object"}
	}
	if len(env) == 0 {
		return own, nil
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(env, &merged); err != nil {
		return own, nil // the envelope's context is no object of members: only the message's counts
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(own, &m); err != nil {
		return nil, segmentFieldError(err, "context")
	}
	for k, v := range m {
		merged[k] = v
	}
	return json.Marshal(merged)
}

// segmentFieldError is fieldError with Segment's field names: prefix is
// put before the field encoding/json names, or is the field when it names
// none.
func segmentFieldError(err error, prefix string) error {
	field := strings.TrimSuffix(prefix, ".")
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return &ValidationError{Field: field, Reason: err.Error()}
	}
	if te.Field != "" {
		field = prefix + te.Field
	}
	if te.Type == reflect.TypeFor[refusedString]() {
		return &ValidationError{Field: field, Reason: te.Value}
	}
	return &ValidationError{Field: field, Reason: wantReason(te.Type)}
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// parseInstant parses an RFC 3339 time, or gives the zero time.
func parseInstant(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
