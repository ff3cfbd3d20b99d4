package ingest

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"sync"

	"github.com/shoplytics/shoplytics/tracking"
)

// A record holds the events of one Enqueue or TryEnqueue call, so a call is
// on disk all or none:
//
//	[u32 payload length][u32 CRC-32C of payload][payload]
//	payload: [u64 seq of the first event][u32 event count]
//	         count × ([u32 length][event JSON as tracking.Event.AppendJSON writes it])
//
// Integers are little-endian. The CRC and the length catch a torn write at
// the tail of a file and garbage anywhere: a reader never takes them for
// events.
const (
	recordHeaderLen  = 8
	payloadHeaderLen = 12
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record that fails its length, CRC or structure check.
var errCorrupt = errors.New("corrupt record")

// record is a record being built: the encoded bytes and the event count.
type record struct {
	b []byte
	n int
}

var recordPool = sync.Pool{New: func() any { return new(record) }}

// encodeRecord encodes events into a pooled record whose sequence number is
// set later by seal, under the lock that assigns it.
func encodeRecord(events []tracking.Event) *record {
	r := recordPool.Get().(*record)
	b := append(r.b[:0], make([]byte, recordHeaderLen+payloadHeaderLen)...)
	for i := range events {
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		b = events[i].AppendJSON(b)
		binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	}
	r.b, r.n = b, len(events)
	return r
}

// seal writes the header of r for events starting at seq.
func (r *record) seal(seq uint64) {
	b := r.b
	binary.LittleEndian.PutUint32(b[0:], uint32(len(b)-recordHeaderLen))
	binary.LittleEndian.PutUint64(b[recordHeaderLen:], seq)
	binary.LittleEndian.PutUint32(b[recordHeaderLen+8:], uint32(r.n))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[recordHeaderLen:], castagnoli))
}

// release returns r to the pool, dropping buffers grown by a huge call.
func (r *record) release() {
	if cap(r.b) > 1<<20 {
		r.b = nil
	}
	recordPool.Put(r)
}

// payloadLen returns the payload length a record header announces.
func payloadLen(header []byte) int64 {
	return int64(binary.LittleEndian.Uint32(header))
}

// checkRecord verifies a whole record (header and payload) and returns its
// first sequence number, its event count and the encoded events.
func checkRecord(b []byte) (seq uint64, n int, body []byte, err error) {
	if len(b) < recordHeaderLen+payloadHeaderLen || payloadLen(b) != int64(len(b)-recordHeaderLen) {
		return 0, 0, nil, errCorrupt
	}
	payload := b[recordHeaderLen:]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, 0, nil, errCorrupt
	}
	seq = binary.LittleEndian.Uint64(payload)
	n = int(binary.LittleEndian.Uint32(payload[8:]))
	body = payload[payloadHeaderLen:]
	// The structure must hold exactly n events.
	rest := body
	for range n {
		if len(rest) < 4 {
			return 0, 0, nil, errCorrupt
		}
		l := int64(binary.LittleEndian.Uint32(rest))
		if l > int64(len(rest)-4) {
			return 0, 0, nil, errCorrupt
		}
		rest = rest[4+l:]
	}
	if len(rest) != 0 || n == 0 {
		return 0, 0, nil, errCorrupt
	}
	return seq, n, body, nil
}

// decodeEvents decodes the n events of a record body checked by
// checkRecord.
func decodeEvents(body []byte, n int) ([]tracking.Event, error) {
	events := make([]tracking.Event, n)
	for i := range events {
		l := binary.LittleEndian.Uint32(body)
		e, err := tracking.DecodeStored(body[4 : 4+l])
		if err != nil {
			return nil, err
		}
		events[i] = e
		body = body[4+l:]
	}
	return events, nil
}
