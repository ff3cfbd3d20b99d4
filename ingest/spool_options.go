package ingest

import (
	"errors"
	"strconv"
	"time"
)

// SyncPolicy says when spooled events are forced to disk with fsync.
type SyncPolicy int

const (
	// SyncAlways makes Enqueue and TryEnqueue return only after their
	// events are fsynced: an acknowledged event survives a kill -9 and a
	// power cut. Concurrent calls share one fsync (group commit), so the
	// cost is one fsync per burst of calls, not one per call.
	SyncAlways SyncPolicy = iota
	// SyncInterval fsyncs every SpoolOptions.SyncEvery and does not make
	// callers wait: an event is acknowledged once it is written to the
	// file, which the kernel keeps when the process dies (kill -9, a
	// crash, an OOM kill), but a power cut or a kernel panic loses what
	// was written since the last fsync.
	SyncInterval
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	}
	return "SyncPolicy(" + strconv.Itoa(int(p)) + ")"
}

// SpoolOptions configure the spool: a write-ahead log of accepted events in
// a local directory, so an event that Enqueue or TryEnqueue accepted is
// stored even if the process dies, the store is down for long, or
// Shutdown's deadline passes. The zero value (no Dir) keeps events in
// memory only.
type SpoolOptions struct {
	// Dir is the spool directory, created if missing and locked for the
	// life of the Ingester ("" = no spool).
	Dir string
	// SegmentBytes is the size past which a segment file is closed and a
	// new one started (default 64 MiB, or MaxBytes/4 if that is smaller).
	// With SyncAlways the segment being written is extended with zeros up
	// to 1 MiB ahead of its records (within SegmentBytes and MaxBytes),
	// cut off when it is closed. A segment is deleted once every event in
	// it is finished.
	SegmentBytes int64
	// MaxBytes bounds the spool on disk (default 1 GiB). When it is
	// reached, TryEnqueue fails with ErrQueueFull and Enqueue blocks.
	MaxBytes int64
	// Sync is when events are fsynced (default SyncAlways).
	Sync SyncPolicy
	// SyncEvery is the fsync period of SyncInterval (default 1s); it must
	// be zero with SyncAlways.
	SyncEvery time.Duration
}

func (o *SpoolOptions) setDefaults() []error {
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(o.SegmentBytes >= 0, "Spool.SegmentBytes must not be negative")
	check(o.MaxBytes >= 0, "Spool.MaxBytes must not be negative")
	check(o.SyncEvery >= 0, "Spool.SyncEvery must not be negative")
	check(o.Sync == SyncAlways || o.Sync == SyncInterval, "Spool.Sync must be SyncAlways or SyncInterval")
	check(o.Sync != SyncAlways || o.SyncEvery == 0, "Spool.SyncEvery needs Sync: SyncInterval")
	if o.Dir == "" {
		check(*o == SpoolOptions{}, "Spool options need Spool.Dir")
		return errs
	}
	if len(errs) > 0 {
		return errs
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 1 << 30
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = min(64<<20, o.MaxBytes/4)
	}
	if o.Sync == SyncInterval && o.SyncEvery == 0 {
		o.SyncEvery = time.Second
	}
	check(o.SegmentBytes > segmentHeaderLen, "Spool.SegmentBytes is smaller than a segment header")
	check(o.MaxBytes >= o.SegmentBytes, "Spool.MaxBytes must be at least Spool.SegmentBytes")
	return errs
}
