package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

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
