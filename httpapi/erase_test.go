package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
)

// TestDeleteUserErasesThePersonAndTheirDevicesHistory posts a person's
// anonymous browsing, identify and purchase and another visitor's events,
// erases the person through DELETE /api/users/{id} right away (what the
// ingester holds is stored first), and finds only the other visitor left,
// with /api/stats, read from the rollups, equal to a count over the events
// left.
func TestDeleteUserErasesThePersonAndTheirDevicesHistory(t *testing.T) {
	st, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "erase.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e := newEnv(t, envOptions{store: st})
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	var body []string
	ev := func(id, typ, user, anon string, minute int, extra string) {
		body = append(body, fmt.Sprintf(`{"id":%q,"type":%q,"user_id":%q,"anonymous_id":%q,"timestamp":%q%s}`,
			id, typ, user, anon, day.Add(time.Duration(minute)*time.Minute).Format(time.RFC3339), extra))
	}
	ev("p1", "page_viewed", "", "dev-x", 0, "")
	ev("p2", "identify", "cust-x", "dev-x", 2, "")
	ev("p3", "purchase_completed", "cust-x", "dev-x", 3, `,"order_id":"o1","revenue":"19.99","currency":"EUR"`)
	ev("q1", "page_viewed", "", "dev-y", 1, "")
	ev("q2", "purchase_completed", "", "dev-y", 4, `,"order_id":"o2","revenue":"5.00","currency":"EUR"`)
	status, a := e.post("wk_a", "["+strings.Join(body, ",")+"]")
	require.Equal(t, http.StatusAccepted, status, "%+v", a)

	status, _, b := e.do("DELETE", "/api/users/cust-x", nil, map[string]string{"Authorization": "Bearer rk_a"})
	require.Equal(t, http.StatusOK, status, string(b))
	require.JSONEq(t, `{"deleted":3}`, string(b))
	require.ElementsMatch(t, []string{"shop-a/q1", "shop-a/q2"}, ids("shop-a", e.stored("shop-a")))

	q := fmt.Sprintf("?from=%s&to=%s", day.Format("2006-01-02"), day.Add(48*time.Hour).Format("2006-01-02"))
	status, b = e.get("rk_a", "/api/stats"+q)
	require.Equal(t, http.StatusOK, status, string(b))
	var stats struct {
		Events, Users, Purchases int
		Revenue                  []struct{ Currency, Total string }
	}
	require.NoError(t, json.Unmarshal(b, &stats))
	require.Equal(t, 2, stats.Events)
	require.Equal(t, 1, stats.Users)
	require.Equal(t, 1, stats.Purchases)
	require.Equal(t, "5.00", stats.Revenue[0].Total)
	want, err := analytics.Stats(context.Background(), memstoreOf(t, e), analytics.Query{ShopID: "shop-a", From: day, To: day.Add(48 * time.Hour)}, analytics.StatsOptions{})
	require.NoError(t, err)
	require.EqualValues(t, want.Events, stats.Events, "the rollups agree with the events left")
	require.EqualValues(t, want.Users, stats.Users)

	status, _, b = e.do("DELETE", "/api/users/cust-x", nil, map[string]string{"Authorization": "Bearer rk_a"})
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"deleted":0}`, string(b))
}

func TestDeleteUserRefusesWhatItMust(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, c := range []struct {
		name, key, path string
		status          int
	}{
		{"no key", "", "/api/users/u", http.StatusUnauthorized},
		{"write key", "wk_a", "/api/users/u", http.StatusUnauthorized},
		{"another shop", "rk_a", "/api/users/u?shop=shop-b", http.StatusForbidden},
		{"admin without shop", adminKey, "/api/users/u", http.StatusBadRequest},
		{"id too long", "rk_a", "/api/users/" + strings.Repeat("u", 129), http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.key != "" {
				hdr["Authorization"] = "Bearer " + c.key
			}
			status, _, b := e.do("DELETE", c.path, nil, hdr)
			require.Equal(t, c.status, status, string(b))
		})
	}
}

// memstoreOf copies what e's store holds into a memstore, the reference
// the generic analytics path reads.
func memstoreOf(t *testing.T, e *env) *memstore.Store {
	m := memstore.New()
	_, err := m.Append(context.Background(), e.stored("shop-a"))
	require.NoError(t, err)
	return m
}
