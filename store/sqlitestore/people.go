package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
)

// The people chains and product purchase days of
// migrations/0006_people_chains.sql: how they are kept as events are
// appended, recomputed by Rebuild, and read.
//
// Distinct people of a range [A, B) of whole hours, as store.PeopleReader
// counts them, are
//
//	u + r − l − premature
//
// where u is the users active in the range through their own rows or the
// raw rows of anonymous ids identified as them ('u' chains), r the never
// identified anonymous ids with any row in it ('r'), l those of them with a
// linked row in it ('l': such an id is counted as the user of that row,
// who is counted already; r − l are the ids counted as themselves), and
// premature the users counted in u only through identified ids whose
// identify is at or after B and that have a linked row in the range (those
// ids are nobody new there).
//
// The chains of a kind active in [A, B) are its person_chain rows in the
// range whose previous row is before A: the person_cells of hours in the
// range with a previous day before A's, plus the rows of A's day before A
// whose next hour falls in the range.

var _ store.TopProductReader = (*Store)(nil)

const (
	dayMicros  = int64(24 * time.Hour / time.Microsecond)
	hourMicros = int64(time.Hour / time.Microsecond)
	noDay      = int64(math.MinInt64) // person_cells.prev_day of a chain's first row
)

// dayOf returns the start of the UTC day of us, microseconds since the
// epoch.
func dayOf(us int64) int64 { return us - ((us%dayMicros)+dayMicros)%dayMicros }

// chainKey is one chain: a shop, a kind ('u', 'r' or 'l') and a user or
// anonymous id.
type chainKey struct{ shop, kind, key string }

// chainDeltas are the changes of a batch to the chains' row counts, per
// chain and hour.
type chainDeltas map[chainKey]map[int64]int64

func (c chainDeltas) add(k chainKey, hour int64, n int64) {
	m := c[k]
	if m == nil {
		m = map[int64]int64{}
		c[k] = m
	}
	m[hour] += n
	if m[hour] == 0 {
		delete(m, hour)
	}
}

// premature is a premature_links row.
type premature struct {
	shop string
	hour int64
	anon string
}

