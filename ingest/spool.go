package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// ErrSpoolLocked is the error of New when another Ingester, in this
// process or another, holds the spool directory.
var ErrSpoolLocked = errors.New("ingest: spool directory in use")

// errSpoolFull means the spool has reached MaxBytes.
var errSpoolFull = errors.New("ingest: spool full")

const lockName = "LOCK"

// spool is the write-ahead log of accepted events: segment files of
// records, appended in sequence order, fsynced by group commit, and
// deleted once every event in them is finished.
//
// Lock order: spool.mu before Ingester.mu, never the other way.
type spool struct {
	dir   string
	opts  SpoolOptions
	log   *slog.Logger
	lock  *os.File
	fsync func(*os.File) error // syncData; tests make it fail
	// gathering, when set (tests), runs in each turn a fsync leader gives
	// other goroutines, with mu released.
	gathering func()
	// onWritten is called (with mu held, so it must not block) after a
	// group of pending records reaches its file, for the reader.
	onWritten func()

	mu           sync.Mutex
	synced       *sync.Cond    // broadcast when an fsync ends or the spool closes
	segs         []*segment    // on disk, in sequence order
	cur          *segment      // appended to; nil until the next append starts one
	next         uint64        // sequence number of the next event written
	bytes        int64         // the length of segs' files on disk, zeros ahead of records included
	released     uint64        // every event below it is finished
	space        chan struct{} // closed when bytes shrink or intake stops; replaced after
	intakeClosed bool
	closed       bool          // closed or crashed: files are not touched any more
	done         chan struct{} // closed with closed
	syncs        uint64
	corrupt      uint64
	corruptBytes int64
	replayed     uint64
}

// openSpool creates and locks the directory and scans its segments. It
// returns the spool and where reading back starts: the first valid event
// not yet finished by an earlier run.
func openSpool(opts SpoolOptions, log *slog.Logger) (*spool, position, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, position{}, fmt.Errorf("ingest: spool: create %s: %w", opts.Dir, err)
	}
	lock, content, err := lockDir(opts.Dir)
	if err != nil {
		return nil, position{}, err
	}
	s := &spool{dir: opts.Dir, opts: opts, log: log, lock: lock, fsync: syncData, space: make(chan struct{}), done: make(chan struct{})}
	s.synced = sync.NewCond(&s.mu)
	if v, ok := lockField(content, "next"); ok {
		s.next, _ = strconv.ParseUint(v, 10, 64)
	}
	from, err := s.scan()
	if err == nil {
		err = s.writeLock()
	}
	if err != nil {
		_ = unlockDir(lock)
		return nil, position{}, err
	}
	return s, from, nil
}

// scan reads every segment in order, keeping the valid records and
// counting what is corrupt; writing resumes in a fresh segment.
func (s *spool) scan() (position, error) {
	paths, firsts, err := listSegments(s.dir)
	if err != nil {
		return position{}, err
	}
	var prevEnd uint64
	for i, path := range paths {
		seg, res, err := scanSegment(path, firsts[i])
		if err != nil {
			return position{}, err
		}
		if i > 0 && seg.first < prevEnd {
			// Overlaps its predecessor: nothing in it can be trusted.
			res.corruptBytes, res.reason = seg.size+res.corruptBytes, "overlaps the previous segment"
			seg.end, seg.size = seg.first, 0
		}
		if res.corruptBytes > 0 {
			s.corrupt++
			s.corruptBytes += res.corruptBytes
			s.log.Warn("ingest: spool: skipping corrupt bytes; the valid records before them are replayed",
				"file", path, "bytes", res.corruptBytes, "reason", res.reason)
		}
		if seg.end == seg.first {
			// Nothing to replay; an empty name would block a fresh segment.
			if err := os.Remove(path); err != nil {
				return position{}, fmt.Errorf("ingest: spool: remove %s: %w", path, err)
			}
			continue
		}
		seg.tail = res.corruptBytes
		seg.sealed = true
		s.segs = append(s.segs, seg)
		s.bytes += seg.disk
		s.replayed += seg.end - seg.first
		prevEnd = seg.end
		s.next = max(s.next, seg.end)
	}
	if len(s.segs) == 0 {
		return position{seg: noSegment, seq: s.next}, nil
	}
	if s.replayed > 0 {
		s.log.Info("ingest: spool: replaying events kept by an earlier run", "dir", s.dir, "events", s.replayed, "segments", len(s.segs))
	}
	first := s.segs[0].first
	return position{seg: first, off: segmentHeaderLen, seq: first}, nil
}

