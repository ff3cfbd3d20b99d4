package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/store/memstore"
)

// insightEnv serves three days of datagen traffic of shop-a (in Berlin)
// with the built-in rules, evaluated at the end of the flash sale's first
// slide.
func insightEnv(t *testing.T, withEngine bool) (*env, time.Time) {
	t.Helper()
	s := memstore.New()
	o := datagen.Options{ShopID: "shop-a", Start: datagen.DefaultStart, Days: 3, Visitors: 200, Seed: 3}
	events := datagen.Generate(o)
	for i := 0; i < len(events); i += 5000 {
		_, err := s.Append(context.Background(), events[i:min(i+5000, len(events))])
		require.NoError(t, err)
	}
	at := o.Start.Add(36*time.Hour + 5*time.Minute)
	e := newEnv(t, envOptions{store: s, config: func(c *httpapi.Config) {
		c.Shops = []httpapi.Shop{{ID: "shop-a", WriteKey: "wk_a", ReadKey: "rk_a", Timezone: "Europe/Berlin"},
			{ID: "shop-b", WriteKey: "wk_b", ReadKey: "rk_b"}}
		c.Now = func() time.Time { return at }
		if withEngine {
			eng, err := insights.NewEngine(s, insights.EngineOptions{Now: func() time.Time { return at }})
			require.NoError(t, err)
			c.Insights = eng
		}
	}})
	return e, at
}

func (e *env) postRead(key, path string) (int, []byte) {
	e.t.Helper()
	status, _, b := e.do("POST", path, nil, map[string]string{"Authorization": "Bearer " + key})
	return status, b
}

type insightList struct {
	Insights []map[string]any `json:"insights"`
}

func decodeList(t *testing.T, b []byte) insightList {
	t.Helper()
	var l insightList
	require.NoError(t, json.Unmarshal(b, &l), string(b))
	return l
}

func TestInsightsRunRaisesOnceAndTheListShowsIt(t *testing.T) {
	e, at := insightEnv(t, true)
	status, b := e.postRead("rk_a", "/api/insights/run")
	require.Equal(t, http.StatusOK, status, string(b))
	run := decodeList(t, b)
	require.NotEmpty(t, run.Insights)
	var flash map[string]any
	for _, in := range run.Insights {
		if in["rule"] == "flash_sale" {
			flash = in
		}
	}
	require.NotNil(t, flash, string(b))
	for _, k := range []string{"id", "rule", "severity", "title", "message", "evidence", "created_at", "subject", "resolved_at"} {
		require.Contains(t, flash, k)
	}
	require.Equal(t, datagen.FlashProductID, flash["subject"])
	require.Nil(t, flash["resolved_at"])
	require.Equal(t, "critical", flash["severity"])
	require.Equal(t, at.UTC().Format(time.RFC3339Nano), flash["created_at"])
	require.IsType(t, map[string]any{}, flash["evidence"])

	// The same moment again raises nothing new.
	status, b = e.postRead("rk_a", "/api/insights/run")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, decodeList(t, b).Insights)

	status, b = e.get("rk_a", "/api/insights")
	require.Equal(t, http.StatusOK, status, string(b))
	list := decodeList(t, b).Insights
	require.Len(t, list, len(run.Insights))
	for i := 1; i < len(list); i++ {
		require.GreaterOrEqual(t, list[i-1]["created_at"], list[i]["created_at"], "newest first")
	}

	status, b = e.get("rk_a", "/api/insights?rule=flash_sale&severity=critical&include_resolved=true&since=2026-03-03")
	require.Equal(t, http.StatusOK, status, string(b))
	require.Len(t, decodeList(t, b).Insights, 1)
	status, b = e.get("rk_a", "/api/insights?since=2026-03-04")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, decodeList(t, b).Insights)
	status, b = e.get("rk_a", "/api/insights?limit=1")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, decodeList(t, b).Insights, 1)

	// Another shop sees none of it.
	status, b = e.get("rk_b", "/api/insights")
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, decodeList(t, b).Insights)
	status, _ = e.get("rk_b", "/api/insights?shop=shop-a")
	require.Equal(t, http.StatusForbidden, status)
	status, b = e.get(adminKey, "/api/insights?shop=shop-a")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, decodeList(t, b).Insights, len(list))
}

