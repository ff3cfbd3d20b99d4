package tracking

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The fast decoder reads the wire forms of the hot path (a JSON array, a
// {"batch":[...]} envelope, one object, NDJSON lines) straight from the
// bytes into wireEvent values, with the same results as encoding/json. It
// recognises the known field names directly, copies every string of a body
// into one allocation, unescapes only strings holding a backslash, and keeps
// properties as a validated, compacted slice. Whatever it is not sure to
// decode exactly as encoding/json does (a wrong type, a duplicate or
// case-folded key, a string field holding invalid UTF-8 or an unpaired
// surrogate escape, an error of any kind) it hands back: an item to the
// encoding/json path of Body.Events, a malformed body to the encoding/json
// path of DecodeBody, which then produces the same error as always.

// fieldID names a field of wireEvent (and two of wireEnvelope).
type fieldID uint8

const (
	fID fieldID = iota
	fShopID
	fShopIDCamel
	fType
	fEventType
	fEventTypeCamel
	fEventName
	fUserID
	fUserIDCamel
	fAnonID
	fAnonIDCamel
	fSessionID
	fSessionIDCamel
	fProductID
	fProductIDCamel
	fProductName
	fProductNameC
	fCategory
	fPrice
	fQuantity
	fRevenue
	fOrderAmount
	fTotal
	fCurrency
	fOrderID
	fOrderIDCamel
	fURL
	fReferrer
	fUserAgent
	fUserAgentCamel
	fProperties
	fTimestamp
	fSentAt
	fSentAtCamel
	fReceivedAt
	fBatch    // envelope only
	fWriteKey // envelope only
	numFields
)

// fieldKind is the JSON a field accepts, mirroring the wireEvent field types.
type fieldKind uint8

const (
	kindString  fieldKind = iota // string: a JSON string, or null (no change)
	kindFlex                     // flexString: a string or a number's text
	kindDecimal                  // decimalText: a number, or a non-blank string
	kindInt                      // flexInt: an integer (strings are left to encoding/json)
	kindRaw                      // properties: an object (anything else is left to encoding/json)
	kindBatch                    // the envelope's array of events
)

var fieldKinds = [numFields]fieldKind{
	fID: kindFlex, fShopID: kindFlex, fShopIDCamel: kindFlex,
	fUserID: kindFlex, fUserIDCamel: kindFlex, fAnonID: kindFlex, fAnonIDCamel: kindFlex,
	fSessionID: kindFlex, fSessionIDCamel: kindFlex, fProductID: kindFlex, fProductIDCamel: kindFlex,
	fProductName: kindFlex, fProductNameC: kindFlex, fCategory: kindFlex,
	fOrderID: kindFlex, fOrderIDCamel: kindFlex,
	fPrice: kindDecimal, fRevenue: kindDecimal, fOrderAmount: kindDecimal, fTotal: kindDecimal,
	fQuantity: kindInt, fProperties: kindRaw, fBatch: kindBatch,
}

// lookupField maps an exact key to its field, as encoding/json's exact
// match does.
func lookupField(key []byte) (fieldID, bool) {
	switch string(key) {
	case "id":
		return fID, true
	case "shop_id":
		return fShopID, true
	case "shopId":
		return fShopIDCamel, true
	case "type":
		return fType, true
	case "event_type":
		return fEventType, true
	case "eventType":
		return fEventTypeCamel, true
	case "event":
		return fEventName, true
	case "user_id":
		return fUserID, true
	case "userId":
		return fUserIDCamel, true
	case "anonymous_id":
		return fAnonID, true
	case "anonymousId":
		return fAnonIDCamel, true
	case "session_id":
		return fSessionID, true
	case "sessionId":
		return fSessionIDCamel, true
	case "product_id":
		return fProductID, true
	case "productId":
		return fProductIDCamel, true
	case "product_name":
		return fProductName, true
	case "productName":
		return fProductNameC, true
	case "category":
		return fCategory, true
	case "price":
		return fPrice, true
	case "quantity":
		return fQuantity, true
	case "revenue":
		return fRevenue, true
	case "order_amount":
		return fOrderAmount, true
	case "total":
		return fTotal, true
	case "currency":
		return fCurrency, true
	case "order_id":
		return fOrderID, true
	case "orderId":
		return fOrderIDCamel, true
	case "url":
		return fURL, true
	case "referrer":
		return fReferrer, true
	case "user_agent":
		return fUserAgent, true
	case "userAgent":
		return fUserAgentCamel, true
	case "properties":
		return fProperties, true
	case "timestamp":
		return fTimestamp, true
	case "sent_at":
		return fSentAt, true
	case "sentAt":
		return fSentAtCamel, true
	case "received_at":
		return fReceivedAt, true
	case "batch":
		return fBatch, true
	case "writeKey":
		return fWriteKey, true
	}
	return 0, false
}

// foldedNames holds every field name in lower case: encoding/json matches a
// key that is not exact case-insensitively, which the fast decoder leaves
// to it.
var foldedNames = func() map[string]bool {
	m := make(map[string]bool)
	for _, n := range []string{"id", "shop_id", "shopId", "type", "event_type", "eventType", "event",
		"user_id", "userId", "anonymous_id", "anonymousId", "session_id", "sessionId", "product_id",
		"productId", "product_name", "productName", "category", "price", "quantity", "revenue",
		"order_amount", "total", "currency", "order_id", "orderId", "url", "referrer", "user_agent",
		"userAgent", "properties", "timestamp", "sent_at", "sentAt", "received_at", "batch", "writeKey"} {
		m[strings.ToLower(n)] = true
	}
	return m
}()

// foldsToField reports whether an unknown key might match a field
// case-insensitively (non-ASCII keys are assumed to, for Unicode folding).
func foldsToField(key []byte) bool {
	var buf [16]byte
	if len(key) > len(buf) {
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return true
			}
		}
		return false
	}
	for i, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return foldedNames[string(buf[:len(key)])]
}

