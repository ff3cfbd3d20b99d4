package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
)

func init() {
	for _, scheme := range []string{"postgres", "postgresql"} {
		store.Register(scheme, openURL)
	}
}

// openURL opens a Store from a URL such as
// "postgres://user@host/db?sslmode=disable&schema=analytics". The Store's
// own parameters (see the package documentation) are removed before the
// URL reaches lib/pq, which would send them to the server as settings.
func openURL(ctx context.Context, u *url.URL) (store.Store, error) {
	dsn := *u
	q := dsn.Query()
	opts := Options{Schema: q.Get("schema")}
	q.Del("schema")
	if q.Has("rollups") {
		switch v := q.Get("rollups"); v {
		case "on":
		case "off":
			opts.DisableRollups = true
		case "hourly":
			opts.HourlyRollupsOnly = true
		default:
			return nil, fmt.Errorf("pgstore: url: rollups %q is none of on, hourly and off", v)
		}
		q.Del("rollups")
	}
	params := []struct {
		name  string
		parse func(n int)
	}{
		{"max_conns", func(n int) { opts.MaxConns = n }},
		{"max_read_conns", func(n int) { opts.MaxReadConns = n }},
		// libpq's names and units: milliseconds, 0 for the system's.
		{"tcp_user_timeout", func(n int) {
			opts.UserTimeout = time.Duration(n) * time.Millisecond
			if n == 0 {
				opts.UserTimeout = -1
			}
		}},
		// 0 turns keepalive probes off.
		{"keepalives", func(n int) {
			if n == 0 {
				opts.KeepAlive = -1
			}
		}},
		// Seconds.
		{"keepalives_idle", func(n int) {
			if opts.KeepAlive == 0 {
				opts.KeepAlive = time.Duration(n) * time.Second
			}
		}},
	}
	for _, p := range params {
		if !q.Has(p.name) {
			continue
		}
		v := q.Get(p.name)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("pgstore: url: %s %q is not a whole number of at least 0", p.name, v)
		}
		p.parse(n)
		q.Del(p.name)
	}
	dsn.RawQuery = q.Encode()
	opts.DSN = dsn.String()
	return New(ctx, opts)
}

// Store keeps events in a PostgreSQL schema. It is safe for concurrent use,
// and any number of Stores, in any number of processes, may share a schema.
type Store struct {
	db     *sqlx.DB
	owned  bool // db was opened from a DSN and is closed by Close
	schema string
	events string // quoted schema-qualified table names
	hourly string
	stale  string
	// noRollups is Options.DisableRollups, hourlyOnly
	// Options.HourlyRollupsOnly.
	noRollups, hourlyOnly bool
	closed                atomic.Bool
	// reads holds a token per connection a read holds (Options.MaxReadConns);
	// nil when reads are not limited.
	reads chan struct{}
	// stagingBatches counts the batches still to go through staging after
	// a direct COPY met a stored key (see writeCopyDirect).
	stagingBatches atomic.Int32
	// stmts holds the prepared statements of the rollup writes, by query
	// text (see prepareRollups).
	stmts sync.Map
	// slots are the rollup slots of the appends in progress.
	slots *slots
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.Pinger      = (*Store)(nil)
	_ store.TypeCounter = (*Store)(nil)

	_ store.HourlyReader    = (*Store)(nil)
	_ store.RollupRebuilder = (*Store)(nil)
	_ store.SessionReader   = (*Store)(nil)
	_ store.PeopleReader    = (*Store)(nil)
	_ store.ProductReader   = (*Store)(nil)
)

// New connects, creates the schema and its tables or migrates them to the
// current version, and returns a ready Store. When the server cannot be
// reached the error wraps store.ErrUnavailable, so a caller may retry.
func New(ctx context.Context, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	q := pq.QuoteIdentifier(opts.Schema)
	s := &Store{schema: opts.Schema, events: q + ".events", hourly: q + ".hourly_rollups", stale: q + ".rollup_stale",
		noRollups: opts.DisableRollups, hourlyOnly: opts.HourlyRollupsOnly, slots: newSlots()}
	if opts.MaxReadConns > 0 {
		s.reads = make(chan struct{}, opts.MaxReadConns)
	}
	if opts.DB != nil {
		s.db = sqlx.NewDb(opts.DB, "postgres")
	} else {
		cfg, err := pq.NewConfig(opts.DSN)
		if err != nil {
			return nil, fmt.Errorf("pgstore: dsn: %w", dsnError(opts.DSN, err))
		}
		switch {
		case opts.ConnectTimeout > 0:
			cfg.ConnectTimeout = opts.ConnectTimeout
		case cfg.ConnectTimeout <= 0:
			cfg.ConnectTimeout = DefaultConnectTimeout
		}
		connector, err := newConnector(cfg, newDialer(opts.KeepAlive, opts.UserTimeout))
		if err != nil {
			return nil, fmt.Errorf("pgstore: dsn: %w", dsnError(opts.DSN, err))
		}
		db := sql.OpenDB(connector)
		db.SetMaxOpenConns(opts.MaxConns)
		db.SetMaxIdleConns(opts.MaxConns)
		s.db, s.owned = sqlx.NewDb(db, "postgres"), true
	}
	if err := migrate(ctx, s.db, s.schema); err != nil {
		if s.owned {
			_ = s.db.Close()
		}
		return nil, s.fail(ctx, "migrate", err)
	}
	if err := s.prepareRollups(ctx); err != nil {
		_ = s.Close()
		return nil, s.fail(ctx, "prepare", err)
	}
	return s, nil
}

// Schema returns the schema that holds the Store's tables.
func (s *Store) Schema() string { return s.schema }

// Ping implements store.Pinger: it checks the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: ping: %w", store.ErrClosed)
	}
	return s.fail(ctx, "ping", s.db.PingContext(ctx))
}

// Close marks the Store closed and closes the pool it opened itself; a pool
// passed in Options.DB stays open. Closing twice is harmless.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.closeStmts()
	if !s.owned {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("pgstore: close: %w", err)
	}
	return nil
}

// acquireRead takes a share of the pool for a read, waiting while
// MaxReadConns reads run; the returned func gives it back.
func (s *Store) acquireRead(ctx context.Context) (release func(), err error) {
	if s.reads == nil {
		return func() {}, nil
	}
	select {
	case s.reads <- struct{}{}:
		return func() { <-s.reads }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fail gives err its context: the operation, and the store's sentinel by
// classify, except that a cancelled ctx reports ctx's own error, a ctx past
// its deadline store.ErrUnavailable and ctx's error (the server did not
// answer in time; retrying may succeed), and a closed store
// store.ErrClosed whatever the driver said.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("pgstore: %s: %w: %w", op, store.ErrUnavailable, ctx.Err())
	case ctx.Err() != nil:
		return fmt.Errorf("pgstore: %s: %w", op, ctx.Err())
	case s.closed.Load():
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("pgstore: %s: %w", op, classify(err))
}

// exec runs one statement of a keeper (checkpoints, insights) that
// returns no rows.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) error {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrClosed)
	}
	_, err := s.db.ExecContext(ctx, query, args...)
	return s.fail(ctx, op, err)
}
