package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/internal/serve"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

type testShop struct {
	t      *testing.T
	url    string
	client *http.Client
	st     *memstore.Store
	in     *ingest.Ingester
	rec    *tracking.Client // the shop's server-side client
}

// newTestShop serves the shop and the analytics handler as main does, on
// a memory store.
func newTestShop(t *testing.T) *testShop {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	st := memstore.New()
	in, err := ingest.New(st, ingest.Options{Logger: log})
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = in.Shutdown(ctx)
	})
	k := serve.DemoKeys
	h, err := httpapi.New(httpapi.Config{Store: st, Ingester: in, Shops: k.Shops, AdminKey: k.AdminKey, Logger: log})
	require.NoError(t, err)
	rec, err := tracking.NewClient(tracking.ClientOptions{Sink: in, ShopID: k.Shops[0].ID, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	s, err := newShop(k.Shops[0].ID, k.Shops[0].WriteKey, rec, log)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
	s.routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &testShop{t: t, url: srv.URL, client: &http.Client{Jar: jar}, st: st, in: in, rec: rec}
}

func (ts *testShop) get(path string) (int, string) {
	ts.t.Helper()
	resp, err := ts.client.Get(ts.url + path)
	require.NoError(ts.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(ts.t, err)
	return resp.StatusCode, string(b)
}

func (ts *testShop) post(path string, form url.Values) (int, string, string) {
	ts.t.Helper()
	resp, err := ts.client.PostForm(ts.url+path, form)
	require.NoError(ts.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(ts.t, err)
	return resp.StatusCode, string(b), resp.Request.URL.Path
}

func (ts *testShop) events() []tracking.Event {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(ts.t, ts.rec.Flush(ctx))
	require.NoError(ts.t, ts.in.Flush(ctx))
	var out []tracking.Event
	for e, err := range ts.st.Events(ctx, store.Filter{ShopID: "demo"}) {
		require.NoError(ts.t, err)
		out = append(out, e)
	}
	return out
}

var tokenField = regexp.MustCompile(`name="token" value="([0-9a-f]+)"`)

func TestPagesLoadTheTrackerWithTheSnippet(t *testing.T) {
	ts := newTestShop(t)
	for _, path := range []string{"/", "/products/p-shoes-1", "/cart", "/?category=shoes"} {
		status, body := ts.get(path)
		require.Equal(t, http.StatusOK, status, path)
		require.Contains(t, body, `<script async src="/analytics/tracker.js"></script>`, path)
		require.Contains(t, body, `shoplytics.init({apiKey: "wk_demo"})`, path)
	}
	_, body := ts.get("/products/p-shoes-1")
	require.Contains(t, body, `data-shoplytics-event="add_to_cart" data-product-id="p-shoes-1"`)
	require.Contains(t, body, `shoplytics.track("product_viewed", {"category":"shoes","currency":"USD","price":"59.99","product_id":"p-shoes-1","product_name":"Trail Runner"})`)
	status, _ := ts.get("/products/nope")
	require.Equal(t, http.StatusNotFound, status)
	status, js := ts.get("/analytics/tracker.js")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, js, "sendBeacon")
}

func TestCheckoutRecordsOnePurchaseInTheVisitorsSession(t *testing.T) {
	ts := newTestShop(t)
	status, _, path := ts.post("/cart/add", url.Values{"product_id": {"p-shoes-1"}, "quantity": {"2"}})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "/cart", path)
	ts.post("/cart/add", url.Values{"product_id": {"p-shirts-1"}})
	_, form := ts.get("/checkout")
	m := tokenField.FindStringSubmatch(form)
	require.NotNil(t, m, form)
	order := url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "token": {m[1]},
		"anonymous_id": {"anon-1"}, "session_id": {"sess-1"}}
	status, body, path := ts.post("/checkout", order)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "/orders/ord-"+m[1], path)
	require.Contains(t, body, "Thank you, Ada!")
	// The same form again (a double click, a reload): the same order.
	status, _, path = ts.post("/checkout", order)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "/orders/ord-"+m[1], path)

	evs := ts.events()
	require.Len(t, evs, 2)
	identify, purchase := evs[0], evs[1]
	require.Equal(t, tracking.Identify, identify.Type)
	require.Equal(t, tracking.PurchaseCompleted, purchase.Type)
	for _, e := range evs {
		require.Equal(t, "anon-1", e.AnonymousID)
		require.Equal(t, "sess-1", e.SessionID)
		require.Equal(t, customerID("ada@example.com"), e.UserID)
		require.NotContains(t, string(e.Properties), "ada@example.com")
	}
	require.Equal(t, "ord-"+m[1], purchase.OrderID)
	require.Equal(t, "USD", purchase.Revenue.Currency)
	require.Equal(t, "144.97", purchase.Revenue.String(), "two of 59.99 and one of 24.99")
	require.Contains(t, string(purchase.Properties), `"product_id":"p-shoes-1"`)

	// The cart is empty now: checkout sends the visitor back to it.
	_, body = ts.get("/checkout")
	require.Contains(t, body, "Your cart is empty")
}

