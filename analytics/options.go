package analytics

import (
	"fmt"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// OptionError reports an invalid option or query bound. Field is the name a
// caller knows it by, the same as the read API's parameter (metric,
// interval, steps, by, window, limit, dimension, currency, type, from, to),
// so an HTTP layer can answer 400 naming it.
type OptionError struct {
	Field  string
	Reason string
}

func (e *OptionError) Error() string { return e.Field + ": " + e.Reason }

func optionError(field, format string, args ...any) error {
	return &OptionError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Entity is what a funnel or a segment counts: sessions or users.
type Entity string

// Entities.
const (
	BySession Entity = "session"
	ByUser    Entity = "user"
)

func (b Entity) orDefault(def Entity) (Entity, error) {
	switch b {
	case "":
		return def, nil
	case BySession, ByUser:
		return b, nil
	}
	return "", optionError("by", "%q is neither session nor user", string(b))
}

// Limits of the lists a question returns.
const (
	// DefaultLimit is the length of a ranking (top products, customers,
	// breakdown rows) when the option is zero.
	DefaultLimit = 10
	// MaxLimit is the longest ranking that may be asked for.
	MaxLimit = 1000
)

func limitOrDefault(n, def, max int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0 || n > max:
		return 0, optionError("limit", "must be between 1 and %d", max)
	}
	return n, nil
}

// checkCurrency validates the currency a caller asked for ("" asks for the
// default) and returns it in upper case.
func checkCurrency(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	u := strings.ToUpper(c)
	if !tracking.ValidCurrency(u) {
		return "", optionError("currency", "%q is not an ISO 4217 currency code", c)
	}
	return u, nil
}

// checkType validates an event type option, taking aliases ("purchase").
func checkType(field, t string) (string, error) {
	c := tracking.CanonicalType(t)
	if !tracking.ValidType(c) {
		return "", optionError(field, "%q is not an event type", t)
	}
	return c, nil
}

// bounded requires the query to have both bounds, for questions that cut
// the range into periods.
func (q Query) bounded() error {
	if q.From.IsZero() {
		return optionError("from", "is required")
	}
	if q.To.IsZero() {
		return optionError("to", "is required")
	}
	if !q.From.Before(q.To) {
		return optionError("from", "must be before to")
	}
	return nil
}

func (q Query) location() *time.Location {
	if q.Location == nil {
		return time.UTC
	}
	return q.Location
}
