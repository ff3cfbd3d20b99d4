package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
	// hourly, when set, is the batch's hourly rollup, written by the
	// detail rollups' statement.
	hourly *store.Hourly
	// slot is the rollup slot written (see slots); 0 for Rebuild.
	slot int
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

// The session groups of a batch are locked with transaction-scoped
// advisory locks, in two levels. Each lock a transaction holds takes a slot
// of the server's shared lock table (max_locks_per_transaction ×
// max_connections: 6,400 slots by default, for every session), so a batch
// cannot take one per group: a backfill batch of 50,000 groups overflowed
// it ("out of shared memory") and was retried for ever. A batch of up to
// fineLockGroups groups takes each of its groups' buckets (one of
// sessionBuckets per schema) shared, then each group's own lock: batches of
// different groups go on at once, as live batches of ingestion do. A larger
// batch takes its buckets alone, exclusively: it waits for, and holds off,
// every batch with a group in them. Buckets come first, then groups, each
// in key order, so two batches never wait for each other's locks.
const (
	sessionBuckets = 256
	fineLockGroups = 1024
)

// sessionLocks returns the advisory locks of groups, in the order to take
// them, and whether each is to be taken shared.
func (s *Store) sessionLocks(groups []store.SessionGroup) (keys []int64, shared []bool) {
	base := fnv.New64a()
	base.Write([]byte("shoplytics/pgstore/session\x00" + s.schema))
	buckets := make([]int64, 0, min(len(groups), sessionBuckets))
	var fine []int64
	for _, g := range groups {
		h := fnv.New64a()
		for _, part := range []string{g.ShopID, g.Kind, g.Key} {
			h.Write([]byte(part))
			h.Write([]byte{0})
		}
		sum := h.Sum64()
		buckets = append(buckets, int64(base.Sum64()&^(sessionBuckets-1)|sum%sessionBuckets))
		if len(groups) <= fineLockGroups {
			own := fnv.New64a()
			own.Write(base.Sum(nil))
			own.Write(h.Sum(nil))
			fine = append(fine, int64(own.Sum64()))
		}
	}
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	slices.Sort(fine)
	fine = slices.Compact(fine)
	keys = append(buckets, fine...)
	shared = make([]bool, len(keys))
	for i := range buckets {
		shared[i] = fine != nil
	}
	return keys, shared
}

// writeDetail keeps the detail rollups of d in tx. The batch's people and
// session groups are locked first (transaction-scoped advisory locks,
// taken in order, by one statement that waits for a Rebuild first; see
// rollupLocksSQL), so concurrent appends of one person's or session's
// events take turns reading and rewriting its rows; then the stored rows
// the batch changes are read (people, then the chains it changes, locked
// in turn, and sessions), and every table (and d.hourly) is written by one
// statement of data-modifying CTEs, in key order: one round trip for all
// of them instead of one (with lib/pq, two) per table.
func (s *Store) writeDetail(ctx context.Context, tx *sql.Tx, d *detail) error {
	locks, shared, anons := s.personLocks(d)
	groups := d.sessions.Groups()
	if len(groups) > 0 {
		l, sh := s.sessionLocks(groups)
		locks, shared = append(locks, l...), append(shared, sh...)
	}
	if err := s.execPrepared(ctx, tx, s.rollupLocksSQL(), pq.Int64Array(locks), pq.BoolArray(shared)); err != nil {
		return err
	}
	chains, err := s.changeChains(ctx, tx, d, anons)
	if err != nil {
		return err
	}
	var (
		hours    store.SessionHours
		del, ins sessionArrays
		made     []store.Session // for the trails
	)
	if len(groups) > 0 {
		var shops, kinds, keys, los, his pq.StringArray
		for _, g := range groups {
			lo, hi := "-infinity", "infinity"
			if g.Gap() > 0 {
				l, h := d.sessions.Window(g)
				lo, hi = stamp(l), stamp(h)
			}
			shops, kinds, keys, los, his = append(shops, g.ShopID), append(kinds, g.Kind), append(keys, g.Key), append(los, lo), append(his, hi)
		}
		var stored []store.Session
		err := s.queryPrepared(ctx, tx, s.readSessionsSQL(), func(rows *sql.Rows, err error) error {
			stored, err = scanSessions(rows, err, true)
			return err
		}, shops, kinds, keys, los, his)
		if err != nil {
			return err
		}
		byGroup := map[store.SessionGroup][]store.Session{}
		for _, st := range stored {
			byGroup[st.SessionGroup] = append(byGroup[st.SessionGroup], st)
		}
		for _, g := range groups {
			removed, added := d.sessions.Merge(g, byGroup[g])
			made = append(made, added...)
			for i := range removed {
				hours.Add(&removed[i], -1)
				// A session that keeps its start (most often one that new
				// events extend) is rewritten in place by the upserts of
				// it and its trail, one row version instead of a delete
				// and an insert; the others go. The CTEs of a table then
				// touch different rows.
				if !slices.ContainsFunc(added, func(a store.Session) bool { return a.Start.Equal(removed[i].Start) }) {
					del.add(&removed[i])
				}
			}
			for i := range added {
				ins.add(&added[i])
				hours.Add(&added[i], 1)
			}
		}
	}
	var st statement
	s.addDetail(&st, d.hourly, &del, &ins, &hours, d, chains, made)
	return st.exec(ctx, s, tx)
}

