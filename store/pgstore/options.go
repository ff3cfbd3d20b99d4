package pgstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultSchema is the schema a Store uses when Options.Schema is empty.
const DefaultSchema = "shoplytics"

// DefaultMaxConns is the pool size of a Store that opens its own database
// handle when Options.MaxConns is zero.
const DefaultMaxConns = 10

// DefaultConnectTimeout bounds opening a connection (TCP connect, TLS,
// startup and authentication) when neither Options.ConnectTimeout nor the
// DSN's connect_timeout says otherwise. lib/pq alone would wait for ever.
const DefaultConnectTimeout = 5 * time.Second

// DefaultKeepAlive is the idle time before the first TCP keepalive probe,
// and the time between probes, when Options.KeepAlive is zero; three
// unanswered probes end the connection, so a silent peer of an idle
// connection is found within a minute.
const DefaultKeepAlive = 15 * time.Second

// DefaultUserTimeout is the TCP user timeout (TCP_USER_TIMEOUT, Linux) when
// Options.UserTimeout is zero: how long data sent may stay unacknowledged
// before the kernel ends the connection, instead of retransmitting for
// about 15 minutes.
const DefaultUserTimeout = 30 * time.Second

// Options configure a Store. Exactly one of DSN and DB is set.
type Options struct {
	// DSN is a lib/pq connection string ("postgres://user@host/db?sslmode=disable"
	// or "host=... dbname=..."). The Store opens its own pool and closes it
	// in Close.
	DSN string

	// DB is a pool the caller owns, for applications that already hold one
	// (pass sqlxDB.DB for an *sqlx.DB). It must use the lib/pq driver. The
	// Store never closes it.
	DB *sql.DB

	// Schema holds the Store's tables; it is created if missing. Several
	// Stores, in one process or many, may share a schema. Empty means
	// DefaultSchema. It is an unquoted identifier: a letter or underscore,
	// then letters, digits or underscores, at most 63 bytes, lower case.
	Schema string

	// MaxConns caps the pool a Store opens from DSN (it sets both the open
	// and the idle limit, so busy appenders do not reconnect). Zero means
	// DefaultMaxConns. It may not be set together with DB: the caller sizes
	// its own pool.
	MaxConns int

	// MaxReadConns is how many connections reads (Events, CountByType) may
	// hold at once; a read waits for a free share, or for its context to
	// end, before it takes a connection. The rest of the pool stays for
	// Append and Ping, so slow or stuck readers (an export to a client that
	// stopped reading) never starve the writers or the health check. An
	// Events read holds its share until its loop ends. Zero means half the
	// pool, at least one: half of MaxConns, or of the open limit of a pool
	// passed in DB (no limit when that pool has none). It may not exceed
	// the pool.
	MaxReadConns int

	// ConnectTimeout bounds opening a connection: TCP connect, TLS, startup
	// and authentication. Zero means the DSN's connect_timeout when it sets
	// one, else DefaultConnectTimeout. Not with DB.
	ConnectTimeout time.Duration

	// KeepAlive is the idle time before the first TCP keepalive probe and
	// between probes (three unanswered probes end the connection). Zero
	// means DefaultKeepAlive; negative sends no probes. Not with DB.
	KeepAlive time.Duration

	// UserTimeout is TCP_USER_TIMEOUT (Linux; ignored elsewhere): how long
	// data sent may stay unacknowledged before the kernel ends the
	// connection. Zero means DefaultUserTimeout; negative keeps the
	// system's. Not with DB.
	UserTimeout time.Duration

	// DisableRollups stops Append from keeping the hourly rollups (see
	// HourlyCounts): it then only marks the shops it wrote to as stale, and
	// their rollups are not read (analytics reads their events instead)
	// until Rebuild. The zero value keeps them, in each batch's
	// transaction.
	DisableRollups bool
	// HourlyRollupsOnly keeps the hourly rollups (Counts, TimeSeries) but
	// not the detail ones (sessions, people, products: Stats,
	// TopProducts), which write about a row per event and cut Append's
	// throughput to about a third (see BENCHMARKS.md). Shops written to are
	// marked pending, so their Stats and TopProducts read events, until
	// Rebuild. URL parameter rollups=hourly.
	HourlyRollupsOnly bool
}

// withDefaults validates o and fills in the documented defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.DisableRollups && o.HourlyRollupsOnly:
		return o, errors.New("pgstore: Options.DisableRollups and Options.HourlyRollupsOnly are exclusive")
	case o.DSN == "" && o.DB == nil:
		return o, errors.New("pgstore: options: one of DSN and DB is required")
	case o.DSN != "" && o.DB != nil:
		return o, errors.New("pgstore: options: DSN and DB are exclusive")
	case o.MaxConns < 0:
		return o, fmt.Errorf("pgstore: options: negative MaxConns %d", o.MaxConns)
	case o.MaxConns != 0 && o.DB != nil:
		return o, errors.New("pgstore: options: MaxConns applies only to a pool opened from DSN")
	case o.MaxReadConns < 0:
		return o, fmt.Errorf("pgstore: options: negative MaxReadConns %d", o.MaxReadConns)
	case o.ConnectTimeout < 0:
		return o, fmt.Errorf("pgstore: options: negative ConnectTimeout %v", o.ConnectTimeout)
	case o.DB != nil && (o.ConnectTimeout != 0 || o.KeepAlive != 0 || o.UserTimeout != 0):
		return o, errors.New("pgstore: options: ConnectTimeout, KeepAlive and UserTimeout apply only to a pool opened from DSN")
	case o.UserTimeout > 0 && o.UserTimeout < time.Millisecond:
		return o, fmt.Errorf("pgstore: options: UserTimeout %v is under a millisecond", o.UserTimeout)
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if !validSchema(o.Schema) {
		return o, fmt.Errorf("pgstore: options: schema %q is not a lower-case identifier of at most 63 bytes", o.Schema)
	}
	pool := o.MaxConns
	if o.DB != nil {
		pool = o.DB.Stats().MaxOpenConnections // 0: no limit
	} else if pool == 0 {
		o.MaxConns, pool = DefaultMaxConns, DefaultMaxConns
	}
	switch {
	case pool > 0 && o.MaxReadConns > pool:
		return o, fmt.Errorf("pgstore: options: MaxReadConns %d exceeds the pool of %d", o.MaxReadConns, pool)
	case o.MaxReadConns == 0 && pool > 0:
		o.MaxReadConns = max(1, pool/2)
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.UserTimeout == 0 {
		o.UserTimeout = DefaultUserTimeout
	}
	return o, nil
}

// validSchema keeps schema names to identifiers that need no quoting, so the
// name a user writes in psql is the name the Store uses.
func validSchema(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
