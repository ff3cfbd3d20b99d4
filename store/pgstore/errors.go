package pgstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/shoplytics/shoplytics/store"
)

// classify turns driver and network errors into the store's sentinels
// (see store.Classify), so callers (the ingester's retry loop above all)
// decide with errors.Is alone.
func classify(err error) error { return store.Classify(err, errorKind) }

// errorKind reads lib/pq's errors:
//
//   - the server cannot be reached, is shutting down, is out of connections
//     or resources, or aborted a transaction for a conflict (serialization
//     failure, deadlock), or database/sql lost the connection:
//     store.ErrUnavailable, retrying may succeed;
//   - the data were refused (a data exception or a constraint): store.ErrInvalid.
//
// Anything else (a syntax error, missing privileges) is a bug or a
// misconfiguration: nil, and the error is returned unchanged.
func errorKind(err error) error {
	if pqErr, ok := errors.AsType[*pq.Error](err); ok {
		switch code := pqErr.Code; {
		case code.Class() == pqerror.ClassConnectionException,
			code.Class() == pqerror.ClassInsufficientResources, // includes too_many_connections
			code == pqerror.AdminShutdown, code == pqerror.CrashShutdown, code == pqerror.CannotConnectNow,
			code == pqerror.TRSerializationFailure, code == pqerror.TRDeadlockDetected,
			code == pqerror.ReadOnlySQLTransaction: // a standby, until failover promotes it
			return store.ErrUnavailable
		case code.Class() == pqerror.ClassDataException,
			code.Class() == pqerror.ClassIntegrityConstraintViolation:
			return store.ErrInvalid
		}
		return nil
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return store.ErrUnavailable
	}
	return nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation:
// a key of the batch is already stored.
func isUniqueViolation(err error) bool {
	pqErr, ok := errors.AsType[*pq.Error](err)
	return ok && pqErr.Code == pqerror.UniqueViolation
}

// passwordSetting finds the password of a key=value connection string.
var passwordSetting = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// dsnError is the error lib/pq gave for dsn, told without the password it
// may quote: a URL that does not parse is described by store.ParseURL
// alone, and the password of a URL or of a key=value string is masked in
// what lib/pq said. The DSN is the caller's configuration, so the error
// wraps store.ErrInvalid.
func dsnError(dsn string, err error) error {
	msg := err.Error()
	if strings.Contains(dsn, "://") {
		u, perr := store.ParseURL(dsn)
		if perr != nil {
			return perr
		}
		msg = store.RedactSecret(msg, u)
		if pw := u.Query().Get("password"); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	for _, m := range passwordSetting.FindAllStringSubmatch(dsn, -1) {
		for _, v := range []string{m[1], strings.Trim(m[1], "'")} {
			if v != "" {
				msg = strings.ReplaceAll(msg, v, "xxxxx")
			}
		}
	}
	return fmt.Errorf("%w: %s", store.ErrInvalid, msg)
}
