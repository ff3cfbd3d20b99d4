package pgstore

import (
	"math/rand/v2"
	"sync"
)

// rollupSlots is how many slots the rollup rows every batch of a shop adds
// to are split over (migrations/0008_rollup_slots.sql).
const rollupSlots = 8

// slots hands each Append in progress a slot of the rollup rows: the one
// the fewest appends of the store write at the moment, so concurrent
// appends of one store write different rows and take no turns at them.
// The first is chosen at random per store, so that stores of several
// processes sharing a schema tend to start apart; any two appends may
// share a slot, which only makes them wait for each other.
type slots struct {
	mu    sync.Mutex
	first int
	users [rollupSlots]int
}

func newSlots() *slots { return &slots{first: rand.IntN(rollupSlots)} }

// take returns a slot for an append; give it back with give.
func (p *slots) take() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := p.first
	for i := 1; i < rollupSlots; i++ {
		if j := (p.first + i) % rollupSlots; p.users[j] < p.users[best] {
			best = j
		}
	}
	p.users[best]++
	return best
}

func (p *slots) give(slot int) {
	p.mu.Lock()
	p.users[slot]--
	p.mu.Unlock()
}
