package store

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// SessionGap is the inactivity that ends a session of events without a
// session_id: an event this long or longer after the previous event of its
// device starts a new session. analytics defines sessions by it; the
// session rollups follow it.
const SessionGap = 30 * time.Minute

// Session kinds: how a session's events are found.
const (
	// SessionByID is a session_id: every event carrying it.
	SessionByID = "s"
	// SessionOfAnon is a run of the events of an anonymous_id that carry
	// no session_id, split at SessionGap.
	SessionOfAnon = "a"
	// SessionOfUser is the same for events with neither a session_id nor
	// an anonymous_id, by their user_id.
	SessionOfUser = "u"
)

// SessionGroup is where an event's session is looked for: its shop, kind
// and key (the session_id, anonymous_id or user_id).
type SessionGroup struct {
	ShopID, Kind, Key string
}

// SessionGroupOf returns the group of e; ok is false for an event with no
// session, device or user id.
func SessionGroupOf(e *tracking.Event) (g SessionGroup, ok bool) {
	switch {
	case e.SessionID != "":
		return SessionGroup{e.ShopID, SessionByID, e.SessionID}, true
	case e.AnonymousID != "":
		return SessionGroup{e.ShopID, SessionOfAnon, e.AnonymousID}, true
	case e.UserID != "":
		return SessionGroup{e.ShopID, SessionOfUser, e.UserID}, true
	}
	return SessionGroup{}, false
}

// Gap is the inactivity that splits the group's sessions; 0 for a
// session_id, which never splits.
func (g SessionGroup) Gap() time.Duration {
	if g.Kind == SessionByID {
		return 0
	}
	return SessionGap
}

// Session is what the session rollups keep of one session: every event of
// a session_id, or one run of a device's events.
type Session struct {
	SessionGroup
	// Start and End are the times of its first and last event.
	Start, End time.Time
	// Events counts its events; Views its page_viewed and product_viewed
	// events; Adds its add_to_cart; Purchases its purchase_completed.
	Events, Views, Adds, Purchases int64
	// Trail is its events of canonical types, for funnels (see Trail);
	// kept by a FunnelReader backend, not sorted until encoded.
	Trail Trail
}

// Add counts e, an event of the session, into s.
func (s *Session) Add(e *tracking.Event) {
	if s.Events == 0 || e.Timestamp.Before(s.Start) {
		s.Start = e.Timestamp
	}
	if s.Events == 0 || e.Timestamp.After(s.End) {
		s.End = e.Timestamp
	}
	s.Events++
	s.Trail.add(e)
	switch e.Type {
	case tracking.PageViewed, tracking.ProductViewed:
		s.Views++
	case tracking.AddToCart:
		s.Adds++
	case tracking.PurchaseCompleted:
		s.Purchases++
	}
}

// merge adds o, a session of the same group, into s. It appends o's trail
// to s's in place: s must own its trail's array (Merge clips it first).
func (s *Session) merge(o *Session) {
	if s.Events == 0 || o.Start.Before(s.Start) {
		s.Start = o.Start
	}
	if s.Events == 0 || o.End.After(s.End) {
		s.End = o.End
	}
	s.Events += o.Events
	s.Views += o.Views
	s.Adds += o.Adds
	s.Purchases += o.Purchases
	if len(o.Trail) > 0 {
		s.Trail = append(s.Trail, o.Trail...)
	}
}

// Bounced reports a session of exactly one page_viewed or product_viewed
// and nothing else.
func (s *Session) Bounced() bool { return s.Events == 1 && s.Views == 1 }

// Sessions gathers the inserted events of a batch by session group, for a
// backend that keeps a table of Sessions as it appends. The zero value is
// empty and ready.
type Sessions struct {
	groups map[SessionGroup][]Session
}

// Add takes e, an event the batch inserted.
func (z *Sessions) Add(e *tracking.Event) {
	g, ok := SessionGroupOf(e)
	if !ok {
		return
	}
	if z.groups == nil {
		z.groups = map[SessionGroup][]Session{}
	}
	s := Session{SessionGroup: g}
	s.Add(e)
	z.groups[g] = append(z.groups[g], s)
}

// Groups returns the groups of the batch in (shop, kind, key) order, the
// order in which writers should lock them.
func (z *Sessions) Groups() []SessionGroup {
	gs := slices.Collect(maps.Keys(z.groups))
	slices.SortFunc(gs, func(a, b SessionGroup) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	return gs
}

// Window is the span of the group's new events widened by its gap: the
// stored sessions of the group that may join them are those with
// End > lo and Start < hi (for a session_id, every stored one).
func (z *Sessions) Window(g SessionGroup) (lo, hi time.Time) {
	for i, s := range z.groups[g] {
		if i == 0 || s.Start.Before(lo) {
			lo = s.Start
		}
		if i == 0 || s.End.After(hi) {
			hi = s.End
		}
	}
	return lo.Add(-g.Gap()), hi.Add(g.Gap())
}

// Merge joins the group's new events with stored, the group's stored
// sessions near them (see Window; more do no harm), by the session rule:
// it returns the stored sessions to delete and the sessions to write in
// their place. A stored session that no new event joins is in neither.
func (z *Sessions) Merge(g SessionGroup, stored []Session) (removed, added []Session) {
	type item struct {
		s      Session
		stored bool
	}
	items := make([]item, 0, len(stored)+len(z.groups[g]))
	for _, s := range stored {
		items = append(items, item{s, true})
	}
	for _, s := range z.groups[g] {
		items = append(items, item{s, false})
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.s.Start.Compare(b.s.Start) })
	gap := g.Gap()
	for i := 0; i < len(items); {
		cur := items[i].s
		// Clipped, the first append copies the trail and later ones grow
		// the copy: never the array of a stored or batch session, and
		// linear in a cluster of many events (one session_id sent with a
		// whole batch), where a copy per merge would be quadratic.
		cur.Trail = slices.Clip(cur.Trail)
		old := []Session(nil)
		if items[i].stored {
			old = append(old, items[i].s)
		}
		fresh := !items[i].stored
		j := i + 1
		// The items are in start order and each is internally connected,
		// so the next joins when it starts within gap of the cluster's end.
		for ; j < len(items) && (gap == 0 || items[j].s.Start.Sub(cur.End) < gap); j++ {
			cur.merge(&items[j].s)
			if items[j].stored {
				old = append(old, items[j].s)
			} else {
				fresh = true
			}
		}
		if fresh {
			removed = append(removed, old...)
			added = append(added, cur)
		}
		i = j
	}
	return removed, added
}

