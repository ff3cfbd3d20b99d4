package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Defaults for the zero values of RelayOptions.
const (
	DefaultGroup       = "shoplytics-relay"
	DefaultBatchSize   = 500
	DefaultBlock       = time.Second
	DefaultClaimIdle   = time.Minute
	DefaultRefresh     = 5 * time.Second
	DefaultStopTimeout = 30 * time.Second
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
)

// RelayOptions configure a Relay. Zero values are the documented defaults.
type RelayOptions struct {
	// Group is the consumer group, one per destination: relays sharing a
	// group share the work. Default "shoplytics-relay".
	Group string
	// Consumer names this relay within the group; it must be unique among
	// running relays. Default host-pid-n.
	Consumer string
	// BatchSize is about how many events the relay reads from each shop
	// stream per round; one round is one dst.Append. A stream entry holds the
	// events of one shop appended in one call (up to 256), so the relay reads
	// BatchSize divided by the average events per entry it has seen, at least
	// one entry. Default 500.
	BatchSize int
	// Block is how long a read waits for new entries; it also bounds how
	// long a stop waits for an idle read to return. Default 1s.
	Block time.Duration
	// ClaimIdle is how long an entry may stay delivered but unacknowledged
	// before any relay of the group takes it over (XAUTOCLAIM): the recovery
	// time after a relay crashed mid-batch. It should be well above the
	// time one dst.Append takes. Default 1 minute.
	ClaimIdle time.Duration
	// Refresh is how often the relay looks for new shop streams and samples
	// the pending figures of Stats. Default 5s.
	Refresh time.Duration
	// StopTimeout is how long a stopping relay lets the in-flight batch
	// finish before abandoning it to be claimed later. Default 30s.
	StopTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a failed
	// dst.Append or Redis call; it doubles, with jitter, from min to max.
	// Defaults 100ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives failures and recoveries. Default: discard.
	Logger *slog.Logger
	// Clock tells the time for the pending age. Default time.Now.
	Clock func() time.Time
}

var consumerSeq atomic.Int64

func (o RelayOptions) withDefaults() (RelayOptions, error) {
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Block", &o.Block, DefaultBlock},
		{"ClaimIdle", &o.ClaimIdle, DefaultClaimIdle},
		{"Refresh", &o.Refresh, DefaultRefresh},
		{"StopTimeout", &o.StopTimeout, DefaultStopTimeout},
		{"MinBackoff", &o.MinBackoff, DefaultMinBackoff},
		{"MaxBackoff", &o.MaxBackoff, DefaultMaxBackoff},
	}
	for _, d := range durations {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return o, fmt.Errorf("redisstore: relay: negative %s %v", d.name, *d.v)
		}
	}
	if o.Block < time.Millisecond || o.ClaimIdle < time.Millisecond {
		return o, errors.New("redisstore: relay: Block and ClaimIdle must be at least 1ms")
	}
	if o.MinBackoff > o.MaxBackoff {
		return o, fmt.Errorf("redisstore: relay: MinBackoff %v above MaxBackoff %v", o.MinBackoff, o.MaxBackoff)
	}
	switch {
	case o.BatchSize == 0:
		o.BatchSize = DefaultBatchSize
	case o.BatchSize < 0:
		return o, fmt.Errorf("redisstore: relay: negative BatchSize %d", o.BatchSize)
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.Consumer == "" {
		host, _ := os.Hostname()
		o.Consumer = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), consumerSeq.Add(1))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o, nil
}

