// Package testenv finds the external services tests run against.
//
// Tests that need PostgreSQL or Redis read their address from
// SHOPLYTICS_TEST_POSTGRES_URL or SHOPLYTICS_TEST_REDIS_URL. When it is not
// set the test is skipped, unless SHOPLYTICS_TEST_REQUIRE=1 (as on CI), which
// turns the skip into a failure so nothing is silently left out.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// PostgresURL returns the PostgreSQL URL for tests, or skips the test.
func PostgresURL(t testing.TB) string { return need(t, "SHOPLYTICS_TEST_POSTGRES_URL") }

// RedisURL returns the Redis URL for tests, or skips the test.
func RedisURL(t testing.TB) string { return need(t, "SHOPLYTICS_TEST_REDIS_URL") }

// Required reports whether SHOPLYTICS_TEST_REQUIRE=1 is set.
func Required() bool { return os.Getenv("SHOPLYTICS_TEST_REQUIRE") == "1" }

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if Required() {
			t.Fatalf("%s is not set and SHOPLYTICS_TEST_REQUIRE=1", name)
		}
		t.Skipf("%s is not set", name)
	}
	return v
}

// UniqueName returns prefix followed by random hex, a valid SQL identifier
// and Redis key part, for a per-test schema or key prefix.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(prefix) + hex.EncodeToString(b[:])
}
