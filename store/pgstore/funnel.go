package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.FunnelReader = (*Store)(nil)

// insertTrails inserts the trails of added, sessions rows rebuildDetail
// inserts (migrations/0007_session_trails.sql).
func (s *Store) insertTrails(ctx context.Context, tx *sql.Tx, added []store.Session) error {
	if len(added) == 0 {
		return nil
	}
	var st statement
	s.addTrails(&st, added, false)
	return st.exec(ctx, s, tx)
}

// addTrails adds the trails of added to st: inserted, or with upsert in
// place of a stored row of the same key (writeDetail deletes the trails
// of the sessions it deletes beside it).
func (s *Store) addTrails(st *statement, added []store.Session, upsert bool) {
	var (
		shops, starts, kinds, keys, ends pq.StringArray
		types                            pq.Int64Array
		trails                           pq.ByteaArray
	)
	for i := range added {
		a := &added[i]
		shops, starts, kinds, keys, ends = append(shops, a.ShopID), append(starts, stamp(a.Start)), append(kinds, a.Kind),
			append(keys, a.Key), append(ends, stamp(a.End))
		types, trails = append(types, a.Trail.Types()), append(trails, a.Trail.Encode())
	}
	tail := ""
	if upsert {
		tail = ` ON CONFLICT (shop_id, start_ts, kind, key) DO UPDATE SET end_ts = excluded.end_ts,
			types = excluded.types, trail = excluded.trail`
	}
	st.add(`INSERT INTO `+s.table("session_trails")+`
		(shop_id, start_ts, kind, key, end_ts, types, trail)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::bytea[])`+tail,
		shops, starts, kinds, keys, ends, types, trails)
}

// SessionTrails implements store.FunnelReader: one count and one read of
// the range of session_trails' key that starts within the shop's longest
// session of From, up to To.
func (s *Store) SessionTrails(ctx context.Context, f store.Filter, first, second string, yield func(store.Trail) error) (int64, error) {
	b1, b2, err := store.TrailRequest(&f, first, second)
	if err != nil {
		return 0, fmt.Errorf("pgstore: session trails: %w", err)
	}
	var n int64
	// The bounds are checked above: readDetail sees the shop alone.
	err = s.readDetail(ctx, "session trails", &store.Filter{ShopID: f.ShopID}, func(tx *sql.Tx) error {
		var (
			pending bool
			span    sql.NullInt64
		)
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.table("trails_pending")+` WHERE shop_id = $1),
			(SELECT max(micros) FROM `+s.table("session_spans")+` WHERE shop_id = $1)`, f.ShopID).Scan(&pending, &span); err != nil {
			return err
		}
		if pending {
			return store.TrailsPending(f.ShopID)
		}
		// The range's sessions start in [lo, To): read a day of starts per
		// statement, which counts the sessions that stop at step 1 and
		// sends the trails of the others as one value, joined by 0 bytes
		// (see store.DecodeTrail). A row per session would cost a round of
		// the protocol and of database/sql each; one value for the whole
		// range would grow with it.
		lo, to := f.From, f.To
		if !f.From.IsZero() {
			lo = f.From.Add(-time.Duration(span.Int64) * time.Microsecond)
		}
		if lo.IsZero() || to.IsZero() {
			var first, last sql.NullTime
			if err := tx.QueryRowContext(ctx, `SELECT min(start_ts), max(start_ts) FROM `+s.table("session_trails")+`
				WHERE shop_id = $1`, f.ShopID).Scan(&first, &last); err != nil {
				return err
			}
			if !first.Valid {
				return nil
			}
			if lo.IsZero() {
				lo = first.Time
			}
			if to.IsZero() {
				to = last.Time.Add(time.Microsecond)
			}
		}
		from := "-infinity"
		if !f.From.IsZero() {
			from = stamp(f.From)
		}
		// JIT compiling costs more than these scans take.
		if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		var trail store.Trail
		for day := lo; day.Before(to); day = day.Add(24 * time.Hour) {
			end := day.Add(24 * time.Hour)
			if end.After(to) {
				end = to
			}
			var (
				only int64
				raw  []byte
			)
			if err := tx.QueryRowContext(ctx, `SELECT
					count(*) FILTER (WHERE start_ts >= $3 AND end_ts < $6 AND types & $4 != 0 AND types & $5 = 0),
					string_agg(trail, '\x00'::bytea) FILTER (WHERE types != 0 AND (start_ts < $3 OR end_ts >= $6 OR types & $4 != 0 AND types & $5 != 0))
				FROM `+s.table("session_trails")+`
				WHERE shop_id = $1 AND start_ts >= $2 AND start_ts < $7 AND end_ts >= $3`,
				f.ShopID, stamp(day), from, b1, b2, stampOr(f.To, "infinity"), stamp(end)).Scan(&only, &raw); err != nil {
				return err
			}
			n += only
			for b := raw; len(b) > 0; {
				var err error
				if trail, b, err = store.DecodeTrail(trail[:0], b); err != nil {
					return err
				}
				if err := yield(trail.Within(f.From, f.To)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// stampOr is stamp(t), or instead for the zero time.
func stampOr(t time.Time, instead string) string {
	if t.IsZero() {
		return instead
	}
	return stamp(t)
}