// writeChains keeps the people chains and product purchase days for the
// batch d, in tx, before writeDetail writes d's person_hours and links: it
// reads what those tables held before the batch.
func writeChains(ctx context.Context, tx *sql.Tx, d *detail) error {
	if err := writeProductDays(ctx, tx, d); err != nil {
		return err
	}
	keys := d.people.Keys()
	if len(keys) == 0 && d.links.Len() == 0 {
		return nil
	}
	old, err := storedPersonHours(ctx, tx, keys)
	if err != nil {
		return err
	}
	anons := map[store.LinkKey]bool{}
	for _, k := range keys {
		if !k.User {
			anons[store.LinkKey{ShopID: k.ShopID, AnonymousID: k.ID}] = true
		}
	}
	for _, k := range d.links.Keys() {
		anons[k] = true
	}
	stored, err := storedLinks(ctx, tx, slices.SortedFunc(maps.Keys(anons), compareLinkKeys))
	if err != nil {
		return err
	}
	final := maps.Clone(stored)
	var changed []store.LinkKey
	for _, k := range d.links.Keys() {
		l := d.links.Link(k)
		if cur, ok := final[k]; !ok || l.Before(cur) {
			final[k] = l
			changed = append(changed, k)
		}
	}
	deltas := chainDeltas{}
	var delPrem, insPrem []premature
	// An anonymous id whose link changes moves its stored rows from the
	// chains of who it was to those of who it is.
	for _, k := range changed {
		rows, err := anonHours(ctx, tx, k)
		if err != nil {
			return err
		}
		was, had := stored[k]
		is := final[k]
		for _, r := range rows {
			if had {
				if r.raw {
					deltas.add(chainKey{k.ShopID, "u", was.UserID}, r.hour, -1)
				}
				if r.linked && was.At.UnixMicro() >= r.hour+hourMicros {
					delPrem = append(delPrem, premature{k.ShopID, r.hour, k.AnonymousID})
				}
			} else {
				deltas.add(chainKey{k.ShopID, "r", k.AnonymousID}, r.hour, -1)
				if r.linked {
					deltas.add(chainKey{k.ShopID, "l", k.AnonymousID}, r.hour, -1)
				}
			}
			if r.raw {
				deltas.add(chainKey{k.ShopID, "u", is.UserID}, r.hour, 1)
			}
			if r.linked && is.At.UnixMicro() >= r.hour+hourMicros {
				insPrem = append(insPrem, premature{k.ShopID, r.hour, k.AnonymousID})
			}
		}
	}
	// The batch's rows, as they change what person_hours held.
	for _, k := range keys {
		o, existed := old[k]
		n := d.people.Row(k)
		raw, linked := o.Raw || n.Raw, o.Linked || n.Linked
		hour := k.Hour.UnixMicro()
		if k.User {
			if !existed {
				deltas.add(chainKey{k.ShopID, "u", k.ID}, hour, 1)
			}
			continue
		}
		if l, ok := final[store.LinkKey{ShopID: k.ShopID, AnonymousID: k.ID}]; ok {
			if raw && !o.Raw {
				deltas.add(chainKey{k.ShopID, "u", l.UserID}, hour, 1)
			}
			if linked && !o.Linked && l.At.UnixMicro() >= hour+hourMicros {
				insPrem = append(insPrem, premature{k.ShopID, hour, k.ID})
			}
			continue
		}
		if !existed {
			deltas.add(chainKey{k.ShopID, "r", k.ID}, hour, 1)
		}
		if linked && !o.Linked {
			deltas.add(chainKey{k.ShopID, "l", k.ID}, hour, 1)
		}
	}
	if err := applyChains(ctx, tx, deltas); err != nil {
		return err
	}
	var args []any
	for _, p := range delPrem {
		args = append(args, p.shop, p.hour, p.anon)
	}
	if err := execRows(ctx, tx, `DELETE FROM premature_links WHERE (shop_id, hour, anonymous_id) IN (`, `)`, 3, args); err != nil {
		return err
	}
	args = args[:0]
	for _, p := range insPrem {
		args = append(args, p.shop, p.hour, p.anon)
	}
	return execRows(ctx, tx, `INSERT INTO premature_links (shop_id, hour, anonymous_id)`, ` ON CONFLICT DO NOTHING`, 3, args)
}

func compareLinkKeys(a, b store.LinkKey) int {
	return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.AnonymousID, b.AnonymousID))
}

