package tracking

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ValidationError says which field of an event is wrong and why.
type ValidationError struct {
	Field  string // contract (snake_case) name; empty when no one field is at fault
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// NormalizeOptions carries what the receiving side knows about an event.
type NormalizeOptions struct {
	// Now is the receipt time; the zero value means time.Now().
	Now time.Time
	// ShopID, when set, is the shop the sender is bound to (by its write
	// key). An event without a shop gets it; an event naming another shop is
	// rejected.
	ShopID string
	// SentAt is the client's send time from a batch envelope, used for
	// clock-skew correction when the event has no sent_at of its own.
	SentAt time.Time
}

// Normalize turns a decoded event into its canonical stored form and
// validates it: canonical type names, defaults (id, timestamp, currency),
// received_at, clock-skew correction by sentAt (Segment's rule: timestamp +=
// received_at − sent_at), UTC at microsecond precision, compact properties.
// sentAt may be zero.
func Normalize(e *Event, sentAt time.Time, opts NormalizeOptions) error {
	return normalize(e, sentAt, opts, false, false)
}

// normalize is Normalize; compact says e.Properties is known to be a
// compact, valid JSON object already, clean that the event's client-given
// strings are known to be valid UTF-8 without NUL.
func normalize(e *Event, sentAt time.Time, opts NormalizeOptions, compact, clean bool) error {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	e.ReceivedAt = now.UTC().Truncate(time.Microsecond)
	if opts.ShopID != "" {
		if e.ShopID != "" && e.ShopID != opts.ShopID {
			return &ValidationError{Field: "shop_id", Reason: "does not match the shop of the key"}
		}
		e.ShopID = opts.ShopID
	}
	e.Type = CanonicalType(e.Type)
	if e.ID == "" {
		e.ID = NewID(now)
	}
	if sentAt.IsZero() {
		sentAt = opts.SentAt
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = e.ReceivedAt
	} else if !sentAt.IsZero() {
		e.Timestamp = e.Timestamp.Add(e.ReceivedAt.Sub(sentAt))
	}
	e.Timestamp = e.Timestamp.UTC().Truncate(time.Microsecond)
	if e.Properties != nil && !compact {
		p, err := compactObject(e.Properties)
		if err != nil {
			return &ValidationError{Field: "properties", Reason: err.Error()}
		}
		e.Properties = p
	}
	e.Currency = strings.ToUpper(e.Currency)
	if !e.Price.IsZero() || !e.Revenue.IsZero() {
		if e.Currency == "" {
			e.Currency = DefaultCurrency
		}
		if !e.Price.IsZero() {
			e.Price.Currency = e.Currency
		}
		if !e.Revenue.IsZero() {
			e.Revenue.Currency = e.Currency
		}
	}
	return validate(e, clean, true)
}

// Validate checks a normalised event against the contract's rules and
// returns a *ValidationError naming the first field at fault. A type alias
// such as "purchase" is refused: a normalised event carries the canonical
// name ("purchase_completed"), and stored under an alias it would be
// counted apart from its canonical events. Properties, when given, must be
// one JSON object, as Normalize makes them.
func Validate(e *Event) error { return validate(e, false, false) }

// validate is Validate; clean says the strings other than shop_id (which
// may come from the options) are valid UTF-8 without NUL, as the fast
// decoder's are, so only their lengths need checking, and canonical that
// the event went through normalize: its type went through CanonicalType,
// so it is no alias, and its properties were checked to be a JSON object.
func validate(e *Event, clean, canonical bool) error {
	if err := checkString("id", e.ID, MaxIDLen, true, clean); err != nil {
		return err
	}
	if err := checkString("shop_id", e.ShopID, MaxShopIDLen, true, false); err != nil {
		return err
	}
	if !validShopID(e.ShopID) {
		return &ValidationError{Field: "shop_id", Reason: "may hold only letters, digits and . _ : -"}
	}
	if e.Type == "" {
		return &ValidationError{Field: "type", Reason: "is required"}
	}
	if !ValidType(e.Type) {
		return &ValidationError{Field: "type", Reason: "must match [a-z0-9_]{1,64}"}
	}
	if !canonical {
		if c := CanonicalType(e.Type); c != e.Type {
			return &ValidationError{Field: "type", Reason: fmt.Sprintf("%q is an alias of %q; normalise the event first", e.Type, c)}
		}
	}
	for _, f := range [...]struct {
		name, v string
		max     int
	}{
		{"user_id", e.UserID, MaxIDLen},
		{"anonymous_id", e.AnonymousID, MaxIDLen},
		{"session_id", e.SessionID, MaxIDLen},
		{"product_id", e.ProductID, maxNameLen},
		{"product_name", e.ProductName, maxNameLen},
		{"category", e.Category, maxNameLen},
		{"order_id", e.OrderID, maxNameLen},
		{"url", e.URL, maxURLLen},
		{"referrer", e.Referrer, maxURLLen},
		{"user_agent", e.UserAgent, maxUserAgentLen},
	} {
		if err := checkString(f.name, f.v, f.max, false, clean); err != nil {
			return err
		}
	}
	if e.UserID == "" && e.AnonymousID == "" && e.SessionID == "" {
		return &ValidationError{Field: "anonymous_id", Reason: "one of user_id, anonymous_id or session_id is required"}
	}
	switch e.Type {
	case ProductViewed, AddToCart, RemoveFromCart:
		if e.ProductID == "" {
			return &ValidationError{Field: "product_id", Reason: "is required for " + e.Type}
		}
	case PurchaseCompleted:
		if e.Revenue.IsZero() {
			return &ValidationError{Field: "revenue", Reason: "is required for " + e.Type}
		}
	}
	if e.Currency != "" && !ValidCurrency(e.Currency) {
		return &ValidationError{Field: "currency", Reason: "not an ISO 4217 currency code"}
	}
	if !e.Price.IsZero() && e.Price.Currency != e.Currency {
		return &ValidationError{Field: "price", Reason: "currency differs from the event's currency"}
	}
	if !e.Revenue.IsZero() && e.Revenue.Currency != e.Currency {
		return &ValidationError{Field: "revenue", Reason: "currency differs from the event's currency"}
	}
	if e.Price.Minor < 0 {
		return &ValidationError{Field: "price", Reason: "must not be negative"}
	}
	if e.Revenue.Minor < 0 {
		return &ValidationError{Field: "revenue", Reason: "must not be negative"}
	}
	if e.Quantity < 0 {
		return &ValidationError{Field: "quantity", Reason: "must not be negative"}
	}
	if len(e.Properties) > MaxPropertiesLen {
		return &ValidationError{Field: "properties", Reason: fmt.Sprintf("larger than %d bytes", MaxPropertiesLen)}
	}
	if !utf8.Valid(e.Properties) {
		return &ValidationError{Field: "properties", Reason: "not valid UTF-8"}
	}
	if !canonical && len(e.Properties) > 0 && !jsonObject(e.Properties) {
		// An event that skipped Normalize may carry anything here; stored,
		// text that is no object would break every export of the shop.
		return &ValidationError{Field: "properties", Reason: "must be a JSON object"}
	}
	if reason := storableJSON(e.Properties); reason != "" {
		return &ValidationError{Field: "properties", Reason: reason}
	}
	if e.Timestamp.IsZero() {
		return &ValidationError{Field: "timestamp", Reason: "is required"}
	}
	if !e.ReceivedAt.IsZero() && e.Timestamp.After(e.ReceivedAt.Add(MaxFutureSkew)) {
		return &ValidationError{Field: "timestamp", Reason: "more than 24h in the future"}
	}
	if e.Timestamp.Year() < 1970 || e.Timestamp.Year() > 9999 {
		return &ValidationError{Field: "timestamp", Reason: "out of range"}
	}
	return nil
}

func checkString(field, v string, max int, required, clean bool) error {
	if v == "" {
		if required {
			return &ValidationError{Field: field, Reason: "is required"}
		}
		return nil
	}
	if len(v) > max {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("longer than %d bytes", max)}
	}
	if clean {
		return nil
	}
	if !utf8.ValidString(v) {
		return &ValidationError{Field: field, Reason: "not valid UTF-8"}
	}
	if strings.IndexByte(v, 0) >= 0 {
		return &ValidationError{Field: field, Reason: "contains a NUL character"}
	}
	return nil
}

