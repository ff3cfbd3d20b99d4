package faults

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// maxRSS is the bound on the server's resident set high-water mark under
// every hostile load below: 200 bodies of 1 MiB decoded at once would take
// gigabytes.
const maxRSS = 300 << 20

// hostileConcurrency is how many hostile requests are in flight at once.
const hostileConcurrency = 200

const mib = 1 << 20

// zeros is a JSON array of zeros just under 1 MiB: half a million
// elements.
func zeros() []byte {
	return []byte("[" + strings.Repeat("0,", mib/2-2) + "0]")
}

// garbage returns three kinds of 1 MiB garbage: random bytes, lines of empty
// objects after a broken one (read as NDJSON), and an array that never ends.
func garbage() [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, mib)
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	lines := append([]byte("{x\n"), bytes.Repeat([]byte("{}\n"), mib/3-1)...)
	open := bytes.Repeat([]byte("0,"), mib/2)
	open[0] = '['
	return [][]byte{random, lines, open}
}

// invalidEvents is just under 1 MiB of events, each refused for its type,
// as many as a body may carry.
func invalidEvents() []byte {
	const n = 10000
	pad := strings.Repeat("x", mib/n-60)
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"Not A Type","anonymous_id":"a","p":"%s"}`, pad)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// hostileRounds is how many requests each hostile client sends, one after
// the other, so that the server sees the full concurrency for a while.
const hostileRounds = 3

// hostileLoad has hostileConcurrency clients send hostileRounds requests
// each, client i with bodies[i%len(bodies)], and returns how they were
// answered (status codes, or "error" for a connection the server cut).
func hostileLoad(t *testing.T, url string, bodies [][]byte, chunked bool, auth func(*http.Request)) map[string]int {
	t.Helper()
	var mu sync.Mutex
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range hostileConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range hostileRounds {
				var body io.Reader = bytes.NewReader(bodies[i%len(bodies)])
				if chunked {
					body = io.MultiReader(body) // hides the length: sent chunked
				}
				req, err := http.NewRequest("POST", url+"/events", body)
				if err != nil {
					panic(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if auth != nil {
					auth(req)
				}
				outcome := "error"
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					outcome = fmt.Sprint(resp.StatusCode)
				}
				mu.Lock()
				outcomes[outcome]++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return outcomes
}

func outcomeList(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// TestHostileBodiesKeepMemoryBounded has 200 concurrent clients send 1 MiB
// bodies of each hostile kind to a fresh server and requires its resident set to stay
// under maxRSS, no hostile event to be accepted, and the server to go on
// accepting and storing normal events.
func TestHostileBodiesKeepMemoryBounded(t *testing.T) {
	validKey := func(r *http.Request) { r.URL.RawQuery = "key=wk_demo" }
	for _, tc := range []struct {
		name    string
		bodies  [][]byte
		chunked bool
		auth    func(*http.Request)
	}{
		{"unauthenticated zeros", [][]byte{zeros()}, false, nil},
		{"unauthenticated zeros, chunked", [][]byte{zeros()}, true, nil},
		{"unauthenticated garbage", garbage(), false, nil},
		{"unauthenticated garbage, chunked", garbage(), true, nil},
		{"valid key, invalid events", [][]byte{invalidEvents()}, false, validKey},
		{"valid key, zeros", [][]byte{zeros()}, false, validKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			before := s.status(t, "VmHWM")
			start := time.Now()
			outcomes := hostileLoad(t, s.url, tc.bodies, tc.chunked, tc.auth)
			hwm := s.status(t, "VmHWM")
			t.Logf("%d×%d requests in %v: %s; VmHWM %d MB (%d MB at start)", hostileConcurrency, hostileRounds,
				time.Since(start).Round(time.Millisecond), outcomeList(outcomes), hwm>>20, before>>20)
			require.Zero(t, outcomes["202"], "no hostile event is accepted")
			require.Less(t, hwm, int64(maxRSS), "resident set high-water mark")
			s.requireServing(t, "after-"+strings.ReplaceAll(tc.name, " ", "-"))
		})
	}
}