// slot returns the string field of w that f names.
func (w *wireEvent) slot(f fieldID) *string {
	switch f {
	case fID:
		return (*string)(&w.ID)
	case fShopID:
		return (*string)(&w.ShopID)
	case fShopIDCamel:
		return (*string)(&w.ShopIDCamel)
	case fType:
		return (*string)(&w.Type)
	case fEventType:
		return (*string)(&w.EventType)
	case fEventTypeCamel:
		return (*string)(&w.EventTypeCamel)
	case fEventName:
		return (*string)(&w.EventName)
	case fUserID:
		return (*string)(&w.UserID)
	case fUserIDCamel:
		return (*string)(&w.UserIDCamel)
	case fAnonID:
		return (*string)(&w.AnonID)
	case fAnonIDCamel:
		return (*string)(&w.AnonIDCamel)
	case fSessionID:
		return (*string)(&w.SessionID)
	case fSessionIDCamel:
		return (*string)(&w.SessionIDCamel)
	case fProductID:
		return (*string)(&w.ProductID)
	case fProductIDCamel:
		return (*string)(&w.ProductIDCamel)
	case fProductName:
		return (*string)(&w.ProductName)
	case fProductNameC:
		return (*string)(&w.ProductNameC)
	case fCategory:
		return (*string)(&w.Category)
	case fPrice:
		return (*string)(&w.Price)
	case fRevenue:
		return (*string)(&w.Revenue)
	case fOrderAmount:
		return (*string)(&w.OrderAmount)
	case fTotal:
		return (*string)(&w.Total)
	case fCurrency:
		return (*string)(&w.Currency)
	case fOrderID:
		return (*string)(&w.OrderID)
	case fOrderIDCamel:
		return (*string)(&w.OrderIDCamel)
	case fURL:
		return (*string)(&w.URL)
	case fReferrer:
		return (*string)(&w.Referrer)
	case fUserAgent:
		return (*string)(&w.UserAgent)
	case fUserAgentCamel:
		return (*string)(&w.UserAgentCamel)
	case fTimestamp:
		return (*string)(&w.Timestamp)
	case fSentAt:
		return (*string)(&w.SentAt)
	case fSentAtCamel:
		return (*string)(&w.SentAtCamel)
	case fReceivedAt:
		return (*string)(&w.ReceivedAt)
	}
	return nil
}

