package tracking

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// The Segment fast path decodes a /v1/batch body (or a /v1/track,
// /v1/page or /v1/screen message) in one scan: it checks the JSON, splits
// the batch and maps each track, page and screen message straight into the
// fields of an Event, as the native fast decoder does for our own shape.
// Every string of the body it keeps goes into one allocation, every
// properties object left over into another, and an Event is filled from
// them after authentication (SegmentBody.AppendEvents) with no further
// allocation.
//
// It maps a message only when it is sure to map it exactly as FromSegment
// does: a track, page or screen message whose keys are exact and not
// repeated, whose values have the types FromSegment's fields take, whose
// strings are valid UTF-8 and whose money parses. Anything else (another
// message type, an escaped or case-folded key, a wrong type, an error of
// any kind) it leaves to FromSegment, message by message; a body that is
// not valid JSON, or whose envelope it is not sure of, goes whole to the
// encoding/json path, which reports its error as it always has.
// Differential fuzz tests hold the two paths to the same events and
// rejections.

// segField names a string of a decoded message, kept as a span of
// segmentFast.strs.
type segField uint8

const (
	sfID        segField = iota // messageId
	sfUser                      // userId
	sfAnon                      // anonymousId
	sfType                      // the custom event type, when the name is no spec name
	sfProduct                   // properties.product_id, productId or id
	sfName                      // properties.name
	sfCategory                  // properties.category
	sfPrice                     // properties.price
	sfRevenue                   // properties.revenue, else total
	sfCurrency                  // properties.currency
	sfOrder                     // properties.order_id or orderId
	sfURL                       // context.page.url
	sfReferrer                  // context.page.referrer
	sfUserAgent                 // context.userAgent
	sfOriginal                  // originalTimestamp
	sfTimestamp                 // timestamp
	sfSentAt                    // sentAt
	numSegFields
)

type segSpan struct{ start, end uint32 }

// The members of a context object a message has, whatever their values:
// the message's own replace the envelope's (see mergeContext).
const (
	ctxPage uint8 = 1 << iota
	ctxUserAgent
	ctxIP
)

// The fields a page's properties set, which no context replaces.
const (
	fixedURL uint8 = 1 << iota
	fixedReferrer
)

// segItem is one message of a batch as the fast path left it.
type segItem struct {
	ok    bool   // mapped; otherwise FromSegment maps the message
	clean bool   // no string decoded from it holds a NUL
	ctx   uint8  // the members its own context has (ctxPage...)
	envIP bool   // it takes context.ip from the envelope, if the envelope has one
	fixed uint8  // fixedURL, fixedReferrer: set by a page's properties
	typ   string // the event type when the name is a spec name; else sfType
	s     [numSegFields]segSpan
	props segSpan // its properties, in segmentFast.props; empty for none
	qty   int64
}

// segmentFast is what the fast path decoded of a body.
type segmentFast struct {
	strs  string
	props []byte
	items []segItem
}

// fill writes message i into e (which it overwrites whole) and returns its
// send time for the skew correction, as FromSegment does; false when it
// cannot (an unparsable timestamp or amount), for FromSegment to say why.
func (f *segmentFast) fill(i int, e *Event, env *SegmentEnvelope) (time.Time, bool) {
	it := &f.items[i]
	s := func(k segField) string { return f.strs[it.s[k].start:it.s[k].end] }
	*e = Event{
		ID: s(sfID), Type: it.typ, UserID: s(sfUser), AnonymousID: s(sfAnon),
		ProductID: s(sfProduct), ProductName: s(sfName), Category: s(sfCategory), Quantity: it.qty,
		OrderID: s(sfOrder), URL: s(sfURL), Referrer: s(sfReferrer), UserAgent: s(sfUserAgent),
	}
	if e.Type == "" {
		e.Type = s(sfType)
	}
	for _, k := range [...]segField{sfOriginal, sfTimestamp} {
		v := s(k)
		if v == "" {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, false
		}
		if !ts.IsZero() {
			e.Timestamp = ts
			break
		}
	}
	sentAt := parseInstant(s(sfSentAt))
	if sentAt.IsZero() {
		sentAt = env.SentAt
	}
	if e.setMoney(s(sfPrice), "properties.price", s(sfRevenue), "properties.revenue", s(sfCurrency)) != nil {
		return time.Time{}, false
	}
	if it.props.end > it.props.start {
		e.Properties = f.props[it.props.start:it.props.end:it.props.end]
	}
	return sentAt, true
}

// segMember is one member of a message's properties: its key and the
// place of its value in the body.
type segMember struct {
	key        []byte
	start, end int
	taken      bool    // mapped to a field of the event
	quoted     bool    // added by the mapping: the string str of strs
	str        segSpan // for quoted
}

