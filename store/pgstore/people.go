package pgstore

import (
	"cmp"
	"context"
	"database/sql"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
)

// The people chains and product purchase days of
// migrations/0006_people_chains.sql (see store/peoplechain.go for what
// they count and how): kept as events are appended, recomputed by
// Rebuild, read by CountPeople and TopPurchased.

var _ store.TopProductReader = (*Store)(nil)

// micros is t as microseconds since the epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// The people of a batch (an anonymous or user id's person_hours rows and
// link) and then the users' chains it changes are locked with transaction-scoped
// advisory locks in two levels, as the session groups are (see
// sessionLocks): each is in one of peopleLockBuckets buckets per class and
// shop. A batch of up to finePeopleLocks people (or chains) takes their
// buckets shared, then each one's own lock: small batches, as durable
// answers make, go on side by side unless they share a person. A larger
// one takes its buckets alone, exclusively, so that however large the
// batch it holds at most peopleLockBuckets locks of each class, within
// PostgreSQL's shared lock table.
const (
	peopleLockBuckets = 32
	finePeopleLocks   = 256
)

// peopleKey is what a people or chain lock is named after: a shop and a
// kind and key within it.
type peopleKey struct{ shop, kind, key string }

// peopleLocks returns the advisory locks of keys of class ("person" or
// "chain"), in the order to take them, and whether each is to be taken
// shared: buckets, then (for a small batch) the keys' own, each in order.
func (s *Store) peopleLocks(class string, keys []peopleKey) (locks []int64, shared []bool) {
	var buckets, fine []int64
	for _, k := range keys {
		h := fnv.New64a()
		for _, part := range []string{k.kind, k.key} {
			h.Write([]byte(part))
			h.Write([]byte{0})
		}
		sum := h.Sum64()
		b := fnv.New64a()
		for _, part := range []string{"shoplytics/pgstore/people", class, s.schema, k.shop, strconv.FormatUint(sum%peopleLockBuckets, 10)} {
			b.Write([]byte(part))
			b.Write([]byte{0})
		}
		buckets = append(buckets, int64(b.Sum64()))
		own := fnv.New64a()
		own.Write(b.Sum(nil))
		own.Write([]byte(k.shop))
		own.Write([]byte{0})
		own.Write(h.Sum(nil))
		fine = append(fine, int64(own.Sum64()))
	}
	slices.Sort(buckets)
	buckets = slices.Compact(buckets)
	slices.Sort(fine)
	if fine = slices.Compact(fine); len(fine) > finePeopleLocks {
		fine = nil
	}
	locks = append(buckets, fine...)
	shared = make([]bool, len(locks))
	for i := range buckets {
		shared[i] = fine != nil
	}
	return locks, shared
}

// personLocks returns the locks of the people of the batch d: the user
// ids of its person rows and the anonymous ids of its person rows and
// links, and the latter's keys.
func (s *Store) personLocks(d *detail) (locks []int64, shared []bool, anons []store.LinkKey) {
	if d.people.Len() == 0 && d.links.Len() == 0 {
		return nil, nil, nil
	}
	anons = store.LinkAnonKeys(&d.people, &d.links)
	var keys []peopleKey
	for _, k := range d.people.Keys() {
		if k.User {
			keys = append(keys, peopleKey{k.ShopID, "u", k.ID})
		}
	}
	for _, k := range anons {
		keys = append(keys, peopleKey{k.ShopID, "a", k.AnonymousID})
	}
	locks, shared = s.peopleLocks("person", keys)
	return locks, shared, anons
}

