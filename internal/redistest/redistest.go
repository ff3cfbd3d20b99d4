// Package redistest gives tests outside store/redisstore a Redis key prefix
// of their own, removed when the test ends.
package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoplytics/shoplytics/internal/testenv"
)

// Prefix returns the Redis URL for tests and a fresh key prefix whose keys
// ("{prefix}…") are deleted when the test ends; it skips the test when Redis
// is not configured (see testenv).
func Prefix(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	redisURL = testenv.RedisURL(t)
	prefix = testenv.UniqueName("test")
	t.Cleanup(func() {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			t.Errorf("redistest: %v", err)
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		keys, err := c.Keys(ctx, "{"+prefix+"}*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("redistest: clean %s: %v", prefix, err)
		}
	})
	return redisURL, prefix
}
