package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shoplytics/shoplytics/store"
)

// wrap is the one place Redis errors become store errors: op names the
// operation for the message; connection failures and a server that cannot
// serve now (loading, failing over, out of memory) wrap
// store.ErrUnavailable so callers retry; a client closed under the store
// wraps store.ErrClosed; context errors stay as they are.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redisstore: %s: %w (%w)", op, store.ErrClosed, err)
	}
	if unavailable(err) {
		return fmt.Errorf("redisstore: %s: %w (%w)", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// serverBusy lists the error prefixes of a server that may serve the same
// request later.
var serverBusy = []string{"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "OOM", "NOREPLICAS", "NOSCRIPT"}

func unavailable(err error) bool {
	if store.ConnectionLost(err) || errors.Is(err, redis.ErrPoolTimeout) {
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range serverBusy {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
	}
	return false
}

// isNoScript reports a script cache miss (after SCRIPT FLUSH or a restart).
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
