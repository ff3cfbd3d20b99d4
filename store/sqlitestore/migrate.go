package sqlitestore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"

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
func migrate(ctx context.Context, db *sqlx.DB, wait time.Duration) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	conn, err := beginImmediate(ctx, db, wait)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", fail(ctx, err))
	}
	defer conn.Close()
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

// beginImmediate takes a connection and the write lock for the migration.
// Stores opening one new file at once meet a lock the busy timeout does not
// wait for: each connection switches the file to the write-ahead log as it
// connects, and SQLite answers SQLITE_BUSY at once to the second rather than
// let two readers deadlock on the upgrade. That is retried here, backing off,
// for up to wait.
func beginImmediate(ctx context.Context, db *sqlx.DB, wait time.Duration) (*sqlx.Conn, error) {
	deadline := time.Now().Add(wait)
	pause := 5 * time.Millisecond
	for {
		conn, err := db.Connx(ctx)
		if err == nil {
			if _, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err == nil {
				return conn, nil
			}
			_ = conn.Close()
		}
		var se sqlite3.Error
		if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy || time.Now().Add(pause).After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}