// segContext is what a context object gives an event.
type segContext struct {
	has                          uint8 // ctxPage...
	url, referrer, userAgent, ip segSpan
}

// segScratch is the reusable state of a segDecoder.
type segScratch struct {
	strs, tmp, props []byte
	items            []segItem
	msgs             []json.RawMessage
	ms               []segMember
	order            []int
}

var segScratchPool = sync.Pool{New: func() any { return new(segScratch) }}

type segDecoder struct {
	data             []byte
	kind             string // the path's message type; "" for a batch
	strs, tmp, props []byte
	items            []segItem
	msgs             []json.RawMessage
	ms               []segMember
	slot             [numPropSlots]int // the index in ms of each mapped property, or -1
	order            []int
	sc               *segScratch

	// Of the message being decoded: something in it is for FromSegment
	// to decide (bad), and a string decoded from it holds a NUL (nul).
	bad, nul bool

	// Of the envelope.
	envCtx    segContext
	envCtxRaw []byte
	envBad    bool // its context is one only FromSegment merges right
	envNul    bool
	writeKey  segSpan
	sentAt    segSpan
	hasKey    bool // writeKey given a string
}

func (d *segDecoder) getScratch() {
	sc := segScratchPool.Get().(*segScratch)
	d.sc = sc
	d.strs, d.tmp, d.props = sc.strs[:0], sc.tmp[:0], sc.props[:0]
	d.items, d.msgs, d.ms, d.order = sc.items[:0], sc.msgs[:0], sc.ms[:0], sc.order[:0]
	if n := len(d.data) * 3 / 4; cap(d.strs) < n {
		d.strs = make([]byte, 0, n)
	}
	if n := len(d.data) / 6; cap(d.props) < n {
		d.props = make([]byte, 0, n)
	}
	if n := len(d.data)/256 + 1; cap(d.items) < n {
		d.items = make([]segItem, 0, n)
		d.msgs = make([]json.RawMessage, 0, n)
	}
	*sc = segScratch{}
}

// maxSegItems bounds the item buffers kept in segScratchPool.
const maxSegItems = 4096

func (d *segDecoder) putScratch() {
	sc := d.sc
	if sc == nil {
		return
	}
	d.sc = nil
	if cap(d.strs) <= maxScratch && cap(d.props) <= maxScratch && cap(d.tmp) <= maxScratch && cap(d.items) <= maxSegItems {
		clear(d.msgs[:cap(d.msgs)]) // let go of the body
		clear(d.ms[:cap(d.ms)])
		*sc = segScratch{d.strs[:0], d.tmp[:0], d.props[:0], d.items[:0], d.msgs[:0], d.ms[:0], d.order[:0]}
	}
	d.strs, d.tmp, d.props, d.items, d.msgs, d.ms = nil, nil, nil, nil, nil, nil
	segScratchPool.Put(sc)
}

// decodeSegmentFast decodes a Segment body (trimmed, a '{' first) in one
// scan. kind is the path's message type, "" for a batch; "track", "page",
// "screen" and "" are taken. ok false sends the whole body to the
// encoding/json path.
func decodeSegmentFast(data []byte, kind string) (b *SegmentBody, ok bool) {
	switch kind {
	case "", "track", "page", "screen":
	default:
		return nil, false
	}
	d := &segDecoder{data: data, kind: kind}
	d.getScratch()
	defer d.putScratch()
	var end int
	if kind == "" {
		end, ok = d.envelope()
	} else {
		var it segItem
		if end, ok = d.message(0, &it); ok {
			d.items = append(d.items, it)
			d.msgs = append(d.msgs, data)
		}
	}
	if !ok || skipWS(data, end) != len(data) {
		return nil, false
	}
	f := &segmentFast{strs: string(d.strs), items: slices.Clone(d.items)}
	if len(d.props) > 0 {
		f.props = bytes.Clone(d.props)
	}
	b = &SegmentBody{Messages: slices.Clone(d.msgs), fast: f}
	if d.hasKey {
		b.WriteKey = f.strs[d.writeKey.start:d.writeKey.end]
	}
	b.Envelope.Type = kind
	b.Envelope.SentAt = parseInstant(f.strs[d.sentAt.start:d.sentAt.end])
	if d.envCtxRaw != nil {
		b.Envelope.Context = d.envCtxRaw
	}
	d.resolve(f)
	return b, true
}