// SessionHour is the rollup of the sessions that start in one UTC hour:
// how many, and how many of them have a purchase (Buying), an add_to_cart
// (Carting), an add_to_cart and no purchase (Abandoning), or bounced, and
// the sum of their lengths (last event − first) in microseconds.
type SessionHour struct {
	Hour                                                         time.Time
	Sessions, Buying, Carting, Abandoning, Bounced, LengthMicros int64
}

// Add counts s into the row, or with sign −1 takes it out.
func (r *SessionHour) Add(s *Session, sign int64) {
	r.Sessions += sign
	if s.Purchases > 0 {
		r.Buying += sign
	}
	if s.Adds > 0 {
		r.Carting += sign
		if s.Purchases == 0 {
			r.Abandoning += sign
		}
	}
	if s.Bounced() {
		r.Bounced += sign
	}
	r.LengthMicros += sign * s.End.Sub(s.Start).Microseconds()
}

// Merge adds o into r.
func (r *SessionHour) Merge(o *SessionHour) {
	r.Sessions += o.Sessions
	r.Buying += o.Buying
	r.Carting += o.Carting
	r.Abandoning += o.Abandoning
	r.Bounced += o.Bounced
	r.LengthMicros += o.LengthMicros
}

// SessionHourKey identifies a SessionHour row.
type SessionHourKey struct {
	ShopID string
	Hour   time.Time
}

// SessionHours accumulates changes to SessionHour rows (sessions added and
// removed), for a backend to add to its table. The zero value is empty.
type SessionHours struct {
	rows map[SessionHourKey]*SessionHour
	// span is the longest session added, per shop.
	span map[string]time.Duration
}

// Add counts s, with sign +1 (added) or −1 (removed).
func (h *SessionHours) Add(s *Session, sign int64) {
	k := SessionHourKey{s.ShopID, s.Start.UTC().Truncate(time.Hour)}
	if h.rows == nil {
		h.rows = map[SessionHourKey]*SessionHour{}
		h.span = map[string]time.Duration{}
	}
	r := h.rows[k]
	if r == nil {
		r = &SessionHour{Hour: k.Hour}
		h.rows[k] = r
	}
	r.Add(s, sign)
	if d := s.End.Sub(s.Start); sign > 0 && d > h.span[s.ShopID] {
		h.span[s.ShopID] = d
	}
	if _, ok := h.span[s.ShopID]; !ok {
		h.span[s.ShopID] = 0
	}
}

// Keys returns the keys of the rows in (shop, hour) order, the order in
// which writers should lock them.
func (h *SessionHours) Keys() []SessionHourKey {
	keys := slices.Collect(maps.Keys(h.rows))
	slices.SortFunc(keys, func(a, b SessionHourKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), a.Hour.Compare(b.Hour))
	})
	return keys
}

// Row returns the change of row k.
func (h *SessionHours) Row(k SessionHourKey) SessionHour { return *h.rows[k] }

// Spans returns, per shop, the longest session added.
func (h *SessionHours) Spans() map[string]time.Duration { return h.span }

// Len is the number of rows.
func (h *SessionHours) Len() int { return len(h.rows) }

// SessionStream sessionizes events taken in (timestamp, id) order, as a
// rebuild reads them: Add returns the sessions it finds closed (a device's
// run ends when a later event of the device comes SessionGap after it, or
// when the stream has moved SessionGap past it), Close the rest. Its memory
// grows with the open sessions. The zero value is ready.
type SessionStream struct {
	open  map[SessionGroup]*Session
	swept time.Time
}

// Add takes the next event and returns the sessions that closed.
func (z *SessionStream) Add(e *tracking.Event, closed []Session) []Session {
	g, ok := SessionGroupOf(e)
	if !ok {
		return closed
	}
	if z.open == nil {
		z.open = map[SessionGroup]*Session{}
		z.swept = e.Timestamp
	}
	if cur := z.open[g]; cur != nil {
		if g.Gap() == 0 || e.Timestamp.Sub(cur.End) < g.Gap() {
			cur.Add(e)
			return closed
		}
		closed = append(closed, *cur)
	}
	s := &Session{SessionGroup: g}
	s.Add(e)
	z.open[g] = s
	if e.Timestamp.Sub(z.swept) >= time.Hour {
		z.swept = e.Timestamp
		for k, s := range z.open {
			if k.Kind != SessionByID && e.Timestamp.Sub(s.End) >= SessionGap {
				closed = append(closed, *s)
				delete(z.open, k)
			}
		}
	}
	return closed
}

// Close returns the sessions still open.
func (z *SessionStream) Close(closed []Session) []Session {
	for _, s := range z.open {
		closed = append(closed, *s)
	}
	z.open = nil
	return closed
}
