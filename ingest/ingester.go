package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Errors of Enqueue and TryEnqueue.
var (
	// ErrQueueFull means the queue has no room for the events now; the
	// caller should answer "try later" (HTTP 503 with Retry-After).
	ErrQueueFull = errors.New("ingest: queue full")
	// ErrClosed means Shutdown has begun: no new events are taken.
	ErrClosed = errors.New("ingest: shut down")
	// ErrTooLarge means more events were offered at once than the queue can
	// ever hold.
	ErrTooLarge = errors.New("ingest: more events than the queue holds")
)

// InvalidEventError is the error of Enqueue and TryEnqueue for an event that
// cannot be stored as it is: Err is the *tracking.ValidationError naming the
// field at fault, as the HTTP API reports it. The call took no events.
type InvalidEventError struct {
	// Index is the event's position among the events of the call.
	Index int
	Err   error
}

func (e *InvalidEventError) Error() string {
	return fmt.Sprintf("ingest: event %d: %v", e.Index, e.Err)
}

func (e *InvalidEventError) Unwrap() error { return e.Err }

// Ingester buffers events in a bounded queue and writes them to a store in
// batches: a batch is written when it is full or its oldest event is
// MaxBatchAge old, by up to Flushers concurrent writers, retried with backoff
// while the store fails. Nothing is dropped because a store is slow or down:
// the queue fills, and then new input is refused with ErrQueueFull. With a
// spool (Options.Spool) the queue is on disk, and memory holds a window of
// it.
//
// No goroutine starts in New: Start or Run does it. Shutdown drains.
type Ingester struct {
	store store.Store
	opts  Options

	mu       sync.Mutex
	queue    []tracking.Event // queue[head:] waits for a batch
	head     int
	oldest   time.Time         // enqueue time of queue[head]
	space    chan struct{}     // closed when room frees up; replaced after
	progress chan struct{}     // closed when a batch finishes; replaced after
	wake     chan struct{}     // nudges the batcher (cap 1)
	enqSeq   uint64            // events ever queued
	takenSeq uint64            // events ever put into a batch
	inFlight map[uint64]uint64 // batch start seq → end seq, being written
	flushTo  uint64            // Flush or Store asked that seqs below this go out now
	flushed  uint64            // Flush itself asked that seqs below this go out now
	draining bool              // Shutdown began: take no more, write everything
	started  bool
	stats    Stats
	// failingSince is when the current run of failed Append attempts
	// began; zero once one succeeds.
	failingSince time.Time
	// comeback is how many events may be queued soon: those queued when
	// a batch ended Store calls, and one for each call it ended, whose
	// callers are expected back; a partial batch waits for them until
	// comebackBy, but not past MaxBatchAge nor for a Flush (see
	// takeLocked).
	comeback   int
	comebackBy time.Time

	// With a spool, memory holds the events takenSeq ≤ s < enqSeq and the
	// spool every event below ackSeq not yet finished; the spool reader
	// brings enqSeq up to ackSeq as memory frees.
	spool      *spool
	ackSeq     uint64        // events ever written to the spool
	keepFrom   uint64        // no event from here on counts as finished: it stays in the spool
	readCursor position      // where the reader resumes, when readReset
	readReset  bool          // a spill began at readCursor
	readWake   chan struct{} // nudges the spool reader (cap 1)

	waiters map[*waiter]struct{} // Store calls waiting for their events

	observers observers // Observe'd functions, called after each stored batch

	batches chan batch
	idle    chan struct{}   // a token per flusher free to take a batch
	workCtx context.Context // store calls; cancelled only to abort
	abort   context.CancelFunc
	stopped chan struct{} // closed when every goroutine has exited
}

type batch struct {
	events []tracking.Event
	lo, hi uint64
}