// resolve merges the envelope's context into each message, now that it is
// known (it may follow the batch, as analytics-go sends it).
func (d *segDecoder) resolve(f *segmentFast) {
	env := &d.envCtx
	for i := range f.items {
		it := &f.items[i]
		if !it.ok {
			continue
		}
		if d.envBad || it.envIP && env.ip.end > env.ip.start {
			// Only FromSegment puts an envelope's ip among the
			// properties, where its place depends on the others.
			it.ok = false
			continue
		}
		if it.ctx&ctxPage == 0 {
			if it.fixed&fixedURL == 0 {
				it.s[sfURL] = env.url
			}
			if it.fixed&fixedReferrer == 0 {
				it.s[sfReferrer] = env.referrer
			}
		}
		if it.ctx&ctxUserAgent == 0 {
			it.s[sfUserAgent] = env.userAgent
		}
		it.clean = it.clean && !d.envNul
	}
}

// envelope decodes the body's object: writeKey, sentAt, context and the
// batch, whose messages it decodes in place.
func (d *segDecoder) envelope() (int, bool) {
	data := d.data
	i := skipWS(data, 1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	var seen uint8
	for {
		if i >= len(data) || data[i] != '"' {
			return i, false
		}
		kend, esc, high, ok := scanStr(data, i)
		if !ok || esc || high {
			return i, false // an escaped or non-ASCII key may name a field
		}
		key := data[i+1 : kend-1]
		if i = skipWS(data, kend); i >= len(data) || data[i] != ':' {
			return i, false
		}
		i = skipWS(data, i+1)
		if i >= len(data) {
			return i, false
		}
		var bit uint8
		switch string(key) {
		case "batch":
			bit = 1
			switch data[i] {
			case '[':
				i, ok = d.batch(i)
			case 'n':
				i, ok = literal(data, i, "null")
			default:
				return i, false // encoding/json words the error
			}
		case "writeKey":
			bit = 2
			var set bool
			if i, d.writeKey, set, ok = d.envString(i); ok && set {
				d.hasKey = true
			}
		case "sentAt":
			bit = 4
			i, d.sentAt, _, ok = d.envString(i)
		case "context":
			bit = 8
			start := i
			if data[i] != '{' {
				i, ok = d.skip(i, 0) // not an object: DecodeSegment ignores it
				break
			}
			d.bad, d.nul = false, false
			var c segContext
			if i, ok = d.context(i, &c); ok {
				d.envCtx, d.envCtxRaw, d.envBad, d.envNul = c, data[start:i:i], d.bad, d.nul
			}
		default:
			if foldsTo(key, envelopeKeys) {
				return i, false
			}
			i, ok = d.skip(i, 0)
		}
		if !ok || seen&bit != 0 {
			return i, false
		}
		seen |= bit
		i = skipWS(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipWS(data, i+1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			return i + 1, true
		}
		return i, false
	}
}

var envelopeKeys = []string{"batch", "writekey", "sentat", "context"}

// envString decodes a string of the envelope, which must be a string or
// null: anything else is encoding/json's to refuse. set says it is a
// string.
func (d *segDecoder) envString(i int) (end int, sp segSpan, set, ok bool) {
	if d.data[i] != '"' && d.data[i] != 'n' {
		return i, sp, false, false
	}
	bad := d.bad
	d.bad = false
	end, sp, ok = d.str(i, kWire)
	ok = ok && !d.bad
	d.bad = bad
	return end, sp, d.data[i] == '"', ok
}

// batch decodes the array of messages at data[i].
func (d *segDecoder) batch(i int) (int, bool) {
	data := d.data
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, true
	}
	for {
		if i >= len(data) {
			return i, false
		}
		if len(d.items) == MaxBatchLen {
			return i, false // the encoding/json path refuses it, after checking the body
		}
		start := i
		var it segItem
		var ok bool
		if data[i] == '{' {
			i, ok = d.message(i, &it)
		} else {
			i, ok = d.skip(i, 0) // not an object: FromSegment says so
		}
		if !ok {
			return i, false
		}
		d.items = append(d.items, it)
		d.msgs = append(d.msgs, data[start:i:i])
		i = skipWS(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipWS(data, i+1)
			continue
		}
		if i < len(data) && data[i] == ']' {
			return i + 1, true
		}
		return i, false
	}
}

// The members of a message FromSegment reads, by the bit each has in a
// set of those seen.
const (
	mType = iota
	mMessageID
	mUserID
	mAnonymousID
	mPreviousID
	mGroupID
	mEvent
	mName
	mCategory
	mProperties
	mTraits
	mContext
	mTimestamp
	mOriginal
	mSentAt
	mWriteKey // of a single message only
)

func messageMember(key []byte) int {
	switch string(key) {
	case "type":
		return mType
	case "messageId":
		return mMessageID
	case "userId":
		return mUserID
	case "anonymousId":
		return mAnonymousID
	case "previousId":
		return mPreviousID
	case "groupId":
		return mGroupID
	case "event":
		return mEvent
	case "name":
		return mName
	case "category":
		return mCategory
	case "properties":
		return mProperties
	case "traits":
		return mTraits
	case "context":
		return mContext
	case "timestamp":
		return mTimestamp
	case "originalTimestamp":
		return mOriginal
	case "sentAt":
		return mSentAt
	case "writeKey":
		return mWriteKey
	}
	return -1
}

// Field names FromSegment's structs match, lower case, for the keys that
// match them only case-insensitively.
var (
	segmentMessageKeys = []string{"type", "messageid", "userid", "anonymousid", "previousid", "groupid", "event",
		"name", "category", "properties", "traits", "context", "timestamp", "originaltimestamp", "sentat"}
	contextKeys = []string{"page", "useragent", "ip"}
	pageKeys    = []string{"url", "referrer"}
)

// message decodes the message object at data[i] into it. ok false is a
// syntax error (the body goes to encoding/json); a message the fast path
// cannot map is it.ok false, for FromSegment.
func (d *segDecoder) message(i int, it *segItem) (end int, ok bool) {
	data := d.data
	start := i
	strs0, props0 := len(d.strs), len(d.props)
	d.bad, d.nul = false, false
	d.ms = d.ms[:0]
	for k := range d.slot {
		d.slot[k] = -1
	}
	var (
		seen                       uint32
		typ, event, name, category segSpan
		own                        segContext
		props                      bool
	)
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			if i >= len(data) || data[i] != '"' {
				return i, false
			}
			kend, esc, high, ok := scanStr(data, i)
			if !ok {
				return kend, false
			}
			key := data[i+1 : kend-1]
			if i = skipWS(data, kend); i >= len(data) || data[i] != ':' {
				return i, false
			}
			if i = skipWS(data, i+1); i >= len(data) {
				return i, false
			}
			m := -1
			if !esc && !high {
				m = messageMember(key)
			}
			if d.kind == "" && m == mWriteKey {
				m = -1 // in a batch, a message's writeKey means nothing
			}
			if d.kind != "" && (esc || high || m < 0 && bytes.EqualFold(key, []byte("writekey")) || m == mWriteKey && seen&(1<<m) != 0) {
				// DecodeSegment reads the key of a single message as
				// encoding/json matches it.
				return i, false
			}
			if m < 0 {
				if esc || high || foldsTo(key, segmentMessageKeys) {
					d.bad = true
				}
				i, ok = d.skip(i, 0)
			} else {
				if seen&(1<<m) != 0 {
					d.bad = true // repeated: encoding/json's rules for it are subtle
				}
				seen |= 1 << m
				switch m {
				case mType:
					i, typ, ok = d.str(i, kWire)
				case mMessageID:
					i, it.s[sfID], ok = d.str(i, kFlex)
				case mUserID:
					i, it.s[sfUser], ok = d.str(i, kFlex)
				case mAnonymousID:
					i, it.s[sfAnon], ok = d.str(i, kFlex)
				case mPreviousID, mGroupID:
					i, ok = d.check(i, kFlex)
				case mEvent:
					i, event, ok = d.str(i, kWire)
				case mName:
					i, name, ok = d.str(i, kWire)
				case mCategory:
					i, category, ok = d.str(i, kWire)
				case mProperties:
					i, props, ok = d.properties(i)
				case mTraits:
					i, ok = d.skip(i, 0)
				case mContext:
					switch data[i] {
					case '{':
						i, ok = d.context(i, &own)
					case 'n':
						i, ok = literal(data, i, "null")
					default:
						d.bad = true // FromSegment: not an object
						i, ok = d.skip(i, 0)
					}
				case mTimestamp:
					i, it.s[sfTimestamp], ok = d.str(i, kWire)
				case mOriginal:
					i, it.s[sfOriginal], ok = d.str(i, kWire)
				case mSentAt:
					i, it.s[sfSentAt], ok = d.str(i, kWire)
				case mWriteKey:
					var set bool
					if i, d.writeKey, set, ok = d.envString(i); !ok {
						return i, false
					}
					d.hasKey = set
				}
			}
			if !ok {
				return i, false
			}
			i = skipWS(data, i)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == '}' {
				i++
				break
			}
			return i, false
		}
	}
	end = i
	kind := d.kind
	if kind == "" {
		switch string(d.strs[typ.start:typ.end]) { // no allocation
		case "track":
			kind = "track"
		case "page":
			kind = "page"
		case "screen":
			kind = "screen"
		}
	}
	if d.bad || end-start > SegmentMaxMessageBytes || !d.mapMessage(it, kind, event, name, category, props, &own) {
		d.rollback(strs0, props0)
		return end, true
	}
	it.ok, it.clean = true, !d.nul
	return end, true
}

