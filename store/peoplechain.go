package store

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// People chains: how SQL stores answer PeopleReader.CountPeople from a few
// thousand rows whatever the range, kept in Append's transaction. The
// stores keep, per shop, three kinds of chain of UTC hours:
//
//   - ChainUser, a user: the hours of the user's own PersonHours rows and
//     of the Raw rows of every anonymous id identified (Links) as them,
//     each with the number of those rows;
//   - ChainAnon, an anonymous id never identified: the hours of its rows;
//   - ChainLinked, the same id: the hours of its Linked rows;
//
// each row knowing the chain's next hour; the rows counted per kind, hour
// and UTC day of the chain's previous hour (ChainCell); and the Linked rows
// of identified ids in an hour ending at or before their identify
// (Premature). The distinct people of [A, B) are then
//
//	users + anons − linked − premature
//
// where each of the first three is the chains of its kind with a row in
// the range: the cells of the range's hours whose previous day is before
// A's, plus the rows of A's day before A whose next hour is in the range;
// linked takes out the never-identified ids counted as the user of a
// linked row of the range (counted already); and premature is the users
// counted only through identified ids with a Linked row in the range and
// an identify at or after B, who count as nobody new there. Instants are
// microseconds since the Unix epoch.
const (
	ChainUser   = "u"
	ChainAnon   = "r"
	ChainLinked = "l"
)

// NoPrevDay is the ChainCell.PrevDay of a chain's first row; NoHour a
// missing previous or next hour.
const (
	NoPrevDay = int64(math.MinInt64)
	NoHour    = int64(math.MaxInt64)
)

const (
	dayMicros  = int64(24 * time.Hour / time.Microsecond)
	hourMicros = int64(time.Hour / time.Microsecond)
)

// DayOf returns the start of the UTC day of us, microseconds since the
// epoch.
func DayOf(us int64) int64 { return us - ((us%dayMicros)+dayMicros)%dayMicros }

// MicroBounds returns f's bounds in microseconds, the zero ones as the
// extremes.
func MicroBounds(f *Filter) (from, to int64) {
	from, to = math.MinInt64, math.MaxInt64
	if !f.From.IsZero() {
		from = f.From.UnixMicro()
	}
	if !f.To.IsZero() {
		to = f.To.UnixMicro()
	}
	return from, to
}

// ChainKey is one chain of a shop.
type ChainKey struct{ ShopID, Kind, Key string }

// ChainCell is a count of chain rows: of Kind, at Hour, whose previous row
// is in the day PrevDay (NoPrevDay for none).
type ChainCell struct {
	ShopID, Kind  string
	PrevDay, Hour int64
}

// Premature is a linked person-hour of an identified anonymous id in an
// hour ending at or before its identify.
type Premature struct {
	ShopID      string
	Hour        int64
	AnonymousID string
}

// AnonHour is a stored PersonHours row of an anonymous id.
type AnonHour struct {
	Hour        int64
	Raw, Linked bool
}

// ChainChanges are the changes a batch makes to the chains: row counts
// per chain and hour, and premature rows to delete and insert (deletes
// first).
type ChainChanges struct {
	Deltas         map[ChainKey]map[int64]int64
	Delete, Insert []Premature
}

func (c *ChainChanges) add(k ChainKey, hour, n int64) {
	if c.Deltas == nil {
		c.Deltas = map[ChainKey]map[int64]int64{}
	}
	m := c.Deltas[k]
	if m == nil {
		m = map[int64]int64{}
		c.Deltas[k] = m
	}
	if m[hour] += n; m[hour] == 0 {
		delete(m, hour)
	}
	if len(m) == 0 {
		delete(c.Deltas, k)
	}
}

