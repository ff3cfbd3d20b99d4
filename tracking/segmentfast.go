package tracking

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// fromSegmentFast is FromSegment for the common message — a track with
// simple keys and no envelope context — without encoding/json's
// reflection: it finds the members by scanning, decodes each value with
// the same UnmarshalJSON methods encoding/json calls, and encodes the
// properties left over as json.Marshal would. Whatever it is not sure to
// map exactly as FromSegment does (another message type, a key with an
// escape, a non-ASCII key or one that only matches a field
// case-insensitively, a repeated key, a value encoding/json would
// re-escape, any error) it reports with ok false, and the caller uses
// FromSegment. msg must be valid JSON (DecodeSegment checked it). A
// differential fuzz test holds the two paths to the same results.
func fromSegmentFast(msg []byte, env SegmentEnvelope) (e Event, sentAt time.Time, ok bool) {
	if len(msg) > SegmentMaxMessageBytes || len(env.Context) > 0 || env.Type != "" && env.Type != "track" {
		return e, sentAt, false
	}
	msg = bytes.TrimSpace(msg)
	if len(msg) == 0 || msg[0] != '{' || !utf8.Valid(msg) {
		return e, sentAt, false
	}
	t := msgText{all: string(msg), capAll: cap(msg)}
	var (
		typ, event, name, category, timestamp, original, sent wireString
		messageID, userID, anonymousID, previous, group       flexString
		properties, context                                   []byte
		seen                                                  uint32
	)
	once := func(bit uint) bool {
		if seen&(1<<bit) != 0 {
			return false // repeated: encoding/json's rules for it are subtle
		}
		seen |= 1 << bit
		return true
	}
	ok = members(msg, func(key, raw []byte) bool {
		switch string(key) {
		case "type":
			return once(1) && t.wire(raw, &typ)
		case "messageId":
			return once(2) && t.flex(raw, &messageID)
		case "userId":
			return once(3) && t.flex(raw, &userID)
		case "anonymousId":
			return once(4) && t.flex(raw, &anonymousID)
		case "previousId":
			return once(5) && t.flex(raw, &previous)
		case "groupId":
			return once(6) && t.flex(raw, &group)
		case "event":
			return once(7) && t.wire(raw, &event)
		case "name":
			return once(8) && t.wire(raw, &name)
		case "category":
			return once(9) && t.wire(raw, &category)
		case "properties":
			properties = raw
			return once(10)
		case "traits":
			return once(11)
		case "context":
			context = raw
			return once(12)
		case "timestamp":
			return once(13) && t.wire(raw, &timestamp)
		case "originalTimestamp":
			return once(14) && t.wire(raw, &original)
		case "sentAt":
			return once(15) && t.wire(raw, &sent)
		}
		return !foldsTo(key, segmentMessageKeys)
	})
	if !ok {
		return e, sentAt, false
	}
	kind := env.Type
	if kind == "" {
		kind = string(typ)
	}
	if kind != "track" || event == "" {
		return e, sentAt, false
	}
	e.ID, e.UserID, e.AnonymousID = string(messageID), string(userID), string(anonymousID)
	for _, v := range [...]wireString{original, timestamp} {
		if v == "" {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return e, sentAt, false
		}
		if !ts.IsZero() {
			e.Timestamp = ts
			break
		}
	}
	if sentAt = parseInstant(string(sent)); sentAt.IsZero() {
		sentAt = env.SentAt
	}

	var ip wireString
	if ctx := bytes.TrimSpace(context); len(ctx) > 0 && string(ctx) != "null" {
		var url, referrer, userAgent wireString
		var seen uint8
		once := func(bit uint) bool {
			if seen&(1<<bit) != 0 {
				return false
			}
			seen |= 1 << bit
			return true
		}
		ok := ctx[0] == '{' && members(ctx, func(key, raw []byte) bool {
			switch string(key) {
			case "page":
				if !once(1) {
					return false
				}
				if string(raw) == "null" {
					return true
				}
				var pageSeen uint8
				return raw[0] == '{' && members(raw, func(key, raw []byte) bool {
					switch string(key) {
					case "url":
						ok := pageSeen&1 == 0 && t.wire(raw, &url)
						pageSeen |= 1
						return ok
					case "referrer":
						ok := pageSeen&2 == 0 && t.wire(raw, &referrer)
						pageSeen |= 2
						return ok
					}
					return !foldsTo(key, pageKeys)
				})
			case "userAgent":
				return once(2) && t.wire(raw, &userAgent)
			case "ip":
				return once(3) && t.wire(raw, &ip)
			}
			return !foldsTo(key, contextKeys)
		})
		if !ok {
			return e, sentAt, false
		}
		e.URL, e.Referrer, e.UserAgent = string(url), string(referrer), string(userAgent)
	}

	var buf [24]member
	props := buf[:0]
	if p := bytes.TrimSpace(properties); len(p) > 0 && string(p) != "null" {
		if p[0] != '{' {
			return e, sentAt, false
		}
		ok := members(p, func(key, raw []byte) bool {
			for i := range props {
				if bytes.Equal(props[i].key, key) {
					return false
				}
			}
			props = append(props, member{key: key, raw: raw})
			return true
		})
		if !ok {
			return e, sentAt, false
		}
	}
	if e.Type = SegmentEventName(string(event)); e.Type == "" {
		return e, sentAt, false
	}
	if !e.takeMembers(&t, props) {
		return e, sentAt, false
	}
	if ip != "" && find(props, "ip") < 0 {
		if !plainText(string(ip)) {
			return e, sentAt, false
		}
		props = append(props, member{key: []byte("ip"), quoted: string(ip)})
	}
	if e.Properties, ok = encodeMembers(props); !ok {
		return e, sentAt, false
	}
	return e, sentAt, true
}

