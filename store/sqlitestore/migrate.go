package sqlitestore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// migrationFiles holds the schema as numbered steps, "0001_name.sql"; a
// step, once released, never changes: new needs get a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded steps in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, p := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "migrations/"), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name does not start with a positive number", p)
		}
		body, err := migrationFiles.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this build brings a database to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies the steps the database lacks, all in one transaction that
// takes the write lock first (BEGIN IMMEDIATE, whatever the DSN says), so
// two processes opening the same new file apply each step once: the second
// waits, then finds the steps recorded.
func migrate(ctx context.Context, db *sqlx.DB) (err error) {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", mapError(ctx, err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", mapError(ctx, err))
	}
	defer func() {
		end := "COMMIT"
		if err != nil {
			end = "ROLLBACK"
		}
		// Not ctx: a cancelled ctx must not leave the connection, back in
		// the pool, inside a transaction.
		if _, endErr := conn.ExecContext(context.Background(), end); endErr != nil && err == nil {
			err = fmt.Errorf("sqlitestore: migrate: %w", mapError(ctx, endErr))
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL -- microseconds since the epoch, UTC
	) STRICT`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", mapError(ctx, err))
	}
	var applied []int
	if err := conn.SelectContext(ctx, &applied, "SELECT version FROM schema_migrations ORDER BY version"); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", mapError(ctx, err))
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	if n := len(applied); n > 0 && len(ms) > 0 && applied[n-1] > ms[len(ms)-1].version {
		return fmt.Errorf("sqlitestore: migrate: database schema version %d is newer than this build's %d", applied[n-1], ms[len(ms)-1].version)
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("sqlitestore: migrate %s: %w", m.name, mapError(ctx, err))
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlitestore: migrate %s: %w", m.name, mapError(ctx, err))
		}
	}
	return nil
}
