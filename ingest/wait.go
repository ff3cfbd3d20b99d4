package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/shoplytics/shoplytics/tracking"
)

// Receipt is what Store reports once its events are committed.
type Receipt struct {
	// Inserted counts the events the store did not have.
	Inserted int
	// Duplicates counts the events whose (shop_id, id) the store had
	// already, from an earlier call or earlier in the same batch.
	Duplicates int
}

// ErrNotStored is wrapped by Store's error when some of its events were
// not stored: the store refused them as invalid, or Shutdown's deadline
// passed first (with a spool they then stay on disk for the next start).
var ErrNotStored = errors.New("ingest: events not stored")

// outcome is what became of one event of a batch.
type outcome byte

const (
	inserted outcome = iota
	duplicate
	invalid // refused by the store for good
	notNow  // not stored by this ingester: abandoned at a deadline, or kept in the spool
)

// waiter is a Store call waiting for the outcome of the events lo ≤ s < hi.
type waiter struct {
	lo, hi  uint64
	left    int
	receipt Receipt
	invalid int
	notNow  int
	done    chan struct{}
}

// Store queues events like TryEnqueue and returns once every one of them
// is committed in the store: the durable acknowledgement, with exact
// counts of the new events and the duplicates. Concurrent calls share
// batches (group commit): a call does not wait for a batch to fill, and
// what arrives while the flushers are busy goes out together in the next
// batch.
//
// It fails at once with ErrQueueFull when the events do not fit now, like
// TryEnqueue, and with an error wrapping ErrNotStored when some of them
// could not be stored; the Receipt then counts those that were. When ctx
// ends first it returns ctx's error, and the events are still written.
func (in *Ingester) Store(ctx context.Context, events ...tracking.Event) (Receipt, error) {
	events, err := in.prepare(events)
	if err != nil || len(events) == 0 {
		return Receipt{}, err
	}
	w := &waiter{left: len(events), done: make(chan struct{})}
	if in.spool != nil {
		err = in.spoolEnqueue(ctx, events, false, w)
	} else {
		in.mu.Lock()
		if err = in.offerLocked(events); err == nil {
			in.addWaiterLocked(w, in.enqSeq-uint64(len(events)))
		} else if errors.Is(err, ErrQueueFull) {
			in.stats.Refused += uint64(len(events))
		}
		in.mu.Unlock()
	}
	if err != nil {
		return Receipt{}, err
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		in.mu.Lock()
		delete(in.waiters, w)
		in.mu.Unlock()
		return Receipt{}, ctx.Err()
	}
	if w.invalid > 0 || w.notNow > 0 {
		return w.receipt, fmt.Errorf("%w: %d refused by the store as invalid, %d not stored before shutdown",
			ErrNotStored, w.invalid, w.notNow)
	}
	return w.receipt, nil
}

// addWaiterLocked registers w for the events from seq on and asks for
// them to be written now.
func (in *Ingester) addWaiterLocked(w *waiter, seq uint64) {
	w.lo, w.hi = seq, seq+uint64(w.left)
	if in.waiters == nil {
		in.waiters = map[*waiter]struct{}{}
	}
	in.waiters[w] = struct{}{}
	if w.hi > in.flushTo {
		in.flushTo = w.hi
	}
	in.nudge()
}

// settleLocked tells the waiters what became of the events lo ≤ s <
// lo+len(out), and returns how many waits it ended.
func (in *Ingester) settleLocked(lo uint64, out []outcome) (ended int) {
	hi := lo + uint64(len(out))
	for w := range in.waiters {
		from, to := max(lo, w.lo), min(hi, w.hi)
		if from >= to {
			continue
		}
		for _, o := range out[from-lo : to-lo] {
			switch o {
			case inserted:
				w.receipt.Inserted++
			case duplicate:
				w.receipt.Duplicates++
			case invalid:
				w.invalid++
			case notNow:
				w.notNow++
			}
		}
		w.left -= int(to - from)
		if w.left == 0 {
			delete(in.waiters, w)
			close(w.done)
			ended++
		}
	}
	return ended
}

// releaseWaitersLocked ends every wait still open: at the end of
// Shutdown, what has no outcome yet will not get one from this ingester.
func (in *Ingester) releaseWaitersLocked() {
	for w := range in.waiters {
		w.notNow += w.left
		w.left = 0
		delete(in.waiters, w)
		close(w.done)
	}
}
