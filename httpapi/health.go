package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// health answers {"status":"ok"}, or 503 when the store cannot be reached.
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var err error
	if p, ok := h.cfg.Store.(store.Pinger); ok {
		err = p.Ping(ctx)
	} else {
		for _, e := range h.cfg.Store.Events(ctx, store.Filter{ShopID: "health", Limit: 1}) {
			err = e
		}
	}
	if err != nil {
		// The detail (host names, ports) is for the log, not for anyone
		// who can reach an unauthenticated health check.
		h.cfg.Logger.Warn("httpapi: health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "store unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