// status is the outcome of decoding one value.
type status uint8

const (
	stOK     status = iota
	stSlow          // valid JSON, left to encoding/json
	stSyntax        // not valid JSON (or too deep): the body goes to encoding/json
)

// maxDepth bounds nesting; deeper bodies go to encoding/json, which has its
// own limit.
const maxDepth = 1000

// span is a decoded string field (or the properties) of one event, as a
// range of fastBody.strs (or fastBody.props).
type span struct {
	field      fieldID
	start, end uint32
}

// fastItem is one event of a body as the fast decoder left it.
type fastItem struct {
	ok       bool   // decoded; otherwise encoding/json decodes the item
	clean    bool   // ok, and no string holds a NUL (see fastDecoder.nul)
	from, to uint32 // its spans
	quantity int64
}

// fastBody holds the decoded events of a body compactly: every string in
// one allocation, every properties object in another.
type fastBody struct {
	strs  string
	props []byte
	spans []span
	items []fastItem
}

// wire fills w with item i.
func (f *fastBody) wire(i int, w *wireEvent) {
	it := &f.items[i]
	*w = wireEvent{Quantity: flexInt(it.quantity)}
	for _, sp := range f.spans[it.from:it.to] {
		if sp.field == fProperties {
			w.Properties = f.props[sp.start:sp.end:sp.end]
		} else {
			*w.slot(sp.field) = f.strs[sp.start:sp.end]
		}
	}
}

type fastDecoder struct {
	data  []byte
	strs  []byte // every decoded string of the body, back to back
	tmp   []byte
	props []byte // every compacted properties object, back to back
	// The three buffers above come from scratchPool; finish copies what
	// they hold to allocations of the exact size and gives them back.
	spans []span
	sawWS bool // ws skipped white space
	sc    *scratch
	// nul is set when a decoded string holds a NUL (from an escape). Every
	// decoded string is valid UTF-8 (one that is not, raw or by an unpaired
	// surrogate escape, is handed back), so the strings of an object decoded
	// without nul need neither check again.
	nul bool

	envSpans []span // a top-level object's own fields

	items    []json.RawMessage
	fitems   []fastItem
	hasBatch bool // the top-level object has a "batch" array
}

// decodeBodyFast decodes an array, a single object or a batch envelope
// (data is trimmed and not empty). ok is false when the body is not one
// valid JSON value of those forms or breaks a limit; encoding/json then
// decodes it and reports the error as it always has.
func decodeBodyFast(data []byte) (b *Body, ok bool) {
	d := &fastDecoder{data: data}
	// Typical events take ~500 bytes, ~14 fields, and ~2/3 of their bytes
	// are string values; sizing for that avoids regrowing big slices.
	n := min(len(data)/400+1, 1024)
	d.items = make([]json.RawMessage, 0, n)
	d.fitems = make([]fastItem, 0, n)
	d.spans = make([]span, 0, len(data)/40+1)
	d.getScratch()
	var end int
	var st status
	var env fastItem
	switch data[0] {
	case '[':
		end, st = d.array(0)
		d.hasBatch = true
	case '{':
		end, st = d.object(0, &env.quantity, true)
	default:
		return nil, false
	}
	if st != stOK || d.ws(end) != len(data) || len(d.items) > MaxBatchLen {
		d.putScratch()
		return nil, false
	}
	fb := d.finish()
	b = &Body{fast: fb}
	if data[0] == '[' {
		b.items = d.items
		return b, true
	}
	var w wireEvent
	w.Quantity = flexInt(env.quantity)
	for _, sp := range d.envSpans {
		switch sp.field {
		case fProperties:
			w.Properties = fb.props[sp.start:sp.end:sp.end]
		case fWriteKey:
			b.WriteKey = fb.strs[sp.start:sp.end]
		default:
			*w.slot(sp.field) = fb.strs[sp.start:sp.end]
		}
	}
	if !d.hasBatch {
		b.single, b.singleFast, b.singleClean = &w, true, !d.nul
		b.fast = nil
		return b, true
	}
	b.SentAt = w.sentAt()
	b.items = d.items
	return b, true
}

