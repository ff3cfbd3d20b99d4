package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type demoStats struct {
	Events    int64 `json:"events"`
	Purchases int64 `json:"purchases"`
	Users     int64 `json:"users"`
	Revenue   []struct {
		Currency string `json:"currency"`
		Total    string `json:"total"`
		Orders   int64  `json:"orders"`
	} `json:"revenue"`
}

// getDemoStats reads the demo shop's stats, of the default range (the
// last 30 days) or of the query's.
func getDemoStats(t *testing.T, s *server, query string) demoStats {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/api/stats?shop=demo"+query, nil)
	req.Header.Set("Authorization", "Bearer rk_demo")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st demoStats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st
}

// TestDemoSeedsAnEmptyStoreOnce starts the server with -demo on a new
// SQLite file: the last 30 days show traffic, purchases and revenue in
// several currencies. A second start with -demo finds the shop's events
// and adds none.
func TestDemoSeedsAnEmptyStoreOnce(t *testing.T) {
	dir, bin := buildServer(t)
	db := "sqlite://" + filepath.Join(dir, "demo.db")

	// The default range moves with the clock; this one holds all the
	// demo's events on both runs.
	all := "&from=" + time.Now().AddDate(0, 0, -40).Format(time.DateOnly) + "&to=" + time.Now().AddDate(0, 0, 2).Format(time.DateOnly)

	s := startServer(t, bin, "-store", db, "-demo")
	first := getDemoStats(t, s, "")
	require.Positive(t, first.Events)
	require.Positive(t, first.Purchases)
	require.Positive(t, first.Users)
	require.GreaterOrEqual(t, len(first.Revenue), 2, "revenue in several currencies: %+v", first.Revenue)
	first = getDemoStats(t, s, all)
	s.stop(t)
	require.Contains(t, s.log.String(), `msg="demo data stored" shop=demo`)

	s = startServer(t, bin, "-store", db, "-demo")
	again := getDemoStats(t, s, all)
	require.Equal(t, first.Events, again.Events)
	require.Equal(t, first.Purchases, again.Purchases)
	s.stop(t)
	require.Contains(t, s.log.String(), `msg="demo data skipped`)
	require.NotContains(t, s.log.String(), `msg="demo data stored"`)
}
