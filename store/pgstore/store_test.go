package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store {
			s, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: newSchema(t)})
			require.NoError(t, err)
			return s
		},
		storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
			schema := s.(*Store).Schema()
			require.NoError(t, s.Close())
			s2, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: schema})
			require.NoError(t, err)
			return s2
		}))
}

// Every write path must pass the suite, not only the one Append uses.
func TestConformanceEveryWriter(t *testing.T) {
	for _, w := range writers {
		t.Run(w.String(), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: newSchema(t)})
				require.NoError(t, err)
				if w == writeUnnest || w == writeValues {
					return rollupless{writerStore{s, w}} // these paths keep no rollups
				}
				return writerStore{s, w}
			})
		})
	}
}

func TestOptionsAreValidated(t *testing.T) {
	db, err := sql.Open("postgres", "postgres://127.0.0.1:1/none")
	require.NoError(t, err)
	defer db.Close()
	cases := []struct {
		name string
		opts Options
	}{
		{"neither DSN nor DB", Options{}},
		{"both DSN and DB", Options{DSN: "postgres://x", DB: db}},
		{"schema with upper case", Options{DSN: "postgres://x", Schema: "Events"}},
		{"schema with a quote", Options{DSN: "postgres://x", Schema: `a"b`}},
		{"schema starting with a digit", Options{DSN: "postgres://x", Schema: "1abc"}},
		{"schema too long", Options{DSN: "postgres://x", Schema: "a123456789012345678901234567890123456789012345678901234567890123"}},
		{"negative MaxConns", Options{DSN: "postgres://x", MaxConns: -1}},
		{"MaxConns with a caller's DB", Options{DB: db, MaxConns: 3}},
		{"negative MaxReadConns", Options{DSN: "postgres://x", MaxReadConns: -1}},
		{"MaxReadConns over MaxConns", Options{DSN: "postgres://x", MaxConns: 4, MaxReadConns: 5}},
		{"MaxReadConns over the default pool", Options{DSN: "postgres://x", MaxReadConns: DefaultMaxConns + 1}},
		{"negative ConnectTimeout", Options{DSN: "postgres://x", ConnectTimeout: -time.Second}},
		{"UserTimeout under a millisecond", Options{DSN: "postgres://x", UserTimeout: time.Microsecond}},
		{"ConnectTimeout with a caller's DB", Options{DB: db, ConnectTimeout: time.Second}},
		{"KeepAlive with a caller's DB", Options{DB: db, KeepAlive: time.Second}},
		{"UserTimeout with a caller's DB", Options{DB: db, UserTimeout: time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(context.Background(), tc.opts)
			require.Error(t, err)
			require.Nil(t, s)
		})
	}
}

func TestConcurrentMigrationsAllSucceed(t *testing.T) {
	schema := newSchema(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	dsn := testenv.PostgresURL(t) // it may end the test: not in the goroutines
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = New(testCtx(t), Options{DSN: dsn, Schema: schema, MaxConns: 2})
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	var versions []int
	require.NoError(t, stores[0].db.Select(&versions, `SELECT version FROM `+schema+`.schema_migrations ORDER BY version`))
	ms, err := loadMigrations()
	require.NoError(t, err)
	want := make([]int, len(ms))
	for i, m := range ms {
		want[i] = m.Version
	}
	require.Equal(t, want, versions, "each migration applied once")

	_, err = stores[1].Append(testCtx(t), genEvents(1, "m", 10))
	require.NoError(t, err)
}

func TestTwoStoresAppendingTheSameIDsStoreEachOnce(t *testing.T) {
	schema := newSchema(t)
	a, b := openStore(t, schema), openStore(t, schema)
	events := genEvents(2, "dup", 6000)
	unique := map[store.Key]bool{}
	for i := range events {
		unique[store.KeyOf(&events[i])] = true
	}

	// Each store sends every event, in batches cut differently and in a
	// different order, from two goroutines each.
	reversed := make([]tracking.Event, len(events))
	for i := range events {
		reversed[len(events)-1-i] = events[i]
	}
	var mu sync.Mutex
	inserted, duplicates := 0, 0
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	send := func(s *Store, events []tracking.Event, batch int) {
		defer wg.Done()
		for start := 0; start < len(events); start += batch {
			res, err := s.Append(context.Background(), events[start:min(start+batch, len(events))])
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			inserted += res.Inserted
			duplicates += res.Duplicates
			mu.Unlock()
		}
	}
	wg.Add(4)
	go send(a, events, 500)
	go send(a, reversed, 700)
	go send(b, events, 300)
	go send(b, reversed, 1000)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, len(unique), inserted, "inserted counts sum to the number of distinct events")
	require.Equal(t, 4*len(events)-len(unique), duplicates)

	var stored int
	require.NoError(t, a.db.Get(&stored, `SELECT count(*) FROM `+schema+`.events`))
	require.Equal(t, len(unique), stored)
}

