package redisstore_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/testenv"
	"github.com/shoplytics/shoplytics/store"
	_ "github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/redisstore"
	"github.com/shoplytics/shoplytics/store/storetest"
	"github.com/shoplytics/shoplytics/tracking"
)

// newClient returns a client of the test Redis, closed at cleanup.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(testenv.RedisURL(t))
	require.NoError(t, err)
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newPrefix returns a fresh key prefix whose keys are deleted at cleanup.
func newPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	prefix := testenv.UniqueName("test")
	t.Cleanup(func() { deleteKeys(t, c, prefix) })
	return prefix
}

func deleteKeys(t testing.TB, c *redis.Client, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, "{"+prefix+"}:*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			require.NoError(t, c.Unlink(ctx, batch...).Err())
			batch = batch[:0]
		}
	}
	require.NoError(t, iter.Err())
	if len(batch) > 0 {
		require.NoError(t, c.Unlink(ctx, batch...).Err())
	}
	// Let Redis's background thread free what was unlinked, so it does not
	// compete with the next test or benchmark for the CPU.
	for range 200 {
		info, err := c.Info(ctx, "memory").Result()
		require.NoError(t, err)
		if strings.Contains(info, "lazyfree_pending_objects:0\r") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newStore(t testing.TB, c redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(context.Background(), redisstore.Options{Client: c, Prefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	c := newClient(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s := newStore(t, c, newPrefix(t, c))
		return s
	}, storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
		require.NoError(t, s.Close())
		return newStore(t, c, reopenPrefix(t, s))
	}))
}

// reopenPrefix recovers the prefix of a store, so a new one opens on the
// same keys.
func reopenPrefix(t *testing.T, s store.Store) string {
	t.Helper()
	p := s.(*redisstore.Store).Prefix()
	require.NotEmpty(t, p)
	return p
}

func TestConformanceSmallPages(t *testing.T) {
	// Pages of 7 make every read cross many page boundaries, ties included.
	c := newClient(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := redisstore.New(context.Background(), redisstore.Options{Client: c, Prefix: newPrefix(t, c), PageSize: 7})
		require.NoError(t, err)
		return s
	}, storetest.WithLargeBatch(1000))
}

func ev(shop, id string, at time.Time) tracking.Event {
	return tracking.Event{ID: id, ShopID: shop, Type: tracking.PageViewed, AnonymousID: "a", Timestamp: at, ReceivedAt: at}
}

func TestIdsWithAnyBytesSortLikeGo(t *testing.T) {
	c := newClient(t)
	s := newStore(t, c, newPrefix(t, c))
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	// Same timestamp: the order is Go's string order, whatever the bytes.
	ids := []string{"a", "a\x00", "a\x00\x00", "a\x00b", "a\x01", "a0", "aé", "ab", "b", "\x00"}
	var events []tracking.Event
	for _, id := range ids {
		events = append(events, ev("shop", id, at))
	}
	events = append(events, ev("shop", "z-earlier", at.Add(-time.Microsecond)), ev("shop", "0-later", at.Add(time.Microsecond)))
	res, err := s.Append(context.Background(), events)
	require.NoError(t, err)
	require.Equal(t, len(events), res.Inserted)

	want := []string{"z-earlier", "\x00", "a", "a\x00", "a\x00\x00", "a\x00b", "a\x01", "a0", "ab", "aé", "b", "0-later"}
	var got []string
	for e, err := range s.Events(context.Background(), store.Filter{ShopID: "shop"}) {
		require.NoError(t, err)
		got = append(got, e.ID)
	}
	wantSorted := append([]string(nil), want[1:len(want)-1]...)
	require.IsNonDecreasing(t, wantSorted)
	require.Equal(t, want, got)
}

