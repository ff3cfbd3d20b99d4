package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// stored is the person_hours rows of people's keys before the batch,
	// as writeChains read them (nil in a rebuild).
	stored map[store.PersonHourKey]store.PersonHour
	// rebuild skips the people chains and purchase days (people.go),
	// which a rebuild recomputes at its end.
	rebuild bool
}

func (d *detail) add(e *tracking.Event) {
	d.sessions.Add(e)
	d.people.Add(e)
	d.links.Add(e)
	d.products.Add(e)
}

// maxRowsPerStatement bounds the rows of one multi-row statement, within
// SQLite's limit of bound parameters.
const maxRowsPerStatement = 256

// chunkLen is the rows of the next statement of a multi-row write or read
// with left rows to go: the largest power of two no greater than left and
// maxRowsPerStatement. Statements of a few lengths only are few texts, which
// the driver's cache of prepared statements (see DSN) keeps prepared, where
// a text for every length would be prepared anew nearly every batch:
// preparing a statement costs more than running it.
func chunkLen(left int) int {
	n := 1
	for n*2 <= min(left, maxRowsPerStatement) {
		n *= 2
	}
	return n
}

// rowValues writes "(?, ?, …), (?, …)" for n rows of cols columns.
func rowValues(b *strings.Builder, n, cols int) {
	one := "(?" + strings.Repeat(", ?", cols-1) + ")"
	b.Grow(n * (len(one) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
}

// execRows runs head + VALUES rows + tail for args, cols values a row, in
// statements of chunkLen rows: one statement per many rows costs SQLite's
// virtual machine a little per row, where a statement per row costs a
// round through database/sql and cgo each.
func execRows(ctx context.Context, tx *sql.Tx, head, tail string, cols int, args []any) error {
	rows := len(args) / cols
	for i := 0; i < rows; {
		n := chunkLen(rows - i)
		var b strings.Builder
		b.WriteString(head)
		b.WriteString(" VALUES ")
		rowValues(&b, n, cols)
		b.WriteString(tail)
		if _, err := tx.ExecContext(ctx, b.String(), args[i*cols:(i+n)*cols]...); err != nil {
			return err
		}
		i += n
	}
	return nil
}

const (
	insertSessionsHead = `INSERT INTO sessions (shop_id, kind, key, start_ts, end_ts, events, views, adds, purchases)`
	upsertSessionsTail = ` ON CONFLICT (shop_id, kind, key, start_ts) DO UPDATE SET end_ts = excluded.end_ts,
		events = excluded.events, views = excluded.views, adds = excluded.adds, purchases = excluded.purchases`
	sessionHoursHead = `INSERT INTO session_hours
		(shop_id, hour, sessions, buying, carting, abandoning, bounced, length_micros)`
	sessionHoursTail = ` ON CONFLICT (shop_id, hour) DO UPDATE SET sessions = sessions + excluded.sessions,
			buying = buying + excluded.buying, carting = carting + excluded.carting,
			abandoning = abandoning + excluded.abandoning, bounced = bounced + excluded.bounced,
			length_micros = length_micros + excluded.length_micros`
	upsertSpanSQL = `INSERT INTO session_spans (shop_id, micros) VALUES (?, ?)
		ON CONFLICT (shop_id) DO UPDATE SET micros = excluded.micros WHERE excluded.micros > micros`
	personsHead = `INSERT INTO person_hours (shop_id, hour, is_user, id, raw, linked)`
	// A person already active in the hour as the batch says is left
	// alone: an update that changes nothing still rewrites its page.
	personsTail = ` ON CONFLICT (shop_id, hour, is_user, id) DO UPDATE SET raw = max(raw, excluded.raw), linked = max(linked, excluded.linked)
		WHERE excluded.raw > raw OR excluded.linked > linked`
	linksHead = `INSERT INTO identify_links (shop_id, anonymous_id, user_id, ts, id)`
	linksTail = ` ON CONFLICT (shop_id, anonymous_id) DO UPDATE SET user_id = excluded.user_id, ts = excluded.ts, id = excluded.id
		WHERE (excluded.ts, excluded.id) < (ts, id)`
	productsHead = `INSERT INTO product_hours
		(shop_id, hour, product_id, currency, views, adds, purchases, revenue_minor, name_key)`
	productsTail = ` ON CONFLICT (shop_id, hour, product_id, currency) DO UPDATE SET
			views = views + excluded.views, adds = adds + excluded.adds,
			purchases = purchases + excluded.purchases, revenue_minor = revenue_minor + excluded.revenue_minor,
			name_key = CASE WHEN name_key IS NULL OR excluded.name_key > name_key THEN excluded.name_key ELSE name_key END`
)

// storedSessions reads the stored sessions of groups near their new
// events (store.Sessions.Window), in statements of many groups each.
func storedSessions(ctx context.Context, tx *sql.Tx, z *store.Sessions, groups []store.SessionGroup) (map[store.SessionGroup][]store.Session, error) {
	out := map[store.SessionGroup][]store.Session{}
	for i := 0; i < len(groups); {
		chunk := groups[i : i+chunkLen(len(groups)-i)]
		i += len(chunk)
		args := make([]any, 0, len(chunk)*5)
		for _, g := range chunk {
			lo, hi := int64(-1<<63), int64(1<<63-1)
			if g.Gap() > 0 {
				l, h := z.Window(g)
				lo, hi = l.UnixMicro(), h.UnixMicro()
			}
			args = append(args, g.ShopID, g.Kind, g.Key, lo, hi)
		}
		var b strings.Builder
		// CROSS JOIN keeps the groups the outer loop, each a range of the
		// sessions key.
		b.WriteString(`WITH w (shop_id, kind, key, lo, hi) AS (VALUES `)
		rowValues(&b, len(chunk), 5)
		b.WriteString(`) SELECT s.shop_id, s.kind, s.key, s.start_ts, s.end_ts, s.events, s.views, s.adds, s.purchases, t.trail
			FROM w CROSS JOIN sessions AS s ON s.shop_id = w.shop_id AND s.kind = w.kind AND s.key = w.key
				AND s.start_ts < w.hi AND s.end_ts > w.lo
			LEFT JOIN session_trails AS t ON t.shop_id = s.shop_id AND t.start_ts = s.start_ts AND t.kind = s.kind AND t.key = s.key`)
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		stored, err := scanSessions(rows, err, true)
		if err != nil {
			return nil, err
		}
		for _, st := range stored {
			out[st.SessionGroup] = append(out[st.SessionGroup], st)
		}
	}
	return out, nil
}

// writeDetail keeps the detail rollups of d in tx: it joins the batch's
// events to the sessions stored next to them and adds the rest. It runs
// with the writer slot held, so no other append changes a session
// meanwhile.
func (s *Store) writeDetail(ctx context.Context, tx *sql.Tx, d *detail) error {
	if !d.rebuild {
		if err := writeChains(ctx, tx, d); err != nil {
			return err
		}
	}
	var hours store.SessionHours
	if groups := d.sessions.Groups(); len(groups) > 0 {
		stored, err := storedSessions(ctx, tx, &d.sessions, groups)
		if err != nil {
			return err
		}
		var del, ins []any
		var gone, made []store.Session // for writeTrails
		for _, g := range groups {
			removed, added := d.sessions.Merge(g, stored[g])
			gone, made = append(gone, removed...), append(made, added...)
			for i := range removed {
				hours.Add(&removed[i], -1)
				// A session that keeps its start (most often one that new
				// events extend) is rewritten in place by the upsert below,
				// one change to the table instead of a delete and an
				// insert; the others go.
				if !slices.ContainsFunc(added, func(a store.Session) bool { return a.Start.Equal(removed[i].Start) }) {
					del = append(del, g.ShopID, g.Kind, g.Key, removed[i].Start.UnixMicro())
				}
			}
			for i := range added {
				a := &added[i]
				ins = append(ins, g.ShopID, g.Kind, g.Key, a.Start.UnixMicro(), a.End.UnixMicro(),
					a.Events, a.Views, a.Adds, a.Purchases)
				hours.Add(a, 1)
			}
		}
		if err := execRows(ctx, tx, `DELETE FROM sessions WHERE (shop_id, kind, key, start_ts) IN (`, `)`, 4, del); err != nil {
			return err
		}
		if err := execRows(ctx, tx, insertSessionsHead, upsertSessionsTail, 9, ins); err != nil {
			return err
		}
		if err := writeTrails(ctx, tx, gone, made); err != nil {
			return err
		}
	}
	if err := writeSessionHours(ctx, tx, &hours); err != nil {
		return err
	}
	var args []any
	// Rows go in the order of each table's key, so that one statement
	// walks the B-tree from one leaf to the next instead of jumping about.
	people := d.people.Keys()
	slices.SortFunc(people, func(a, b store.PersonHourKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmpBool(a.User, b.User), cmp.Compare(a.ID, b.ID), a.Hour.Compare(b.Hour))
	})
	for _, k := range people {
		r := d.people.Row(k)
		if o, ok := d.stored[k]; ok && (o.Raw || !r.Raw) && (o.Linked || !r.Linked) {
			continue // stored as the batch would leave it: the upsert would change nothing
		}
		args = append(args, k.ShopID, k.Hour.UnixMicro(), k.User, k.ID, r.Raw, r.Linked)
	}
	if err := execRows(ctx, tx, personsHead, personsTail, 6, args); err != nil {
		return err
	}
	args = args[:0]
	for _, k := range d.links.Keys() {
		l := d.links.Link(k)
		args = append(args, k.ShopID, k.AnonymousID, l.UserID, l.At.UnixMicro(), l.ID)
	}
	if err := execRows(ctx, tx, linksHead, linksTail, 5, args); err != nil {
		return err
	}
	args = args[:0]
	products := d.products.Keys()
	slices.SortFunc(products, func(a, b store.ProductHourKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.ProductID, b.ProductID),
			cmp.Compare(a.Currency, b.Currency), a.Hour.Compare(b.Hour))
	})
	for _, k := range products {
		r := d.products.Row(k)
		args = append(args, k.ShopID, k.Hour.UnixMicro(), k.ProductID, k.Currency,
			r.Views, r.Adds, r.Purchases, r.RevenueMinor, text(r.NameKey()))
	}
	return execRows(ctx, tx, productsHead, productsTail, 9, args)
}

