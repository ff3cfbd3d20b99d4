package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store"
)

// The insight routes: GET /api/insights lists what the rules raised, POST
// /api/insights/run evaluates them now, GET /api/reports/daily is a day's
// report. They need Config.Insights; without it the first two answer 501
// naming what is missing, and the report lists the insights the store
// keeps, if it keeps any.

// defaultInsightsLimit is the most insights a list holds when limit is not
// given.
const defaultInsightsLimit = 100

func (h *handler) notConfigured(w http.ResponseWriter) {
	writeError(w, http.StatusNotImplemented, "insights are not configured on this server (httpapi.Config.Insights)", "")
}

// insightsList answers GET /api/insights.
func (h *handler) insightsList(w http.ResponseWriter, r *http.Request, rp readParams) {
	eng := h.cfg.Insights
	if eng == nil {
		h.notConfigured(w)
		return
	}
	q := r.URL.Query()
	f := store.InsightFilter{ShopID: rp.ShopID, Rule: q.Get("rule"), Severity: q.Get("severity"), Limit: defaultInsightsLimit}
	if f.Rule != "" {
		if err := insights.CheckName(f.Rule); err != nil {
			writeError(w, http.StatusBadRequest, "rule: "+err.Error(), "rule")
			return
		}
	}
	if f.Severity != "" && !insights.ValidSeverity(f.Severity) {
		writeError(w, http.StatusBadRequest, "severity: "+strconv.Quote(f.Severity)+" is not info, warning or critical", "severity")
		return
	}
	if s := q.Get("since"); s != "" {
		t, err := parseInstant(s, rp.Location)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since: "+err.Error(), "since")
			return
		}
		f.Since = t
	}
	switch v := q.Get("include_resolved"); v {
	case "", "false":
	case "true":
		f.IncludeResolved = true
	default:
		writeError(w, http.StatusBadRequest, "include_resolved: "+strconv.Quote(v)+" is neither true nor false", "include_resolved")
		return
	}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > analytics.MaxLimit {
			writeError(w, http.StatusBadRequest, "limit: must be between 1 and "+strconv.Itoa(analytics.MaxLimit), "limit")
			return
		}
		f.Limit = n
	}
	list, err := eng.Insights(r.Context(), f)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, insightsAnswer{Insights: orEmpty(list)})
}

type insightsAnswer struct {
	Insights []insights.Insight `json:"insights"`
	Resolved []insights.Insight `json:"resolved,omitempty"`
	// Errors name the rules that failed in a run (the detail is logged).
	Errors []string `json:"errors,omitempty"`
}

func orEmpty(list []insights.Insight) []insights.Insight {
	if list == nil {
		return []insights.Insight{}
	}
	return list
}

// insightsRun answers POST /api/insights/run: every rule evaluated for
// the shop now; the answer lists what this run raised (and, in resolved,
// what it resolved). A rule that fails is named in errors, the others'
// findings stand; a store that cannot be reached is 503.
func (h *handler) insightsRun(w http.ResponseWriter, r *http.Request, rp readParams) {
	eng := h.cfg.Insights
	if eng == nil {
		h.notConfigured(w)
		return
	}
	res, err := eng.Evaluate(r.Context(), rp.ShopID, h.zoneOf(rp.ShopID))
	ans := insightsAnswer{Insights: orEmpty(res.Raised), Resolved: res.Resolved}
	if err != nil {
		if isUnavailable(err) || r.Context().Err() != nil {
			h.storeError(w, r, err)
			return
		}
		h.cfg.Logger.Error("httpapi: insight rules failed", "shop", rp.ShopID, "err", err)
		ans.Errors = insights.FailedRules(err)
	}
	writeJSON(w, http.StatusOK, ans)
}

// zoneOf is a shop's zone: its Shop.Timezone, UTC when none is set or the
// shop is not configured.
func (h *handler) zoneOf(shopID string) *time.Location {
	if loc := h.zones[shopID]; loc != nil {
		return loc
	}
	return time.UTC
}

// dailyReport answers GET /api/reports/daily?date=YYYY-MM-DD (default
// yesterday in the shop's zone, or tz when given).
func (h *handler) dailyReport(w http.ResponseWriter, r *http.Request, rp readParams) {
	day := r.URL.Query().Get("date")
	if day == "" {
		day = h.cfg.Now().In(rp.Location).AddDate(0, 0, -1).Format(time.DateOnly)
	}
	var keeper store.InsightKeeper
	if h.cfg.Insights != nil {
		keeper = h.cfg.Insights.Keeper()
	} else if k, ok := h.cfg.Store.(store.InsightKeeper); ok {
		keeper = k // what another process's engine raised
	}
	rep, err := insights.DailyReport(r.Context(), h.cfg.Store, keeper, rp.ShopID, day, rp.Location)
	h.answer(w, r, rep, err)
}
