package store

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// PersonHourKey identifies who was active in a UTC hour of a shop: a user
// id (User true) or an anonymous id.
type PersonHourKey struct {
	ShopID string
	Hour   time.Time
	User   bool
	ID     string
}

// PersonHour says how an id was active in an hour: Raw when an event of the
// hour is about it by itself (a user_id, or an anonymous_id of an event
// without one), Linked when an anonymous id had an event with a user_id
// too.
type PersonHour struct {
	Raw, Linked bool
}

// PersonHours accumulates the person rollup of a batch's inserted events.
// The zero value is empty and ready.
type PersonHours struct {
	rows map[PersonHourKey]PersonHour
}

// Add rolls e up.
func (p *PersonHours) Add(e *tracking.Event) {
	if p.rows == nil {
		p.rows = map[PersonHourKey]PersonHour{}
	}
	hour := e.Timestamp.UTC().Truncate(time.Hour)
	if e.UserID != "" {
		k := PersonHourKey{e.ShopID, hour, true, e.UserID}
		p.rows[k] = PersonHour{Raw: true}
	}
	if e.AnonymousID != "" {
		k := PersonHourKey{e.ShopID, hour, false, e.AnonymousID}
		r := p.rows[k]
		if e.UserID == "" {
			r.Raw = true
		} else {
			r.Linked = true
		}
		p.rows[k] = r
	}
}

// Keys returns the keys in (shop, hour, kind, id) order.
func (p *PersonHours) Keys() []PersonHourKey {
	keys := slices.Collect(maps.Keys(p.rows))
	slices.SortFunc(keys, func(a, b PersonHourKey) int {
		ua, ub := 0, 0
		if a.User {
			ua = 1
		}
		if b.User {
			ub = 1
		}
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), a.Hour.Compare(b.Hour), cmp.Compare(ua, ub), cmp.Compare(a.ID, b.ID))
	})
	return keys
}

// Row returns the row of k.
func (p *PersonHours) Row(k PersonHourKey) PersonHour { return p.rows[k] }

// Len is the number of rows.
func (p *PersonHours) Len() int { return len(p.rows) }

// Link is the earliest identify event of an anonymous id: the user it was
// identified as, when, and the event's id (the tie-break of equal times).
type Link struct {
	UserID string
	At     time.Time
	ID     string
}

// Before reports whether l is earlier than o, by time, then id.
func (l Link) Before(o Link) bool {
	return l.At.Before(o.At) || l.At.Equal(o.At) && l.ID < o.ID
}

// LinkKey identifies an anonymous id of a shop.
type LinkKey struct{ ShopID, AnonymousID string }

// Links accumulates the earliest identify link of each anonymous id of a
// batch's inserted events. The zero value is empty and ready.
type Links struct {
	links map[LinkKey]Link
}

// Add takes e when it is an identify event linking an anonymous id.
func (l *Links) Add(e *tracking.Event) {
	if e.Type != tracking.Identify || e.UserID == "" || e.AnonymousID == "" {
		return
	}
	if l.links == nil {
		l.links = map[LinkKey]Link{}
	}
	k := LinkKey{e.ShopID, e.AnonymousID}
	n := Link{UserID: e.UserID, At: e.Timestamp, ID: e.ID}
	if old, ok := l.links[k]; !ok || n.Before(old) {
		l.links[k] = n
	}
}

// Keys returns the keys in (shop, anonymous id) order.
func (l *Links) Keys() []LinkKey {
	keys := slices.Collect(maps.Keys(l.links))
	slices.SortFunc(keys, func(a, b LinkKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.AnonymousID, b.AnonymousID))
	})
	return keys
}

// Link returns the link of k.
func (l *Links) Link(k LinkKey) Link { return l.links[k] }

// Len is the number of links.
func (l *Links) Len() int { return len(l.links) }