// New returns an Ingester writing to s. It starts nothing. With
// Options.Spool.Dir, it creates and locks the spool directory and scans the
// events an earlier run left there, which Start then stores; Shutdown
// unlocks it. Corrupt bytes in the spool (a torn tail after a crash) are
// counted and skipped, not an error.
func New(s store.Store, opts Options) (*Ingester, error) {
	if s == nil {
		return nil, errors.New("ingest: nil store")
	}
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &Ingester{
		store:    s,
		opts:     opts,
		queue:    make([]tracking.Event, 0, min(opts.QueueSize, 4*opts.BatchSize)),
		space:    make(chan struct{}),
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		inFlight: map[uint64]uint64{},
		batches:  make(chan batch, opts.Flushers),
		idle:     make(chan struct{}, opts.Flushers),
		workCtx:  ctx,
		abort:    cancel,
		stopped:  make(chan struct{}),
		keepFrom: math.MaxUint64,
	}
	for range opts.Flushers {
		in.idle <- struct{}{}
	}
	if opts.Spool.Dir != "" {
		sp, from, err := openSpool(opts.Spool, opts.Logger)
		if err != nil {
			cancel()
			return nil, err
		}
		in.spool = sp
		in.enqSeq, in.takenSeq, in.ackSeq = from.seq, from.seq, sp.next
		in.readCursor, in.readReset = from, true
		in.readWake = make(chan struct{}, 1)
		sp.onWritten = func() {
			select {
			case in.readWake <- struct{}{}:
			default:
			}
		}
	}
	return in, nil
}

// Start starts the batcher and the flush goroutines. It returns at once;
// calling it again does nothing.
func (in *Ingester) Start() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.started {
		return
	}
	in.started = true
	var wg sync.WaitGroup
	wg.Add(in.opts.Flushers)
	for range in.opts.Flushers {
		go func() {
			defer wg.Done()
			for b := range in.batches {
				in.write(b)
				in.idle <- struct{}{}
			}
		}()
	}
	readerDone := make(chan struct{})
	stopReader := make(chan struct{})
	if in.spool != nil {
		go func() {
			defer close(readerDone)
			in.readBack(stopReader)
		}()
		if in.opts.Spool.Sync == SyncInterval {
			go in.spool.syncEvery(in.opts.Spool.SyncEvery)
		}
	} else {
		close(readerDone)
	}
	go func() {
		in.batch()
		close(stopReader)
		<-readerDone
		close(in.batches)
		wg.Wait()
		close(in.stopped)
	}()
}

// Run starts the ingester and blocks until ctx is cancelled; then it drains
// like Shutdown without a deadline (call Shutdown with a deadline to bound
// that). It always returns nil after the drain, or the error of a Shutdown
// whose deadline passed.
func (in *Ingester) Run(ctx context.Context) error {
	in.Start()
	select {
	case <-ctx.Done():
		return in.Shutdown(context.Background())
	case <-in.stopped:
		return nil
	}
}

