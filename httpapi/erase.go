package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// eraseFlushTimeout bounds how long DELETE /api/users/{id} waits for the
// ingester to store what it holds before erasing.
const eraseFlushTimeout = 30 * time.Second

// erasePerson answers DELETE /api/users/{id}, a privacy request: it first
// stores what the ingester holds (so an event accepted before the request
// is not stored after it), then erases the person's events through the
// store's store.Eraser, answering {"deleted":N}. A store without one
// answers 501.
func (h *handler) erasePerson(w http.ResponseWriter, r *http.Request, rp readParams) {
	id := r.PathValue("id")
	if id == "" || len(id) > tracking.MaxIDLen {
		writeError(w, http.StatusBadRequest, "id: must be 1 to 128 bytes", "id")
		return
	}
	er, ok := h.cfg.Store.(store.Eraser)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this store cannot erase events", "")
		return
	}
	if h.cfg.Ingester != nil {
		ctx, cancel := context.WithTimeout(r.Context(), eraseFlushTimeout)
		err := h.cfg.Ingester.Flush(ctx)
		cancel()
		if err != nil {
			h.cfg.Logger.Error("httpapi: erase: the ingester did not store what it holds; nothing erased", "err", err)
			h.retryLater(w, "events accepted before this request are not stored yet")
			return
		}
	}
	n, err := er.ErasePerson(r.Context(), rp.ShopID, id)
	switch {
	case err != nil && n > 0:
		// The events are gone; only the rollups wait for their rebuild, and
		// reads do not use them meanwhile.
		h.cfg.Logger.Warn("httpapi: erase: rollups left to rebuild", "shop", rp.ShopID, "err", err)
	case errors.Is(err, errors.ErrUnsupported):
		writeError(w, http.StatusNotImplemented, "this store cannot erase events", "")
		return
	case err != nil:
		h.storeError(w, r, err)
		return
	}
	h.cfg.Logger.Info("httpapi: erased a person's events", "shop", rp.ShopID, "deleted", n)
	writeJSON(w, http.StatusOK, struct {
		Deleted int64 `json:"deleted"`
	}{n})
}
