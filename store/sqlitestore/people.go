package sqlitestore

import (
	"context"
	"database/sql"
	"math"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// The people chains and product purchase days of
// migrations/0006_people_chains.sql (see store/peoplechain.go for what
// they count and how): kept as events are appended, recomputed by
// Rebuild, read by CountPeople and TopPurchased.

var _ store.TopProductReader = (*Store)(nil)

// writeChains keeps the people chains and product purchase days for the
// batch d, in tx, before writeDetail writes d's person_hours and links: it
// reads what those tables held before the batch.
func writeChains(ctx context.Context, tx *sql.Tx, d *detail) error {
	if err := writeProductDays(ctx, tx, d); err != nil {
		return err
	}
	if d.people.Len() == 0 && d.links.Len() == 0 {
		return nil
	}
	old, err := storedPersonHours(ctx, tx, d.people.Keys())
	if err != nil {
		return err
	}
	d.stored = old
	linked, err := storedLinks(ctx, tx, store.LinkAnonKeys(&d.people, &d.links))
	if err != nil {
		return err
	}
	c, err := store.ChangeChains(&d.people, &d.links, old, linked, func(k store.LinkKey) ([]store.AnonHour, error) {
		return anonHours(ctx, tx, k)
	})
	if err != nil {
		return err
	}
	if err := applyChains(ctx, tx, &c); err != nil {
		return err
	}
	var args []any
	for _, p := range c.Delete {
		args = append(args, p.ShopID, p.Hour, p.AnonymousID)
	}
	if err := execRows(ctx, tx, `DELETE FROM premature_links WHERE (shop_id, hour, anonymous_id) IN (`, `)`, 3, args); err != nil {
		return err
	}
	args = args[:0]
	for _, p := range c.Insert {
		args = append(args, p.ShopID, p.Hour, p.AnonymousID)
	}
	return execRows(ctx, tx, `INSERT INTO premature_links (shop_id, hour, anonymous_id)`, ` ON CONFLICT DO NOTHING`, 3, args)
}

// storedPersonHours reads the person_hours rows of keys.
func storedPersonHours(ctx context.Context, tx *sql.Tx, keys []store.PersonHourKey) (map[store.PersonHourKey]store.PersonHour, error) {
	out := make(map[store.PersonHourKey]store.PersonHour, len(keys))
	for i := 0; i < len(keys); {
		chunk := keys[i : i+chunkLen(len(keys)-i)]
		i += len(chunk)
		args := make([]any, 0, len(chunk)*4)
		for _, k := range chunk {
			args = append(args, k.ShopID, k.User, k.ID, k.Hour.UnixMicro())
		}
		var b strings.Builder
		b.WriteString(`WITH w (shop_id, is_user, id, hour) AS (VALUES `)
		rowValues(&b, len(chunk), 4)
		b.WriteString(`) SELECT p.shop_id, p.is_user, p.id, p.hour, p.raw, p.linked
			FROM w CROSS JOIN person_hours AS p ON p.shop_id = w.shop_id AND p.is_user = w.is_user
				AND p.id = w.id AND p.hour = w.hour`)
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				k    store.PersonHourKey
				hour int64
				r    store.PersonHour
			)
			if err := rows.Scan(&k.ShopID, &k.User, &k.ID, &hour, &r.Raw, &r.Linked); err != nil {
				rows.Close()
				return nil, err
			}
			k.Hour = time.UnixMicro(hour).UTC()
			out[k] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// storedLinks reads the identify_links of keys.
func storedLinks(ctx context.Context, tx *sql.Tx, keys []store.LinkKey) (map[store.LinkKey]store.Link, error) {
	out := map[store.LinkKey]store.Link{}
	for i := 0; i < len(keys); {
		chunk := keys[i : i+chunkLen(len(keys)-i)]
		i += len(chunk)
		args := make([]any, 0, len(chunk)*2)
		for _, k := range chunk {
			args = append(args, k.ShopID, k.AnonymousID)
		}
		var b strings.Builder
		b.WriteString(`WITH w (shop_id, anonymous_id) AS (VALUES `)
		rowValues(&b, len(chunk), 2)
		b.WriteString(`) SELECT l.shop_id, l.anonymous_id, l.user_id, l.ts, l.id
			FROM w CROSS JOIN identify_links AS l ON l.shop_id = w.shop_id AND l.anonymous_id = w.anonymous_id`)
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				k  store.LinkKey
				l  store.Link
				ts int64
			)
			if err := rows.Scan(&k.ShopID, &k.AnonymousID, &l.UserID, &ts, &l.ID); err != nil {
				rows.Close()
				return nil, err
			}
			l.At = time.UnixMicro(ts).UTC()
			out[k] = l
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// anonHours reads every person_hours row of an anonymous id.
func anonHours(ctx context.Context, tx *sql.Tx, k store.LinkKey) ([]store.AnonHour, error) {
	rows, err := tx.QueryContext(ctx, `SELECT hour, raw, linked FROM person_hours
		WHERE shop_id = ? AND is_user = 0 AND id = ? ORDER BY hour`, k.ShopID, k.AnonymousID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AnonHour
	for rows.Next() {
		var r store.AnonHour
		if err := rows.Scan(&r.Hour, &r.Raw, &r.Linked); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// applyChains applies the changes c to person_chain and person_cells:
// per chain, the stored rows between its first and last changed hour and
// the rows just outside are read (store.ChainWindow), and what
// store.ChainWrites makes of them written.
func applyChains(ctx context.Context, tx *sql.Tx, c *store.ChainChanges) error {
	keys := c.Keys()
	windows := make(map[store.ChainKey]*store.ChainWindow, len(keys))
	for i := 0; i < len(keys); {
		chunk := keys[i : i+chunkLen(len(keys)-i)]
		i += len(chunk)
		args := make([]any, 0, len(chunk)*5)
		for _, k := range chunk {
			lo, hi := c.Bounds(k)
			args = append(args, k.ShopID, k.Kind, k.Key, lo, hi)
			windows[k] = &store.ChainWindow{Prev: store.NoHour, Next: store.NoHour}
		}
		var b strings.Builder
		b.WriteString(`WITH w (shop_id, kind, key, lo, hi) AS (VALUES `)
		rowValues(&b, len(chunk), 5)
		b.WriteString(`) SELECT w.shop_id, w.kind, w.key, 0, c.hour, c.n
			FROM w CROSS JOIN person_chain AS c ON c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key
				AND c.hour >= w.lo AND c.hour <= w.hi
			UNION ALL SELECT w.shop_id, w.kind, w.key, -1, (SELECT max(c.hour) FROM person_chain AS c
				WHERE c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour < w.lo), 0 FROM w
			UNION ALL SELECT w.shop_id, w.kind, w.key, 1, (SELECT min(c.hour) FROM person_chain AS c
				WHERE c.shop_id = w.shop_id AND c.kind = w.kind AND c.key = w.key AND c.hour > w.hi), 0 FROM w`)
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return err
		}
		if err := store.ReadChainWindows(rows, windows); err != nil {
			return err
		}
	}
	w, err := store.WriteChains(c, keys, windows)
	if err != nil {
		return err
	}
	next := func(h int64) any {
		if h == store.NoHour {
			return nil
		}
		return h
	}
	var del, put, prev []any
	for _, k := range keys {
		for _, h := range w.Delete[k] {
			del = append(del, k.ShopID, k.Kind, k.Key, h)
		}
		for _, n := range w.Put[k] {
			put = append(put, k.ShopID, k.Kind, k.Key, n.Hour, n.N, next(n.Next))
		}
		if n, ok := w.Prev[k]; ok {
			prev = append(prev, k.ShopID, k.Kind, k.Key, n.Hour, 0, next(n.Next))
		}
	}
	if err := execRows(ctx, tx, `DELETE FROM person_chain WHERE (shop_id, kind, key, hour) IN (`, `)`, 4, del); err != nil {
		return err
	}
	if err := execRows(ctx, tx, `INSERT INTO person_chain (shop_id, kind, key, hour, n, next)`,
		` ON CONFLICT (shop_id, kind, key, hour) DO UPDATE SET n = excluded.n, next = excluded.next`, 6, put); err != nil {
		return err
	}
	// The row before a window exists: the upsert only sets its next.
	if err := execRows(ctx, tx, `INSERT INTO person_chain (shop_id, kind, key, hour, n, next)`,
		` ON CONFLICT (shop_id, kind, key, hour) DO UPDATE SET next = excluded.next`, 6, prev); err != nil {
		return err
	}
	var add, gone []any
	for _, c := range w.CellKeys() {
		n := w.Cells[c]
		add = append(add, c.ShopID, c.Kind, c.PrevDay, c.Hour, n)
		if n < 0 {
			gone = append(gone, c.ShopID, c.Kind, c.PrevDay, c.Hour)
		}
	}
	if err := execRows(ctx, tx, `INSERT INTO person_cells (shop_id, kind, prev_day, hour, n)`,
		` ON CONFLICT (shop_id, kind, prev_day, hour) DO UPDATE SET n = n + excluded.n`, 5, add); err != nil {
		return err
	}
	return execRows(ctx, tx, `DELETE FROM person_cells WHERE n = 0 AND (shop_id, kind, prev_day, hour) IN (`, `)`, 4, gone)
}

// writeProductDays adds the purchases of d's product rows to
// product_purchase_days.
func writeProductDays(ctx context.Context, tx *sql.Tx, d *detail) error {
	days := store.PurchaseDays(&d.products)
	var args []any
	for _, k := range store.PurchaseDayKeys(days) {
		args = append(args, k.ShopID, k.Day, k.ProductID, days[k])
	}
	return execRows(ctx, tx, `INSERT INTO product_purchase_days (shop_id, day, product_id, purchases)`,
		` ON CONFLICT (shop_id, day, product_id) DO UPDATE SET purchases = purchases + excluded.purchases`, 4, args)
}

// recomputeChainsSQL recomputes a shop's chains, cells, premature links
// and purchase days from its person_hours, identify_links and
// product_hours, as migrations/0006_people_chains.sql fills them.
var recomputeChainsSQL = []string{
	`DELETE FROM person_chain WHERE shop_id = ?1`,
	`DELETE FROM person_cells WHERE shop_id = ?1`,
	`DELETE FROM premature_links WHERE shop_id = ?1`,
	`DELETE FROM product_purchase_days WHERE shop_id = ?1`,
	`INSERT INTO person_chain (shop_id, kind, key, hour, n, next)
	SELECT ?1, kind, key, hour, n, lead(hour) OVER (PARTITION BY kind, key ORDER BY hour)
	FROM (
		SELECT 'u' AS kind, key, hour, count(*) AS n FROM (
			SELECT id AS key, hour FROM person_hours WHERE shop_id = ?1 AND is_user = 1
			UNION ALL
			SELECT l.user_id, p.hour FROM person_hours AS p
				JOIN identify_links AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
				WHERE p.shop_id = ?1 AND p.is_user = 0 AND p.raw = 1
		) GROUP BY key, hour
		UNION ALL
		SELECT 'r', p.id, p.hour, 1 FROM person_hours AS p
			WHERE p.shop_id = ?1 AND p.is_user = 0 AND NOT EXISTS (SELECT 1 FROM identify_links AS l
				WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
		UNION ALL
		SELECT 'l', p.id, p.hour, 1 FROM person_hours AS p
			WHERE p.shop_id = ?1 AND p.is_user = 0 AND p.linked = 1 AND NOT EXISTS (SELECT 1 FROM identify_links AS l
				WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
	)`,
	`INSERT INTO person_cells (shop_id, kind, prev_day, hour, n)
	SELECT ?1, kind, coalesce(prev - ((prev % 86400000000) + 86400000000) % 86400000000, -9223372036854775808), hour, count(*)
	FROM (SELECT kind, hour, lag(hour) OVER (PARTITION BY kind, key ORDER BY hour) AS prev
		FROM person_chain WHERE shop_id = ?1)
	GROUP BY 1, 2, 3, 4`,
	`INSERT INTO premature_links (shop_id, hour, anonymous_id)
	SELECT ?1, p.hour, p.id FROM person_hours AS p
		JOIN identify_links AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
		WHERE p.shop_id = ?1 AND p.is_user = 0 AND p.linked = 1 AND l.ts >= p.hour + 3600000000`,
	`INSERT INTO product_purchase_days (shop_id, day, product_id, purchases)
	SELECT ?1, hour - ((hour % 86400000000) + 86400000000) % 86400000000, product_id, sum(purchases)
	FROM product_hours WHERE shop_id = ?1 AND purchases > 0 GROUP BY 2, 3`,
}

// recomputeChains runs recomputeChainsSQL for a shop in tx.
func recomputeChains(ctx context.Context, tx *sql.Tx, shopID string) error {
	for _, q := range recomputeChainsSQL {
		if _, err := tx.ExecContext(ctx, q, shopID); err != nil {
			return err
		}
	}
	return nil
}

// countChainsSQL counts the chains of a kind active in [?4, ?5): the
// cells of the range's hours whose previous day is before ?3, the day of
// ?4, and the rows of that day before ?4 whose next hour is in the range.
const countChainsSQL = `SELECT
	(SELECT coalesce(sum(n), 0) FROM person_cells
		WHERE shop_id = ?1 AND kind = ?2 AND prev_day < ?3 AND hour >= ?4 AND hour < ?5)
	+ (SELECT count(*) FROM person_chain INDEXED BY person_chain_hour
		WHERE shop_id = ?1 AND kind = ?2 AND hour >= ?3 AND hour < ?4 AND next >= ?4 AND next < ?5)`

// prematureSQL counts the users that the 'u' chains count in [?2, ?3)
// only through identified anonymous ids with a raw row in the range, a
// linked row in it and an identify at or after ?3: the sum of the users'
// chain counts in the range is all those ids' raw rows of the range.
const prematureSQL = `WITH c AS (
		SELECT DISTINCT p.anonymous_id AS anon, l.user_id AS user FROM premature_links AS p
			JOIN identify_links AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.anonymous_id
			WHERE p.shop_id = ?1 AND p.hour >= ?2 AND p.hour < ?3 AND l.ts >= ?3),
	e AS (SELECT c.user, count(*) AS n FROM c JOIN person_hours AS h ON h.shop_id = ?1 AND h.is_user = 0
			AND h.id = c.anon AND h.hour >= ?2 AND h.hour < ?3 AND h.raw = 1
		GROUP BY c.user)
	SELECT count(*) FROM e WHERE e.n = (SELECT sum(n) FROM person_chain
		WHERE shop_id = ?1 AND kind = 'u' AND key = e.user AND hour >= ?2 AND hour < ?3)`

// CountPeople implements store.PeopleReader from the people chains (see
// the top of this file): a few thousand cells and the rows of the range's
// first partial day, whatever the length of the range.
func (s *Store) CountPeople(ctx context.Context, f store.Filter) (int64, error) {
	var n int64
	err := s.readDetail(ctx, "count people", &f, func(conn *sql.Conn) error {
		from, to := store.MicroBounds(&f)
		day := int64(math.MinInt64 + 1) // only chains' first rows are before it
		if !f.From.IsZero() {
			day = store.DayOf(from)
		}
		var total int64
		for _, kind := range []struct {
			kind string
			sign int64
		}{{"u", 1}, {"r", 1}, {"l", -1}} {
			var c int64
			if err := conn.QueryRowContext(ctx, countChainsSQL, f.ShopID, kind.kind, day, from, to).Scan(&c); err != nil {
				return err
			}
			total += kind.sign * c
		}
		var c int64
		if err := conn.QueryRowContext(ctx, prematureSQL, f.ShopID, from, to).Scan(&c); err != nil {
			return err
		}
		n = total - c
		return nil
	})
	return n, err
}

// TopPurchased implements store.TopProductReader: the purchases of the
// range's whole days from product_purchase_days, those of the partial
// days at its bounds from product_hours' rows with purchases, and the
// views of the products tied for the most.
func (s *Store) TopPurchased(ctx context.Context, f store.Filter) (string, error) {
	var top string
	err := s.readDetail(ctx, "top purchased", &f, func(conn *sql.Conn) error {
		from, to := store.MicroBounds(&f)
		// Whole days [d0, d1); partial hours [from, h0) and [h1, to).
		d0, d1, h0, h1 := store.DayRanges(from, to)
		rows, err := conn.QueryContext(ctx, `SELECT product_id, sum(p) FROM (
				SELECT product_id, purchases AS p FROM product_purchase_days
					WHERE shop_id = ?1 AND day >= ?2 AND day < ?3
				UNION ALL
				SELECT product_id, purchases FROM product_hours INDEXED BY product_hours_purchases
					WHERE shop_id = ?1 AND purchases > 0 AND hour >= ?4 AND hour < ?5
				UNION ALL
				SELECT product_id, purchases FROM product_hours INDEXED BY product_hours_purchases
					WHERE shop_id = ?1 AND purchases > 0 AND hour >= ?6 AND hour < ?7)
			GROUP BY product_id`, f.ShopID, d0, d1, from, h0, h1, to)
		if err != nil {
			return err
		}
		ids, err := store.MostPurchased(rows)
		if err != nil {
			return err
		}
		tied := make([]any, len(ids))
		for i, id := range ids {
			tied[i] = id
		}
		if len(tied) == 0 {
			return nil
		}
		// Ties: the most views, then the least id.
		// The ids are bound after the bounds: ?4 on.
		args := append([]any{f.ShopID, from, to}, tied...)
		return conn.QueryRowContext(ctx, `SELECT product_id FROM (
				SELECT product_id, sum(views) AS v FROM product_hours
					WHERE shop_id = ?1 AND hour >= ?2 AND hour < ?3
					AND product_id IN (?`+strings.Repeat(", ?", len(tied)-1)+`) GROUP BY product_id)
			ORDER BY v DESC, product_id LIMIT 1`, args...).Scan(&top)
	})
	return top, err
}
