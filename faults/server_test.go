package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binDir holds the server binary, built once for every test of the package.
var (
	binDir   string
	buildBin sync.Once
	bin      string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faults")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// serverBinary builds the example server (once) and returns its path; it
// skips the test under -short or where /proc is missing.
func serverBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's memory from /proc")
	}
	buildBin.Do(func() {
		bin = filepath.Join(binDir, "server")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/shoplytics/shoplytics/examples/server").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return bin
}

// server is a running example server process.
type server struct {
	cmd  *exec.Cmd
	url  string
	addr string
	done chan error
	mu   sync.Mutex
	log  strings.Builder
}

var listenRe = regexp.MustCompile(`addr=http://(\S+)`)

// startServer runs the example server on a memory store with the demo
// keys and extra flags; it is killed when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	b := serverBinary(t)
	cmd := exec.Command(b, append([]string{"-addr", "127.0.0.1:0", "-store", "memory://"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, done: make(chan error, 1)}
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("server log:\n%s", s.logged())
		}
	})
	select {
	case s.addr = <-addrs:
		s.url = "http://" + s.addr
	case err := <-s.done:
		s.done <- err
		t.Fatalf("server exited: %v\n%s", err, s.logged())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start:\n%s", s.logged())
	}
	return s
}

func (s *server) logged() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// status returns a field of /proc/<pid>/status in bytes (VmHWM, VmRSS).
func (s *server) status(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err, line)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
	return 0
}

// client is an HTTP client with a bound on every request, so a test never
// hangs on a stuck server.
var client = &http.Client{Timeout: 30 * time.Second}

// requireServing checks that the server is healthy, accepts a normal event
// within a few seconds and stores it (it shows in the export).
func (s *server) requireServing(t *testing.T, id string) {
	t.Helper()
	resp, err := client.Get(s.url + "/health")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	status, elapsed := s.postEvent(t, id)
	require.Equal(t, http.StatusAccepted, status)
	require.Less(t, elapsed, 5*time.Second, "a normal event is answered promptly")

	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.url+"/api/export?format=ndjson", nil)
		req.Header.Set("Authorization", "Bearer rk_demo")
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		if bytes.Contains(body, []byte(`"id":"`+id+`"`)) {
			return
		}
		require.True(t, time.Now().Before(deadline), "event %s accepted but not stored", id)
		time.Sleep(50 * time.Millisecond)
	}
}

// postEvent posts one normal event with the demo write key and returns the
// status and how long the answer took.
func (s *server) postEvent(t *testing.T, id string) (int, time.Duration) {
	t.Helper()
	ev, err := json.Marshal(map[string]string{"id": id, "type": "page_viewed", "anonymous_id": "a1"})
	require.NoError(t, err)
	req, _ := http.NewRequest("POST", s.url+"/events", bytes.NewReader(ev))
	req.SetBasicAuth("wk_demo", "")
	start := time.Now()
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}
