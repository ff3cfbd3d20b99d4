package store

import (
	"context"
	"time"
)

// Optional capabilities. A backend implements those it can do better than
// the generic path; callers discover them with a type assertion and fall
// back when they are missing or return errors.ErrUnsupported.

// Pinger is a store that can check its backend is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// TypeCount is the number of events of one type.
type TypeCount struct {
	Type  string
	Count int64
}

// TypeCounter is a store that counts events by type itself (GROUP BY in SQL)
// instead of streaming them. Filter.Types and Filter.Limit are ignored; the
// order of the result is not specified.
type TypeCounter interface {
	CountByType(ctx context.Context, f Filter) ([]TypeCount, error)
}

// HourlyRow is the rollup of one shop's events of one UTC hour, one type
// and one order currency.
type HourlyRow struct {
	// Hour is the start of the hour, in UTC.
	Hour time.Time
	Type string
	// Currency is the order's currency for purchase_completed (its
	// currency, else "USD", the default of events); "" for other types.
	Currency string
	// Events is how many events of Type the hour has.
	Events int64
	// Orders is how many of them are purchase_completed, 0 for other
	// types; RevenueMinor their order totals summed in minor units of
	// Currency, RevenueMin and RevenueMax the smallest and largest total
	// (0 without orders).
	Orders                               int64
	RevenueMinor, RevenueMin, RevenueMax int64
}

// HourlyReader is a store that keeps events rolled up per UTC hour, type and
// order currency, maintained as events are appended, so that counts and
// sums over a range read a row per hour instead of every event.
//
// HourlyCounts returns the rows of f's shop in [f.From, f.To) (zero bounds
// are unbounded) of f.Types (all when empty), in no specified order, with
// no two rows of one (Hour, Type, Currency). It returns an error wrapping
// errors.ErrUnsupported for what a rollup cannot answer exactly: a bound
// that is not a whole UTC hour, a UserID, AnonymousID, SessionID or Limit,
// and a shop whose rollups are not complete (see RollupRebuilder); callers
// then read the events.
type HourlyReader interface {
	HourlyCounts(ctx context.Context, f Filter) ([]HourlyRow, error)
}

// RollupRebuilder is a store whose rollups can be recomputed from its raw
// events: after events were appended with rollups turned off, or to repair
// them. Rebuild replaces the shop's rollups in one transaction; appends wait
// for it.
type RollupRebuilder interface {
	Rebuild(ctx context.Context, shopID string) error
}

// The detail rollups below are kept in Append's transaction next to the
// hourly ones, for inserted events only, and answer for a shop only when
// complete: a shop with events appended with rollups off, or stored before
// the rollups existed, answers errors.ErrUnsupported until Rebuild. Bounds
// must be whole UTC hours or zero; a UserID, AnonymousID, SessionID, Types
// or Limit in the filter is errors.ErrUnsupported too (see DetailFilter).

// SessionReader is a store that keeps a table of sessions (Session: every
// event of a session_id, or a device's run split at SessionGap), whole
// whatever order their events arrived in, and their rollup by the UTC hour
// they start in.
type SessionReader interface {
	// SessionHours returns the SessionHour rows of f's shop with Hour in
	// [f.From, f.To), in no specified order.
	SessionHours(ctx context.Context, f Filter) ([]SessionHour, error)
	// SessionsAt returns the sessions of the shop that start before t and
	// end at or after it, in no specified order.
	SessionsAt(ctx context.Context, shopID string, t time.Time) ([]Session, error)
	// SessionSpan returns an upper bound of the length (last event −
	// first) of the shop's sessions: the longest ever written.
	SessionSpan(ctx context.Context, shopID string) (time.Duration, error)
}

// PeopleReader is a store that keeps who was active in each UTC hour
// (PersonHours) and each anonymous id's earliest identify link (Links).
type PeopleReader interface {
	// CountPeople returns how many distinct people were active in
	// [f.From, f.To), as analytics counts users: each user id with a
	// PersonHour row in the range; and each anonymous id with a Raw row
	// in it, as the user its link names when the link is before the range
	// (no event of the range can be earlier), else as nobody new when a
	// row of the range is Linked or the link is inside the range (the
	// earliest link of the range is then an event of the range with a
	// user id, counted already), else as its link's user, else as itself.
	CountPeople(ctx context.Context, f Filter) (int64, error)
}

// ProductReader is a store that keeps products rolled up per UTC hour and
// currency (ProductHours).
type ProductReader interface {
	// ProductTotals returns the ProductHour rows of f's shop with Hour in
	// [f.From, f.To) summed per product and currency, Hour zero, the name
	// the latest of the rows'; in no specified order.
	ProductTotals(ctx context.Context, f Filter) ([]ProductHour, error)
}

// TopProductReader is a ProductReader that finds the most purchased
// product of a range without summing every product's rows.
type TopProductReader interface {
	// TopPurchased returns the product of f's shop with the most
	// purchases (ProductHour.Purchases summed over currencies) in
	// [f.From, f.To), ties going to the most views, then the least
	// product id; "" when no product was purchased in the range.
	TopPurchased(ctx context.Context, f Filter) (string, error)
}