func TestInsightsParametersAreCheckedNamingTheField(t *testing.T) {
	e, _ := insightEnv(t, true)
	for _, tc := range []struct{ query, field string }{
		{"severity=urgent", "severity"},
		{"since=yesterday", "since"},
		{"include_resolved=yes", "include_resolved"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"rule=Flash%20Sale", "rule"},
	} {
		status, b := e.get("rk_a", "/api/insights?"+tc.query)
		require.Equal(t, http.StatusBadRequest, status, tc.query)
		var body struct{ Error, Field string }
		require.NoError(t, json.Unmarshal(b, &body))
		require.Equal(t, tc.field, body.Field, tc.query)
		require.Contains(t, body.Error, tc.field)
	}
	status, b := e.get(adminKey, "/api/insights")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(b), `"field":"shop"`)
	status, _, _ = e.do("POST", "/api/insights/run", nil, map[string]string{"Authorization": "Bearer wk_a"})
	require.Equal(t, http.StatusUnauthorized, status, "a write key may not run the rules")
	status, _ = e.postRead(adminKey, "/api/insights/run?shop=shop-b")
	require.Equal(t, http.StatusOK, status, "an admin key may")
}

func TestInsightRoutesWithoutAnEngineSaySo(t *testing.T) {
	e, _ := insightEnv(t, false)
	status, b := e.get("rk_a", "/api/insights")
	require.Equal(t, http.StatusNotImplemented, status)
	require.Contains(t, string(b), "insights are not configured")
	status, _ = e.postRead("rk_a", "/api/insights/run")
	require.Equal(t, http.StatusNotImplemented, status)
	status, b = e.get("rk_a", "/api/reports/daily?date=2026-03-03")
	require.Equal(t, http.StatusOK, status, string(b))
	require.Contains(t, string(b), `"insights":[]`)
}

func TestDailyReportIsTheDayInTheShopsZone(t *testing.T) {
	e, _ := insightEnv(t, true)
	status, b := e.postRead("rk_a", "/api/insights/run")
	require.Equal(t, http.StatusOK, status, string(b))

	status, b = e.get("rk_a", "/api/reports/daily?date=2026-03-03")
	require.Equal(t, http.StatusOK, status, string(b))
	var rep map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &rep))
	for _, k := range []string{"date", "tz", "stats", "top_products", "funnel", "insights"} {
		require.Contains(t, rep, k)
	}
	require.JSONEq(t, `"2026-03-03"`, string(rep["date"]))
	require.JSONEq(t, `"Europe/Berlin"`, string(rep["tz"]))

	// The stats are those of /api/stats for the local day.
	status, stats := e.get("rk_a", "/api/stats?from=2026-03-03&to=2026-03-04")
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, string(stats), string(rep["stats"]))
	var st struct{ From string }
	require.NoError(t, json.Unmarshal(rep["stats"], &st))
	require.Equal(t, "2026-03-02T23:00:00Z", st.From)

	var raised []map[string]any
	require.NoError(t, json.Unmarshal(rep["insights"], &raised))
	require.NotEmpty(t, raised)
	var funnel struct {
		Steps []struct {
			EventName string `json:"event_name"`
		}
	}
	require.NoError(t, json.Unmarshal(rep["funnel"], &funnel))
	require.Len(t, funnel.Steps, 4)

	// Without a date: yesterday in the shop's zone.
	status, b = e.get("rk_a", "/api/reports/daily")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(b), `"date":"2026-03-02"`)

	status, b = e.get("rk_a", "/api/reports/daily?date=03/03/2026")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(b), `"field":"date"`)
}
