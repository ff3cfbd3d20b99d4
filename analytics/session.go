package analytics

import (
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// SessionGap is the inactivity that ends a session of events without a
// session_id: an event this long or longer after the previous one of the
// same device starts a new session.
const SessionGap = 30 * time.Minute

// session is what a pass learns of one session.
type session struct {
	id         string
	start, end time.Time
	// user and anon are the first user_id and anonymous_id seen in it.
	user, anon string
	events     int64
	pageViews  int64
	views      int64 // product_viewed
	adds       int64
	checkouts  int64
	purchases  int64
	revenue    sums
	// landing is the first event with a url or a referrer, for session
	// attribution (referrer, utm_*); empty until one is seen.
	landingURL, landingReferrer string
	landed                      bool
}

func (s *session) observe(e *tracking.Event) {
	if s.events == 0 {
		s.start = e.Timestamp
	}
	s.end = e.Timestamp
	s.events++
	if s.user == "" {
		s.user = e.UserID
	}
	if s.anon == "" {
		s.anon = e.AnonymousID
	}
	if !s.landed && (e.URL != "" || e.Referrer != "") {
		s.landingURL, s.landingReferrer, s.landed = e.URL, e.Referrer, true
	}
	switch e.Type {
	case tracking.PageViewed:
		s.pageViews++
	case tracking.ProductViewed:
		s.views++
	case tracking.AddToCart:
		s.adds++
	case tracking.CheckoutStarted:
		s.checkouts++
	case tracking.PurchaseCompleted:
		s.purchases++
		s.revenue.add(orderAmount(e))
	}
}

// bounced reports a session of exactly one page_viewed or product_viewed
// and nothing else.
func (s *session) bounced() bool { return s.events == 1 && s.pageViews+s.views == 1 }

// person is who the session belongs to: its first user_id, else its first
// anonymous id as resolved.
func (s *session) person(ids *identities) (person, bool) {
	switch {
	case s.user != "":
		return person{id: s.user}, true
	case s.anon != "":
		return ids.resolve(person{id: s.anon, anon: true}), true
	}
	return person{}, false
}

// sessionizer assigns events, taken in stream order, to sessions: by
// session_id when the event has one, else by device (the anonymous_id,
// else the user_id) split at SessionGap of inactivity. Its memory grows
// with the sessions, not the events.
type sessionizer struct {
	byID     map[string]int
	devices  map[person]device
	sessions []session
}

type device struct {
	session int
	last    time.Time
}

func newSessionizer() *sessionizer {
	return &sessionizer{byID: map[string]int{}, devices: map[person]device{}}
}

// add assigns e to its session and returns the session's index.
func (z *sessionizer) add(e *tracking.Event) int {
	var i int
	if e.SessionID != "" {
		var ok bool
		if i, ok = z.byID[e.SessionID]; !ok {
			i = z.open(e.SessionID)
			z.byID[e.SessionID] = i
		}
	} else {
		key := person{id: e.AnonymousID, anon: true}
		if e.AnonymousID == "" {
			key = person{id: e.UserID}
		}
		d, ok := z.devices[key]
		if !ok || e.Timestamp.Sub(d.last) >= SessionGap {
			d.session = z.open(key.id + "@" + e.Timestamp.UTC().Format(time.RFC3339Nano))
		}
		d.last = e.Timestamp
		z.devices[key] = d
		i = d.session
	}
	z.sessions[i].observe(e)
	return i
}

func (z *sessionizer) open(id string) int {
	z.sessions = append(z.sessions, session{id: id})
	return len(z.sessions) - 1
}
