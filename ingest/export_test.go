package ingest

import (
	"errors"
	"os"
	"sync/atomic"
)

// FailFsyncs makes the spool's next n fsyncs of segment files fail.
func (in *Ingester) FailFsyncs(n int) {
	var left atomic.Int64
	left.Store(int64(n))
	in.spool.mu.Lock()
	defer in.spool.mu.Unlock()
	in.spool.fsync = func(f *os.File) error {
		if left.Add(-1) >= 0 {
			return errors.New("injected fsync failure")
		}
		return f.Sync()
	}
}

// Crash stops in as if its process had been killed: the spool's files are
// closed without fsync and its lock is released, nothing is written or
// deleted in it from then on, and the goroutines are stopped. Another
// Ingester may then open the same spool.
func (in *Ingester) Crash() {
	if in.spool != nil {
		in.spool.crash()
	}
	in.mu.Lock()
	in.draining = true
	started := in.started
	in.mu.Unlock()
	in.abort()
	if started {
		<-in.stopped
	}
}

// HoldFsync makes the spool's next fsync of a segment file close entered
// as it starts, wait for release, then fail when fail is set; the fsyncs
// after it run as usual.
func (in *Ingester) HoldFsync(entered chan<- struct{}, release <-chan struct{}, fail bool) {
	var once atomic.Bool
	in.spool.mu.Lock()
	defer in.spool.mu.Unlock()
	in.spool.fsync = func(f *os.File) error {
		if once.CompareAndSwap(false, true) {
			close(entered)
			<-release
			if fail {
				return errors.New("injected fsync failure")
			}
		}
		return f.Sync()
	}
}

// OnGather runs f in the next turn a spool fsync leader gives the
// goroutines ready to run.
func (in *Ingester) OnGather(f func()) {
	var once atomic.Bool
	in.spool.mu.Lock()
	defer in.spool.mu.Unlock()
	in.spool.gathering = func() {
		if once.CompareAndSwap(false, true) {
			f()
		}
	}
}

// CrashSpool is the spool's part of Crash alone.
func (in *Ingester) CrashSpool() { in.spool.crash() }
