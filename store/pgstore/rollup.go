package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// rollup is what a batch adds to the rollups: the hourly rows, and the
// detail ones unless rollups are off.
type rollup struct {
	hourly store.Hourly
	detail *detail
	// slot is the rollup slot the batch writes (see slots).
	slot int
}

func (s *Store) newRollup() *rollup {
	r := &rollup{}
	if !s.noRollups && !s.hourlyOnly {
		r.detail = &detail{}
	}
	return r
}

func (r *rollup) add(e *tracking.Event) {
	r.hourly.Add(e)
	if r.detail != nil {
		r.detail.add(e)
	}
}

// rollupAll rolls up events[unique].
func (s *Store) rollupAll(events []tracking.Event, unique []int) *rollup {
	r := s.newRollup()
	for _, i := range unique {
		r.add(&events[i])
	}
	return r
}

// rollupOf rolls up the events of events[unique] whose keys were inserted.
func (s *Store) rollupOf(events []tracking.Event, unique []int, inserted []store.Key) *rollup {
	isNew := make(map[store.Key]struct{}, len(inserted))
	for _, k := range inserted {
		isNew[k] = struct{}{}
	}
	r := s.newRollup()
	for _, i := range unique {
		if _, ok := isNew[store.KeyOf(&events[i])]; ok {
			r.add(&events[i])
		}
	}
	return r
}

// writeRollups adds a batch's rollup in tx, in r's slot: the hourly rows,
// then the detail ones.
func (s *Store) writeRollups(ctx context.Context, tx *sql.Tx, r *rollup) error {
	if r.detail != nil {
		// The hourly rows go with the detail ones, in one statement.
		r.detail.hourly, r.detail.slot = &r.hourly, r.slot
		if err := s.writeDetail(ctx, tx, r.detail); err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
	} else if err := s.writeHourly(ctx, tx, &r.hourly, r.slot); err != nil {
		return err
	}
	if s.hourlyOnly && r.hourly.Len() > 0 {
		// The detail rollups lack these events: not read until a Rebuild.
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+s.table("rollup_pending")+` (shop_id) SELECT unnest($1::text[])
			ON CONFLICT DO NOTHING`, shopsOf(&r.hourly)); err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
	}
	return nil
}

// shopsOf lists the shops of h's keys, each once.
func shopsOf(h *store.Hourly) pq.StringArray {
	var shops pq.StringArray
	for _, k := range h.Keys() {
		if len(shops) == 0 || shops[len(shops)-1] != k.ShopID {
			shops = append(shops, k.ShopID)
		}
	}
	return shops
}

// writeHourly adds h to hourly_rollups in tx, in key order (so writers
// lock shared rows in one order), with one statement; with rollups off it
// marks the shops stale instead.
func (s *Store) writeHourly(ctx context.Context, tx *sql.Tx, h *store.Hourly, slot int) error {
	if h.Len() == 0 {
		return nil
	}
	if s.noRollups {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+s.stale+` (shop_id) SELECT unnest($1::text[])
			ON CONFLICT DO NOTHING`, shopsOf(h))
		return err
	}
	var st statement
	s.addHourly(&st, h, slot)
	if err := st.exec(ctx, s, tx); err != nil {
		return fmt.Errorf("rollup: %w", err)
	}
	return nil
}

// addHourly adds the upsert of h's rows in slot to st, in key order.
func (s *Store) addHourly(st *statement, h *store.Hourly, slot int) {
	var (
		shops, hours, types, currencies pq.StringArray
		cols                            [5]pq.Int64Array
	)
	for _, k := range h.Keys() {
		r := h.Row(k)
		shops = append(shops, k.ShopID)
		hours = append(hours, k.Hour.UTC().Format(time.RFC3339))
		types = append(types, k.Type)
		currencies = append(currencies, k.Currency)
		for i, v := range [...]int64{r.Events, r.Orders, r.RevenueMinor, r.RevenueMin, r.RevenueMax} {
			cols[i] = append(cols[i], v)
		}
	}
	st.add(`INSERT INTO `+s.hourly+` AS r
		(shop_id, hour, type, currency, events, orders, revenue_minor, revenue_min, revenue_max, slot)
		SELECT *, $10::smallint FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[],
			$5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
		ON CONFLICT (shop_id, hour, type, currency, slot) DO UPDATE SET
			events = r.events + excluded.events,
			orders = r.orders + excluded.orders,
			revenue_minor = r.revenue_minor + excluded.revenue_minor,
			revenue_min = CASE WHEN r.orders = 0 THEN excluded.revenue_min
				WHEN excluded.orders = 0 THEN r.revenue_min ELSE least(r.revenue_min, excluded.revenue_min) END,
			revenue_max = CASE WHEN r.orders = 0 THEN excluded.revenue_max
				WHEN excluded.orders = 0 THEN r.revenue_max ELSE greatest(r.revenue_max, excluded.revenue_max) END`,
		shops, hours, types, currencies, cols[0], cols[1], cols[2], cols[3], cols[4], slot)
}