// decodeItemsFast decodes the items of b (NDJSON lines, or those of a body
// encoding/json split) that are each exactly one event object; the others
// are left to encoding/json.
func decodeItemsFast(b *Body) {
	d := &fastDecoder{}
	d.fitems = make([]fastItem, len(b.items))
	d.getScratch()
	for k, line := range b.items {
		if line[0] != '{' {
			continue
		}
		d.data = line
		it := &d.fitems[k]
		it.from = uint32(len(d.spans))
		props := len(d.props)
		d.nul = false
		end, st := d.object(0, &it.quantity, false)
		if st != stOK || end != len(line) {
			d.spans, d.props = d.spans[:it.from], d.props[:props]
			*it = fastItem{}
			continue
		}
		it.ok, it.clean, it.to = true, !d.nul, uint32(len(d.spans))
	}
	b.fast = d.finish()
}

// decodeObjectFast decodes data, one event object and nothing else but
// white space, into w, as encoding/json would. It reports false, with w
// unspecified, for anything it hands back to encoding/json.
func decodeObjectFast(data []byte, w *wireEvent) bool {
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	var spans [24]span
	d := &fastDecoder{data: data, spans: spans[:0]}
	d.getScratch()
	var it fastItem
	end, st := d.object(0, &it.quantity, false)
	if st != stOK || d.ws(end) != len(data) {
		d.putScratch()
		return false
	}
	it.ok, it.to = true, uint32(len(d.spans))
	d.fitems = []fastItem{it}
	d.finish().wire(0, w)
	return true
}

// finish hands over what was decoded.
func (d *fastDecoder) finish() *fastBody {
	fb := &fastBody{strs: string(d.strs), spans: d.spans, items: d.fitems}
	if len(d.props) > 0 {
		fb.props = bytes.Clone(d.props)
	}
	d.putScratch()
	return fb
}

// scratch is the reusable buffers of a fastDecoder.
type scratch struct{ strs, tmp, props []byte }

// scratchPool keeps decoding buffers between bodies: decoding into them
// and copying the result once to an allocation of the exact size
// allocates about a third less than sizing the result up front.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxScratch bounds the buffers kept in scratchPool.
const maxScratch = 1 << 20

func (d *fastDecoder) getScratch() {
	sc := scratchPool.Get().(*scratch)
	d.strs, d.tmp, d.props = sc.strs[:0], sc.tmp[:0], sc.props[:0]
	// Strings take about 2/3 of a typical body, properties up to 1/6.
	if n := len(d.data) * 3 / 4; cap(d.strs) < n {
		d.strs = make([]byte, 0, n)
	}
	if n := len(d.data) / 6; cap(d.props) < n {
		d.props = make([]byte, 0, n)
	}
	*sc = scratch{}
	d.sc = sc
}

func (d *fastDecoder) putScratch() {
	sc := d.sc
	if sc == nil {
		return
	}
	d.sc = nil
	if cap(d.strs) <= maxScratch && cap(d.props) <= maxScratch && cap(d.tmp) <= maxScratch {
		*sc = scratch{d.strs[:0], d.tmp[:0], d.props[:0]}
	}
	d.strs, d.tmp, d.props = nil, nil, nil
	scratchPool.Put(sc)
}

