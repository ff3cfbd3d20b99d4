package analytics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// peopleTraffic is the differential data plus events that make the users
// of a range depend on when identifies arrive: visitors of the data linked
// to a user by an event with both ids hours before their identify (or
// with none), identifies of the data's visitors as another user, earlier
// than their stored one, and users' own events.
func peopleTraffic(events []tracking.Event) []tracking.Event {
	r := rand.New(rand.NewPCG(20, 6))
	var anons, users []string
	seen := map[string]bool{}
	for _, e := range events {
		if e.AnonymousID != "" && !seen["a"+e.AnonymousID] {
			seen["a"+e.AnonymousID] = true
			anons = append(anons, e.AnonymousID)
		}
		if e.UserID != "" && !seen["u"+e.UserID] {
			seen["u"+e.UserID] = true
			users = append(users, e.UserID)
		}
	}
	start, end := events[0].Timestamp, events[0].Timestamp
	for _, e := range events {
		if e.Timestamp.Before(start) {
			start = e.Timestamp
		}
		if e.Timestamp.After(end) {
			end = e.Timestamp
		}
	}
	span := int64(end.Sub(start))
	out := slices.Clone(events)
	for i := range 400 {
		at := start.Add(time.Duration(r.Int64N(span))).Truncate(time.Microsecond)
		e := tracking.Event{ID: fmt.Sprintf("people-%d", i), ShopID: diffShop, Type: tracking.PageViewed,
			Timestamp: at, ReceivedAt: at.Add(time.Second), AnonymousID: anons[r.IntN(len(anons))]}
		switch r.IntN(4) {
		case 0: // linked by an event with both ids
			e.UserID = users[r.IntN(len(users))]
		case 1: // identified, maybe earlier than the data's identify
			e.Type, e.UserID = tracking.Identify, fmt.Sprintf("late-user-%d", r.IntN(20))
		case 2: // a user's own event
			e.AnonymousID, e.UserID = "", users[r.IntN(len(users))]
		}
		out = append(out, e)
	}
	return out
}

// hourRanges returns ranges of whole hours inside [from, to): whole days
// and ranges cut inside days, of an hour to a week.
func hourRanges(from, to time.Time, n int) []analytics.Query {
	r := rand.New(rand.NewPCG(4, 4))
	out := []analytics.Query{{ShopID: diffShop}, {ShopID: diffShop, From: from.Truncate(time.Hour)},
		{ShopID: diffShop, To: to.Truncate(time.Hour)}}
	hours := int(to.Sub(from) / time.Hour)
	for range n {
		a := from.Truncate(time.Hour).Add(time.Duration(r.IntN(hours)) * time.Hour)
		out = append(out, analytics.Query{ShopID: diffShop, From: a, To: a.Add(time.Duration(1+r.IntN(7*24)) * time.Hour)})
	}
	return out
}

// TestStatsUsersFromRollupsFollowIdentifiesAsTheyArrive holds Stats over
// ranges of whole hours (which the rollups answer) on every backend to
// memstore's, as the differential data and the people traffic arrive: the
// identifies last (late, and earlier than stored links), then duplicates,
// then a person erased, then a rebuild.
func TestStatsUsersFromRollupsFollowIdentifiesAsTheyArrive(t *testing.T) {
	ctx := context.Background()
	o, data := differentialData()
	events := peopleTraffic(data)
	var early, late []tracking.Event
	for _, e := range events {
		if e.Type == tracking.Identify {
			late = append(late, e)
		} else {
			early = append(early, e)
		}
	}
	slices.Reverse(late) // the later identifies of an id first
	erased := ""
	for _, e := range late {
		if !strings.HasPrefix(e.ID, "people-") {
			erased = e.UserID
			break
		}
	}
	require.NotEmpty(t, erased)
	queries := hourRanges(o.Start, o.End(), 60)
	stats := func(t *testing.T, s store.Store) []analytics.StatsResult {
		out := make([]analytics.StatsResult, len(queries))
		for i, q := range queries {
			var err error
			out[i], err = analytics.Stats(ctx, s, q, analytics.StatsOptions{})
			require.NoError(t, err)
		}
		return out
	}
	steps := []struct {
		name string
		do   func(t *testing.T, s store.Store)
	}{
		{"without-identifies", func(t *testing.T, s store.Store) { appendAll(t, s, early) }},
		{"identifies-late", func(t *testing.T, s store.Store) { appendAll(t, s, late) }},
		{"duplicates", func(t *testing.T, s store.Store) { appendAll(t, s, events[:len(events)/2]) }},
		{"erased", func(t *testing.T, s store.Store) {
			n, err := s.(store.Eraser).ErasePerson(ctx, diffShop, erased)
			require.NoError(t, err)
			require.Positive(t, n)
		}},
		{"rebuilt", func(t *testing.T, s store.Store) {
			if rb, ok := s.(store.RollupRebuilder); ok {
				require.NoError(t, rb.Rebuild(ctx, diffShop))
			}
		}},
	}
	ref := memstore.New()
	want := make([][]analytics.StatsResult, len(steps))
	for i, st := range steps {
		st.do(t, ref)
		want[i] = stats(t, ref)
	}
	// The users of some range change as identifies arrive.
	require.NotEqual(t, want[0], want[1])
	for _, b := range differentialBackends[1:] {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			for i, st := range steps {
				st.do(t, s)
				got := stats(t, s)
				for j := range queries {
					require.Equal(t, want[i][j], got[j], "%s: [%s, %s)", st.name, queries[j].From, queries[j].To)
				}
			}
		})
	}
}
