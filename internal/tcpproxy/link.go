package tcpproxy

import (
	"net"
	"sync"
)

// link is one proxied connection: the client's and the proxy's own to the
// target.
type link struct {
	client, server net.Conn
	ended          chan struct{} // closed when the link ends
	once           sync.Once
}

func newLink(client, server net.Conn) *link {
	return &link{client: client, server: server, ended: make(chan struct{})}
}

// close ends both connections.
func (l *link) close() {
	l.once.Do(func() {
		close(l.ended)
		_ = l.client.Close()
		_ = l.server.Close()
	})
}

// reset ends both connections with a TCP reset, as a server that went away
// leaves its clients.
func (l *link) reset() {
	l.once.Do(func() {
		close(l.ended)
		resetConn(l.client)
		resetConn(l.server)
	})
}

// resetConn closes c so that its peer gets a reset rather than an orderly end.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