// ws skips JSON white space.
func (d *fastDecoder) ws(i int) int {
	for i < len(d.data) {
		switch d.data[i] {
		case ' ', '\t', '\n', '\r':
			d.sawWS = true
			i++
			continue
		}
		break
	}
	return i
}

// array decodes a JSON array of events at data[i].
func (d *fastDecoder) array(i int) (int, status) {
	data := d.data
	i = d.ws(i + 1)
	if i < len(data) && data[i] == ']' {
		return i + 1, stOK
	}
	for {
		if i >= len(data) {
			return i, stSyntax
		}
		if len(d.items) >= MaxBatchLen {
			return i, stSyntax // encoding/json reports it, after its syntax check
		}
		start := i
		it := fastItem{from: uint32(len(d.spans))}
		var end int
		if data[i] == '{' {
			props := len(d.props)
			var st status
			d.nul = false
			end, st = d.object(i, &it.quantity, false)
			switch st {
			case stSyntax:
				return end, stSyntax
			case stSlow:
				d.spans, d.props = d.spans[:it.from], d.props[:props]
				it = fastItem{}
			case stOK:
				it.ok, it.clean, it.to = true, !d.nul, uint32(len(d.spans))
			}
		} else {
			var ok bool
			if end, ok = d.skip(i, 0); !ok {
				return end, stSyntax
			}
		}
		d.items = append(grow(d.items), data[start:end:end])
		d.fitems = append(grow(d.fitems), it)
		i = d.ws(end)
		if i < len(data) && data[i] == ',' {
			i = d.ws(i + 1)
			continue
		}
		if i < len(data) && data[i] == ']' {
			return i + 1, stOK
		}
		return i, stSyntax
	}
}

// object decodes the event object at data[i] into spans (and quantity).
// envelope admits "batch" and "writeKey". On stSlow the object is valid
// JSON and end is past it.
func (d *fastDecoder) object(i int, quantity *int64, envelope bool) (end int, st status) {
	data := d.data
	start := i
	var seen uint64
	i = d.ws(i + 1)
	if i < len(data) && data[i] == '}' {
		return i + 1, stOK
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, stSyntax
		}
		kend, esc, _, ok := scanString(data, i)
		if !ok {
			return kend, stSyntax
		}
		if esc {
			return d.slow(start)
		}
		key := data[i+1 : kend-1]
		i = d.ws(kend)
		if i >= len(data) || data[i] != ':' {
			return i, stSyntax
		}
		i = d.ws(i + 1)
		if i >= len(data) {
			return i, stSyntax
		}
		f, known := lookupField(key)
		envOnly := known && (f == fBatch || f == fWriteKey) && !envelope
		if !known || envOnly {
			if !envOnly && foldsToField(key) {
				return d.slow(start)
			}
			if i, ok = d.skip(i, 0); !ok {
				return i, stSyntax
			}
		} else {
			if seen&(1<<f) != 0 {
				return d.slow(start)
			}
			seen |= 1 << f
			n := len(d.spans)
			if i, st = d.value(i, quantity, f); st != stOK {
				if st == stSlow {
					return d.slow(start)
				}
				return i, st
			}
			if envelope && f != fBatch && len(d.spans) > n {
				// The envelope's own field, not an item's.
				d.envSpans = append(d.envSpans, d.spans[n])
				d.spans = d.spans[:n]
			}
		}
		i = d.ws(i)
		if i < len(data) && data[i] == ',' {
			i = d.ws(i + 1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			return i + 1, stOK
		}
		return i, stSyntax
	}
}

// slow checks the syntax of the object at start for encoding/json to decode.
func (d *fastDecoder) slow(start int) (int, status) {
	end, ok := d.skip(start, 0)
	if !ok {
		return end, stSyntax
	}
	return end, stSlow
}

