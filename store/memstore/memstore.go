// Package memstore is the reference store: events in memory, obviously
// correct, gone when the process ends. It backs tests, the "memory://" URL
// and any program that wants a throw-away store.
package memstore

import (
	"context"
	"iter"
	"net/url"
	"sort"
	"sync"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

func init() {
	store.Register("memory", func(context.Context, *url.URL) (store.Store, error) { return New(), nil })
}

// Store keeps events in memory, per shop, sorted by (Timestamp, ID).
type Store struct {
	mu     sync.RWMutex
	shops  map[string][]tracking.Event
	keys   map[store.Key]struct{}
	closed bool
}

// New returns an empty store.
func New() *Store {
	return &Store{shops: map[string][]tracking.Event{}, keys: map[store.Key]struct{}{}}
}

func less(a, b *tracking.Event) bool {
	if !a.Timestamp.Equal(b.Timestamp) {
		return a.Timestamp.Before(b.Timestamp)
	}
	return a.ID < b.ID
}

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
	for _, i := range unique {
		e := events[i]
		k := store.KeyOf(&e)
		if _, ok := s.keys[k]; ok {
			dup[i] = true
			continue
		}
		s.keys[k] = struct{}{}
		e.Properties = append([]byte(nil), e.Properties...)
		list := s.shops[e.ShopID]
		at := sort.Search(len(list), func(j int) bool { return less(&e, &list[j]) })
		list = append(list, tracking.Event{})
		copy(list[at+1:], list[at:])
		list[at] = e
		s.shops[e.ShopID] = list
	}
	return store.Result(dup), nil
}

// Events implements store.Store.
func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	if err := f.Validate(); err != nil {
		return store.ErrorSeq(err)
	}
	return func(yield func(tracking.Event, error) bool) {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			yield(tracking.Event{}, store.ErrClosed)
			return
		}
		list := s.shops[f.ShopID]
		start := 0
		if !f.From.IsZero() {
			start = sort.Search(len(list), func(j int) bool { return !list[j].Timestamp.Before(f.From) })
		}
		var out []tracking.Event
		for i := start; i < len(list); i++ {
			e := &list[i]
			if !f.To.IsZero() && !e.Timestamp.Before(f.To) {
				break
			}
			if f.Match(e) {
				out = append(out, *e)
				if f.Limit > 0 && len(out) == f.Limit {
					break
				}
			}
		}
		s.mu.RUnlock()
		for _, e := range out {
			if err := ctx.Err(); err != nil {
				yield(tracking.Event{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
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