// rollupLocksSQL takes the locks a batch's detail rollups take before
// they read anything, in one statement: ROW EXCLUSIVE on person_hours,
// which Rebuild holds in SHARE ROW EXCLUSIVE mode (PostgreSQL locks the
// target of the CTE's DELETE, which deletes nothing, before the statement
// runs), so that a batch meeting a rebuild waits for it before it reads
// or writes any rollup row, then reads what it wrote; then the people's
// advisory locks (personLocks) and the session groups' (sessionLocks), in
// the arrays' order.
//
// It also turns sequential scans, hash and merge joins off for the rest
// of the transaction, whose statements all look up a batch's keys in
// tables that keep growing: they are prepared, and a prepared statement
// keeps the plan made on its first runs on a connection, when the tables
// may have been nearly empty (a fresh schema has no statistics until
// autovacuum gets to it), and a plan that scanned them whole then would
// scan them whole for good. With those off, every join goes through an
// index whatever the plan saw.
func (s *Store) rollupLocksSQL() string {
	return `WITH rebuild AS (DELETE FROM ` + s.table("person_hours") + ` WHERE false RETURNING 1)
		SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),
			set_config('enable_mergejoin', 'off', true),
			(SELECT count(CASE WHEN l.shared THEN pg_advisory_xact_lock_shared(l.k) ELSE pg_advisory_xact_lock(l.k) END)
				FROM unnest($1::bigint[], $2::boolean[]) AS l(k, shared))`
}

// chainWrites are a batch's writes to the people chains, the premature
// links, the product purchase days and the person rows and links, as the
// arrays of addChains' parts.
type chainWrites struct {
	del, put, prev struct {
		shops, kinds, keys pq.StringArray
		hours, ns          pq.Int64Array
		nexts              nullStrings
	}
	cells struct {
		shops, kinds        pq.StringArray
		prevDays, hours, ns pq.Int64Array
	}
	premDel, premIns struct {
		shops, anons pq.StringArray
		hours        pq.Int64Array
	}
	days struct {
		shops, products pq.StringArray
		days, ns        pq.Int64Array
	}
	// stored are the batch's person rows and links that the stored ones
	// already hold: the upserts leave them out.
	storedPeople map[store.PersonHourKey]bool
	storedLinks  map[store.LinkKey]bool
}

// changeChains works out, in tx, what the batch d changes of the people
// chains, with the batch's people locked (rollupLocksSQL): it reads what
// person_hours and identify_links held before the batch, locks the users'
// chains the batch changes, in order, then reads the chains' windows. The writes go
// into the batch's statement (addChains), so they see the same rows.
func (s *Store) changeChains(ctx context.Context, tx *sql.Tx, d *detail, anons []store.LinkKey) (*chainWrites, error) {
	w := &chainWrites{}
	days := store.PurchaseDays(&d.products)
	for _, k := range store.PurchaseDayKeys(days) {
		w.days.shops, w.days.days, w.days.products, w.days.ns = append(w.days.shops, k.ShopID), append(w.days.days, k.Day),
			append(w.days.products, k.ProductID), append(w.days.ns, days[k])
	}
	if d.people.Len() == 0 && d.links.Len() == 0 {
		return w, nil
	}
	old, linked, anonHours, err := s.storedPeople(ctx, tx, d, anons)
	if err != nil {
		return nil, err
	}
	c, err := store.ChangeChains(&d.people, &d.links, old, linked, func(k store.LinkKey) ([]store.AnonHour, error) {
		return anonHours[k], nil
	})
	if err != nil {
		return nil, err
	}
	// Person rows and links the stored ones already say are no writes:
	// an upsert that changes nothing still locks its row and logs it.
	w.storedPeople, w.storedLinks = map[store.PersonHourKey]bool{}, map[store.LinkKey]bool{}
	for k, o := range old {
		if r := d.people.Row(k); !(r.Raw && !o.Raw || r.Linked && !o.Linked) {
			w.storedPeople[k] = true
		}
	}
	for _, k := range d.links.Keys() {
		if o, ok := linked[k]; ok && !d.links.Link(k).Before(o) {
			w.storedLinks[k] = true
		}
	}
	chains := c.Keys()
	if len(chains) > 0 {
		// Only users' chains are locked: an anonymous id's own chains
		// change only with its person rows or link, so only in batches
		// that hold its person lock, while a user's changes with the
		// links of every id identified as them. Each lock is a slot of
		// the server's shared lock table, which the concurrent batches'
		// people and session locks already fill much of.
		var keys []peopleKey
		for _, k := range chains {
			if k.Kind == store.ChainUser {
				keys = append(keys, peopleKey{k.ShopID, k.Kind, k.Key})
			}
		}
		if len(keys) > 0 {
			locks, shared := s.peopleLocks("chain", keys)
			if err := s.execPrepared(ctx, tx, s.advisoryLocksSQL(), pq.Int64Array(locks), pq.BoolArray(shared)); err != nil {
				return nil, err
			}
		}
		if err := s.chainWrites(ctx, tx, &c, chains, w); err != nil {
			return nil, err
		}
	}
	// A premature row both deleted and inserted stays: it is only
	// inserted (if missing), as one statement cannot write a row twice.
	ins := make(map[store.Premature]bool, len(c.Insert))
	for _, x := range c.Insert {
		ins[x] = true
		w.premIns.shops, w.premIns.hours, w.premIns.anons = append(w.premIns.shops, x.ShopID), append(w.premIns.hours, x.Hour), append(w.premIns.anons, x.AnonymousID)
	}
	for _, x := range c.Delete {
		if !ins[x] {
			w.premDel.shops, w.premDel.hours, w.premDel.anons = append(w.premDel.shops, x.ShopID), append(w.premDel.hours, x.Hour), append(w.premDel.anons, x.AnonymousID)
		}
	}
	return w, nil
}