// storedPersonHours reads the person_hours rows of keys.
func storedPersonHours(ctx context.Context, tx *sql.Tx, keys []store.PersonHourKey) (map[store.PersonHourKey]store.PersonHour, error) {
	out := make(map[store.PersonHourKey]store.PersonHour, len(keys))
	for i := 0; i < len(keys); i += maxRowsPerStatement {
		chunk := keys[i:min(i+maxRowsPerStatement, len(keys))]
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
	for i := 0; i < len(keys); i += maxRowsPerStatement {
		chunk := keys[i:min(i+maxRowsPerStatement, len(keys))]
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

// anonHour is a stored person_hours row of an anonymous id.
type anonHour struct {
	hour        int64
	raw, linked bool
}

// anonHours reads every person_hours row of an anonymous id.
func anonHours(ctx context.Context, tx *sql.Tx, k store.LinkKey) ([]anonHour, error) {
	rows, err := tx.QueryContext(ctx, `SELECT hour, raw, linked FROM person_hours
		WHERE shop_id = ? AND is_user = 0 AND id = ? ORDER BY hour`, k.ShopID, k.AnonymousID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []anonHour
	for rows.Next() {
		var r anonHour
		if err := rows.Scan(&r.hour, &r.raw, &r.linked); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// chainRow is a person_chain row: an hour and its count.
type chainRow struct{ hour, n int64 }

// chainWindow is what a chain stores around a batch's changes: the rows
// in [lo, hi], the hours of changes, and the rows just before and after.
type chainWindow struct {
	rows       []chainRow
	prev, next sql.NullInt64
}

// applyChains applies deltas to person_chain and person_cells: per chain,
// the stored rows between its first and last changed hour and the rows
// just outside are read, the new rows computed, and what differs written,
// with the cells of every row whose previous hour changed moved.
func applyChains(ctx context.Context, tx *sql.Tx, deltas chainDeltas) error {
	keys := slices.SortedFunc(maps.Keys(deltas), func(a, b chainKey) int {
		return cmp.Or(cmp.Compare(a.shop, b.shop), cmp.Compare(a.kind, b.kind), cmp.Compare(a.key, b.key))
	})
	keys = slices.DeleteFunc(keys, func(k chainKey) bool { return len(deltas[k]) == 0 })
	bounds := func(k chainKey) (lo, hi int64) {
		lo, hi = math.MaxInt64, math.MinInt64
		for h := range deltas[k] {
			lo, hi = min(lo, h), max(hi, h)
		}
		return lo, hi
	}
	windows := make(map[chainKey]*chainWindow, len(keys))
	for i := 0; i < len(keys); i += maxRowsPerStatement {
		chunk := keys[i:min(i+maxRowsPerStatement, len(keys))]
		args := make([]any, 0, len(chunk)*5)
		for _, k := range chunk {
			lo, hi := bounds(k)
			args = append(args, k.shop, k.kind, k.key, lo, hi)
			windows[k] = &chainWindow{}
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
		for rows.Next() {
			var (
				k     chainKey
				where int
				hour  sql.NullInt64
				n     int64
			)
			if err := rows.Scan(&k.shop, &k.kind, &k.key, &where, &hour, &n); err != nil {
				rows.Close()
				return err
			}
			w := windows[k]
			switch where {
			case -1:
				w.prev = hour
			case 1:
				w.next = hour
			default:
				w.rows = append(w.rows, chainRow{hour.Int64, n})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	type cellKey struct {
		shop, kind    string
		prevDay, hour int64
	}
	cells := map[cellKey]int64{}
	// count adds sign to the cells of rows, each after the one before it
	// (the first after prev), and of next after the last.
	count := func(k chainKey, w *chainWindow, rows []chainRow, sign int64) {
		pred := w.prev
		for _, r := range rows {
			day := noDay
			if pred.Valid {
				day = dayOf(pred.Int64)
			}
			cells[cellKey{k.shop, k.kind, day, r.hour}] += sign
			pred = sql.NullInt64{Int64: r.hour, Valid: true}
		}
		if w.next.Valid {
			day := noDay
			if pred.Valid {
				day = dayOf(pred.Int64)
			}
			cells[cellKey{k.shop, k.kind, day, w.next.Int64}] += sign
		}
	}
	var del, put, link []any
	for _, k := range keys {
		w := windows[k]
		slices.SortFunc(w.rows, func(a, b chainRow) int { return cmp.Compare(a.hour, b.hour) })
		byHour := make(map[int64]int64, len(w.rows)+len(deltas[k]))
		for _, r := range w.rows {
			byHour[r.hour] = r.n
		}
		for h, d := range deltas[k] {
			byHour[h] += d
		}
		var rows []chainRow
		for h, n := range byHour {
			switch {
			case n < 0:
				return fmt.Errorf("people chain %s %q at %d would count %d rows", k.kind, k.key, h, n)
			case n > 0:
				rows = append(rows, chainRow{h, n})
			}
		}
		slices.SortFunc(rows, func(a, b chainRow) int { return cmp.Compare(a.hour, b.hour) })
		count(k, w, w.rows, -1)
		count(k, w, rows, 1)
		nextOf := func(rows []chainRow, i int) sql.NullInt64 {
			if i+1 < len(rows) {
				return sql.NullInt64{Int64: rows[i+1].hour, Valid: true}
			}
			return w.next
		}
		oldAt := make(map[int64]int, len(w.rows))
		for i, r := range w.rows {
			oldAt[r.hour] = i
		}
		for i, r := range rows {
			next := nextOf(rows, i)
			if j, ok := oldAt[r.hour]; ok && w.rows[j].n == r.n && nextOf(w.rows, j) == next {
				continue
			}
			put = append(put, k.shop, k.kind, k.key, r.hour, r.n, next)
		}
		for _, r := range w.rows {
			if byHour[r.hour] <= 0 {
				del = append(del, k.shop, k.kind, k.key, r.hour)
			}
		}
		if w.prev.Valid {
			before, after := w.next, w.next
			if len(w.rows) > 0 {
				before = sql.NullInt64{Int64: w.rows[0].hour, Valid: true}
			}
			if len(rows) > 0 {
				after = sql.NullInt64{Int64: rows[0].hour, Valid: true}
			}
			if before != after {
				link = append(link, k.shop, k.kind, k.key, w.prev.Int64, 0, after)
			}
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
		` ON CONFLICT (shop_id, kind, key, hour) DO UPDATE SET next = excluded.next`, 6, link); err != nil {
		return err
	}
	var add, gone []any
	for _, c := range slices.SortedFunc(maps.Keys(cells), func(a, b cellKey) int {
		return cmp.Or(cmp.Compare(a.shop, b.shop), cmp.Compare(a.kind, b.kind), cmp.Compare(a.prevDay, b.prevDay), cmp.Compare(a.hour, b.hour))
	}) {
		n := cells[c]
		if n == 0 {
			continue
		}
		add = append(add, c.shop, c.kind, c.prevDay, c.hour, n)
		if n < 0 {
			gone = append(gone, c.shop, c.kind, c.prevDay, c.hour)
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
	type dayKey struct {
		shop    string
		day     int64
		product string
	}
	sum := map[dayKey]int64{}
	for _, k := range d.products.Keys() {
		if r := d.products.Row(k); r.Purchases != 0 {
			sum[dayKey{k.ShopID, dayOf(k.Hour.UnixMicro()), k.ProductID}] += r.Purchases
		}
	}
	var args []any
	for _, k := range slices.SortedFunc(maps.Keys(sum), func(a, b dayKey) int {
		return cmp.Or(cmp.Compare(a.shop, b.shop), cmp.Compare(a.day, b.day), cmp.Compare(a.product, b.product))
	}) {
		args = append(args, k.shop, k.day, k.product, sum[k])
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

// bounds returns f's bounds in microseconds, the zero ones as the
// extremes.
func bounds(f *store.Filter) (from, to int64) {
	from, to = math.MinInt64, math.MaxInt64
	if !f.From.IsZero() {
		from = f.From.UnixMicro()
	}
	if !f.To.IsZero() {
		to = f.To.UnixMicro()
	}
	return from, to
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
		from, to := bounds(&f)
		day := int64(math.MinInt64 + 1) // only chains' first rows are before it
		if !f.From.IsZero() {
			day = dayOf(from)
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
		from, to := bounds(&f)
		// Whole days [d0, d1); partial hours [from, h0) and [h1, to).
		d0, d1 := int64(math.MinInt64), int64(math.MaxInt64)
		if !f.From.IsZero() {
			if d0 = dayOf(from); d0 != from {
				d0 += dayMicros
			}
		}
		if !f.To.IsZero() {
			d1 = dayOf(to)
		}
		h0, h1 := d0, d1
		if !f.From.IsZero() && !f.To.IsZero() && d0 >= d1 {
			d0, d1, h0, h1 = 0, 0, to, to // within one day: all partial
		}
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
		var (
			best int64
			tied []any
		)
		for rows.Next() {
			var (
				id string
				n  int64
			)
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return err
			}
			switch {
			case n > best:
				best, tied = n, []any{id}
			case n == best && n > 0:
				tied = append(tied, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
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
