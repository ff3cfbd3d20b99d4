package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// DefaultBusyTimeout is how long a statement waits for another process's
// write lock when Options.BusyTimeout is zero.
const DefaultBusyTimeout = 5 * time.Second

// MemoryPath, as Options.Path, asks for a private in-memory database that
// lives as long as the Store: for tests and throw-away stores.
const MemoryPath = ":memory:"

// Options configure New. Exactly one of Path and DB is set.
type Options struct {
	// Path is the database file, created when missing. The file is opened
	// with DSN: write-ahead log, synchronous=NORMAL, a busy timeout, foreign
	// keys, and immediate transactions. MemoryPath opens a private
	// in-memory database instead.
	Path string

	// DB is a database the caller opened with the "sqlite3" driver and keeps
	// owning: Close leaves it open. Open it with DSN(path, timeout) to get
	// the settings Path would use; without _txlock=immediate, concurrent
	// writers from other processes may see "database is locked" errors.
	DB *sql.DB

	// BusyTimeout is how long a statement waits for a lock held by another
	// process before it fails with store.ErrUnavailable. Zero means
	// DefaultBusyTimeout. It applies to Path only: a caller's DB keeps the
	// settings it was opened with.
	BusyTimeout time.Duration

	// DisableRollups stops Append from keeping the hourly rollups (see
	// HourlyCounts): it then only marks the shops it wrote to as stale, and
	// their rollups are not read (analytics reads their events instead)
	// until Rebuild. The zero value keeps them, at a small cost per batch.
	DisableRollups bool
	// HourlyRollupsOnly keeps the hourly rollups (Counts, TimeSeries) but
	// not the detail ones (sessions, people, products: Stats,
	// TopProducts), which write about a row per event and cut Append's
	// throughput to about a third (see BENCHMARKS.md). Shops written to are
	// marked pending, so their Stats and TopProducts read events, until
	// Rebuild. URL parameter rollups=hourly.
	HourlyRollupsOnly bool
}

func (o *Options) validate() error {
	switch {
	case o.DisableRollups && o.HourlyRollupsOnly:
		return errors.New("Options.DisableRollups and Options.HourlyRollupsOnly are exclusive")
	case o.Path == "" && o.DB == nil:
		return errors.New("one of Options.Path and Options.DB is required")
	case o.Path != "" && o.DB != nil:
		return errors.New("Options.Path and Options.DB are exclusive")
	case o.BusyTimeout < 0:
		return fmt.Errorf("negative Options.BusyTimeout %v", o.BusyTimeout)
	case o.DB != nil && o.BusyTimeout != 0:
		return errors.New("Options.BusyTimeout applies to Options.Path only")
	}
	return nil
}

// stmtCacheSize is the prepared statements the driver keeps per connection:
// room for every text Append runs (each multi-row statement in its
// chunkLen lengths) and the readers' own.
const stmtCacheSize = 512

// DSN returns the data source name New opens for a file path: write-ahead
// log (readers never block the writer), synchronous=NORMAL (a commit does not
// wait for fsync; see the package documentation for what that risks), a busy
// timeout, foreign keys, and BEGIN IMMEDIATE for transactions, so a writer
// takes the write lock up front instead of failing on a lock upgrade, and a
// cache of prepared statements per connection (Append's rollups run a few
// dozen statement texts a batch; preparing them anew would cost about as
// much as running them). A zero busyTimeout means DefaultBusyTimeout.
//
// Callers that open their own *sql.DB for Options.DB use it to get the same
// behaviour.
func DSN(path string, busyTimeout time.Duration) string {
	if busyTimeout == 0 {
		busyTimeout = DefaultBusyTimeout
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	q.Set("_stmt_cache_size", strconv.Itoa(stmtCacheSize))
	// SQLite decodes %XX in URI file names, so a path holding '?', '#' or
	// '%' survives escaping.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}
