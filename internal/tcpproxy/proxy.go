// Package tcpproxy is a TCP proxy for tests that need a server to fail in
// ways a test cannot ask of the real one: gone (connections reset, new ones
// refused) or stalled (connections open, no byte flowing either way), and
// back again, without stopping the server other tests share.
//
//	p, err := tcpproxy.New(serverAddr)
//	// connect to p.Addr() instead of the server
//	p.Stall() // queries hang as on a partitioned network
//	p.Pass()  // and flow again
package tcpproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// mode is what the proxy does with connections.
type mode int

const (
	passing mode = iota
	stalled
	down
)

// Proxy forwards connections made to Addr to its target. Its methods are
// safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	mode  mode
	flow  chan struct{} // closed when a stall ends; replaced by Stall
	links map[*link]struct{}
	done  bool
}

// dialTimeout bounds the proxy's own connection to the target.
const dialTimeout = 5 * time.Second

// New listens on a free port of 127.0.0.1 and forwards what it accepts to
// target (host:port). The proxy starts passing bytes.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tcpproxy: listen: %w", err)
	}
	p := &Proxy{target: target, ln: ln, flow: make(chan struct{}), links: map[*link]struct{}{}}
	close(p.flow)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port clients connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Pass forwards bytes both ways, on new connections and on stalled ones,
// which resume with what they held.
func (p *Proxy) Pass() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == stalled {
		close(p.flow)
	}
	p.mode = passing
}

// Stall stops forwarding bytes in both directions while keeping every
// connection open, as a hung server or a partitioned network does: a
// client's writes are accepted until the buffers fill and its reads wait.
// New connections are accepted, and stall too.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != stalled {
		p.flow = make(chan struct{})
	}
	p.mode = stalled
}

// Down resets every open connection and refuses new ones (they are
// accepted and reset at once), as a server that went away does.
func (p *Proxy) Down() {
	p.mu.Lock()
	if p.mode == stalled {
		close(p.flow)
	}
	p.mode = down
	links := p.takeLinksLocked()
	p.mu.Unlock()
	for _, l := range links {
		l.reset()
	}
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines to end. Closing twice is harmless.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return nil
	}
	p.done = true
	if p.mode == stalled {
		close(p.flow)
	}
	links := p.takeLinksLocked()
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range links {
		l.reset()
	}
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("tcpproxy: close: %w", err)
	}
	return nil
}

func (p *Proxy) takeLinksLocked() []*link {
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	clear(p.links)
	return links
}

// waitFlow blocks while the proxy stalls and reports whether bytes may
// flow: false once the proxy is down or closed, or the link ended.
func (p *Proxy) waitFlow(l *link) bool {
	for {
		p.mu.Lock()
		m, flow, done := p.mode, p.flow, p.done
		p.mu.Unlock()
		switch {
		case done || m == down:
			return false
		case m == passing:
			return true
		}
		select {
		case <-flow:
		case <-l.ended:
			return false
		}
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient accept error (too many files): go on
		}
		p.mu.Lock()
		refuse := p.done || p.mode == down
		p.mu.Unlock()
		if refuse {
			resetConn(c)
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve connects client to the target and forwards both ways until either
// side ends or the proxy resets the link.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		resetConn(client)
		return
	}
	l := newLink(client, server)
	p.mu.Lock()
	if p.done || p.mode == down {
		p.mu.Unlock()
		l.reset()
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.forward(l, server, client) }()
	go func() { defer wg.Done(); p.forward(l, client, server) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
	l.close()
}

// forward copies src to dst, holding each chunk read while the proxy
// stalls. When src ends, dst is closed for writing so the other side sees
// the end too; any error ends the whole link.
func (p *Proxy) forward(l *link, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitFlow(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				l.close()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
					return
				}
			}
			l.close()
			return
		}
	}
}