// mapMessage maps a track, page or screen message whose members are
// decoded, as FromSegment does, and reports false for anything else.
func (d *segDecoder) mapMessage(it *segItem, kind string, event, name, category segSpan, props bool, own *segContext) bool {
	empty := func(sp segSpan) bool { return sp.end == sp.start }
	it.ctx = own.has
	it.s[sfURL], it.s[sfReferrer], it.s[sfUserAgent] = own.url, own.referrer, own.userAgent
	switch kind {
	case "track":
		if empty(event) {
			return false
		}
		// The event type, as SegmentEventName gives it.
		n := d.strs[event.start:event.end]
		if t, ok := segmentTypes[string(bytes.TrimSpace(n))]; ok {
			it.typ = t
		} else {
			s := len(d.strs)
			d.strs = appendSegmentName(d.strs, d.strs[event.start:event.end])
			if len(d.strs) == s {
				return false // no letter or digit
			}
			it.s[sfType] = segSpan{uint32(s), uint32(len(d.strs))}
		}
		if props && !d.takeProperties(it) {
			return false
		}
	case "page", "screen":
		it.typ = PageViewed
		if kind == "screen" {
			it.typ = "screen_viewed"
		}
		// The message's name and category replace the properties' own.
		for _, f := range [...]struct {
			slot int
			key  string
			v    segSpan
		}{{pName, "name", name}, {pCategory, "category", category}} {
			if empty(f.v) {
				continue
			}
			if k := d.slot[f.slot]; k >= 0 {
				d.ms[k].taken = true
			}
			d.ms = append(d.ms, segMember{key: []byte(f.key), quoted: true, str: f.v})
		}
		// The properties' url and referrer, taken whatever their value,
		// replace the context's when not empty.
		for _, f := range [...]struct {
			slot  int
			field segField
			fixed uint8
		}{{pURL, sfURL, fixedURL}, {pReferrer, sfReferrer, fixedReferrer}} {
			k := d.slot[f.slot]
			if k < 0 {
				continue
			}
			d.ms[k].taken = true
			bad := d.bad
			_, v, ok := d.str(d.ms[k].start, kWire)
			if !ok || d.bad {
				d.bad = bad
				return false
			}
			if !empty(v) {
				it.s[f.field] = v
				it.fixed |= f.fixed
			}
		}
	default:
		return false
	}
	// context.ip joins the properties unless they have an ip.
	propsIP := d.slot[pIP] >= 0
	if own.has&ctxIP != 0 {
		if !propsIP && !empty(own.ip) {
			d.ms = append(d.ms, segMember{key: []byte("ip"), quoted: true, str: own.ip})
		}
	} else {
		it.envIP = !propsIP
	}
	return d.encodeProperties(it)
}