// writeLock records the holder's pid and the next sequence number in the
// LOCK file, so a drained spool still numbers on from where it was.
func (s *spool) writeLock() error {
	content := "pid " + strconv.Itoa(os.Getpid()) + "\nnext " + strconv.FormatUint(s.next, 10) + "\n"
	if err := s.lock.Truncate(0); err != nil {
		return fmt.Errorf("ingest: spool: write %s: %w", s.lock.Name(), err)
	}
	if _, err := s.lock.WriteAt([]byte(content), 0); err != nil {
		return fmt.Errorf("ingest: spool: write %s: %w", s.lock.Name(), err)
	}
	return nil
}

// append writes r as the next record. placed is called with the record's
// first sequence number and position while the write lock is still held,
// so records reach memory in sequence order. It returns the segment and
// the offset the record ends at, for waitSynced. When the spool is full it
// returns errSpoolFull and a channel closed when space may have freed.
func (s *spool) append(r *record, placed func(seq uint64, at position)) (*segment, int64, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.intakeClosed || s.closed {
		return nil, 0, nil, ErrClosed
	}
	size := int64(len(r.b))
	roll := func() bool {
		c := s.cur
		return c == nil || c.sealed || (c.size > segmentHeaderLen && c.size+size > s.opts.SegmentBytes)
	}
	// need is how much the record adds to the spool on disk: nothing when
	// it fits in the zeros written ahead of the records.
	need := func() int64 {
		if roll() {
			return size + segmentHeaderLen
		}
		return max(s.cur.size+size-s.cur.disk, 0)
	}
	if s.bytes+need() > s.opts.MaxBytes && s.cur != nil && s.cur.end <= s.released {
		// The segment being written holds only finished events: let it go.
		s.sealLocked(s.cur)
		s.dropFinishedLocked()
	}
	if s.bytes+need() > s.opts.MaxBytes {
		return nil, 0, s.space, errSpoolFull
	}
	if roll() {
		if err := s.rollLocked(); err != nil {
			return nil, 0, nil, err
		}
	}
	seg := s.cur
	seq, off := s.next, seg.size
	r.seal(seq)
	if s.opts.Sync == SyncAlways {
		// The caller waits for an fsync anyway: the record joins the
		// group that the next fsync's leader writes in one call, so no
		// caller blocks in write(2) behind an fsync of the same file.
		seg.pending = append(seg.pending, r.b...)
	} else if _, err := seg.f.WriteAt(r.b, off); err != nil {
		err = fmt.Errorf("ingest: spool: write %s: %w", seg.path, err)
		s.log.Error("ingest: spool: write failed; the call is refused", "err", err)
		// Cut a partial record off; if that fails too, the segment ends
		// here (its size excludes the partial record) and the next call
		// starts another.
		if terr := seg.f.Truncate(off); terr != nil {
			seg.err = err
			s.sealLocked(seg)
		}
		return nil, 0, nil, err
	} else {
		seg.filled = max(seg.filled, off+size)
		seg.wrote = off + size
	}
	seg.size += size
	seg.end += uint64(r.n)
	s.next += uint64(r.n)
	if seg.size > seg.disk {
		s.bytes += seg.size - seg.disk
		seg.disk = seg.size
	}
	placed(seq, position{seg: seg.first, off: off, seq: seq})
	return seg, seg.size, nil, nil
}

