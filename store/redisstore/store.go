package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
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

// Store keeps events in per-shop Redis streams with a time index, so it is
// a complete store.Store as well as the log a Relay drains.
type Store struct {
	client redis.UniversalClient
	owned  bool // the client was opened from Options.URL
	keys   keys
	opts   Options
	maxLen string
	// genLen is the length of a dedup generation in milliseconds, genMilli
	// the same as an argument; genSkew corrects the local clock's
	// generation to Redis's.
	genLen   int64
	genMilli string
	genSkew  atomic.Int64
	// chunk is the most events one append script call writes.
	chunk int

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	// stopSink, set by Open with sink=, stops the background relay and
	// closes the sink store.
	stopSink func() error
	// sink, set by Open with sink=, keeps insights for the store when it
	// can (store.InsightKeeper).
	sink store.Store
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
		client: opts.Client,
		keys:   newKeys(opts.Prefix),
		opts:   opts,
		maxLen: strconv.FormatInt(opts.MaxLen, 10),
		genLen: generationLength(opts.DedupTTL),
		chunk:  defaultChunk,
	}
	s.genMilli = strconv.FormatInt(s.genLen, 10)
	if s.client == nil {
		ro, err := parseURL(opts.URL)
		if err != nil {
			return nil, err
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

// parseURL is redis.ParseURL with errors that never show the URL's
// password (redis.ParseURL returns url.Parse's error, which holds the whole
// URL).
func parseURL(raw string) (*redis.Options, error) {
	u, err := store.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("redisstore: url: %w", err)
	}
	ro, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("redisstore: url %s: %w: %s", u.Redacted(), store.ErrInvalid, store.RedactSecret(err.Error(), u))
	}
	return ro, nil
}

func (s *Store) loadScripts(ctx context.Context) error {
	for _, sc := range []*redis.Script{appendScript, indexScript, pageScript} {
		if err := sc.Load(ctx, s.client).Err(); err != nil {
			return wrap("load scripts", err)
		}
	}
	return nil
}

// bufPool holds the argument buffers of Append, so a steady stream of
// batches does not allocate (and the runtime does not return) hundreds of
// kilobytes per batch.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuf is the largest buffer kept for reuse.
const maxPooledBuf = 8 << 20

// defaultChunk is the most events one script call, and so one stream entry,
// holds: large enough that the per-call and per-entry costs of Redis are
// spread thin, small enough that one call holds Redis for about a
// millisecond and an entry stays a modest read (≈ 150 KB of typical events).
const defaultChunk = 256

// chunksInFlight bounds how many chunks of one Append are sent at once, so
// a large batch does not take every connection of the client's pool.
const chunksInFlight = 4

// maxChunkBytes bounds a chunk's size as well as its number of events, so
// that an entry stays a modest read even when events are large.
const maxChunkBytes = 1 << 20

// approxSize is about how many bytes an event takes in an entry: its
// strings and properties, plus the field names, times and money.
func approxSize(e *tracking.Event) int {
	return 300 + len(e.ID) + len(e.ShopID) + len(e.Type) + len(e.UserID) + len(e.AnonymousID) +
		len(e.SessionID) + len(e.ProductID) + len(e.ProductName) + len(e.Category) + len(e.OrderID) +
		len(e.URL) + len(e.Referrer) + len(e.UserAgent) + len(e.Properties)
}

