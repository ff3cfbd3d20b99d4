package sqlitestore_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Other ways Append could tell new events from duplicates, kept to measure
// the chosen one against them:
//
//   - preselect: inside the write transaction, SELECT which keys exist,
//     then a plain multi-row INSERT of the others;
//   - returning: multi-row INSERT … ON CONFLICT DO NOTHING RETURNING
//     shop_id, id, in chunks under SQLite's variable limit; a key missing
//     from what comes back was a duplicate.
//
// Append itself runs one prepared single-row INSERT … ON CONFLICT DO
// NOTHING per event and reads the changed-row count. All three hold the write lock for the whole transaction (BEGIN IMMEDIATE), so
// their answers are as exact as Append's.

// appendFunc appends like store.Store.Append, returning the Duplicate flags.
type appendFunc func(ctx context.Context, events []tracking.Event) ([]bool, error)

func preselectAppender(tb testing.TB, db *sql.DB) appendFunc {
	const keysPerSelect = 500
	sel, err := db.Prepare("SELECT shop_id, id FROM events WHERE (shop_id, id) IN (VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?), ", keysPerSelect), ", ") + ")")
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = sel.Close() })
	inserts := map[int]*sql.Stmt{}
	tb.Cleanup(func() {
		for _, st := range inserts {
			_ = st.Close()
		}
	})
	insertStmt := func(n int) (*sql.Stmt, error) {
		if st, ok := inserts[n]; ok {
			return st, nil
		}
		st, err := db.Prepare(rawInsertSQL(n))
		inserts[n] = st
		return st, err
	}
	return func(ctx context.Context, events []tracking.Event) ([]bool, error) {
		unique, dup := store.SplitBatch(events)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		defer func() { _ = tx.Rollback() }()
		pos := make(map[store.Key]int, len(unique))
		args := make([]any, 0, 2*keysPerSelect)
		for start := 0; start < len(unique); start += keysPerSelect {
			chunk := unique[start:min(start+keysPerSelect, len(unique))]
			args = args[:0]
			for _, i := range chunk {
				pos[store.KeyOf(&events[i])] = i
				args = append(args, events[i].ShopID, events[i].ID)
			}
			for len(args) < 2*keysPerSelect { // pad with a key no event has
				args = append(args, "", "")
			}
			rows, err := tx.StmtContext(ctx, sel).QueryContext(ctx, args...)
			if err != nil {
				return nil, err
			}
			var k store.Key
			for rows.Next() {
				if err := rows.Scan(&k.ShopID, &k.ID); err != nil {
					rows.Close()
					return nil, err
				}
				dup[pos[k]] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		fresh := unique[:0:0]
		for _, i := range unique {
			if !dup[i] {
				fresh = append(fresh, i)
			}
		}
		for len(fresh) > 0 {
			n := 1024
			for n > len(fresh) {
				n /= 2
			}
			st, err := insertStmt(n)
			if err != nil {
				return nil, err
			}
			args = args[:0]
			for _, i := range fresh[:n] {
				args = rawArgs(args, &events[i])
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return nil, err
			}
			fresh = fresh[n:]
		}
		return dup, tx.Commit()
	}
}

func returningAppender(tb testing.TB, db *sql.DB) appendFunc {
	inserts := map[int]*sql.Stmt{}
	tb.Cleanup(func() {
		for _, st := range inserts {
			_ = st.Close()
		}
	})
	insertStmt := func(n int) (*sql.Stmt, error) {
		if st, ok := inserts[n]; ok {
			return st, nil
		}
		st, err := db.Prepare(rawInsertSQL(n) + " ON CONFLICT (shop_id, id) DO NOTHING RETURNING shop_id, id")
		inserts[n] = st
		return st, err
	}
	return func(ctx context.Context, events []tracking.Event) ([]bool, error) {
		unique, dup := store.SplitBatch(events)
		// Chunks of 1,024 rows (20 variables each, under SQLite's 32,766),
		// the remainder as a sum of powers of two: few cached statements.
		var sizes []int
		for rest := len(unique); rest > 0; {
			n := 1024
			for n > rest {
				n /= 2
			}
			sizes = append(sizes, n)
			rest -= n
		}
		stmts := make([]*sql.Stmt, len(sizes))
		for c, n := range sizes {
			var err error
			if stmts[c], err = insertStmt(n); err != nil {
				return nil, err
			}
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		defer func() { _ = tx.Rollback() }()
		stored := map[store.Key]struct{}{}
		var args []any
		rest := unique
		for c, n := range sizes {
			chunk := rest[:n]
			rest = rest[n:]
			args = args[:0]
			for _, i := range chunk {
				args = rawArgs(args, &events[i])
			}
			rows, err := tx.StmtContext(ctx, stmts[c]).QueryContext(ctx, args...)
			if err != nil {
				return nil, err
			}
			var k store.Key
			for rows.Next() {
				if err := rows.Scan(&k.ShopID, &k.ID); err != nil {
					rows.Close()
					return nil, err
				}
				stored[k] = struct{}{}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
			if len(stored) < len(chunk) {
				for _, i := range chunk {
					if _, ok := stored[store.KeyOf(&events[i])]; !ok {
						dup[i] = true
					}
				}
			}
			clear(stored)
		}
		return dup, tx.Commit()
	}
}

func TestAppendStrategiesAgree(t *testing.T) {
	events := generate(rand.New(rand.NewPCG(3, 3)), "agree", 1500)
	batch := append(append([]tracking.Event(nil), events[700:]...), events[:300]...)
	batch = append(batch, events[100], events[900]) // repeats within the batch
	for name, mk := range map[string]func(testing.TB, *sql.DB) appendFunc{
		"append":    func(testing.TB, *sql.DB) appendFunc { return nil },
		"preselect": preselectAppender,
		"returning": returningAppender,
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := openFile(t)
			t.Cleanup(func() { _ = s.Close() })
			_, err := s.Append(testCtx(t), events[:1000])
			require.NoError(t, err)
			var dup []bool
			if f := mk(t, s.DB().DB); f != nil {
				dup, err = f(testCtx(t), batch)
			} else {
				var res store.AppendResult
				res, err = s.Append(testCtx(t), batch)
				dup = res.Duplicate
			}
			require.NoError(t, err)
			// events 700..999 stored, 1000..1499 new, 0..299 stored, two repeats
			want := make([]bool, len(batch))
			for i := range want {
				want[i] = i < 300 || i >= 800
			}
			require.Equal(t, want, dup)
		})
	}
}

func BenchmarkAppendPreselect(b *testing.B) {
	s := benchStore(b)
	f := preselectAppender(b, s.DB().DB)
	ctx := context.Background()
	runWrites(b, func(events []tracking.Event) {
		if _, err := f(ctx, events); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkAppendReturning(b *testing.B) {
	s := benchStore(b)
	f := returningAppender(b, s.DB().DB)
	ctx := context.Background()
	runWrites(b, func(events []tracking.Event) {
		if _, err := f(ctx, events); err != nil {
			b.Fatal(err)
		}
	})
}
