package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/pgtest"
	"github.com/shoplytics/shoplytics/internal/redistest"
	"github.com/shoplytics/shoplytics/store"
)

// TestPipelineMovesAcceptedEventsIntoPostgres posts events to the pipeline,
// stops it, and finds them in PostgreSQL exactly once.
func TestPipelineMovesAcceptedEventsIntoPostgres(t *testing.T) {
	redisURL, prefix := redistest.Prefix(t)
	pgURL := pgtest.URL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-redis", redisURL, "-prefix", prefix, "-postgres", pgURL, "-stats", "0"}, io.Discard)
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)

	body := `[{"id":"p1","type":"page_viewed","anonymous_id":"a"},{"id":"p2","type":"add_to_cart","anonymous_id":"a","product_id":"x","price":"3.30"},{"id":"p1","type":"page_viewed","anonymous_id":"a"}]`
	req, _ := http.NewRequest("POST", "http://"+addr+"/events", strings.NewReader(body))
	req.SetBasicAuth("wk_demo", "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// The read side is PostgreSQL: the events show up there once relayed.
	db, err := store.Open(context.Background(), pgURL)
	require.NoError(t, err)
	defer db.Close()
	ids := func() []string {
		var out []string
		for e, err := range db.Events(context.Background(), store.Filter{ShopID: "demo"}) {
			require.NoError(t, err)
			out = append(out, e.ID)
		}
		return out
	}
	require.Eventually(t, func() bool { return len(ids()) == 2 }, 30*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []string{"p1", "p2"}, ids())
}

// lockedLog is a log written by the pipeline's goroutines and read by the
// test.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPipelineStartUpLineShowsBothStoresWithoutPasswords starts the pipeline
// on URLs with passwords (trust authentication ignores them): the listening
// line names the stream and the database as written, with an arrow between
// them, and the passwords redacted.
func TestPipelineStartUpLineShowsBothStoresWithoutPasswords(t *testing.T) {
	const secret = "s3cretpw"
	redisURL, prefix := redistest.Prefix(t)
	ru, err := url.Parse(redisURL)
	require.NoError(t, err)
	ru.User = url.UserPassword("", secret)
	pu, err := url.Parse(pgtest.URL(t))
	require.NoError(t, err)
	pu.User = url.UserPassword(pu.User.Username(), secret)

	var log lockedLog
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-redis", ru.String(), "-prefix", prefix, "-postgres", pu.String(), "-stats", "0"}, &log)
	}()
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "shoplytics listening") }, 30*time.Second, 20*time.Millisecond, "%s", &log)
	cancel()
	require.NoError(t, <-done)

	ru.User, pu.User = url.UserPassword("", "xxxxx"), url.UserPassword(pu.User.Username(), "xxxxx")
	want := ru.String() + " → " + pu.String()
	require.Contains(t, log.String(), want, "the stores as given, passwords redacted")
	require.NotContains(t, log.String(), secret)
}
