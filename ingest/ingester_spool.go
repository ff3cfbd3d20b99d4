package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// The Ingester's side of the spool. The spool is the queue of record: an
// event is acknowledged once its record is written (and, with SyncAlways,
// fsynced); memory holds a window of at most QueueSize of the spooled
// events, always the contiguous range takenSeq ≤ s < enqSeq, so a segment
// can be deleted by watermark.

// spoolEnqueue writes events as one record and, when memory holds every
// earlier event and has room, queues them in memory too; otherwise the
// spool reader brings them in later. With block it waits while the spool
// is full, else it fails with ErrQueueFull. A Store call passes its waiter
// w, registered as the events are placed.
func (in *Ingester) spoolEnqueue(ctx context.Context, events []tracking.Event, block bool, w *waiter) error {
	if len(events) > in.opts.QueueSize {
		return ErrTooLarge
	}
	if len(events) == 0 {
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.draining {
			return ErrClosed
		}
		return nil
	}
	r := encodeRecord(events)
	defer r.release()
	if int64(len(r.b))+segmentHeaderLen > in.opts.Spool.MaxBytes {
		return ErrTooLarge
	}
	for {
		seg, end, space, err := in.spool.append(r, func(seq uint64, at position) { in.placeNew(events, seq, at, w) })
		if errors.Is(err, errSpoolFull) {
			if !block {
				in.mu.Lock()
				in.stats.Refused += uint64(len(events))
				in.mu.Unlock()
				return ErrQueueFull
			}
			select {
			case <-space:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			return err
		}
		if in.opts.Spool.Sync == SyncAlways {
			return in.spool.waitSynced(seg, end)
		}
		return nil
	}
}

// placeNew records events just written to the spool at seq (spool.mu is
// held): into memory if that keeps memory one contiguous range within
// QueueSize, else they wait on disk for the reader.
func (in *Ingester) placeNew(events []tracking.Event, seq uint64, at position, w *waiter) {
	n := uint64(len(events))
	in.mu.Lock()
	defer in.mu.Unlock()
	if w != nil {
		in.addWaiterLocked(w, seq)
	}
	in.ackSeq = seq + n
	in.stats.Enqueued += n
	queued := len(in.queue) - in.head
	if in.enqSeq == seq && queued+len(events) <= in.opts.QueueSize {
		in.pushLocked(events, queued)
		in.enqSeq += n
		return
	}
	if in.enqSeq == seq { // memory is full: from here on, the reader fills it
		in.readCursor, in.readReset = at, true
	}
	select {
	case in.readWake <- struct{}{}:
	default:
	}
}

// readBack moves spooled events into memory as it frees, in sequence
// order, until stop is closed or the work is aborted.
func (in *Ingester) readBack(stop <-chan struct{}) {
	r := &spoolReader{s: in.spool}
	defer r.close()
	var pending []item
	for {
		in.mu.Lock()
		if in.readReset {
			r.pos, in.readReset, pending = in.readCursor, false, nil
		}
		work := len(pending) > 0 || in.enqSeq < in.ackSeq
		room := in.opts.QueueSize - (len(in.queue) - in.head)
		space := in.space
		in.mu.Unlock()
		if work && len(pending) == 0 && room > 0 {
			items, err := r.read(room)
			if err != nil {
				in.opts.Logger.Error("ingest: spool: reading back failed; retrying", "err", err)
				t := time.NewTimer(in.opts.Retry.MaxBackoff)
				select {
				case <-t.C:
				case <-stop:
				case <-in.workCtx.Done():
				}
				t.Stop()
			}
			pending = items
		}
		if len(pending) > 0 {
			in.mu.Lock()
			k := in.placeReadLocked(pending)
			space = in.space
			in.mu.Unlock()
			pending = pending[k:]
			if k > 0 {
				continue
			}
		}
		select {
		case <-in.readWake:
		case <-space:
		case <-stop:
			return
		case <-in.workCtx.Done():
			return
		}
	}
}

// placeReadLocked queues items read back, in order, and returns how many
// it placed: it stops at one that does not fit, or at a gap while memory
// still holds events (memory must stay one contiguous range).
func (in *Ingester) placeReadLocked(items []item) int {
	for i, it := range items {
		if it.seq+it.n <= in.enqSeq {
			continue // in memory already
		}
		if it.seq != in.enqSeq || it.events == nil {
			if in.takenSeq != in.enqSeq {
				return i
			}
			in.enqSeq = max(in.enqSeq, it.seq)
			in.takenSeq = in.enqSeq
			if it.events == nil {
				in.enqSeq, in.takenSeq = it.seq+it.n, it.seq+it.n
			}
			// Flush and the drain wait on these numbers.
			close(in.progress)
			in.progress = make(chan struct{})
			in.nudge()
			if it.events == nil {
				continue
			}
		}
		queued := len(in.queue) - in.head
		if queued+len(it.events) > in.opts.QueueSize {
			return i
		}
		in.pushLocked(it.events, queued)
		in.enqSeq += it.n
	}
	return len(items)
}

// keep records events this ingester could not store and leaves in the
// spool: nothing from their first on may count as finished, so their
// segments stay for the next start.
func (in *Ingester) keep(b batch, err error) {
	in.mu.Lock()
	in.stats.Kept += uint64(len(b.events))
	in.keepFrom = min(in.keepFrom, b.lo)
	in.mu.Unlock()
	in.opts.Logger.Warn("ingest: events not stored now; they stay in the spool for the next start", "events", len(b.events), "err", err)
}

// closeSpool deletes the finished segments and closes the spool, once the
// ingester's goroutines have stopped.
func (in *Ingester) closeSpool() error {
	if in.spool == nil {
		return nil
	}
	in.mu.Lock()
	finished := min(in.doneBelowLocked(), in.keepFrom)
	in.mu.Unlock()
	return in.spool.close(finished)
}