func TestCallerOwnedDBIsNotClosed(t *testing.T) {
	db, err := sql.Open("postgres", testenv.PostgresURL(t))
	require.NoError(t, err)
	defer db.Close()
	s, err := New(testCtx(t), Options{DB: db, Schema: newSchema(t)})
	require.NoError(t, err)
	_, err = s.Append(testCtx(t), genEvents(3, "own", 5))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, db.PingContext(testCtx(t)), "the caller's pool is still open")

	_, err = s.Append(testCtx(t), genEvents(3, "own2", 5))
	require.ErrorIs(t, err, store.ErrClosed)
	require.ErrorIs(t, s.Ping(testCtx(t)), store.ErrClosed)
}

func TestOpenByURLWithSchema(t *testing.T) {
	base := testenv.PostgresURL(t)
	for _, scheme := range []string{"postgres", "postgresql"} {
		t.Run(scheme, func(t *testing.T) {
			schema := newSchema(t)
			u, err := url.Parse(base)
			require.NoError(t, err)
			u.Scheme = scheme
			q := u.Query()
			q.Set("schema", schema)
			u.RawQuery = q.Encode()

			s, err := store.Open(testCtx(t), u.String())
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			require.Equal(t, schema, s.(*Store).Schema())
			events := genEvents(4, "url", 20)
			_, err = s.Append(testCtx(t), events)
			require.NoError(t, err)

			// The events are in that schema, seen by a store opened on it directly.
			n := 0
			for _, err := range openStore(t, schema).Events(testCtx(t), store.Filter{ShopID: "shop-a"}) {
				require.NoError(t, err)
				n++
			}
			want := 0
			for _, e := range events {
				if e.ShopID == "shop-a" {
					want++
				}
			}
			require.Equal(t, want, n)
		})
	}
}

