package redisstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Store keeps events in per-shop Redis streams with a time index, so it is
// a complete store.Store as well as the log a Relay drains.
type Store struct {
	client   redis.UniversalClient
	owned    bool // the client was opened from Options.URL
	keys     keys
	opts     Options
	ttlMilli string
	maxLen   string
	// perScript is how many events one append script call writes.
	perScript int

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	// stopSink, set by Open with sink=, stops the background relay and
	// closes the sink store.
	stopSink func() error
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Pinger = (*Store)(nil)
)

// New connects to Redis and loads the store's scripts. It fails when Redis
// cannot be reached, so a misconfigured address shows at start-up.
func New(ctx context.Context, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{
		client:   opts.Client,
		keys:     newKeys(opts.Prefix),
		opts:     opts,
		ttlMilli: strconv.FormatInt(opts.DedupTTL.Milliseconds(), 10),
		maxLen:   strconv.FormatInt(opts.MaxLen, 10),

		perScript: defaultPerScript,
	}
	if s.client == nil {
		ro, err := redis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: url: %w", err)
		}
		s.client, s.owned = redis.NewClient(ro), true
	}
	if err := s.loadScripts(ctx); err != nil {
		if s.owned {
			_ = s.client.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Store) loadScripts(ctx context.Context) error {
	for _, sc := range []*redis.Script{appendScript, pageScript} {
		if err := sc.Load(ctx, s.client).Err(); err != nil {
			return wrap("load scripts", err)
		}
	}
	return nil
}

// scriptCall is one append script call of a batch.
type scriptCall struct {
	// order holds the call's events as positions in the batch's unique
	// events, in the order the script writes them and answers for them.
	order []int
	keys  []string
	args  []any
	cmd   *redis.Cmd
}

// defaultPerScript is how many events one append script call writes: large
// enough that the per-call cost of EVALSHA is spread thin, small enough that
// one call holds Redis for well under a millisecond.
const defaultPerScript = 100

// Client returns the Redis client the store uses.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Append implements store.Store. Each new event is written atomically by a
// script (dedup key, stream entry, index member and registry at once); one
// script call writes a group of events and the calls of a batch go in one
// pipeline. Unlike the SQL stores, a batch is
// not atomic as a whole: when Append fails part-way, a prefix of the batch
// may be stored, and a retry reports those events as duplicates.
func (s *Store) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	if s.closed.Load() {
		return store.AppendResult{}, fmt.Errorf("redisstore: append: %w", store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return store.AppendResult{}, fmt.Errorf("redisstore: append: %w", err)
	}
	unique, dup := store.SplitBatch(events)
	if len(unique) == 0 {
		return store.Result(dup), nil
	}

	// One buffer for every payload and member prefix of the batch; the
	// pipeline holds sub-slices of it until Exec has written them.
	var buf []byte
	offs := make([]int, 0, 2*len(unique)+1)
	offs = append(offs, 0)
	for _, i := range unique {
		e := &events[i]
		buf = e.AppendJSON(buf)
		offs = append(offs, len(buf))
		buf = appendMemberPrefix(buf, e.Timestamp, e.ID)
		offs = append(offs, len(buf))
	}
	// One script call per group of perScript events, all calls of the batch
	// in one pipeline. Within a call the events are ordered by shop (stably,
	// so each shop's events keep their order), so the script can write each
	// shop's index members and registry entry with one command.
	var calls []scriptCall
	for lo := 0; lo < len(unique); lo += s.perScript {
		hi := min(lo+s.perScript, len(unique))
		order := make([]int, 0, hi-lo) // positions in unique
		for j := lo; j < hi; j++ {
			order = append(order, j)
		}
		slices.SortStableFunc(order, func(a, b int) int {
			return strings.Compare(events[unique[a]].ShopID, events[unique[b]].ShopID)
		})
		c := scriptCall{
			order: order,
			keys:  make([]string, 0, 1+hi-lo+8),
			args:  make([]any, 3, 3+2*(hi-lo)+8),
		}
		c.keys = append(c.keys, s.keys.shops())
		c.args[0], c.args[1] = s.ttlMilli, s.maxLen
		nshops := 0
		for n, j := range order {
			shop := events[unique[j]].ShopID
			if n > 0 && shop == events[unique[order[n-1]]].ShopID {
				continue
			}
			run := 1
			for run < len(order)-n && events[unique[order[n+run]]].ShopID == shop {
				run++
			}
			c.keys = append(c.keys, s.keys.stream(shop), s.keys.index(shop))
			c.args = append(c.args, shop, run)
			nshops++
		}
		c.args[2] = nshops
		for _, j := range order {
			e := &events[unique[j]]
			c.keys = append(c.keys, s.keys.dedup(e.ShopID, e.ID))
			c.args = append(c.args, buf[offs[2*j]:offs[2*j+1]], buf[offs[2*j+1]:offs[2*j+2]])
		}
		calls = append(calls, c)
	}

	todo := make([]int, len(calls)) // calls still to run
	for k := range todo {
		todo[k] = k
	}
	for attempt := 0; ; attempt++ {
		pipe := s.client.Pipeline()
		for _, k := range todo {
			calls[k].cmd = appendScript.EvalSha(ctx, pipe, calls[k].keys, calls[k].args...)
		}
		_, _ = pipe.Exec(ctx)
		// Calls that met an empty script cache (SCRIPT FLUSH, a restart, a
		// failover) did nothing: load the script and run just those again.
		var again []int
		for _, k := range todo {
			if err := calls[k].cmd.Err(); isNoScript(err) {
				again = append(again, k)
			} else if err != nil {
				return store.AppendResult{}, wrap("append", err)
			}
		}
		if len(again) == 0 {
			break
		}
		if attempt == 2 {
			return store.AppendResult{}, wrap("append", calls[again[0]].cmd.Err())
		}
		if err := appendScript.Load(ctx, s.client).Err(); err != nil {
			return store.AppendResult{}, wrap("append: load script", err)
		}
		todo = again
	}
	for _, c := range calls {
		flags, err := c.cmd.Int64Slice()
		if err != nil {
			return store.AppendResult{}, wrap("append", err)
		}
		if len(flags) != len(c.order) {
			return store.AppendResult{}, fmt.Errorf("redisstore: append: script answered for %d of %d events", len(flags), len(c.order))
		}
		for n, f := range flags {
			dup[unique[c.order[n]]] = f == 0
		}
	}
	return store.Result(dup), nil
}

// Events implements store.Store. It walks the shop's time index in pages of
// Options.PageSize, each page one script call that returns the members and
// their entries; From and To bound the index range, the other filter fields
// are checked on the decoded events.
func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	if err := f.Validate(); err != nil {
		return store.ErrorSeq(fmt.Errorf("redisstore: events: %w", err))
	}
	return func(yield func(tracking.Event, error) bool) {
		fail := func(err error) { yield(tracking.Event{}, err) }
		min, max := "-", "+"
		if !f.From.IsZero() {
			min = "[" + string(appendTime(nil, f.From))
		}
		if !f.To.IsZero() {
			max = "(" + string(appendTime(nil, ceilMicro(f.To)))
		}
		keys := []string{s.keys.index(f.ShopID), s.keys.stream(f.ShopID)}
		page := strconv.Itoa(s.opts.PageSize)
		n := 0
		for {
			if s.closed.Load() {
				fail(fmt.Errorf("redisstore: events: %w", store.ErrClosed))
				return
			}
			if err := ctx.Err(); err != nil {
				fail(fmt.Errorf("redisstore: events: %w", err))
				return
			}
			res, err := s.runPage(ctx, keys, min, max, page)
			if err != nil {
				fail(err)
				return
			}
			var stale []any
			for i := 0; i+1 < len(res); i += 2 {
				member, _ := res[i].(string)
				min = "(" + member
				data, ok := res[i+1].(string)
				if !ok {
					stale = append(stale, member)
					continue
				}
				e, err := tracking.DecodeStored([]byte(data))
				if err != nil {
					fail(fmt.Errorf("redisstore: events: entry %s: %w", entryID(member), err))
					return
				}
				if !f.Match(&e) {
					continue
				}
				if err := ctx.Err(); err != nil {
					fail(fmt.Errorf("redisstore: events: %w", err))
					return
				}
				if !yield(e, nil) {
					return
				}
				if n++; f.Limit > 0 && n == f.Limit {
					return
				}
			}
			if len(stale) > 0 {
				// Entries trimmed by MAXLEN: drop their index members so later
				// reads do not fetch them again. Best effort; a failure only
				// costs a later read the same work.
				_ = s.client.ZRem(ctx, keys[0], stale...).Err()
			}
			if len(res)/2 < s.opts.PageSize {
				return
			}
		}
	}
}

func (s *Store) runPage(ctx context.Context, keys []string, min, max, count string) ([]any, error) {
	v, err := pageScript.EvalSha(ctx, s.client, keys, min, max, count).Result()
	if isNoScript(err) {
		v, err = pageScript.Eval(ctx, s.client, keys, min, max, count).Result()
	}
	if err != nil {
		return nil, wrap("events", err)
	}
	res, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("redisstore: events: unexpected reply %T", v)
	}
	return res, nil
}

// Ping implements store.Pinger.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("redisstore: ping: %w", store.ErrClosed)
	}
	return wrap("ping", s.client.Ping(ctx).Err())
}

// Close implements store.Store. With a sink (Open with sink=) it first
// stops the relay, letting its in-flight batch finish, then closes the sink.
// It closes the Redis client only when the store opened it from a URL.
// Events not yet relayed stay in Redis for the next relay.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.stopSink != nil {
			errs = append(errs, s.stopSink())
		}
		s.closed.Store(true)
		if s.owned {
			errs = append(errs, s.client.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("redisstore: close: %w", err)
		}
	})
	return s.closeErr
}

// Prefix returns the key prefix, so another store can open on the same keys.
func (s *Store) Prefix() string { return s.opts.Prefix }