func TestOptionsAreValidated(t *testing.T) {
	c := newClient(t)
	cases := []struct {
		name string
		opts redisstore.Options
	}{
		{"no client nor url", redisstore.Options{}},
		{"client and url", redisstore.Options{Client: c, URL: "redis://localhost"}},
		{"braces in prefix", redisstore.Options{Client: c, Prefix: "a{b}"}},
		{"negative maxlen", redisstore.Options{Client: c, MaxLen: -1}},
		{"negative ttl", redisstore.Options{Client: c, DedupTTL: -time.Second}},
		{"ttl below a millisecond", redisstore.Options{Client: c, DedupTTL: time.Microsecond}},
		{"negative page", redisstore.Options{Client: c, PageSize: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redisstore.New(context.Background(), tc.opts)
			require.Error(t, err)
		})
	}
}

func TestUnreachableRedisIsUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer c.Close()
	_, err := redisstore.New(context.Background(), redisstore.Options{Client: c})
	require.ErrorIs(t, err, store.ErrUnavailable)
}

func TestCallerClientIsNeverClosed(t *testing.T) {
	c := newClient(t)
	s := newStore(t, c, newPrefix(t, c))
	require.NoError(t, s.Close())
	require.NoError(t, c.Ping(context.Background()).Err())
	require.ErrorIs(t, s.Ping(context.Background()), store.ErrClosed)
}

func TestDedupWindow(t *testing.T) {
	// With a window of 1s an id is remembered for at least 1s and at most
	// 2s after it was appended (generations of 1s, two looked up).
	c := newClient(t)
	s, err := redisstore.New(context.Background(), redisstore.Options{Client: c, Prefix: newPrefix(t, c), DedupTTL: time.Second})
	require.NoError(t, err)
	defer s.Close()
	e := ev("shop", "x", time.Now().UTC())
	start := time.Now()
	res, err := s.Append(context.Background(), []tracking.Event{e})
	require.NoError(t, err)
	require.Equal(t, 1, res.Inserted)

	time.Sleep(900*time.Millisecond - time.Since(start))
	res, err = s.Append(context.Background(), []tracking.Event{e})
	require.NoError(t, err)
	require.Equal(t, 1, res.Duplicates, "within the window the id is remembered")

	time.Sleep(2100*time.Millisecond - time.Since(start))
	res, err = s.Append(context.Background(), []tracking.Event{e})
	require.NoError(t, err)
	require.Equal(t, 1, res.Inserted, "after twice the window the id is forgotten")
}

func TestOldDedupGenerationsAreDropped(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	s, err := redisstore.New(context.Background(), redisstore.Options{Client: c, Prefix: prefix, DedupTTL: time.Second})
	require.NoError(t, err)
	defer s.Close()
	for i := range 10 {
		_, err := s.Append(context.Background(), []tracking.Event{ev("shop", fmt.Sprint(i), time.Now().UTC())})
		require.NoError(t, err)
		time.Sleep(400 * time.Millisecond)
	}
	gens, err := c.Keys(context.Background(), "{"+prefix+"}:d:*").Result()
	require.NoError(t, err)
	require.LessOrEqual(t, len(gens), 2, "generations older than the two looked up are unlinked: %v", gens)
	for _, k := range gens {
		ttl, err := c.PTTL(context.Background(), k).Result()
		require.NoError(t, err)
		require.Greater(t, ttl, time.Duration(0), "%s expires even when no append unlinks it", k)
		require.LessOrEqual(t, ttl, 3*time.Second)
	}
}

func TestMaxLenTrimsAndReadsSkipTrimmed(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	s, err := redisstore.New(context.Background(), redisstore.Options{Client: c, Prefix: prefix, MaxLen: 10})
	require.NoError(t, err)
	defer s.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 500 {
		_, err := s.Append(context.Background(), []tracking.Event{ev("shop", fmt.Sprintf("e%04d", i), base.Add(time.Duration(i)*time.Second))})
		require.NoError(t, err)
	}
	n, err := c.XLen(context.Background(), "{"+prefix+"}:s:shop").Result()
	require.NoError(t, err)
	require.Less(t, n, int64(500), "the stream is trimmed")
	got := storetest.All(t, s, store.Filter{ShopID: "shop"})
	require.Len(t, got, int(n), "reads yield what the stream still holds")
	require.Equal(t, "e0499", got[len(got)-1].ID)
	card, err := c.ZCard(context.Background(), "{"+prefix+"}:i:shop").Result()
	require.NoError(t, err)
	require.Equal(t, n, card, "a read drops index members of trimmed entries")
}