// addDetail adds a batch's rollup writes to st: the hourly rows when h is
// set, the sessions deleted and upserted, with their trails, their hours
// and the span, the person, link and product rows and the chains' writes.
// Every part is there even when it has no rows (unnest of an empty array
// is no rows), so that the statement's text, and its prepared plan, is
// the same for every batch.
func (s *Store) addDetail(st *statement, h *store.Hourly, del, ins *sessionArrays, hours *store.SessionHours, d *detail,
	chains *chainWrites, made []store.Session) {
	if h != nil {
		s.addHourly(st, h, d.slot)
	}
	st.add(`DELETE FROM `+s.table("sessions")+` AS s
		USING unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS d(shop_id, kind, key, start_ts)
		WHERE s.shop_id = d.shop_id AND s.kind = d.kind AND s.key = d.key AND s.start_ts = d.start_ts`,
		del.shops, del.kinds, del.keys, del.starts)
	s.addSessions(st, ins, true)
	st.add(`DELETE FROM `+s.table("session_trails")+` AS t
		USING unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[]) AS d(shop_id, start_ts, kind, key)
		WHERE t.shop_id = d.shop_id AND t.start_ts = d.start_ts AND t.kind = d.kind AND t.key = d.key`,
		del.shops, del.starts, del.kinds, del.keys)
	s.addTrails(st, made, true)
	s.addSessionHours(st, hours, d.slot)
	s.addPeopleAndProducts(st, d, chains)
	s.addChains(st, chains, d.slot)
}

// advisoryLocksSQL takes transaction-scoped advisory locks, each shared or
// not, in the arrays' order: the session groups' (see sessionLocks), and
// the people's and chains' (peopleLocks).
func (s *Store) advisoryLocksSQL() string {
	return `SELECT CASE WHEN l.shared THEN pg_advisory_xact_lock_shared(l.k) ELSE pg_advisory_xact_lock(l.k) END
		FROM unnest($1::bigint[], $2::boolean[]) AS l(k, shared)`
}

// readSessionsSQL reads the stored sessions of groups within windows,
// with their trails. Each group is looked up by the primary key: the
// window applies outside the LATERAL subquery (which OFFSET 0 keeps the
// planner from flattening into a join), as the index on start alone would
// meet it too, and a plan made while the table was nearly empty, which
// the prepared statement keeps, may take that index and read every
// session of the shop before the window's end.
func (s *Store) readSessionsSQL() string {
	return `SELECT s.shop_id, s.kind, s.key, s.start_ts, s.end_ts, s.events, s.views, s.adds, s.purchases, t.trail
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS w(shop_id, kind, key, lo, hi)
		CROSS JOIN LATERAL (SELECT * FROM ` + s.table("sessions") + ` AS s WHERE s.shop_id = w.shop_id AND s.kind = w.kind
			AND s.key = w.key OFFSET 0) AS s
		LEFT JOIN ` + s.table("session_trails") + ` AS t ON t.shop_id = s.shop_id AND t.start_ts = s.start_ts
			AND t.kind = s.kind AND t.key = s.key
		WHERE s.start_ts < w.hi AND s.end_ts > w.lo`
}