// msgText hands out the plain strings of one message (no escape, ASCII
// only, which decode to their own bytes) as parts of one string copy of
// the message, so a message costs one string allocation rather than one
// per field. A value's place in the message is known from its capacity:
// every slice of the message is cut from it without a capacity limit.
type msgText struct {
	all    string
	capAll int
}

// plain returns the text of the JSON string raw when it decodes to its
// own bytes.
func (t *msgText) plain(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c >= utf8.RuneSelf {
			return "", false
		}
	}
	off := t.capAll - cap(raw) + 1
	if off < 1 || off+len(body) > len(t.all) {
		return "", false
	}
	return t.all[off : off+len(body)], true
}

// wire decodes raw as wireString does.
func (t *msgText) wire(raw []byte, dst *wireString) bool {
	if s, ok := t.plain(raw); ok {
		*dst = wireString(s)
		return true
	}
	return dst.UnmarshalJSON(raw) == nil
}

// flex decodes raw as flexString does.
func (t *msgText) flex(raw []byte, dst *flexString) bool {
	if s, ok := t.plain(raw); ok {
		*dst = flexString(s)
		return true
	}
	return dst.UnmarshalJSON(raw) == nil
}

// decimal decodes raw as decimalText does.
func (t *msgText) decimal(raw []byte, dst *decimalText) bool {
	if s, ok := t.plain(raw); ok {
		if s = strings.TrimSpace(s); s == "" {
			return false
		}
		*dst = decimalText(s)
		return true
	}
	return dst.UnmarshalJSON(raw) == nil
}

// member is one member of a message's properties; taken once mapped to a
// field. quoted, when set, is a plain string value to encode quoted (raw
// is then empty).
type member struct {
	key, raw []byte
	quoted   string
	taken    bool
}

func find(ms []member, key string) int {
	for i := range ms {
		if !ms[i].taken && string(ms[i].key) == key {
			return i
		}
	}
	return -1
}

