package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.FunnelReader = (*Store)(nil)

// The trails of sessions rows (migrations/0007_session_trails.sql), kept
// next to them: writeDetail and rebuildDetail hand writeTrails the rows
// they delete and insert.
const (
	// A trail whose session keeps its start (one that new events extend)
	// is rewritten in place: one change to the table instead of a delete
	// and an insert.
	upsertTrailsHead = `INSERT INTO session_trails (shop_id, start_ts, kind, key, end_ts, types, trail)`
	upsertTrailsTail = ` ON CONFLICT (shop_id, start_ts, kind, key) DO UPDATE SET
		end_ts = excluded.end_ts, types = excluded.types, trail = excluded.trail`
	deleteTrailsHead = `DELETE FROM session_trails WHERE (shop_id, start_ts, kind, key) IN (`
)

// trailKey is the key of a session_trails row.
type trailKey struct {
	group store.SessionGroup
	start int64
}

// writeTrails deletes the trails of removed and writes those of added.
func writeTrails(ctx context.Context, tx *sql.Tx, removed, added []store.Session) error {
	if len(removed) > 0 {
		kept := make(map[trailKey]bool, len(added))
		for i := range added {
			kept[trailKey{added[i].SessionGroup, added[i].Start.UnixMicro()}] = true
		}
		args := make([]any, 0, 4*len(removed))
		for i := range removed {
			r := &removed[i]
			if start := r.Start.UnixMicro(); !kept[trailKey{r.SessionGroup, start}] {
				args = append(args, r.ShopID, start, r.Kind, r.Key)
			}
		}
		if err := execRows(ctx, tx, deleteTrailsHead, `)`, 4, args); err != nil {
			return err
		}
	}
	if len(added) == 0 {
		return nil
	}
	args := make([]any, 0, 7*len(added))
	for i := range added {
		a := &added[i]
		args = append(args, a.ShopID, a.Start.UnixMicro(), a.Kind, a.Key, a.End.UnixMicro(),
			a.Trail.Types(), a.Trail.Encode())
	}
	return execRows(ctx, tx, upsertTrailsHead, upsertTrailsTail, 7, args)
}

// SessionTrails implements store.FunnelReader: one count and one read of
// the range of session_trails' key that starts within the shop's longest
// session of From, up to To.
func (s *Store) SessionTrails(ctx context.Context, f store.Filter, first, second string, yield func(store.Trail) error) (int64, error) {
	b1, b2, err := store.TrailRequest(&f, first, second)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: session trails: %w", err)
	}
	var n int64
	// The bounds are checked above: readDetail sees the shop alone.
	err = s.readDetail(ctx, "session trails", &store.Filter{ShopID: f.ShopID}, func(conn *sql.Conn) error {
		var pending int
		var span sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM trails_pending WHERE shop_id = ?1),
			(SELECT max(micros) FROM session_spans WHERE shop_id = ?1)`, f.ShopID).Scan(&pending, &span); err != nil {
			return err
		}
		if pending > 0 {
			return store.TrailsPending(f.ShopID)
		}
		from, to, lo := int64(math.MinInt64), int64(math.MaxInt64), int64(math.MinInt64)
		if !f.From.IsZero() {
			from = f.From.UnixMicro()
			lo = from - span.Int64
		}
		if !f.To.IsZero() {
			to = f.To.UnixMicro()
		}
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM session_trails
			WHERE shop_id = ?1 AND start_ts >= ?2 AND start_ts < ?3 AND end_ts < ?3
				AND types & ?4 != 0 AND types & ?5 = 0`, f.ShopID, from, to, b1, b2).Scan(&n); err != nil {
			return err
		}
		rows, err := conn.QueryContext(ctx, `SELECT trail FROM session_trails
			WHERE shop_id = ?1 AND start_ts >= ?2 AND start_ts < ?4 AND end_ts >= ?3
				AND types != 0 AND (start_ts < ?3 OR end_ts >= ?4 OR types & ?5 != 0 AND types & ?6 != 0)`,
			f.ShopID, lo, from, to, b1, b2)
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			trail store.Trail
			raw   sql.RawBytes
		)
		for rows.Next() {
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			if trail, _, err = store.DecodeTrail(trail[:0], raw); err != nil {
				return err
			}
			if err := yield(trail.Within(f.From, f.To)); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return n, err
}
