package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// SessionsOptions configure Sessions. The zero value lists every session
// of the range.
type SessionsOptions struct {
	// UserID keeps only the sessions of this user (resolved as users are:
	// an identified anonymous id's sessions are its user's).
	UserID string
	// Limit caps the sessions listed, the earliest first; 0 lists all.
	Limit int
}

// Session is one visit, formed from the events of the range.
type Session struct {
	// ID is the session_id, or for events without one the device id (the
	// anonymous_id, else the user_id) and the session's start:
	// "a1@2026-03-01T10:00:00Z".
	ID string
	// UserID is who it belongs to: its first user_id, else its first
	// anonymous id as resolved; "" for a session of session ids alone.
	UserID       string
	Start, End   time.Time
	Events       int64
	PageViews    int64
	ProductViews int64
	AddToCarts   int64
	Checkouts    int64
	Purchases    int64
	// Revenue is its purchases' totals, per currency.
	Revenue []Amount
	// Bounced is one page_viewed or product_viewed and nothing else.
	Bounced bool
}

// MarshalJSON gives the read API's conventions: snake_case, RFC 3339
// times, money as decimal strings, the duration in seconds.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID           string   `json:"id"`
		UserID       string   `json:"user_id"`
		Start        string   `json:"start"`
		End          string   `json:"end"`
		Seconds      float64  `json:"seconds"`
		Events       int64    `json:"events"`
		PageViews    int64    `json:"page_views"`
		ProductViews int64    `json:"product_views"`
		AddToCarts   int64    `json:"add_to_carts"`
		Checkouts    int64    `json:"checkouts"`
		Purchases    int64    `json:"purchases"`
		Revenue      []Amount `json:"revenue"`
		Bounced      bool     `json:"bounced"`
	}{s.ID, s.UserID, s.Start.UTC().Format(time.RFC3339Nano), s.End.UTC().Format(time.RFC3339Nano),
		seconds(s.End.Sub(s.Start).Microseconds()), s.Events, s.PageViews, s.ProductViews, s.AddToCarts,
		s.Checkouts, s.Purchases, s.Revenue, s.Bounced})
}

// Sessions lists the sessions of the range in order of their start (then
// id). A session is its session_id when events have one; otherwise the
// events of one device split at SessionGap of inactivity. Only events in
// the range count, so a session crossing a bound is cut there.
func Sessions(ctx context.Context, s store.Store, q Query, o SessionsOptions) ([]Session, error) {
	if o.Limit < 0 {
		return nil, fmt.Errorf("analytics: sessions: %w", optionError("limit", "must not be negative"))
	}
	ids, err := loadIdentities(ctx, s, q.ShopID)
	if err != nil {
		return nil, fmt.Errorf("analytics: sessions: %w", err)
	}
	z := newSessionizer()
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return nil, fmt.Errorf("analytics: sessions: %w", err)
		}
		ids.learn(&e)
		z.add(&e)
	}
	out := make([]Session, 0, len(z.sessions))
	for i := range z.sessions {
		ss := &z.sessions[i]
		p, _ := ss.person(ids)
		if o.UserID != "" && p.id != o.UserID {
			continue
		}
		out = append(out, Session{ID: ss.id, UserID: p.id, Start: ss.start, End: ss.end, Events: ss.events,
			PageViews: ss.pageViews, ProductViews: ss.views, AddToCarts: ss.adds, Checkouts: ss.checkouts,
			Purchases: ss.purchases, Revenue: ss.revenue.amounts(), Bounced: ss.bounced()})
	}
	slices.SortFunc(out, func(a, b Session) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if o.Limit > 0 && len(out) > o.Limit {
		out = out[:o.Limit]
	}
	return out, nil
}