// RelayStats describes a relay's work so far.
type RelayStats struct {
	// Relayed counts events the destination stored; Duplicates those it
	// already had (redeliveries, or ids sent twice).
	Relayed, Duplicates int64
	// Batches counts successful dst.Append calls.
	Batches int64
	// Errors counts failed attempts: dst.Append or Redis calls that failed,
	// and entries that could not be decoded.
	Errors int64
	// DeadLetters counts what the relay gave up on and copied to the
	// dead-letter stream (see Store.DeadLetters), logged, with its entry's
	// acknowledgement, so it does not block its batch-mates and is not
	// lost: events the destination refused, events that do not decode, and
	// entries with no events field. Rejected counts the first kind only:
	// events the destination refused as invalid (store.ErrInvalid) one by
	// one, which point at the destination's rules or the producer's data
	// rather than at a corrupt stream. Both grow when the transaction of
	// the dead letters and the acknowledgement commits; a batch whose
	// transaction fails is delivered again and counted then.
	Rejected, DeadLetters int64
	// Streams is the number of shop streams the relay reads.
	Streams int
	// Pending is the number of entries of the group delivered to some relay
	// but not yet acknowledged, and OldestPending the age of the oldest of
	// them: the lag of events in flight or stuck on a failing destination.
	// Both are sampled every Refresh, at PendingAt.
	Pending       int64
	OldestPending time.Duration
	PendingAt     time.Time
}

// Relay moves events from a Store's shop streams into another store
// through a consumer group: read (XREADGROUP), dst.Append, then acknowledge
// (XACK). Entries are acknowledged only after dst.Append succeeded, so
// delivery is at least once; an idempotent destination makes the effect
// exactly once.
type Relay struct {
	src  *Store
	dst  store.Store
	opts RelayOptions

	running    atomic.Bool
	nextSample time.Time // owned by the Run goroutine
	// perEntry is a moving average of the events per stream entry, which
	// sizes reads; owned by the Run goroutine.
	perEntry float64

	relayed, duplicates, batches, errs, rejected, deadLetters atomic.Int64

	mu    sync.Mutex // guards the fields below, read by Stats
	known map[string]bool
	names []string // stream keys, sorted
	pend  struct {
		n   int64
		age time.Duration
		at  time.Time
	}
}

// NewRelay returns a relay from src into dst. It does no I/O; Run does.
func NewRelay(src *Store, dst store.Store, opts RelayOptions) (*Relay, error) {
	if src == nil || dst == nil {
		return nil, errors.New("redisstore: relay: nil source or destination")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Relay{src: src, dst: dst, opts: opts, known: map[string]bool{}}, nil
}

// Stats returns the relay's counters and the last sampled pending figures.
func (r *Relay) Stats() RelayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RelayStats{
		Relayed:       r.relayed.Load(),
		Duplicates:    r.duplicates.Load(),
		Batches:       r.batches.Load(),
		Errors:        r.errs.Load(),
		Rejected:      r.rejected.Load(),
		DeadLetters:   r.deadLetters.Load(),
		Streams:       len(r.names),
		Pending:       r.pend.n,
		OldestPending: r.pend.age,
		PendingAt:     r.pend.at,
	}
}

