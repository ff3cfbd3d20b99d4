package store

import "context"

// Eraser is implemented by stores that can erase a person's events, for a
// privacy request (GET /api/users/{id}/journey shows what it removes).
//
// ErasePerson deletes the shop's events that belong to userID: those with
// that user_id, and the anonymous ones (no user_id) of every anonymous_id
// that an event with that user_id carries, as an identify does; so the
// history stitched to the person goes with them, while another person's
// identified events on a shared device stay. It returns how many events it
// deleted, 0 when there were none. The shop's rollups stop counting them in
// the same transaction (a store may mark them stale there, so reads fall
// back to the events, and rebuild them afterwards). An erased event sent
// again is stored again: erase after the sender has stopped.
type Eraser interface {
	ErasePerson(ctx context.Context, shopID, userID string) (int64, error)
}
