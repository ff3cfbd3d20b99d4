package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// detail is the detail rollup of a batch's inserted events (see
// migrations/0003_detail_rollups.sql).
type detail struct {
	sessions store.Sessions
	people   store.PersonHours
	links    store.Links
	products store.ProductHours
}

func (d *detail) add(e *tracking.Event) {
	d.sessions.Add(e)
	d.people.Add(e)
	d.links.Add(e)
	d.products.Add(e)
}

// table is the quoted, schema-qualified name of one of the store's tables.
func (s *Store) table(name string) string { return pq.QuoteIdentifier(s.schema) + "." + name }

// stamp renders t for a timestamptz[] array.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// lockKey is the advisory lock of a session group in the store's schema.
func (s *Store) lockKey(g store.SessionGroup) int64 {
	h := fnv.New64a()
	for _, part := range []string{"shoplytics/pgstore/session", s.schema, g.ShopID, g.Kind, g.Key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

// writeDetail keeps the detail rollups of d in tx. The batch's session
// groups are locked first (transaction-scoped advisory locks, taken in
// order), so concurrent appends of one session's events take turns
// reading and rewriting its rows; then every table is written by one
// statement, in key order.
func (s *Store) writeDetail(ctx context.Context, tx *sql.Tx, d *detail) error {
	var hours store.SessionHours
	if groups := d.sessions.Groups(); len(groups) > 0 {
		locks := make([]int64, len(groups))
		for i, g := range groups {
			locks[i] = s.lockKey(g)
		}
		slices.Sort(locks)
		locks = slices.Compact(locks)
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k`, pq.Int64Array(locks)); err != nil {
			return err
		}
		var shops, kinds, keys, los, his pq.StringArray
		for _, g := range groups {
			lo, hi := "-infinity", "infinity"
			if g.Gap() > 0 {
				l, h := d.sessions.Window(g)
				lo, hi = stamp(l), stamp(h)
			}
			shops, kinds, keys, los, his = append(shops, g.ShopID), append(kinds, g.Kind), append(keys, g.Key), append(los, lo), append(his, hi)
		}
		rows, err := tx.QueryContext(ctx, `SELECT s.shop_id, s.kind, s.key, s.start_ts, s.end_ts, s.events, s.views, s.adds, s.purchases
			FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS w(shop_id, kind, key, lo, hi)
			JOIN `+s.table("sessions")+` AS s ON s.shop_id = w.shop_id AND s.kind = w.kind AND s.key = w.key
				AND s.start_ts < w.hi AND s.end_ts > w.lo`, shops, kinds, keys, los, his)
		stored, err := scanSessions(rows, err)
		if err != nil {
			return err
		}
		byGroup := map[store.SessionGroup][]store.Session{}
		for _, st := range stored {
			byGroup[st.SessionGroup] = append(byGroup[st.SessionGroup], st)
		}
		var del, ins sessionArrays
		for _, g := range groups {
			removed, added := d.sessions.Merge(g, byGroup[g])
			for i := range removed {
				del.add(&removed[i])
				hours.Add(&removed[i], -1)
			}
			for i := range added {
				ins.add(&added[i])
				hours.Add(&added[i], 1)
			}
		}
		if len(del.shops) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.table("sessions")+` AS s
				USING unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS d(shop_id, kind, key, start_ts)
				WHERE s.shop_id = d.shop_id AND s.kind = d.kind AND s.key = d.key AND s.start_ts = d.start_ts`,
				del.shops, del.kinds, del.keys, del.starts); err != nil {
				return err
			}
		}
		if len(ins.shops) > 0 {
			if err := s.insertSessions(ctx, tx, &ins); err != nil {
				return err
			}
		}
	}
	if err := s.writeSessionHours(ctx, tx, &hours); err != nil {
		return err
	}
	if err := s.writeChains(ctx, tx, d); err != nil {
		return err
	}
	return s.writePeopleAndProducts(ctx, tx, d)
}

// sessionArrays are sessions as the columns of an unnest.
type sessionArrays struct {
	shops, kinds, keys, starts, ends pq.StringArray
	counts                           [4]pq.Int64Array
}

func (a *sessionArrays) add(x *store.Session) {
	a.shops, a.kinds, a.keys = append(a.shops, x.ShopID), append(a.kinds, x.Kind), append(a.keys, x.Key)
	a.starts, a.ends = append(a.starts, stamp(x.Start)), append(a.ends, stamp(x.End))
	for i, v := range [...]int64{x.Events, x.Views, x.Adds, x.Purchases} {
		a.counts[i] = append(a.counts[i], v)
	}
}

func (s *Store) insertSessions(ctx context.Context, tx *sql.Tx, a *sessionArrays) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("sessions")+`
		(shop_id, kind, key, start_ts, end_ts, events, views, adds, purchases)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
			$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])`,
		a.shops, a.kinds, a.keys, a.starts, a.ends, a.counts[0], a.counts[1], a.counts[2], a.counts[3])
	return err
}

// writeSessionHours adds the changes of h to session_hours and the spans.
func (s *Store) writeSessionHours(ctx context.Context, tx *sql.Tx, h *store.SessionHours) error {
	if h.Len() == 0 {
		return nil
	}
	var (
		shops, hours pq.StringArray
		cols         [6]pq.Int64Array
	)
	for _, k := range h.Keys() {
		r := h.Row(k)
		shops, hours = append(shops, k.ShopID), append(hours, stamp(k.Hour))
		for i, v := range [...]int64{r.Sessions, r.Buying, r.Carting, r.Abandoning, r.Bounced, r.LengthMicros} {
			cols[i] = append(cols[i], v)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("session_hours")+` AS r
		(shop_id, hour, sessions, buying, carting, abandoning, bounced, length_micros)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
			$7::bigint[], $8::bigint[])
		ON CONFLICT (shop_id, hour) DO UPDATE SET sessions = r.sessions + excluded.sessions,
			buying = r.buying + excluded.buying, carting = r.carting + excluded.carting,
			abandoning = r.abandoning + excluded.abandoning, bounced = r.bounced + excluded.bounced,
			length_micros = r.length_micros + excluded.length_micros`,
		shops, hours, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]); err != nil {
		return err
	}
	var spanShops pq.StringArray
	var spans pq.Int64Array
	for _, shop := range slices.Sorted(mapKeys(h.Spans())) {
		spanShops, spans = append(spanShops, shop), append(spans, h.Spans()[shop].Microseconds())
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("session_spans")+` AS r (shop_id, micros)
		SELECT * FROM unnest($1::text[], $2::bigint[])
		ON CONFLICT (shop_id) DO UPDATE SET micros = greatest(r.micros, excluded.micros)`, spanShops, spans)
	return err
}

func mapKeys[K comparable, V any](m map[K]V) iter.Seq[K] {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// writePeopleAndProducts upserts the person, link and product rows of d.
func (s *Store) writePeopleAndProducts(ctx context.Context, tx *sql.Tx, d *detail) error {
	if d.people.Len() > 0 {
		var (
			shops, hours, ids pq.StringArray
			users, raws, lnks pq.BoolArray
		)
		for _, k := range d.people.Keys() {
			r := d.people.Row(k)
			shops, hours, ids = append(shops, k.ShopID), append(hours, stamp(k.Hour)), append(ids, k.ID)
			users, raws, lnks = append(users, k.User), append(raws, r.Raw), append(lnks, r.Linked)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("person_hours")+` AS r (shop_id, hour, is_user, id, raw, linked)
			SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::boolean[], $4::text[], $5::boolean[], $6::boolean[])
			ON CONFLICT (shop_id, hour, is_user, id) DO UPDATE SET raw = r.raw OR excluded.raw, linked = r.linked OR excluded.linked`,
			shops, hours, users, ids, raws, lnks); err != nil {
			return err
		}
	}
	if d.links.Len() > 0 {
		var shops, anons, users, ats, ids pq.StringArray
		for _, k := range d.links.Keys() {
			l := d.links.Link(k)
			shops, anons, users = append(shops, k.ShopID), append(anons, k.AnonymousID), append(users, l.UserID)
			ats, ids = append(ats, stamp(l.At)), append(ids, l.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("identify_links")+` AS r (shop_id, anonymous_id, user_id, ts, id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
			ON CONFLICT (shop_id, anonymous_id) DO UPDATE SET user_id = excluded.user_id, ts = excluded.ts, id = excluded.id
			WHERE (excluded.ts, excluded.id) < (r.ts, r.id)`, shops, anons, users, ats, ids); err != nil {
			return err
		}
	}
	if d.products.Len() > 0 {
		var (
			shops, hours, products, currencies pq.StringArray
			keys                               nullStrings
			cols                               [4]pq.Int64Array
		)
		for _, k := range d.products.Keys() {
			r := d.products.Row(k)
			shops, hours, products, currencies = append(shops, k.ShopID), append(hours, stamp(k.Hour)), append(products, k.ProductID), append(currencies, k.Currency)
			key := r.NameKey()
			keys = append(keys, sql.NullString{String: key, Valid: key != ""})
			for i, v := range [...]int64{r.Views, r.Adds, r.Purchases, r.RevenueMinor} {
				cols[i] = append(cols[i], v)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("product_hours")+` AS r
			(shop_id, hour, product_id, currency, views, adds, purchases, revenue_minor, name_key)
			SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
				$7::bigint[], $8::bigint[], $9::text[])
			ON CONFLICT (shop_id, hour, product_id, currency) DO UPDATE SET
				views = r.views + excluded.views, adds = r.adds + excluded.adds,
				purchases = r.purchases + excluded.purchases, revenue_minor = r.revenue_minor + excluded.revenue_minor,
				name_key = greatest(r.name_key, excluded.name_key)`,
			shops, hours, products, currencies, cols[0], cols[1], cols[2], cols[3], keys); err != nil {
			return err
		}
	}
	return nil
}

// nullStrings is a text[] with NULL elements.
type nullStrings []sql.NullString

// Value renders the array literal, NULL elements unquoted.
func (a nullStrings) Value() (any, error) {
	b := []byte{'{'}
	for i, v := range a {
		if i > 0 {
			b = append(b, ',')
		}
		if !v.Valid {
			b = append(b, "NULL"...)
			continue
		}
		b = append(b, '"')
		for _, c := range []byte(v.String) {
			if c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, c)
		}
		b = append(b, '"')
	}
	return string(append(b, '}')), nil
}

// scanSessions reads rows of shop_id, kind, key, start_ts, end_ts, events,
// views, adds, purchases.
func scanSessions(rows *sql.Rows, err error) ([]store.Session, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var x store.Session
		if err := rows.Scan(&x.ShopID, &x.Kind, &x.Key, &x.Start, &x.End, &x.Events, &x.Views, &x.Adds, &x.Purchases); err != nil {
			return nil, err
		}
		x.Start, x.End = x.Start.UTC(), x.End.UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}

// readDetail runs a detail read in one repeatable-read transaction, so the
// readiness check (no stale or pending mark) and the rows come from one
// snapshot.
func (s *Store) readDetail(ctx context.Context, op string, f *store.Filter, read func(tx *sql.Tx) error) (err error) {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrClosed)
	}
	if err := store.DetailFilter(f); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	release, err := s.acquireRead(ctx)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return s.fail(ctx, op, err)
	}
	defer func() { _ = tx.Rollback() }()
	var marked bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.stale+` WHERE shop_id = $1)
		OR EXISTS (SELECT 1 FROM `+s.table("rollup_pending")+` WHERE shop_id = $1)`, f.ShopID).Scan(&marked); err != nil {
		return s.fail(ctx, op, err)
	}
	if marked {
		return fmt.Errorf("pgstore: %s: shop %q needs a rebuild: %w", op, f.ShopID, errors.ErrUnsupported)
	}
	if err := read(tx); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// hourRange is the SQL condition of f's bounds on column col, with
// arguments numbered after args.
func hourRange(col string, f *store.Filter, args []any) (string, []any) {
	cond := ""
	if !f.From.IsZero() {
		args = append(args, f.From.UTC())
		cond += fmt.Sprintf(" AND %s >= $%d", col, len(args))
	}
	if !f.To.IsZero() {
		args = append(args, f.To.UTC())
		cond += fmt.Sprintf(" AND %s < $%d", col, len(args))
	}
	return cond, args
}

// SessionHours implements store.SessionReader.
func (s *Store) SessionHours(ctx context.Context, f store.Filter) ([]store.SessionHour, error) {
	var out []store.SessionHour
	err := s.readDetail(ctx, "session hours", &f, func(tx *sql.Tx) error {
		cond, args := hourRange("hour", &f, []any{f.ShopID})
		rows, err := tx.QueryContext(ctx, `SELECT hour, sessions, buying, carting, abandoning, bounced, length_micros
			FROM `+s.table("session_hours")+` WHERE shop_id = $1`+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r store.SessionHour
			if err := rows.Scan(&r.Hour, &r.Sessions, &r.Buying, &r.Carting, &r.Abandoning, &r.Bounced, &r.LengthMicros); err != nil {
				return err
			}
			r.Hour = r.Hour.UTC()
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// SessionsAt implements store.SessionReader: a range of the
// (shop_id, start_ts) index bounded by the shop's longest session.
func (s *Store) SessionsAt(ctx context.Context, shopID string, t time.Time) ([]store.Session, error) {
	var out []store.Session
	f := store.Filter{ShopID: shopID}
	err := s.readDetail(ctx, "sessions at", &f, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT shop_id, kind, key, start_ts, end_ts, events, views, adds, purchases
			FROM `+s.table("sessions")+` WHERE shop_id = $1 AND start_ts < $2 AND end_ts >= $2
			AND start_ts >= $2::timestamptz - make_interval(secs => coalesce(
				(SELECT micros FROM `+s.table("session_spans")+` WHERE shop_id = $1), 0) / 1e6)`, shopID, t.UTC())
		out, err = scanSessions(rows, err)
		return err
	})
	return out, err
}