// Client returns the Redis client the store uses.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Append implements store.Store. The batch's new events are grouped by
// shop into chunks of up to 256 (and about 1 MiB); each chunk is one script
// call, atomic,
// that drops the events already in the dedup window and writes the rest as
// one stream entry. Chunks are sent as soon as they are encoded, on
// connections of their own (at most four at a time). Unlike the SQL stores,
// a batch is not atomic as a whole: when Append fails part-way, or its
// context is cancelled while it runs, some chunks may be stored, and a
// retry reports their events as duplicates. The same holds within one
// call when the client retries a command whose reply was lost (go-redis
// does, up to its MaxRetries): the events are stored once, but reported as
// duplicates.
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
	// Each shop's events keep their order.
	slices.SortStableFunc(unique, func(a, b int) int {
		return strings.Compare(events[a].ShopID, events[b].ShopID)
	})

	// Only properties hold bytes as the caller gave them: invalid JSON there
	// would make every later read of the shop fail at that event, and a raw
	// NUL would break the entry's separators.
	for _, i := range unique {
		if p := events[i].Properties; len(p) > 0 && (bytes.IndexByte(p, 0) >= 0 || !json.Valid(p)) {
			return store.AppendResult{}, fmt.Errorf("redisstore: append: event %d (shop %q, id %q): %w: properties are not valid JSON without NUL bytes", i, events[i].ShopID, events[i].ID, store.ErrInvalid)
		}
	}

	// One buffer for every argument of the batch. A chunk's arguments are
	// sub-slices of it that nothing writes again (growing copies the buffer
	// and leaves the old array as it was), so each chunk is sent as soon as
	// it is built, and Redis runs it while the next one is encoded.
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	gen := s.generation()
	var (
		wg     sync.WaitGroup
		errs   []error
		errsMu sync.Mutex
		failed atomic.Bool
		slots  = make(chan struct{}, chunksInFlight)
	)
	for lo := 0; lo < len(unique); {
		shop := events[unique[lo]].ShopID
		hi, size := lo+1, approxSize(&events[unique[lo]])
		for hi < len(unique) && hi-lo < s.chunk && events[unique[hi]].ShopID == shop {
			if size += approxSize(&events[unique[hi]]); size > maxChunkBytes {
				break
			}
			hi++
		}
		c := unique[lo:hi]
		args := make([]any, 5, 7+len(c))
		args[1], args[2], args[3], args[4] = s.genMilli, s.maxLen, shop, len(c)
		for _, i := range c {
			from := len(buf)
			buf = appendDedupMember(buf, shop, events[i].ID)
			args = append(args, buf[from:len(buf):len(buf)])
		}
		k := len(buf)
		for _, i := range c {
			buf = appendMemberPrefix(buf, events[i].Timestamp, events[i].ID)
		}
		e := len(buf)
		for n, i := range c {
			if n > 0 {
				buf = append(buf, 0)
			}
			buf = events[i].AppendJSON(buf)
		}
		args = append(args, buf[k:e:e], buf[e:len(buf):len(buf)])
		lo = hi
		send := func() {
			defer func() { <-slots }()
			if failed.Load() {
				return // the batch failed already: send no more of it
			}
			flags, err := s.writeChunk(ctx, shop, gen, args)
			if err == nil && len(flags) != len(c) {
				err = fmt.Errorf("redisstore: append: script answered for %d of %d events", len(flags), len(c))
			}
			if err != nil {
				failed.Store(true)
				errsMu.Lock()
				errs = append(errs, err)
				errsMu.Unlock()
				return
			}
			for n, f := range flags {
				dup[c[n]] = f == 0
			}
		}
		slots <- struct{}{}
		if lo == len(unique) {
			send() // the last chunk: nothing left to overlap with
		} else {
			wg.Go(send)
		}
	}
	wg.Wait()
	if cap(buf) <= maxPooledBuf {
		*bp = buf
	}
	bufPool.Put(bp)
	if len(errs) > 0 {
		return store.AppendResult{}, errs[0]
	}
	return store.Result(dup), nil
}

// writeChunk runs appendScript for one chunk, again when Redis's script
// cache lost it (SCRIPT FLUSH, a restart, a failover) or the chunk named
// another dedup generation than Redis's clock; neither wrote anything.
func (s *Store) writeChunk(ctx context.Context, shop string, gen int64, args []any) ([]int64, error) {
	for attempt := 0; ; attempt++ {
		args[0] = gen
		flags, err := appendScript.EvalSha(ctx, s.client, s.chunkKeys(shop, gen), args...).Int64Slice()
		if err == nil {
			return flags, nil
		}
		if attempt == 3 {
			return nil, wrap("append", err)
		}
		if g, ok := otherGeneration(err); ok {
			gen = g
			s.learnGeneration(g)
		} else if isNoScript(err) {
			if err := appendScript.Load(ctx, s.client).Err(); err != nil {
				return nil, wrap("append: load script", err)
			}
		} else {
			return nil, wrap("append", err)
		}
	}
}