// HourlyCounts implements store.HourlyReader: a range scan of the
// hourly_rollups key, its slots summed. A shop marked stale (events appended with rollups
// off) answers errors.ErrUnsupported until Rebuild.
func (s *Store) HourlyCounts(ctx context.Context, f store.Filter) ([]store.HourlyRow, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("pgstore: rollup: %w", store.ErrClosed)
	}
	if err := store.HourlyFilter(&f); err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	release, err := s.acquireRead(ctx)
	if err != nil {
		return nil, s.fail(ctx, "rollup", err)
	}
	defer release()
	var sb strings.Builder
	args := []any{f.ShopID}
	// The stale mark and the rows come from one statement, so from one
	// snapshot: a Rebuild committing meanwhile is seen whole or not at all.
	sb.WriteString(`SELECT true, now(), '', '', 0, 0, 0, 0, 0 FROM ` + s.stale + ` WHERE shop_id = $1
		UNION ALL SELECT false, hour, type, currency, sum(events)::bigint, sum(orders)::bigint, sum(revenue_minor)::bigint,
			coalesce(min(revenue_min) FILTER (WHERE orders > 0), 0), coalesce(max(revenue_max) FILTER (WHERE orders > 0), 0)
		FROM ` + s.hourly + ` WHERE shop_id = $1`)
	cond := func(sql string, arg any) {
		args = append(args, arg)
		sb.WriteString(" AND " + sql + " $" + strconv.Itoa(len(args)))
	}
	if !f.From.IsZero() {
		cond("hour >=", f.From.UTC())
	}
	if !f.To.IsZero() {
		cond("hour <", f.To.UTC())
	}
	if len(f.Types) > 0 {
		args = append(args, pq.StringArray(f.Types))
		sb.WriteString(" AND type = ANY($" + strconv.Itoa(len(args)) + "::text[])")
	}
	sb.WriteString(" GROUP BY hour, type, currency")
	rows, err := s.db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, s.fail(ctx, "rollup", err)
	}
	defer rows.Close()
	var out []store.HourlyRow
	for rows.Next() {
		var (
			stale bool
			r     store.HourlyRow
		)
		if err := rows.Scan(&stale, &r.Hour, &r.Type, &r.Currency, &r.Events, &r.Orders,
			&r.RevenueMinor, &r.RevenueMin, &r.RevenueMax); err != nil {
			return nil, s.fail(ctx, "rollup", err)
		}
		if stale {
			return nil, fmt.Errorf("pgstore: rollup: shop %q needs a rebuild: %w", f.ShopID, errors.ErrUnsupported)
		}
		r.Hour = r.Hour.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "rollup", err)
	}
	return out, nil
}

// Rebuild implements store.RollupRebuilder: it recomputes the shop's
// rollups (hourly and detail) from its events and clears its stale and
// pending marks, in one transaction.
// It first locks the rollup tables against writes (SHARE ROW EXCLUSIVE):
// appends that wrote rollups already commit before it reads the events, so
// it counts their events; appends that have not get theirs in after it
// commits, so it does not count them twice. Appends of every shop wait at
// their rollup write while a rebuild runs.
func (s *Store) Rebuild(ctx context.Context, shopID string) (err error) {
	if shopID == "" {
		return fmt.Errorf("pgstore: rebuild: %w", store.ErrInvalid)
	}
	if s.closed.Load() {
		return fmt.Errorf("pgstore: rebuild: %w", store.ErrClosed)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, "rebuild", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// person_hours first: Append takes it before any other rollup table
	// (see rollupLocksSQL), so a rebuild that holds it waits for no batch
	// that waits for it.
	if _, err := tx.ExecContext(ctx, `LOCK TABLE `+s.table("person_hours")+`, `+s.hourly+`, `+s.stale+`, `+s.table("sessions")+`, `+
		s.table("session_hours")+`, `+s.table("session_spans")+`, `+
		s.table("identify_links")+`, `+s.table("product_hours")+`, `+s.table("rollup_pending")+
		` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return s.fail(ctx, "rebuild", err)
	}
	for _, q := range []string{
		`DELETE FROM ` + s.hourly + ` WHERE shop_id = $1`,
		`INSERT INTO ` + s.hourly + ` (shop_id, hour, type, currency, events, orders, revenue_minor, revenue_min, revenue_max)
		SELECT shop_id, date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', type,
			CASE WHEN type = 'purchase_completed' THEN coalesce(currency, 'USD') ELSE '' END,
			count(*), count(*) FILTER (WHERE type = 'purchase_completed'),
			coalesce(sum(coalesce(revenue, 0)) FILTER (WHERE type = 'purchase_completed'), 0),
			coalesce(min(coalesce(revenue, 0)) FILTER (WHERE type = 'purchase_completed'), 0),
			coalesce(max(coalesce(revenue, 0)) FILTER (WHERE type = 'purchase_completed'), 0)
		FROM ` + s.events + ` WHERE shop_id = $1 GROUP BY 1, 2, 3, 4`,
		`DELETE FROM ` + s.stale + ` WHERE shop_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, shopID); err != nil {
			return s.fail(ctx, "rebuild", err)
		}
	}
	if err := s.rebuildDetail(ctx, tx, shopID); err != nil {
		return s.fail(ctx, "rebuild", err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, "rebuild", err)
	}
	return nil
}
