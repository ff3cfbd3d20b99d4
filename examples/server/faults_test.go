package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/internal/tcpproxy"
)

// poster sends batches of events with unique ids and remembers those
// answered 202.
type poster struct {
	mu       sync.Mutex
	accepted map[string]bool
	refused  int
}

func newPoster() *poster { return &poster{accepted: map[string]bool{}} }

// post sends one batch of n events named prefix-i and reports whether it
// got a 202; a connection error (the server is stopping) is a false.
func (p *poster) post(base, prefix string, n int) bool {
	var b strings.Builder
	b.WriteByte('[')
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%q,"type":"page_viewed","anonymous_id":"a"}`, ids[i])
	}
	b.WriteByte(']')
	req, _ := http.NewRequest("POST", base+"/events", strings.NewReader(b.String()))
	req.SetBasicAuth("wk_demo", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if resp.StatusCode != http.StatusAccepted {
		p.refused++
		return false
	}
	for _, id := range ids {
		p.accepted[id] = true
	}
	return true
}

// storedIDs reads the demo shop's events back through the export.
func storedIDs(t *testing.T, base string) map[string]int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/export?format=ndjson", nil)
	req.Header.Set("Authorization", "Bearer rk_demo")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev struct{ ID string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		out[ev.ID]++
	}
	require.NoError(t, sc.Err())
	return out
}

// TestSIGTERMDuringAPostgresOutageKeepsAcknowledgedEvents stops the server
// while PostgreSQL is unreachable (reset connections) and while it is
// stalled (connections open, no bytes), each time with events answered 202
// that the store never took. The server exits within its shutdown budget,
// and after PostgreSQL is back a restart on the same spool stores every
// one of them, exactly once.
func TestSIGTERMDuringAPostgresOutageKeepsAcknowledgedEvents(t *testing.T) {
	for _, fault := range []string{"down", "stall"} {
		t.Run(fault, func(t *testing.T) {
			_, bin := buildServer(t)
			pgURL, err := url.Parse(pgtest.URL(t))
			require.NoError(t, err)
			proxy, err := tcpproxy.New(pgURL.Host)
			require.NoError(t, err)
			t.Cleanup(func() { _ = proxy.Close() })
			pgURL.Host = proxy.Addr()
			args := []string{"-store", pgURL.String(), "-shutdown-timeout", "2s"}
			s := startServer(t, bin, args...)

			p := newPoster()
			for i := range 5 {
				require.True(t, p.post(s.url, fmt.Sprintf("before-%d", i), 50))
			}
			if fault == "down" {
				proxy.Down()
			} else {
				proxy.Stall()
			}
			for i := range 20 {
				require.True(t, p.post(s.url, fmt.Sprintf("during-%d", i), 50), "the spool takes events while the store is out")
			}
			start := time.Now()
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("the server did not exit during the outage: %s", s.log.String())
			}
			t.Logf("%s: exited %v after SIGTERM with %d events acknowledged", fault, time.Since(start).Round(time.Millisecond), len(p.accepted))
			require.Contains(t, s.log.String(), "kept in the spool")

			proxy.Pass()
			s = startServer(t, bin, args...)
			var stored map[string]int
			require.Eventually(t, func() bool {
				stored = storedIDs(t, s.url)
				for id := range p.accepted {
					if stored[id] == 0 {
						return false
					}
				}
				return true
			}, 60*time.Second, 100*time.Millisecond, "every acknowledged event is stored after the restart")
			for id := range p.accepted {
				require.Equal(t, 1, stored[id], id)
			}
			s.stop(t)
		})
	}
}