// statement gathers writes into one statement: each is a data-modifying
// CTE of it, numbered in turn, its parameters renumbered to follow the
// earlier ones'. PostgreSQL runs every CTE to completion whatever the
// final query reads; they see one snapshot, so each must touch rows the
// others do not (true of the rollup tables, each written by one CTE).
type statement struct {
	ctes []string
	args []any
}

// param matches a parameter reference of a query given to add.
var param = regexp.MustCompile(`\$[0-9]+`)

// add appends query, whose parameters are $1 … $len(args), with its args.
func (st *statement) add(query string, args ...any) {
	base := len(st.args)
	query = param.ReplaceAllStringFunc(query, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + strconv.Itoa(base+n)
	})
	st.ctes = append(st.ctes, "w"+strconv.Itoa(len(st.ctes))+" AS ("+query+")")
	st.args = append(st.args, args...)
}

// text is the statement of the gathered writes.
func (st *statement) text() string {
	return "WITH " + strings.Join(st.ctes, ",\n") + "\nSELECT 1"
}

// exec runs the gathered writes in tx, if there are any, prepared when
// the text is one of prepareRollups'.
func (st *statement) exec(ctx context.Context, s *Store, tx *sql.Tx) error {
	if len(st.ctes) == 0 {
		return nil
	}
	return s.execPrepared(ctx, tx, st.text(), st.args...)
}

// prepareRollups prepares the statements of the rollup writes every batch
// runs, once, when the store opens: the locks, the reads of people,
// chains and sessions, the detail rollups' statement (see addDetail) and
// the hourly one. Through a
// prepared statement lib/pq runs in one round trip (bind and execute)
// what otherwise takes two (parse, then bind and execute), and
// PostgreSQL plans it once per connection rather than every batch. They
// are prepared here, not on first use, because preparing needs a
// connection of the pool besides the one the appending transaction holds.
func (s *Store) prepareRollups(ctx context.Context) error {
	var detailSQL, hourlySQL statement
	s.addDetail(&detailSQL, &store.Hourly{}, &sessionArrays{}, &sessionArrays{}, &store.SessionHours{}, &detail{}, &chainWrites{}, nil)
	s.addHourly(&hourlySQL, &store.Hourly{}, 0)
	for _, q := range []string{s.rollupLocksSQL(), s.advisoryLocksSQL(), s.storedPeopleSQL(), s.chainWindowsSQL(),
		s.readSessionsSQL(), detailSQL.text(), hourlySQL.text()} {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		s.stmts.Store(q, st)
	}
	return nil
}

