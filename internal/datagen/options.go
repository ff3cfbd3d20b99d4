package datagen

import (
	"errors"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// Defaults of Options' zero fields.
const (
	DefaultShopID    = "demo"
	DefaultDays      = 7
	DefaultVisitors  = 200
	DefaultBatchSize = 1000
)

// DefaultStart is the start of the range when Options.Start is zero: a
// Monday at midnight UTC, fixed so that generated data does not depend on
// when it is generated.
var DefaultStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// DefaultCurrencies are the currencies of visitors when Options.Currencies
// is empty: mostly dollars, then euros, some yen (which has no minor unit).
var DefaultCurrencies = []Currency{{Code: "USD", Weight: 6}, {Code: "EUR", Weight: 3}, {Code: "JPY", Weight: 1}}

// Currency is one currency visitors pay in and how likely it is, relative
// to the others' weights.
type Currency struct {
	// Code is an ISO 4217 code, upper case.
	Code string
	// Weight is how many visitors in the total weight pay in it; at least 1.
	Weight int
}

// Options shape the generated traffic. The zero value is a week of 200
// visitors a day for shop "demo" from DefaultStart, in DefaultCurrencies,
// with the rhythm of UTC, seed 0.
type Options struct {
	// ShopID is the shop of every event (default DefaultShopID).
	ShopID string
	// Start is the first instant of the range (default DefaultStart); it
	// is truncated to the second. The range is [Start, Start + Days×24h):
	// nothing is generated at or after its end, so a range ending now
	// holds no future events.
	Start time.Time
	// Days is the length of the range in days of 24 hours (default
	// DefaultDays).
	Days int
	// Visitors is how many visits arrive per day (default
	// DefaultVisitors); the flash sale and the visit across midnight come
	// on top.
	Visitors int
	// Seed seeds the generator; the same options with the same seed give
	// the same events.
	Seed uint64
	// Currencies visitors pay in, with weights (default
	// DefaultCurrencies). Prices are converted from a dollar catalogue at
	// fixed rates and rounded to the currency's minor unit.
	Currencies []Currency
	// Zone is where the shop's visitors live: arrivals follow its local
	// hours and the late visit crosses its midnight (default UTC).
	Zone *time.Location
	// BatchSize is the length of the batches Stream hands over (default
	// DefaultBatchSize).
	BatchSize int
}

// withDefaults returns the options with their defaults filled in, or an
// error naming the field at fault.
func (o Options) withDefaults() (Options, error) {
	if o.ShopID == "" {
		o.ShopID = DefaultShopID
	}
	if err := tracking.CheckShopID(o.ShopID); err != nil {
		return o, fmt.Errorf("datagen: ShopID: %w", err)
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	o.Start = o.Start.UTC().Truncate(time.Second)
	switch {
	case o.Days < 0:
		return o, errors.New("datagen: Days must not be negative")
	case o.Days == 0:
		o.Days = DefaultDays
	}
	switch {
	case o.Visitors < 0:
		return o, errors.New("datagen: Visitors must not be negative")
	case o.Visitors == 0:
		o.Visitors = DefaultVisitors
	}
	switch {
	case o.BatchSize < 0:
		return o, errors.New("datagen: BatchSize must not be negative")
	case o.BatchSize == 0:
		o.BatchSize = DefaultBatchSize
	}
	if len(o.Currencies) == 0 {
		o.Currencies = DefaultCurrencies
	}
	for _, c := range o.Currencies {
		if !tracking.ValidCurrency(c.Code) {
			return o, fmt.Errorf("datagen: Currencies: %q is not an ISO 4217 code", c.Code)
		}
		if c.Weight < 1 {
			return o, fmt.Errorf("datagen: Currencies: the weight of %s must be at least 1", c.Code)
		}
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	return o, nil
}

// End is the end of the range the options describe, exclusive: Start +
// Days × 24h, with the defaults applied.
func (o Options) End() time.Time {
	d, err := o.withDefaults()
	if err != nil {
		return time.Time{}
	}
	return d.Start.Add(time.Duration(d.Days) * 24 * time.Hour)
}
