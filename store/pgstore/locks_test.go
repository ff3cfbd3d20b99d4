package pgstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// devices returns one page view of each of n devices, ids from prefix.
func devices(prefix string, n int) []tracking.Event {
	events := make([]tracking.Event, n)
	for i := range events {
		events[i] = tracking.Event{ID: fmt.Sprintf("%s-e%05d", prefix, i), ShopID: "shop-a", Type: tracking.PageViewed,
			AnonymousID: fmt.Sprintf("%s-device-%05d", prefix, i), URL: "https://shop.example/",
			Timestamp: genBase.Add(time.Duration(i) * time.Second)}
	}
	return events
}

func groupsOf(t *testing.T, events []tracking.Event) []store.SessionGroup {
	var out []store.SessionGroup
	for i := range events {
		g, ok := store.SessionGroupOf(&events[i])
		require.True(t, ok)
		out = append(out, g)
	}
	return out
}

// A batch of more session groups than the server's shared lock table holds
// (6,400 slots by default; 50,000 locks, one a group, were refused "out of
// shared memory") is stored: a large batch takes its groups' buckets.
func TestAppendOfManySessionGroupsFitsTheLockTable(t *testing.T) {
	s := openStore(t, newSchema(t))
	events := devices("big", 50_000)
	res, err := s.Append(testCtx(t), events)
	require.NoError(t, err)
	require.Equal(t, len(events), res.Inserted)

	keys, shared := s.sessionLocks(groupsOf(t, events))
	require.LessOrEqual(t, len(keys), sessionBuckets)
	require.NotContains(t, shared, true, "a large batch takes its buckets exclusively")

	small := groupsOf(t, devices("small", 30))
	keys, shared = s.sessionLocks(small)
	require.Len(t, keys, len(small)+countTrue(shared))
	require.Equal(t, len(keys)-len(small), countTrue(shared), "buckets shared, then each group's own lock")
	for i := range shared[:countTrue(shared)] {
		require.True(t, shared[i])
	}
}

func countTrue(b []bool) (n int) {
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// holdLocks takes the session locks of events in a transaction of its own
// and holds them until the test ends or release is called.
func holdLocks(t *testing.T, s *Store, events []tracking.Event) (release func()) {
	t.Helper()
	keys, shared := s.sessionLocks(groupsOf(t, events))
	return holdAdvisory(t, s, keys, shared)
}

// holdAdvisory takes the advisory locks keys (each shared or not) as
// Append does, in a transaction of its own, until the test ends or
// release is called.
func holdAdvisory(t *testing.T, s *Store, keys []int64, shared []bool) (release func()) {
	t.Helper()
	db, err := sql.Open("postgres", testenv.PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	tx, err := db.BeginTx(testCtx(t), nil)
	require.NoError(t, err)
	_, err = tx.Exec(s.advisoryLocksSQL(), pq.Int64Array(keys), pq.BoolArray(shared))
	require.NoError(t, err)
	done := false
	release = func() {
		if !done {
			done = true
			require.NoError(t, tx.Rollback())
		}
	}
	t.Cleanup(release)
	return release
}

// appendAsync appends events and reports the result when it is done.
func appendAsync(s *Store, events []tracking.Event) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := s.Append(ctx, events)
		done <- err
	}()
	return done
}

// Live batches of different sessions do not wait for each other; a batch
// waits for one holding a session of its own, small or large.
func TestSessionLocksLetOtherSessionsThrough(t *testing.T) {
	s := openStore(t, newSchema(t))
	held := devices("held", 20)
	release := holdLocks(t, s, held)

	select {
	case err := <-appendAsync(s, devices("other", 20)):
		require.NoError(t, err, "a batch of other sessions goes on")
	case <-time.After(time.Minute):
		t.Fatal("a batch of other sessions waited for locks it does not share")
	}

	same := appendAsync(s, held[:5])
	large := appendAsync(s, append(devices("large", 2*fineLockGroups), held[7]))
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-same:
		t.Fatalf("a batch of a held session did not wait: %v", err)
	case err := <-large:
		t.Fatalf("a large batch with a held session in its buckets did not wait: %v", err)
	default:
	}
	release()
	require.NoError(t, <-same)
	require.NoError(t, <-large)
}

