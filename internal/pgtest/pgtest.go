// Package pgtest opens PostgreSQL stores for tests outside store/pgstore:
// each in a schema of its own, dropped when the test ends.
package pgtest

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/lib/pq" // the "postgres" database/sql driver

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store/pgstore"
)

// Schema returns a new schema name, dropped with everything in it when the
// test ends (after stores closed by later-registered cleanups).
func Schema(t testing.TB) string {
	t.Helper()
	dsn := testenv.PostgresURL(t)
	name := testenv.UniqueName("test_")
	t.Cleanup(func() {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			t.Errorf("pgtest: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA IF EXISTS ` + name + ` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Open opens a pgstore on a fresh schema, closed when the test ends; it
// skips the test when PostgreSQL is not configured (see testenv).
func Open(t testing.TB) *pgstore.Store {
	t.Helper()
	schema := Schema(t)
	s, err := pgstore.New(context.Background(), pgstore.Options{DSN: testenv.PostgresURL(t), Schema: schema})
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// URL returns a store URL for a fresh schema, for code that opens stores by
// URL (store.Open, the example server).
func URL(t testing.TB) string {
	t.Helper()
	base := testenv.PostgresURL(t)
	sep := "?"
	for i := 0; i < len(base); i++ {
		if base[i] == '?' {
			sep = "&"
		}
	}
	return base + sep + "schema=" + Schema(t)
}