// cmpBool orders false before true, as SQLite orders 0 and 1.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// writeSessionHours adds the changes of h to session_hours and the spans.
func writeSessionHours(ctx context.Context, tx *sql.Tx, h *store.SessionHours) error {
	var args []any
	for _, k := range h.Keys() {
		r := h.Row(k)
		if r == (store.SessionHour{Hour: r.Hour}) {
			continue // a session extended within its hour: nothing to add
		}
		args = append(args, k.ShopID, k.Hour.UnixMicro(), r.Sessions, r.Buying, r.Carting, r.Abandoning, r.Bounced, r.LengthMicros)
	}
	if err := execRows(ctx, tx, sessionHoursHead, sessionHoursTail, 8, args); err != nil {
		return err
	}
	for shop, d := range h.Spans() {
		if _, err := tx.ExecContext(ctx, upsertSpanSQL, shop, d.Microseconds()); err != nil {
			return err
		}
	}
	return nil
}

// scanSessions reads rows of shop_id, kind, key, start_ts, end_ts, events,
// views, adds, purchases and, withTrail, the trail (NULL when the row has
// none).
func scanSessions(rows *sql.Rows, err error, withTrail bool) ([]store.Session, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var (
			s          store.Session
			start, end int64
			trail      []byte
		)
		dest := []any{&s.ShopID, &s.Kind, &s.Key, &start, &end, &s.Events, &s.Views, &s.Adds, &s.Purchases}
		if withTrail {
			dest = append(dest, &trail)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		s.Start, s.End = time.UnixMicro(start).UTC(), time.UnixMicro(end).UTC()
		if withTrail {
			if s.Trail, _, err = store.DecodeTrail(nil, trail); err != nil {
				return nil, err
			}
		}
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
		out, err = scanSessions(rows, err, false)
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

// ProductTotals implements store.ProductReader: one GROUP BY in the
// order of the product_hours key; the latest name is the greatest
// name_key.
func (s *Store) ProductTotals(ctx context.Context, f store.Filter) ([]store.ProductHour, error) {
	var out []store.ProductHour
	err := s.readDetail(ctx, "product totals", &f, func(conn *sql.Conn) error {
		cond, args := hourRange("hour", &f, []any{f.ShopID})
		rows, err := conn.QueryContext(ctx, `SELECT product_id, currency, sum(views), sum(adds), sum(purchases),
			sum(revenue_minor), max(name_key) FROM product_hours WHERE shop_id = ?`+cond+`
			GROUP BY product_id, currency`, args...)
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
	for _, table := range []string{"sessions", "session_hours", "session_spans", "person_hours", "identify_links", "product_hours", "rollup_pending",
		"session_trails", "trails_pending"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE shop_id = ?`, shopID); err != nil {
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
		var args []any
		for i := range closed {
			c := &closed[i]
			args = append(args, c.ShopID, c.Kind, c.Key, c.Start.UnixMicro(), c.End.UnixMicro(),
				c.Events, c.Views, c.Adds, c.Purchases)
			hours.Add(c, 1)
		}
		if err := writeTrails(ctx, tx, nil, closed); err != nil {
			return err
		}
		closed = closed[:0]
		return execRows(ctx, tx, insertSessionsHead, "", 9, args)
	}
	// flushHours writes the person and product rows of the hours read so
	// far; the events come in time order, so those rows are whole.
	flushHours := func() error {
		err := s.writeDetail(ctx, tx, &detail{people: d.people, products: d.products, rebuild: true})
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
	if err := s.writeSessionHours(ctx, tx, &hours, &d.links); err != nil {
		return err
	}
	return recomputeChains(ctx, tx, shopID)
}

// writeSessionHours writes a rebuild's session rollup, spans and links.
func (s *Store) writeSessionHours(ctx context.Context, tx *sql.Tx, hours *store.SessionHours, links *store.Links) error {
	if err := writeSessionHours(ctx, tx, hours); err != nil {
		return err
	}
	return s.writeDetail(ctx, tx, &detail{links: *links, rebuild: true})
}
