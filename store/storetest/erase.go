package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// testEraser holds a store.Eraser to its contract: the person's events and
// the anonymous history of their devices go; another person's events on a
// shared device, other people and other shops stay; the count is exact; a
// second erase finds nothing; an erased id may be stored again; hourly
// rollups, where the store keeps them, match the events left.
func testEraser(t *testing.T, s store.Store) {
	er, ok := s.(store.Eraser)
	if !ok {
		t.Skip("the store does not implement store.Eraser")
	}
	c := ctx(t)
	at := func(id, user, anon string, typ string, minutes int) tracking.Event {
		e := event("erase-a", id, time.Duration(minutes)*time.Minute)
		e.Type, e.UserID, e.AnonymousID = typ, user, anon
		if typ == tracking.PurchaseCompleted {
			e.OrderID, e.Revenue, e.Currency = "o-"+id, tracking.Money{Minor: 1999, Currency: "EUR"}, "EUR"
		}
		return e
	}
	events := []tracking.Event{
		at("x-browse", "", "device-1", tracking.PageViewed, 0),        // X's device before identify: erased
		at("x-identify", "x", "device-1", tracking.Identify, 5),       // erased
		at("x-buy", "x", "device-1", tracking.PurchaseCompleted, 6),   // erased
		at("x-phone", "x", "", tracking.PageViewed, 90),               // erased
		at("y-identify", "y", "device-1", tracking.Identify, 120),     // Y on the shared device: kept
		at("y-buy", "y", "device-1", tracking.PurchaseCompleted, 121), // kept
		at("z-browse", "", "device-2", tracking.PageViewed, 3),        // someone else: kept
		at("x-later", "", "device-1", tracking.PageViewed, 24*60),     // the device's anonymous history: erased
	}
	other := at("x-other-shop", "x", "device-1", tracking.PurchaseCompleted, 6)
	other.ShopID = "erase-b"
	_, err := s.Append(c, append(events, other))
	require.NoError(t, err)

	n, err := er.ErasePerson(c, "erase-a", "x")
	require.NoError(t, err)
	require.EqualValues(t, 5, n)
	require.ElementsMatch(t, []string{"y-identify", "y-buy", "z-browse"}, ids(All(t, s, store.Filter{ShopID: "erase-a"})))
	require.Equal(t, []string{"x-other-shop"}, ids(All(t, s, store.Filter{ShopID: "erase-b"})), "another shop's events of the same user id stay")
	if _, ok := s.(store.HourlyReader); ok {
		f := store.Filter{ShopID: "erase-a", From: base.Add(-time.Hour), To: base.Add(48 * time.Hour)}
		if _, err := s.(store.HourlyReader).HourlyCounts(c, f); !errors.Is(err, errors.ErrUnsupported) {
			RequireHourlyMatchesEvents(t, s, f)
		}
	}

	n, err = er.ErasePerson(c, "erase-a", "x")
	require.NoError(t, err)
	require.Zero(t, n, "nothing is left to erase")

	res, err := s.Append(c, []tracking.Event{events[2]})
	require.NoError(t, err)
	require.Equal(t, 1, res.Inserted, "an erased event sent again is stored again")

	_, err = er.ErasePerson(c, "", "x")
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = er.ErasePerson(c, "erase-a", "")
	require.ErrorIs(t, err, store.ErrInvalid)
}
