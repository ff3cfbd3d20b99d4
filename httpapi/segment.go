package httpapi

import (
	"net/http"

	"github.com/shoplytics/shoplytics/tracking"
)

// segmentPaths are the Segment HTTP Tracking API's paths, by the message
// type each one takes ("" for a batch of any).
var segmentPaths = map[string]string{
	"/v1/batch":    "",
	"/v1/track":    "track",
	"/v1/page":     "page",
	"/v1/screen":   "screen",
	"/v1/identify": "identify",
	"/v1/group":    "group",
	"/v1/alias":    "alias",
}

// segmentOK is Segment's answer to every body it takes.
var segmentOK = struct {
	Success bool `json:"success"`
}{true}

// segment serves one path of the Segment HTTP Tracking API, so that
// Segment's client libraries can send here by changing their endpoint.
//
// It answers as Segment does, because those clients act on the status:
// they retry anything but a 2xx. So a body that was read and understood is
// 200 {"success":true} even when some or all of its messages were invalid
// (they are dropped, counted in a warning in the log with the first error,
// and would fail again on every retry); 401 is a missing or unknown key;
// 400 a body that is not JSON or is over Segment's limits (500 KB a batch,
// 32 KB a single message); 503 with Retry-After when overloaded, which
// clients rightly retry.
func (h *handler) segment(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, authed, ok := h.keyBeforeBody(w, r)
		if !ok {
			return
		}
		ch := charge{b: h.cfg.budget}
		defer ch.release()
		// Segment's limit, not MaxBodyBytes, bounds these bodies: its
		// clients build batches up to it.
		buf, pooled, ok := h.readRequestBody(w, r, tracking.SegmentMaxBatchBytes, http.StatusBadRequest, &ch)
		defer func() { putBody(pooled, buf) }()
		if !ok {
			return
		}
		// A message the one-scan decoder leaves goes through encoding/json
		// and has its properties re-encoded: charged as twice what the
		// native fast decoder takes.
		if !h.afford(w, &ch, 2*decodeCost(int64(len(buf)))) {
			return
		}
		body, err := tracking.DecodeSegment(buf, kind)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
		if p, ok = h.keyInBody(w, r, p, authed, body.WriteKey); !ok {
			return
		}
		if !h.afford(w, &ch, eventCost*int64(len(body.Messages))) {
			return
		}
		// The events go into a pooled slice, as postEvents decodes: the
		// ingester copies what it takes.
		pooledEvents := eventsPool.Get().(*[]tracking.Event)
		if cap(*pooledEvents) < len(body.Messages) {
			*pooledEvents = make([]tracking.Event, 0, len(body.Messages))
		}
		decoded, rejections := body.AppendEvents((*pooledEvents)[:0],
			tracking.NormalizeOptions{Now: h.cfg.Now(), ShopID: p.ShopID})
		defer func() {
			if cap(decoded) <= maxPooledEvents {
				clear(decoded) // let go of the events' strings
				*pooledEvents = decoded[:0]
				eventsPool.Put(pooledEvents)
			}
		}()
		events := decoded
		if len(rejections) > 0 {
			h.segmentDropped.Add(uint64(len(rejections)))
			h.cfg.Logger.Warn("httpapi: Segment messages dropped as invalid", "path", r.URL.Path, "shop", p.ShopID,
				"invalid", len(rejections), "messages", len(body.Messages),
				"first_index", rejections[0].Index, "first_error", rejections[0].Err.Error())
		}
		events, _ = dropRepeats(events)
		if len(events) > 0 {
			if _, _, err := h.take(r, events); h.takeFailed(w, r, err, http.StatusBadRequest, "messages") {
				return
			}
		}
		writeJSON(w, http.StatusOK, segmentOK)
	}
}