// rollLocked seals the current segment and starts a new one named by the
// next sequence number.
func (s *spool) rollLocked() error {
	if s.cur != nil {
		s.sealLocked(s.cur)
	}
	if n := len(s.segs); n > 0 && s.segs[n-1].first == s.next {
		// A segment sealed before any record reached it has the name
		// the new one needs.
		s.deleteLocked(n - 1)
	}
	path := filepath.Join(s.dir, segmentName(s.next))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("ingest: spool: create %s: %w", path, err)
	}
	if _, err := f.Write([]byte(segmentMagic)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("ingest: spool: write %s: %w", path, err)
	}
	// The new name must survive a power cut before records in it are
	// acknowledged.
	if err := syncDir(s.dir); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	seg := &segment{path: path, first: s.next, end: s.next, size: segmentHeaderLen, disk: segmentHeaderLen, filled: segmentHeaderLen, wrote: segmentHeaderLen, f: f}
	s.cur = seg
	s.segs = append(s.segs, seg)
	s.bytes += segmentHeaderLen
	s.dropFinishedLocked()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("ingest: spool: open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ingest: spool: fsync %s: %w", dir, err)
	}
	return nil
}

// syncRound is one group write and fsync of a segment: the callers whose
// records end by target wait for done, and learn err, without taking
// spool.mu again.
type syncRound struct {
	target int64
	done   chan struct{}
	err    error // set before done is closed
}

// preallocBytes is how far ahead of its records a segment is extended
// with zeros (SyncAlways). Writing into zeros leaves the file's size as it
// is, so fdatasync flushes the data alone; the zeros cost one larger write
// and flush per preallocBytes of records.
const preallocBytes = 1 << 20

var zeros [64 << 10]byte

// waitSynced returns once seg is fsynced up to end, syncing it itself
// when no other caller is: whoever syncs covers every caller whose record
// was written before the fsync began (group commit). It fails if that
// fsync failed. A segment deleted meanwhile needs no fsync: every event in
// it is finished, so the store has them.
func (s *spool) waitSynced(seg *segment, end int64) error {
	s.mu.Lock()
	for seg.synced < end {
		switch {
		case seg.err != nil:
			s.mu.Unlock()
			return seg.err
		case seg.deleted:
			s.mu.Unlock()
			return nil
		case seg.f == nil:
			s.mu.Unlock()
			return fmt.Errorf("ingest: spool: %s closed before its fsync", seg.path)
		case seg.syncing:
			r := seg.round
			s.mu.Unlock()
			<-r.done
			if r.target >= end {
				return r.err
			}
			s.mu.Lock() // written after that round began: the next one
		default:
			s.syncLocked(seg)
		}
	}
	s.mu.Unlock()
	return nil
}

// gatherYields bounds how often a leader lets runnable goroutines go
// first before it takes its group.
const gatherYields = 4

// gatherLocked lets the goroutines that are ready to run (requests being
// read and decoded, about to append) go first, with s.mu released, for as
// long as each turn adds records to seg's group, up to gatherYields turns.
// An fdatasync costs the CPU of a few requests (on virtual disks, more),
// so when the CPU is the limit a larger group is more throughput; when
// nothing else is ready to run a turn returns at once, so a lone caller
// waits for nothing. Waiters that come meanwhile find seg syncing and join
// the round.
func (s *spool) gatherLocked(seg *segment) {
	for range gatherYields {
		n, hook := len(seg.pending), s.gathering
		s.mu.Unlock()
		if hook != nil {
			hook()
		}
		runtime.Gosched()
		s.mu.Lock()
		if len(seg.pending) == n {
			return
		}
	}
}

