package store

import "github.com/shoplytics/shoplytics/tracking"

// Key identifies a stored event: ids are unique within a shop.
type Key struct{ ShopID, ID string }

// KeyOf returns e's key.
func KeyOf(e *tracking.Event) Key { return Key{e.ShopID, e.ID} }

// SplitBatch prepares an Append: it returns the positions of the first
// occurrence of each key in events, and a Duplicate slice with every later
// occurrence already marked. Backends then insert only the unique positions
// and mark those the store already held.
func SplitBatch(events []tracking.Event) (unique []int, dup []bool) {
	dup = make([]bool, len(events))
	unique = make([]int, 0, len(events))
	seen := make(map[Key]struct{}, len(events))
	for i := range events {
		k := KeyOf(&events[i])
		if _, ok := seen[k]; ok {
			dup[i] = true
			continue
		}
		seen[k] = struct{}{}
		unique = append(unique, i)
	}
	return unique, dup
}

// Result builds an AppendResult from a Duplicate slice.
func Result(dup []bool) AppendResult {
	r := AppendResult{Duplicate: dup}
	for _, d := range dup {
		if d {
			r.Duplicates++
		} else {
			r.Inserted++
		}
	}
	return r
}
