package shoplytics_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/sqlitestore"
)

// readmeEmbedProgram returns the Go program of the README's "Embed it"
// section, as a user would copy it.
func readmeEmbedProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "## Embed it")
	require.True(t, ok, "the README has an Embed it section")
	_, code, ok := strings.Cut(section, "```go\n")
	require.True(t, ok)
	code, _, ok = strings.Cut(code, "```")
	require.True(t, ok)
	return code
}

// TestREADMEEmbedSnippetLosesNothingOnSIGTERM builds the README's embedding
// program as it stands, posts events to it, sends SIGTERM at once (while
// they still wait in the queue), and finds every event answered 202 in its
// SQLite file.
func TestREADMEEmbedSnippetLosesNothingOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	code := readmeEmbedProgram(t)
	const addr = "127.0.0.1:8080"
	require.Contains(t, code, addr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	free := ln.Addr().String()
	require.NoError(t, ln.Close())
	code = strings.Replace(code, addr, free, 1)

	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	require.NoError(t, os.WriteFile(src, []byte(code), 0o644))
	bin := filepath.Join(dir, "embed")
	out, err := exec.Command("go", "build", "-o", bin, src).CombinedOutput()
	require.NoError(t, err, string(out))

	cmd := exec.Command(bin)
	cmd.Dir = dir // sqlite://shoplytics.db is relative to the working directory
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://" + free + "/analytics"
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 60*time.Second, 10*time.Millisecond, "the program did not start: %s", &logs)

	accepted := 0
	for r := range 20 {
		var b strings.Builder
		b.WriteByte('[')
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"r%d-%d","type":"page_viewed","anonymous_id":"a%d"}`, r, i, r)
		}
		b.WriteByte(']')
		req, _ := http.NewRequest("POST", base+"/events", strings.NewReader(b.String()))
		req.SetBasicAuth("wk_public", "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		accepted += 100
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the program did not stop: %s", &logs)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "shoplytics.db"))
	require.NoError(t, err)
	defer st.Close()
	seen := map[string]int{}
	for e, err := range st.Events(ctx, store.Filter{ShopID: "myshop"}) {
		require.NoError(t, err)
		seen[e.ID]++
	}
	require.Len(t, seen, accepted, "every event answered 202 is stored")
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
}
