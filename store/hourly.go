package store

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// HourlyKey identifies a rollup row: a shop, a UTC hour, a type and an order
// currency.
type HourlyKey struct {
	ShopID   string
	Hour     time.Time
	Type     string
	Currency string
}

// Hourly accumulates the rollup rows of events, for backends that keep an
// HourlyReader's table up to date as they append (adding the events they
// actually inserted) and for callers that roll raw events up the same way.
// The zero value is empty and ready.
type Hourly struct {
	rows map[HourlyKey]*HourlyRow
}

// Add rolls e up into its row. An order's currency is the event's
// currency, else "USD": the currency the SQL backends read its revenue
// back in, since they keep one currency per event.
func (h *Hourly) Add(e *tracking.Event) {
	k := HourlyKey{ShopID: e.ShopID, Hour: e.Timestamp.UTC().Truncate(time.Hour), Type: e.Type}
	order := e.Type == tracking.PurchaseCompleted
	if order {
		k.Currency = e.Currency
		if k.Currency == "" {
			k.Currency = "USD"
		}
	}
	if h.rows == nil {
		h.rows = map[HourlyKey]*HourlyRow{}
	}
	r, ok := h.rows[k]
	if !ok {
		r = &HourlyRow{Hour: k.Hour, Type: k.Type, Currency: k.Currency}
		h.rows[k] = r
	}
	r.Events++
	if order {
		v := e.Revenue.Minor
		if r.Orders == 0 {
			r.RevenueMin, r.RevenueMax = v, v
		} else {
			r.RevenueMin, r.RevenueMax = min(r.RevenueMin, v), max(r.RevenueMax, v)
		}
		r.Orders++
		r.RevenueMinor += v
	}
}

// Len is the number of rows.
func (h *Hourly) Len() int { return len(h.rows) }

// Keys returns the keys of the rows in (shop, hour, type, currency) order:
// writers that upsert in this order take the rows' locks in the same order
// and cannot deadlock one another.
func (h *Hourly) Keys() []HourlyKey {
	keys := slices.Collect(maps.Keys(h.rows))
	slices.SortFunc(keys, func(a, b HourlyKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), a.Hour.Compare(b.Hour),
			cmp.Compare(a.Type, b.Type), cmp.Compare(a.Currency, b.Currency))
	})
	return keys
}

// Row returns the row of k.
func (h *Hourly) Row(k HourlyKey) HourlyRow { return *h.rows[k] }

// Rows returns the rows of one shop, in key order.
func (h *Hourly) Rows(shopID string) []HourlyRow {
	var out []HourlyRow
	for _, k := range h.Keys() {
		if k.ShopID == shopID {
			out = append(out, *h.rows[k])
		}
	}
	return out
}

// HourlyFilter checks that an HourlyReader can answer f exactly; the error
// wraps ErrInvalid for a malformed filter and errors.ErrUnsupported for one
// the rollup cannot honour.
func HourlyFilter(f *Filter) error {
	if err := f.Validate(); err != nil {
		return err
	}
	switch {
	case f.UserID != "" || f.AnonymousID != "" || f.SessionID != "":
		return fmt.Errorf("rollup: user, anonymous or session filter: %w", errors.ErrUnsupported)
	case f.Limit != 0:
		return fmt.Errorf("rollup: limit: %w", errors.ErrUnsupported)
	case !OnHour(f.From) || !OnHour(f.To):
		return fmt.Errorf("rollup: bound not on a whole hour: %w", errors.ErrUnsupported)
	}
	return nil
}

// OnHour reports whether t is zero or the start of a UTC hour.
func OnHour(t time.Time) bool { return t.IsZero() || t.Equal(t.Truncate(time.Hour)) }

// DetailFilter checks that a SessionReader, PeopleReader or ProductReader
// can answer f exactly: HourlyFilter's rules, and no Types.
func DetailFilter(f *Filter) error {
	if err := HourlyFilter(f); err != nil {
		return err
	}
	if len(f.Types) > 0 {
		return fmt.Errorf("rollup: types: %w", errors.ErrUnsupported)
	}
	return nil
}
