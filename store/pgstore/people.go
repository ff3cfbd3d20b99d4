package pgstore

import (
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

// peopleLockBuckets is how many advisory locks the people of a shop are
// spread over, and so are its chains: a batch takes at most this many of
// each, within PostgreSQL's shared lock table however large the batch,
// and small batches of different people still run side by side.
const peopleLockBuckets = 32

// peopleLock is the advisory lock of a person (an anonymous or user id's
// person_hours rows and link) or of a chain, in the store's schema: one of
// peopleLockBuckets per class and shop.
func (s *Store) peopleLock(class, shop, kind, key string) int64 {
	h := fnv.New64a()
	for _, part := range []string{kind, key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	bucket := h.Sum64() % peopleLockBuckets
	h = fnv.New64a()
	for _, part := range []string{"shoplytics/pgstore/people", class, s.schema, shop, strconv.FormatUint(bucket, 10)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

// lockAll takes the transaction-scoped advisory locks keys exclusively,
// in order, through the statement the session locks use.
func (s *Store) lockAll(ctx context.Context, tx *sql.Tx, keys []int64) error {
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	return s.execPrepared(ctx, tx, s.advisoryLocksSQL(), pq.Int64Array(keys), pq.BoolArray(make([]bool, len(keys))))
}

// writeChains keeps the people chains and product purchase days for the
// batch d, in tx, before writePeopleAndProducts writes d's person_hours
// and links: it reads what those tables held before the batch. Appends run
// concurrently: the batch's people (every id of its person rows and links)
// are locked first, then, once known, the chains it changes, each set in
// order, so that two batches never both read a row the other changes.
func (s *Store) writeChains(ctx context.Context, tx *sql.Tx, d *detail) error {
	// Rebuild holds the rollup tables in SHARE ROW EXCLUSIVE mode: taking
	// what writing person_hours takes before reading or writing anything
	// makes a batch wait for a rebuild in progress, then read what it
	// wrote (a batch that wrote rows first, its purchase days, could hold
	// rows the rebuild deletes while it waits for the batch: a deadlock).
	if _, err := tx.ExecContext(ctx, `LOCK TABLE `+s.table("person_hours")+` IN ROW EXCLUSIVE MODE`); err != nil {
		return err
	}
	if err := s.writeProductDays(ctx, tx, d); err != nil {
		return err
	}
	if d.people.Len() == 0 && d.links.Len() == 0 {
		return nil
	}
	keys := d.people.Keys()
	anons := store.LinkAnonKeys(&d.people, &d.links)
	var locks []int64
	for _, k := range keys {
		if k.User {
			locks = append(locks, s.peopleLock("person", k.ShopID, "u", k.ID))
		}
	}
	for _, k := range anons {
		locks = append(locks, s.peopleLock("person", k.ShopID, "a", k.AnonymousID))
	}
	if err := s.lockAll(ctx, tx, locks); err != nil {
		return err
	}
	old, err := s.storedPersonHours(ctx, tx, keys)
	if err != nil {
		return err
	}
	linked, err := s.storedLinks(ctx, tx, anons)
	if err != nil {
		return err
	}
	c, err := store.ChangeChains(&d.people, &d.links, old, linked, func(k store.LinkKey) ([]store.AnonHour, error) {
		return s.anonHours(ctx, tx, k)
	})
	if err != nil {
		return err
	}
	chains := c.Keys()
	locks = locks[:0]
	for _, k := range chains {
		locks = append(locks, s.peopleLock("chain", k.ShopID, k.Kind, k.Key))
	}
	if err := s.lockAll(ctx, tx, locks); err != nil {
		return err
	}
	if err := s.applyChains(ctx, tx, &c, chains); err != nil {
		return err
	}
	if err := s.writePremature(ctx, tx, c.Delete, `DELETE FROM `+s.table("premature_links")+` AS p
		USING unnest($1::text[], $2::bigint[], $3::text[]) AS d(shop_id, hour, anonymous_id)
		WHERE p.shop_id = d.shop_id AND p.hour = d.hour AND p.anonymous_id = d.anonymous_id`); err != nil {
		return err
	}
	return s.writePremature(ctx, tx, c.Insert, `INSERT INTO `+s.table("premature_links")+` (shop_id, hour, anonymous_id)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`)
}

// writePremature runs q with the premature rows p as its three arrays.
func (s *Store) writePremature(ctx context.Context, tx *sql.Tx, p []store.Premature, q string) error {
	if len(p) == 0 {
		return nil
	}
	var shops, anons pq.StringArray
	var hours pq.Int64Array
	for _, x := range p {
		shops, hours, anons = append(shops, x.ShopID), append(hours, x.Hour), append(anons, x.AnonymousID)
	}
	_, err := tx.ExecContext(ctx, q, shops, hours, anons)
	return err
}

// storedPersonHours reads the person_hours rows of keys.
func (s *Store) storedPersonHours(ctx context.Context, tx *sql.Tx, keys []store.PersonHourKey) (map[store.PersonHourKey]store.PersonHour, error) {
	out := make(map[store.PersonHourKey]store.PersonHour, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var shops, ids, hours pq.StringArray
	var users pq.BoolArray
	for _, k := range keys {
		shops, users, ids, hours = append(shops, k.ShopID), append(users, k.User), append(ids, k.ID), append(hours, stamp(k.Hour))
	}
	rows, err := tx.QueryContext(ctx, `SELECT p.shop_id, p.is_user, p.id, p.hour, p.raw, p.linked
		FROM unnest($1::text[], $2::boolean[], $3::text[], $4::timestamptz[]) AS w(shop_id, is_user, id, hour)
		JOIN `+s.table("person_hours")+` AS p ON p.shop_id = w.shop_id AND p.is_user = w.is_user
			AND p.id = w.id AND p.hour = w.hour`, shops, users, ids, hours)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k store.PersonHourKey
			r store.PersonHour
		)
		if err := rows.Scan(&k.ShopID, &k.User, &k.ID, &k.Hour, &r.Raw, &r.Linked); err != nil {
			return nil, err
		}
		k.Hour = k.Hour.UTC()
		out[k] = r
	}
	return out, rows.Err()
}

// storedLinks reads the identify_links of keys.
func (s *Store) storedLinks(ctx context.Context, tx *sql.Tx, keys []store.LinkKey) (map[store.LinkKey]store.Link, error) {
	out := map[store.LinkKey]store.Link{}
	if len(keys) == 0 {
		return out, nil
	}
	var shops, anons pq.StringArray
	for _, k := range keys {
		shops, anons = append(shops, k.ShopID), append(anons, k.AnonymousID)
	}
	rows, err := tx.QueryContext(ctx, `SELECT l.shop_id, l.anonymous_id, l.user_id, l.ts, l.id
		FROM unnest($1::text[], $2::text[]) AS w(shop_id, anonymous_id)
		JOIN `+s.table("identify_links")+` AS l ON l.shop_id = w.shop_id AND l.anonymous_id = w.anonymous_id`, shops, anons)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k store.LinkKey
			l store.Link
		)
		if err := rows.Scan(&k.ShopID, &k.AnonymousID, &l.UserID, &l.At, &l.ID); err != nil {
			return nil, err
		}
		l.At = l.At.UTC()
		out[k] = l
	}
	return out, rows.Err()
}

// anonHours reads every person_hours row of an anonymous id.
func (s *Store) anonHours(ctx context.Context, tx *sql.Tx, k store.LinkKey) ([]store.AnonHour, error) {
	rows, err := tx.QueryContext(ctx, `SELECT hour, raw, linked FROM `+s.table("person_hours")+`
		WHERE shop_id = $1 AND NOT is_user AND id = $2 ORDER BY hour`, k.ShopID, k.AnonymousID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AnonHour
	for rows.Next() {
		var (
			r    store.AnonHour
			hour time.Time
		)
		if err := rows.Scan(&hour, &r.Raw, &r.Linked); err != nil {
			return nil, err
		}
		r.Hour = micros(hour)
		out = append(out, r)
	}
	return out, rows.Err()
}

// applyChains applies the changes c to person_chain and person_cells: per
// chain (of keys, c's, locked), the stored rows between its first and last
// changed hour and the rows just outside are read (store.ChainWindow), and
// what store.ChainWrites makes of them written.
func (s *Store) applyChains(ctx context.Context, tx *sql.Tx, c *store.ChainChanges, keys []store.ChainKey) error {
	if len(keys) == 0 {
		return nil
	}
	windows := make(map[store.ChainKey]*store.ChainWindow, len(keys))
	var shops, kinds, names pq.StringArray
	var los, his pq.Int64Array
	for _, k := range keys {
		lo, hi := c.Bounds(k)
		shops, kinds, names, los, his = append(shops, k.ShopID), append(kinds, k.Kind), append(names, k.Key), append(los, lo), append(his, hi)
		windows[k] = &store.ChainWindow{Prev: store.NoHour, Next: store.NoHour}
	}
	chain := s.table("person_chain")
	rows, err := tx.QueryContext(ctx, `WITH w AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
			AS w(shop_id, kind, key, lo, hi))
		SELECT w.shop_id, w.kind, w.key, 0, c.hour, c.n FROM w
			JOIN `+chain+` AS c ON c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour >= w.lo AND c.hour <= w.hi
		UNION ALL SELECT w.shop_id, w.kind, w.key, -1, (SELECT max(c.hour) FROM `+chain+` AS c
			WHERE c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour < w.lo), 0 FROM w
		UNION ALL SELECT w.shop_id, w.kind, w.key, 1, (SELECT min(c.hour) FROM `+chain+` AS c
			WHERE c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour > w.hi), 0 FROM w`,
		shops, kinds, names, los, his)
	if err != nil {
		return err
	}
	if err := store.ReadChainWindows(rows, windows); err != nil {
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
	type nodes struct {
		shops, kinds, keys pq.StringArray
		hours, ns          pq.Int64Array
		nexts              nullStrings
	}
	var del, put, prev nodes
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
	if len(del.shops) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+chain+` AS c
			USING unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS d(shop_id, kind, key, hour)
			WHERE c.shop_id = d.shop_id AND c.kind = d.kind AND c.key = d.key AND c.hour = d.hour`,
			del.shops, del.kinds, del.keys, del.hours); err != nil {
			return err
		}
	}
	if len(put.shops) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+chain+` AS c (shop_id, kind, key, hour, n, next)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
			ON CONFLICT (shop_id, kind, key, hour) DO UPDATE SET n = excluded.n, next = excluded.next`,
			put.shops, put.kinds, put.keys, put.hours, put.ns, put.nexts); err != nil {
			return err
		}
	}
	if len(prev.shops) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE `+chain+` AS c SET next = u.next
			FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(shop_id, kind, key, hour, next)
			WHERE c.shop_id = u.shop_id AND c.kind = u.kind AND c.key = u.key AND c.hour = u.hour`,
			prev.shops, prev.kinds, prev.keys, prev.hours, prev.nexts); err != nil {
			return err
		}
	}
	var cs, ck pq.StringArray
	var cd, ch, cn pq.Int64Array
	for _, x := range w.CellKeys() {
		cs, ck, cd, ch, cn = append(cs, x.ShopID), append(ck, x.Kind), append(cd, x.PrevDay), append(ch, x.Hour), append(cn, w.Cells[x])
	}
	if len(cs) == 0 {
		return nil
	}
	cells := s.table("person_cells")
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+cells+` AS c (shop_id, kind, prev_day, hour, n)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
		ON CONFLICT (shop_id, kind, prev_day, hour) DO UPDATE SET n = c.n + excluded.n`, cs, ck, cd, ch, cn); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM `+cells+` AS c
		USING unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(shop_id, kind, prev_day, hour, n)
		WHERE d.n < 0 AND c.n = 0 AND c.shop_id = d.shop_id AND c.kind = d.kind AND c.prev_day = d.prev_day AND c.hour = d.hour`,
		cs, ck, cd, ch, cn)
	return err
}

// writeProductDays adds the purchases of d's product rows to
// product_purchase_days.
func (s *Store) writeProductDays(ctx context.Context, tx *sql.Tx, d *detail) error {
	days := store.PurchaseDays(&d.products)
	if len(days) == 0 {
		return nil
	}
	var shops, products pq.StringArray
	var ds, ns pq.Int64Array
	for _, k := range store.PurchaseDayKeys(days) {
		shops, ds, products, ns = append(shops, k.ShopID), append(ds, k.Day), append(products, k.ProductID), append(ns, days[k])
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("product_purchase_days")+` AS p (shop_id, day, product_id, purchases)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
		ON CONFLICT (shop_id, day, product_id) DO UPDATE SET purchases = p.purchases + excluded.purchases`,
		shops, ds, products, ns)
	return err
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
