package tracking

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrBody is wrapped by DecodeBody's errors: the body as a whole is not an
// accepted form (empty, not JSON, or neither an object nor an array).
var ErrBody = errors.New("body is not a JSON event, array, batch or NDJSON")

// MaxBatchLen is the most events one body may carry. The decoder counts
// the elements of an array before it keeps any of them, so a longer body
// costs the time to scan it, not memory for each of its elements.
const MaxBatchLen = 10000

// ErrTooManyEvents is DecodeBody's error for a body of more than
// MaxBatchLen events (it wraps ErrBody too): a body too long to take,
// which a client should split, as opposed to one that is not JSON.
var ErrTooManyEvents = fmt.Errorf("%w: more than %d events", ErrBody, MaxBatchLen)

// Rejection is one event of a body that was not accepted, by its position in
// the body (0-based).
type Rejection struct {
	Index int
	Err   error
}

// Body is a decoded ingestion body: one event object, a JSON array of events,
// a {"batch":[...]} envelope, or NDJSON (one event object per line).
//
// Decoding happens in two steps so the caller can authenticate first: the
// write key may travel inside the body, and the key decides the shop that
// Events normalises against.
type Body struct {
	// WriteKey is the envelope's "writeKey", if any.
	WriteKey string
	// SentAt is the envelope's "sent_at"/"sentAt", if any.
	SentAt time.Time

	items  []json.RawMessage
	single *wireEvent

	// Set by the fast decoder: the items it decoded, whether single's
	// properties are compact already, and whether its strings are clean.
	fast        *fastBody
	singleFast  bool
	singleClean bool // single's strings are known valid UTF-8 without NUL
}

// DecodeBody parses the structure of an ingestion body. ndjson forces NDJSON;
// otherwise the form is detected, and a body of several concatenated objects
// is read as NDJSON too. Malformed individual events do not fail the body:
// they come back as Rejections from Events.
//
// The Body refers to data: the caller must not modify data until Events
// has returned.
func DecodeBody(data []byte, ndjson bool) (*Body, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBody)
	}
	if ndjson {
		b, err := decodeNDJSON(data)
		if err == nil && len(b.items) > 0 {
			decodeItemsFast(b)
		}
		return b, err
	}
	if b, ok := decodeBodyFast(data); ok {
		return b, nil
	}
	b, err := decodeBodyJSON(data)
	if err == nil && b.single == nil && len(b.items) > 0 {
		decodeItemsFast(b) // NDJSON detected, or an envelope of odd types
	}
	return b, err
}

// decodeBodyJSON is DecodeBody through encoding/json alone, for what the
// fast decoder leaves to it (and as the reference it is tested against).
func decodeBodyJSON(data []byte) (*Body, error) {
	if exceedsBatch(data) {
		// Refused before encoding/json keeps every element of the array.
		return nil, ErrTooManyEvents
	}
	switch data[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
		return checkLen(&Body{items: items})
	case '{':
		var env wireEnvelope
		err := json.Unmarshal(data, &env)
		if err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) && bytes.IndexByte(data, '\n') > 0 {
				return decodeNDJSON(data)
			}
			if !errors.As(err, &syn) {
				// Valid JSON with a wrong-typed field: one bad event.
				return &Body{WriteKey: string(env.WriteKey), items: []json.RawMessage{data}}, nil
			}
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
		b := &Body{WriteKey: string(env.WriteKey), SentAt: env.sentAt()}
		if env.Batch != nil {
			b.items = env.Batch
			return checkLen(b)
		}
		b.single = &env.wireEvent
		b.SentAt = time.Time{} // the event's own sent_at; applied per event
		return b, nil
	}
	return nil, fmt.Errorf("%w: starts with %q", ErrBody, data[0])
}

func checkLen(b *Body) (*Body, error) {
	if len(b.items) > MaxBatchLen {
		return nil, ErrTooManyEvents
	}
	return b, nil
}

func decodeNDJSON(data []byte) (*Body, error) {
	b := &Body{}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(b.items) == MaxBatchLen {
			return nil, ErrTooManyEvents // before keeping a slice per line
		}
		b.items = append(b.items, line)
	}
	if len(b.items) == 0 {
		return nil, fmt.Errorf("%w: no lines", ErrBody)
	}
	return b, nil
}

// Len is the number of events in the body, valid or not.
func (b *Body) Len() int {
	if b.single != nil {
		return 1
	}
	return len(b.items)
}

// Events decodes, normalises and validates every event of the body. It never
// stops at a bad event: each one is reported by index, and the valid events
// are returned in body order.
func (b *Body) Events(opts NormalizeOptions) ([]Event, []Rejection) {
	if b.single != nil {
		return b.AppendEvents(nil, opts)
	}
	return b.AppendEvents(make([]Event, 0, b.Len()), opts)
}

// AppendEvents is Events appending the valid events to dst, so a caller that
// hands the events on by value (as an ingestion queue does) can reuse one
// slice across bodies instead of allocating one per body.
func (b *Body) AppendEvents(dst []Event, opts NormalizeOptions) ([]Event, []Rejection) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.SentAt.IsZero() {
		opts.SentAt = b.SentAt
	}
	if b.single != nil {
		var err error
		if dst, err = appendWire(dst, b.single, opts, b.singleFast, b.singleClean); err != nil {
			return dst, []Rejection{{0, err}}
		}
		return dst, nil
	}
	events := dst
	var rejected []Rejection
	var w wireEvent
	var err error
	for i, raw := range b.items {
		if b.fast != nil && b.fast.items[i].ok {
			b.fast.wire(i, &w)
			if events, err = appendWire(events, &w, opts, true, b.fast.items[i].clean); err != nil {
				rejected = append(grow(rejected), Rejection{i, err})
			}
			continue
		}
		w = wireEvent{}
		if len(raw) == 0 || raw[0] != '{' {
			rejected = append(grow(rejected), Rejection{i, &ValidationError{Reason: "not a JSON object"}})
			continue
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			rejected = append(grow(rejected), Rejection{i, fieldError(err)})
			continue
		}
		if events, err = appendWire(events, &w, opts, false, false); err != nil {
			rejected = append(grow(rejected), Rejection{i, err})
		}
	}
	return events, rejected
}

// appendWire converts and normalises a decoded event in place at the end
// of events, sparing the copies of a large struct; compact says its
// properties are already a compact, valid JSON object, clean that its
// strings are valid UTF-8 without NUL. A rejected event leaves events as
// they were.
func appendWire(events []Event, w *wireEvent, opts NormalizeOptions, compact, clean bool) ([]Event, error) {
	events = append(events, Event{})
	e := &events[len(events)-1]
	err := w.fill(e)
	if err == nil {
		err = normalize(e, w.sentAt(), opts, compact, clean)
	}
	if err != nil {
		*e = Event{}
		return events[:len(events)-1], err
	}
	return events, nil
}
