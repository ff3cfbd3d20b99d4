package pgstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
)

var _ store.FunnelReader = (*Store)(nil)

// writeTrails deletes the trails of removed and inserts those of added
// (migrations/0007_session_trails.sql), one statement each; writeDetail
// and rebuildDetail hand it the sessions rows they delete and insert.
func (s *Store) writeTrails(ctx context.Context, tx *sql.Tx, removed, added []store.Session) error {
	if len(removed) > 0 {
		var shops, starts, kinds, keys pq.StringArray
		for i := range removed {
			r := &removed[i]
			shops, starts, kinds, keys = append(shops, r.ShopID), append(starts, stamp(r.Start)), append(kinds, r.Kind), append(keys, r.Key)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.table("session_trails")+` AS t
			USING unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[]) AS d(shop_id, start_ts, kind, key)
			WHERE t.shop_id = d.shop_id AND t.start_ts = d.start_ts AND t.kind = d.kind AND t.key = d.key`,
			shops, starts, kinds, keys); err != nil {
			return err
		}
	}
	if len(added) == 0 {
		return nil
	}
	var (
		shops, starts, kinds, keys, ends pq.StringArray
		types                            pq.Int64Array
		trails                           pq.ByteaArray
	)
	for i := range added {
		a := &added[i]
		shops, starts, kinds, keys, ends = append(shops, a.ShopID), append(starts, stamp(a.Start)), append(kinds, a.Kind),
			append(keys, a.Key), append(ends, stamp(a.End))
		types, trails = append(types, a.Trail.Types()), append(trails, a.Trail.Encode(a.Start))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("session_trails")+`
		(shop_id, start_ts, kind, key, end_ts, types, trail)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::bytea[])`,
		shops, starts, kinds, keys, ends, types, trails)
	return err
}

// scanStoredSessions reads the stored sessions writeDetail joins: the
// group, start_ts, end_ts, events, views, adds, purchases and the trail
// (NULL when the row has none).
func scanStoredSessions(rows *sql.Rows, err error) ([]store.Session, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var (
			x     store.Session
			trail []byte
		)
		if err := rows.Scan(&x.ShopID, &x.Kind, &x.Key, &x.Start, &x.End, &x.Events, &x.Views, &x.Adds, &x.Purchases,
			&trail); err != nil {
			return nil, err
		}
		x.Start, x.End = x.Start.UTC(), x.End.UTC()
		if x.Trail, err = store.DecodeTrail(nil, trail, x.Start); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// SessionTrails implements store.FunnelReader: one count and one read of
// the range of session_trails' key that starts within the shop's longest
// session of From, up to To.
func (s *Store) SessionTrails(ctx context.Context, f store.Filter, first, second string, yield func(store.Trail) error) (int64, error) {
	b1, b2, err := store.TrailQuery(first, second)
	if err != nil {
		return 0, fmt.Errorf("pgstore: session trails: %w", err)
	}
	if err := store.TrailFilter(&f); err != nil {
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
			return fmt.Errorf("shop %q needs a rebuild for its trails: %w", f.ShopID, errors.ErrUnsupported)
		}
		from, to, lo := "-infinity", "infinity", "-infinity"
		if !f.From.IsZero() {
			from = stamp(f.From)
			lo = stamp(f.From.Add(-time.Duration(span.Int64) * time.Microsecond))
		}
		if !f.To.IsZero() {
			to = stamp(f.To)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+s.table("session_trails")+`
			WHERE shop_id = $1 AND start_ts >= $2 AND start_ts < $3 AND end_ts < $3
				AND types & $4 != 0 AND types & $5 = 0`, f.ShopID, from, to, b1, b2).Scan(&n); err != nil {
			return err
		}
		// A row per session would cost a round of the protocol and of
		// database/sql each: the sessions come a day of starts per row,
		// each as its start in microseconds (8 bytes, big-endian), the
		// trail's length (4 bytes) and the trail.
		rows, err := tx.QueryContext(ctx, `SELECT string_agg(int8send((extract(epoch FROM start_ts) * 1000000)::bigint)
				|| int4send(length(trail)) || trail, ''::bytea)
			FROM `+s.table("session_trails")+`
			WHERE shop_id = $1 AND start_ts >= $2 AND start_ts < $4 AND end_ts >= $3
				AND (start_ts < $3 OR end_ts >= $4 OR types & $5 != 0 AND types & $6 != 0)
			GROUP BY date_trunc('day', start_ts)`,
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
			for b := []byte(raw); len(b) > 0; {
				if len(b) < 12 {
					return errors.New("session trails: truncated row")
				}
				start := int64(binary.BigEndian.Uint64(b))
				size := int(binary.BigEndian.Uint32(b[8:]))
				if len(b) < 12+size {
					return errors.New("session trails: truncated trail")
				}
				if trail, err = store.DecodeTrail(trail[:0], b[12:12+size], time.UnixMicro(start)); err != nil {
					return err
				}
				if err := yield(trail.Within(f.From, f.To)); err != nil {
					return err
				}
				b = b[12+size:]
			}
		}
		return rows.Err()
	})
	return n, err
}