// storedPeopleSQL reads, in one statement, the person_hours rows of a
// batch's keys (0), the identify_links of its anonymous ids (1) and every
// person_hours row of the anonymous ids it has links for (2), whose rows
// move to another chain if the link changes.
func (s *Store) storedPeopleSQL() string {
	ph := s.table("person_hours")
	return `SELECT 0, p.shop_id, p.is_user, p.id, p.hour, p.raw, p.linked, '', ''
		FROM unnest($1::text[], $2::boolean[], $3::text[], $4::timestamptz[]) AS w(shop_id, is_user, id, hour)
		JOIN ` + ph + ` AS p ON p.shop_id = w.shop_id AND p.is_user = w.is_user AND p.id = w.id AND p.hour = w.hour
	UNION ALL SELECT 1, l.shop_id, false, l.anonymous_id, l.ts, false, false, l.user_id, l.id
		FROM unnest($5::text[], $6::text[]) AS w(shop_id, anonymous_id)
		JOIN ` + s.table("identify_links") + ` AS l ON l.shop_id = w.shop_id AND l.anonymous_id = w.anonymous_id
	UNION ALL SELECT 2, p.shop_id, false, p.id, p.hour, p.raw, p.linked, '', ''
		FROM unnest($7::text[], $8::text[]) AS w(shop_id, id)
		JOIN ` + ph + ` AS p ON p.shop_id = w.shop_id AND NOT p.is_user AND p.id = w.id`
}

// storedPeople reads what ChangeChains needs of the stored person rows
// and links for the batch d (see storedPeopleSQL): the rows of its keys,
// the links of anons, and the rows of its links' anonymous ids, in hour
// order.
func (s *Store) storedPeople(ctx context.Context, tx *sql.Tx, d *detail, anons []store.LinkKey) (
	old map[store.PersonHourKey]store.PersonHour, linked map[store.LinkKey]store.Link, anonHours map[store.LinkKey][]store.AnonHour, err error) {
	var (
		shops, ids, hours, lshops, lanons, ashops, aids pq.StringArray
		users                                           pq.BoolArray
	)
	for _, k := range d.people.Keys() {
		shops, users, ids, hours = append(shops, k.ShopID), append(users, k.User), append(ids, k.ID), append(hours, stamp(k.Hour))
	}
	for _, k := range anons {
		lshops, lanons = append(lshops, k.ShopID), append(lanons, k.AnonymousID)
	}
	for _, k := range d.links.Keys() {
		ashops, aids = append(ashops, k.ShopID), append(aids, k.AnonymousID)
	}
	old = make(map[store.PersonHourKey]store.PersonHour, d.people.Len())
	linked = map[store.LinkKey]store.Link{}
	anonHours = map[store.LinkKey][]store.AnonHour{}
	err = s.queryPrepared(ctx, tx, s.storedPeopleSQL(), func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				part         int
				shop, id     string
				user         bool
				at           time.Time
				raw, lnk     bool
				userID, evID string
			)
			if err := rows.Scan(&part, &shop, &user, &id, &at, &raw, &lnk, &userID, &evID); err != nil {
				return err
			}
			at = at.UTC()
			switch part {
			case 0:
				old[store.PersonHourKey{ShopID: shop, Hour: at, User: user, ID: id}] = store.PersonHour{Raw: raw, Linked: lnk}
			case 1:
				linked[store.LinkKey{ShopID: shop, AnonymousID: id}] = store.Link{UserID: userID, At: at, ID: evID}
			default:
				k := store.LinkKey{ShopID: shop, AnonymousID: id}
				anonHours[k] = append(anonHours[k], store.AnonHour{Hour: micros(at), Raw: raw, Linked: lnk})
			}
		}
		return rows.Err()
	}, shops, users, ids, hours, lshops, lanons, ashops, aids)
	for _, rows := range anonHours {
		slices.SortFunc(rows, func(a, b store.AnonHour) int { return cmp.Compare(a.Hour, b.Hour) })
	}
	return old, linked, anonHours, err
}