// Run relays until ctx is cancelled, then lets the in-flight batch finish
// (within StopTimeout) and returns nil. Failures of Redis, and failures of
// the destination that store.Retryable allows, are logged and retried with
// backoff. Run returns an error when it cannot go on: already running, the
// source closed, or the destination failed in a way retrying cannot cure
// (store.ErrClosed, or any other error store.Retryable refuses but
// store.ErrInvalid, whose events go to the dead-letter stream). Reading on
// would only move every new entry to the pending list; the batch in hand
// stays pending, neither acknowledged nor dead-lettered, for a relay run
// again once the destination is fixed.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("redisstore: relay: already running")
	}
	defer r.running.Store(false)

	// work outlives ctx by StopTimeout, so a stop finishes the batch in hand.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	go func() {
		select {
		case <-ctx.Done():
			t := time.NewTimer(r.opts.StopTimeout)
			defer t.Stop()
			select {
			case <-t.C:
				cancelWork()
			case <-work.Done():
			}
		case <-work.Done():
		}
	}()

	log := r.opts.Logger.With("group", r.opts.Group, "consumer", r.opts.Consumer)
	var (
		nextRefresh, nextClaim time.Time
		ownPending             = true // first re-deliver what this consumer holds
		history                map[string]string
		backoff                time.Duration
	)
	fail := func(what string, err error) {
		r.errs.Add(1)
		var wait time.Duration
		backoff, wait = r.nextBackoff(backoff)
		log.Warn("relay: "+what+" failed", "err", err, "retry_in", wait)
		sleep(ctx, wait)
	}
	for ctx.Err() == nil {
		if r.src.closed.Load() {
			return fmt.Errorf("redisstore: relay: source: %w", store.ErrClosed)
		}
		now := r.opts.Clock()
		if !now.Before(nextRefresh) {
			if err := r.refresh(work); err != nil {
				fail("refresh", err)
				continue
			}
			nextRefresh = now.Add(r.opts.Refresh)
		}
		if !now.Before(nextClaim) {
			if err := r.claim(ctx, work); err != nil {
				if de, ok := errors.AsType[*destinationError](err); ok {
					return r.giveUp(log, de)
				}
				fail("claim", err)
				continue
			}
			nextClaim = now.Add(r.opts.ClaimIdle / 2)
		}
		streams := r.streams()
		if len(streams) == 0 {
			sleep(ctx, min(r.opts.Refresh, r.opts.Block))
			nextRefresh = time.Time{}
			continue
		}
		args := make([]string, 0, 2*len(streams))
		block := r.opts.Block
		if ownPending {
			// Entries this consumer name was given before (a restart under the
			// same name) are read first, from each stream's history, moving a
			// cursor so a batch left pending is not read again at once.
			if history == nil {
				history = make(map[string]string, len(streams))
				for _, k := range streams {
					history[k] = "0"
				}
			}
			streams = streams[:0]
			for k := range history {
				streams = append(streams, k)
			}
			if len(streams) == 0 {
				ownPending = false
				continue
			}
			args = append(args, streams...)
			for _, k := range streams {
				args = append(args, history[k])
			}
			block = -1 // history reads never block
		} else {
			args = append(args, streams...)
			for range streams {
				args = append(args, ">")
			}
		}
		res, err := r.src.client.XReadGroup(work, &redis.XReadGroupArgs{
			Group: r.opts.Group, Consumer: r.opts.Consumer, Streams: args,
			Count: r.count(), Block: block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			backoff = 0
			continue
		}
		if err != nil {
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				r.forget() // a stream was deleted: create its group again
			}
			fail("read", wrap("relay: read", err))
			continue
		}
		backoff = 0
		total := 0
		for _, st := range res {
			total += len(st.Messages)
			if ownPending {
				if len(st.Messages) == 0 {
					delete(history, st.Stream)
				} else {
					history[st.Stream] = st.Messages[len(st.Messages)-1].ID
				}
			}
		}
		if total == 0 {
			continue
		}
		if err := r.deliver(ctx, work, log, res); err != nil {
			return r.giveUp(log, err)
		}
	}
	return nil
}

// destinationError is a failure of the destination that retrying cannot
// cure; it ends Run.
type destinationError struct{ err error }

func (e *destinationError) Error() string { return e.err.Error() }
func (e *destinationError) Unwrap() error { return e.err }

// giveUp logs why Run ends and returns the error it ends with.
func (r *Relay) giveUp(log *slog.Logger, de *destinationError) error {
	log.Error("relay: the destination fails for good; stopping, its batch stays pending", "err", de.err)
	return fmt.Errorf("redisstore: relay: destination: %w", de.err)
}

