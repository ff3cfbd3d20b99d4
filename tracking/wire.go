package tracking

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// wireEvent is the input form of an event: every accepted field name, with
// types lenient enough for real clients (ids as numbers, money as numbers or
// strings). Precedence among synonyms is the order of the fields. Every
// string field has a type of ours that refuses invalid UTF-8 and unpaired
// surrogate escapes, which encoding/json would replace silently.
type wireEvent struct {
	ID             flexString      `json:"id"`
	ShopID         flexString      `json:"shop_id"`
	ShopIDCamel    flexString      `json:"shopId"`
	Type           wireString      `json:"type"`
	EventType      wireString      `json:"event_type"`
	EventTypeCamel wireString      `json:"eventType"`
	EventName      wireString      `json:"event"`
	UserID         flexString      `json:"user_id"`
	UserIDCamel    flexString      `json:"userId"`
	AnonID         flexString      `json:"anonymous_id"`
	AnonIDCamel    flexString      `json:"anonymousId"`
	SessionID      flexString      `json:"session_id"`
	SessionIDCamel flexString      `json:"sessionId"`
	ProductID      flexString      `json:"product_id"`
	ProductIDCamel flexString      `json:"productId"`
	ProductName    flexString      `json:"product_name"`
	ProductNameC   flexString      `json:"productName"`
	Category       flexString      `json:"category"`
	Price          decimalText     `json:"price"`
	Quantity       flexInt         `json:"quantity"`
	Revenue        decimalText     `json:"revenue"`
	OrderAmount    decimalText     `json:"order_amount"`
	Total          decimalText     `json:"total"`
	Currency       wireString      `json:"currency"`
	OrderID        flexString      `json:"order_id"`
	OrderIDCamel   flexString      `json:"orderId"`
	URL            wireString      `json:"url"`
	Referrer       wireString      `json:"referrer"`
	UserAgent      wireString      `json:"user_agent"`
	UserAgentCamel wireString      `json:"userAgent"`
	Properties     json.RawMessage `json:"properties"`
	Timestamp      wireString      `json:"timestamp"`
	SentAt         wireString      `json:"sent_at"`
	SentAtCamel    wireString      `json:"sentAt"`
	// ReceivedAt is read only from stored events (DecodeStored); a client
	// never sets it.
	ReceivedAt wireString `json:"received_at"`
}

// wireEnvelope is a top-level object: either one event or a {"batch":[...]}
// envelope with shared fields.
type wireEnvelope struct {
	wireEvent
	Batch    []json.RawMessage `json:"batch"`
	WriteKey wireString        `json:"writeKey"`
}

func first[T ~string](vs ...T) T {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// event converts the wire form into an Event, parsing money exactly. It
// returns the client's sent_at (zero when absent) for skew correction.
func (w *wireEvent) event() (Event, error) {
	var e Event
	err := w.fill(&e)
	return e, err
}

// fill is event writing into *e (which it overwrites whole), for callers
// that keep events in a slice.
func (w *wireEvent) fill(e *Event) error {
	*e = Event{
		ID:          string(w.ID),
		ShopID:      string(first(w.ShopID, w.ShopIDCamel)),
		Type:        string(first(w.Type, w.EventType, w.EventTypeCamel, w.EventName)),
		UserID:      string(first(w.UserID, w.UserIDCamel)),
		AnonymousID: string(first(w.AnonID, w.AnonIDCamel)),
		SessionID:   string(first(w.SessionID, w.SessionIDCamel)),
		ProductID:   string(first(w.ProductID, w.ProductIDCamel)),
		ProductName: string(first(w.ProductName, w.ProductNameC)),
		Category:    string(w.Category),
		Quantity:    int64(w.Quantity),
		OrderID:     string(first(w.OrderID, w.OrderIDCamel)),
		URL:         string(w.URL),
		Referrer:    string(w.Referrer),
		UserAgent:   string(first(w.UserAgent, w.UserAgentCamel)),
	}
	if len(w.Properties) > 0 && string(w.Properties) != "null" {
		e.Properties = w.Properties
	}
	if w.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, string(w.Timestamp))
		if err != nil {
			return &ValidationError{Field: "timestamp", Reason: "not an RFC 3339 time"}
		}
		e.Timestamp = ts
	}
	price := w.Price
	revenue := first(w.Revenue, w.OrderAmount, w.Total)
	revenueField := "revenue"
	if w.Revenue == "" && w.OrderAmount != "" {
		revenueField = "order_amount"
	} else if w.Revenue == "" && w.OrderAmount == "" && w.Total != "" {
		revenueField = "total"
	}
	if err := e.setMoney(string(price), "price", string(revenue), revenueField, string(w.Currency)); err != nil {
		return err
	}
	return nil
}

// setMoney sets Currency, Price and Revenue from decimal texts.
func (e *Event) setMoney(price, priceField, revenue, revenueField, currency string) error {
	if currency != "" {
		currency = strings.ToUpper(currency)
		if !ValidCurrency(currency) {
			return &ValidationError{Field: "currency", Reason: "not an ISO 4217 currency code"}
		}
		e.Currency = currency
	}
	if price == "" && revenue == "" {
		return nil
	}
	if e.Currency == "" {
		e.Currency = DefaultCurrency
	}
	if price != "" {
		m, err := ParseMoney(price, e.Currency)
		if err != nil {
			return &ValidationError{Field: priceField, Reason: err.Error()}
		}
		e.Price = m
	}
	if revenue != "" {
		m, err := ParseMoney(revenue, e.Currency)
		if err != nil {
			return &ValidationError{Field: revenueField, Reason: err.Error()}
		}
		e.Revenue = m
	}
	return nil
}

