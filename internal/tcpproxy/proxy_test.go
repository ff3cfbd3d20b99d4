package tcpproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers every line with the same line, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T) *Proxy {
	t.Helper()
	p, err := New(echoServer(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip sends line and reads the echo within d.
func roundTrip(c net.Conn, line string, d time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(d)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return got, err
}

func TestPassForwardsBothWays(t *testing.T) {
	p := newProxy(t)
	got, err := roundTrip(dial(t, p), "hello", 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, "hello\n", got)
}

func TestStallHoldsBytesOfOpenAndNewConnectionsUntilPass(t *testing.T) {
	p := newProxy(t)
	open := dial(t, p)
	_, err := roundTrip(open, "before", 5*time.Second)
	require.NoError(t, err)

	p.Stall()
	fresh := dial(t, p) // accepted while stalled
	for _, c := range []net.Conn{open, fresh} {
		_, err := roundTrip(c, "during", 300*time.Millisecond)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing comes back while stalled")
	}

	p.Pass()
	for _, c := range []net.Conn{open, fresh} {
		require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
		got, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "during\n", got, "what was held arrives after Pass")
	}
}

func TestDownResetsOpenConnectionsAndRefusesNewOnes(t *testing.T) {
	p := newProxy(t)
	open := dial(t, p)
	_, err := roundTrip(open, "before", 5*time.Second)
	require.NoError(t, err)

	p.Down()
	_, err = roundTrip(open, "after", 5*time.Second)
	require.Error(t, err)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the connection ends at once: %v", err)

	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err == nil {
		defer c.Close()
		_, err = roundTrip(c, "new", 5*time.Second)
	}
	require.Error(t, err)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "a new connection ends at once: %v", err)

	p.Pass()
	got, err := roundTrip(dial(t, p), "back", 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, "back\n", got)
}

func TestDownEndsStalledConnections(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p)
	p.Stall()
	done := make(chan error, 1)
	go func() {
		_, err := roundTrip(c, "held", 10*time.Second)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	p.Down()
	select {
	case err := <-done:
		require.Error(t, err)
		require.False(t, errors.Is(err, os.ErrDeadlineExceeded))
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled connection outlived Down")
	}
}

func TestCloseEndsEverything(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p)
	p.Stall()
	start := time.Now()
	require.NoError(t, p.Close())
	require.Less(t, time.Since(start), 5*time.Second, "Close does not wait for stalled links")
	require.NoError(t, p.Close(), "closing twice is harmless")
	_, err := roundTrip(c, "x", 5*time.Second)
	require.Error(t, err)
	_, err = net.DialTimeout("tcp", p.Addr(), time.Second)
	require.Error(t, err, "nothing listens after Close")
}
