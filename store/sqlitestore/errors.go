package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"

	"github.com/shoplytics/shoplytics/store"
)

// classify turns driver errors into the store's sentinels (see
// store.Classify), keeping the driver's error for the message.
func classify(err error) error { return store.Classify(err, errorKind) }

// errorKind reads go-sqlite3's errors: a lock held too long, an I/O error,
// a full disk or a file that cannot be opened now is store.ErrUnavailable;
// a constraint, a type mismatch, a value too big or out of range is
// store.ErrInvalid; database/sql losing the connection is
// store.ErrUnavailable.
func errorKind(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrIoErr, sqlite3.ErrFull,
			sqlite3.ErrCantOpen, sqlite3.ErrNomem, sqlite3.ErrProtocol:
			return store.ErrUnavailable
		case sqlite3.ErrConstraint, sqlite3.ErrMismatch, sqlite3.ErrTooBig, sqlite3.ErrRange:
			return store.ErrInvalid
		}
		return nil
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return store.ErrUnavailable
	}
	return nil
}

// fail classifies the error of a call made with ctx. A cancelled or
// expired ctx wins over what the driver made of the interruption.
func fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	return classify(err)
}
