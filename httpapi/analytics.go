package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/tracking"
)

// The analytics read routes. Each parses its own parameters into the
// options of one analytics function; an option the function refuses comes
// back as an *analytics.OptionError naming the parameter, answered 400.

// answer writes a result, or the error of computing it.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		var oe *analytics.OptionError
		if errors.As(err, &oe) {
			writeError(w, http.StatusBadRequest, oe.Error(), oe.Field)
			return
		}
		h.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// intParam reads an integer parameter; absent is 0.
func intParam(q url.Values, name string) (int, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, &analytics.OptionError{Field: name, Reason: "must be a positive integer"}
	}
	return n, nil
}

// windowParam reads a duration: Go's form ("90s", "30m", "1h30m") or whole
// days ("7d"); absent or 0 is no window.
func windowParam(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	bad := &analytics.OptionError{Field: "window", Reason: "must be a duration such as 30m, 2h or 7d"}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100_000 {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad
	}
	return d, nil
}

// bounds are the shop and range an answer is about.
type bounds struct {
	ShopID string `json:"shop_id"`
	From   string `json:"from"`
	To     string `json:"to"`
}

func (rp readParams) bounds() bounds {
	return bounds{rp.ShopID, rp.From.UTC().Format(time.RFC3339Nano), rp.To.UTC().Format(time.RFC3339Nano)}
}

// stats answers GET /api/stats.
func (h *handler) stats(w http.ResponseWriter, r *http.Request, rp readParams) {
	res, err := analytics.Stats(r.Context(), h.cfg.Store, rp.query(), analytics.StatsOptions{})
	h.answer(w, r, struct {
		bounds
		analytics.StatsResult
	}{rp.bounds(), res}, err)
}

// timeSeries answers GET /api/timeseries.
func (h *handler) timeSeries(w http.ResponseWriter, r *http.Request, rp readParams) {
	res, err := analytics.TimeSeries(r.Context(), h.cfg.Store, rp.query(), timeSeriesOptions(r.URL.Query()))
	h.answer(w, r, res, err)
}

// timeSeriesOptions reads the parameters of /api/timeseries, shared by its
// chart.
func timeSeriesOptions(q url.Values) analytics.TimeSeriesOptions {
	return analytics.TimeSeriesOptions{
		Metric: analytics.Metric(q.Get("metric")), Interval: analytics.Interval(q.Get("interval")),
		Type: q.Get("type"), Currency: q.Get("currency"),
	}
}

// funnel answers GET /api/funnel.
func (h *handler) funnel(w http.ResponseWriter, r *http.Request, rp readParams) {
	o, err := funnelOptions(r.URL.Query())
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	res, err := analytics.Funnel(r.Context(), h.cfg.Store, rp.query(), o)
	h.answer(w, r, res, err)
}

// funnelOptions reads the parameters of /api/funnel, shared by its chart.
func funnelOptions(q url.Values) (analytics.FunnelOptions, error) {
	o := analytics.FunnelOptions{By: analytics.Entity(q.Get("by"))}
	if s := q.Get("steps"); s != "" {
		for _, st := range strings.Split(s, ",") {
			o.Steps = append(o.Steps, strings.TrimSpace(st))
		}
	}
	var err error
	o.Window, err = windowParam(q.Get("window"))
	return o, err
}

// topProducts answers GET /api/top-products.
func (h *handler) topProducts(w http.ResponseWriter, r *http.Request, rp readParams) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit")
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	res, err := analytics.TopProducts(r.Context(), h.cfg.Store, rp.query(), analytics.TopProductsOptions{
		By: analytics.ProductRank(q.Get("by")), Limit: limit, Currency: q.Get("currency")})
	h.answer(w, r, res, err)
}

// topCustomers answers GET /api/top-customers.
func (h *handler) topCustomers(w http.ResponseWriter, r *http.Request, rp readParams) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit")
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	res, err := analytics.TopCustomers(r.Context(), h.cfg.Store, rp.query(),
		analytics.TopCustomersOptions{Limit: limit, Currency: q.Get("currency")})
	h.answer(w, r, res, err)
}

// retention answers GET /api/retention.
func (h *handler) retention(w http.ResponseWriter, r *http.Request, rp readParams) {
	iv := analytics.Interval(r.URL.Query().Get("interval"))
	res, err := analytics.Retention(r.Context(), h.cfg.Store, rp.query(), analytics.RetentionOptions{Interval: iv})
	if iv == "" {
		iv = analytics.Week
	}
	h.answer(w, r, struct {
		Interval analytics.Interval `json:"interval"`
		TZ       string             `json:"tz"`
		Cohorts  []analytics.Cohort `json:"cohorts"`
	}{iv, rp.Location.String(), res}, err)
}

// breakdown answers GET /api/breakdown.
func (h *handler) breakdown(w http.ResponseWriter, r *http.Request, rp readParams) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit")
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	d := analytics.Dimension(q.Get("dimension"))
	res, err := analytics.Breakdown(r.Context(), h.cfg.Store, rp.query(), analytics.BreakdownOptions{Dimension: d, Limit: limit})
	if d == "" {
		d = analytics.ByProduct
	}
	h.answer(w, r, struct {
		Dimension analytics.Dimension      `json:"dimension"`
		Rows      []analytics.BreakdownRow `json:"rows"`
	}{d, res}, err)
}

// segments answers GET /api/segments.
func (h *handler) segments(w http.ResponseWriter, r *http.Request, rp readParams) {
	q := r.URL.Query()
	views, err := intParam(q, "min_product_views")
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	res, err := analytics.Segments(r.Context(), h.cfg.Store, rp.query(),
		analytics.SegmentsOptions{By: analytics.Entity(q.Get("by")), MinProductViews: views})
	h.answer(w, r, struct {
		Segments []analytics.Segment `json:"segments"`
	}{res}, err)
}

// journey answers GET /api/users/{id}/journey.
func (h *handler) journey(w http.ResponseWriter, r *http.Request, rp readParams) {
	limit, err := intParam(r.URL.Query(), "limit")
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	id := r.PathValue("id")
	if id == "" || len(id) > tracking.MaxIDLen {
		writeError(w, http.StatusBadRequest, "id: must be 1 to 128 bytes", "id")
		return
	}
	events, err := analytics.Journey(r.Context(), h.cfg.Store, rp.query(), analytics.JourneyOptions{UserID: id, Limit: limit})
	if events == nil {
		events = []tracking.Event{}
	}
	h.answer(w, r, struct {
		UserID string           `json:"user_id"`
		Events []tracking.Event `json:"events"`
	}{id, events}, err)
}
