package pgstore

import (
	"database/sql"
	"errors"
	"fmt"
)

// DefaultSchema is the schema a Store uses when Options.Schema is empty.
const DefaultSchema = "shoplytics"

// DefaultMaxConns is the pool size of a Store that opens its own database
// handle when Options.MaxConns is zero.
const DefaultMaxConns = 10

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
}

// withDefaults validates o and fills in the documented defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.DSN == "" && o.DB == nil:
		return o, errors.New("pgstore: options: one of DSN and DB is required")
	case o.DSN != "" && o.DB != nil:
		return o, errors.New("pgstore: options: DSN and DB are exclusive")
	case o.MaxConns < 0:
		return o, fmt.Errorf("pgstore: options: negative MaxConns %d", o.MaxConns)
	case o.MaxConns != 0 && o.DB != nil:
		return o, errors.New("pgstore: options: MaxConns applies only to a pool opened from DSN")
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if !validSchema(o.Schema) {
		return o, fmt.Errorf("pgstore: options: schema %q is not a lower-case identifier of at most 63 bytes", o.Schema)
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
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
