package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/internal/chart"
	"github.com/shoplytics/shoplytics/tracking"
)

// The chart routes draw what /api/timeseries and /api/funnel answer, as
// SVG drawn on the server (package internal/chart): the same key, the same
// parameters, plus width and height in pixels. A page fetches them with
// its bearer key and inlines them, so it needs no charting code of its
// own. Errors are JSON, as on every route.

// defaultFunnelSteps are the funnel drawn when steps is not given: the
// shop's path from a product to a purchase.
var defaultFunnelSteps = []string{tracking.ProductViewed, tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted}

// chartOptions reads width and height.
func chartOptions(r *http.Request) (chart.Options, error) {
	q := r.URL.Query()
	var o chart.Options
	var err error
	if o.Width, err = intParam(q, "width"); err != nil {
		return o, err
	}
	o.Height, err = intParam(q, "height")
	return o, err
}

// writeSVG answers a drawn chart, or the error of drawing it.
func (h *handler) writeSVG(w http.ResponseWriter, r *http.Request, svg []byte, err error) {
	if err != nil {
		var se *chart.SizeError
		if errors.As(err, &se) {
			writeError(w, http.StatusBadRequest, se.Field+": "+se.Reason, se.Field)
			return
		}
		h.answer(w, r, nil, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/svg+xml")
	hd.Set("Content-Length", strconv.Itoa(len(svg)))
	// The data behind a chart changes with every event and is the
	// shop's: no shared cache keeps it.
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	// Opened on its own, an SVG is a document: it may run nothing.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(svg)
}

// timeSeriesChart answers GET /api/charts/timeseries.svg.
func (h *handler) timeSeriesChart(w http.ResponseWriter, r *http.Request, rp readParams) {
	o, err := chartOptions(r)
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	res, err := analytics.TimeSeries(r.Context(), h.cfg.Store, rp.query(), timeSeriesOptions(r.URL.Query()))
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	svg, err := chart.TimeSeries(res, o)
	h.writeSVG(w, r, svg, err)
}

// funnelChart answers GET /api/charts/funnel.svg.
func (h *handler) funnelChart(w http.ResponseWriter, r *http.Request, rp readParams) {
	o, err := chartOptions(r)
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	fo, err := funnelOptions(r.URL.Query())
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	if len(fo.Steps) == 0 {
		fo.Steps = defaultFunnelSteps
	}
	res, err := analytics.Funnel(r.Context(), h.cfg.Store, rp.query(), fo)
	if err != nil {
		h.answer(w, r, nil, err)
		return
	}
	svg, err := chart.Funnel(res, o)
	h.writeSVG(w, r, svg, err)
}
