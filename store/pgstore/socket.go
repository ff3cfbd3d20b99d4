package pgstore

import (
	"net"
	"sync"
)

// socket is the network connection under one driver connection, as the
// dialer made it, so that a context ending can close it (see watchedConn).
// lib/pq answers a cancelled context by asking the server, over a second
// connection, to cancel the query, and keeps reading the first: when the
// server or the network stalls, neither ever answers. Closing the socket
// makes the blocked read or write fail at once, and lib/pq then marks the
// connection bad, so database/sql discards it.
type socket struct {
	mu     sync.Mutex
	conn   net.Conn // nil until dialed
	killed bool
}

// attach records c as the socket's connection; when the socket was killed
// while dialing, c is closed at once and attach reports false.
func (s *socket) attach(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed {
		_ = c.Close()
		return false
	}
	s.conn = c
	return true
}

// kill closes the connection for good, now or as soon as it is dialed.
func (s *socket) kill() {
	s.mu.Lock()
	s.killed = true
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// dead reports whether kill was called.
func (s *socket) dead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.killed
}
