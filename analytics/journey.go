package analytics

import (
	"context"
	"fmt"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// DefaultJourneyLimit is how many events a journey lists when the option
// is zero; MaxJourneyLimit is the most it may ask for.
const (
	DefaultJourneyLimit = 1000
	MaxJourneyLimit     = 10_000
)

// JourneyOptions configure Journey. UserID is required.
type JourneyOptions struct {
	// UserID is the user: a user_id, or an anonymous id that was never
	// identified.
	UserID string
	// Limit caps the events, the earliest kept (default
	// DefaultJourneyLimit, at most MaxJourneyLimit).
	Limit int
}

// Journey returns one user's events of the range in time order, with the
// anonymous history of every device identified as theirs stitched in: the
// events of an anonymous id linked to the user (see the package
// documentation), before the identify as well as after. An event carrying
// another user_id stays that user's.
//
// It reads the range twice: once to learn the links, once for the events.
func Journey(ctx context.Context, s store.Store, q Query, o JourneyOptions) ([]tracking.Event, error) {
	r, err := journey(ctx, s, q, o)
	if err != nil {
		return nil, fmt.Errorf("analytics: journey: %w", err)
	}
	return r, nil
}

func journey(ctx context.Context, s store.Store, q Query, o JourneyOptions) ([]tracking.Event, error) {
	if o.UserID == "" {
		return nil, optionError("user_id", "is required")
	}
	limit, err := limitOrDefault(o.Limit, DefaultJourneyLimit, MaxJourneyLimit)
	if err != nil {
		return nil, err
	}
	ids, err := learnIdentities(ctx, s, q)
	if err != nil {
		return nil, err
	}
	out := []tracking.Event{}
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return nil, err
		}
		if p, ok := rawPerson(&e); ok && ids.resolve(p).id == o.UserID {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}
