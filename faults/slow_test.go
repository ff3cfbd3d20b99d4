package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The timeouts the slow-client tests give the server: short, so the tests
// are, and far enough apart from the generous bounds below not to flake.
const (
	headerTimeout = 2 * time.Second
	readTimeout   = 3 * time.Second
	// cutWithin bounds how long after a slow client starts the server
	// must have cut it: its timeout plus a wide margin for a busy machine.
	cutWithin = 20 * time.Second
	// prompt bounds how long a normal request may take meanwhile.
	prompt = 5 * time.Second
	// drip is the pause between the bytes a slow client sends.
	drip = 100 * time.Millisecond
)

// slowClient is one connection sending its request a byte at a time.
type slowClient struct {
	conn    net.Conn
	started time.Time
	cut     chan time.Duration // when the server closed the connection
	reply   atomic.Value       // the status line the server answered, if any
}

// dial opens a slow client that sends head, a byte at a time, then body
// the same way; it stops when the server closes the connection or stop is
// closed.
func dial(t *testing.T, addr, head, body string, stop <-chan struct{}) *slowClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	c := &slowClient{conn: conn, started: time.Now(), cut: make(chan time.Duration, 1)}
	go func() { // reads until the server closes
		_ = conn.SetReadDeadline(time.Now().Add(cutWithin + 10*time.Second))
		r := bufio.NewReader(conn)
		if line, err := r.ReadString('\n'); err == nil {
			c.reply.Store(line)
		}
		_, err := io.Copy(io.Discard, r)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return // not cut: the test fails on the missing report
		}
		c.cut <- time.Since(c.started)
	}()
	go func() { // sends a byte at a time
		data := head + body
		for i := 0; i < len(data); i++ {
			select {
			case <-stop:
				return
			case <-time.After(drip):
			}
			if _, err := conn.Write([]byte{data[i]}); err != nil {
				return // cut
			}
		}
	}()
	return c
}

// requireNormalRequestsServed posts normal events every 100ms until done
// is closed and requires each to be accepted promptly; it returns how many
// were sent and the slowest answer.
func requireNormalRequestsServed(t *testing.T, s *server, done <-chan struct{}) (int, time.Duration) {
	t.Helper()
	var slowest time.Duration
	n := 0
	for {
		select {
		case <-done:
			return n, slowest
		case <-time.After(100 * time.Millisecond):
		}
		status, elapsed := s.postEvent(t, fmt.Sprintf("normal-%d", n))
		require.Equal(t, 202, status)
		require.Less(t, elapsed, prompt, "a normal request is answered promptly while slow clients hold connections")
		slowest = max(slowest, elapsed)
		n++
	}
}

// requireCut waits for every slow client to be cut by the server, within
// cutWithin of its start, and not before minimum.
func waitCut(clients []*slowClient, minimum time.Duration) (longest time.Duration, err error) {
	for i, c := range clients {
		select {
		case d := <-c.cut:
			if d < minimum {
				return longest, fmt.Errorf("client %d cut after %v, before the timeout (%v at least)", i, d, minimum)
			}
			longest = max(longest, d)
		case <-time.After(time.Until(c.started.Add(cutWithin))):
			return longest, fmt.Errorf("slow client %d was not cut within %v", i, cutWithin)
		}
	}
	return longest, nil
}

// requireCutWhileServing waits for every slow client to be cut (no
// earlier than minimum) while normal requests keep being sent and must be
// served; it returns the longest time to a cut, how many normal requests
// went through and the slowest answer. The cuts are awaited off the test
// goroutine, so they report an error rather than fail the test there.
func requireCutWhileServing(t *testing.T, s *server, clients []*slowClient, minimum time.Duration) (longest time.Duration, n int, slowest time.Duration) {
	t.Helper()
	done := make(chan struct{})
	var cutErr error
	go func() {
		defer close(done)
		longest, cutErr = waitCut(clients, minimum)
	}()
	n, slowest = requireNormalRequestsServed(t, s, done)
	<-done
	require.NoError(t, cutErr)
	return longest, n, slowest
}

// requireNotAccepted checks that no slow client's request was accepted:
// the server may say why it cut one (400), or nothing.
func requireNotAccepted(t *testing.T, clients []*slowClient) {
	t.Helper()
	for i, c := range clients {
		if reply, ok := c.reply.Load().(string); ok {
			require.NotContains(t, reply, " 202 ", "slow client %d", i)
		}
	}
}

func slowFlags() []string {
	return []string{"-read-header-timeout", headerTimeout.String(), "-read-timeout", readTimeout.String()}
}

// TestSlowlorisIsCutAndNormalRequestsGoOn holds 200 connections that send
// their headers a byte at a time; normal requests are answered promptly
// meanwhile, and the server cuts every slow connection at its header
// timeout.
func TestSlowlorisIsCutAndNormalRequestsGoOn(t *testing.T) {
	s := startServer(t, slowFlags()...)
	stop := make(chan struct{})
	defer close(stop)
	head := "POST /events?key=wk_demo HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\n" +
		"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
	var clients []*slowClient
	for range 200 {
		clients = append(clients, dial(t, s.addr, head, "", stop))
	}
	longest, n, slowest := requireCutWhileServing(t, s, clients, headerTimeout/2)
	t.Logf("%d slow clients cut after at most %v; %d normal requests meanwhile, the slowest answered in %v",
		len(clients), longest.Round(time.Millisecond), n, slowest.Round(time.Millisecond))
	require.NotZero(t, n)
	requireNotAccepted(t, clients)
	s.requireServing(t, "after-slowloris")
}

// TestSlowBodiesAreCutAndNormalRequestsGoOn holds connections that send
// complete headers, then dribble their bodies: small ones with a key, and
// ones announcing 1 MiB without a key, which must not hold the decoding
// budget for what they have not sent. Normal requests are answered
// promptly meanwhile, and the server cuts every slow body at its read
// timeout without accepting it.
func TestSlowBodiesAreCutAndNormalRequestsGoOn(t *testing.T) {
	s := startServer(t, slowFlags()...)
	stop := make(chan struct{})
	defer close(stop)
	event := `{"id":"slow","type":"page_viewed","anonymous_id":"a","properties":{"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}`
	small := fmt.Sprintf("POST /events?key=wk_demo HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(event))
	large := "POST /events HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
	var clients []*slowClient
	for i := range 200 {
		if i%2 == 0 {
			// The headers at once, then the body a byte at a time.
			c := dial(t, s.addr, "", event, stop)
			_, err := c.conn.Write([]byte(small))
			require.NoError(t, err)
			clients = append(clients, c)
		} else {
			c := dial(t, s.addr, "", "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", stop)
			_, err := c.conn.Write([]byte(large))
			require.NoError(t, err)
			clients = append(clients, c)
		}
	}
	longest, n, slowest := requireCutWhileServing(t, s, clients, readTimeout/2)
	t.Logf("%d slow bodies cut after at most %v; %d normal requests meanwhile, the slowest answered in %v",
		len(clients), longest.Round(time.Millisecond), n, slowest.Round(time.Millisecond))
	require.NotZero(t, n)
	requireNotAccepted(t, clients)
	s.requireServing(t, "after-slow-bodies")
}