func TestOpenByURLTakesTheStoresParameters(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	q := u.Query()
	for k, v := range map[string]string{
		"schema": newSchema(t), "max_conns": "3", "max_read_conns": "1",
		"tcp_user_timeout": "0", "keepalives": "1", "keepalives_idle": "30", "connect_timeout": "2",
	} {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	s, err := store.Open(testCtx(t), u.String())
	require.NoError(t, err, "none of them reaches the server as a setting")
	t.Cleanup(func() { _ = s.Close() })
	require.Equal(t, 1, cap(s.(*Store).reads))
	require.Equal(t, 3, s.(*Store).db.Stats().MaxOpenConnections)

	for _, bad := range []string{"max_conns=-1", "max_read_conns=x", "tcp_user_timeout=1.5", "max_conns=2&max_read_conns=3"} {
		v := *u
		v.RawQuery = "sslmode=disable&" + bad
		_, err := store.Open(testCtx(t), v.String())
		require.Error(t, err, bad)
	}
}

func TestOpenByURLValidatesSchema(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	u.RawQuery = url.Values{"sslmode": {"disable"}, "schema": {"Not-Valid"}}.Encode()
	_, err = store.Open(testCtx(t), u.String())
	require.ErrorContains(t, err, "schema", "the schema parameter is the store's, validated as Options.Schema")
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	testenv.PostgresURL(t) // the same service conditions as the other tests
	_, err := New(testCtx(t), Options{DSN: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"})
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.True(t, store.Retryable(err))
}

func TestRefusedDataIsInvalid(t *testing.T) {
	s := openStore(t, newSchema(t))
	cases := []struct {
		name   string
		mutate func(e *tracking.Event)
	}{
		{"NUL byte in text", func(e *tracking.Event) { e.UserID = "a\x00b" }},
		{"properties not JSON", func(e *tracking.Event) { e.Properties = []byte(`{"a":`) }},
	}
	for _, w := range writers {
		for _, tc := range cases {
			t.Run(w.String()+"/"+tc.name, func(t *testing.T) {
				events := genEvents(5, "bad-"+w.String(), 3)
				tc.mutate(&events[1])
				_, err := s.appendWith(testCtx(t), w.fn(), events)
				require.ErrorIs(t, err, store.ErrInvalid)
				require.False(t, store.Retryable(err))
				n := 0
				for _, shop := range []string{"shop-a", "shop-b", "shop-c"} {
					for _, err := range s.Events(testCtx(t), store.Filter{ShopID: shop}) {
						require.NoError(t, err)
						n++
					}
				}
				require.Zero(t, n, "a refused batch stores nothing")
			})
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error // nil: neither sentinel
	}{
		{"admin shutdown", &pq.Error{Code: "57P01"}, store.ErrUnavailable},
		{"cannot connect now", &pq.Error{Code: "57P03"}, store.ErrUnavailable},
		{"too many connections", &pq.Error{Code: "53300"}, store.ErrUnavailable},
		{"disk full", &pq.Error{Code: "53100"}, store.ErrUnavailable},
		{"connection failure", &pq.Error{Code: "08006"}, store.ErrUnavailable},
		{"serialization failure", &pq.Error{Code: "40001"}, store.ErrUnavailable},
		{"deadlock", &pq.Error{Code: "40P01"}, store.ErrUnavailable},
		{"read-only standby", &pq.Error{Code: "25006"}, store.ErrUnavailable},
		{"bad input syntax", &pq.Error{Code: "22P02"}, store.ErrInvalid},
		{"value out of range", &pq.Error{Code: "22003"}, store.ErrInvalid},
		{"not null violation", &pq.Error{Code: "23502"}, store.ErrInvalid},
		{"wrapped data exception", fmt.Errorf("insert: %w", &pq.Error{Code: "22021"}), store.ErrInvalid},
		{"syntax error is a bug", &pq.Error{Code: "42601"}, nil},
		{"missing privilege is configuration", &pq.Error{Code: "42501"}, nil},
		{"bad connection", fmt.Errorf("x: %w", errors.New("other")), nil},
		{"driver bad conn", fmt.Errorf("x: %w", sql.ErrConnDone), store.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			require.ErrorIs(t, got, tc.err, "the original error stays in the chain")
			for _, sentinel := range []error{store.ErrUnavailable, store.ErrInvalid} {
				require.Equal(t, sentinel == tc.want, errors.Is(got, sentinel), "errors.Is(%v, %v)", got, sentinel)
			}
		})
	}
	require.Nil(t, classify(nil))
	require.Equal(t, context.Canceled, classify(context.Canceled), "context errors pass through")
}

func TestEventsRoundTripGeneratedData(t *testing.T) {
	s := openStore(t, newSchema(t))
	events := genEvents(7, "rt", 2000)
	_, err := s.Append(testCtx(t), events)
	require.NoError(t, err)
	var want []tracking.Event
	for _, e := range events {
		if e.ShopID == "shop-b" {
			want = append(want, e)
		}
	}
	sort.Slice(want, func(i, j int) bool {
		if !want[i].Timestamp.Equal(want[j].Timestamp) {
			return want[i].Timestamp.Before(want[j].Timestamp)
		}
		return want[i].ID < want[j].ID
	})
	var got []tracking.Event
	for e, err := range s.Events(testCtx(t), store.Filter{ShopID: "shop-b"}) {
		require.NoError(t, err)
		got = append(got, e)
	}
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		if len(w.Properties) > 0 {
			require.JSONEq(t, string(w.Properties), string(g.Properties))
			w.Properties, g.Properties = nil, nil
		}
		require.Equal(t, w, g)
	}
}

// With one connection, every batch shares the staging table: a refused
// batch must leave nothing behind for the next one.
func TestRefusedBatchLeavesStagingEmpty(t *testing.T) {
	s, err := New(testCtx(t), Options{DSN: testenv.PostgresURL(t), Schema: newSchema(t), MaxConns: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	bad := genEvents(8, "bad", 50)
	bad[49].UserID = "nul\x00"
	_, err = s.Append(testCtx(t), bad)
	require.ErrorIs(t, err, store.ErrInvalid)

	good := genEvents(8, "good", 50)
	res, err := s.Append(testCtx(t), good)
	require.NoError(t, err)
	require.Equal(t, 50, res.Inserted)
	var stored int
	require.NoError(t, s.db.Get(&stored, `SELECT count(*) FROM `+s.events))
	require.Equal(t, 50, stored)
}

// Ids order bytewise, as Go compares strings, whatever the database locale.
func TestIDsOrderBytewise(t *testing.T) {
	s := openStore(t, newSchema(t))
	var events []tracking.Event
	for _, id := range []string{"b", "B", "a-2", "a_1", "A", "é", "z", "a1", "_"} {
		e := genEvents(9, "x", 1)[0]
		e.ID, e.ShopID, e.Timestamp = id, "shop-a", genBase
		events = append(events, e)
	}
	_, err := s.Append(testCtx(t), events)
	require.NoError(t, err)
	var got []string
	for e, err := range s.Events(testCtx(t), store.Filter{ShopID: "shop-a"}) {
		require.NoError(t, err)
		got = append(got, e.ID)
	}
	require.True(t, sort.StringsAreSorted(got), "got %q", got)
	require.Len(t, got, len(events))
}

// secret is a password no error may show.
const secret = "s3cret-Pw"

func TestOpenErrorsHideThePassword(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), secret) // the test server trusts any password
	withPassword := func(host, path, query string) string {
		v := *u
		if host != "" {
			v.Host = host
		}
		if path != "" {
			v.Path = path
		}
		v.RawQuery = query
		return v.String()
	}
	cases := []struct {
		name string
		open func() error
	}{
		{"New: URL that does not parse", func() error {
			_, err := New(testCtx(t), Options{DSN: "postgres://postgres:" + secret + "@127.0.0.1:5432/te%zzst"})
			return err
		}},
		{"New: key=value string that does not parse", func() error {
			_, err := New(testCtx(t), Options{DSN: "host=127.0.0.1 password=" + secret + " dbname"})
			return err
		}},
		{"New: unsupported setting", func() error {
			_, err := New(testCtx(t), Options{DSN: withPassword("", "", "sslmode=bogus")})
			return err
		}},
		{"Open: unreachable server", func() error {
			_, err := store.Open(testCtx(t), withPassword("127.0.0.1:1", "", "sslmode=disable&connect_timeout=5"))
			return err
		}},
		{"Open: no such database", func() error {
			_, err := store.Open(testCtx(t), withPassword("", "/no_such_database", "sslmode=disable"))
			return err
		}},
		{"Open: invalid schema", func() error {
			_, err := store.Open(testCtx(t), withPassword("", "", "sslmode=disable&schema=Not-Valid"))
			return err
		}},
		{"Open: URL that does not parse", func() error {
			_, err := store.Open(testCtx(t), withPassword("", "", "")+"%zz")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			require.Error(t, err)
			require.NotContains(t, err.Error(), secret)
		})
	}
}
