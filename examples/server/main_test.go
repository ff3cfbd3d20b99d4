package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/internal/redistest"
)

// buildServer builds the server into a temporary directory and returns both.
func buildServer(t *testing.T) (dir, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, "server")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return dir, bin
}

// server is a running example server process.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	log  *strings.Builder
}

var listenRe = regexp.MustCompile(`addr=(http://\S+)`)

func startServer(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	// The binary's directory is the test's: the default spool
	// (shoplytics.spool) is the test's own, shared by its restarts only.
	cmd.Dir = filepath.Dir(bin)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, done: make(chan error, 1), log: &strings.Builder{}}
	urls := make(chan string, 1)
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-urls:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("server did not start: %s", s.log.String())
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return s
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-s.done:
		require.NoError(t, err, s.log.String())
	case <-time.After(60 * time.Second):
		t.Fatal("server did not stop")
	}
}

// TestSIGTERMAfterABurstKeepsEveryAcceptedEvent posts a burst of events,
// sends SIGTERM while the last of them may still be queued, restarts the
// server on the same SQLite file, and finds every event that got a 202 in
// the export, exactly once.
func TestSIGTERMAfterABurstKeepsEveryAcceptedEvent(t *testing.T) {
	dir, bin := buildServer(t)
	db := "sqlite://" + filepath.Join(dir, "events.db")
	s := startServer(t, bin, "-store", db)

	const clients, requests, perRequest = 8, 25, 20
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				var b strings.Builder
				b.WriteByte('[')
				var ids []string
				for i := range perRequest {
					id := fmt.Sprintf("burst-%d-%d-%d", c, r, i)
					ids = append(ids, id)
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `{"id":%q,"type":"page_viewed","anonymous_id":"a%d"}`, id, c)
				}
				b.WriteByte(']')
				req, _ := http.NewRequest("POST", s.url+"/events", strings.NewReader(b.String()))
				req.SetBasicAuth("wk_demo", "")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is going away
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					for _, id := range ids {
						accepted[id] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Stop while the burst is in flight.
	time.Sleep(50 * time.Millisecond)
	s.stop(t)
	wg.Wait()
	require.NotEmpty(t, accepted)

	s = startServer(t, bin, "-store", db)
	stored := storedIDs(t, s.url)
	for id := range accepted {
		require.Equal(t, 1, stored[id], "event %s got a 202 and must be stored once", id)
	}
	t.Logf("%d events accepted before SIGTERM, all stored once (%d stored in all)", len(accepted), len(stored))
	s.stop(t)
	_ = os.Remove(filepath.Join(dir, "events.db"))
}

// TestSwappingTheStoreURLKeepsTheSameAnswers runs the same server against
// SQLite, PostgreSQL and a Redis stream relayed into PostgreSQL, changing
// only -store, and reads the same events back from each.
func TestSwappingTheStoreURLKeepsTheSameAnswers(t *testing.T) {
	dir, bin := buildServer(t)

	pgURL := pgtest.URL(t)
	redisURL, prefix := redistest.Prefix(t)
	urls := map[string]string{
		"sqlite":         "sqlite://" + filepath.Join(dir, "swap.db"),
		"postgres":       pgURL,
		"redis+postgres": redisURL + "?prefix=" + prefix + "&sink=" + url.QueryEscape(pgtest.URL(t)),
	}
	body := `[
		{"id":"s1","type":"page_viewed","anonymous_id":"a1","timestamp":"2026-11-20T10:00:00Z"},
		{"id":"s2","type":"product_viewed","anonymous_id":"a1","product_id":"p1","price":"12.50","timestamp":"2026-11-20T10:01:00Z"},
		{"id":"s3","type":"purchase","user_id":"u1","revenue":"1000","currency":"JPY","properties":{"k":"v"},"timestamp":"2026-11-20T10:02:00Z"},
		{"id":"s1","type":"page_viewed","anonymous_id":"a1"}
	]`
	exports := map[string]string{}
	for name, u := range urls {
		s := startServer(t, bin, "-store", u)
		req, _ := http.NewRequest("POST", s.url+"/events", strings.NewReader(body))
		req.SetBasicAuth("wk_demo", "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, name)
		s.stop(t)

		s = startServer(t, bin, "-store", u)
		exports[name] = exportLines(t, s.url)
		s.stop(t)
	}
	require.Len(t, strings.Split(strings.TrimSpace(exports["sqlite"]), "\n"), 3)
	require.Equal(t, exports["sqlite"], exports["postgres"])
	require.Equal(t, exports["sqlite"], exports["redis+postgres"])
}

// exportLines returns the demo shop's export without received_at, which
// differs from run to run.
func exportLines(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/export?from=2026-11-01&to=2026-12-01", nil)
	req.Header.Set("Authorization", "Bearer rk_demo")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		delete(m, "received_at")
		line, err := json.Marshal(m)
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	require.NoError(t, sc.Err())
	return b.String()
}

// TestStartUpLogHidesPasswords starts the server on a Redis stream whose
// sink is a PostgreSQL URL with a password (trust authentication ignores
// it), and on a -config file that is refused; no password is in the logs.
func TestStartUpLogHidesPasswords(t *testing.T) {
	_, bin := buildServer(t)
	const secret = "s3cretpw"
	pgURL, err := url.Parse(pgtest.URL(t))
	require.NoError(t, err)
	pgURL.User = url.UserPassword(pgURL.User.Username(), secret)
	redisURL, prefix := redistest.Prefix(t)
	ru, err := url.Parse(redisURL)
	require.NoError(t, err)
	ru.User = url.UserPassword("", secret)
	running := ru.String() + "?prefix=" + prefix + "&sink=" + url.QueryEscape(pgURL.String())
	s := startServer(t, bin, "-store", running)
	s.stop(t)
	require.Contains(t, s.log.String(), "xxxxx", "the passwords are shown redacted")
	require.NotContains(t, s.log.String(), secret)

	for _, u := range []string{
		"postgres://postgres:" + secret + "@127.0.0.1:1/test?connect_timeout=1",
		"postgres://postgres:" + secret + "@127.0.0.1:port/test",
		"redis://:" + secret + "@127.0.0.1:6379/0?sink=" + url.QueryEscape("postgres://postgres:"+secret+"@127.0.0.1:port/test"),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-spool", "off", "-store", u).CombinedOutput()
		cancel()
		require.Error(t, err, "%s", out)
		require.NotContains(t, string(out), secret)
	}
}