// execPrepared runs query with args in tx, through its prepared statement
// when prepareRollups made one.
func (s *Store) execPrepared(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	p, ok := s.stmts.Load(query)
	if !ok {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
	st := tx.StmtContext(ctx, p.(*sql.Stmt))
	defer st.Close()
	_, err := st.ExecContext(ctx, args...)
	return err
}

// queryPrepared runs query with args in tx like execPrepared and hands
// the rows to read, which closes them.
func (s *Store) queryPrepared(ctx context.Context, tx *sql.Tx, query string, read func(*sql.Rows, error) error, args ...any) error {
	p, ok := s.stmts.Load(query)
	if !ok {
		return read(tx.QueryContext(ctx, query, args...))
	}
	st := tx.StmtContext(ctx, p.(*sql.Stmt))
	defer st.Close()
	return read(st.QueryContext(ctx, args...))
}

// closeStmts closes the prepared statements of the store.
func (s *Store) closeStmts() {
	s.stmts.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
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
	var st statement
	s.addSessions(&st, a, false)
	return st.exec(ctx, s, tx)
}

// addSessions adds a to st: inserted, or with upsert in place of a stored
// row of the same key.
func (s *Store) addSessions(st *statement, a *sessionArrays, upsert bool) {
	tail := ""
	if upsert {
		tail = ` ON CONFLICT (shop_id, kind, key, start_ts) DO UPDATE SET end_ts = excluded.end_ts,
			events = excluded.events, views = excluded.views, adds = excluded.adds, purchases = excluded.purchases`
	}
	st.add(`INSERT INTO `+s.table("sessions")+`
		(shop_id, kind, key, start_ts, end_ts, events, views, adds, purchases)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
			$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])`+tail,
		a.shops, a.kinds, a.keys, a.starts, a.ends, a.counts[0], a.counts[1], a.counts[2], a.counts[3])
}

// writeSessionHours adds the changes of h to session_hours and the spans.
func (s *Store) writeSessionHours(ctx context.Context, tx *sql.Tx, h *store.SessionHours) error {
	var st statement
	s.addSessionHours(&st, h, 0)
	return st.exec(ctx, s, tx)
}

// addSessionHours adds the writes of h's changes to st; an hour whose
// sessions changed only within it (a session extended, say, and no
// longer) has no row in them. Like every add, it adds its parts even with
// no rows, so that a statement's text does not depend on the batch.
func (s *Store) addSessionHours(st *statement, h *store.SessionHours, slot int) {
	var (
		shops, hours pq.StringArray
		cols         [6]pq.Int64Array
	)
	for _, k := range h.Keys() {
		r := h.Row(k)
		if r == (store.SessionHour{Hour: r.Hour}) {
			continue
		}
		shops, hours = append(shops, k.ShopID), append(hours, stamp(k.Hour))
		for i, v := range [...]int64{r.Sessions, r.Buying, r.Carting, r.Abandoning, r.Bounced, r.LengthMicros} {
			cols[i] = append(cols[i], v)
		}
	}
	st.add(`INSERT INTO `+s.table("session_hours")+` AS r
		(shop_id, hour, sessions, buying, carting, abandoning, bounced, length_micros, slot)
		SELECT *, $9::smallint FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
			$7::bigint[], $8::bigint[])
		ON CONFLICT (shop_id, hour, slot) DO UPDATE SET sessions = r.sessions + excluded.sessions,
			buying = r.buying + excluded.buying, carting = r.carting + excluded.carting,
			abandoning = r.abandoning + excluded.abandoning, bounced = r.bounced + excluded.bounced,
			length_micros = r.length_micros + excluded.length_micros`,
		shops, hours, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], slot)
	var spanShops pq.StringArray
	var spans pq.Int64Array
	for _, shop := range slices.Sorted(mapKeys(h.Spans())) {
		spanShops, spans = append(spanShops, shop), append(spans, h.Spans()[shop].Microseconds())
	}
	// Only a longer span is written: most batches change none, and skip
	// the row (an upsert that updates nothing still locks it, and every
	// batch of the shop would wait for the one holding it).
	st.add(`INSERT INTO `+s.table("session_spans")+` AS r (shop_id, micros)
		SELECT * FROM unnest($1::text[], $2::bigint[]) AS u(shop_id, micros)
		WHERE NOT EXISTS (SELECT 1 FROM `+s.table("session_spans")+` AS o WHERE o.shop_id = u.shop_id AND o.micros >= u.micros)
		ON CONFLICT (shop_id) DO UPDATE SET micros = excluded.micros WHERE excluded.micros > r.micros`, spanShops, spans)
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
	var st statement
	s.addPeopleAndProducts(&st, d, &chainWrites{})
	return st.exec(ctx, s, tx)
}