// rollback drops what a message left to FromSegment added to strs and
// props; a single message keeps its writeKey there.
func (d *segDecoder) rollback(strs, props int) {
	if d.kind == "" {
		d.strs, d.props = d.strs[:strs], d.props[:props]
	}
}

// The properties takeProperties maps, and ip, by their slot in
// segDecoder.slot.
const (
	pProductID = iota
	pProductIDCamel
	pID
	pName
	pCategory
	pPrice
	pQuantity
	pCurrency
	pOrderID
	pOrderIDCamel
	pRevenue
	pTotal
	pIP
	pURL
	pReferrer
	numPropSlots
)

func propSlot(key []byte) int {
	switch string(key) {
	case "product_id":
		return pProductID
	case "productId":
		return pProductIDCamel
	case "id":
		return pID
	case "name":
		return pName
	case "category":
		return pCategory
	case "price":
		return pPrice
	case "quantity":
		return pQuantity
	case "currency":
		return pCurrency
	case "order_id":
		return pOrderID
	case "orderId":
		return pOrderIDCamel
	case "revenue":
		return pRevenue
	case "total":
		return pTotal
	case "ip":
		return pIP
	case "url":
		return pURL
	case "referrer":
		return pReferrer
	}
	return -1
}

// takeProperties is (*Event).takeProperties over the members of the
// properties: the same fields, synonyms and order, each decoded as there.
// It reports false for anything takeProperties would refuse.
func (d *segDecoder) takeProperties(it *segItem) bool {
	typ := it.typ
	productEvent := typ == ProductViewed || typ == AddToCart || typ == RemoveFromCart
	if typ == "" {
		// A custom name may come out as one of these too ("Product viewed").
		t := d.strs[it.s[sfType].start:it.s[sfType].end]
		productEvent = string(t) == ProductViewed || string(t) == AddToCart || string(t) == RemoveFromCart
	}
	ok := true
	take := func(slot int, skip bool, k valKind, dst *segSpan) {
		i := d.slot[slot]
		if !ok || i < 0 || skip {
			return
		}
		d.ms[i].taken = true
		bad := d.bad
		_, *dst, ok = d.str(d.ms[i].start, k)
		ok = ok && !d.bad
		d.bad = bad
	}
	empty := func(sp segSpan) bool { return sp.end == sp.start }
	take(pProductID, false, kFlex, &it.s[sfProduct])
	take(pProductIDCamel, !empty(it.s[sfProduct]), kFlex, &it.s[sfProduct])
	take(pID, !productEvent || !empty(it.s[sfProduct]), kFlex, &it.s[sfProduct])
	take(pName, false, kWire, &it.s[sfName])
	take(pCategory, false, kWire, &it.s[sfCategory])
	take(pPrice, false, kDecimal, &it.s[sfPrice])
	if i := d.slot[pQuantity]; ok && i >= 0 {
		d.ms[i].taken = true
		it.qty, ok = d.flexInt(d.data[d.ms[i].start:d.ms[i].end])
	}
	take(pCurrency, false, kWire, &it.s[sfCurrency])
	take(pOrderID, false, kFlex, &it.s[sfOrder])
	take(pOrderIDCamel, !empty(it.s[sfOrder]), kFlex, &it.s[sfOrder])
	take(pRevenue, false, kDecimal, &it.s[sfRevenue])
	take(pTotal, !empty(it.s[sfRevenue]), kDecimal, &it.s[sfRevenue])
	return ok
}

