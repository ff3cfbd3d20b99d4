package ingest

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/shoplytics/shoplytics/tracking"
)

// noSegment is the segment of a position past every segment.
const noSegment = math.MaxUint64

// position is where the next record to read back starts: in the segment
// named seg, at byte off, holding sequence number seq.
type position struct {
	seg uint64
	off int64
	seq uint64
}

// item is what reading back yields: the events seq ≤ s < seq+n of one
// record, or, with events nil, a gap of sequence numbers that no valid
// record holds (a corrupt stretch).
type item struct {
	seq    uint64
	n      uint64
	events []tracking.Event
}

// spoolReader reads records back from the spool files in sequence order,
// for the events that did not fit in memory when they came, and for those
// an earlier run left behind. It reads only the complete records a segment
// is known to hold, never a record being written.
type spoolReader struct {
	s      *spool
	pos    position
	f      *os.File // open on segment fseg
	fseg   uint64
	buf    []byte // file bytes from bufOff
	bufOff int64
}

const readAhead = 256 << 10

func (r *spoolReader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}

// read returns the items after r.pos holding at most room events, and
// advances r.pos past them. It returns none when the next record holds
// more than room events or nothing is written past r.pos.
func (r *spoolReader) read(room int) ([]item, error) {
	var items []item
	for len(items) < 1024 {
		s := r.s
		s.mu.Lock()
		var seg *segment
		for _, sg := range s.segs {
			if sg.end > r.pos.seq {
				seg = sg
				break
			}
		}
		next := s.next
		var path string
		var first, end uint64
		var size int64
		if seg != nil {
			path, first, end, size = seg.path, seg.first, seg.end, seg.written()
		}
		s.mu.Unlock()
		if seg == nil {
			if next > r.pos.seq {
				items = append(items, item{seq: r.pos.seq, n: next - r.pos.seq})
				r.pos = position{seg: noSegment, seq: next}
			}
			return items, nil
		}
		if first != r.pos.seg {
			if first > r.pos.seq {
				items = append(items, item{seq: r.pos.seq, n: first - r.pos.seq})
				r.pos.seq = first
			}
			r.pos.seg, r.pos.off = first, segmentHeaderLen
		}
		if r.pos.off >= size {
			return items, nil
		}
		b, err := r.recordAt(path, first, r.pos.off, size)
		if err != nil {
			return items, err
		}
		var seq uint64
		var n int
		var body []byte
		if b != nil {
			seq, n, body, err = checkRecord(b)
		}
		if b == nil || err != nil || (seq != r.pos.seq && seq+uint64(n) > r.pos.seq) {
			// Skip what is known of this segment: record boundaries past
			// a corrupt one cannot be trusted.
			s.noteCorrupt(size - r.pos.off)
			s.log.Error("ingest: spool: corrupt record; skipping the rest of its segment", "file", path, "offset", r.pos.off, "bytes", size-r.pos.off)
			items = append(items, item{seq: r.pos.seq, n: end - r.pos.seq})
			r.pos.off, r.pos.seq = size, end
			continue
		}
		if seq+uint64(n) <= r.pos.seq { // before the position: already read
			r.pos.off += int64(len(b))
			continue
		}
		if n > room {
			return items, nil
		}
		events, err := decodeEvents(body, n)
		if err != nil {
			s.noteCorrupt(int64(len(b)))
			s.log.Error("ingest: spool: undecodable record skipped", "file", path, "offset", r.pos.off, "events", n, "err", err)
			events = nil
		} else {
			room -= n
		}
		items = append(items, item{seq: seq, n: uint64(n), events: events})
		r.pos.off += int64(len(b))
		r.pos.seq += uint64(n)
	}
	return items, nil
}

// recordAt returns the bytes of the record at off in the segment file,
// which holds size bytes of complete records, or nil if the record's
// length does not fit in them.
func (r *spoolReader) recordAt(path string, first uint64, off, size int64) ([]byte, error) {
	if r.f == nil || r.fseg != first {
		r.close()
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("ingest: spool: open %s: %w", path, err)
		}
		r.f, r.fseg, r.buf, r.bufOff = f, first, r.buf[:0], 0
	}
	if size-off < recordHeaderLen {
		return nil, nil
	}
	header, err := r.bytesAt(off, recordHeaderLen, size)
	if err != nil {
		return nil, err
	}
	total := recordHeaderLen + payloadLen(header)
	if total > size-off {
		return nil, nil
	}
	return r.bytesAt(off, total, size)
}

// bytesAt returns n file bytes at off, reading ahead up to size.
func (r *spoolReader) bytesAt(off, n, size int64) ([]byte, error) {
	if off >= r.bufOff && off+n <= r.bufOff+int64(len(r.buf)) {
		return r.buf[off-r.bufOff : off-r.bufOff+n], nil
	}
	want := min(max(n, readAhead), size-off)
	if int64(cap(r.buf)) < want {
		r.buf = make([]byte, want)
	}
	r.buf = r.buf[:want]
	if _, err := r.f.ReadAt(r.buf, off); err != nil && err != io.EOF {
		r.buf = r.buf[:0]
		return nil, fmt.Errorf("ingest: spool: read %s: %w", r.f.Name(), err)
	}
	r.bufOff = off
	return r.buf[:n], nil
}
