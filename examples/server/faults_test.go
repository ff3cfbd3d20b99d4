package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
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

// exportIDs reads the demo shop's events back through the export and
// counts each id; safe off the test goroutine (in require.Eventually).
func exportIDs(base string) (map[string]int, error) {
	req, _ := http.NewRequest("GET", base+"/api/export?format=ndjson", nil)
	req.Header.Set("Authorization", "Bearer rk_demo")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("export: %s", resp.Status)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev struct{ ID string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, err
		}
		out[ev.ID]++
	}
	return out, sc.Err()
}

// storedIDs is exportIDs on the test goroutine.
func storedIDs(t *testing.T, base string) map[string]int {
	t.Helper()
	ids, err := exportIDs(base)
	require.NoError(t, err)
	return ids
}

// allStored reports whether every id in want is among the stored ones.
func allStored(base string, want map[string]bool, stored *map[string]int) bool {
	ids, err := exportIDs(base)
	if err != nil {
		return false
	}
	*stored = ids
	for id := range want {
		if ids[id] == 0 {
			return false
		}
	}
	return true
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
			require.Eventually(t, func() bool { return allStored(s.url, p.accepted, &stored) },
				60*time.Second, 100*time.Millisecond, "every acknowledged event is stored after the restart")
			for id := range p.accepted {
				require.Equal(t, 1, stored[id], id)
			}
			s.stop(t)
		})
	}
}

// smallDisk mounts a tmpfs of size bytes for the test, or skips the test
// where mounting is not allowed (it needs root).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small disk here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func health(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestSQLiteOnAFullOrReadOnlyDisk puts the database on a small disk and
// fills it: events are still acknowledged (into the spool, on another
// disk), /health says 503 and the log names the cause; when space returns
// every acknowledged event is stored once. On the disk made read-only the
// server refuses to start with an error naming the file and why. The
// database passes SQLite's integrity check at the end.
func TestSQLiteOnAFullOrReadOnlyDisk(t *testing.T) {
	dir, bin := buildServer(t)
	disk := smallDisk(t, "4m")
	dbPath := filepath.Join(disk, "events.db")
	s := startServer(t, bin, "-store", "sqlite://"+dbPath, "-spool", filepath.Join(dir, "spool"))
	p := newPoster()
	require.True(t, p.post(s.url, "first", 10))

	// Full: a file takes every free byte.
	filler := filepath.Join(disk, "filler")
	_ = exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").Run() // ends with "no space left"
	for i := range 40 {
		require.True(t, p.post(s.url, fmt.Sprintf("full-%d", i), 100), "the spool takes events while the database's disk is full")
	}
	require.Eventually(t, func() bool { return health(t, s.url) == http.StatusServiceUnavailable }, 30*time.Second, 50*time.Millisecond,
		"health says the store takes no writes")
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), "full") }, 10*time.Second, 50*time.Millisecond,
		"the log names the cause: %s", s.log.String())
	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool { return health(t, s.url) == http.StatusOK }, 30*time.Second, 50*time.Millisecond)

	var stored map[string]int
	require.Eventually(t, func() bool { return allStored(s.url, p.accepted, &stored) },
		60*time.Second, 100*time.Millisecond, "every acknowledged event is stored once the disk takes writes again")
	for id := range p.accepted {
		require.Equal(t, 1, stored[id], id)
	}
	require.Equal(t, http.StatusOK, health(t, s.url))
	s.stop(t)

	// Read-only (a disk remounted so after an error, say): the server
	// refuses to start, naming the file and the cause, and starts on it
	// again once it is writable, with the events intact.
	require.NoError(t, exec.Command("mount", "-o", "remount,ro", disk).Run())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	out, err := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-store", "sqlite://"+dbPath, "-spool", filepath.Join(dir, "spool")).CombinedOutput()
	cancel()
	require.Error(t, err)
	require.Contains(t, string(out), dbPath)
	require.Contains(t, strings.ToLower(string(out)), "read-only", "the error says why: %s", out)
	require.NoError(t, exec.Command("mount", "-o", "remount,rw", disk).Run())
	s = startServer(t, bin, "-store", "sqlite://"+dbPath, "-spool", filepath.Join(dir, "spool"))
	require.Len(t, storedIDs(t, s.url), len(stored))
	s.stop(t)

	db, err := sql.Open("sqlite3", dbPath)
	require.NoError(t, err)
	defer db.Close()
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
}