// Enqueue queues events for storage, blocking while the queue is full until
// there is room or ctx ends. The events are taken all or none. With a
// spool, it returns once they are written (SyncAlways: and fsynced), and
// blocks only while the spool is at MaxBytes.
//
// An event that has not been through tracking.Normalize (its ReceivedAt is
// zero) is normalised here, with the ingester's clock, on a copy: it gets an
// id, a canonical type, a timestamp and its currency. Every event is then
// validated; one that fails makes the call fail with an *InvalidEventError
// and nothing is taken, so a malformed event is never stored.
func (in *Ingester) Enqueue(ctx context.Context, events ...tracking.Event) error {
	events, err := in.prepare(events)
	if err != nil {
		return err
	}
	if in.spool != nil {
		return in.spoolEnqueue(ctx, events, true, nil)
	}
	for {
		in.mu.Lock()
		err := in.offerLocked(events)
		space := in.space
		in.mu.Unlock()
		if !errors.Is(err, ErrQueueFull) {
			return err
		}
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TryEnqueue queues events for storage, all or none, or fails at once with
// ErrQueueFull when they do not fit now (with a spool: when the spool is at
// MaxBytes). Events are normalised and validated as by Enqueue, and spooled
// as by Enqueue: with SyncAlways it waits for the fsync.
func (in *Ingester) TryEnqueue(events ...tracking.Event) error {
	events, err := in.prepare(events)
	if err != nil {
		return err
	}
	if in.spool != nil {
		return in.spoolEnqueue(context.Background(), events, false, nil)
	}
	in.mu.Lock()
	err = in.offerLocked(events)
	if errors.Is(err, ErrQueueFull) {
		in.stats.Refused += uint64(len(events))
	}
	in.mu.Unlock()
	return err
}

// prepare normalises the events that skipped tracking.Normalize, on a copy
// of the caller's slice, and validates all of them.
func (in *Ingester) prepare(events []tracking.Event) ([]tracking.Event, error) {
	copied := false
	for i := range events {
		if events[i].ReceivedAt.IsZero() {
			if !copied {
				events = append([]tracking.Event(nil), events...)
				copied = true
			}
			if err := tracking.Normalize(&events[i], time.Time{}, tracking.NormalizeOptions{Now: in.opts.Now()}); err != nil {
				return nil, &InvalidEventError{Index: i, Err: err}
			}
			continue
		}
		if err := tracking.Validate(&events[i]); err != nil {
			return nil, &InvalidEventError{Index: i, Err: err}
		}
	}
	return events, nil
}

func (in *Ingester) offerLocked(events []tracking.Event) error {
	if in.draining {
		return ErrClosed
	}
	if len(events) > in.opts.QueueSize {
		return ErrTooLarge
	}
	queued := len(in.queue) - in.head
	if queued+len(events) > in.opts.QueueSize {
		return ErrQueueFull
	}
	if len(events) == 0 {
		return nil
	}
	in.pushLocked(events, queued)
	in.enqSeq += uint64(len(events))
	in.stats.Enqueued += uint64(len(events))
	return nil
}

// pushLocked appends events to the memory queue, which holds queued now.
func (in *Ingester) pushLocked(events []tracking.Event, queued int) {
	if queued == 0 {
		in.oldest = in.opts.Now()
		if in.head > 0 {
			in.queue, in.head = in.queue[:0], 0
		}
	}
	in.queue = append(in.queue, events...)
	if queued == 0 || queued+len(events) >= in.opts.BatchSize || in.comeback > 0 && queued+len(events) >= in.comeback {
		in.nudge()
	}
}

func (in *Ingester) nudge() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// batch forms batches from the queue and hands them to the flushers until
// Shutdown has drained the queue. It takes a batch only when a flusher is
// free to write it, so what arrives while every flusher is busy goes out
// together in the next batch (group commit).
func (in *Ingester) batch() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	free := false // holding a flusher's token
	for {
		if !free {
			select {
			case <-in.idle:
				free = true
			case <-in.workCtx.Done():
				// Aborted: the flushers may be stuck in the store; what is
				// taken now is given up below.
			}
		}
		in.mu.Lock()
		b, wait, done := in.takeLocked()
		in.mu.Unlock()
		if done {
			return
		}
		if b.events != nil {
			if free {
				in.batches <- b // a free flusher is waiting: never blocks
				free = false
			} else {
				in.give(b, in.workCtx.Err())
				in.finish(b, 0, 0, notNowOutcomes(len(b.events)), 0)
			}
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-in.wake:
		case <-timer.C:
		case <-in.workCtx.Done():
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// takeLocked returns the next batch to write, or how long to wait for one
// (0: until nudged), or done when draining has emptied the queue.
func (in *Ingester) takeLocked() (b batch, wait time.Duration, done bool) {
	queued := len(in.queue) - in.head
	if queued == 0 {
		// With a spool, events may still wait on disk; after an abort
		// they stay there.
		return batch{}, 0, in.draining && (in.spool == nil || in.enqSeq == in.ackSeq || in.workCtx.Err() != nil)
	}
	age := in.opts.Now().Sub(in.oldest)
	if queued < in.opts.BatchSize && !in.draining && in.flushTo <= in.takenSeq && age < in.opts.MaxBatchAge {
		return batch{}, in.opts.MaxBatchAge - age, false
	}
	if queued < in.opts.BatchSize && !in.draining && len(in.inFlight) > 0 {
		// A batch is being written: a partial one waits for it (finish
		// nudges) or for a full batch, and grows meanwhile. Batches that
		// touch the same rollup rows commit one after the other anyway;
		// a second small one would only halve the events per commit.
		return batch{}, 0, false
	}
	if queued < in.comeback && !in.draining && in.flushed <= in.takenSeq {
		// The batch that just ended answered Store calls whose callers
		// (the same clients, in durable answers) come straight back with
		// more: waiting a moment for them makes one batch of them and the
		// events that waited, instead of one of the waiting ones now and
		// one of theirs later, each commit half full. Not for a Flush,
		// nor past the batch's age: enqueued events are written when
		// MaxBatchAge says, whoever comes back.
		if wait := min(in.comebackBy.Sub(in.opts.Now()), in.opts.MaxBatchAge-age); wait > 0 {
			return batch{}, wait, false
		}
	}
	in.comeback = 0
	n := min(queued, in.opts.BatchSize)
	b.events = make([]tracking.Event, n)
	copy(b.events, in.queue[in.head:in.head+n])
	clear(in.queue[in.head : in.head+n]) // let the strings go
	in.head += n
	if in.head == len(in.queue) {
		in.queue, in.head = in.queue[:0], 0
	} else if in.head > cap(in.queue)/2 {
		rest := copy(in.queue, in.queue[in.head:])
		in.queue, in.head = in.queue[:rest], 0
	}
	// The next event's enqueue time is not kept per event; its batch is due
	// no later than this one was.
	b.lo, b.hi = in.takenSeq, in.takenSeq+uint64(n)
	in.takenSeq = b.hi
	in.inFlight[b.lo] = b.hi
	in.stats.InFlight += uint64(n)
	close(in.space)
	in.space = make(chan struct{})
	return b, 0, false
}

// write stores one batch, retrying while the store fails retryably.
func (in *Ingester) write(b batch) {
	out := make([]outcome, len(b.events))
	start := in.opts.Now()
	inserted, duplicates := in.appendWithRetry(b.events, b.lo, out)
	in.finish(b, inserted, duplicates, out, in.opts.Now().Sub(start))
}

// notNowOutcomes is the outcome of a batch abandoned before its write.
func notNowOutcomes(n int) []outcome {
	out := make([]outcome, n)
	for i := range out {
		out[i] = notNow
	}
	return out
}

// finish records the end of a batch, written (in took) or given up, with
// what became of each of its events, and wakes Flush and the Store calls
// waiting.
func (in *Ingester) finish(b batch, inserted, duplicates int, out []outcome, took time.Duration) {
	in.mu.Lock()
	if len(in.waiters) > 0 {
		if ended := in.settleLocked(b.lo, out); ended > 0 && len(in.inFlight) == 1 {
			// Those callers are given half the batch's time to come back.
			in.comeback = min(len(in.queue)-in.head+ended, in.opts.BatchSize)
			in.comebackBy = in.opts.Now().Add(min(took/2, in.opts.MaxBatchAge))
		}
	}
	in.stats.InFlight -= uint64(len(b.events))
	in.stats.Batches++
	in.stats.Stored += uint64(inserted)
	in.stats.Duplicates += uint64(duplicates)
	delete(in.inFlight, b.lo)
	close(in.progress)
	in.progress = make(chan struct{})
	if len(in.queue) > in.head {
		in.nudge() // a partial batch may have waited for this one
	}
	if in.spool == nil {
		in.mu.Unlock()
		return
	}
	finished := min(in.doneBelowLocked(), in.keepFrom)
	in.mu.Unlock()
	in.spool.release(finished)
}

// appendWithRetry appends events, whose first has sequence number lo, and
// returns how many the store inserted and how many it already had. Events
// it gives up are reported by give. Invalid input is split in halves to
// isolate the bad events, so one poisoned event does not sink its
// batch-mates.
//
// out, one entry per event, receives what became of each.
func (in *Ingester) appendWithRetry(events []tracking.Event, lo uint64, out []outcome) (inserted, duplicates int) {
	backoff := in.opts.Retry.InitialBackoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(in.workCtx, in.opts.AppendTimeout)
		res, err := in.store.Append(ctx, events)
		cancel()
		if err == nil {
			in.mu.Lock()
			in.failingSince = time.Time{}
			in.mu.Unlock()
			if h := in.opts.Hooks.OnStored; h != nil {
				h(events, res)
			}
			in.observers.notify(events, res)
			for i, dup := range res.Duplicate {
				if dup && i < len(out) {
					out[i] = duplicate
				}
			}
			return res.Inserted, res.Duplicates
		}
		if in.workCtx.Err() != nil {
			in.give(batch{events: events, lo: lo}, fmt.Errorf("ingest: shutdown deadline passed: %w", err))
			fillOutcome(out, notNow)
			return 0, 0
		}
		if !store.Retryable(err) {
			if len(events) > 1 && errors.Is(err, store.ErrInvalid) {
				half := len(events) / 2
				i1, d1 := in.appendWithRetry(events[:half], lo, out[:half])
				i2, d2 := in.appendWithRetry(events[half:], lo+uint64(half), out[half:])
				return i1 + i2, d1 + d2
			}
			in.give(batch{events: events, lo: lo}, err)
			if errors.Is(err, store.ErrInvalid) {
				fillOutcome(out, invalid)
			} else {
				fillOutcome(out, notNow)
			}
			return 0, 0
		}
		in.mu.Lock()
		in.stats.Retries++
		if in.failingSince.IsZero() {
			in.failingSince = in.opts.Now()
		}
		in.mu.Unlock()
		in.opts.Logger.Warn("ingest: append failed; retrying", "events", len(events), "attempt", attempt, "backoff", backoff, "err", err)
		if h := in.opts.Hooks.OnRetry; h != nil {
			h(attempt, err)
		}
		wait := backoff
		if j := in.opts.Retry.Jitter; j > 0 {
			wait = time.Duration(float64(backoff) * (1 - j + 2*j*rand.Float64()))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-in.workCtx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, in.opts.Retry.MaxBackoff)
	}
}

func fillOutcome(out []outcome, o outcome) {
	for i := range out {
		out[i] = o
	}
}

// give records events given up for good. With a spool, only invalid data
// is given up: other events stay in the spool for the next start (keep).
func (in *Ingester) give(b batch, err error) {
	if in.spool != nil && !errors.Is(err, store.ErrInvalid) {
		in.keep(b, err)
		return
	}
	in.mu.Lock()
	in.stats.Failed += uint64(len(b.events))
	in.mu.Unlock()
	in.opts.Logger.Error("ingest: events not stored", "events", len(b.events), "err", err)
	if h := in.opts.Hooks.OnFailed; h != nil {
		h(b.events, err)
	}
}

// abandonAfter is how long Shutdown waits, once its context has ended and
// the store calls are cancelled, for them to return.
const abandonAfter = 100 * time.Millisecond

// doneBelowLocked returns the seq below which every event is finished.
func (in *Ingester) doneBelowLocked() uint64 {
	low := in.takenSeq
	for lo := range in.inFlight {
		low = min(low, lo)
	}
	return low
}

// Flush writes every event queued before the call, without waiting for
// batches to fill, and returns when they are stored or given up, or when ctx
// ends. The ingester must be started.
func (in *Ingester) Flush(ctx context.Context) error {
	in.mu.Lock()
	target := in.enqSeq
	if in.spool != nil {
		target = in.ackSeq
	}
	if target > in.flushTo {
		in.flushTo = target
	}
	in.flushed = max(in.flushed, target)
	in.nudge()
	for {
		if in.takenSeq >= target && in.doneBelowLocked() >= target {
			in.mu.Unlock()
			return nil
		}
		progress := in.progress
		in.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
		in.mu.Lock()
	}
}

// Shutdown stops taking events (Enqueue returns ErrClosed) and writes
// everything queued or being retried, like http.Server.Shutdown. If ctx ends
// first, the writes in progress are abandoned and ctx's error is returned.
// Without a spool, the events not stored are then lost: they are reported
// to Hooks.OnFailed and counted in Stats.Failed. With a spool they are not
// lost: they stay on disk for the next Ingester on the directory, are
// counted in Stats.Kept, and are not reported to OnFailed. Either way
// Shutdown closes and unlocks the spool. It starts the ingester if it was
// not running, so a queue filled before Start is still drained.
func (in *Ingester) Shutdown(ctx context.Context) error {
	in.Start()
	if in.spool != nil {
		in.spool.stopIntake() // appends under way are placed when it returns
	}
	in.mu.Lock()
	in.draining = true
	close(in.space) // wake blocked Enqueue calls: they now get ErrClosed
	in.space = make(chan struct{})
	in.mu.Unlock()
	in.nudge()
	select {
	case <-in.stopped:
		return in.closeSpool()
	case <-ctx.Done():
	}
	if in.spool != nil {
		// Nothing finishes from here on, as far as the spool goes: a
		// write abandoned now must not let its segment go.
		in.mu.Lock()
		in.keepFrom = min(in.keepFrom, in.doneBelowLocked())
		in.mu.Unlock()
	}
	in.abort()
	select {
	case <-in.stopped:
	case <-time.After(abandonAfter):
		// The store ignores cancellation (a driver on a stalled
		// connection): leave its calls behind rather than overrun the
		// deadline. Their events count as not stored; with a spool they
		// stay on disk, as keepFrom is already set.
		in.opts.Logger.Warn("ingest: shutdown: the store ignores cancellation; abandoning the writes in progress")
	}
	// What the batcher never handed out is not stored either.
	in.mu.Lock()
	rest := append([]tracking.Event(nil), in.queue[in.head:]...)
	in.queue, in.head = nil, 0
	onDisk := in.ackSeq - in.enqSeq // in the spool, never read back
	in.mu.Unlock()
	if in.spool != nil {
		in.mu.Lock()
		in.stats.Kept += uint64(len(rest)) + onDisk
		kept := in.stats.Kept + in.stats.InFlight // abandoned writes too
		in.releaseWaitersLocked()
		in.mu.Unlock()
		in.opts.Logger.Warn("ingest: shutdown deadline passed; events not stored stay in the spool for the next start",
			"events", kept, "dir", in.opts.Spool.Dir)
		return errors.Join(fmt.Errorf("ingest: shutdown: %w (%d events not stored, kept in the spool for the next start)", ctx.Err(), kept),
			in.closeSpool())
	}
	if len(rest) > 0 {
		in.give(batch{events: rest}, ctx.Err())
	}
	in.mu.Lock()
	failed := in.stats.Failed + in.stats.InFlight // abandoned writes too
	in.releaseWaitersLocked()
	in.mu.Unlock()
	return fmt.Errorf("ingest: shutdown: %w (%d events not stored in all)", ctx.Err(), failed)
}

// Stats is a snapshot of the ingester's counters.
type Stats struct {
	Enqueued   uint64 // events ever accepted by Enqueue/TryEnqueue
	Queued     uint64 // events waiting in memory for a batch now
	InFlight   uint64 // events in batches being written now
	Stored     uint64 // events the store inserted
	Duplicates uint64 // events the store already had
	Failed     uint64 // events given up (invalid data; without a spool also the shutdown deadline)
	Refused    uint64 // events TryEnqueue turned away with ErrQueueFull
	Retries    uint64 // failed Append calls that were retried
	Batches    uint64 // batches finished
	// FailingSince is when the store began failing the writes now being
	// retried (a full disk, a database that is down); zero while writes
	// succeed. Health checks read it: a store that answers pings but
	// takes no writes is not healthy.
	FailingSince time.Time

	// With a spool:
	Kept              uint64 // events not stored by this ingester, left in the spool for the next start
	Replayed          uint64 // events an earlier run left in the spool, found by New
	SpoolEvents       uint64 // events in the spool not finished yet (stored, duplicate or invalid)
	SpoolBytes        uint64 // size of the spool's segment files
	SpoolSegments     uint64 // segment files
	SpoolSyncs        uint64 // fsyncs of segment files
	SpoolCorrupt      uint64 // corrupt stretches skipped: torn tails, bad checksums
	SpoolCorruptBytes uint64 // bytes in them
}

// Stats returns the current counters.
func (in *Ingester) Stats() Stats {
	in.mu.Lock()
	s := in.stats
	s.Queued = uint64(len(in.queue) - in.head)
	s.FailingSince = in.failingSince
	if in.spool != nil {
		s.SpoolEvents = in.ackSeq - min(in.doneBelowLocked(), in.keepFrom)
	}
	in.mu.Unlock()
	if in.spool != nil {
		sp := in.spool.stats()
		s.Replayed, s.SpoolBytes, s.SpoolSegments = sp.replayed, uint64(sp.bytes), uint64(sp.segments)
		s.SpoolSyncs, s.SpoolCorrupt, s.SpoolCorruptBytes = sp.syncs, sp.corrupt, uint64(sp.corruptBytes)
	}
	return s
}
