package redisstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shoplytics/shoplytics/store"
)

// wrap gives a failed Redis call its context: op names the operation
// for the message, and classify the sentinel.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redisstore: %s: %w", op, classify(err))
}

// classify turns go-redis errors into the store's sentinels (see
// store.Classify): connection failures and a server that cannot serve now
// (loading, failing over, out of memory) are store.ErrUnavailable, so
// callers retry; a client closed under the store is store.ErrClosed.
func classify(err error) error { return store.Classify(err, errorKind) }

// serverBusy lists the error prefixes of a server that may serve the same
// request later.
var serverBusy = []string{"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "OOM", "NOREPLICAS", "NOSCRIPT"}

func errorKind(err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return store.ErrClosed
	}
	if errors.Is(err, redis.ErrPoolTimeout) {
		return store.ErrUnavailable
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range serverBusy {
			if strings.HasPrefix(msg, p) {
				return store.ErrUnavailable
			}
		}
	}
	return nil
}

// isNoScript reports a script cache miss (after SCRIPT FLUSH or a restart).
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