// value decodes the value of field f at data[i].
func (d *fastDecoder) value(i int, quantity *int64, f fieldID) (int, status) {
	data := d.data
	kind := fieldKinds[f]
	switch c := data[i]; {
	case c == '"':
		end, esc, high, ok := scanString(data, i)
		if !ok {
			return end, stSyntax
		}
		if kind != kindString && kind != kindFlex && kind != kindDecimal {
			return end, stSlow
		}
		// A string that is not valid UTF-8, raw or by an unpaired
		// surrogate escape, goes to encoding/json, whose path refuses it
		// naming the field (see wireString).
		v := data[i+1 : end-1]
		if esc {
			var bad string
			if d.tmp, bad = appendUnquoted(d.tmp[:0], v); bad != "" {
				return end, stSlow
			}
			v = d.tmp
			d.nul = d.nul || bytes.IndexByte(v, 0) >= 0
		} else if high && !utf8.Valid(v) {
			return end, stSlow
		}
		switch kind {
		case kindString, kindFlex:
			d.addString(f, v)
		case kindDecimal:
			v = bytes.TrimSpace(v)
			if len(v) == 0 {
				return end, stSlow
			}
			d.addString(f, v)
		}
		return end, stOK
	case c == 'n':
		if !bytes.HasPrefix(data[i:], []byte("null")) {
			return i, stSyntax
		}
		// null leaves every field as it was: empty, as no key repeats.
		return i + 4, stOK
	case c == '-' || c >= '0' && c <= '9':
		end, ok := scanNumber(data, i)
		if !ok {
			return end, stSyntax
		}
		switch kind {
		case kindFlex, kindDecimal:
			d.addString(f, data[i:end])
		case kindInt:
			v, ok := parseInt(data[i:end])
			if !ok {
				return end, stSlow
			}
			*quantity = v
		default:
			return end, stSlow
		}
		return end, stOK
	case c == '{' && kind == kindRaw:
		d.sawWS = false
		end, ok := d.skip(i, 0)
		if !ok {
			return end, stSyntax
		}
		s := len(d.props)
		d.props = growBytes(d.props, end-i)
		if d.sawWS {
			d.props = appendCompact(d.props, data[i:end])
		} else {
			d.props = append(d.props, data[i:end]...)
		}
		d.spans = append(grow(d.spans), span{f, uint32(s), uint32(len(d.props))})
		return end, stOK
	case c == '[' && kind == kindBatch:
		d.hasBatch = true
		return d.array(i)
	}
	return i, stSlow // a wrong type: encoding/json words the error
}

func (d *fastDecoder) addString(f fieldID, v []byte) {
	if len(d.strs)+len(v) > cap(d.strs) || len(d.spans) == cap(d.spans) {
		d.makeRoom(len(v))
	}
	s := len(d.strs)
	d.strs = append(d.strs, v...)
	d.spans = append(d.spans, span{f, uint32(s), uint32(len(d.strs))})
}

// makeRoom grows strs for n more bytes and spans for one more span, out of
// addString's way: it runs a few times a body, addString for every field.
//
//go:noinline
func (d *fastDecoder) makeRoom(n int) {
	d.strs = growBytes(d.strs, n)
	d.spans = grow(d.spans)
}

// grow makes room for one more element, doubling the capacity of a full
// slice: the slices of a long body then cost about twice their final size
// in all, where append's gentler growth of long slices allocates about
// five times it on the way.
func grow[S ~[]E, E any](s S) S {
	if len(s) == cap(s) {
		return slices.Grow(s, max(len(s), 16))
	}
	return s
}

// growBytes makes room for n more bytes, at least doubling the capacity of
// a buffer too small, as grow does.
func growBytes(b []byte, n int) []byte {
	if len(b)+n > cap(b) {
		return slices.Grow(b, max(n, len(b)))
	}
	return b
}