// chunkKeys are the keys of appendScript for a chunk of shop's events in
// dedup generation gen.
func (s *Store) chunkKeys(shop string, gen int64) []string {
	return []string{
		s.keys.shops(), s.keys.stream(shop),
		s.keys.dedup(s.genLen, gen), s.keys.dedup(s.genLen, gen-1), s.keys.dedup(s.genLen, gen-2),
	}
}

// generation is the dedup generation now, by the local clock corrected by
// what Redis last said.
func (s *Store) generation() int64 {
	return time.Now().UnixMilli()/s.genLen + s.genSkew.Load()
}

// learnGeneration records that Redis is in generation g, so the next
// Appends name it first time even when the clocks disagree.
func (s *Store) learnGeneration(g int64) {
	s.genSkew.Store(g - time.Now().UnixMilli()/s.genLen)
}

// otherGeneration reports the generation Redis answered when a script
// call named another one.
func otherGeneration(err error) (int64, bool) {
	var re redis.Error
	if !errors.As(err, &re) {
		return 0, false
	}
	rest, ok := strings.CutPrefix(re.Error(), "GEN ")
	if !ok {
		return 0, false
	}
	g, perr := strconv.ParseInt(rest, 10, 64)
	return g, perr == nil
}

// Events implements store.Store. It first brings the shop's time index up
// to date with the stream (see indexScript), then walks the index in pages
// of Options.PageSize, each page one script call that returns the members
// and their events; From and To bound the index range, the other filter
// fields are checked on the decoded events.
func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	if err := f.Validate(); err != nil {
		return store.ErrorSeq(fmt.Errorf("redisstore: events: %w", err))
	}
	return func(yield func(tracking.Event, error) bool) {
		fail := func(err error) { yield(tracking.Event{}, err) }
		if s.closed.Load() {
			fail(fmt.Errorf("redisstore: events: %w", store.ErrClosed))
			return
		}
		if err := s.catchUp(ctx, f.ShopID); err != nil {
			fail(err)
			return
		}
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
			res, err := s.run(ctx, pageScript, "events", keys, min, max, page, pageEntries)
			if err != nil {
				fail(err)
				return
			}
			cut, _ := res[0].(int64)
			var stale []any
			for i := 1; i+1 < len(res); i += 2 {
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
			if cut == 0 && (len(res)-1)/2 < s.opts.PageSize {
				return
			}
		}
	}
}

// pageEntries is how many stream entries (chunks) one page may fetch.
const pageEntries = 32

// indexEntries is how many stream entries one indexScript call indexes: a
// few thousand events, a few milliseconds of Redis.
const indexEntries = 16

// catchUp indexes the entries of shop's stream appended since the last
// read, up to the last one there now.
func (s *Store) catchUp(ctx context.Context, shop string) error {
	keys := []string{s.keys.stream(shop), s.keys.index(shop), s.keys.cursor(shop)}
	stop := ""
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("redisstore: events: %w", err)
		}
		res, err := s.run(ctx, indexScript, "events: index", keys, indexEntries, stop)
		if err != nil {
			return err
		}
		if len(res) != 2 {
			return fmt.Errorf("redisstore: events: index: unexpected reply %v", res)
		}
		stop, _ = res[0].(string)
		if n, _ := res[1].(int64); n < indexEntries {
			return nil
		}
	}
}

// run calls a read script, loading it when Redis's cache lost it, and
// returns its array reply.
func (s *Store) run(ctx context.Context, sc *redis.Script, op string, keys []string, args ...any) ([]any, error) {
	v, err := sc.EvalSha(ctx, s.client, keys, args...).Result()
	if isNoScript(err) {
		v, err = sc.Eval(ctx, s.client, keys, args...).Result()
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	res, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("redisstore: %s: unexpected reply %T", op, v)
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