// syncLocked fsyncs seg with s.mu released meanwhile. A failed fsync seals
// the segment: Linux may have dropped the unwritten pages and would not
// report it again, so later records go to a new file, and every caller
// still waiting on this one is refused.
//
// With SyncAlways it first writes the records appended since the last
// write (seg.pending) in one call, and when they reach past the file's
// end it extends the file with zeros up to preallocBytes beyond them
// (within SegmentBytes and MaxBytes), so the next groups overwrite zeros.
// A failed write is handled as a failed fsync.
func (s *spool) syncLocked(seg *segment) {
	seg.syncing = true
	round := &syncRound{done: make(chan struct{})}
	seg.round = round
	if len(seg.pending) > 0 {
		s.gatherLocked(seg)
		if s.closed { // crashed meanwhile: nothing is written any more
			seg.syncing, seg.round = false, nil
			seg.err = fmt.Errorf("ingest: spool: %s closed before its fsync", seg.path)
			round.err = seg.err
			_ = seg.f.Close()
			seg.f = nil
			close(round.done)
			s.synced.Broadcast()
			return
		}
	}
	target, f, fsync := seg.size, seg.f, s.fsync
	group := seg.pending
	from := target - int64(len(group))
	seg.pending, seg.spare = seg.spare[:0], nil
	var zeroTo int64
	if len(group) > 0 && target > seg.filled {
		if want := min(target+preallocBytes, max(s.opts.SegmentBytes, target)); want > seg.disk {
			extra := min(want-seg.disk, s.opts.MaxBytes-s.bytes)
			if extra > 0 {
				seg.disk += extra
				s.bytes += extra
			}
		}
		zeroTo = seg.disk
	}
	round.target = target
	s.mu.Unlock()
	var err error
	if len(group) > 0 {
		if _, werr := f.WriteAt(group, from); werr != nil {
			err = fmt.Errorf("write: %w", werr)
		}
	}
	for at := target; err == nil && at < zeroTo; {
		n, werr := f.WriteAt(zeros[:min(int64(len(zeros)), zeroTo-at)], at)
		if werr != nil {
			err = fmt.Errorf("write: %w", werr)
		}
		at += int64(n)
	}
	if err == nil {
		err = fsync(f)
	}
	s.mu.Lock()
	seg.syncing = false
	seg.round = nil
	seg.spare = group[:0]
	// Readers may go on to these records even if the write or fsync
	// failed: what is torn is skipped as corrupt, not waited for.
	seg.wrote = max(seg.wrote, target)
	s.syncs++
	if err != nil {
		seg.err = fmt.Errorf("ingest: spool: fsync %s: %w", seg.path, err)
		s.log.Error("ingest: spool: fsync failed; waiting calls are refused and writing goes on in a new segment", "err", err)
		s.sealLocked(seg)
		round.err = seg.err
		seg.wrote = seg.size // records appended meanwhile are never written: read back as corrupt, not waited for
	} else {
		seg.synced = max(seg.synced, target)
		seg.filled = max(seg.filled, target, zeroTo)
	}
	s.closeFileLocked(seg)
	close(round.done)
	s.synced.Broadcast()
	if len(group) > 0 && s.onWritten != nil {
		s.onWritten()
	}
}

// syncPending fsyncs every segment with writes not yet on disk.
func (s *spool) syncPending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range append([]*segment(nil), s.segs...) {
		if !s.closed && seg.f != nil && !seg.syncing && seg.err == nil && seg.synced < seg.size {
			s.syncLocked(seg)
		}
	}
}

// syncEvery runs syncPending every period until the spool closes.
func (s *spool) syncEvery(period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.syncPending()
		case <-s.done:
			return
		}
	}
}

// sealLocked ends appends to seg.
func (s *spool) sealLocked(seg *segment) {
	seg.sealed = true
	if s.cur == seg {
		s.cur = nil
	}
	s.closeFileLocked(seg)
}

