package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// The write path of Append inserts the unique events of a batch in
// (shop_id, id) order, so two transactions inserting overlapping batches
// take their row locks in the same order and cannot deadlock, and learns
// which events were new: a COPY straight into events (insertCopyDirect),
// falling back to a staging table and INSERT … ON CONFLICT DO NOTHING
// RETURNING (insertCopy) when a key is already stored. The other paths the
// benchmarks compared it with live in the package's tests.

// insertFunc stores events[unique], already in key order, and returns the
// keys the database did not hold before.
type insertFunc func(s *Store, ctx context.Context, events []tracking.Event, unique []int) ([]store.Key, error)

// stagingAfterConflict is how many batches go through staging after a
// direct COPY met a stored key.
const stagingAfterConflict = 16

// columns of events in the order every insert path sends them.
const columns = `shop_id, id, type, user_id, anonymous_id, session_id, product_id, product_name, category,
	price, quantity, revenue, currency, order_id, url, referrer, user_agent, properties, ts, received_at`

const numColumns = 20

// queryer is what an insert path needs of a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanKeys reads the (shop_id, id) rows of a RETURNING clause.
func scanKeys(ctx context.Context, q queryer, keys []store.Key, query string, args ...any) ([]store.Key, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return keys, err
	}
	defer rows.Close()
	for rows.Next() {
		var k store.Key
		if err := rows.Scan(&k.ShopID, &k.ID); err != nil {
			return keys, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// stagingTable names the temporary staging table. It carries the version of
// stagingColumns, so a connection that still holds a table of an older shape
// (a caller's pool shared with an older build) is not reused.
const stagingTable = "shoplytics_staging_v1"

// stagingColumns defines the staging table; it mirrors events without
// constraints or indexes.
const stagingColumns = `(shop_id text COLLATE "C", id text COLLATE "C", type text COLLATE "C", user_id text, anonymous_id text, session_id text,
	product_id text, product_name text, category text, price bigint, quantity bigint, revenue bigint,
	currency text, order_id text, url text, referrer text, user_agent text, properties jsonb,
	ts timestamptz, received_at timestamptz)`

// copyDataStmt is the COPY statement of lib/pq, which takes pre-encoded
// lines; Exec(nil) ends the COPY and reports its errors.
type copyDataStmt interface {
	driver.Stmt
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// encodeCopy encodes events[unique] as COPY text rows.
func encodeCopy(events []tracking.Event, unique []int) string {
	var data copyText
	data.b = make([]byte, 0, len(unique)*512)
	for n, i := range unique {
		if n > 0 {
			data.b = append(data.b, '\n')
		}
		data.row(&events[i])
	}
	return string(data.b)
}

// copyIn runs COPY table FROM STDIN with data on conn, through the driver,
// which takes the whole encoded batch at once.
func copyIn(ctx context.Context, conn *sql.Conn, table, data string) error {
	return conn.Raw(func(dc any) error {
		if wc, ok := dc.(*watchedConn); ok {
			// Exec(nil), which ends the COPY, takes no context.
			defer wc.watch(ctx)()
		}
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare; pgstore needs lib/pq", dc)
		}
		st, err := prep.PrepareContext(ctx, `COPY `+table+` (`+columns+`) FROM STDIN`)
		if err != nil {
			return err
		}
		defer st.Close()
		cp, ok := st.(copyDataStmt)
		if !ok {
			return fmt.Errorf("driver statement %T does not take COPY data; pgstore needs lib/pq", st)
		}
		if _, err := cp.CopyData(ctx, data); err != nil {
			return err
		}
		_, err = cp.Exec(nil) // lib/pq's COPY statement has no ExecContext
		return err
	})
}

// insertCopyDirect COPYs the batch straight into events, in a transaction
// of its own; when a key is already stored the COPY fails whole, and the
// batch goes through insertCopy.
func (s *Store) insertCopyDirect(ctx context.Context, events []tracking.Event, unique []int) ([]store.Key, error) {
	if s.stagingBatches.Load() > 0 {
		s.stagingBatches.Add(-1)
		return s.insertCopy(ctx, events, unique)
	}
	err := s.copyDirect(ctx, encodeCopy(events, unique), s.rollupAll(events, unique))
	if isUniqueViolation(err) {
		s.stagingBatches.Store(stagingAfterConflict)
		return s.insertCopy(ctx, events, unique)
	}
	if err != nil {
		return nil, err
	}
	keys := make([]store.Key, len(unique))
	for n, i := range unique {
		keys[n] = store.KeyOf(&events[i])
	}
	return keys, nil
}

// copyDirect COPYs data into events and adds rollup, the rollup of all its
// rows, in one transaction.
func (s *Store) copyDirect(ctx context.Context, data string, rollup *rollup) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil) // lib/pq runs COPY only in a transaction
	if err != nil {
		return err
	}
	rollup.slot = s.slots.take()
	defer s.slots.give(rollup.slot)
	if err := copyIn(ctx, conn, s.events, data); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := s.writeRollups(ctx, tx, rollup); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// insertCopy COPYs the batch into a temporary staging table kept per
// connection and moves the new rows into events, in one transaction. The
// first batch on a connection creates the table; later ones find it (a
// notice, no catalog change) and commit empties it.
func (s *Store) insertCopy(ctx context.Context, events []tracking.Event, unique []int) ([]store.Key, error) {
	return s.insertStaged(ctx, events, unique,
		`CREATE TEMP TABLE IF NOT EXISTS `+stagingTable+` `+stagingColumns+` ON COMMIT DELETE ROWS`,
		"pg_temp."+stagingTable)
}

// insertStaged runs create, which makes sure the temporary table staging
// exists, COPYs the batch into it, moves the new rows into events and adds
// their rollups, all in one transaction.
func (s *Store) insertStaged(ctx context.Context, events []tracking.Event, unique []int, create, staging string) (keys []store.Key, err error) {
	data := encodeCopy(events, unique)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	slot := s.slots.take()
	defer s.slots.give(slot)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return nil, err
	}
	if err := copyIn(ctx, conn, staging, data); err != nil {
		return nil, err
	}
	keys, err = scanKeys(ctx, tx, make([]store.Key, 0, len(unique)), `INSERT INTO `+s.events+` (`+columns+`)
		SELECT `+columns+` FROM `+staging+` ORDER BY shop_id, id
		ON CONFLICT (shop_id, id) DO NOTHING RETURNING shop_id, id`)
	if err != nil {
		return nil, err
	}
	r := s.rollupOf(events, unique, keys)
	r.slot = slot
	if err := s.writeRollups(ctx, tx, r); err != nil {
		return nil, err
	}
	return keys, tx.Commit()
}
