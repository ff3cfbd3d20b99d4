package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

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

const (
	selectSessionsSQL = `SELECT start_ts, end_ts, events, views, adds, purchases FROM sessions
		WHERE shop_id = ? AND kind = ? AND key = ? AND start_ts < ? AND end_ts > ?`
	deleteSessionSQL = `DELETE FROM sessions WHERE shop_id = ? AND kind = ? AND key = ? AND start_ts = ?`
	insertSessionSQL = `INSERT INTO sessions (shop_id, kind, key, start_ts, end_ts, events, views, adds, purchases)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	upsertSessionHourSQL = `INSERT INTO session_hours
		(shop_id, hour, sessions, buying, carting, abandoning, bounced, length_micros) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, hour) DO UPDATE SET sessions = sessions + excluded.sessions,
			buying = buying + excluded.buying, carting = carting + excluded.carting,
			abandoning = abandoning + excluded.abandoning, bounced = bounced + excluded.bounced,
			length_micros = length_micros + excluded.length_micros`
	upsertSpanSQL = `INSERT INTO session_spans (shop_id, micros) VALUES (?, ?)
		ON CONFLICT (shop_id) DO UPDATE SET micros = max(micros, excluded.micros)`
	upsertPersonSQL = `INSERT INTO person_hours (shop_id, hour, is_user, id, raw, linked) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, hour, is_user, id) DO UPDATE SET raw = max(raw, excluded.raw), linked = max(linked, excluded.linked)`
	upsertLinkSQL = `INSERT INTO identify_links (shop_id, anonymous_id, user_id, ts, id) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, anonymous_id) DO UPDATE SET user_id = excluded.user_id, ts = excluded.ts, id = excluded.id
		WHERE (excluded.ts, excluded.id) < (ts, id)`
	upsertProductSQL = `INSERT INTO product_hours
		(shop_id, hour, product_id, currency, views, adds, purchases, revenue_minor, name, name_ts, name_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, hour, product_id, currency) DO UPDATE SET
			views = views + excluded.views, adds = adds + excluded.adds,
			purchases = purchases + excluded.purchases, revenue_minor = revenue_minor + excluded.revenue_minor,
			name = CASE WHEN excluded.name_ts IS NOT NULL AND (name_ts IS NULL OR (excluded.name_ts, excluded.name_id) >= (name_ts, name_id))
				THEN excluded.name ELSE name END,
			name_id = CASE WHEN excluded.name_ts IS NOT NULL AND (name_ts IS NULL OR (excluded.name_ts, excluded.name_id) >= (name_ts, name_id))
				THEN excluded.name_id ELSE name_id END,
			name_ts = CASE WHEN excluded.name_ts IS NOT NULL AND (name_ts IS NULL OR (excluded.name_ts, excluded.name_id) >= (name_ts, name_id))
				THEN excluded.name_ts ELSE name_ts END`
)

// stmts prepares statements in tx, closed together.
type stmts struct {
	ctx  context.Context
	tx   *sql.Tx
	open []*sql.Stmt
}

func (p *stmts) prepare(query string) (*sql.Stmt, error) {
	st, err := p.tx.PrepareContext(p.ctx, query)
	if err != nil {
		return nil, err
	}
	p.open = append(p.open, st)
	return st, nil
}

func (p *stmts) close() {
	for _, st := range p.open {
		_ = st.Close()
	}
}

// writeDetail keeps the detail rollups of d in tx: it joins the batch's
// events to the sessions stored next to them and adds the rest. It runs
// with the writer slot held, so no other append changes a session
// meanwhile.
func (s *Store) writeDetail(ctx context.Context, tx *sql.Tx, d *detail) error {
	p := &stmts{ctx: ctx, tx: tx}
	defer p.close()
	var hours store.SessionHours
	if groups := d.sessions.Groups(); len(groups) > 0 {
		sel, err := p.prepare(selectSessionsSQL)
		if err != nil {
			return err
		}
		del, err := p.prepare(deleteSessionSQL)
		if err != nil {
			return err
		}
		ins, err := p.prepare(insertSessionSQL)
		if err != nil {
			return err
		}
		for _, g := range groups {
			lo, hi := int64(-1<<63), int64(1<<63-1)
			if g.Gap() > 0 {
				l, h := d.sessions.Window(g)
				lo, hi = l.UnixMicro(), h.UnixMicro()
			}
			stored, err := scanSessions(sel.QueryContext(ctx, g.ShopID, g.Kind, g.Key, hi, lo))
			if err != nil {
				return err
			}
			for i := range stored {
				stored[i].SessionGroup = g
			}
			removed, added := d.sessions.Merge(g, stored)
			for i := range removed {
				if _, err := del.ExecContext(ctx, g.ShopID, g.Kind, g.Key, removed[i].Start.UnixMicro()); err != nil {
					return err
				}
				hours.Add(&removed[i], -1)
			}
			for i := range added {
				a := &added[i]
				if _, err := ins.ExecContext(ctx, g.ShopID, g.Kind, g.Key, a.Start.UnixMicro(), a.End.UnixMicro(),
					a.Events, a.Views, a.Adds, a.Purchases); err != nil {
					return err
				}
				hours.Add(a, 1)
			}
		}
	}
	if hours.Len() > 0 {
		up, err := p.prepare(upsertSessionHourSQL)
		if err != nil {
			return err
		}
		for _, k := range hours.Keys() {
			r := hours.Row(k)
			if _, err := up.ExecContext(ctx, k.ShopID, k.Hour.UnixMicro(), r.Sessions, r.Buying, r.Carting,
				r.Abandoning, r.Bounced, r.LengthMicros); err != nil {
				return err
			}
		}
		for shop, d := range hours.Spans() {
			if _, err := tx.ExecContext(ctx, upsertSpanSQL, shop, d.Microseconds()); err != nil {
				return err
			}
		}
	}
	if d.people.Len() > 0 {
		up, err := p.prepare(upsertPersonSQL)
		if err != nil {
			return err
		}
		for _, k := range d.people.Keys() {
			r := d.people.Row(k)
			if _, err := up.ExecContext(ctx, k.ShopID, k.Hour.UnixMicro(), k.User, k.ID, r.Raw, r.Linked); err != nil {
				return err
			}
		}
	}
	if d.links.Len() > 0 {
		up, err := p.prepare(upsertLinkSQL)
		if err != nil {
			return err
		}
		for _, k := range d.links.Keys() {
			l := d.links.Link(k)
			if _, err := up.ExecContext(ctx, k.ShopID, k.AnonymousID, l.UserID, l.At.UnixMicro(), l.ID); err != nil {
				return err
			}
		}
	}
	if d.products.Len() > 0 {
		up, err := p.prepare(upsertProductSQL)
		if err != nil {
			return err
		}
		for _, k := range d.products.Keys() {
			r := d.products.Row(k)
			var nameTS any
			if !r.NameAt.IsZero() {
				nameTS = r.NameAt.UnixMicro()
			}
			if _, err := up.ExecContext(ctx, k.ShopID, k.Hour.UnixMicro(), k.ProductID, k.Currency,
				r.Views, r.Adds, r.Purchases, r.RevenueMinor, r.Name, nameTS, r.NameID); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanSessions reads rows of start_ts, end_ts, events, views, adds,
// purchases (and, with the group, shop_id, kind, key first).
func scanSessions(rows *sql.Rows, err error, withGroup ...bool) ([]store.Session, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var (
			s          store.Session
			start, end int64
		)
		dest := []any{&start, &end, &s.Events, &s.Views, &s.Adds, &s.Purchases}
		if len(withGroup) > 0 {
			dest = append([]any{&s.ShopID, &s.Kind, &s.Key}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		s.Start, s.End = time.UnixMicro(start).UTC(), time.UnixMicro(end).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// detailReady answers errors.ErrUnsupported for a shop whose detail
// rollups are not complete: marked stale (appended with rollups off) or
// pending (stored before the tables existed).
func (s *Store) detailReady(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, shopID string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM rollup_stale WHERE shop_id = ?)
		+ (SELECT COUNT(*) FROM rollup_pending WHERE shop_id = ?)`, shopID, shopID).Scan(&n); err != nil {
		return s.readError(ctx, err)
	}
	if n > 0 {
		return fmt.Errorf("shop %q needs a rebuild: %w", shopID, errors.ErrUnsupported)
	}
	return nil
}

