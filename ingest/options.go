package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Options configure an Ingester. The zero value of every field means its
// documented default; a negative or inconsistent value is an error from New,
// never silently clamped.
type Options struct {
	// QueueSize is how many events may wait for storage in memory
	// (default 100,000). Without a spool, when it is reached, TryEnqueue
	// fails with ErrQueueFull and Enqueue blocks: memory stays bounded
	// however long the store is down. With a spool, events past it wait on
	// disk instead, up to Spool.MaxBytes, and are read back as memory
	// frees. It is also the most events one call may pass.
	QueueSize int
	// BatchSize is the most events written in one Append (default 1,000).
	BatchSize int
	// MaxBatchAge is how long an event may wait for its batch to fill before
	// a partial batch is written (default 100ms).
	MaxBatchAge time.Duration
	// Flushers is how many batches may be written at once (default 2).
	Flushers int
	// AppendTimeout bounds each Append attempt (default 30s); one that
	// runs longer (a stalled connection) is cancelled and retried like
	// any unavailable store, so a flusher is never held for ever.
	AppendTimeout time.Duration
	// Retry is how a failed Append is retried.
	Retry RetryPolicy
	// Logger receives failures and retries (default: slog.Default()).
	Logger *slog.Logger
	// Now is the clock that decides batch age (default time.Now).
	Now func() time.Time
	// Hooks are called as batches are written.
	Hooks Hooks
	// Spool keeps accepted events in files until they are stored, so they
	// survive a crash, a long outage and Shutdown's deadline (default: no
	// spool, events are held in memory only).
	Spool SpoolOptions
}

// RetryPolicy is exponential backoff with jitter. A store error that
// store.Retryable accepts is retried until it succeeds or Shutdown's context
// ends; errors of invalid input are not retried (see Hooks.OnFailed).
type RetryPolicy struct {
	// InitialBackoff is the wait after the first failure (default 50ms).
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between attempts (default 5s).
	MaxBackoff time.Duration
	// Jitter is the fraction of each wait that is randomised, in [0, 1]
	// (default 0.2), so many ingesters do not retry in lockstep.
	Jitter float64
}

// Hooks observe the ingester. They are called from flush goroutines and
// must not block for long; they must not modify the events.
type Hooks struct {
	// OnStored is called after a batch is stored, with the store's result
	// (res.Duplicate tells which events were new).
	OnStored func(events []tracking.Event, res store.AppendResult)
	// OnFailed is called when events are given up: a store error that no
	// retry can fix (invalid data), or Shutdown's deadline. With a spool,
	// only invalid data is given up; events left at the deadline (or
	// refused by a closed store) stay in the spool and are not reported.
	OnFailed func(events []tracking.Event, err error)
	// OnRetry is called before a failed batch is tried again.
	OnRetry func(attempt int, err error)
}

func (o *Options) setDefaults() error {
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(o.QueueSize >= 0, "QueueSize must not be negative")
	check(o.BatchSize >= 0, "BatchSize must not be negative")
	check(o.MaxBatchAge >= 0, "MaxBatchAge must not be negative")
	check(o.Flushers >= 0, "Flushers must not be negative")
	check(o.AppendTimeout >= 0, "AppendTimeout must not be negative")
	check(o.Retry.InitialBackoff >= 0, "Retry.InitialBackoff must not be negative")
	check(o.Retry.MaxBackoff >= 0, "Retry.MaxBackoff must not be negative")
	check(o.Retry.Jitter >= 0 && o.Retry.Jitter <= 1, "Retry.Jitter must be in [0, 1]")
	errs = append(errs, o.Spool.setDefaults()...)
	if len(errs) > 0 {
		return fmt.Errorf("ingest: options: %w", errors.Join(errs...))
	}
	if o.QueueSize == 0 {
		o.QueueSize = 100_000
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1000
	}
	if o.MaxBatchAge == 0 {
		o.MaxBatchAge = 100 * time.Millisecond
	}
	if o.Flushers == 0 {
		o.Flushers = 2
	}
	if o.AppendTimeout == 0 {
		o.AppendTimeout = 30 * time.Second
	}
	if o.Retry.InitialBackoff == 0 {
		o.Retry.InitialBackoff = 50 * time.Millisecond
	}
	if o.Retry.MaxBackoff == 0 {
		o.Retry.MaxBackoff = 5 * time.Second
	}
	if o.Retry.Jitter == 0 {
		o.Retry.Jitter = 0.2
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchSize > o.QueueSize {
		return fmt.Errorf("ingest: options: BatchSize %d exceeds QueueSize %d", o.BatchSize, o.QueueSize)
	}
	if o.Retry.InitialBackoff > o.Retry.MaxBackoff {
		return fmt.Errorf("ingest: options: Retry.InitialBackoff exceeds Retry.MaxBackoff")
	}
	return nil
}