// addChains adds the writes of w to st: the product purchase days, the
// chain rows deleted, put and re-pointed (different rows: a put row is in
// its chain's window, a deleted one in it but no longer counted, the
// re-pointed one before it), the cells' counts (in slot: a cell counts
// the sum of its slots, each of which may go below zero; one counted down
// to zero stays, counting nothing, till Rebuild), the purchase days (in
// slot too), the premature links deleted and inserted.
func (s *Store) addChains(st *statement, w *chainWrites, slot int) {
	chain := s.table("person_chain")
	st.add(`INSERT INTO `+s.table("product_purchase_days")+` AS p (shop_id, day, product_id, purchases, slot)
		SELECT *, $5::smallint FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
		ON CONFLICT (shop_id, day, product_id, slot) DO UPDATE SET purchases = p.purchases + excluded.purchases`,
		w.days.shops, w.days.days, w.days.products, w.days.ns, slot)
	st.add(`DELETE FROM `+chain+` AS c
		USING unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS d(shop_id, kind, key, hour)
		WHERE c.shop_id = d.shop_id AND c.kind = d.kind AND c.key = d.key AND c.hour = d.hour`,
		w.del.shops, w.del.kinds, w.del.keys, w.del.hours)
	st.add(`INSERT INTO `+chain+` AS c (shop_id, kind, key, hour, n, next)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
		ON CONFLICT (shop_id, kind, key, hour) DO UPDATE SET n = excluded.n, next = excluded.next`,
		w.put.shops, w.put.kinds, w.put.keys, w.put.hours, w.put.ns, w.put.nexts)
	st.add(`UPDATE `+chain+` AS c SET next = u.next
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(shop_id, kind, key, hour, next)
		WHERE c.shop_id = u.shop_id AND c.kind = u.kind AND c.key = u.key AND c.hour = u.hour`,
		w.prev.shops, w.prev.kinds, w.prev.keys, w.prev.hours, w.prev.nexts)
	st.add(`INSERT INTO `+s.table("person_cells")+` AS c (shop_id, kind, prev_day, hour, n, slot)
		SELECT *, $6::smallint FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
		ON CONFLICT (shop_id, kind, prev_day, hour, slot) DO UPDATE SET n = c.n + excluded.n`,
		w.cells.shops, w.cells.kinds, w.cells.prevDays, w.cells.hours, w.cells.ns, slot)
	st.add(`DELETE FROM `+s.table("premature_links")+` AS p
		USING unnest($1::text[], $2::bigint[], $3::text[]) AS d(shop_id, hour, anonymous_id)
		WHERE p.shop_id = d.shop_id AND p.hour = d.hour AND p.anonymous_id = d.anonymous_id`,
		w.premDel.shops, w.premDel.hours, w.premDel.anons)
	st.add(`INSERT INTO `+s.table("premature_links")+` (shop_id, hour, anonymous_id)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`,
		w.premIns.shops, w.premIns.hours, w.premIns.anons)
}

