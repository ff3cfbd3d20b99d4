package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// healthTimeout is how long /health waits for the store before it answers
// 503: load balancers give up on a check after a few seconds, and a store
// that takes longer is as good as down to them.
const healthTimeout = 2 * time.Second

// health answers {"status":"ok"}, or 503 when the store cannot be reached,
// does not answer within healthTimeout, or has failed the ingester's
// writes for longer than that.
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := h.checkStore(ctx); err != nil {
		// The detail (host names, ports) is for the log, not for anyone
		// who can reach an unauthenticated health check.
		h.cfg.Logger.Warn("httpapi: health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "store unreachable"})
		return
	}
	// A store can answer pings and still refuse every write (a full
	// disk, a read-only file): the ingester knows.
	if since := h.cfg.Ingester.Stats().FailingSince; !since.IsZero() && h.cfg.Now().Sub(since) >= healthTimeout {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "store not taking writes"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// checkStore pings the store, or reads from it when it cannot ping, and
// answers by ctx's deadline even when the store does not honour ctx: the
// check then goes on in the background until the store answers, and the
// caller gets ctx's error.
func (h *handler) checkStore(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		if p, ok := h.cfg.Store.(store.Pinger); ok {
			done <- p.Ping(ctx)
			return
		}
		var err error
		for _, e := range h.cfg.Store.Events(ctx, store.Filter{ShopID: "health", Limit: 1}) {
			err = e
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("httpapi: health: store did not answer: %w", ctx.Err())
	}
}
