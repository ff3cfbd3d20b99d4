package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// DeadLetter is an event a relay gave up on: its destination refused it as
// invalid, or it did not decode. It stays in the prefix's dead-letter
// stream ("{prefix}:dead") until deleted; nothing trims that stream.
type DeadLetter struct {
	// ID is the dead letter's own entry id, for DeleteDeadLetters.
	ID string
	// Group is the consumer group of the relay that gave up.
	Group string
	// Stream and Entry say where the event was: the shop stream's key and
	// the id of the entry (chunk) that held it.
	Stream, Entry string
	// Reason is the error that made the relay give up.
	Reason string
	// Event is the event's JSON as tracking.Event.AppendJSON writes it, or,
	// for an event that did not decode, the bytes as they were stored.
	Event string
}

// DeadLetters returns up to count dead letters (count > 0), oldest first,
// starting after the one whose ID is after ("" for the first). To replay
// one, fix it, append it to the relay's destination directly (appending it
// to this store again would be dropped as a duplicate within the dedup
// window), then delete it.
func (s *Store) DeadLetters(ctx context.Context, after string, count int64) ([]DeadLetter, error) {
	if count <= 0 {
		return nil, fmt.Errorf("redisstore: dead letters: count %d is not positive", count)
	}
	start := "-"
	if after != "" {
		start = "(" + after
	}
	msgs, err := s.client.XRangeN(ctx, s.keys.deadLetters(), start, "+", count).Result()
	if err != nil {
		return nil, wrap("dead letters", err)
	}
	out := make([]DeadLetter, len(msgs))
	for i, m := range msgs {
		out[i] = deadLetterOf(m)
	}
	return out, nil
}

// DeleteDeadLetters removes dead letters by ID.
func (s *Store) DeleteDeadLetters(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap("delete dead letters", s.client.XDel(ctx, s.keys.deadLetters(), ids...).Err())
}

func deadLetterOf(m redis.XMessage) DeadLetter {
	field := func(name string) string { v, _ := m.Values[name].(string); return v }
	return DeadLetter{
		ID: m.ID, Group: field("group"), Stream: field("stream"), Entry: field("entry"),
		Reason: field("reason"), Event: field(eventsField),
	}
}
