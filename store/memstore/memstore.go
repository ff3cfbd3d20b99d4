// Package memstore is the reference store: events in memory, obviously
// correct, gone when the process ends. It backs tests, the "memory://" URL
// and any program that wants a throw-away store.
package memstore

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

func init() {
	store.Register("memory", func(context.Context, *url.URL) (store.Store, error) { return New(), nil })
}

// Store keeps events in memory, per shop, sorted by (Timestamp, ID).
type Store struct {
	mu    sync.RWMutex
	shops map[string][]tracking.Event
	keys  map[store.Key]struct{}
	// checkpoints are by shop and name (Key.ID holds the name).
	checkpoints map[store.Key][]byte
	closed      bool
	// insights are kept apart, under their own lock.
	insights store.MemoryInsights
}

// New returns an empty store.
func New() *Store {
	return &Store{shops: map[string][]tracking.Event{}, keys: map[store.Key]struct{}{}, checkpoints: map[store.Key][]byte{}}
}

func less(a, b *tracking.Event) bool { return compare(a, b) < 0 }

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return store.AppendResult{}, err
	}
	unique, dup := store.SplitBatch(events)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.AppendResult{}, store.ErrClosed
	}
	added := map[string][]tracking.Event{}
	for _, i := range unique {
		e := events[i]
		k := store.KeyOf(&e)
		if _, ok := s.keys[k]; ok {
			dup[i] = true
			continue
		}
		s.keys[k] = struct{}{}
		e.Properties = append([]byte(nil), e.Properties...)
		added[e.ShopID] = append(added[e.ShopID], e)
	}
	// Sort what is new and merge it into each shop's list in one pass: a
	// batch costs the length of the list once, not once per event.
	for shop, evs := range added {
		slices.SortFunc(evs, func(a, b tracking.Event) int { return compare(&a, &b) })
		s.shops[shop] = merge(s.shops[shop], evs)
	}
	return store.Result(dup), nil
}

func compare(a, b *tracking.Event) int {
	if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// merge returns the sorted list with the sorted events merged in. Only
// the part of the list after the first new event moves, merged from the
// back in place, so a batch that arrives nearly in order (concurrent
// producers) costs about its own length.
func merge(list, evs []tracking.Event) []tracking.Event {
	p := sort.Search(len(list), func(i int) bool { return compare(&list[i], &evs[0]) > 0 })
	i, j := len(list)-1, len(evs)-1
	list = append(list, evs...) // room; list[p:] is rewritten below
	for k := len(list) - 1; j >= 0; k-- {
		if i >= p && compare(&list[i], &evs[j]) > 0 {
			list[k] = list[i]
			i--
		} else {
			list[k] = evs[j]
			j--
		}
	}
	return list
}

// pageSize is how many events Events copies out under the read lock at a
// time; a read holds one page, however many events match.
const pageSize = 256

// scanLimit bounds how many stored events one page looks at, so a narrow
// filter over a large shop also releases the lock now and then.
const scanLimit = 16 * pageSize

// Events implements store.Store. It takes the matching events a page at a
// time under the read lock and yields them with the lock released, so the
// loop body may call the store (an Append from inside it does not
// deadlock); the next page resumes after the last event looked at. Yielded
// events own their Properties: changing them does not change the store.
func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	if err := f.Validate(); err != nil {
		return store.ErrorSeq(err)
	}
	return func(yield func(tracking.Event, error) bool) {
		page := make([]tracking.Event, 0, pageSize)
		var after *tracking.Event // the last event looked at; nil before the first page
		var last tracking.Event
		n := 0
		for {
			page = page[:0]
			done, err := s.page(&f, after, &last, &page, f.Limit-n)
			if err != nil {
				yield(tracking.Event{}, err)
				return
			}
			after = &last
			for _, e := range page {
				if err := ctx.Err(); err != nil {
					yield(tracking.Event{}, err)
					return
				}
				if !yield(e, nil) {
					return
				}
				n++
			}
			if done || (f.Limit > 0 && n >= f.Limit) {
				return
			}
		}
	}
}

// page appends to page, under the read lock, up to pageSize events of f
// that come after *after (from the start when after is nil), and at most
// want of them when want > 0, each with its own copy of Properties. It sets
// *last to the last event it looked at and reports whether none is left.
func (s *Store) page(f *store.Filter, after, last *tracking.Event, page *[]tracking.Event, want int) (done bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return true, store.ErrClosed
	}
	list := s.shops[f.ShopID]
	var i int
	switch {
	case after != nil:
		i = sort.Search(len(list), func(j int) bool { return less(after, &list[j]) })
	case !f.From.IsZero():
		i = sort.Search(len(list), func(j int) bool { return !list[j].Timestamp.Before(f.From) })
	}
	limit := pageSize
	if want > 0 {
		limit = min(limit, want)
	}
	for scanned := 0; i < len(list); i, scanned = i+1, scanned+1 {
		e := &list[i]
		if !f.To.IsZero() && !e.Timestamp.Before(f.To) {
			return true, nil
		}
		if len(*page) == limit || scanned == scanLimit {
			return false, nil
		}
		*last = tracking.Event{Timestamp: e.Timestamp, ID: e.ID}
		if f.Match(e) {
			c := *e
			if c.Properties != nil {
				c.Properties = append(json.RawMessage(nil), c.Properties...)
			}
			*page = append(*page, c)
		}
	}
	return true, nil
}

// Len returns the number of stored events of all shops.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}

// Close implements store.Store; the events are dropped.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.shops, s.keys = nil, nil
	return nil
}
