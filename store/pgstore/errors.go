package pgstore

import (
	"context"
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

// interpretError is the one place that turns driver and network errors into
// the store's sentinels, so callers (the ingester's retry loop above all)
// decide with errors.Is alone:
//
//   - the server cannot be reached, is shutting down, is out of connections
//     or resources, or aborted a transaction for a conflict (serialization
//     failure, deadlock): store.ErrUnavailable, retrying may succeed;
//   - the data were refused (a data exception or a constraint): store.ErrInvalid;
//   - context errors are returned as they are.
//
// Anything else (a syntax error, missing privileges) is a bug or a
// misconfiguration and is returned unchanged. The original error stays in the
// chain for errors.As.
func interpretError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrClosed) {
		return err
	}
	if pqErr, ok := errors.AsType[*pq.Error](err); ok {
		switch code := pqErr.Code; {
		case code.Class() == pqerror.ClassConnectionException,
			code.Class() == pqerror.ClassInsufficientResources, // includes too_many_connections
			code == pqerror.AdminShutdown, code == pqerror.CrashShutdown, code == pqerror.CannotConnectNow,
			code == pqerror.TRSerializationFailure, code == pqerror.TRDeadlockDetected,
			code == pqerror.ReadOnlySQLTransaction: // a standby, until failover promotes it
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		case code.Class() == pqerror.ClassDataException,
			code.Class() == pqerror.ClassIntegrityConstraintViolation:
			return fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
		return err
	}
	if store.ConnectionLost(err) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
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
