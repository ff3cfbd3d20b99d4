package analytics

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/shoplytics/shoplytics/tracking"
)

// DefaultCurrency names the revenue of a range without purchases, where
// the currency rule has nothing to go by: the default currency of events.
const DefaultCurrency = "USD"

// orderAmount is the order total of a purchase, in its currency: Revenue,
// or zero of the event's currency (else DefaultCurrency) when it has none.
func orderAmount(e *tracking.Event) tracking.Money {
	m := e.Revenue
	if m.Currency == "" {
		m.Currency = e.Currency
		if m.Currency == "" {
			m.Currency = DefaultCurrency
		}
	}
	return m
}

// sums adds money per currency in exact minor units. Few currencies occur,
// so a slice beats a map.
type sums []sum

type sum struct {
	currency string
	minor    int64
	count    int64 // how many amounts were added
	min, max int64
}

func (s *sums) add(m tracking.Money) {
	for i := range *s {
		if x := &(*s)[i]; x.currency == m.Currency {
			x.minor += m.Minor
			x.count++
			x.min, x.max = min(x.min, m.Minor), max(x.max, m.Minor)
			return
		}
	}
	*s = append(*s, sum{currency: m.Currency, minor: m.Minor, count: 1, min: m.Minor, max: m.Minor})
}

func (s *sums) merge(o sums) {
	for _, x := range o {
		found := false
		for i := range *s {
			if y := &(*s)[i]; y.currency == x.currency {
				y.minor += x.minor
				y.count += x.count
				y.min, y.max = min(y.min, x.min), max(y.max, x.max)
				found = true
				break
			}
		}
		if !found {
			*s = append(*s, x)
		}
	}
}

// of returns the total in currency c.
func (s sums) of(c string) tracking.Money {
	for _, x := range s {
		if x.currency == c {
			return tracking.Money{Minor: x.minor, Currency: c}
		}
	}
	return tracking.Money{Currency: c}
}

// amounts lists the totals by currency code.
func (s sums) amounts() []Amount {
	out := make([]Amount, 0, len(s))
	for _, x := range s {
		out = append(out, Amount{Currency: x.currency, Total: tracking.Money{Minor: x.minor, Currency: x.currency}})
	}
	slices.SortFunc(out, func(a, b Amount) int { return cmp.Compare(a.Currency, b.Currency) })
	return out
}

// Amount is a total of one currency. Its JSON form is
// {"currency":"EUR","total":"12.50"}, the total with the currency's
// minor-unit digits.
type Amount struct {
	Currency string
	Total    tracking.Money
}

// MarshalJSON implements json.Marshaler.
func (a Amount) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Currency string `json:"currency"`
		Total    string `json:"total"`
	}{a.Currency, a.Total.String()})
}

// orderCounter counts purchases per currency, for the currency rule.
type orderCounter map[string]int64

// pick applies the currency rule: the asked currency, else the one with
// the most purchases (ties: the first code alphabetically), else
// DefaultCurrency.
func (oc orderCounter) pick(asked string) string {
	if asked != "" {
		return asked
	}
	best, n := DefaultCurrency, int64(0)
	for c, k := range oc {
		if k > n || k == n && c < best {
			best, n = c, k
		}
	}
	return best
}

// divRound divides half away from zero: the average of whole minor units,
// rounded half-up for the amounts analytics sees (never negative).
func divRound(total, n int64) int64 {
	if n == 0 {
		return 0
	}
	q, r := total/n, total%n
	if r < 0 {
		r = -r
	}
	if r >= n-r { // 2r >= n without overflow
		if total < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// percent is num/den as a percentage rounded half-up to two decimals
// (12.5, 33.33), 0 when den is 0. It is computed in integers, so the float
// is the nearest to a decimal with at most two places and prints as one.
func percent(num, den int64) float64 {
	if den == 0 {
		return 0
	}
	return float64(divRound(num*10000, den)) / 100
}

// seconds renders a number of microseconds as seconds rounded half-up to
// two decimals.
func seconds(micros int64) float64 { return float64(divRound(micros, 10000)) / 100 }