// Keys returns the chains with changes in (shop, kind, key) order.
func (c *ChainChanges) Keys() []ChainKey {
	return slices.SortedFunc(maps.Keys(c.Deltas), func(a, b ChainKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
}

// Bounds returns the first and last hour k changes.
func (c *ChainChanges) Bounds(k ChainKey) (lo, hi int64) {
	lo, hi = math.MaxInt64, math.MinInt64
	for h := range c.Deltas[k] {
		lo, hi = min(lo, h), max(hi, h)
	}
	return lo, hi
}

// isPremature reports whether a linked row at hour is premature for a
// link made at linkAt.
func isPremature(hour int64, linkAt time.Time) bool { return linkAt.UnixMicro() >= hour+hourMicros }

// LinkAnonKeys returns the anonymous ids of a batch's person rows and
// links, in order: those whose stored links ChangeChains needs.
func LinkAnonKeys(people *PersonHours, links *Links) []LinkKey {
	set := map[LinkKey]bool{}
	for k := range people.rows {
		if !k.User {
			set[LinkKey{k.ShopID, k.ID}] = true
		}
	}
	for k := range links.links {
		set[k] = true
	}
	return slices.SortedFunc(maps.Keys(set), func(a, b LinkKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.AnonymousID, b.AnonymousID))
	})
}

// ChangeChains returns the chain changes of a batch's person rows and
// links, given the person rows stored before it (old, of the batch's
// keys), the stored links of LinkAnonKeys, and stored, which reads every
// stored person row of an anonymous id whose link the batch changes (its
// rows move to the chains of who it now is).
func ChangeChains(people *PersonHours, links *Links, old map[PersonHourKey]PersonHour, linked map[LinkKey]Link,
	stored func(LinkKey) ([]AnonHour, error)) (ChainChanges, error) {
	var c ChainChanges
	final := maps.Clone(linked)
	if final == nil {
		final = map[LinkKey]Link{}
	}
	var changed []LinkKey
	for _, k := range links.Keys() {
		l := links.Link(k)
		if cur, ok := final[k]; !ok || l.Before(cur) {
			final[k] = l
			changed = append(changed, k)
		}
	}
	for _, k := range changed {
		rows, err := stored(k)
		if err != nil {
			return c, err
		}
		was, had := linked[k]
		is := final[k]
		for _, r := range rows {
			if had {
				if r.Raw {
					c.add(ChainKey{k.ShopID, ChainUser, was.UserID}, r.Hour, -1)
				}
				if r.Linked && isPremature(r.Hour, was.At) {
					c.Delete = append(c.Delete, Premature{k.ShopID, r.Hour, k.AnonymousID})
				}
			} else {
				c.add(ChainKey{k.ShopID, ChainAnon, k.AnonymousID}, r.Hour, -1)
				if r.Linked {
					c.add(ChainKey{k.ShopID, ChainLinked, k.AnonymousID}, r.Hour, -1)
				}
			}
			if r.Raw {
				c.add(ChainKey{k.ShopID, ChainUser, is.UserID}, r.Hour, 1)
			}
			if r.Linked && isPremature(r.Hour, is.At) {
				c.Insert = append(c.Insert, Premature{k.ShopID, r.Hour, k.AnonymousID})
			}
		}
	}
	for _, k := range people.Keys() {
		o, existed := old[k]
		n := people.Row(k)
		raw, linkedNow := o.Raw || n.Raw, o.Linked || n.Linked
		hour := k.Hour.UnixMicro()
		if k.User {
			if !existed {
				c.add(ChainKey{k.ShopID, ChainUser, k.ID}, hour, 1)
			}
			continue
		}
		if l, ok := final[LinkKey{k.ShopID, k.ID}]; ok {
			if raw && !o.Raw {
				c.add(ChainKey{k.ShopID, ChainUser, l.UserID}, hour, 1)
			}
			if linkedNow && !o.Linked && isPremature(hour, l.At) {
				c.Insert = append(c.Insert, Premature{k.ShopID, hour, k.ID})
			}
			continue
		}
		if !existed {
			c.add(ChainKey{k.ShopID, ChainAnon, k.ID}, hour, 1)
		}
		if linkedNow && !o.Linked {
			c.add(ChainKey{k.ShopID, ChainLinked, k.ID}, hour, 1)
		}
	}
	return c, nil
}