// storeURL is the test Redis's URL with query parameters added, given as
// name, value pairs.
func storeURL(t *testing.T, params ...string) *url.URL {
	t.Helper()
	u, err := url.Parse(testenv.RedisURL(t))
	require.NoError(t, err)
	q := u.Query()
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	u.RawQuery = q.Encode()
	return u
}

func TestOpenByURL(t *testing.T) {
	c := newClient(t)
	u := storeURL(t, "prefix", newPrefix(t, c), "maxlen", "1000", "dedup_ttl", "24h")
	s, err := store.Open(context.Background(), u.String())
	require.NoError(t, err)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = s.Append(context.Background(), []tracking.Event{ev("shop", "a", at)})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, c.Ping(context.Background()).Err())

	for _, bad := range []string{"maxlen=x", "dedup_ttl=forever", "group=g", "nonsense=1", "prefix=%7Bx%7D"} {
		_, err := store.Open(context.Background(), u.Scheme+"://"+u.Host+"/0?"+bad)
		require.Error(t, err, bad)
	}
}

func TestOpenWithSinkRelaysUntilClose(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	// A memory sink is gone with the store, so the test watches the
	// group instead: everything read and acknowledged.
	u := storeURL(t, "prefix", prefix, "sink", "memory://", "group", "g")
	s, err := store.Open(context.Background(), u.String())
	require.NoError(t, err)

	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []tracking.Event
	for i := range 100 {
		events = append(events, ev(fmt.Sprintf("shop%d", i%3), fmt.Sprintf("e%03d", i), at))
	}
	_, err = s.Append(context.Background(), events)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return groupDone(t, c, prefix, "g", []string{"shop0", "shop1", "shop2"})
	}, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice is harmless")
}

// groupDone reports whether group g has read and acknowledged every entry of
// the shops' streams.
func groupDone(t testing.TB, c *redis.Client, prefix, group string, shops []string) bool {
	ctx := context.Background()
	for _, shop := range shops {
		key := "{" + prefix + "}:s:" + shop
		groups, err := c.XInfoGroups(ctx, key).Result()
		if err != nil || len(groups) == 0 {
			return false
		}
		info, err := c.XInfoStream(ctx, key).Result()
		require.NoError(t, err)
		for _, g := range groups {
			if g.Name == group && (g.Pending != 0 || g.LastDeliveredID != info.LastGeneratedID) {
				return false
			}
		}
	}
	return true
}

// streamEvents counts the events the shop's stream holds.
func streamEvents(t *testing.T, c *redis.Client, prefix, shop string) int {
	t.Helper()
	entries, err := c.XRange(context.Background(), "{"+prefix+"}:s:"+shop, "-", "+").Result()
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		n += strings.Count(e.Values["e"].(string), "\x00") + 1
	}
	return n
}

func TestChunkWithSomeStoredEventsKeepsTheRest(t *testing.T) {
	// A chunk whose events are partly stored already is cut apart inside the
	// script: ids holding NUL bytes, next to other bytes or one another,
	// check that the cut follows the separators exactly.
	c := newClient(t)
	prefix := newPrefix(t, c)
	s := newStore(t, c, prefix)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ids := []string{"a", "b\x00", "\x00c", "d\x00é", "eé\x00", "f", "g\x00\x00", "h"}
	var first, second []tracking.Event
	for i, id := range ids {
		e := ev("shop", id, at.Add(time.Duration(i)*time.Second))
		if i%2 == 0 {
			first = append(first, e)
		}
		second = append(second, e)
	}
	res, err := s.Append(context.Background(), first)
	require.NoError(t, err)
	require.Equal(t, len(first), res.Inserted)

	res, err = s.Append(context.Background(), second)
	require.NoError(t, err)
	require.Equal(t, len(ids)-len(first), res.Inserted)
	for i, d := range res.Duplicate {
		require.Equal(t, i%2 == 0, d, "event %d", i)
	}
	got := storetest.All(t, s, store.Filter{ShopID: "shop"})
	require.Len(t, got, len(ids))
	for i, e := range got {
		require.Equal(t, ids[i], e.ID)
	}
	require.Equal(t, len(ids), streamEvents(t, c, prefix, "shop"))
}

