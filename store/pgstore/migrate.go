package pgstore

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/lib/pq"
	"github.com/shoplytics/shoplytics/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded steps in version order.
func loadMigrations() ([]migrations.Migration, error) {
	return migrations.Load(migrationFiles, "migrations/*.sql")
}

// lockKey is the pg_advisory_xact_lock key that serialises migrations of one
// schema across processes; other schemas migrate in parallel.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("shoplytics/pgstore/migrate:" + schema))
	return int64(h.Sum64())
}

// migrate brings schema up to the latest embedded version. Everything runs in
// one transaction that first takes an advisory lock, so concurrent callers
// queue: the first applies the migrations and the others find them applied.
// A failure leaves the schema as it was.
func migrate(ctx context.Context, db *sqlx.DB, schema string) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	q := pq.QuoteIdentifier(schema)
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()

	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(schema)); err != nil {
		return err
	}
	// CREATE SCHEMA needs the CREATE privilege on the database even when the
	// schema exists, so a schema prepared by an administrator is only looked up.
	var exists bool
	if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema); err != nil {
		return err
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, `CREATE SCHEMA `+q); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+q+`.schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	var applied []int
	if err := tx.SelectContext(ctx, &applied, `SELECT version FROM `+q+`.schema_migrations`); err != nil {
		return err
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, strings.ReplaceAll(m.SQL, "{{schema}}", q)); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+q+`.schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return tx.Commit()
}
