package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

type handler struct {
	cfg  Config
	keys keyring
	// zones holds each shop's zone, the default tz of its reads.
	zones map[string]*time.Location
	// shops lists the configured shop ids.
	shops map[string]bool
	mux   *http.ServeMux
	// segmentDropped counts the Segment messages dropped as invalid (the
	// answer is 200 all the same), for /metrics.
	segmentDropped *atomic.Uint64
	// shopifyShops and shopifyDomains find the shop of a Shopify webhook
	// by id and by its shopify_domain; shopify counts the webhooks.
	shopifyShops   map[string]shopifyShop
	shopifyDomains map[string]string
	shopify        *shopifyCounts
	// methods are those some route takes, for JSON 405 answers.
	methods []string
	// routes are the "METHOD path" patterns registered, each described in
	// operations for /openapi.json.
	routes []string
	// hub fans stored events out to GET /api/live.
	hub *liveHub
	// exportWriteTimeout overrides defaultExportWriteTimeout (tests).
	exportWriteTimeout time.Duration
}

// New returns the shoplytics HTTP handler. It serves every path relative to
// where it is mounted, so it works behind http.StripPrefix on any router:
//
//	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
func New(cfg Config) (http.Handler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &handler{cfg: cfg, keys: newKeyring(&cfg), zones: map[string]*time.Location{}, shops: map[string]bool{},
		mux: http.NewServeMux(), segmentDropped: new(atomic.Uint64), shopify: new(shopifyCounts)}
	h.hub = newLiveHub(cfg.Ingester, int(cfg.LiveBufferBytes), cfg.MaxLiveStreams, cfg.MaxLiveStreamsPerShop)
	h.shopifyShops, h.shopifyDomains = newShopifyShops(cfg.Shops)
	for _, s := range cfg.Shops {
		h.zones[s.ID], _ = loadZone(s.Timezone) // checked by setDefaults
		h.shops[s.ID] = true
	}
	h.route("POST", "/events", h.cors(h.postEvents))
	h.route("OPTIONS", "/events", h.cors(nil))
	for path, kind := range segmentPaths {
		h.route("POST", path, h.cors(h.segment(kind)))
		h.route("OPTIONS", path, h.cors(nil))
	}
	h.route("POST", "/webhooks/shopify", h.shopifyWebhook)
	h.route("GET", "/tracker.js", tracker.ServeHTTP)
	h.route("GET", "/health", h.health)
	h.route("GET", "/metrics", newMetrics(cfg.Ingester, h.segmentDropped, h.shopify, h.hub).ServeHTTP)
	h.route("GET", "/openapi.json", openAPI())
	h.route("GET", "/api/counts", h.read(h.counts))
	h.route("GET", "/api/export", h.read(h.export))
	h.route("GET", "/api/stats", h.read(h.stats))
	h.route("GET", "/api/timeseries", h.read(h.timeSeries))
	h.route("GET", "/api/funnel", h.read(h.funnel))
	h.route("GET", "/api/top-products", h.read(h.topProducts))
	h.route("GET", "/api/top-customers", h.read(h.topCustomers))
	h.route("GET", "/api/retention", h.read(h.retention))
	h.route("GET", "/api/breakdown", h.read(h.breakdown))
	h.route("GET", "/api/segments", h.read(h.segments))
	h.route("GET", "/api/users/{id}/journey", h.read(h.journey))
	h.route("DELETE", "/api/users/{id}", h.read(h.erasePerson))
	h.route("GET", "/api/charts/timeseries.svg", h.read(h.timeSeriesChart))
	h.route("GET", "/api/charts/funnel.svg", h.read(h.funnelChart))
	h.route("GET", "/api/shops", h.listShops)
	h.route("GET", "/dashboard", h.dashboardRedirect)
	h.route("GET", "/dashboard/", h.dashboard)
	h.route("GET", "/api/live", h.read(h.live))
	h.route("GET", "/api/insights", h.read(h.insightsList))
	h.route("POST", "/api/insights/run", h.read(h.insightsRun))
	h.route("GET", "/api/reports/daily", h.read(h.dailyReport))
	h.mux.HandleFunc("/", h.noRoute)
	return h, nil
}

func (h *handler) route(method, path string, fn http.HandlerFunc) {
	h.mux.HandleFunc(method+" "+path, fn)
	h.routes = append(h.routes, method+" "+path)
	if !slices.Contains(h.methods, method) {
		h.methods = append(h.methods, method)
	}
}

// noRoute answers what no route takes, in JSON like every other error: 405
// with Allow for a known path, 404 otherwise.
//
// A path is known when a route takes it with another method; the mux
// decides, so patterns such as /api/users/{id}/journey count too.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range h.methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); strings.HasPrefix(pattern, m+" ") {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed", "")
		return
	}
	writeError(w, http.StatusNotFound, "no such path", "")
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
			if len(h.cfg.AllowedOrigins) > 0 {
				// Cookies only for origins the app named; a tracker open to
				// every origin sends its key, not the visitor's cookies.
				hd.Set("Access-Control-Allow-Credentials", "true")
			}
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
