package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A segment file starts with segmentMagic, then holds records back to back.
// It is named by the sequence number of its first event, zero-padded so
// names sort in sequence order.
const (
	segmentMagic     = "shspool1"
	segmentHeaderLen = int64(len(segmentMagic))
	segmentExt       = ".seg"
)

// segment is one spool file: the events first ≤ seq < end, in size bytes of
// complete records (after the header). Bytes past size are zeros written
// ahead of the records (see syncLocked), a torn or corrupt tail, or a
// record being written; readers never go past size.
type segment struct {
	path  string
	first uint64
	end   uint64
	size  int64
	tail  int64 // corrupt bytes after size, found by the start-up scan
	disk  int64 // the file's length once the writes under way are done; counted in spool.bytes

	// Write side, for the segment being appended to and until its last
	// writes are fsynced. Guarded by spool.mu.
	f       *os.File
	pending []byte     // with SyncAlways: records appended, not yet written (the last len(pending) bytes of size)
	spare   []byte     // the buffer the last write emptied, for reuse
	synced  int64      // bytes known to be on disk
	wrote   int64      // bytes of records known to be in the file
	filled  int64      // the file's length: records and zeros written to it
	syncing bool       // an fsync runs now (without spool.mu)
	round   *syncRound // that fsync, while syncing
	sealed  bool       // no more appends
	deleted bool
	err     error // the I/O error that sealed it
}

// written is how many bytes of the segment are in its file, where readers
// find them: size less what waits in pending for the next group write or
// is being written by it.
func (seg *segment) written() int64 { return seg.wrote }

func segmentName(first uint64) string {
	return fmt.Sprintf("%020d%s", first, segmentExt)
}

// parseSegmentName returns the first sequence number in a segment's name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	first, err := strconv.ParseUint(digits, 10, 64)
	return first, err == nil
}

// scanResult is what scanning one segment found.
type scanResult struct {
	events       uint64 // valid events
	corruptBytes int64  // bytes past the valid records
	reason       string // why the scan stopped early, if it did
}

// scanSegment reads the segment file at path, named for its first
// sequence number, verifying every record. It stops at the first record
// that is short, fails its CRC or does not carry the next sequence number:
// size and end then cover the valid records before it. Zeros after the
// last record are where the next records would have gone (segments are
// extended with zeros ahead of their records), not corruption; a torn or
// corrupt record before them is, up to the file's last non-zero byte.
// Only an error reading the file is returned as an error; corruption is
// not one.
func scanSegment(path string, first uint64) (*segment, scanResult, error) {
	seg := &segment{path: path, first: first, end: first}
	var res scanResult
	f, err := os.Open(path)
	if err != nil {
		return nil, res, fmt.Errorf("ingest: spool: open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, res, fmt.Errorf("ingest: spool: stat %s: %w", path, err)
	}
	seg.disk = info.Size()
	dataEnd, err := lastNonZero(f, seg.disk)
	if err != nil {
		return nil, res, fmt.Errorf("ingest: spool: read %s: %w", path, err)
	}
	if dataEnd == 0 {
		// Created, then the process died before the header was written.
		return seg, res, nil
	}
	stop := func(reason string) (*segment, scanResult, error) {
		res.corruptBytes = max(dataEnd-seg.size, 0)
		res.reason = reason
		return seg, res, nil
	}
	r := bufio.NewReaderSize(f, 1<<20)
	header := make([]byte, segmentHeaderLen)
	if _, err := io.ReadFull(r, header); err != nil || string(header) != segmentMagic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, res, fmt.Errorf("ingest: spool: read %s: %w", path, err)
		}
		return stop("no segment header")
	}
	seg.size, seg.wrote = segmentHeaderLen, segmentHeaderLen
	var buf []byte
	for seg.size < dataEnd {
		if seg.disk-seg.size < recordHeaderLen+payloadHeaderLen {
			return stop("short record")
		}
		buf = append(buf[:0], make([]byte, recordHeaderLen)...)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, res, fmt.Errorf("ingest: spool: read %s: %w", path, err)
		}
		l := payloadLen(buf)
		if l < payloadHeaderLen || l > seg.disk-seg.size-recordHeaderLen {
			return stop("record length past the end of the file")
		}
		buf = append(buf, make([]byte, l)...)
		if _, err := io.ReadFull(r, buf[recordHeaderLen:]); err != nil {
			return nil, res, fmt.Errorf("ingest: spool: read %s: %w", path, err)
		}
		seq, n, _, err := checkRecord(buf)
		if err != nil {
			return stop("bad checksum or structure")
		}
		if seq != seg.end {
			return stop(fmt.Sprintf("record of sequence %d where %d was due", seq, seg.end))
		}
		seg.end += uint64(n)
		seg.size += int64(len(buf))
		seg.wrote = seg.size
		res.events += uint64(n)
	}
	return seg, res, nil
}

// lastNonZero returns the offset just past the last non-zero byte of the
// first size bytes of f (0 if they are all zeros), reading backwards.
func lastNonZero(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		from := max(end-int64(len(buf)), 0)
		b := buf[:end-from]
		if _, err := f.ReadAt(b, from); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return from + int64(i) + 1, nil
			}
		}
		end = from
	}
	return 0, nil
}

// listSegments returns the segment files of dir in sequence order.
func listSegments(dir string) ([]string, []uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: spool: read %s: %w", dir, err)
	}
	var paths []string
	var firsts []uint64
	for _, e := range entries { // ReadDir sorts by name, so by sequence
		first, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		paths = append(paths, filepath.Join(dir, e.Name()))
		firsts = append(firsts, first)
	}
	return paths, firsts, nil
}
