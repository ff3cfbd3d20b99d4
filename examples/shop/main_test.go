package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a log that the test reads while run writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunWithDemoServesAFullShopAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-store", "memory://", "-demo"}, &log) }()
	addr := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	require.Eventually(t, func() bool { return addr.MatchString(log.String()) }, time.Minute, 10*time.Millisecond, "no listening line: %s", log.String())
	url := addr.FindString(log.String())
	require.Contains(t, log.String(), "demo data stored")

	resp, err := http.Get(url + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(page), "Trail Runner")

	req, _ := http.NewRequest("GET", url+"/analytics/api/stats", nil)
	req.Header.Set("Authorization", "Bearer rk_demo")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var stats struct{ Events, Purchases int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	require.Positive(t, stats.Events, "the dashboard has data on the first run")
	require.Positive(t, stats.Purchases)

	cancel()
	require.NoError(t, <-done)
	require.Contains(t, log.String(), "shop stopped")
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-shutdown-timeout", "0s"},
		{"-store", "nope://x"},
		{"-no-such-flag"},
	} {
		err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard)
		require.Error(t, err, "%v", args)
	}
}
