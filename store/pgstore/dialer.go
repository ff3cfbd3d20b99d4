package pgstore

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// socketKey is the context key under which connector.Connect hands the
// dialer the socket to record its connection in.
type socketKey struct{}

// dialer makes lib/pq's TCP connections with keepalive probes and a TCP
// user timeout, so that a peer gone silent is noticed by the kernel even
// when no context ends, and records each connection in the socket the
// context carries. lib/pq also dials through it to send cancel requests;
// those contexts carry no socket.
type dialer struct {
	net net.Dialer
}

// newDialer returns a dialer with keepalive probes every keepAlive (none
// when negative) and TCP_USER_TIMEOUT userTimeout (the system's when
// negative; Linux only).
func newDialer(keepAlive, userTimeout time.Duration) *dialer {
	d := &dialer{}
	if keepAlive > 0 {
		d.net.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: keepAlive, Interval: keepAlive, Count: keepAliveProbes}
	} else {
		d.net.KeepAlive = -1
	}
	if userTimeout > 0 {
		d.net.Control = func(network, _ string, rc syscall.RawConn) error {
			if network != "tcp" && network != "tcp4" && network != "tcp6" {
				return nil
			}
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = setUserTimeout(fd, userTimeout) }); err != nil {
				return err
			}
			return serr
		}
	}
	return d
}

// keepAliveProbes is how many unanswered keepalive probes end a connection.
const keepAliveProbes = 3

// Dial implements pq.Dialer.
func (d *dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout implements pq.Dialer.
func (d *dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext implements pq.DialerContext.
func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.net.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if s, ok := ctx.Value(socketKey{}).(*socket); ok && !s.attach(c) {
		return nil, errors.Join(net.ErrClosed, context.Cause(ctx))
	}
	return c, nil
}
