package httpapi

import (
	"sync/atomic"

	"github.com/shoplytics/shoplytics/tracking"
)

// budget bounds the memory that ingestion bodies being read and decoded
// hold at once, across every request of the handler (Config.
// MaxDecodingBytes). A request charges it before it reads a byte of its
// body and as the body grows, then for its decoding and for its events,
// and gives everything back when it has answered. Taking and giving back
// is one atomic addition, so the budget costs the normal path nothing
// measurable; a request that would overdraw it is answered 503 at once.
type budget struct {
	max  int64
	used atomic.Int64
	// released, when set (by tests), is told what each request held.
	released func(held int64)
}

// charge is what one request holds of a budget.
type charge struct {
	b    *budget
	held int64
}

// to raises what the request holds to total bytes, if it holds less, and
// reports false, holding what it held, when the budget cannot give that
// much.
func (c *charge) to(total int64) bool {
	more := total - c.held
	if more <= 0 {
		return true
	}
	if c.b.used.Add(more) > c.b.max {
		c.b.used.Add(-more)
		return false
	}
	c.held = total
	return true
}

// add raises what the request holds by n bytes, as to does.
func (c *charge) add(n int64) bool { return c.to(c.held + n) }

// release gives back everything the request holds.
func (c *charge) release() {
	c.b.used.Add(-c.held)
	if c.b.released != nil {
		c.b.released(c.held)
	}
	c.held = 0
}

// What decoding a body allocates, measured over bodies of every shape by
// TestDecodingCostCoversWhatARequestAllocates, which keeps these figures
// honest. The body itself is charged apart, as it is read.
const (
	// decodeCostPerByte covers the fast decoder's buffers, which are
	// sized by the body (its strings, properties and spans, then their
	// copies at their exact size), or encoding/json's copies when it
	// decodes instead: about four bytes for each byte of body.
	decodeCostPerByte = 6
	// decodeCostPerElement covers what each element of an array costs
	// before it is an event: its slice and decoder state, and the slice
	// encoding/json keeps for it when the fast decoder hands the body on.
	// An element takes at least two bytes ("0,"), and a body at most
	// tracking.MaxBatchLen of them.
	decodeCostPerElement = 160
	// eventCost covers one decoded item once the request is authorised:
	// its tracking.Event (or its rejection), its generated id, and its
	// share of the duplicate check's map.
	eventCost = 1024
	// requestCost covers what every request allocates whatever its size:
	// the decoder's state, the answer.
	requestCost = 8 << 10
	// gzipCost covers a gzip reader: its window and tables.
	gzipCost = 64 << 10
	// firstRead is how much of a body is charged before reading it; the
	// charge then doubles as the body turns out longer, so a slow client
	// holds about what it has sent, not what it announced.
	firstRead = 16 << 10
)

// decodeCost is what decoding a body of n bytes may allocate, beyond the
// body and before its events.
func decodeCost(n int64) int64 {
	return requestCost + decodeCostPerByte*n + decodeCostPerElement*min(n/2+1, tracking.MaxBatchLen)
}

// worstCost is the most one request with a body of at most n bytes may
// hold: its body at the largest charge readBody makes, its decoding, and
// the most events a body that long may carry.
func worstCost(n int64) int64 {
	return gzipCost + 2*(n+1) + decodeCost(n) + eventCost*min(n/2+1, tracking.MaxBatchLen)
}