// store appends one batch to dst; events it refuses as invalid are
// isolated into dead. A retryable failure, of the batch or of its
// isolation, is retried with backoff, growing from MinBackoff to
// MaxBackoff. It returns errStopping when the relay stops first, and a
// *destinationError when the destination fails for good; the read's entries
// then stay pending.
func (r *Relay) store(ctx, work context.Context, log *slog.Logger, events []tracking.Event, from []origin, dead *[]deadLetter) error {
	var backoff time.Duration
	mark := len(*dead)
	for {
		*dead = (*dead)[:mark] // a retried isolation finds its dead letters again
		ar, err := r.dst.Append(work, events)
		if err == nil {
			r.relayed.Add(int64(ar.Inserted))
			r.duplicates.Add(int64(ar.Duplicates))
			r.batches.Add(1)
			if backoff > 0 {
				log.Info("relay: destination recovered", "events", len(events))
			}
			return nil
		}
		r.errs.Add(1)
		if ctx.Err() == nil && work.Err() == nil && errors.Is(err, store.ErrInvalid) {
			// Isolate the refused events so the rest are stored.
			if err = r.isolate(work, log, events, from, dead); err == nil {
				return nil
			}
			r.errs.Add(1)
			log.Warn("relay: isolating refused events failed", "events", len(events), "err", err)
		}
		if ctx.Err() != nil || work.Err() != nil {
			log.Warn("relay: stopping with an unfinished batch; it stays pending", "events", len(events), "err", err)
			return errStopping
		}
		if !store.Retryable(err) {
			return &destinationError{err}
		}
		var wait time.Duration
		backoff, wait = r.nextBackoff(backoff)
		log.Warn("relay: append failed", "events", len(events), "err", err, "retry_in", wait)
		if now := r.opts.Clock(); !now.Before(r.nextSample) {
			// Keep the lag in Stats current while the destination is down.
			if err := r.samplePending(work); err != nil {
				log.Warn("relay: sampling pending entries failed", "err", err)
			}
		}
		if !sleep(ctx, wait) {
			return errStopping
		}
	}
}

// errStopping reports a batch left unfinished because the relay stops.
var errStopping = errors.New("redisstore: relay: stopping")

// origin is where an event of a read came from.
type origin struct{ stream, entry string }

// deadLetter is an event the relay gives up on, with why; refused marks an
// event the destination refused as invalid.
type deadLetter struct {
	origin
	reason  string
	data    string
	refused bool
}

// isolate appends events in halves until the ones the destination refuses
// as invalid stand alone; those are logged, counted as rejected and added
// to dead. Any other failure is returned, and the caller leaves the batch
// pending (the parts already stored are duplicates when it comes again).
func (r *Relay) isolate(work context.Context, log *slog.Logger, events []tracking.Event, from []origin, dead *[]deadLetter) error {
	ar, err := r.dst.Append(work, events)
	switch {
	case err == nil:
		r.relayed.Add(int64(ar.Inserted))
		r.duplicates.Add(int64(ar.Duplicates))
		r.batches.Add(1)
		return nil
	case !errors.Is(err, store.ErrInvalid):
		return err
	case len(events) == 1:
		log.Error("relay: destination refused an event; moving it to the dead-letter stream",
			"shop", events[0].ShopID, "id", events[0].ID, "stream", from[0].stream, "entry", from[0].entry, "err", err)
		*dead = append(*dead, deadLetter{origin: from[0], reason: err.Error(), data: string(events[0].AppendJSON(nil)), refused: true})
		return nil
	}
	half := len(events) / 2
	if err := r.isolate(work, log, events[:half], from[:half], dead); err != nil {
		return err
	}
	return r.isolate(work, log, events[half:], from[half:], dead)
}

