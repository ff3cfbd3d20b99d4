package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// hourlyEvents returns events of two shops over three days, sent in random
// order (late and out-of-order events), with purchases in USD, EUR, JPY and
// without a currency, some at the edges of hours.
func hourlyEvents(seed uint64, n int) []tracking.Event {
	r := rand.New(rand.NewPCG(seed, 99))
	types := []string{tracking.PageViewed, tracking.ProductViewed, tracking.AddToCart, tracking.PurchaseCompleted, "custom_thing"}
	currencies := []string{"USD", "EUR", "JPY", ""}
	start := base.Truncate(time.Hour)
	out := make([]tracking.Event, n)
	for i := range out {
		e := event([]string{"shop-a", "shop-b"}[r.IntN(2)], fmt.Sprintf("h%05d", i), 0)
		e.Type = types[r.IntN(len(types))]
		switch r.IntN(4) {
		case 0: // the first and last microsecond of an hour
			e.Timestamp = start.Add(time.Duration(r.IntN(72))*time.Hour - time.Duration(r.IntN(2))*time.Microsecond)
		default:
			e.Timestamp = start.Add(time.Duration(r.Int64N(int64(72 * time.Hour)))).Truncate(time.Microsecond)
		}
		e.ReceivedAt = e.Timestamp
		if e.Type == tracking.PurchaseCompleted {
			e.Currency = currencies[r.IntN(len(currencies))]
			if e.Currency != "" {
				e.Revenue = tracking.Money{Minor: r.Int64N(100_000), Currency: e.Currency}
			}
		}
		out[i] = e
	}
	return out
}

// RequireHourlyMatchesEvents checks that s, a store.HourlyReader, answers
// HourlyCounts of f with the rows of rolling up the events f selects.
func RequireHourlyMatchesEvents(t *testing.T, s store.Store, f store.Filter) {
	t.Helper()
	got, err := s.(store.HourlyReader).HourlyCounts(ctx(t), f)
	require.NoError(t, err, "%+v", f)
	var h store.Hourly
	for _, e := range All(t, s, f) {
		h.Add(&e)
	}
	require.Equal(t, sortedRows(h.Rows(f.ShopID)), sortedRows(got), "%+v", f)
}

// sortedRows puts rows in key order with their hours in one form.
func sortedRows(rows []store.HourlyRow) []store.HourlyRow {
	out := make([]store.HourlyRow, len(rows))
	for i, r := range rows {
		r.Hour = time.UnixMicro(r.Hour.UnixMicro()).UTC()
		out[i] = r
	}
	slices.SortFunc(out, func(a, b store.HourlyRow) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Currency, b.Currency))
	})
	return out
}

// hourlyFilters are filters a rollup answers.
func hourlyFilters() []store.Filter {
	h := base.Truncate(time.Hour)
	return []store.Filter{
		{ShopID: "shop-a"},
		{ShopID: "shop-b"},
		{ShopID: "nobody"},
		{ShopID: "shop-a", From: h.Add(5 * time.Hour)},
		{ShopID: "shop-a", To: h.Add(30 * time.Hour)},
		{ShopID: "shop-b", From: h.Add(-time.Hour), To: h.Add(47 * time.Hour)},
		{ShopID: "shop-a", From: h.Add(12 * time.Hour), To: h.Add(13 * time.Hour)},
		{ShopID: "shop-a", Types: []string{tracking.PurchaseCompleted}},
		{ShopID: "shop-b", Types: []string{tracking.PageViewed, "custom_thing"}, From: h.Add(24 * time.Hour)},
		{ShopID: "shop-a", Types: []string{"nothing"}},
	}
}