func TestCheckoutRefusesBadFormsNamingTheField(t *testing.T) {
	ts := newTestShop(t)
	ts.post("/cart/add", url.Values{"product_id": {"p-shoes-1"}})
	_, form := ts.get("/checkout")
	token := tokenField.FindStringSubmatch(form)[1]
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no e-mail", url.Values{"token": {token}}, "email"},
		{"not an e-mail", url.Values{"email": {"ada"}, "token": {token}}, "email"},
		{"a made-up token", url.Values{"email": {"ada@example.com"}, "token": {"x"}}, "token"},
		{"a long name", url.Values{"email": {"ada@example.com"}, "token": {token}, "name": {strings.Repeat("a", 101)}}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := ts.post("/checkout", tc.form)
			require.Equal(t, http.StatusBadRequest, status)
			require.Contains(t, body, tc.field+":")
		})
	}
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"an unknown product", url.Values{"product_id": {"nope"}}, "product_id"},
		{"a quantity of zero", url.Values{"product_id": {"p-shoes-1"}, "quantity": {"0"}}, "quantity"},
		{"a quantity that is no number", url.Values{"product_id": {"p-shoes-1"}, "quantity": {"two"}}, "quantity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := ts.post("/cart/add", tc.form)
			require.Equal(t, http.StatusBadRequest, status)
			require.Contains(t, body, tc.field+":")
		})
	}
	require.Empty(t, ts.events(), "nothing was recorded")
}

func TestCheckoutWithoutTheTrackerRecordsThePurchaseAlone(t *testing.T) {
	ts := newTestShop(t)
	ts.post("/cart/add", url.Values{"product_id": {"p-shoes-1"}})
	_, form := ts.get("/checkout")
	token := tokenField.FindStringSubmatch(form)[1]
	// Do-Not-Track: the tracker put no ids in the form; a forged id is
	// not taken either.
	status, _, _ := ts.post("/checkout", url.Values{"email": {"bo@example.com"}, "token": {token}, "anonymous_id": {"<script>"}})
	require.Equal(t, http.StatusOK, status)
	evs := ts.events()
	require.Len(t, evs, 1)
	require.Equal(t, tracking.PurchaseCompleted, evs[0].Type)
	require.Empty(t, evs[0].AnonymousID)
	require.Equal(t, customerID("bo@example.com"), evs[0].UserID)
}

// The README's snippet is the one the shop's pages use, so what users copy
// is what the browser tests run.
func TestREADMESnippetIsTheShops(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## Track the browser")
	require.True(t, ok, "the README has a Track the browser section")
	_, snippet, ok := strings.Cut(section, "```html\n")
	require.True(t, ok)
	snippet, _, ok = strings.Cut(snippet, "```")
	require.True(t, ok)
	layout, err := templateFiles.ReadFile("templates/layout.html")
	require.NoError(t, err)
	page := strings.ReplaceAll(string(layout), "{{.WriteKey}}", `"wk_demo"`)
	for _, line := range strings.Split(strings.TrimSpace(snippet), "\n") {
		require.Contains(t, page, line)
	}
}
