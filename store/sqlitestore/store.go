package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver

	"github.com/shoplytics/shoplytics/store"
)

func init() {
	store.Register("sqlite", openURL)
}

// Store keeps events in one SQLite database. It is safe for concurrent use;
// see the package documentation for what it guarantees.
type Store struct {
	db    *sqlx.DB
	owned bool      // db was opened by New: Close closes it
	pin   *sql.Conn // keeps an in-memory database alive; nil for files

	// writer is a one-slot semaphore: SQLite has one writer per database,
	// and waiting here (honouring ctx) is cheaper than busy-waiting on the
	// file lock.
	writer chan struct{}
	// insertStmt is insertSQL, prepared once.
	insertStmt *sql.Stmt
	// noRollups is Options.DisableRollups, hourlyOnly
	// Options.HourlyRollupsOnly.
	noRollups, hourlyOnly bool
	// busyTimeout is Options.BusyTimeout, or its default.
	busyTimeout time.Duration

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Compile-time checks of the optional capabilities.
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

// New opens the store described by opts and brings its schema up to date.
func New(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	s := &Store{writer: make(chan struct{}, 1), noRollups: opts.DisableRollups, hourlyOnly: opts.HourlyRollupsOnly, busyTimeout: opts.BusyTimeout}
	if s.busyTimeout == 0 {
		s.busyTimeout = DefaultBusyTimeout
	}
	if opts.DB != nil {
		s.db = sqlx.NewDb(opts.DB, "sqlite3")
	} else {
		dsn := DSN(opts.Path, opts.BusyTimeout)
		if opts.Path == MemoryPath {
			// memdb shares one database between the pool's connections
			// (":memory:" would give each its own); the leading '/' makes
			// the name shared and the random part keeps it private.
			var b [8]byte
			_, _ = rand.Read(b[:])
			dsn = DSN("/shoplytics-"+hex.EncodeToString(b[:]), opts.BusyTimeout) + "&vfs=memdb"
		}
		db, err := sqlx.Open("sqlite3", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: open %s: %w", opts.Path, err)
		}
		s.db, s.owned = db, true
		if opts.Path == MemoryPath {
			if s.pin, err = db.Conn(ctx); err != nil {
				_ = db.Close()
				return nil, fmt.Errorf("sqlitestore: open %s: %w", opts.Path, fail(ctx, err))
			}
		}
	}
	if err := s.init(ctx); err != nil {
		_ = s.Close()
		if opts.DB == nil && opts.Path != MemoryPath && ctx.Err() == nil {
			// SQLite says only "unable to open database file": name the
			// path and the reason.
			if cause := diagnose(opts.Path); cause != nil {
				return nil, fmt.Errorf("sqlitestore: open %s: %w", opts.Path, cause)
			}
		}
		return nil, err
	}
	return s, nil
}

// diagnose looks for why the database file at path cannot be opened for
// writing: a missing directory, a path that is a directory, no permission
// to write the file or to create files (the database, its write-ahead log)
// in its directory. It returns nil when it finds nothing wrong.
func diagnose(path string) error {
	dir := filepath.Dir(path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: %w", dir, fs.ErrNotExist)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return errors.New("it is a directory")
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return causeOf(err)
		}
		_ = f.Close()
	}
	probe, err := os.CreateTemp(dir, ".sqlitestore-probe-*")
	if err != nil {
		return fmt.Errorf("cannot create files in directory %s: %w", dir, causeOf(err))
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return nil
}

// causeOf is the reason of a *fs.PathError without the path, which the
// caller's message names already.
func causeOf(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// init brings the schema up to date and prepares the INSERT.
func (s *Store) init(ctx context.Context) error {
	if err := migrate(ctx, s.db, s.busyTimeout); err != nil {
		return err
	}
	st, err := s.db.PrepareContext(ctx, insertSQL)
	if err != nil {
		return fmt.Errorf("sqlitestore: open: %w", fail(ctx, err))
	}
	s.insertStmt = st
	return nil
}

// openURL opens "sqlite://relative/path.db", "sqlite:///absolute/path.db" or
// "sqlite://:memory:"; the query may set busy_timeout (a Go duration) and
// rollups (on, the default; hourly: Options.HourlyRollupsOnly; or off:
// Options.DisableRollups).
func openURL(ctx context.Context, u *url.URL) (store.Store, error) {
	path := u.Host + u.Path
	if u.Opaque != "" { // "sqlite:relative.db"
		path = u.Opaque
	}
	if path == "" {
		return nil, fmt.Errorf("sqlitestore: url %q names no file", u.Redacted())
	}
	opts := Options{Path: path}
	for k, v := range u.Query() {
		switch k {
		case "busy_timeout":
			d, err := time.ParseDuration(v[len(v)-1])
			if err != nil {
				return nil, fmt.Errorf("sqlitestore: url: busy_timeout: %w", err)
			}
			opts.BusyTimeout = d
		case "rollups":
			switch v[len(v)-1] {
			case "on":
			case "off":
				opts.DisableRollups = true
			case "hourly":
				opts.HourlyRollupsOnly = true
			default:
				return nil, fmt.Errorf("sqlitestore: url: rollups %q is none of on, hourly and off", v[len(v)-1])
			}
		default:
			return nil, fmt.Errorf("sqlitestore: url: unknown parameter %q", k)
		}
	}
	return New(ctx, opts)
}

// DB returns the database the store writes to, for queries the store does
// not offer (analytics pushdown). The store owns it unless it came from
// Options.DB.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping implements store.Pinger.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: ping: %w", store.ErrClosed)
	}
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlitestore: ping: %w", fail(ctx, err))
	}
	return nil
}

// Close implements store.Store. It waits for a running Append to finish,
// releases the prepared statement and closes the database if New opened
// it. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.writer <- struct{}{} // no Append runs from here on
		for _, st := range []*sql.Stmt{s.insertStmt} {
			if st != nil {
				_ = st.Close()
			}
		}
		if s.pin != nil {
			_ = s.pin.Close()
		}
		if s.owned {
			s.closeErr = s.db.Close()
		}
		<-s.writer // an Append waiting for the slot now sees closed
	})
	if s.closeErr != nil {
		return fmt.Errorf("sqlitestore: close: %w", s.closeErr)
	}
	return nil
}

// write runs fn with the writer slot held, classifying its error.
func (s *Store) write(ctx context.Context, op string, fn func() error) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: %s: %w", op, store.ErrClosed)
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlitestore: %s: %w", op, ctx.Err())
	}
	defer func() { <-s.writer }()
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: %s: %w", op, store.ErrClosed)
	}
	if err := fn(); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, fail(ctx, err))
	}
	return nil
}

// exec runs one statement through write.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) error {
	return s.write(ctx, op, func() error {
		_, err := s.db.ExecContext(ctx, query, args...)
		return err
	})
}