// addPeopleAndProducts adds the upserts of d's person, link and product
// rows to st, but for the person rows and links w says are stored.
func (s *Store) addPeopleAndProducts(st *statement, d *detail, w *chainWrites) {
	{
		var (
			shops, hours, ids pq.StringArray
			users, raws, lnks pq.BoolArray
		)
		for _, k := range d.people.Keys() {
			if w.storedPeople[k] {
				continue
			}
			r := d.people.Row(k)
			shops, hours, ids = append(shops, k.ShopID), append(hours, stamp(k.Hour)), append(ids, k.ID)
			users, raws, lnks = append(users, k.User), append(raws, r.Raw), append(lnks, r.Linked)
		}
		// A person already active in the hour as the batch says is left
		// alone: no new row version for an update that changes nothing.
		st.add(`INSERT INTO `+s.table("person_hours")+` AS r (shop_id, hour, is_user, id, raw, linked)
			SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::boolean[], $4::text[], $5::boolean[], $6::boolean[])
			ON CONFLICT (shop_id, hour, is_user, id) DO UPDATE SET raw = r.raw OR excluded.raw, linked = r.linked OR excluded.linked
			WHERE excluded.raw AND NOT r.raw OR excluded.linked AND NOT r.linked`,
			shops, hours, users, ids, raws, lnks)
	}
	{
		var shops, anons, users, ats, ids pq.StringArray
		for _, k := range d.links.Keys() {
			if w.storedLinks[k] {
				continue
			}
			l := d.links.Link(k)
			shops, anons, users = append(shops, k.ShopID), append(anons, k.AnonymousID), append(users, l.UserID)
			ats, ids = append(ats, stamp(l.At)), append(ids, l.ID)
		}
		st.add(`INSERT INTO `+s.table("identify_links")+` AS r (shop_id, anonymous_id, user_id, ts, id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
			ON CONFLICT (shop_id, anonymous_id) DO UPDATE SET user_id = excluded.user_id, ts = excluded.ts, id = excluded.id
			WHERE (excluded.ts, excluded.id) < (r.ts, r.id)`, shops, anons, users, ats, ids)
	}
	{
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
		st.add(`INSERT INTO `+s.table("product_hours")+` AS r
			(shop_id, hour, product_id, currency, views, adds, purchases, revenue_minor, name_key, slot)
			SELECT *, $10::smallint FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
				$7::bigint[], $8::bigint[], $9::text[])
			ON CONFLICT (shop_id, hour, product_id, currency, slot) DO UPDATE SET
				views = r.views + excluded.views, adds = r.adds + excluded.adds,
				purchases = r.purchases + excluded.purchases, revenue_minor = r.revenue_minor + excluded.revenue_minor,
				name_key = greatest(r.name_key, excluded.name_key)`,
			shops, hours, products, currencies, cols[0], cols[1], cols[2], cols[3], keys, d.slot)
	}
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
			x     store.Session
			trail []byte
		)
		dest := []any{&x.ShopID, &x.Kind, &x.Key, &x.Start, &x.End, &x.Events, &x.Views, &x.Adds, &x.Purchases}
		if withTrail {
			dest = append(dest, &trail)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		x.Start, x.End = x.Start.UTC(), x.End.UTC()
		if withTrail {
			if x.Trail, _, err = store.DecodeTrail(nil, trail); err != nil {
				return nil, err
			}
		}
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

// SessionHours implements store.SessionReader, the slots of an hour
// summed.
func (s *Store) SessionHours(ctx context.Context, f store.Filter) ([]store.SessionHour, error) {
	var out []store.SessionHour
	err := s.readDetail(ctx, "session hours", &f, func(tx *sql.Tx) error {
		cond, args := hourRange("hour", &f, []any{f.ShopID})
		rows, err := tx.QueryContext(ctx, `SELECT hour, sum(sessions)::bigint, sum(buying)::bigint, sum(carting)::bigint,
			sum(abandoning)::bigint, sum(bounced)::bigint, sum(length_micros)::bigint
			FROM `+s.table("session_hours")+` WHERE shop_id = $1`+cond+` GROUP BY hour ORDER BY hour`, args...)
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
		out, err = scanSessions(rows, err, false)
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
	for _, table := range []string{"sessions", "session_hours", "session_spans", "person_hours", "identify_links", "product_hours", "rollup_pending",
		"session_trails", "trails_pending"} {
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
		if err := s.insertTrails(ctx, tx, closed); err != nil {
			return err
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