// SessionSpan implements store.SessionReader.
func (s *Store) SessionSpan(ctx context.Context, shopID string) (time.Duration, error) {
	var span sql.NullInt64
	f := store.Filter{ShopID: shopID}
	err := s.readDetail(ctx, "session span", &f, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT max(micros) FROM `+s.table("session_spans")+` WHERE shop_id = $1`, shopID).Scan(&span)
	})
	return time.Duration(span.Int64) * time.Microsecond, err
}

// ProductTotals implements store.ProductReader: one GROUP BY over the
// range; the latest name is the greatest name_key.
func (s *Store) ProductTotals(ctx context.Context, f store.Filter) ([]store.ProductHour, error) {
	var out []store.ProductHour
	err := s.readDetail(ctx, "product totals", &f, func(tx *sql.Tx) error {
		cond, args := hourRange("hour", &f, []any{f.ShopID})
		rows, err := tx.QueryContext(ctx, `SELECT product_id, currency, sum(views), sum(adds), sum(purchases),
			sum(revenue_minor), max(name_key)
			FROM `+s.table("product_hours")+` WHERE shop_id = $1`+cond+` GROUP BY product_id, currency`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r   store.ProductHour
				key sql.NullString
			)
			if err := rows.Scan(&r.ProductID, &r.Currency, &r.Views, &r.Adds, &r.Purchases, &r.RevenueMinor,
				&key); err != nil {
				return err
			}
			r.ShopID = f.ShopID
			if err := r.SetNameKey(key.String); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// rebuildDetail recomputes the shop's detail rollups in tx from its events,
// read in (ts, id) order a page at a time.
func (s *Store) rebuildDetail(ctx context.Context, tx *sql.Tx, shopID string) error {
	for _, table := range []string{"sessions", "session_hours", "session_spans", "person_hours", "identify_links", "product_hours", "rollup_pending"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.table(table)+` WHERE shop_id = $1`, shopID); err != nil {
			return err
		}
	}
	var (
		stream store.SessionStream
		hours  store.SessionHours
		closed []store.Session
		d      detail
		hour   time.Time
	)
	flushSessions := func() error {
		var a sessionArrays
		for i := range closed {
			a.add(&closed[i])
			hours.Add(&closed[i], 1)
		}
		closed = closed[:0]
		if len(a.shops) == 0 {
			return nil
		}
		return s.insertSessions(ctx, tx, &a)
	}
	flushHours := func() error {
		err := s.writePeopleAndProducts(ctx, tx, &detail{people: d.people, products: d.products})
		d.people, d.products = store.PersonHours{}, store.ProductHours{}
		return err
	}
	const page = 10_000
	lastTS, lastID := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), ""
	for {
		rows, err := tx.QueryContext(ctx, `SELECT shop_id, id, type, coalesce(user_id, ''), coalesce(anonymous_id, ''),
			coalesce(session_id, ''), coalesce(product_id, ''), coalesce(product_name, ''), revenue,
			coalesce(currency, ''), properties, ts
			FROM `+s.events+` WHERE shop_id = $1 AND (ts, id) > ($2, $3) ORDER BY ts, id LIMIT $4`, shopID, lastTS, lastID, page)
		if err != nil {
			return err
		}
		var batch []tracking.Event
		for rows.Next() {
			var (
				e       tracking.Event
				revenue sql.NullInt64
				props   []byte
			)
			if err := rows.Scan(&e.ShopID, &e.ID, &e.Type, &e.UserID, &e.AnonymousID, &e.SessionID, &e.ProductID,
				&e.ProductName, &revenue, &e.Currency, &props, &e.Timestamp); err != nil {
				rows.Close()
				return err
			}
			if revenue.Valid {
				e.Revenue = tracking.Money{Minor: revenue.Int64, Currency: e.Currency}
			}
			if props != nil {
				e.Properties = props
			}
			e.Timestamp = e.Timestamp.UTC()
			batch = append(batch, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range batch {
			e := &batch[i]
			if h := e.Timestamp.Truncate(time.Hour); !h.Equal(hour) {
				if err := flushHours(); err != nil {
					return err
				}
				hour = h
			}
			closed = stream.Add(e, closed)
			d.people.Add(e)
			d.links.Add(e)
			d.products.Add(e)
		}
		if err := flushSessions(); err != nil {
			return err
		}
		if len(batch) < page {
			break
		}
		last := batch[len(batch)-1]
		lastTS, lastID = last.Timestamp, last.ID
	}
	closed = stream.Close(closed)
	if err := flushSessions(); err != nil {
		return err
	}
	if err := flushHours(); err != nil {
		return err
	}
	if err := s.writeSessionHours(ctx, tx, &hours); err != nil {
		return err
	}
	if err := s.writePeopleAndProducts(ctx, tx, &detail{links: d.links}); err != nil {
		return err
	}
	return s.recomputeChains(ctx, tx, shopID)
}
