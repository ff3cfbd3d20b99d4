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
// backoff and jitter, for as long as it takes: the events stay queued, the
// queue fills, and only then is new input refused ([ErrQueueFull], which the
// HTTP layer answers with 503 and Retry-After). A batch the store rejects as
// invalid is split in halves until the bad events are isolated; they are
// reported to [Hooks.OnFailed] and the rest is stored.
//
// # Spool
//
// With [Options.Spool] naming a directory, accepted events are written to
// a local write-ahead log before Enqueue and TryEnqueue return, and stay
// there until they are finished: stored, found to be duplicates, or refused
// by the store as invalid. An acknowledged event then survives kill -9, a
// store outage of any length and a Shutdown deadline; the next Ingester on
// the directory stores what is left, and the store's idempotency on
// (shop_id, id) turns what was stored already into duplicates, so each
// event is stored once.
//
// Each call is one record — length, CRC-32C, the events' JSON — in a
// segment file named by the sequence number of its first event; a segment
// is deleted once every event in it is finished. [SyncAlways] (the
// default) fsyncs before the call returns, one write and fdatasync for all
// the callers waiting at that moment (its leader first lets the goroutines
// ready to run go ahead, so requests already being decoded join the
// group), into zeros the segment was extended with ahead of its records
// (1 MiB at a time), so the flush changes no file size; [SyncInterval] fsyncs on a timer and does not wait, which survives
// the death of the process but not a power cut.
//
// The spool is the queue of record: memory holds at most QueueSize events,
// and those past it wait on disk, up to [SpoolOptions.MaxBytes], to be read
// back in order as memory frees; only a full spool refuses input. New locks
// the directory ([ErrSpoolLocked] for a second Ingester) and scans it,
// checking every record: zeros after the last record are the segment's
// end; a torn tail or corrupt bytes end the valid part of their segment,
// are counted in [Stats] (up to the last non-zero byte) and logged, and
// writing goes on in a fresh segment. A failed write is cut off the file and fails the call; a
// failed fsync fails every call waiting on it and seals the segment, so
// writing goes on in a new one. Events in a failed call may still be
// stored, as the call may have reached the disk.
//
// # Observers
//
// [Options.Hooks] are fixed at New. [Ingester.Observe] adds a function
// called after every stored batch until it is stopped, so parts of a
// program can watch the stored events while they need them: the HTTP live
// feed observes while a client is connected. An observer runs on a flush
// goroutine and must return quickly.
//
// # Lifecycle
//
// New starts nothing. [Ingester.Start] or [Ingester.Run] starts the
// goroutines; [Ingester.Flush] writes what is queued now;
// [Ingester.Shutdown] stops intake and drains everything queued or in retry,
// like http.Server.Shutdown, and reports what it could not store when its
// context ends first. Without a spool, events are held in memory until
// stored: a hard crash of the process loses the queue (at most QueueSize
// events plus the batches in flight), and so does a Shutdown deadline. With
// a spool, neither loses an acknowledged event: what is not stored stays on
// disk ([Stats].Kept) for the next start.
package ingest