// takeMembers is takeProperties over members: the same fields, synonyms
// and order, each decoded as there. It reports false for anything
// takeProperties would refuse.
func (e *Event) takeMembers(t *msgText, ms []member) bool {
	var productID, orderID flexString
	var name, category, currency wireString
	var price, revenue, total decimalText
	var quantity flexInt
	productEvent := e.Type == ProductViewed || e.Type == AddToCart || e.Type == RemoveFromCart
	take := func(key string, skip bool, decode func(raw []byte) bool) bool {
		i := find(ms, key)
		if i < 0 || skip {
			return true
		}
		ms[i].taken = true
		return decode(ms[i].raw)
	}
	flex := func(dst *flexString) func([]byte) bool { return func(raw []byte) bool { return t.flex(raw, dst) } }
	wire := func(dst *wireString) func([]byte) bool { return func(raw []byte) bool { return t.wire(raw, dst) } }
	dec := func(dst *decimalText) func([]byte) bool { return func(raw []byte) bool { return t.decimal(raw, dst) } }
	if !take("product_id", false, flex(&productID)) || !take("productId", productID != "", flex(&productID)) ||
		!take("id", !productEvent || productID != "", flex(&productID)) ||
		!take("name", false, wire(&name)) || !take("category", false, wire(&category)) ||
		!take("price", false, dec(&price)) ||
		!take("quantity", false, func(raw []byte) bool { return quantity.UnmarshalJSON(raw) == nil }) ||
		!take("currency", false, wire(&currency)) ||
		!take("order_id", false, flex(&orderID)) || !take("orderId", orderID != "", flex(&orderID)) ||
		!take("revenue", false, dec(&revenue)) || !take("total", revenue != "", dec(&total)) {
		return false
	}
	e.ProductID, e.ProductName, e.Category = string(productID), string(name), string(category)
	e.OrderID, e.Quantity = string(orderID), int64(quantity)
	revenueField := "properties.revenue"
	if revenue == "" {
		revenue, revenueField = total, "properties.total"
	}
	return e.setMoney(string(price), "properties.price", string(revenue), revenueField, string(currency)) == nil
}

// Field names FromSegment's structs match, lower case, for the keys that
// match them only case-insensitively.
var (
	segmentMessageKeys = []string{"type", "messageid", "userid", "anonymousid", "previousid", "groupid", "event",
		"name", "category", "properties", "traits", "context", "timestamp", "originaltimestamp", "sentat"}
	contextKeys = []string{"page", "useragent", "ip"}
	pageKeys    = []string{"url", "referrer"}
)

