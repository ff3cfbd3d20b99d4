package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openFile opens a store on a new file in the test's temporary directory.
func openFile(t testing.TB) (*sqlitestore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	return s, path
}

func TestConformance(t *testing.T) {
	paths := sync.Map{} // store -> its file, for reopening
	storetest.Run(t, func(t *testing.T) store.Store {
		s, path := openFile(t)
		paths.Store(s, path)
		return s
	}, storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
		path, ok := paths.Load(s)
		require.True(t, ok)
		require.NoError(t, s.Close())
		s2, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path.(string)})
		require.NoError(t, err)
		return s2
	}))
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: sqlitestore.MemoryPath})
		require.NoError(t, err)
		return s
	})
}

func TestOptionsAreChecked(t *testing.T) {
	db, err := sql.Open("sqlite3", sqlitestore.DSN(filepath.Join(t.TempDir(), "x.db"), 0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	for name, opts := range map[string]sqlitestore.Options{
		"neither path nor db":      {},
		"both path and db":         {Path: "x.db", DB: db},
		"negative busy timeout":    {Path: "x.db", BusyTimeout: -time.Second},
		"busy timeout with own db": {DB: db, BusyTimeout: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sqlitestore.New(testCtx(t), opts)
			require.Error(t, err)
		})
	}
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.Mkdir("sub", 0o755))
	abs := filepath.Join(dir, "abs.db")
	cases := []struct {
		url, file string
	}{
		{"sqlite://rel.db", filepath.Join(dir, "rel.db")},
		{"sqlite://sub/nested.db", filepath.Join(dir, "sub", "nested.db")},
		{"sqlite:opaque.db", filepath.Join(dir, "opaque.db")},
		{"sqlite://" + abs, abs},
		{"sqlite://rel.db?busy_timeout=2s", filepath.Join(dir, "rel.db")},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			s, err := store.Open(testCtx(t), tc.url)
			require.NoError(t, err)
			_, err = s.Append(testCtx(t), []tracking.Event{event("shop", "e1", 0)})
			require.NoError(t, err)
			require.NoError(t, s.Close())
			require.FileExists(t, tc.file)
		})
	}
	t.Run("memory", func(t *testing.T) {
		s, err := store.Open(testCtx(t), "sqlite://:memory:")
		require.NoError(t, err)
		_, err = s.Append(testCtx(t), []tracking.Event{event("shop", "e1", 0)})
		require.NoError(t, err)
		require.Len(t, storetest.All(t, s, store.Filter{ShopID: "shop"}), 1)
		require.NoError(t, s.Close())
		require.NoFileExists(t, filepath.Join(dir, ":memory:"))
	})
	for _, bad := range []string{"sqlite://", "sqlite://x.db?nope=1", "sqlite://x.db?busy_timeout=soon"} {
		t.Run(bad, func(t *testing.T) {
			_, err := store.Open(testCtx(t), bad)
			require.Error(t, err)
		})
	}
}

