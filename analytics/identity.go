package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// person is someone events are about: a user id, or an anonymous id that
// no link names a user for. The two are kept apart, so an anonymous id
// that happens to equal some user id is not taken for that user.
type person struct {
	id   string
	anon bool
}

// rawPerson is the person an event names by itself, before links: its
// user_id, else its anonymous_id. ok is false for an event with neither
// (a session id alone), which belongs to no user.
func rawPerson(e *tracking.Event) (p person, ok bool) {
	switch {
	case e.UserID != "":
		return person{id: e.UserID}, true
	case e.AnonymousID != "":
		return person{id: e.AnonymousID, anon: true}, true
	}
	return person{}, false
}

// link says which user an anonymous id was identified as, and by which
// event, so that the earliest link can win.
type link struct {
	user string
	at   time.Time
	id   string
}

// identities holds what is known of anonymous ids: the user each was
// identified as. Links come from every identify event of the shop (at any
// time) and from any event of the range carrying both a user_id and an
// anonymous_id. An anonymous id linked to several users belongs to the one
// of the earliest link (by timestamp, then event id).
//
// A pass over the range learns links as it goes and resolves people at the
// end (deferred resolution): aggregates are kept per raw person and merged
// per resolved person afterwards.
type identities struct {
	links map[string]link
}

func newIdentities() *identities { return &identities{links: map[string]link{}} }

// learn takes the link an event carries, if any.
func (ids *identities) learn(e *tracking.Event) {
	if e.UserID == "" || e.AnonymousID == "" {
		return
	}
	if l, ok := ids.links[e.AnonymousID]; ok {
		if l.at.Before(e.Timestamp) || l.at.Equal(e.Timestamp) && l.id <= e.ID {
			return
		}
	}
	ids.links[e.AnonymousID] = link{user: e.UserID, at: e.Timestamp, id: e.ID}
}

// resolve returns the person p is: the user its anonymous id was
// identified as, or p itself.
func (ids *identities) resolve(p person) person {
	if p.anon {
		if l, ok := ids.links[p.id]; ok {
			return person{id: l.user}
		}
	}
	return p
}

// loadIdentities learns the links of every identify event of the shop,
// whatever its time: a visitor identified last month is the same person
// this month.
func loadIdentities(ctx context.Context, s store.Store, shopID string) (*identities, error) {
	ids := newIdentities()
	for e, err := range s.Events(ctx, store.Filter{ShopID: shopID, Types: []string{tracking.Identify}}) {
		if err != nil {
			return nil, fmt.Errorf("identities: %w", err)
		}
		ids.learn(&e)
	}
	return ids, nil
}

// learnIdentities is loadIdentities plus the links of the range's events,
// for questions that must know every person before they can count (a
// funnel by user, a journey): one extra pass over the range.
func learnIdentities(ctx context.Context, s store.Store, q Query) (*identities, error) {
	ids, err := loadIdentities(ctx, s, q.ShopID)
	if err != nil {
		return nil, err
	}
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return nil, fmt.Errorf("identities: %w", err)
		}
		ids.learn(&e)
	}
	return ids, nil
}

// people collects raw people and counts the distinct resolved ones.
type people map[person]struct{}

func (ps people) add(e *tracking.Event) {
	if p, ok := rawPerson(e); ok {
		ps[p] = struct{}{}
	}
}

// count returns how many distinct people the raw ones are.
func (ps people) count(ids *identities) int64 {
	resolved := make(map[person]struct{}, len(ps))
	for p := range ps {
		resolved[ids.resolve(p)] = struct{}{}
	}
	return int64(len(resolved))
}
