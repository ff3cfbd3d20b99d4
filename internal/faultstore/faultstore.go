// Package faultstore wraps a real store to inject failures in tests: a store
// that is down for a while, one that hangs, one that rejects some events.
package faultstore

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Store passes calls through to an inner store unless a fault is set.
type Store struct {
	store.Store

	mu       sync.Mutex
	failNext int
	failErr  error
	down     bool
	gate     chan struct{} // when non-nil, Append waits for it to close
	reject   func(e *tracking.Event) bool
	appends  int
	failures int
}

// New wraps inner.
func New(inner store.Store) *Store { return &Store{Store: inner} }

// FailNext makes the next n Append calls fail with err.
func (s *Store) FailNext(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failErr = n, err
}

// SetDown makes every Append and Ping fail with store.ErrUnavailable until
// it is called with false.
func (s *Store) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Hold makes Append calls wait until Release (or their ctx ends).
func (s *Store) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// Release lets held and future Append calls through.
func (s *Store) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// Reject makes Append fail with store.ErrInvalid for any batch holding an
// event for which bad returns true, as a database rejects a bad row.
func (s *Store) Reject(bad func(e *tracking.Event) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = bad
}

// Counts returns how many Append calls were made and how many failed by an
// injected fault.
func (s *Store) Counts() (appends, failures int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appends, s.failures
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, events []tracking.Event) (store.AppendResult, error) {
	s.mu.Lock()
	s.appends++
	gate := s.gate
	var err error
	switch {
	case s.down:
		err = fmt.Errorf("faultstore: %w", store.ErrUnavailable)
	case s.failNext > 0:
		s.failNext--
		err = s.failErr
	case s.reject != nil:
		for i := range events {
			if s.reject(&events[i]) {
				err = fmt.Errorf("faultstore: event %q: %w", events[i].ID, store.ErrInvalid)
				break
			}
		}
	}
	if err != nil {
		s.failures++
	}
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return store.AppendResult{}, ctx.Err()
		}
	}
	if err != nil {
		return store.AppendResult{}, err
	}
	return s.Store.Append(ctx, events)
}

// Events implements store.Store.
func (s *Store) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	return s.Store.Events(ctx, f)
}

// Ping fails while the store is down, else asks the inner store if it can.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return fmt.Errorf("faultstore: %w", store.ErrUnavailable)
	}
	if p, ok := s.Store.(store.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}
