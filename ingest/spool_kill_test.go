package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
)

// Environment of the helper process.
const (
	helperSpoolEnv = "SHOPLYTICS_TEST_SPOOL_HELPER_DIR"
	helperDBEnv    = "SHOPLYTICS_TEST_SPOOL_HELPER_DB"
	helperTagEnv   = "SHOPLYTICS_TEST_SPOOL_HELPER_TAG"
	helperSyncEnv  = "SHOPLYTICS_TEST_SPOOL_HELPER_SYNC"
)

func helperSpool(dir, policy string) ingest.SpoolOptions {
	sp := ingest.SpoolOptions{Dir: dir, SegmentBytes: 256 << 10}
	if policy == "interval" {
		sp.Sync, sp.SyncEvery = ingest.SyncInterval, 20*time.Millisecond
	}
	return sp
}

// TestHelperProcess is not a test of its own: TestSpoolSurvivesKill9 runs
// the test binary again as a child that stores events into SQLite through
// a spooled Ingester, from several producers, and writes each event's id
// to stdout once Enqueue has returned for it (acknowledged), until the
// parent kills it.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperSpoolEnv)
	if dir == "" {
		t.Skip("the child process of TestSpoolSurvivesKill9")
	}
	ctx := context.Background()
	s, err := sqlitestore.New(ctx, sqlitestore.Options{Path: os.Getenv(helperDBEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	in, err := ingest.New(s, ingest.Options{
		BatchSize: 200, MaxBatchAge: 5 * time.Millisecond, QueueSize: 2000,
		Spool:  helperSpool(dir, os.Getenv(helperSyncEnv)),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	in.Start()
	tag := os.Getenv(helperTagEnv)
	var mu sync.Mutex
	for p := range 4 {
		go func() {
			var line []byte
			for i := 0; ; i++ {
				evs := events(fmt.Sprintf("%s-p%d-%06d", tag, p, i), 1+i%5)
				if err := in.Enqueue(ctx, evs...); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				line = line[:0]
				for _, e := range evs {
					line = append(append(line, e.ID...), '\n')
				}
				mu.Lock()
				_, _ = os.Stdout.Write(line) // one write: whole lines reach the pipe
				mu.Unlock()
			}
		}()
	}
	select {}
}

func TestSpoolSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	spoolDir, db := filepath.Join(dir, "spool"), filepath.Join(dir, "events.db")
	acked := map[string]bool{}
	const perRound = 10_000
	rescued := uint64(0) // acknowledged events only the spool held at the kill
	for round, policy := range []string{"always", "interval", "always", "interval"} {
		tag := fmt.Sprintf("k%d", round)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperSpoolEnv+"="+spoolDir, helperDBEnv+"="+db, helperTagEnv+"="+tag, helperSyncEnv+"="+policy)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		// Kill it mid-load, once it has acknowledged enough events (or
		// after a while, however far it got).
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			r := bufio.NewReader(stdout)
			for {
				line, err := r.ReadString('\n')
				if err != nil { // a last partial line was never acknowledged
					_, _ = io.Copy(io.Discard, r)
					return
				}
				lines <- strings.TrimSuffix(line, "\n")
			}
		}()
		n := 0
		deadline := time.After(10 * time.Second)
	read:
		for n < perRound {
			select {
			case id, ok := <-lines:
				if !ok {
					break read
				}
				acked[id] = true
				n++
			case <-deadline:
				break read
			}
		}
		require.NoError(t, cmd.Process.Kill()) // SIGKILL
		for id := range lines {
			acked[id] = true
			n++
		}
		err = cmd.Wait()
		require.Error(t, err)
		require.Contains(t, err.Error(), "killed", "the child dies by the signal, not on its own: %s", stderr.String())
		require.Positive(t, n, "the child acknowledged events before it was killed: %s", stderr.String())

		// A new process on the same spool and database stores the rest.
		s, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: db})
		require.NoError(t, err)
		in := newIngester(t, s, ingest.Options{BatchSize: 500, Spool: helperSpool(spoolDir, policy)})
		in.Start()
		shutdown(t, in)
		st := in.Stats()
		got := ids(t, s)
		lost := 0
		for id := range acked {
			if got[id] != 1 {
				lost++
			}
		}
		for id, c := range got {
			require.Equal(t, 1, c, "stored once: %s", id)
		}
		require.NoError(t, s.Close())
		t.Logf("round %d (%s): %d events acknowledged before SIGKILL, %d replayed after it (%d new), %d corrupt stretches; %d acknowledged in all, %d stored, lost %d",
			round, policy, n, st.Replayed, st.Stored, st.SpoolCorrupt, len(acked), len(got), lost)
		require.Zero(t, lost, "every acknowledged event is stored exactly once")
		require.Empty(t, segments(t, spoolDir))
		rescued += st.Stored
	}
	require.Positive(t, rescued, "some kill left events that only the spool had")
}