// readDetail runs a detail read in one read transaction, so the readiness
// check and the rows come from one snapshot.
func (s *Store) readDetail(ctx context.Context, op string, f *store.Filter, read func(conn *sql.Conn) error) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: %s: %w", op, store.ErrClosed)
	}
	if err := store.DetailFilter(f); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, s.readError(ctx, err))
	}
	defer conn.Close()
	// A deferred transaction takes no lock until it reads, and then holds
	// one snapshot of the write-ahead log (the DSN's _txlock applies to
	// database/sql's BeginTx only).
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, s.readError(ctx, err))
	}
	defer func() { _, _ = conn.ExecContext(context.Background(), "ROLLBACK") }()
	if err := s.detailReady(ctx, conn, f.ShopID); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	if err := read(conn); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, s.readError(ctx, err))
	}
	return nil
}

// hourRange is the SQL condition and arguments of f's bounds on column col.
func hourRange(col string, f *store.Filter, args []any) (string, []any) {
	cond := ""
	if !f.From.IsZero() {
		cond += " AND " + col + " >= ?"
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		cond += " AND " + col + " < ?"
		args = append(args, f.To.UnixMicro())
	}
	return cond, args
}

// SessionHours implements store.SessionReader.
func (s *Store) SessionHours(ctx context.Context, f store.Filter) ([]store.SessionHour, error) {
	var out []store.SessionHour
	err := s.readDetail(ctx, "session hours", &f, func(conn *sql.Conn) error {
		cond, args := hourRange("hour", &f, []any{f.ShopID})
		rows, err := conn.QueryContext(ctx, `SELECT hour, sessions, buying, carting, abandoning, bounced, length_micros
			FROM session_hours WHERE shop_id = ?`+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r    store.SessionHour
				hour int64
			)
			if err := rows.Scan(&hour, &r.Sessions, &r.Buying, &r.Carting, &r.Abandoning, &r.Bounced, &r.LengthMicros); err != nil {
				return err
			}
			r.Hour = time.UnixMicro(hour).UTC()
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
	err := s.readDetail(ctx, "sessions at", &f, func(conn *sql.Conn) error {
		var span sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT max(micros) FROM session_spans WHERE shop_id = ?`, shopID).Scan(&span); err != nil {
			return err
		}
		at := t.UnixMicro()
		rows, err := conn.QueryContext(ctx, `SELECT shop_id, kind, key, start_ts, end_ts, events, views, adds, purchases
			FROM sessions WHERE shop_id = ? AND start_ts >= ? AND start_ts < ? AND end_ts >= ?`,
			shopID, at-span.Int64, at, at)
		out, err = scanSessions(rows, err, true)
		return err
	})
	return out, err
}

// SessionSpan implements store.SessionReader.
func (s *Store) SessionSpan(ctx context.Context, shopID string) (time.Duration, error) {
	var span sql.NullInt64
	f := store.Filter{ShopID: shopID}
	err := s.readDetail(ctx, "session span", &f, func(conn *sql.Conn) error {
		return conn.QueryRowContext(ctx, `SELECT max(micros) FROM session_spans WHERE shop_id = ?`, shopID).Scan(&span)
	})
	return time.Duration(span.Int64) * time.Microsecond, err
}

// People implements store.PeopleReader: one GROUP BY over the range's
// person_hours, the anonymous ids joined to their links.
func (s *Store) People(ctx context.Context, f store.Filter) iter.Seq2[store.Person, error] {
	return func(yield func(store.Person, error) bool) {
		stop := errors.New("stop")
		err := s.readDetail(ctx, "people", &f, func(conn *sql.Conn) error {
			cond, args := hourRange("hour", &f, []any{f.ShopID})
			args = append(args, f.ShopID)
			rows, err := conn.QueryContext(ctx, `SELECT p.is_user, p.id, p.raw, p.linked, l.user_id, l.ts, l.id
				FROM (SELECT is_user, id, max(raw) AS raw, max(linked) AS linked FROM person_hours
					WHERE shop_id = ?`+cond+` GROUP BY is_user, id) AS p
				LEFT JOIN identify_links AS l ON p.is_user = 0 AND l.shop_id = ? AND l.anonymous_id = p.id`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					p      store.Person
					user   sql.NullString
					at     sql.NullInt64
					linkID sql.NullString
				)
				if err := rows.Scan(&p.User, &p.ID, &p.Raw, &p.Linked, &user, &at, &linkID); err != nil {
					return err
				}
				if user.Valid {
					p.Link = &store.Link{UserID: user.String, At: time.UnixMicro(at.Int64).UTC(), ID: linkID.String}
				}
				if !yield(p, nil) {
					return stop
				}
			}
			return rows.Err()
		})
		if err != nil && !errors.Is(err, stop) {
			yield(store.Person{}, err)
		}
	}
}

// ProductHours implements store.ProductReader.
func (s *Store) ProductHours(ctx context.Context, f store.Filter) ([]store.ProductHour, error) {
	var out []store.ProductHour
	err := s.readDetail(ctx, "product hours", &f, func(conn *sql.Conn) error {
		cond, args := hourRange("hour", &f, []any{f.ShopID})
		rows, err := conn.QueryContext(ctx, `SELECT hour, product_id, currency, views, adds, purchases, revenue_minor,
			name, name_ts, name_id FROM product_hours WHERE shop_id = ?`+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r      store.ProductHour
				hour   int64
				nameTS sql.NullInt64
			)
			if err := rows.Scan(&hour, &r.ProductID, &r.Currency, &r.Views, &r.Adds, &r.Purchases, &r.RevenueMinor,
				&r.Name, &nameTS, &r.NameID); err != nil {
				return err
			}
			r.ShopID, r.Hour = f.ShopID, time.UnixMicro(hour).UTC()
			if nameTS.Valid {
				r.NameAt = time.UnixMicro(nameTS.Int64).UTC()
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE shop_id = ?`, shopID); err != nil {
			return err
		}
	}
	p := &stmts{ctx: ctx, tx: tx}
	defer p.close()
	ins, err := p.prepare(insertSessionSQL)
	if err != nil {
		return err
	}
	var (
		stream store.SessionStream
		hours  store.SessionHours
		closed []store.Session
		d      detail
		hour   time.Time
	)
	flushSessions := func() error {
		for i := range closed {
			c := &closed[i]
			if _, err := ins.ExecContext(ctx, c.ShopID, c.Kind, c.Key, c.Start.UnixMicro(), c.End.UnixMicro(),
				c.Events, c.Views, c.Adds, c.Purchases); err != nil {
				return err
			}
			hours.Add(c, 1)
		}
		closed = closed[:0]
		return nil
	}
	// flushHours writes the person and product rows of the hours read so
	// far; the events come in time order, so those rows are whole.
	flushHours := func() error {
		err := s.writeDetail(ctx, tx, &detail{people: d.people, products: d.products})
		d.people, d.products = store.PersonHours{}, store.ProductHours{}
		return err
	}
	const page = 10_000
	var lastTS int64 = -1 << 63
	lastID := ""
	for {
		rows, err := tx.QueryContext(ctx, "SELECT "+selectColumns+` FROM events
			WHERE shop_id = ? AND (ts, id) > (?, ?) ORDER BY ts, id LIMIT ?`, shopID, lastTS, lastID, page)
		if err != nil {
			return err
		}
		var batch []tracking.Event
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return err
			}
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
		lastTS, lastID = last.Timestamp.UnixMicro(), last.ID
	}
	closed = stream.Close(closed)
	if err := flushSessions(); err != nil {
		return err
	}
	if err := flushHours(); err != nil {
		return err
	}
	return s.writeSessionHours(ctx, tx, &hours, &d.links)
}

// writeSessionHours writes a rebuild's session rollup, spans and links.
func (s *Store) writeSessionHours(ctx context.Context, tx *sql.Tx, hours *store.SessionHours, links *store.Links) error {
	for _, k := range hours.Keys() {
		r := hours.Row(k)
		if _, err := tx.ExecContext(ctx, upsertSessionHourSQL, k.ShopID, k.Hour.UnixMicro(), r.Sessions, r.Buying,
			r.Carting, r.Abandoning, r.Bounced, r.LengthMicros); err != nil {
			return err
		}
	}
	for shop, d := range hours.Spans() {
		if _, err := tx.ExecContext(ctx, upsertSpanSQL, shop, d.Microseconds()); err != nil {
			return err
		}
	}
	return s.writeDetail(ctx, tx, &detail{links: *links})
}