// flexInt decodes v as flexInt does, for the plain forms: an integer, or
// a string of one without escapes; false for anything else.
func (d *segDecoder) flexInt(v []byte) (int64, bool) {
	switch v[0] {
	case 'n':
		return 0, true
	case '"':
		v = v[1 : len(v)-1]
		for _, c := range v {
			if c == '\\' || c >= utf8.RuneSelf {
				return 0, false
			}
		}
		v = bytes.Trim(v, " ")
	}
	return parseDecimalInt(v)
}

// parseDecimalInt parses [-]digits as strconv.ParseInt does, for up to 18
// digits; false for anything else.
func parseDecimalInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
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

// encodeProperties encodes the members not taken as json.Marshal encodes
// a map[string]json.RawMessage: keys sorted and escaped for HTML, values
// compacted and escaped for HTML (a quoted member's string encoded as
// json.Marshal encodes a string). It reports false for a repeated key.
func (d *segDecoder) encodeProperties(it *segItem) bool {
	order := d.order[:0]
	for k := range d.ms {
		if !d.ms[k].taken {
			order = append(order, k)
		}
	}
	d.order = order
	if len(order) == 0 {
		return true
	}
	// Insertion sort: properties are few.
	for a := 1; a < len(order); a++ {
		for b := a; b > 0 && bytes.Compare(d.ms[order[b]].key, d.ms[order[b-1]].key) < 0; b-- {
			order[b], order[b-1] = order[b-1], order[b]
		}
	}
	for a := 1; a < len(order); a++ {
		if bytes.Equal(d.ms[order[a]].key, d.ms[order[a-1]].key) {
			return false // repeated: the map keeps the last
		}
	}
	start := len(d.props)
	p := append(d.props, '{')
	str := func(s []byte) {
		if plainText(s) {
			p = append(p, '"')
			p = append(p, s...)
			p = append(p, '"')
			return
		}
		enc, _ := json.Marshal(string(s))
		p = append(p, enc...)
	}
	for n, k := range order {
		m := &d.ms[k]
		if n > 0 {
			p = append(p, ',')
		}
		str(m.key)
		p = append(p, ':')
		if m.quoted {
			str(d.strs[m.str.start:m.str.end])
		} else {
			p = appendMarshalled(p, d.data[m.start:m.end])
		}
	}
	p = append(p, '}')
	d.props = p
	it.props = segSpan{uint32(start), uint32(len(p))}
	return true
}