// chainWindowsSQL reads chains' windows (see chainWrites).
func (s *Store) chainWindowsSQL() string {
	chain := s.table("person_chain")
	return `WITH w AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
			AS w(shop_id, kind, key, lo, hi))
		SELECT w.shop_id, w.kind, w.key, 0, c.hour, c.n FROM w
			JOIN ` + chain + ` AS c ON c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour >= w.lo AND c.hour <= w.hi
		UNION ALL SELECT w.shop_id, w.kind, w.key, -1, (SELECT max(c.hour) FROM ` + chain + ` AS c
			WHERE c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour < w.lo), 0 FROM w
		UNION ALL SELECT w.shop_id, w.kind, w.key, 1, (SELECT min(c.hour) FROM ` + chain + ` AS c
			WHERE c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour > w.hi), 0 FROM w`
}

// chainWrites works out the changes c to person_chain and person_cells
// into w: per chain (of keys, c's, locked), the stored rows between its
// first and last changed hour and the rows just outside are read
// (store.ChainWindow), and what store.ChainWrites makes of them kept for
// addChains.
func (s *Store) chainWrites(ctx context.Context, tx *sql.Tx, c *store.ChainChanges, keys []store.ChainKey, out *chainWrites) error {
	windows := make(map[store.ChainKey]*store.ChainWindow, len(keys))
	var shops, kinds, names pq.StringArray
	var los, his pq.Int64Array
	for _, k := range keys {
		lo, hi := c.Bounds(k)
		shops, kinds, names, los, his = append(shops, k.ShopID), append(kinds, k.Kind), append(names, k.Key), append(los, lo), append(his, hi)
		windows[k] = &store.ChainWindow{Prev: store.NoHour, Next: store.NoHour}
	}
	err := s.queryPrepared(ctx, tx, s.chainWindowsSQL(), func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		return store.ReadChainWindows(rows, windows)
	}, shops, kinds, names, los, his)
	if err != nil {
		return err
	}
	w, err := store.WriteChains(c, keys, windows)
	if err != nil {
		return err
	}
	// next hours as text, NULL for none.
	next := func(h int64) sql.NullString {
		if h == store.NoHour {
			return sql.NullString{}
		}
		return sql.NullString{String: strconv.FormatInt(h, 10), Valid: true}
	}
	del, put, prev := &out.del, &out.put, &out.prev
	for _, k := range keys {
		for _, h := range w.Delete[k] {
			del.shops, del.kinds, del.keys, del.hours = append(del.shops, k.ShopID), append(del.kinds, k.Kind), append(del.keys, k.Key), append(del.hours, h)
		}
		for _, n := range w.Put[k] {
			put.shops, put.kinds, put.keys, put.hours = append(put.shops, k.ShopID), append(put.kinds, k.Kind), append(put.keys, k.Key), append(put.hours, n.Hour)
			put.ns, put.nexts = append(put.ns, n.N), append(put.nexts, next(n.Next))
		}
		if n, ok := w.Prev[k]; ok {
			prev.shops, prev.kinds, prev.keys, prev.hours = append(prev.shops, k.ShopID), append(prev.kinds, k.Kind), append(prev.keys, k.Key), append(prev.hours, n.Hour)
			prev.nexts = append(prev.nexts, next(n.Next))
		}
	}
	for _, x := range w.CellKeys() {
		c := &out.cells
		c.shops, c.kinds, c.prevDays, c.hours, c.ns = append(c.shops, x.ShopID), append(c.kinds, x.Kind), append(c.prevDays, x.PrevDay),
			append(c.hours, x.Hour), append(c.ns, w.Cells[x])
	}
	return nil
}

