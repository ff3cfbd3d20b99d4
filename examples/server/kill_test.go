package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKill9UnderLoadLosesNoAcknowledgedEvent SIGKILLs the server (SQLite,
// spool on by default) while clients post events, restarts it on the same
// database and spool, and finds every event that was answered 202 stored
// exactly once. Three rounds on the same files.
func TestKill9UnderLoadLosesNoAcknowledgedEvent(t *testing.T) {
	dir, bin := buildServer(t)
	db := "sqlite://" + filepath.Join(dir, "kill.db")
	accepted := map[string]bool{}
	for round := range 3 {
		s := startServer(t, bin, "-store", db)
		stop := make(chan struct{})
		var mu sync.Mutex
		var wg sync.WaitGroup
		for c := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; ; r++ {
					select {
					case <-stop:
						return
					default:
					}
					var b strings.Builder
					b.WriteByte('[')
					ids := make([]string, 20)
					for i := range ids {
						ids[i] = fmt.Sprintf("k%d-%d-%d-%d", round, c, r, i)
						if i > 0 {
							b.WriteByte(',')
						}
						fmt.Fprintf(&b, `{"id":%q,"type":"page_viewed","anonymous_id":"a%d"}`, ids[i], c)
					}
					b.WriteByte(']')
					req, _ := http.NewRequest("POST", s.url+"/events", strings.NewReader(b.String()))
					req.SetBasicAuth("wk_demo", "")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return // killed
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
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(accepted) >= (round+1)*3000
		}, 60*time.Second, time.Millisecond)
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
		close(stop)
		wg.Wait()
		<-s.done
	}

	s := startServer(t, bin, "-store", db)
	require.Contains(t, s.log.String(), "replaying the spool")
	var stored map[string]int
	require.Eventually(t, func() bool { return allStored(s.url, accepted, &stored) },
		60*time.Second, 100*time.Millisecond, "every acknowledged event is stored after the restart")
	for id := range accepted {
		require.Equal(t, 1, stored[id], "event %s got a 202 and must be stored once", id)
	}
	t.Logf("%d events acknowledged over three kill -9 rounds, all stored once (%d stored in all)", len(accepted), len(stored))
	s.stop(t)
}