// People and chains are locked as session groups are: a batch of a few
// takes their buckets shared, then each one's own lock (once, however many
// hours of it the batch has: the batch is small by the ids it has); a
// batch of more than finePeopleLocks takes its buckets alone, exclusively.
func TestPeopleLocksAreEachOnesOwnInSmallBatches(t *testing.T) {
	s := &Store{schema: "people_locks"}
	id := func(i int) peopleKey { return peopleKey{"shop-a", "a", fmt.Sprintf("device-%05d", i)} }
	var small []peopleKey // each id twice, as of two hours
	for i := range finePeopleLocks {
		small = append(small, id(i), id(i))
	}
	locks, shared := s.peopleLocks("person", small)
	buckets := countTrue(shared)
	require.Positive(t, buckets)
	require.Len(t, locks, buckets+finePeopleLocks, "buckets, then each id's own lock once")
	require.Equal(t, append(slices.Repeat([]bool{true}, buckets), make([]bool, finePeopleLocks)...), shared)
	chains, _ := s.peopleLocks("chain", small)
	require.Empty(t, slices.DeleteFunc(slices.Clone(locks), func(k int64) bool { return !slices.Contains(chains, k) }),
		"a chain's locks are not its person's")

	var large []peopleKey
	for i := range finePeopleLocks + 1 {
		large = append(large, id(i))
	}
	locks, shared = s.peopleLocks("person", large)
	require.LessOrEqual(t, len(locks), peopleLockBuckets)
	require.NotContains(t, shared, true, "a large batch takes its buckets exclusively")
}

// holdPeople takes the person locks a small batch of keys takes, in a
// transaction of its own, until the test ends or release is called.
func holdPeople(t *testing.T, s *Store, keys []peopleKey) (release func()) {
	t.Helper()
	locks, shared := s.peopleLocks("person", keys)
	require.Contains(t, shared, true, "a small batch's buckets are shared")
	return holdAdvisory(t, s, locks, shared)
}

// A person held by a small batch (its bucket shared, its own lock) holds
// off a small batch of theirs and a large batch (buckets alone) with them
// in it, but not a small batch of other people: no two batches both take
// a person for theirs alone.
func TestPeopleLocksOfSmallAndLargeBatchesExcludeEachOther(t *testing.T) {
	s := openStore(t, newSchema(t))
	release := holdPeople(t, s, []peopleKey{{"shop-a", "u", "held-user"}})
	user := func(id string) tracking.Event {
		return tracking.Event{ID: id, ShopID: "shop-a", Type: tracking.PageViewed, UserID: "held-user",
			URL: "https://shop.example/", Timestamp: genBase.Add(time.Hour)}
	}

	select {
	case err := <-appendAsync(s, devices("other", 20)):
		require.NoError(t, err, "a batch of other people goes on")
	case <-time.After(time.Minute):
		t.Fatal("a batch of other people waited for a person it does not have")
	}

	small := appendAsync(s, []tracking.Event{user("small-e")})
	large := appendAsync(s, append(devices("large", finePeopleLocks+10), user("large-e")))
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-small:
		t.Fatalf("a small batch of a held person did not wait: %v", err)
	case err := <-large:
		t.Fatalf("a large batch with a held person did not wait: %v", err)
	default:
	}
	release()
	require.NoError(t, <-small)
	require.NoError(t, <-large)
}

// advisoryLocksOfAppend appends events while another transaction holds
// person_cells, which the batch's last statement writes, and returns how
// many advisory locks the append holds then: all it takes.
func advisoryLocksOfAppend(t *testing.T, s *Store, events []tracking.Event) int {
	t.Helper()
	ctx := testCtx(t)
	tx, err := s.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, `LOCK TABLE `+s.table("person_cells")+` IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	done := appendAsync(s, events)
	var pid int
	require.Eventually(t, func() bool {
		err := s.db.QueryRowContext(ctx, `SELECT pid FROM pg_locks WHERE relation = $1::regclass AND NOT granted`,
			s.table("person_cells")).Scan(&pid)
		return err == nil
	}, time.Minute, 10*time.Millisecond, "the append reaches its write statement")
	var n int
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND granted`,
		pid).Scan(&n))
	require.NoError(t, tx.Rollback())
	require.NoError(t, <-done)
	return n
}

// Every advisory lock is a slot of the server's shared lock table (6,400
// by default for every session at once): a batch of devices takes its
// people's and sessions' locks, and none for their chains, which only
// batches holding those devices' own locks change; only users' chains,
// which the identifies of other devices change too, have locks of their
// own.
func TestChainsOfDevicesTakeNoLocksOfTheirOwn(t *testing.T) {
	s := openStore(t, newSchema(t))
	events := devices("dev", 250)
	d := &detail{}
	for i := range events {
		d.add(&events[i])
	}
	people, _, _ := s.personLocks(d)
	sessions, _ := s.sessionLocks(d.sessions.Groups())
	require.Equal(t, len(people)+len(sessions), advisoryLocksOfAppend(t, s, events),
		"the people's and sessions' locks, none for the chains")

	identified := devices("idf", 3)
	for i := range identified {
		identified[i].Type, identified[i].UserID = tracking.Identify, "user-1"
	}
	d = &detail{}
	for i := range identified {
		d.add(&identified[i])
	}
	people, _, _ = s.personLocks(d)
	sessions, _ = s.sessionLocks(d.sessions.Groups())
	chains, _ := s.peopleLocks("chain", []peopleKey{{"shop-a", store.ChainUser, "user-1"}})
	require.Equal(t, len(people)+len(sessions)+len(chains), advisoryLocksOfAppend(t, s, identified),
		"and the user's chain's")
}