// recomputeChains recomputes a shop's chains, cells, premature links and
// purchase days in tx from its person_hours, identify_links and
// product_hours, as migrations/0006_people_chains.sql fills them.
func (s *Store) recomputeChains(ctx context.Context, tx *sql.Tx, shopID string) error {
	ph, il, pc := s.table("person_hours"), s.table("identify_links"), s.table("person_chain")
	for _, q := range []string{
		`DELETE FROM ` + pc + ` WHERE shop_id = $1`,
		`DELETE FROM ` + s.table("person_cells") + ` WHERE shop_id = $1`,
		`DELETE FROM ` + s.table("premature_links") + ` WHERE shop_id = $1`,
		`DELETE FROM ` + s.table("product_purchase_days") + ` WHERE shop_id = $1`,
		`INSERT INTO ` + pc + ` (shop_id, kind, key, hour, n, next)
		SELECT $1, kind, key, hour, n, lead(hour) OVER (PARTITION BY kind, key ORDER BY hour)
		FROM (
			SELECT 'u' AS kind, key, hour, count(*) AS n FROM (
				SELECT id AS key, (extract(epoch FROM hour) * 1000000)::bigint AS hour FROM ` + ph + `
					WHERE shop_id = $1 AND is_user
				UNION ALL
				SELECT l.user_id, (extract(epoch FROM p.hour) * 1000000)::bigint FROM ` + ph + ` AS p
					JOIN ` + il + ` AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
					WHERE p.shop_id = $1 AND NOT p.is_user AND p.raw
			) AS x GROUP BY key, hour
			UNION ALL
			SELECT 'r', p.id, (extract(epoch FROM p.hour) * 1000000)::bigint, 1 FROM ` + ph + ` AS p
				WHERE p.shop_id = $1 AND NOT p.is_user AND NOT EXISTS (SELECT 1 FROM ` + il + ` AS l
					WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
			UNION ALL
			SELECT 'l', p.id, (extract(epoch FROM p.hour) * 1000000)::bigint, 1 FROM ` + ph + ` AS p
				WHERE p.shop_id = $1 AND NOT p.is_user AND p.linked AND NOT EXISTS (SELECT 1 FROM ` + il + ` AS l
					WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
		) AS c`,
		`INSERT INTO ` + s.table("person_cells") + ` (shop_id, kind, prev_day, hour, n)
		SELECT $1, kind, coalesce(prev - ((prev % 86400000000) + 86400000000) % 86400000000, -9223372036854775808), hour, count(*)
		FROM (SELECT kind, hour, lag(hour) OVER (PARTITION BY kind, key ORDER BY hour) AS prev
			FROM ` + pc + ` WHERE shop_id = $1) AS c
		GROUP BY 1, 2, 3, 4`,
		`INSERT INTO ` + s.table("premature_links") + ` (shop_id, hour, anonymous_id)
		SELECT $1, (extract(epoch FROM p.hour) * 1000000)::bigint, p.id FROM ` + ph + ` AS p
			JOIN ` + il + ` AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
			WHERE p.shop_id = $1 AND NOT p.is_user AND p.linked AND l.ts >= p.hour + interval '1 hour'`,
		`INSERT INTO ` + s.table("product_purchase_days") + ` (shop_id, day, product_id, purchases)
		SELECT $1, d, product_id, sum(purchases)
		FROM (SELECT product_id, purchases, (extract(epoch FROM hour) * 1000000)::bigint AS h
			FROM ` + s.table("product_hours") + ` WHERE shop_id = $1 AND purchases > 0) AS p,
			LATERAL (SELECT h - ((h % 86400000000) + 86400000000) % 86400000000 AS d) AS x
		GROUP BY 2, 3`,
	} {
		if _, err := tx.ExecContext(ctx, q, shopID); err != nil {
			return err
		}
	}
	return nil
}