// sentAt returns the client's send time, if it gave a valid one.
func (w *wireEvent) sentAt() time.Time {
	s := first(w.SentAt, w.SentAtCamel)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

// DefaultCurrency is the currency of amounts sent without one.
const DefaultCurrency = "USD"

// wireString is a JSON string field. Unlike a string, it refuses a string
// holding invalid UTF-8 or an unpaired UTF-16 surrogate escape, which
// encoding/json would replace with U+FFFD: "s\ud800" and "s\udbff" would
// both become "s\uFFFD", the same id. The fast decoder hands such strings
// to encoding/json, so this is where they are refused, naming the field.
type wireString string

func (s *wireString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		v, err := unquote(b)
		if err != nil {
			return err
		}
		*s = wireString(v)
	case string(b) == "null":
		// null leaves a string as it was, as encoding/json does
	default:
		return typeError(b, reflect.TypeFor[string]())
	}
	return nil
}

// unquote decodes the JSON string literal b (valid JSON, quotes included)
// as encoding/json does, refusing what wireString refuses with an error
// that encoding/json names the field of.
func unquote(b []byte) (string, error) {
	s := b[1 : len(b)-1]
	for _, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			v, bad := appendUnquoted(make([]byte, 0, len(s)), s)
			if bad != "" {
				return "", refused(bad)
			}
			return string(v), nil
		}
	}
	return string(s), nil
}

// Why a string field is refused.
const (
	reasonBadUTF8   = "not valid UTF-8"
	reasonSurrogate = "contains an unpaired UTF-16 surrogate"
)

// refusedString marks the *json.UnmarshalTypeError of a string refused for
// what it holds; its Value is the reason. An UnmarshalJSON method returns
// one so that encoding/json names the field, and fieldError turns it into
// a *ValidationError with that reason.
type refusedString struct{}

func refused(reason string) error {
	return &json.UnmarshalTypeError{Value: reason, Type: reflect.TypeFor[refusedString]()}
}

// flexString accepts a JSON string or number (ids are often numeric) and
// keeps the number's text exactly.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		v, err := unquote(b)
		if err != nil {
			return err
		}
		*s = flexString(v)
	case string(b) == "null":
		*s = ""
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*s = flexString(b)
	default:
		return typeError(b, reflect.TypeFor[string]())
	}
	return nil
}

// decimalText accepts a JSON number or a string holding one, and keeps the
// text so money is parsed exactly once the currency is known.
type decimalText string

func (d *decimalText) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		v, err := unquote(b)
		if err != nil {
			return err
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return typeError(b, reflect.TypeFor[decimalText]())
		}
		*d = decimalText(v)
	case string(b) == "null":
		*d = ""
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*d = decimalText(b)
	default:
		return typeError(b, reflect.TypeFor[decimalText]())
	}
	return nil
}

// flexInt accepts a JSON integer or a string holding one.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = unquote(b); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return typeError(b, reflect.TypeFor[flexInt]())
	}
	*n = flexInt(v)
	return nil
}

// typeError reports a value of the wrong JSON type for want. It is a
// *json.UnmarshalTypeError so that encoding/json fills in the field's name,
// which it does for no other error an UnmarshalJSON method returns.
func typeError(b []byte, want reflect.Type) error {
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: want}
}

func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// fieldError turns an encoding/json error into a *ValidationError naming the
// field where it can.
func fieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if te.Type == reflect.TypeFor[refusedString]() {
			return &ValidationError{Field: contractName(te.Field), Reason: te.Value}
		}
		return &ValidationError{Field: contractName(te.Field), Reason: wantReason(te.Type)}
	}
	return &ValidationError{Reason: err.Error()}
}

// wantReason says what a field of type t accepts.
func wantReason(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[string](), reflect.TypeFor[flexString]():
		return "wrong type: want a string"
	case reflect.TypeFor[decimalText]():
		return "wrong type: want a decimal number"
	case reflect.TypeFor[flexInt]():
		return "wrong type: want an integer"
	}
	return "wrong type: want " + t.String()
}

// contractName maps an input field name to the contract's snake_case name.
func contractName(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 && !strings.HasPrefix(field, "properties") {
		field = field[i+1:]
	}
	if c, ok := camelNames[field]; ok {
		return c
	}
	return field
}

var camelNames = map[string]string{
	"shopId": "shop_id", "eventType": "type", "event_type": "type", "event": "type",
	"userId": "user_id", "anonymousId": "anonymous_id", "sessionId": "session_id",
	"productId": "product_id", "productName": "product_name", "orderId": "order_id",
	"userAgent": "user_agent", "sentAt": "sent_at",
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does; <, > and & are left as they are (this is not HTML).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, "89"[r-'\u2028'])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// compactObject checks that raw is a JSON object and returns it without
// insignificant white space.
func compactObject(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("must be a JSON object")
	}
	if !bytes.ContainsAny(raw, " \t\r\n") {
		if !json.Valid(raw) {
			return nil, errors.New("not valid JSON")
		}
		return raw, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