// foldsTo reports whether key might match one of names the way
// encoding/json matches a key that is not exact: ASCII case-insensitively,
// and, for non-ASCII keys, by Unicode folding (assumed).
func foldsTo(key []byte, names []string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for _, n := range names {
		if len(n) == len(key) && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// members calls fn with each key and raw value of the JSON object obj
// (valid JSON), stopping with false at the first false; a key holding an
// escape is false too (its bytes are not its name).
func members(obj []byte, fn func(key, raw []byte) bool) bool {
	i := skipWS(obj, 1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for i < len(obj) && obj[i] == '"' {
		kend := stringEnd(obj, i)
		if kend < 0 {
			return false
		}
		key := obj[i+1 : kend-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipWS(obj, kend)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipWS(obj, i+1)
		end := validEnd(obj, i)
		if end < 0 || !fn(key, obj[i:end]) {
			return false
		}
		i = skipWS(obj, end)
		if i < len(obj) && obj[i] == ',' {
			i = skipWS(obj, i+1)
			continue
		}
		return i < len(obj) && obj[i] == '}'
	}
	return false
}

// stringEnd returns the index past the string at data[i] ('"') of valid
// JSON, or -1: its closing quote is the first not escaped, found with
// bytes.IndexByte rather than byte by byte.
func stringEnd(data []byte, i int) int {
	j := i + 1
	for {
		// Most strings are short: a loop over the first bytes beats the
		// call to IndexByte.
		k := j
		for stop := min(len(data), j+16); k < stop && data[k] != '"'; k++ {
		}
		if k == len(data) {
			return -1
		}
		if data[k] != '"' {
			n := bytes.IndexByte(data[k:], '"')
			if n < 0 {
				return -1
			}
			k += n
		}
		j = k
		n := 0
		for b := j - 1; b > i && data[b] == '\\'; b-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j
		}
	}
}

// validEnd returns the index past the value at data[i] of valid JSON, or
// -1 when data ends first.
func validEnd(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '[', '{':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				end := stringEnd(data, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	return valueEnd(data, i)
}

// encodeMembers encodes the members not taken as json.Marshal encodes a
// map[string]json.RawMessage (keys sorted, values compacted), nil when
// none is left, or reports false for what json.Marshal would escape
// differently: '<', '>', '&', U+2028 and U+2029 anywhere, which it escapes
// for HTML.
func encodeMembers(ms []member) (json.RawMessage, bool) {
	left := ms[:0:0]
	size := 2
	for _, m := range ms {
		if !m.taken {
			left = append(left, m)
			size += len(m.key) + len(m.raw) + len(m.quoted) + 6
		}
	}
	if len(left) == 0 {
		return nil, true
	}
	slices.SortFunc(left, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	b := make([]byte, 0, size)
	b = append(b, '{')
	for n, m := range left {
		v := m.raw
		if !plainText(string(m.key)) || bytes.ContainsAny(v, "<>&") || bytes.Contains(v, []byte("\u2028")) || bytes.Contains(v, []byte("\u2029")) {
			return nil, false
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, m.key...)
		b = append(b, '"', ':')
		if m.quoted != "" {
			b = append(b, '"')
			b = append(b, m.quoted...)
			b = append(b, '"')
			continue
		}
		b = appendCompact(b, v)
	}
	return append(b, '}'), true
}

// plainText reports whether s encodes as a JSON string by quoting it
// alone: printable ASCII without '"', '\\' or what json.Marshal escapes
// for HTML.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// splitSegmentFast decodes a batch body's envelope into env as
// json.Unmarshal would, without reflection: the messages are cut out of
// one copy of data. It reports ok false, for json.Unmarshal to decode the
// body and report its error, for invalid JSON, a batch that is no array, a
// repeated key or one that matches a field only case-insensitively; and
// tooMany when "batch" has more than MaxBatchLen elements, which it stops
// at, so they cost nothing kept per element.
func splitSegmentFast(data []byte, env *segmentEnvelope) (ok, tooMany bool) {
	if !validJSON(data) {
		return false, false
	}
	data = bytes.Clone(data) // the messages outlive the caller's buffer
	seen := 0
	ok = members(data, func(key, raw []byte) bool {
		bit := 0
		switch string(key) {
		case "batch":
			bit = 1
			if string(raw) == "null" {
				break
			}
			if raw[0] != '[' {
				return false
			}
			env.Batch = make([]json.RawMessage, 0, 16)
			i := skipWS(raw, 1)
			for i < len(raw) && raw[i] != ']' {
				if len(env.Batch) == MaxBatchLen {
					tooMany = true
					return false
				}
				end := validEnd(raw, i)
				if end < 0 {
					return false
				}
				env.Batch = append(env.Batch, raw[i:end:end])
				if i = skipWS(raw, end); i < len(raw) && raw[i] == ',' {
					i = skipWS(raw, i+1)
				}
			}
		case "writeKey":
			bit = 2
			if env.WriteKey.UnmarshalJSON(raw) != nil {
				return false
			}
		case "sentAt":
			bit = 3
			if env.SentAt.UnmarshalJSON(raw) != nil {
				return false
			}
		case "context":
			bit = 4
			env.Context = raw[:len(raw):len(raw)]
		default:
			return !foldsTo(key, envelopeKeys)
		}
		if seen&(1<<bit) != 0 {
			return false
		}
		seen |= 1 << bit
		return true
	})
	if tooMany {
		// Only a "batch" member makes a batch: one that is not valid as
		// a whole still has too many elements; json.Unmarshal would
		// refuse it only after decoding them all.
		return true, true
	}
	return ok, false
}

var envelopeKeys = []string{"batch", "writekey", "sentat", "context"}

// validJSON reports whether data is one valid JSON value with nothing but
// white space around it. It may refuse valid JSON (nesting deeper than
// maxDepth), never accept invalid JSON: a refusal only sends the body to
// encoding/json. A fuzz test holds it to json.Valid.
func validJSON(data []byte) bool {
	i, ok := validValue(data, skipWS(data, 0), 0)
	return ok && skipWS(data, i) == len(data)
}

func validValue(data []byte, i, depth int) (int, bool) {
	if i >= len(data) || depth > maxDepth {
		return i, false
	}
	switch c := data[i]; {
	case c == '"':
		end, _, _, ok := scanString(data, i)
		return end, ok
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(data) || data[i] != '"' {
					return i, false
				}
				end, _, _, ok := scanString(data, i)
				if !ok {
					return i, false
				}
				if i = skipWS(data, end); i >= len(data) || data[i] != ':' {
					return i, false
				}
				i = skipWS(data, i+1)
			}
			var ok bool
			if i, ok = validValue(data, i, depth+1); !ok {
				return i, false
			}
			if i = skipWS(data, i); i >= len(data) {
				return i, false
			}
			switch data[i] {
			case ',':
				i = skipWS(data, i+1)
			case closer:
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(data, i)
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(data[i:], []byte(lit)) {
			return i + len(lit), true
		}
	}
	return i, false
}