// deliver stores the entries of one read in dst and acknowledges them,
// retrying a failing dst.Append with backoff until it succeeds or the relay
// stops; unacknowledged entries stay pending for a later claim. Events the
// destination refuses as invalid, and events that do not decode, go to the
// dead-letter stream in the same transaction as the acknowledgement. It
// returns the destination's error when that fails for good, and nil
// otherwise.
func (r *Relay) deliver(ctx, work context.Context, log *slog.Logger, res []redis.XStream) *destinationError {
	var (
		events []tracking.Event
		from   []origin
		dead   []deadLetter
	)
	acks := make(map[string][]string, len(res))
	for _, st := range res {
		for _, m := range st.Messages {
			acks[st.Stream] = append(acks[st.Stream], m.ID)
			if m.Values == nil {
				continue // trimmed by MAXLEN before it was relayed
			}
			data, ok := m.Values[eventsField].(string)
			if !ok {
				log.Error("relay: an entry holds no events field; moving it to the dead-letter stream", "stream", st.Stream, "entry", m.ID)
				dead = append(dead, deadLetter{origin: origin{st.Stream, m.ID}, reason: "entry without an events field", data: fmt.Sprint(m.Values)})
				continue
			}
			parts := strings.Split(data, "\x00")
			r.noteEntry(len(parts))
			for n, one := range parts {
				e, err := tracking.DecodeStored([]byte(one))
				if err != nil {
					// Retrying cannot help an event that does not decode.
					log.Error("relay: an event does not decode; moving it to the dead-letter stream", "stream", st.Stream, "entry", m.ID, "position", n, "err", err)
					dead = append(dead, deadLetter{origin: origin{st.Stream, m.ID}, reason: "does not decode: " + err.Error(), data: one})
					continue
				}
				events = append(events, e)
				from = append(from, origin{st.Stream, m.ID})
			}
		}
	}
	// One read may hold more than BatchSize events (entries bigger than the
	// relay had seen so far): hand them over BatchSize at a time.
	for lo := 0; lo < len(events); lo += r.opts.BatchSize {
		hi := min(lo+r.opts.BatchSize, len(events))
		if err := r.store(ctx, work, log, events[lo:hi], from[lo:hi], &dead); err != nil {
			de, _ := err.(*destinationError)
			return de
		}
	}
	// Dead letters and acknowledgements in one transaction: a relay that
	// dies before it leaves the entries pending and writes no dead letter.
	pipe := r.src.client.TxPipeline()
	for _, d := range dead {
		pipe.XAdd(work, &redis.XAddArgs{Stream: r.src.keys.deadLetters(), Values: []any{
			"group", r.opts.Group, "stream", d.stream, "entry", d.entry, "reason", d.reason, eventsField, d.data,
		}})
	}
	for stream, ids := range acks {
		pipe.XAck(work, stream, r.opts.Group, ids...)
	}
	if _, err := pipe.Exec(work); err != nil {
		// Not acknowledged: the entries are delivered again later, and the
		// idempotent destination reports them as duplicates.
		r.errs.Add(1)
		log.Warn("relay: ack failed", "err", wrap("relay: ack", err))
		return nil
	}
	refused := 0
	for _, d := range dead {
		if d.refused {
			refused++
		}
	}
	r.rejected.Add(int64(refused))
	r.deadLetters.Add(int64(len(dead)))
	return nil
}

// claim takes over entries of the group idle longer than ClaimIdle, from
// crashed relays or batches abandoned on stop, and delivers them. A
// destination failing for good ends it with a *destinationError.
func (r *Relay) claim(ctx, work context.Context) error {
	log := r.opts.Logger.With("group", r.opts.Group, "consumer", r.opts.Consumer)
	for _, stream := range r.streams() {
		start := "0-0"
		for ctx.Err() == nil {
			msgs, next, err := r.src.client.XAutoClaim(work, &redis.XAutoClaimArgs{
				Stream: stream, Group: r.opts.Group, Consumer: r.opts.Consumer,
				MinIdle: r.opts.ClaimIdle, Start: start, Count: r.count(),
			}).Result()
			if err != nil {
				if strings.HasPrefix(err.Error(), "NOGROUP") {
					r.forget()
					break
				}
				return wrap("relay: claim", err)
			}
			if len(msgs) > 0 {
				log.Info("relay: claimed idle entries", "stream", stream, "entries", len(msgs))
				if de := r.deliver(ctx, work, log, []redis.XStream{{Stream: stream, Messages: msgs}}); de != nil {
					return de
				}
			}
			if next == "0-0" || next == "" {
				break
			}
			start = next
		}
	}
	return nil
}