// CountPeople implements store.PeopleReader from the people chains (see
// store/peoplechain.go): a few thousand cells and the rows of the range's
// first partial day, whatever the length of the range.
func (s *Store) CountPeople(ctx context.Context, f store.Filter) (int64, error) {
	var n int64
	err := s.readDetail(ctx, "count people", &f, func(tx *sql.Tx) error {
		from, to := store.MicroBounds(&f)
		day := int64(math.MinInt64 + 1) // only chains' first rows are before it
		if !f.From.IsZero() {
			day = store.DayOf(from)
		}
		count := func(kind string) string {
			return `(SELECT coalesce(sum(n), 0) FROM ` + s.table("person_cells") + `
				WHERE shop_id = $1 AND kind = '` + kind + `' AND prev_day < $2 AND hour >= $3 AND hour < $4)
			+ (SELECT count(*) FROM ` + s.table("person_chain") + `
				WHERE shop_id = $1 AND kind = '` + kind + `' AND hour >= $2 AND hour < $3 AND next >= $3 AND next < $4)`
		}
		// The users counted only through identified ids with a linked row
		// in the range and an identify at or after its end: the sum of the
		// users' chain counts in the range is all those ids' raw rows of it.
		premature := `(WITH c AS (
				SELECT DISTINCT p.anonymous_id AS anon, l.user_id AS usr FROM ` + s.table("premature_links") + ` AS p
					JOIN ` + s.table("identify_links") + ` AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.anonymous_id
					WHERE p.shop_id = $1 AND p.hour >= $3 AND p.hour < $4 AND l.ts >= $5),
			e AS (SELECT c.usr, count(*) AS n FROM c JOIN ` + s.table("person_hours") + ` AS h ON h.shop_id = $1
					AND NOT h.is_user AND h.id = c.anon AND h.hour >= $6 AND h.hour < $5 AND h.raw
				GROUP BY c.usr)
			SELECT count(*) FROM e WHERE e.n = (SELECT sum(n) FROM ` + s.table("person_chain") + `
				WHERE shop_id = $1 AND kind = 'u' AND key = e.usr AND hour >= $3 AND hour < $4))`
		fromTS, toTS := "-infinity", "infinity"
		if !f.From.IsZero() {
			fromTS = stamp(f.From)
		}
		if !f.To.IsZero() {
			toTS = stamp(f.To)
		}
		return tx.QueryRowContext(ctx, `SELECT `+count("u")+` + `+count("r")+` - (`+count("l")+`) - `+premature,
			f.ShopID, day, from, to, toTS, fromTS).Scan(&n)
	})
	return n, err
}

// TopPurchased implements store.TopProductReader: the purchases of the
// range's whole days from product_purchase_days, those of the partial
// days at its bounds from product_hours' rows with purchases, and the
// views of the products tied for the most.
func (s *Store) TopPurchased(ctx context.Context, f store.Filter) (string, error) {
	var top string
	err := s.readDetail(ctx, "top purchased", &f, func(tx *sql.Tx) error {
		from, to := store.MicroBounds(&f)
		d0, d1, h0, h1 := store.DayRanges(from, to)
		q := `SELECT product_id, sum(p) FROM (SELECT product_id, purchases AS p FROM ` + s.table("product_purchase_days") + `
			WHERE shop_id = $1 AND day >= $2 AND day < $3`
		args := []any{f.ShopID, d0, d1}
		// The partial days' hours, as timestamps (those that are not
		// empty: an unbounded side has none).
		for _, r := range [][2]int64{{from, h0}, {h1, to}} {
			if r[0] >= r[1] {
				continue
			}
			args = append(args, time.UnixMicro(r[0]).UTC(), time.UnixMicro(r[1]).UTC())
			q += ` UNION ALL SELECT product_id, purchases FROM ` + s.table("product_hours") + `
				WHERE shop_id = $1 AND purchases > 0 AND hour >= $` + strconv.Itoa(len(args)-1) + ` AND hour < $` + strconv.Itoa(len(args))
		}
		rows, err := tx.QueryContext(ctx, q+`) AS x GROUP BY product_id`, args...)
		if err != nil {
			return err
		}
		ids, err := store.MostPurchased(rows)
		if err != nil {
			return err
		}
		tied := pq.StringArray(ids)
		if len(tied) == 0 {
			return nil
		}
		// Ties: the most views, then the least id.
		cond, args := hourRange("hour", &f, []any{f.ShopID, tied})
		return tx.QueryRowContext(ctx, `SELECT product_id FROM `+s.table("product_hours")+`
			WHERE shop_id = $1 AND product_id = ANY($2::text[] COLLATE "C")`+cond+`
			GROUP BY product_id ORDER BY sum(views) DESC, product_id LIMIT 1`, args...).Scan(&top)
	})
	return top, err
}
