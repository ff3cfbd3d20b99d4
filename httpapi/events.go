package httpapi

import (
	"bytes"
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

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// eventsPool holds event slices for postEvents to decode into: the
// ingester copies the events it takes, so a slice is free again once
// TryEnqueue has returned.
var eventsPool = sync.Pool{New: func() any { return new([]tracking.Event) }}

// maxPooledEvents bounds the slices kept in eventsPool (about 400 bytes an
// event), as the 4 MiB bound does for bodies.
const maxPooledEvents = 4096

// errTooLarge marks a body over the limit.
var errTooLarge = errors.New("body too large")

// readBody reads the request body, gunzipping it when it says so, and caps
// it at MaxBodyBytes (after decompression, so a gzip bomb is cut short).
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) error {
	limit := h.cfg.MaxBodyBytes
	if r.ContentLength > limit && r.Header.Get("Content-Encoding") == "" {
		return errTooLarge
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit+1)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(buf.Len()) > limit {
		return errTooLarge
	}
	return err
}

func isNDJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl"
}

// postEvents takes events in any accepted body form, answers with what was
// accepted, duplicated and rejected, and queues the accepted events.
func (h *handler) postEvents(w http.ResponseWriter, r *http.Request) {
	// A key outside the body is checked before the body is read.
	var p Principal
	authed := false
	if h.cfg.Authorize != nil || writeKeyOf(r) != "" {
		var err error
		if p, err = h.authorizeWrite(r, ""); err != nil {
			h.authError(w, AccessWrite, err)
			return
		}
		authed = true
	}

	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 4<<20 {
			bodyPool.Put(buf)
		}
	}()
	if err := h.readBody(w, r, buf); err != nil {
		if errors.Is(err, errTooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBodyBytes), "")
			return
		}
		writeError(w, http.StatusBadRequest, "cannot read body: "+err.Error(), "")
		return
	}
	body, err := tracking.DecodeBody(buf.Bytes(), isNDJSON(r))
	if errors.Is(err, tracking.ErrTooManyEvents) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d events in one body: send smaller batches", tracking.MaxBatchLen), "")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if !authed {
		if p, err = h.authorizeWrite(r, body.WriteKey); err != nil {
			h.authError(w, AccessWrite, err)
			return
		}
	}

	pooled := eventsPool.Get().(*[]tracking.Event)
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
	switch err := h.cfg.Ingester.TryEnqueue(events...); {
	case errors.Is(err, ingest.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "more events in one body than the queue holds: send smaller batches", "")
		return
	case errors.Is(err, ingest.ErrQueueFull):
		h.retryLater(w, "overloaded: try again later")
		return
	case err != nil:
		h.retryLater(w, "not taking events: "+err.Error())
		return
	}
	ans.Accepted = len(events)
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