// appendMarshalled appends the valid JSON value v as json.Marshal writes a
// json.RawMessage: without white space outside strings, with '<', '>',
// '&', U+2028 and U+2029 escaped.
func appendMarshalled(dst, v []byte) []byte {
	const hex = "0123456789abcdef"
	in := false
	run := 0 // start of the bytes not yet copied
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, v[run:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			run = i + 1
		case c == 0xE2 && i+2 < len(v) && v[i+1] == 0x80 && v[i+2]&^1 == 0xA8:
			dst = append(dst, v[run:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[v[i+2]&0xF])
			i += 2
			run = i + 1
		case in:
			if c == '\\' {
				i++
			} else if c == '"' {
				in = false
			}
		case c == '"':
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, v[run:i]...)
			run = i + 1
		}
	}
	return append(dst, v[run:]...)
}

// properties records the members of the properties object at data[i] in
// d.ms. object says it is one (null is none; anything else is for
// FromSegment to refuse).
func (d *segDecoder) properties(i int) (end int, object, ok bool) {
	data := d.data
	switch data[i] {
	case '{':
	case 'n':
		end, ok = literal(data, i, "null")
		return end, false, ok
	default:
		d.bad = true
		end, ok = d.skip(i, 0)
		return end, false, ok
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, true, false
		}
		kend, esc, high, ok := scanStr(data, i)
		if !ok {
			return kend, true, false
		}
		key := data[i+1 : kend-1]
		if esc || high && !utf8.Valid(key) {
			d.bad = true
		}
		if i = skipWS(data, kend); i >= len(data) || data[i] != ':' {
			return i, true, false
		}
		i = skipWS(data, i+1)
		start := i
		if i, ok = d.skip(i, 0); !ok {
			return i, true, false
		}
		if !d.bad {
			// A repeated key (the map keeps the last) is caught here for
			// the keys mapped to fields, among the others once sorted.
			if k := propSlot(key); k >= 0 {
				if d.slot[k] >= 0 {
					d.bad = true
				}
				d.slot[k] = len(d.ms)
			}
			d.ms = append(d.ms, segMember{key: key, start: start, end: i})
		}
		i = skipWS(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipWS(data, i+1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			return i + 1, true, true
		}
		return i, true, false
	}
}

// context decodes the context object at data[i] into c: page.url,
// page.referrer, userAgent and ip, and which of page, userAgent and ip it
// has.
func (d *segDecoder) context(i int, c *segContext) (int, bool) {
	data := d.data
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, false
		}
		kend, esc, high, ok := scanStr(data, i)
		if !ok {
			return kend, false
		}
		key := data[i+1 : kend-1]
		if i = skipWS(data, kend); i >= len(data) || data[i] != ':' {
			return i, false
		}
		i = skipWS(data, i+1)
		if i >= len(data) {
			return i, false
		}
		var bit uint8
		switch {
		case esc || high:
			d.bad = true
			i, ok = d.skip(i, 0)
		case string(key) == "page":
			bit = ctxPage
			switch data[i] {
			case '{':
				i, ok = d.page(i, c)
			case 'n':
				i, ok = literal(data, i, "null")
			default:
				d.bad = true // not an object
				i, ok = d.skip(i, 0)
			}
		case string(key) == "userAgent":
			bit = ctxUserAgent
			i, c.userAgent, ok = d.str(i, kWire)
		case string(key) == "ip":
			bit = ctxIP
			i, c.ip, ok = d.str(i, kWire)
		default:
			if foldsTo(key, contextKeys) {
				d.bad = true
			}
			i, ok = d.skip(i, 0)
		}
		if !ok {
			return i, false
		}
		if c.has&bit != 0 {
			d.bad = true
		}
		c.has |= bit
		i = skipWS(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipWS(data, i+1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			return i + 1, true
		}
		return i, false
	}
}

// page decodes context.page at data[i].
func (d *segDecoder) page(i int, c *segContext) (int, bool) {
	data := d.data
	var seen uint8
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, false
		}
		kend, esc, high, ok := scanStr(data, i)
		if !ok {
			return kend, false
		}
		key := data[i+1 : kend-1]
		if i = skipWS(data, kend); i >= len(data) || data[i] != ':' {
			return i, false
		}
		i = skipWS(data, i+1)
		if i >= len(data) {
			return i, false
		}
		var bit uint8
		switch {
		case esc || high:
			d.bad = true
			i, ok = d.skip(i, 0)
		case string(key) == "url":
			bit = 1
			i, c.url, ok = d.str(i, kWire)
		case string(key) == "referrer":
			bit = 2
			i, c.referrer, ok = d.str(i, kWire)
		default:
			if foldsTo(key, pageKeys) {
				d.bad = true
			}
			i, ok = d.skip(i, 0)
		}
		if !ok {
			return i, false
		}
		if seen&bit != 0 {
			d.bad = true
		}
		seen |= bit
		i = skipWS(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipWS(data, i+1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			return i + 1, true
		}
		return i, false
	}
}

