package pgstore

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/lib/pq"
)

// connector opens lib/pq connections through a dialer and wraps each in a
// watchedConn, so that the context of every call can close its connection.
type connector struct {
	pq *pq.Connector
}

// newConnector returns a connector for cfg dialing through d.
func newConnector(cfg pq.Config, d *dialer) (*connector, error) {
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.Dialer(d)
	return &connector{pq: c}, nil
}

// Connect implements driver.Connector. lib/pq bounds the handshake by
// connect_timeout alone; ctx ending closes the socket too, so a caller
// waiting for a new connection to a stalled server gets its answer when
// ctx says.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	s := &socket{}
	stop := context.AfterFunc(ctx, s.kill)
	dc, err := c.pq.Connect(context.WithValue(ctx, socketKey{}, s))
	if !stop() {
		s.kill() // the close may not have landed yet: it will find it dead
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, errors.Join(ctx.Err(), err)
		}
		return nil, err
	}
	if s.dead() {
		_ = dc.Close()
		return nil, errors.Join(ctx.Err(), driver.ErrBadConn)
	}
	return &watchedConn{Conn: dc, sock: s}, nil
}

// Driver implements driver.Connector.
func (c *connector) Driver() driver.Driver { return c.pq.Driver() }