// ChainRow is a stored chain row: an hour and its count.
type ChainRow struct{ Hour, N int64 }

// ChainWindow is what a store holds of a chain around its changes: the
// rows from the first changed hour to the last (Bounds), in any order, and
// the hours of the rows just before and after them (NoHour for none).
type ChainWindow struct {
	Rows       []ChainRow
	Prev, Next int64
}

// SQLRows is the part of a database/sql result (*sql.Rows) that
// ReadChainWindows and MostPurchased read.
type SQLRows interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}

// ReadChainWindows reads the rows of a store's window query into
// windows, which holds a window for each key the query names, and closes
// rows. A row is shop id, kind, key, where, hour and count: where < 0
// names the hour (NULL for none) of the row just before the window,
// where > 0 the one just after, 0 a row inside it.
func ReadChainWindows(rows SQLRows, windows map[ChainKey]*ChainWindow) error {
	for rows.Next() {
		var (
			k     ChainKey
			where int
			hour  *int64
			n     int64
		)
		if err := rows.Scan(&k.ShopID, &k.Kind, &k.Key, &where, &hour, &n); err != nil {
			rows.Close()
			return err
		}
		w := windows[k]
		switch {
		case hour == nil:
		case where < 0:
			w.Prev = *hour
		case where > 0:
			w.Next = *hour
		default:
			w.Rows = append(w.Rows, ChainRow{Hour: *hour, N: n})
		}
	}
	rows.Close()
	return rows.Err()
}

// MostPurchased reads rows of product id and purchases, one a product,
// and closes them: the ids tied for the most purchases, in the rows'
// order, none when no product has any.
func MostPurchased(rows SQLRows) ([]string, error) {
	var (
		best int64
		tied []string
	)
	for rows.Next() {
		var (
			id string
			n  int64
		)
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		switch {
		case n > best:
			best, tied = n, []string{id}
		case n == best && n > 0:
			tied = append(tied, id)
		}
	}
	rows.Close()
	return tied, rows.Err()
}

// WriteChains returns what the changes c make of the windows of keys
// (each key's window read by the store, Apply in keys' order).
func WriteChains(c *ChainChanges, keys []ChainKey, windows map[ChainKey]*ChainWindow) (ChainWrites, error) {
	var w ChainWrites
	for _, k := range keys {
		if err := w.Apply(k, *windows[k], c.Deltas[k]); err != nil {
			return ChainWrites{}, err
		}
	}
	return w, nil
}

// ChainNode is a chain row to write: its hour, count and next hour
// (NoHour for none).
type ChainNode struct{ Hour, N, Next int64 }

// ChainWrites is what applying changes to chains writes: rows to delete
// (their hours per chain), rows to insert or update, the next hour of the
// rows before windows (Prev nodes: only Next is to be set), and cell
// count changes.
type ChainWrites struct {
	Delete map[ChainKey][]int64
	Put    map[ChainKey][]ChainNode
	Prev   map[ChainKey]ChainNode
	Cells  map[ChainCell]int64
}