// valKind is what a field of FromSegment's accepts.
type valKind uint8

const (
	kWire    valKind = iota // wireString: a string, or null
	kFlex                   // flexString: a string, a number's text, or null
	kDecimal                // decimalText: a number, a string of something but white space, or null
)

// str decodes the value at data[i] as a field of kind k, appending it to
// strs. ok false is a syntax error; a value the field refuses sets d.bad.
// null is the empty span.
func (d *segDecoder) str(i int, k valKind) (end int, sp segSpan, ok bool) {
	data := d.data
	switch c := data[i]; {
	case c == '"':
		end, esc, high, ok := scanStr(data, i)
		if !ok {
			return end, sp, false
		}
		v := data[i+1 : end-1]
		if esc || high {
			var bad string
			if d.tmp, bad = appendUnquoted(d.tmp[:0], v); bad != "" {
				d.bad = true
				return end, sp, true
			}
			v = d.tmp
			if k == kDecimal {
				v = bytes.TrimSpace(v)
			}
			d.nul = d.nul || bytes.IndexByte(v, 0) >= 0
		} else if k == kDecimal {
			v = bytes.Trim(v, " ") // the only white space a plain string holds
		}
		if k == kDecimal && len(v) == 0 {
			d.bad = true
			return end, sp, true
		}
		return end, d.add(v), true
	case c == 'n':
		end, ok = literal(data, i, "null")
		return end, sp, ok
	case c == '-' || c >= '0' && c <= '9':
		end, ok = scanNumber(data, i)
		if !ok {
			return end, sp, false
		}
		if k == kWire {
			d.bad = true
			return end, sp, true
		}
		return end, d.add(data[i:end]), true
	}
	d.bad = true
	end, ok = d.skip(i, 0)
	return end, sp, ok
}

// check decodes the value at data[i] as str does, keeping nothing.
func (d *segDecoder) check(i int, k valKind) (int, bool) {
	n := len(d.strs)
	end, _, ok := d.str(i, k)
	d.strs = d.strs[:n]
	return end, ok
}

func (d *segDecoder) add(v []byte) segSpan {
	s := len(d.strs)
	d.strs = append(d.strs, v...)
	return segSpan{uint32(s), uint32(len(d.strs))}
}

// scanStr is scanString, skipping runs of plain bytes eight at a time: the
// strings of a Segment message (URLs, user agents, ids) are long.
func scanStr(data []byte, i int) (end int, esc, high, ok bool) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	j := i + 1
	for j+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[j:])
		q, b := w^(lo*'"'), w^(lo*'\\')
		// A byte that is '"', '\\', below 0x20 or not ASCII sets its top
		// bit here (a byte above it may too: scanString sorts it out).
		if ((q-lo)&^q|(b-lo)&^b|(w-lo*0x20)|w)&hi != 0 {
			break
		}
		j += 8
	}
	// The bytes before data[j] are plain: scanString goes on from j.
	return scanString(data, j-1)
}

func literal(data []byte, i int, lit string) (int, bool) {
	return i + len(lit), bytes.HasPrefix(data[i:], []byte(lit))
}

// skip checks the JSON value at data[i] and returns the index past it. A
// string holding invalid UTF-8 sets d.bad: what FromSegment makes of one
// depends on where it is.
func (d *segDecoder) skip(i, depth int) (int, bool) {
	data := d.data
	if i >= len(data) {
		return i, false
	}
	switch c := data[i]; c {
	case '"':
		end, _, high, ok := scanStr(data, i)
		if ok && high && !utf8.Valid(data[i+1:end-1]) {
			d.bad = true
		}
		return end, ok
	case '{', '[':
		if depth >= maxDepth {
			return i, false
		}
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
				end, _, high, ok := scanStr(data, i)
				if !ok {
					return end, false
				}
				if high && !utf8.Valid(data[i+1:end-1]) {
					d.bad = true
				}
				if i = skipWS(data, end); i >= len(data) || data[i] != ':' {
					return i, false
				}
				i = skipWS(data, i+1)
			}
			var ok bool
			if i, ok = d.skip(i, depth+1); !ok {
				return i, false
			}
			i = skipWS(data, i)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == closer {
				return i + 1, true
			}
			return i, false
		}
	case 't':
		return literal(data, i, "true")
	case 'f':
		return literal(data, i, "false")
	case 'n':
		return literal(data, i, "null")
	}
	return scanNumber(data, i)
}

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

// plainText reports whether s encodes as a JSON string by quoting it
// alone: printable ASCII without '"', '\\' or what json.Marshal escapes
// for HTML.
func plainText[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