func TestReadsIndexWhatWasAppendedSinceTheLastRead(t *testing.T) {
	c := newClient(t)
	s := newStore(t, c, newPrefix(t, c))
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for round := range 5 {
		var batch []tracking.Event
		for i := range 700 { // more than one chunk
			// Later rounds go back in time, so every read must merge.
			id := fmt.Sprintf("r%d-%03d", round, i)
			batch = append(batch, ev("shop", id, at.Add(time.Duration(i*5+4-round)*time.Second)))
		}
		_, err := s.Append(context.Background(), batch)
		require.NoError(t, err)
		for _, e := range batch {
			want = append(want, e.ID)
		}
		got := storetest.All(t, s, store.Filter{ShopID: "shop"})
		require.Len(t, got, len(want), "round %d", round)
		require.True(t, slices.IsSortedFunc(got, func(a, b tracking.Event) int {
			if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		}))
	}
}

func TestPagesOverManyEntriesAreCutAndResumed(t *testing.T) {
	// Each append is its own entry, and consecutive events in time order
	// live in different entries, so a page meets its entry budget long
	// before it is full.
	c := newClient(t)
	s, err := redisstore.New(context.Background(), redisstore.Options{Client: c, Prefix: newPrefix(t, c), PageSize: 1000})
	require.NoError(t, err)
	defer s.Close()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const entries, perEntry = 100, 3
	for i := range entries {
		var batch []tracking.Event
		for j := range perEntry {
			batch = append(batch, ev("shop", fmt.Sprintf("%d-%d", i, j), at.Add(time.Duration(j*entries+i)*time.Second)))
		}
		_, err := s.Append(context.Background(), batch)
		require.NoError(t, err)
	}
	got := storetest.All(t, s, store.Filter{ShopID: "shop"})
	require.Len(t, got, entries*perEntry)
	for n, e := range got {
		require.Equal(t, fmt.Sprintf("%d-%d", n%entries, n/entries), e.ID)
	}
	// A bounded read stops inside a page.
	got = storetest.All(t, s, store.Filter{ShopID: "shop", From: at.Add(50 * time.Second), Limit: 70})
	require.Len(t, got, 70)
	require.Equal(t, "50-0", got[0].ID)
}

func TestEventWithBadPropertiesIsRefused(t *testing.T) {
	// Append does not validate; an event that went around Normalize with
	// properties that are not JSON, or hold a raw NUL, would make reads of
	// the shop fail or break the entry's separators.
	for _, props := range []string{"{\"a\":\"\x00\"}", `{"a":}`, `{"a":1`} {
		c := newClient(t)
		s := newStore(t, c, newPrefix(t, c))
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		bad := ev("shop", "bad", at)
		bad.Properties = []byte(props)
		_, err := s.Append(context.Background(), []tracking.Event{ev("shop", "good", at), bad})
		require.ErrorIs(t, err, store.ErrInvalid, props)
		require.ErrorContains(t, err, `"bad"`)
		require.Empty(t, storetest.All(t, s, store.Filter{ShopID: "shop"}), "nothing of the batch is stored")
	}
}