// jsonObject reports whether b is one valid JSON object, white space
// around and inside it allowed.
func jsonObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// storableJSON checks valid, compact JSON text for what JSON allows but
// stores refuse (PostgreSQL's jsonb and text): the escape \u0000, a UTF-16
// surrogate escape without its pair, and numbers beyond float64's range. It
// returns why the text is refused, or "". Refusing at the door keeps such an
// event from being accepted and then failing in a store.
func storableJSON(b []byte) string {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '"':
				inString = false
			case '\\':
				if i+1 < len(b) && b[i+1] == 'u' {
					r, ok := escapeAt(b, i+2)
					switch {
					case !ok:
						return "bad \\u escape"
					case r == 0:
						return "contains a NUL character"
					case r >= 0xD800 && r <= 0xDBFF:
						lo, ok := rune(0), i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u'
						if ok {
							lo, ok = escapeAt(b, i+8)
						}
						if !ok || lo < 0xDC00 || lo > 0xDFFF {
							return reasonSurrogate
						}
						i += 6
					case r >= 0xDC00 && r <= 0xDFFF:
						return reasonSurrogate
					}
					i += 5
				} else {
					i++ // the escaped character
				}
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
		case c == '-' || c >= '0' && c <= '9':
			j := i
			for j < len(b) && strings.IndexByte("+-0123456789.eE", b[j]) >= 0 {
				j++
			}
			if !numberInRange(string(b[i:j])) {
				return "has a number out of range"
			}
			i = j - 1
		}
	}
	return ""
}

// escapeAt reads the 4 hex digits at b[at:], if there are any.
func escapeAt(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	r := hex4(b[at:])
	return r, r >= 0
}

// numberInRange reports whether a JSON number neither overflows float64 nor
// underflows it to zero from a non-zero value.
func numberInRange(num string) bool {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	if f == 0 {
		mant, _, _ := strings.Cut(strings.ToLower(num), "e")
		return strings.Trim(mant, "-+0.") == ""
	}
	return true
}

// ValidType reports whether name is an acceptable event type: [a-z0-9_]{1,64}.
func ValidType(name string) bool {
	if len(name) == 0 || len(name) > MaxTypeLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func validShopID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// NewID returns a new event id: a UUIDv7 (time-ordered, so ids generated
// together sit together in a B-tree index) in its canonical text form.
func NewID(now time.Time) string {
	var u [16]byte
	ms := uint64(now.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	r1, r2 := rand.Uint64(), rand.Uint64()
	for i := 6; i < 16; i++ {
		if i < 14 {
			u[i] = byte(r1 >> (8 * (i - 6)))
		} else {
			u[i] = byte(r2 >> (8 * (i - 14)))
		}
	}
	u[6] = 0x70 | u[6]&0x0F // version 7
	u[8] = 0x80 | u[8]&0x3F // RFC 9562 variant
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], u[10:16])
	return string(out[:])
}
