package sqlitestore

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/shoplytics/shoplytics/internal/migrations"
)

// migrationFiles holds the schema as numbered steps, "0001_name.sql"; a
// step, once released, never changes: new needs get a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded steps in version order.
func loadMigrations() ([]migrations.Migration, error) {
	return migrations.Load(migrationFiles, "migrations/*.sql")
}

// SchemaVersion is the schema version this build brings a database to.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// migrate applies the steps the database lacks, all in one transaction that
// takes the write lock first (BEGIN IMMEDIATE, whatever the DSN says), so
// two processes opening the same new file apply each step once: the second
// waits, then finds the steps recorded.
func migrate(ctx context.Context, db *sqlx.DB) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", fail(ctx, err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", fail(ctx, err))
	}
	defer func() {
		end := "COMMIT"
		if err != nil {
			end = "ROLLBACK"
		}
		// Not ctx: a cancelled ctx must not leave the connection, back in
		// the pool, inside a transaction.
		if _, endErr := conn.ExecContext(context.Background(), end); endErr != nil && err == nil {
			err = fmt.Errorf("sqlitestore: migrate: %w", fail(ctx, endErr))
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL -- microseconds since the epoch, UTC
	) STRICT`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", fail(ctx, err))
	}
	var applied []int
	if err := conn.SelectContext(ctx, &applied, "SELECT version FROM schema_migrations ORDER BY version"); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", fail(ctx, err))
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	if n := len(applied); n > 0 && len(ms) > 0 && applied[n-1] > ms[len(ms)-1].Version {
		return fmt.Errorf("sqlitestore: migrate: database schema version %d is newer than this build's %d", applied[n-1], ms[len(ms)-1].Version)
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlitestore: migrate %s: %w", m.Name, fail(ctx, err))
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlitestore: migrate %s: %w", m.Name, fail(ctx, err))
		}
	}
	return nil
}
