package ingest

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// StoredFunc observes a stored batch: the events as written, and the
// store's result (res.Duplicate tells which of them were new). It is
// called from a flush goroutine, so it must return quickly and must not
// keep or modify the events' slice; it may keep the events it copies.
type StoredFunc func(events []tracking.Event, res store.AppendResult)

// observers is the list of Observe'd functions, replaced whole on every
// change, so that flushers read it with one atomic load and no lock.
type observers struct {
	mu   sync.Mutex // serialises changes
	list atomic.Pointer[[]*observer]
}

type observer struct{ fn StoredFunc }

// Observe calls fn after every batch is stored from now on, like
// Options.Hooks.OnStored, until the returned function is called (it may be
// called more than once). Unlike the hooks, which are fixed at New,
// observers come and go while the ingester runs: the HTTP live feed
// subscribes while someone watches it, so an application that hands its
// Ingester to the HTTP handler gets the feed without wiring hooks.
func (in *Ingester) Observe(fn StoredFunc) (stop func()) {
	o := &observer{fn: fn}
	in.observers.change(func(l []*observer) []*observer { return append(l, o) })
	var once sync.Once
	return func() {
		once.Do(func() {
			in.observers.change(func(l []*observer) []*observer {
				return slices.DeleteFunc(l, func(x *observer) bool { return x == o })
			})
		})
	}
}

// change replaces the list with f's answer; f is given a copy of the
// current list, which it may modify.
func (ol *observers) change(f func([]*observer) []*observer) {
	ol.mu.Lock()
	defer ol.mu.Unlock()
	var cur []*observer
	if p := ol.list.Load(); p != nil {
		cur = *p
	}
	next := f(append([]*observer(nil), cur...))
	ol.list.Store(&next)
}

// notify calls every observer with a stored batch.
func (ol *observers) notify(events []tracking.Event, res store.AppendResult) {
	p := ol.list.Load()
	if p == nil {
		return
	}
	for _, o := range *p {
		o.fn(events, res)
	}
}