// closeFileLocked closes a sealed segment's file once no fsync is owed,
// cutting off the zeros past its records (not fsynced: a crash may leave
// them, and reading takes them for the end).
func (s *spool) closeFileLocked(seg *segment) {
	if seg.f == nil || seg.syncing || !seg.sealed {
		return
	}
	if !seg.deleted && seg.err == nil && seg.synced < seg.size && !s.closed {
		return
	}
	if !seg.deleted && seg.err == nil && seg.disk > seg.size && seg.filled >= seg.size {
		if err := seg.f.Truncate(seg.size); err != nil {
			s.log.Warn("ingest: spool: cannot cut the zeros off a finished segment", "file", seg.path, "err", err)
		} else {
			s.bytes -= seg.disk - seg.size
			seg.disk, seg.filled = seg.size, seg.size
			s.freedLocked()
		}
	}
	_ = seg.f.Close()
	seg.f = nil
}

// freedLocked wakes the calls waiting for space.
func (s *spool) freedLocked() {
	close(s.space)
	s.space = make(chan struct{})
}

// release records that every event below w is finished and deletes the
// segments holding only such events.
func (s *spool) release(w uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || w <= s.released {
		return
	}
	s.released = w
	s.dropFinishedLocked()
}

// dropFinishedLocked deletes the sealed segments at the front whose events
// are all finished.
func (s *spool) dropFinishedLocked() {
	for len(s.segs) > 0 && s.segs[0].sealed && s.segs[0].end <= s.released {
		s.deleteLocked(0)
	}
}

func (s *spool) deleteLocked(i int) {
	seg := s.segs[i]
	s.segs = append(s.segs[:i], s.segs[i+1:]...)
	s.bytes -= seg.disk
	seg.deleted = true
	s.sealLocked(seg)
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("ingest: spool: cannot delete a finished segment", "err", err)
	}
	s.freedLocked()
}

// stopIntake refuses every later append; appends under way have placed
// their records when it returns.
func (s *spool) stopIntake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.intakeClosed {
		s.intakeClosed = true
		close(s.space)
		s.space = make(chan struct{})
	}
}

// close deletes the segments finished below w, fsyncs and closes the
// others, records the next sequence number and unlocks the directory.
func (s *spool) close(w uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.intakeClosed = true
	s.released = max(s.released, w)
	if s.cur != nil && s.cur.end <= s.released {
		s.sealLocked(s.cur)
	}
	s.dropFinishedLocked()
	var errs []error
	for _, seg := range append([]*segment(nil), s.segs...) {
		for seg.syncing {
			s.synced.Wait()
		}
		if seg.f != nil && seg.err == nil && seg.synced < seg.size {
			s.syncLocked(seg)
			if seg.err != nil {
				errs = append(errs, seg.err)
			}
		}
	}
	s.cur = nil
	s.closed = true
	for _, seg := range s.segs {
		seg.sealed = true
		s.closeFileLocked(seg)
	}
	if err := s.writeLock(); err != nil {
		errs = append(errs, err)
	}
	if err := unlockDir(s.lock); err != nil {
		errs = append(errs, fmt.Errorf("ingest: spool: unlock %s: %w", s.dir, err))
	}
	close(s.done)
	s.synced.Broadcast()
	return errors.Join(errs...)
}

// crash stops the spool as a killed process would: files closed without
// fsync, the lock released, nothing written or deleted from then on.
func (s *spool) crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, seg := range s.segs {
		if seg.f != nil && !seg.syncing {
			_ = seg.f.Close()
			seg.f = nil
		}
	}
	_ = unlockDir(s.lock)
	close(s.done)
	s.synced.Broadcast()
}

// spoolStats is the spool's part of Stats.
type spoolStats struct {
	bytes, corruptBytes      int64
	segments                 int
	syncs, corrupt, replayed uint64
}

func (s *spool) stats() spoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return spoolStats{bytes: s.bytes, corruptBytes: s.corruptBytes, segments: len(s.segs),
		syncs: s.syncs, corrupt: s.corrupt, replayed: s.replayed}
}

// noteCorrupt counts corrupt bytes met while reading back.
func (s *spool) noteCorrupt(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt++
	s.corruptBytes += n
}
