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

// MaxBatchLen is the most events one body may carry.
const MaxBatchLen = 10000

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
}

// DecodeBody parses the structure of an ingestion body. ndjson forces NDJSON;
// otherwise the form is detected, and a body of several concatenated objects
// is read as NDJSON too. Malformed individual events do not fail the body:
// they come back as Rejections from Events.
func DecodeBody(data []byte, ndjson bool) (*Body, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBody)
	}
	if ndjson {
		return decodeNDJSON(data)
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
				return &Body{WriteKey: env.WriteKey, items: []json.RawMessage{data}}, nil
			}
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
		b := &Body{WriteKey: env.WriteKey, SentAt: env.sentAt()}
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
		return nil, fmt.Errorf("%w: more than %d events", ErrBody, MaxBatchLen)
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
		b.items = append(b.items, line)
	}
	if len(b.items) == 0 {
		return nil, fmt.Errorf("%w: no lines", ErrBody)
	}
	return checkLen(b)
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
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.SentAt.IsZero() {
		opts.SentAt = b.SentAt
	}
	if b.single != nil {
		e, err := normalizeWire(b.single, opts)
		if err != nil {
			return nil, []Rejection{{0, err}}
		}
		return []Event{e}, nil
	}
	events := make([]Event, 0, len(b.items))
	var rejected []Rejection
	var w wireEvent
	for i, raw := range b.items {
		w = wireEvent{}
		if len(raw) == 0 || raw[0] != '{' {
			rejected = append(rejected, Rejection{i, &ValidationError{Reason: "not a JSON object"}})
			continue
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			rejected = append(rejected, Rejection{i, fieldError(err)})
			continue
		}
		e, err := normalizeWire(&w, opts)
		if err != nil {
			rejected = append(rejected, Rejection{i, err})
			continue
		}
		events = append(events, e)
	}
	return events, rejected
}

func normalizeWire(w *wireEvent, opts NormalizeOptions) (Event, error) {
	e, err := w.event()
	if err != nil {
		return Event{}, err
	}
	if err := Normalize(&e, w.sentAt(), opts); err != nil {
		return Event{}, err
	}
	return e, nil
}
