package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readKeyRequest(t *testing.T, method, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer rk_demo")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b json.RawMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&b))
	return resp.StatusCode, b
}

// TestServerRunsTheInsightRulesAndWritesTheDailyReport starts the server
// with the demo data: the scheduler's first pass writes yesterday's report
// to -report-dir, and the insight routes answer.
func TestServerRunsTheInsightRulesAndWritesTheDailyReport(t *testing.T) {
	dir, bin := buildServer(t)
	reports := filepath.Join(dir, "reports")
	s := startServer(t, bin, "-store", "memory://", "-demo", "-report-dir", reports)
	yesterday := time.Now().AddDate(0, 0, -1).UTC().Format(time.DateOnly)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(reports, "demo-"+yesterday+".json"))
		return err == nil
	}, 2*time.Minute, 50*time.Millisecond, "the first pass writes yesterday's report")
	b, err := os.ReadFile(filepath.Join(reports, "demo-"+yesterday+".json"))
	require.NoError(t, err)
	var rep struct {
		Date  string `json:"date"`
		Stats struct {
			Events int64 `json:"events"`
		} `json:"stats"`
	}
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Equal(t, yesterday, rep.Date)
	require.Positive(t, rep.Stats.Events)
	_, err = os.Stat(filepath.Join(reports, "demo-"+yesterday+".csv"))
	require.NoError(t, err)

	status, body := readKeyRequest(t, "POST", s.url+"/api/insights/run")
	require.Equal(t, http.StatusOK, status, string(body))
	status, body = readKeyRequest(t, "GET", s.url+"/api/insights?include_resolved=true")
	require.Equal(t, http.StatusOK, status, string(body))
	var list struct {
		Insights []struct {
			Rule string `json:"rule"`
		} `json:"insights"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	rules := map[string]bool{}
	for _, in := range list.Insights {
		rules[in.Rule] = true
	}
	require.True(t, rules["flash_sale"], "-demo replays the flash sale: %s", body)
	status, body = readKeyRequest(t, "GET", s.url+"/api/reports/daily?date="+yesterday)
	require.Equal(t, http.StatusOK, status, string(body))
	s.stop(t)
	require.Contains(t, s.log.String(), `msg="daily report" shop=demo date=`+yesterday)
}

func TestServerWithoutInsightsSaysSo(t *testing.T) {
	_, bin := buildServer(t)
	s := startServer(t, bin, "-store", "memory://", "-no-insights")
	status, body := readKeyRequest(t, "GET", s.url+"/api/insights")
	require.Equal(t, http.StatusNotImplemented, status, string(body))
	s.stop(t)
}
