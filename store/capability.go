package store

import "context"

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
