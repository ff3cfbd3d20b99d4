package store

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// CheckpointKeeper is a store that keeps checkpoints: small values that a
// long job saves as it goes (the Shopify historical sync saves its page
// cursor after each page's events are stored), so that after a crash it
// resumes where it stopped instead of starting over. A checkpoint is named
// within a shop; saving replaces the value, and a saved value is read back
// byte for byte, also after the store is reopened. Keeping checkpoints in
// the store the events go to keeps the two consistent: a checkpoint never
// outlives the events it vouches for when a database is restored.
//
// Backends without it make such jobs start over; the events they resend
// are dropped as duplicates.
type CheckpointKeeper interface {
	// LoadCheckpoint returns the value saved under (shopID, name); ok is
	// false when there is none.
	LoadCheckpoint(ctx context.Context, shopID, name string) (value []byte, ok bool, err error)
	// SaveCheckpoint saves value under (shopID, name), replacing any
	// value saved before, durably once it returns.
	SaveCheckpoint(ctx context.Context, shopID, name string, value []byte) error
	// DeleteCheckpoint removes the checkpoint; removing one that does not
	// exist is no error.
	DeleteCheckpoint(ctx context.Context, shopID, name string) error
}

// Limits of a checkpoint.
const (
	MaxCheckpointNameLen = 128
	MaxCheckpointLen     = 64 << 10
)

// CheckCheckpoint checks the arguments of a CheckpointKeeper call (value
// nil for a load or delete); backends call it first. The error wraps
// ErrInvalid.
func CheckCheckpoint(shopID, name string, value []byte) error {
	switch {
	case shopID == "":
		return invalid("checkpoint: shop id is required")
	case name == "":
		return invalid("checkpoint: name is required")
	case len(name) > MaxCheckpointNameLen:
		return invalid(fmt.Sprintf("checkpoint: name longer than %d bytes", MaxCheckpointNameLen))
	case !utf8.ValidString(name) || !utf8.ValidString(shopID):
		return invalid("checkpoint: shop id and name must be UTF-8")
	case len(value) > MaxCheckpointLen:
		return invalid(fmt.Sprintf("checkpoint: value of %d bytes is over %d", len(value), MaxCheckpointLen))
	}
	return nil
}