func testHourlyReader(t *testing.T, s store.Store) {
	hr, ok := s.(store.HourlyReader)
	if !ok {
		t.Skip("the store does not implement store.HourlyReader")
	}
	events := hourlyEvents(1, 3000)
	for i := 0; i < len(events); i += 250 {
		_, err := s.Append(ctx(t), events[i:min(i+250, len(events))])
		require.NoError(t, err)
	}
	for _, f := range hourlyFilters() {
		RequireHourlyMatchesEvents(t, s, f)
	}

	// Duplicates never count twice: resent alone, mixed with new events,
	// twice within a batch, and changed (the stored copy stands).
	r := rand.New(rand.NewPCG(3, 4))
	resent := make([]tracking.Event, 0, 600)
	for range 300 {
		e := events[r.IntN(len(events))]
		e.Revenue = tracking.Money{Minor: 1, Currency: e.Currency}
		e.Type = tracking.PurchaseCompleted
		resent = append(resent, e, e)
	}
	more := hourlyEvents(2, 500)
	for i := range more {
		more[i].ID = "m" + more[i].ID
	}
	res, err := s.Append(ctx(t), append(resent, more...))
	require.NoError(t, err)
	require.Equal(t, len(more), res.Inserted)
	_, err = s.Append(ctx(t), events[:400])
	require.NoError(t, err)
	for _, f := range hourlyFilters() {
		RequireHourlyMatchesEvents(t, s, f)
	}

	if rb, ok := s.(store.RollupRebuilder); ok {
		before, err := hr.HourlyCounts(ctx(t), store.Filter{ShopID: "shop-a"})
		require.NoError(t, err)
		require.NoError(t, rb.Rebuild(ctx(t), "shop-a"))
		require.NoError(t, rb.Rebuild(ctx(t), "nobody"), "a shop without events")
		after, err := hr.HourlyCounts(ctx(t), store.Filter{ShopID: "shop-a"})
		require.NoError(t, err)
		require.Equal(t, sortedRows(before), sortedRows(after), "a rebuild gives the rows appending kept")
		for _, f := range hourlyFilters() {
			RequireHourlyMatchesEvents(t, s, f)
		}
		require.ErrorIs(t, rb.Rebuild(ctx(t), ""), store.ErrInvalid)
	}
}

func testHourlyReaderRefuses(t *testing.T, s store.Store) {
	hr, ok := s.(store.HourlyReader)
	if !ok {
		t.Skip("the store does not implement store.HourlyReader")
	}
	_, err := s.Append(ctx(t), hourlyEvents(5, 50))
	require.NoError(t, err)
	h := base.Truncate(time.Hour)
	for name, f := range map[string]store.Filter{
		"from inside an hour": {ShopID: "shop-a", From: h.Add(time.Minute)},
		"to inside an hour":   {ShopID: "shop-a", To: h.Add(time.Hour + time.Microsecond)},
		"user":                {ShopID: "shop-a", UserID: "u"},
		"anonymous":           {ShopID: "shop-a", AnonymousID: "a"},
		"session":             {ShopID: "shop-a", SessionID: "s"},
		"limit":               {ShopID: "shop-a", Limit: 10},
	} {
		_, err := hr.HourlyCounts(ctx(t), f)
		require.ErrorIs(t, err, errors.ErrUnsupported, name)
	}
	_, err = hr.HourlyCounts(ctx(t), store.Filter{})
	require.ErrorIs(t, err, store.ErrInvalid, "a filter without a shop")
	_, err = hr.HourlyCounts(ctx(t), store.Filter{ShopID: "shop-a", From: h, To: h})
	require.ErrorIs(t, err, store.ErrInvalid, "an empty range")
	require.NoError(t, s.Close())
	_, err = hr.HourlyCounts(ctx(t), store.Filter{ShopID: "shop-a"})
	require.ErrorIs(t, err, store.ErrClosed)
	if rb, ok := s.(store.RollupRebuilder); ok {
		require.ErrorIs(t, rb.Rebuild(ctx(t), "shop-a"), store.ErrClosed)
	}
}

// testHourlyConcurrentAppenders sends every event from two writers at once
// and in different batches: each counts once in the rollups.
func testHourlyConcurrentAppenders(t *testing.T, s store.Store) {
	if _, ok := s.(store.HourlyReader); !ok {
		t.Skip("the store does not implement store.HourlyReader")
	}
	events := hourlyEvents(7, 2400)
	const workers = 6
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			// Worker w sends a shifted window in its own batch sizes.
			batch := 40 + 30*w
			mine := events[w*len(events)/(2*workers):]
			mine = mine[:len(events)/2]
			for i := 0; i < len(mine); i += batch {
				if _, err := s.Append(context.Background(), mine[i:min(i+batch, len(mine))]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, f := range hourlyFilters()[:3] {
		RequireHourlyMatchesEvents(t, s, f)
	}
}
