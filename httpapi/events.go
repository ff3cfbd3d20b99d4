package httpapi

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// ingestAnswer is the 202 body of POST /events. Rejected lists the first
// Config.MaxRejections rejected events by index; RejectedCount counts them
// all, so that a body of 10,000 bad events gets a short answer that still
// says how many were refused.
type ingestAnswer struct {
	Accepted      int        `json:"accepted"`
	Duplicates    int        `json:"duplicates"`
	Rejected      []rejected `json:"rejected"`
	RejectedCount int        `json:"rejected_count"`
}

type rejected struct {
	Index int    `json:"index"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// bodyPool holds body buffers between requests; buffers over 4 MiB are
// not kept.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// eventsPool holds event slices for postEvents to decode into: the
// ingester copies the events it takes, so a slice is free again once
// TryEnqueue has returned.
var eventsPool = sync.Pool{New: func() any { return new([]tracking.Event) }}

// maxPooledEvents bounds the slices kept in eventsPool (about 400 bytes an
// event), as the 4 MiB bound does for bodies.
const maxPooledEvents = 4096

var (
	// errTooLarge marks a body over the limit.
	errTooLarge = errors.New("body too large")
	// errBusy marks a body the decoding budget has no room for.
	errBusy = errors.New("busy decoding other requests: try again later")
)

// readBody reads the request body, gunzipping it when it says so, onto
// buf[:0], and caps it at limit bytes (after decompression, so a gzip bomb
// is cut short). It charges ch for the buffer before reading into it:
// firstRead bytes (or the Content-Length, when that is less) before the
// first byte, then twice as much each time the body fills what was
// charged, so a body announced long but sent slowly holds about what has
// arrived. It returns errBusy when the budget cannot give more.
func readBody(w http.ResponseWriter, r *http.Request, buf []byte, limit int64, ch *charge) ([]byte, error) {
	buf = buf[:0]
	enc := r.Header.Get("Content-Encoding")
	identity := enc == "" || enc == "identity"
	if r.ContentLength > limit && identity {
		return buf, errTooLarge
	}
	room := min(limit+1, firstRead)
	if identity && r.ContentLength >= 0 {
		room = min(room, r.ContentLength+1) // +1 to read the end
	}
	var fixed int64
	if enc == "gzip" {
		fixed = gzipCost
	}
	// Twice the room: the buffer, and the smaller ones it replaced.
	if !ch.to(fixed + 2*room) {
		return buf, errBusy
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit+1)
	switch {
	case identity:
	case enc == "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return buf, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return buf, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	body = io.LimitReader(body, limit+1)
	for {
		if int64(len(buf)) == room {
			room = min(2*room, limit+1)
			if !ch.to(fixed + 2*room) {
				return buf, errBusy
			}
		}
		if int64(cap(buf)) < room {
			grown := make([]byte, len(buf), room)
			copy(grown, buf)
			buf = grown
		}
		n, err := body.Read(buf[len(buf):room])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return buf, errTooLarge
			}
			return buf, err
		}
	}
}

// readPooledBody is readBody into a buffer from bodyPool; give the buffer
// back with putBody once the body's bytes are no longer used.
func readPooledBody(w http.ResponseWriter, r *http.Request, limit int64, ch *charge) (buf []byte, pooled *[]byte, err error) {
	pooled = bodyPool.Get().(*[]byte)
	buf, err = readBody(w, r, *pooled, limit, ch)
	return buf, pooled, err
}

// putBody returns a body buffer to bodyPool, unless it grew too large to
// keep.
func putBody(pooled *[]byte, buf []byte) {
	if cap(buf) <= 4<<20 {
		*pooled = buf[:0]
		bodyPool.Put(pooled)
	}
}

// readRequestBody is readPooledBody that answers what a failed read means:
// tooLarge (the status of a body over limit), 503 with Retry-After when the
// decoding budget has no room, 400 when the body cannot be read; ok is
// false when it has answered. Either way the buffer goes back with putBody.
func (h *handler) readRequestBody(w http.ResponseWriter, r *http.Request, limit int64, tooLarge int, ch *charge) (buf []byte, pooled *[]byte, ok bool) {
	buf, pooled, err := readPooledBody(w, r, limit, ch)
	switch {
	case errors.Is(err, errTooLarge):
		writeError(w, tooLarge, fmt.Sprintf("body larger than %d bytes", limit), "")
	case errors.Is(err, errBusy):
		h.retryLater(w, err.Error())
	case err != nil:
		writeError(w, http.StatusBadRequest, "cannot read body: "+err.Error(), "")
	default:
		return buf, pooled, true
	}
	return buf, pooled, false
}

// afford charges ch n bytes more, or answers 503 with Retry-After and
// reports false when the decoding budget has no room for them.
func (h *handler) afford(w http.ResponseWriter, ch *charge, n int64) bool {
	if !ch.add(n) {
		h.retryLater(w, errBusy.Error())
		return false
	}
	return true
}

// keyBeforeBody authorises a write from what precedes the body (the Basic
// user name, ?key=, or Config.Authorize), so a wrong key is refused before
// a byte of the body is read. authed is false when the key can only be in
// the body; ok is false when the answer has been written.
func (h *handler) keyBeforeBody(w http.ResponseWriter, r *http.Request) (p Principal, authed, ok bool) {
	if h.cfg.Authorize == nil && writeKeyOf(r) == "" {
		return Principal{}, false, true
	}
	p, err := h.authorizeWrite(r, "")
	if err != nil {
		h.authError(w, AccessWrite, err)
		return Principal{}, false, false
	}
	return p, true, true
}

// keyInBody finishes what keyBeforeBody began once the body is decoded:
// when the write was not authorised before the body (authed false), it is
// with the body's write key. It returns the principal, and ok false when
// the answer has been written.
func (h *handler) keyInBody(w http.ResponseWriter, r *http.Request, p Principal, authed bool, key string) (Principal, bool) {
	if authed {
		return p, true
	}
	p, err := h.authorizeWrite(r, key)
	if err != nil {
		h.authError(w, AccessWrite, err)
		return Principal{}, false
	}
	return p, true
}

// take hands accepted events to the ingester: queued, or with
// Config.Durable stored before it returns. inserted and duplicates are
// what the store reported (durable), or len(events) and 0.
func (h *handler) take(r *http.Request, events []tracking.Event) (inserted, duplicates int, err error) {
	if !h.cfg.Durable {
		return len(events), 0, h.cfg.Ingester.TryEnqueue(events...)
	}
	receipt, err := h.cfg.Ingester.Store(r.Context(), events...)
	return receipt.Inserted, receipt.Duplicates, err
}

// takeFailed answers what take's error means, and reports whether there
// was one. tooLarge is the status of more events than the queue holds, and
// items what the body's entries are called in its message.
func (h *handler) takeFailed(w http.ResponseWriter, r *http.Request, err error, tooLarge int, items string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ingest.ErrNotStored):
		// Retrying is safe: what was stored comes back as duplicates.
		h.retryLater(w, "not every event could be stored: "+err.Error())
	case r.Context().Err() != nil:
		// The client left; its events are still written.
	case errors.Is(err, ingest.ErrTooLarge):
		writeError(w, tooLarge, "more "+items+" in one body than the queue holds: send smaller batches", "")
	case errors.Is(err, ingest.ErrQueueFull):
		h.retryLater(w, "overloaded: try again later")
	default:
		h.retryLater(w, "not taking events: "+err.Error())
	}
	return true
}

func isNDJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl"
}

// postEvents takes events in any accepted body form, answers with what was
// accepted, duplicated and rejected, and queues the accepted events.
func (h *handler) postEvents(w http.ResponseWriter, r *http.Request) {
	p, authed, ok := h.keyBeforeBody(w, r)
	if !ok {
		return
	}
	ch := charge{b: h.cfg.budget}
	defer ch.release()
	buf, pooledBody, ok := h.readRequestBody(w, r, h.cfg.MaxBodyBytes, http.StatusRequestEntityTooLarge, &ch)
	defer func() { putBody(pooledBody, buf) }()
	if !ok {
		return
	}
	if !h.afford(w, &ch, decodeCost(int64(len(buf)))) {
		return
	}
	body, err := tracking.DecodeBody(buf, isNDJSON(r))
	if errors.Is(err, tracking.ErrTooManyEvents) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d events in one body: send smaller batches", tracking.MaxBatchLen), "")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if p, ok = h.keyInBody(w, r, p, authed, body.WriteKey); !ok {
		return
	}
	if !h.afford(w, &ch, eventCost*int64(body.Len())) {
		return
	}

	pooled := eventsPool.Get().(*[]tracking.Event)
	if cap(*pooled) < body.Len() {
		*pooled = make([]tracking.Event, 0, body.Len()) // not grown by doubling
	}
	decoded, rejections := body.AppendEvents((*pooled)[:0], tracking.NormalizeOptions{Now: h.cfg.Now(), ShopID: p.ShopID})
	defer func() {
		if cap(decoded) <= maxPooledEvents {
			clear(decoded) // let go of the events' strings
			*pooled = decoded[:0]
			eventsPool.Put(pooled)
		}
	}()
	events := decoded
	listed := rejections[:min(len(rejections), h.cfg.MaxRejections)]
	ans := ingestAnswer{Rejected: make([]rejected, 0, len(listed)), RejectedCount: len(rejections)}
	for _, rj := range listed {
		ans.Rejected = append(ans.Rejected, rejectionOf(rj))
	}
	events, ans.Duplicates = dropRepeats(events)
	if len(events) == 0 && ans.Duplicates == 0 {
		msg, field := "no valid event", ""
		if len(ans.Rejected) > 0 {
			msg, field = ans.Rejected[0].Error, ans.Rejected[0].Field
		}
		writeJSON(w, http.StatusBadRequest, struct {
			errorBody
			Rejected      []rejected `json:"rejected"`
			RejectedCount int        `json:"rejected_count"`
		}{errorBody{msg, field}, ans.Rejected, ans.RejectedCount})
		return
	}
	inserted, stored, err := h.take(r, events)
	if h.takeFailed(w, r, err, http.StatusRequestEntityTooLarge, "events") {
		return
	}
	ans.Accepted, ans.Duplicates = inserted, ans.Duplicates+stored
	writeJSON(w, http.StatusAccepted, ans)
}

func rejectionOf(rj tracking.Rejection) rejected {
	out := rejected{Index: rj.Index, Error: rj.Err.Error()}
	var ve *tracking.ValidationError
	if errors.As(rj.Err, &ve) {
		out.Field = ve.Field
	}
	return out
}

// dropRepeats removes events whose key came earlier in the same request
// and counts them: they are duplicates the client can be told about at
// once. Duplicates of events stored earlier are dropped by the store.
func dropRepeats(events []tracking.Event) ([]tracking.Event, int) {
	if len(events) < 2 {
		return events, 0
	}
	unique, _ := store.SplitBatch(events)
	if len(unique) == len(events) {
		return events, 0
	}
	out := events[:0]
	for _, i := range unique {
		out = append(out, events[i]) // unique is ascending: i >= len(out)
	}
	return out, len(events) - len(out)
}

// retryLater answers 503 with the configured Retry-After.
func (h *handler) retryLater(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(1, h.cfg.RetryAfter.Seconds()))))
	writeError(w, http.StatusServiceUnavailable, msg, "")
}
