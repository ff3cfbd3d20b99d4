package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync/atomic"

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
// "postgres://user@host/db?sslmode=disable&schema=analytics". The schema
// parameter is the Store's and is removed before the URL reaches lib/pq,
// which would reject it.
func openURL(ctx context.Context, u *url.URL) (store.Store, error) {
	dsn := *u
	q := dsn.Query()
	schema := q.Get("schema")
	q.Del("schema")
	dsn.RawQuery = q.Encode()
	return New(ctx, Options{DSN: dsn.String(), Schema: schema})
}

// Store keeps events in a PostgreSQL schema. It is safe for concurrent use,
// and any number of Stores, in any number of processes, may share a schema.
type Store struct {
	db     *sqlx.DB
	owned  bool // db was opened from a DSN and is closed by Close
	schema string
	events string // quoted schema-qualified table name
	closed atomic.Bool
	// stagingBatches counts the batches still to go through staging after
	// a direct COPY met a stored key (see writeCopyDirect).
	stagingBatches atomic.Int32
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.Pinger      = (*Store)(nil)
	_ store.TypeCounter = (*Store)(nil)
)

// New connects, creates the schema and its tables or migrates them to the
// current version, and returns a ready Store. When the server cannot be
// reached the error wraps store.ErrUnavailable, so a caller may retry.
func New(ctx context.Context, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{schema: opts.Schema, events: pq.QuoteIdentifier(opts.Schema) + ".events"}
	if opts.DB != nil {
		s.db = sqlx.NewDb(opts.DB, "postgres")
	} else {
		connector, err := pq.NewConnector(opts.DSN)
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
	if s.closed.Swap(true) || !s.owned {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("pgstore: close: %w", err)
	}
	return nil
}

// fail gives err its context: the operation, and the store's sentinel by
// classify, except that a cancelled ctx reports ctx's own error and a
// closed store reports store.ErrClosed whatever the driver said.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("pgstore: %s: %w", op, ctx.Err())
	case s.closed.Load():
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("pgstore: %s: %w", op, classify(err))
}
