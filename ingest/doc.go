// Package ingest buffers events between the receiving side (HTTP handlers,
// Go code) and a store.
//
// # Flow
//
// [Ingester.Enqueue] and [Ingester.TryEnqueue] put events in a bounded queue.
// A batcher takes them out in batches of [Options.BatchSize], or sooner when
// the oldest has waited [Options.MaxBatchAge]; up to [Options.Flushers]
// batches are written at once with store.Store.Append.
//
// # Validation
//
// The ingester never stores a malformed event. Events the HTTP API decoded
// are normalised already; events Go code builds by hand may skip
// tracking.Normalize (their ReceivedAt is zero), and Enqueue normalises them
// on a copy. Every event is validated, and a call with an invalid one fails
// whole with an [InvalidEventError] naming the event and its field.
//
// # Failures
//
// A store that fails with a retryable error is retried with exponential
// backoff and jitter, for as long as it takes: the events stay in memory, the
// queue fills, and only then is new input refused ([ErrQueueFull], which the
// HTTP layer answers with 503 and Retry-After). A batch the store rejects as
// invalid is split in halves until the bad events are isolated; they are
// reported to [Hooks.OnFailed] and the rest is stored.
//
// # Lifecycle
//
// New starts nothing. [Ingester.Start] or [Ingester.Run] starts the
// goroutines; [Ingester.Flush] writes what is queued now;
// [Ingester.Shutdown] stops intake and drains everything queued or in retry,
// like http.Server.Shutdown, and reports what it could not store when its
// context ends first. Events are held in memory until stored: a hard crash of
// the process loses the queue (at most QueueSize events plus the batches in
// flight).
package ingest