func TestSkewedClockLearnsRedisGeneration(t *testing.T) {
	c := newClient(t)
	s := newStore(t, c, newPrefix(t, c))
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, skew := range []int64{-3, 5} {
		s.SetGenerationSkew(skew)
		id := fmt.Sprint("skew", skew)
		res, err := s.Append(context.Background(), []tracking.Event{ev("a", id, at), ev("b", id, at)})
		require.NoError(t, err)
		require.Equal(t, 2, res.Inserted)
		res, err = s.Append(context.Background(), []tracking.Event{ev("a", id, at)})
		require.NoError(t, err)
		require.Equal(t, 1, res.Duplicates)
	}
}

func TestLargeEventsMakeSmallerChunks(t *testing.T) {
	// 30 events of ~100 KB: a chunk stops near 1 MiB, not at 256 events.
	c := newClient(t)
	prefix := newPrefix(t, c)
	s := newStore(t, c, prefix)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	props := []byte(`{"blob":"` + strings.Repeat("x", 100_000) + `"}`)
	var batch []tracking.Event
	for i := range 30 {
		e := ev("shop", fmt.Sprintf("big-%02d", i), at.Add(time.Duration(i)*time.Second))
		e.Properties = props
		batch = append(batch, e)
	}
	res, err := s.Append(context.Background(), batch)
	require.NoError(t, err)
	require.Equal(t, 30, res.Inserted)
	entries, err := c.XLen(context.Background(), "{"+prefix+"}:s:shop").Result()
	require.NoError(t, err)
	require.GreaterOrEqual(t, entries, int64(3), "about ten events per chunk")
	require.Equal(t, 30, streamEvents(t, c, prefix, "shop"))
	got := storetest.All(t, s, store.Filter{ShopID: "shop"})
	require.Len(t, got, 30)
	require.JSONEq(t, string(props), string(got[29].Properties))
}

// secret is a password no error may show.
const secret = "s3cret-Pw"

func TestOpenErrorsHideThePassword(t *testing.T) {
	c := newClient(t)
	base := storeURL(t, "prefix", newPrefix(t, c))
	withPassword := func(host, query string) string {
		u := *base
		u.User = url.UserPassword("", secret)
		if host != "" {
			u.Host = host
		}
		u.RawQuery = query
		return u.String()
	}
	sink := func(sinkURL string) string {
		return base.String() + "&sink=" + url.QueryEscape(sinkURL)
	}
	pg := "postgres://postgres:" + secret + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"
	cases := []struct {
		name string
		open func() error
	}{
		{"New: URL that does not parse", func() error {
			_, err := redisstore.New(context.Background(), redisstore.Options{URL: withPassword("", "") + "%zz"})
			return err
		}},
		{"New: bad database number", func() error {
			_, err := redisstore.New(context.Background(), redisstore.Options{URL: "redis://:" + secret + "@127.0.0.1:6379/db"})
			return err
		}},
		{"Open: unreachable server", func() error {
			_, err := store.Open(context.Background(), withPassword("127.0.0.1:1", "max_retries=-1"))
			return err
		}},
		{"Open: unknown option", func() error {
			_, err := store.Open(context.Background(), withPassword("", "nonsense=1"))
			return err
		}},
		{"Open: URL that does not parse", func() error {
			_, err := store.Open(context.Background(), "redis://:"+secret+"@127.0.0.1:63x79/0")
			return err
		}},
		{"sink that does not parse", func() error {
			_, err := store.Open(context.Background(), sink("postgres://postgres:"+secret+"@127.0.0.1:5432/te%zzst"))
			return err
		}},
		{"sink of an unknown scheme", func() error {
			_, err := store.Open(context.Background(), sink("nosuch://u:"+secret+"@h/x"))
			return err
		}},
		{"unreachable sink", func() error {
			testenv.PostgresURL(t)
			_, err := store.Open(context.Background(), sink(pg))
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			require.Error(t, err)
			t.Log(err)
			require.NotContains(t, err.Error(), secret)
			require.NotContains(t, err.Error(), url.QueryEscape(secret))
		})
	}
}