// Apply adds to w what the changes of k make of its window.
func (w *ChainWrites) Apply(k ChainKey, win ChainWindow, deltas map[int64]int64) error {
	if w.Cells == nil {
		w.Delete, w.Put, w.Prev, w.Cells = map[ChainKey][]int64{}, map[ChainKey][]ChainNode{}, map[ChainKey]ChainNode{}, map[ChainCell]int64{}
	}
	old := slices.Clone(win.Rows)
	slices.SortFunc(old, func(a, b ChainRow) int { return cmp.Compare(a.Hour, b.Hour) })
	byHour := make(map[int64]int64, len(old)+len(deltas))
	for _, r := range old {
		byHour[r.Hour] = r.N
	}
	for h, d := range deltas {
		byHour[h] += d
	}
	var rows []ChainRow
	for h, n := range byHour {
		switch {
		case n < 0:
			return fmt.Errorf("store: people chain %s %q at %d would count %d rows", k.Kind, k.Key, h, n)
		case n > 0:
			rows = append(rows, ChainRow{h, n})
		}
	}
	slices.SortFunc(rows, func(a, b ChainRow) int { return cmp.Compare(a.Hour, b.Hour) })
	// Every row's cell is after the row before it (the first's after
	// Prev), and so is Next's.
	count := func(rows []ChainRow, sign int64) {
		pred := win.Prev
		for _, r := range append(rows, ChainRow{Hour: win.Next}) {
			if r.Hour == NoHour {
				break
			}
			day := NoPrevDay
			if pred != NoHour {
				day = DayOf(pred)
			}
			w.Cells[ChainCell{k.ShopID, k.Kind, day, r.Hour}] += sign
			pred = r.Hour
		}
	}
	count(old, -1)
	count(rows, 1)
	nextOf := func(rows []ChainRow, i int) int64 {
		if i+1 < len(rows) {
			return rows[i+1].Hour
		}
		return win.Next
	}
	at := make(map[int64]int, len(old))
	for i, r := range old {
		at[r.Hour] = i
	}
	for i, r := range rows {
		next := nextOf(rows, i)
		if j, ok := at[r.Hour]; ok && old[j].N == r.N && nextOf(old, j) == next {
			continue
		}
		w.Put[k] = append(w.Put[k], ChainNode{r.Hour, r.N, next})
	}
	for _, r := range old {
		if byHour[r.Hour] <= 0 {
			w.Delete[k] = append(w.Delete[k], r.Hour)
		}
	}
	if win.Prev != NoHour {
		first := func(rows []ChainRow) int64 {
			if len(rows) > 0 {
				return rows[0].Hour
			}
			return win.Next
		}
		if before, after := first(old), first(rows); before != after {
			w.Prev[k] = ChainNode{Hour: win.Prev, Next: after}
		}
	}
	return nil
}

// CellKeys returns the cells with a non-zero change, in order.
func (w *ChainWrites) CellKeys() []ChainCell {
	keys := slices.Collect(maps.Keys(w.Cells))
	keys = slices.DeleteFunc(keys, func(c ChainCell) bool { return w.Cells[c] == 0 })
	slices.SortFunc(keys, func(a, b ChainCell) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.PrevDay, b.PrevDay), cmp.Compare(a.Hour, b.Hour))
	})
	return keys
}

// PurchaseDay is a product's purchases of a UTC day.
type PurchaseDay struct {
	ShopID    string
	Day       int64
	ProductID string
}

// PurchaseDays sums the purchases of product rows per product and UTC day,
// over currencies.
func PurchaseDays(p *ProductHours) map[PurchaseDay]int64 {
	out := map[PurchaseDay]int64{}
	for _, k := range p.Keys() {
		if r := p.Row(k); r.Purchases != 0 {
			out[PurchaseDay{k.ShopID, DayOf(k.Hour.UnixMicro()), k.ProductID}] += r.Purchases
		}
	}
	return out
}

// PurchaseDayKeys returns the keys of days in order.
func PurchaseDayKeys(days map[PurchaseDay]int64) []PurchaseDay {
	return slices.SortedFunc(maps.Keys(days), func(a, b PurchaseDay) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.Day, b.Day), cmp.Compare(a.ProductID, b.ProductID))
	})
}

// DayRanges splits [from, to) (microseconds; math.MinInt64 and
// math.MaxInt64 for no bound, whole hours otherwise) into whole UTC days
// [d0, d1) and the hours [from, h0) and [h1, to) of its partial days.
func DayRanges(from, to int64) (d0, d1, h0, h1 int64) {
	d0, d1 = math.MinInt64, math.MaxInt64
	if from != math.MinInt64 {
		if d0 = DayOf(from); d0 != from {
			d0 += dayMicros
		}
	}
	if to != math.MaxInt64 {
		d1 = DayOf(to)
	}
	h0, h1 = d0, d1
	if d0 >= d1 { // within one day: all partial
		return 0, 0, to, to
	}
	return d0, d1, h0, h1
}
