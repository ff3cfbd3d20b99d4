package httpapi

import (
	"net/http"

	"github.com/shoplytics/shoplytics/analytics"
)

func (rp readParams) query() analytics.Query {
	return analytics.Query{ShopID: rp.ShopID, From: rp.From, To: rp.To, Location: rp.Location}
}

// counts answers GET /api/counts: events by type, most frequent first.
func (h *handler) counts(w http.ResponseWriter, r *http.Request, rp readParams) {
	counts, err := analytics.Counts(r.Context(), h.cfg.Store, rp.query())
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	if counts == nil {
		counts = []analytics.Count{}
	}
	writeJSON(w, http.StatusOK, struct {
		ShopID string            `json:"shop_id"`
		Counts []analytics.Count `json:"counts"`
	}{rp.ShopID, counts})
}

// storeError answers a failed read: 503 when the store is unreachable, 500
// otherwise; the detail goes to the log, not to the client.
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client left
	}
	h.cfg.Logger.Error("httpapi: read failed", "path", r.URL.Path, "err", err)
	if isUnavailable(err) {
		h.retryLater(w, "store unavailable")
		return
	}
	writeError(w, http.StatusInternalServerError, "internal error", "")
}