func TestCallerOwnedDBStaysOpen(t *testing.T) {
	db, err := sql.Open("sqlite3", sqlitestore.DSN(filepath.Join(t.TempDir(), "own.db"), 0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{DB: db})
	require.NoError(t, err)
	_, err = s.Append(testCtx(t), []tracking.Event{event("shop", "e1", 0)})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	require.NoError(t, db.PingContext(testCtx(t)), "Close left the caller's DB open")
	var n int
	require.NoError(t, db.QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM events").Scan(&n))
	require.Equal(t, 1, n)
	_, err = s.Append(testCtx(t), []tracking.Event{event("shop", "e2", 0)})
	require.ErrorIs(t, err, store.ErrClosed)
}

func TestMigrationsApplyOnce(t *testing.T) {
	s, path := openFile(t)
	require.NoError(t, s.Close())
	for range 2 { // again, on a migrated file
		s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
		require.NoError(t, err)
		var versions []int
		require.NoError(t, s.DB().SelectContext(testCtx(t), &versions, "SELECT version FROM schema_migrations ORDER BY version"))
		require.Equal(t, sqlitestore.SchemaVersion(), versions[len(versions)-1])
		require.Len(t, versions, len(uniqueInts(versions)))
		require.NoError(t, s.Close())
	}

	// Stores opening one new file at once each find the schema in place.
	path = filepath.Join(t.TempDir(), "race.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	s, path := openFile(t)
	_, err := s.DB().ExecContext(testCtx(t), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)", sqlitestore.SchemaVersion()+1)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.ErrorContains(t, err, "newer")
}

func uniqueInts(v []int) map[int]bool {
	m := map[int]bool{}
	for _, x := range v {
		m[x] = true
	}
	return m
}

func TestTwoStoresOnOneFileStoreEachIDOnce(t *testing.T) {
	first, path := openFile(t)
	t.Cleanup(func() { _ = first.Close() })
	second, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Close() })

	events := generate(rand.New(rand.NewPCG(1, 1)), "twice", 2000)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inserted int
		errs     []error
	)
	for _, s := range []*sqlitestore.Store{first, second, first, second} {
		wg.Go(func() {
			for i := 0; i < len(events); i += 250 {
				res, err := s.Append(testCtx(t), events[i:i+250])
				mu.Lock()
				inserted += res.Inserted
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, len(events), inserted, "each id inserted by exactly one Append")
	var n int
	require.NoError(t, first.DB().QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM events").Scan(&n))
	require.Equal(t, len(events), n)
}

func TestAppendLeavesTemporaryStorageAsItWas(t *testing.T) {
	// One connection: the one Append wrote with is the one read with next.
	db, err := sql.Open("sqlite3", sqlitestore.DSN(filepath.Join(t.TempDir(), "own.db"), 0))
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{DB: db})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for _, events := range [][]tracking.Event{generate(rand.New(rand.NewPCG(3, 3)), "a", 500), {generate(rand.New(rand.NewPCG(4, 4)), "a", 1)[0]}} {
		_, err = s.Append(testCtx(t), events)
		require.NoError(t, err)
		var mode int
		require.NoError(t, db.QueryRowContext(testCtx(t), "PRAGMA temp_store").Scan(&mode))
		require.Equal(t, 0, mode, "temp_store after Append")
	}
}

func TestMismatchedCurrencyIsInvalid(t *testing.T) {
	s, _ := openFile(t)
	t.Cleanup(func() { _ = s.Close() })
	e := event("shop", "e1", 0)
	e.Currency, e.Revenue = "USD", tracking.Money{Minor: 100, Currency: "EUR"}
	_, err := s.Append(testCtx(t), []tracking.Event{e})
	require.ErrorIs(t, err, store.ErrInvalid)
	require.False(t, store.Retryable(err))
}

var base = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

func event(shop, id string, offset time.Duration) tracking.Event {
	return tracking.Event{
		ID: id, ShopID: shop, Type: tracking.PageViewed, AnonymousID: "anon-" + id,
		Timestamp: base.Add(offset), ReceivedAt: base.Add(offset + time.Second),
	}
}

// generate returns n normalised, realistic events of two shops over a day:
// page and product views, carts, purchases with money, a few properties.
func generate(r *rand.Rand, prefix string, n int) []tracking.Event {
	types := []string{tracking.PageViewed, tracking.PageViewed, tracking.ProductViewed, tracking.ProductViewed,
		tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted, "newsletter_signup"}
	out := make([]tracking.Event, n)
	for i := range out {
		e := tracking.Event{
			ID:          fmt.Sprintf("%s-%07d", prefix, i),
			ShopID:      fmt.Sprintf("shop-%d", 1+r.IntN(2)),
			Type:        types[r.IntN(len(types))],
			AnonymousID: fmt.Sprintf("anon-%d", r.IntN(50)),
			SessionID:   fmt.Sprintf("sess-%d", r.IntN(200)),
			URL:         fmt.Sprintf("https://shop.example/p/%d", r.IntN(500)),
			UserAgent:   "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
			Timestamp:   base.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))).Truncate(time.Microsecond),
		}
		e.ReceivedAt = e.Timestamp.Add(time.Duration(r.IntN(2000)) * time.Millisecond)
		if r.IntN(3) == 0 {
			e.UserID = fmt.Sprintf("user-%d", r.IntN(20))
		}
		switch e.Type {
		case tracking.ProductViewed, tracking.AddToCart:
			e.ProductID = fmt.Sprintf("sku-%d", r.IntN(100))
			e.ProductName = "Product " + e.ProductID
			e.Currency = "USD"
			e.Price = tracking.Money{Minor: int64(100 + r.IntN(10000)), Currency: "USD"}
			e.Quantity = int64(1 + r.IntN(3))
		case tracking.PurchaseCompleted:
			e.Currency = "EUR"
			e.Revenue = tracking.Money{Minor: int64(500 + r.IntN(50000)), Currency: "EUR"}
			e.OrderID = fmt.Sprintf("order-%d", i)
			e.Properties = []byte(fmt.Sprintf(`{"coupon":"C%d","items":%d}`, r.IntN(9), 1+r.IntN(4)))
		}
		out[i] = e
	}
	return out
}

func TestLockedDatabaseIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path, BusyTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	// Another process, as far as SQLite can tell, holds the write lock.
	other, err := sql.Open("sqlite3", sqlitestore.DSN(path, 0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	conn, err := other.Conn(testCtx(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = conn.ExecContext(testCtx(t), "BEGIN IMMEDIATE")
	require.NoError(t, err)

	_, err = s.Append(testCtx(t), []tracking.Event{event("shop", "e1", 0)})
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.True(t, store.Retryable(err))

	_, err = conn.ExecContext(testCtx(t), "ROLLBACK")
	require.NoError(t, err)
	res, err := s.Append(testCtx(t), []tracking.Event{event("shop", "e1", 0)})
	require.NoError(t, err, "the same batch succeeds once the lock is gone")
	require.Equal(t, 1, res.Inserted)
}

func TestPathsThatNeedEscaping(t *testing.T) {
	for _, name := range []string{"with space.db", "what?.db", "100%.db", "hash#.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			s, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
			require.NoError(t, err)
			_, err = s.Append(testCtx(t), []tracking.Event{event("shop", "e1", 0)})
			require.NoError(t, err)
			require.NoError(t, s.Close())
			require.FileExists(t, path)
		})
	}
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	const secret = "s3cret-Pw"
	for _, raw := range []string{
		"sqlite://u:" + secret + "@" + filepath.Join(t.TempDir(), "missing", "x.db"),
		"sqlite://u:" + secret + "@/x.db?busy_timeout=soon",
		"sqlite://u:" + secret + "@/x.db?nope=1",
		"sqlite://u:" + secret + "@",
		"sqlite://u:" + secret + "@/x%zz.db",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := store.Open(testCtx(t), raw)
			require.Error(t, err)
			require.NotContains(t, err.Error(), secret)
		})
	}
}

func TestUnwritablePathIsNamedWithItsCause(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nonexistent", "x.db")
	_, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: missing})
	require.EqualError(t, err, "sqlitestore: open "+missing+": directory "+filepath.Dir(missing)+" does not exist: file does not exist")
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = store.Open(testCtx(t), "sqlite://"+missing)
	require.ErrorContains(t, err, "directory "+filepath.Dir(missing)+" does not exist")

	_, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: dir})
	require.EqualError(t, err, "sqlitestore: open "+dir+": it is a directory")

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	under := filepath.Join(file, "x.db")
	_, err = sqlitestore.New(testCtx(t), sqlitestore.Options{Path: under})
	require.EqualError(t, err, "sqlitestore: open "+under+": "+file+" is not a directory")
}