// refresh reads the shop registry, creates the group on streams it has not
// seen (from the start of the stream, so nothing appended before is
// missed), and samples the pending figures.
func (r *Relay) refresh(ctx context.Context) error {
	shops, err := r.src.client.SMembers(ctx, r.src.keys.shops()).Result()
	if err != nil {
		return wrap("relay: registry", err)
	}
	r.mu.Lock()
	var fresh []string
	for _, shop := range shops {
		if k := r.src.keys.stream(shop); !r.known[k] {
			fresh = append(fresh, k)
		}
	}
	r.mu.Unlock()
	for _, k := range fresh {
		err := r.src.client.XGroupCreateMkStream(ctx, k, r.opts.Group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return wrap("relay: create group", err)
		}
		r.mu.Lock()
		r.known[k] = true
		r.names = append(r.names, k)
		slices.Sort(r.names)
		r.mu.Unlock()
	}
	return r.samplePending(ctx)
}

func (r *Relay) samplePending(ctx context.Context) error {
	streams := r.streams()
	pipe := r.src.client.Pipeline()
	cmds := make([]*redis.XPendingCmd, len(streams))
	for i, k := range streams {
		cmds[i] = pipe.XPending(ctx, k, r.opts.Group)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return wrap("relay: pending", err)
	}
	var n int64
	oldest := ""
	for _, c := range cmds {
		p, err := c.Result()
		if err != nil || p == nil || p.Count == 0 {
			continue
		}
		n += p.Count
		if oldest == "" || entryLess(p.Lower, oldest) {
			oldest = p.Lower
		}
	}
	now := r.opts.Clock()
	var age time.Duration
	if oldest != "" {
		age = max(now.Sub(entryTime(oldest)), 0)
	}
	r.nextSample = now.Add(r.opts.Refresh)
	r.mu.Lock()
	r.pend.n, r.pend.age, r.pend.at = n, age, now
	r.mu.Unlock()
	return nil
}

// noteEntry adds an entry of n events to the average that sizes reads.
func (r *Relay) noteEntry(n int) {
	if r.perEntry == 0 {
		r.perEntry = float64(max(n, 1))
		return
	}
	r.perEntry += (float64(max(n, 1)) - r.perEntry) / 16
}

// count is how many entries to read from each stream for about BatchSize
// events. Until it has seen entries, the relay assumes full chunks, so a
// first read of a large backlog does not take it all in one batch.
func (r *Relay) count() int64 {
	per := r.perEntry
	if per == 0 {
		per = defaultChunk
	}
	return max(int64(float64(r.opts.BatchSize)/per), 1)
}

func (r *Relay) streams() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.names)
}

// forget drops the known streams so the next refresh creates their groups.
func (r *Relay) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known, r.names = map[string]bool{}, nil
}

// nextBackoff returns the backoff after prev (zero before the first
// retry): doubled from MinBackoff up to MaxBackoff, and the wait to sleep,
// jittered between half of it and all of it. The jitter does not feed the
// doubling, so the waits grow whatever the random draws.
func (r *Relay) nextBackoff(prev time.Duration) (backoff, wait time.Duration) {
	backoff = min(max(2*prev, r.opts.MinBackoff), r.opts.MaxBackoff)
	return backoff, backoff/2 + rand.N(backoff/2+1)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// entryTime is the arrival time encoded in a stream entry id ("ms-seq").
func entryTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n)
}

func entryLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	an, _ := strconv.ParseUint(am, 10, 64)
	bn, _ := strconv.ParseUint(bm, 10, 64)
	if an != bn {
		return an < bn
	}
	aseq, _ := strconv.ParseUint(as, 10, 64)
	bseq, _ := strconv.ParseUint(bs, 10, 64)
	return aseq < bseq
}
