package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"syscall"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// Store keeps events. Implementations are safe for concurrent use.
type Store interface {
	// Append stores a batch of normalised events. It is idempotent on
	// (ShopID, ID): an event whose key is already stored, or appears earlier
	// in the same batch, is skipped and reported as a duplicate, so
	// retrying a failed batch is always safe. The SQL backends store a batch
	// in one transaction (all or, with an error, none); a backend that
	// cannot (the Redis stream writes chunk by chunk) documents it, and a
	// retry then reports the part already stored as duplicates. Append does
	// not validate; callers pass events that went through
	// tracking.Normalize.
	Append(ctx context.Context, events []tracking.Event) (AppendResult, error)

	// Events yields the events matching f ordered by Timestamp, then ID. The
	// sequence streams from the backend; memory does not grow with the
	// number of events. Iteration stops at the first error, which is
	// yielded with a zero Event. Cancelling ctx ends the query.
	Events(ctx context.Context, f Filter) iter.Seq2[tracking.Event, error]

	// Close releases what the store opened itself. It never closes a
	// database handle or client the caller passed in.
	Close() error
}

// AppendResult reports what Append did with each event of a batch.
type AppendResult struct {
	Inserted   int
	Duplicates int
	// Duplicate has one entry per event of the batch: true when the event
	// was not stored because its (ShopID, ID) was stored already.
	Duplicate []bool
}

// Filter selects events. ShopID is required: a query never spans tenants.
type Filter struct {
	ShopID string
	// From and To bound Timestamp to [From, To); a zero time is unbounded.
	// Stored timestamps have microsecond precision: pass bounds with no
	// finer part (backends compare finer bounds differently).
	From, To time.Time
	// Types, when not empty, keeps only these event types.
	Types []string
	// UserID, AnonymousID and SessionID, when set, must match exactly.
	UserID      string
	AnonymousID string
	SessionID   string
	// Limit caps the number of events; 0 means no limit.
	Limit int
}

// Validate reports a malformed filter as an error wrapping ErrInvalid.
func (f *Filter) Validate() error {
	if f.ShopID == "" {
		return invalid("filter: shop id is required")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return invalid("filter: from must be before to")
	}
	if f.Limit < 0 {
		return invalid("filter: negative limit")
	}
	return nil
}

// Match reports whether e passes the filter. Backends that cannot express a
// condition in their query language use it; it is also the reference
// semantics every backend must agree with.
func (f *Filter) Match(e *tracking.Event) bool {
	if e.ShopID != f.ShopID {
		return false
	}
	if !f.From.IsZero() && e.Timestamp.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !e.Timestamp.Before(f.To) {
		return false
	}
	if len(f.Types) > 0 {
		found := false
		for _, t := range f.Types {
			if t == e.Type {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return (f.UserID == "" || f.UserID == e.UserID) &&
		(f.AnonymousID == "" || f.AnonymousID == e.AnonymousID) &&
		(f.SessionID == "" || f.SessionID == e.SessionID)
}

// Sentinel errors. Backends wrap them with context, so test with errors.Is.
var (
	// ErrClosed is returned by a store used after Close.
	ErrClosed = errors.New("store: closed")
	// ErrUnavailable means the backend cannot be reached now; the same call
	// may succeed later (the ingester retries it).
	ErrUnavailable = errors.New("store: unavailable")
	// ErrInvalid means the request itself is wrong; retrying cannot help.
	ErrInvalid = errors.New("store: invalid request")
)

type invalidError string

func (e invalidError) Error() string { return "store: " + string(e) }
func (e invalidError) Unwrap() error { return ErrInvalid }

func invalid(msg string) error { return invalidError(msg) }

// Retryable reports whether an Append that failed with err may succeed if
// tried again: everything except invalid input, a closed store and a
// cancelled context.
func Retryable(err error) bool {
	return err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrClosed) &&
		!errors.Is(err, context.Canceled)
}

// ConnectionLost reports whether err is a failure to reach a server or to
// keep talking to it: a network error, a refused, reset or broken
// connection, or a connection closed mid-reply. Backends map it to
// ErrUnavailable, with the driver's own errors of the same kind.
func ConnectionLost(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// Classify gives a backend's error the sentinel that tells callers whether
// retrying can help, so they decide with errors.Is alone; every backend
// maps its driver's errors through it. kind is the backend's reading of its
// driver's errors: ErrUnavailable (the server cannot serve now), ErrInvalid
// (it refused the data), ErrClosed, or nil when it does not know the error.
// An error kind does not know that is a lost connection (ConnectionLost)
// is ErrUnavailable. The result wraps the sentinel and err, so the driver's
// error stays in the chain for errors.As; nil, context errors, errors that
// carry a sentinel already and errors nobody knows (a bug, a
// misconfiguration) are returned unchanged.
func Classify(err error, kind func(error) error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrClosed) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalid) {
		return err
	}
	sentinel := kind(err)
	if sentinel == nil && ConnectionLost(err) {
		sentinel = ErrUnavailable
	}
	if sentinel == nil {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

// ErrorSeq returns a sequence that yields err once; backends use it when a
// query cannot start.
func ErrorSeq(err error) iter.Seq2[tracking.Event, error] {
	return func(yield func(tracking.Event, error) bool) { yield(tracking.Event{}, err) }
}
