package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

type handler struct {
	cfg  Config
	keys keyring
	mux  *http.ServeMux
}

// New returns the shoplytics HTTP handler. It serves every path relative to
// where it is mounted, so it works behind http.StripPrefix on any router:
//
//	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
func New(cfg Config) (http.Handler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &handler{cfg: cfg, keys: newKeyring(&cfg), mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /events", h.cors(h.postEvents))
	h.mux.HandleFunc("OPTIONS /events", h.cors(nil))
	h.mux.HandleFunc("GET /health", h.health)
	h.mux.HandleFunc("GET /api/counts", h.read(h.counts))
	h.mux.HandleFunc("GET /api/export", h.read(h.export))
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Paths are relative to the mount point; StripPrefix may leave them
	// without their leading slash.
	if r.URL.Path == "" || r.URL.Path[0] != '/' {
		r2 := *r
		u := *r.URL
		u.Path = "/" + u.Path
		r2.URL = &u
		r = &r2
	}
	h.mux.ServeHTTP(w, r)
}

// cors answers browser preflights and marks answers readable cross-origin
// for the allowed origins. next nil means a preflight-only route.
func (h *handler) cors(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (len(h.cfg.AllowedOrigins) == 0 || slices.Contains(h.cfg.AllowedOrigins, origin)) {
			hd := w.Header()
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Set("Access-Control-Allow-Credentials", "true")
			hd.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
				hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
				hd.Set("Access-Control-Max-Age", "86400")
			}
		}
		if next == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next(w, r)
	}
}

// errorBody is every error answer: {"error":"message","field":"name"}.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, errorBody{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"cannot encode the answer"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