// parseInt parses a JSON integer as strconv.ParseInt does; fractions,
// exponents and overflow are left to encoding/json.
func parseInt(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 18 {
		return 0, false // may overflow
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// skip checks the JSON value at data[i] and returns the index past it.
func (d *fastDecoder) skip(i, depth int) (int, bool) {
	data := d.data
	if i >= len(data) {
		return i, false
	}
	switch c := data[i]; c {
	case '"':
		end, _, _, ok := scanString(data, i)
		return end, ok
	case '{', '[':
		if depth >= maxDepth {
			return i, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = d.ws(i + 1)
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
					return end, false
				}
				i = d.ws(end)
				if i >= len(data) || data[i] != ':' {
					return i, false
				}
				i = d.ws(i + 1)
			}
			var ok bool
			if i, ok = d.skip(i, depth+1); !ok {
				return i, false
			}
			i = d.ws(i)
			if i < len(data) && data[i] == ',' {
				i = d.ws(i + 1)
				continue
			}
			if i < len(data) && data[i] == closer {
				return i + 1, true
			}
			return i, false
		}
	case 't':
		return i + 4, bytes.HasPrefix(data[i:], []byte("true"))
	case 'f':
		return i + 5, bytes.HasPrefix(data[i:], []byte("false"))
	case 'n':
		return i + 4, bytes.HasPrefix(data[i:], []byte("null"))
	}
	return scanNumber(data, i)
}

// plain marks the bytes a JSON string holds without escaping: not '"',
// '\\', control characters or non-ASCII.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString checks the JSON string at data[i] ('"') and returns the index
// past its closing quote, whether it holds escapes, and whether it holds
// non-ASCII bytes. It reads from data[i+1] on: scanStr passes the byte
// before those it has checked already.
func scanString(data []byte, i int) (end int, esc, high, ok bool) {
	j := i + 1
	for {
		for j < len(data) && plain[data[j]] {
			j++
		}
		if j >= len(data) {
			return j, esc, high, false
		}
		switch c := data[j]; {
		case c == '"':
			return j + 1, esc, high, true
		case c == '\\':
			esc = true
			j++
			if j >= len(data) {
				return j, esc, high, false
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+4 >= len(data) || hex4(data[j+1:j+5]) < 0 {
					return j, esc, high, false
				}
				j += 5
			default:
				return j, esc, high, false
			}
		case c < 0x20:
			return j, esc, high, false
		default:
			high = true
			j++
		}
	}
}

// scanNumber checks the JSON number at data[i] and returns the index past it.
func scanNumber(data []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		s := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i, i > s
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i >= len(data) {
		return i, false
	}
	if data[i] == '0' {
		i++
	} else {
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	if i < len(data) && data[i] == '.' {
		var ok bool
		if i, ok = digits(i + 1); !ok {
			return i, false
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	return i, true
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// appendUnquoted unescapes s, the inside of a valid JSON string, as
// encoding/json does, except that invalid UTF-8 and an unpaired surrogate
// escape, which encoding/json replaces with U+FFFD, stop it: bad then says
// which of the two came first, and dst is unspecified.
func appendUnquoted(dst, s []byte) (_ []byte, bad string) {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					rr1 := rune(-1)
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						rr1 = hex4(s[r+2:])
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						r += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
					return dst, reasonSurrogate
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				return dst, reasonBadUTF8
			}
			dst = append(dst, s[r:r+size]...)
			r += size
		}
	}
	return dst, ""
}

// appendCompact appends valid JSON src without white space outside strings,
// as json.Compact does.
func appendCompact(dst, src []byte) []byte {
	in := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if in {
			dst = append(dst, c)
			switch c {
			case '\\':
				i++
				dst = append(dst, src[i])
			case '"':
				in = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			in = true
		}
		dst = append(dst, c)
	}
	return dst
}
