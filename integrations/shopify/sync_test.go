package shopify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/integrations/shopify"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
	"github.com/shoplytics/shoplytics/tracking"
)

var quiet = slog.New(slog.DiscardHandler)

// pipeline is a real store and a started ingester on it.
type pipeline struct {
	store *sqlitestore.Store
	in    *ingest.Ingester
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	st, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "sync.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	in, err := ingest.New(st, ingest.Options{Logger: quiet})
	require.NoError(t, err)
	in.Start()
	t.Cleanup(func() { _ = in.Shutdown(context.Background()) })
	return &pipeline{store: st, in: in}
}

func syncOptions(f *fakeAdmin, p *pipeline) shopify.SyncOptions {
	return shopify.SyncOptions{ShopID: "shop-a", BaseURL: f.srv.URL, AccessToken: f.token, APIVersion: "2025-01",
		PageSize: 50, Checkpoints: p.store, CallInterval: f.leak, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Logger: quiet}
}

// countByType returns how many events of each type the shop has, and
// fails on an id stored twice (which the store's key rules out; the test
// says so of the data, not of the code).
func countByType(t *testing.T, s store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	seen := map[string]bool{}
	for e, err := range s.Events(context.Background(), store.Filter{ShopID: "shop-a"}) {
		require.NoError(t, err)
		require.False(t, seen[e.ID], e.ID)
		seen[e.ID] = true
		out[e.Type]++
	}
	return out
}

func TestSyncReadsEveryOrderOnceThroughThrottlingAndDroppedConnections(t *testing.T) {
	orders, refunds, voided := fakeOrders(1234)
	f := newFakeAdmin(t, orders)
	p := newPipeline(t)
	var lines []string
	o := syncOptions(f, p)
	o.Progress = func(pr shopify.Progress) { lines = append(lines, pr.String()) }
	res, err := shopify.Sync(context.Background(), p.in, o)
	require.NoError(t, err)
	require.Equal(t, 1234, res.Orders)
	require.Equal(t, 25, res.Pages)
	require.Equal(t, voided, 24)
	require.Equal(t, 1234-voided+refunds, res.Events)
	require.Positive(t, res.Throttled, "the fake's 429s were waited out")
	require.Positive(t, res.Retries, "the dropped connections were retried")
	require.False(t, res.Resumed)

	counts := countByType(t, p.store)
	require.Equal(t, 1234-voided, counts[tracking.PurchaseCompleted])
	require.Equal(t, refunds, counts[tracking.OrderRefunded])

	_, overflows, offsets := f.stats()
	require.Zero(t, overflows, "the sync kept under the bucket by its header")
	require.Len(t, offsets, 25, "each page read once")
	require.Len(t, lines, 25)
	require.True(t, strings.HasPrefix(lines[0], "shopify sync shop-a: 50/1234 orders (4.1%), "), lines[0])
	require.Contains(t, lines[24], "1234/1234 orders (100.0%)")
	require.Contains(t, lines[24], "done in")
}

// failingSink is an ingester whose Flush fails once on the n-th call:
// the process dies after the page's events were handed over and perhaps
// stored, before its checkpoint was saved.
type failingSink struct {
	*ingest.Ingester
	n, calls atomic.Int32
}

var errCrash = errors.New("crash")

func (s *failingSink) Flush(ctx context.Context) error {
	if s.calls.Add(1) == s.n.Load() {
		_ = s.Ingester.Flush(ctx)
		return errCrash
	}
	return s.Ingester.Flush(ctx)
}

func TestSyncResumesFromItsCheckpointAfterACrash(t *testing.T) {
	orders, refunds, voided := fakeOrders(600)
	f := newFakeAdmin(t, orders)
	p := newPipeline(t)
	sink := &failingSink{Ingester: p.in}
	sink.n.Store(5)
	res, err := shopify.Sync(context.Background(), sink, syncOptions(f, p))
	require.ErrorIs(t, err, errCrash)
	require.Equal(t, 200, res.Orders, "four pages were done; the fifth was read and handed over, its checkpoint not saved")

	_, _, before := f.stats()
	res, err = shopify.Sync(context.Background(), p.in, syncOptions(f, p))
	require.NoError(t, err)
	require.True(t, res.Resumed)
	require.Equal(t, 400, res.Orders, "the resumed run reads from the fifth page on")
	_, _, after := f.stats()
	require.Equal(t, 200, after[len(before)], "it starts at the page whose checkpoint was not saved")

	counts := countByType(t, p.store)
	require.Equal(t, 600-voided, counts[tracking.PurchaseCompleted], "every order once, the fifth page's too")
	require.Equal(t, refunds, counts[tracking.OrderRefunded])
}

func TestSyncStoppedByItsContextResumes(t *testing.T) {
	orders, _, voided := fakeOrders(300)
	f := newFakeAdmin(t, orders)
	p := newPipeline(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := syncOptions(f, p)
	o.Progress = func(pr shopify.Progress) {
		if pr.Orders == 100 {
			cancel()
		}
	}
	_, err := shopify.Sync(ctx, p.in, o)
	require.ErrorIs(t, err, context.Canceled)

	res, err := shopify.Sync(context.Background(), p.in, syncOptions(f, p))
	require.NoError(t, err)
	require.True(t, res.Resumed)
	require.Equal(t, 200, res.Orders)
	require.Equal(t, 300-voided, countByType(t, p.store)[tracking.PurchaseCompleted])
}

func TestSyncAfterACompleteOneReadsOnlyWhatChanged(t *testing.T) {
	orders, _, _ := fakeOrders(120)
	f := newFakeAdmin(t, orders)
	p := newPipeline(t)
	_, err := shopify.Sync(context.Background(), p.in, syncOptions(f, p))
	require.NoError(t, err)
	raw, ok, err := p.store.LoadCheckpoint(context.Background(), "shop-a", shopify.DefaultCheckpointName)
	require.NoError(t, err)
	require.True(t, ok)
	require.Contains(t, string(raw), `"complete":true`)

	// The fake ignores updated_at_min and serves everything again: every
	// event is a duplicate, and nothing is counted twice.
	res, err := shopify.Sync(context.Background(), p.in, syncOptions(f, p))
	require.NoError(t, err)
	require.False(t, res.Resumed)
	require.Equal(t, 120, res.Orders)
	require.Equal(t, 120-2, countByType(t, p.store)[tracking.PurchaseCompleted])
}

func TestSyncRefusesAWrongToken(t *testing.T) {
	orders, _, _ := fakeOrders(10)
	f := newFakeAdmin(t, orders)
	p := newPipeline(t)
	o := syncOptions(f, p)
	o.AccessToken = "shpat_wrong"
	_, err := shopify.Sync(context.Background(), p.in, o)
	require.ErrorContains(t, err, "401")
	require.Empty(t, countByType(t, p.store))
}

func TestSyncGivesUpOnAnAPIThatKeepsFailing(t *testing.T) {
	orders, _, _ := fakeOrders(10)
	f := newFakeAdmin(t, orders)
	f.dropEvery = 1
	p := newPipeline(t)
	o := syncOptions(f, p)
	o.MaxAttempts = 3
	_, err := shopify.Sync(context.Background(), p.in, o)
	require.ErrorContains(t, err, "gave up after 3 attempts")
}

func TestSyncOptionsAreChecked(t *testing.T) {
	p := newPipeline(t)
	for name, o := range map[string]shopify.SyncOptions{
		"no shop":      {AccessToken: "t", Domain: "x.myshopify.com"},
		"no token":     {ShopID: "s", Domain: "x.myshopify.com"},
		"no domain":    {ShopID: "s", AccessToken: "t"},
		"bad base":     {ShopID: "s", AccessToken: "t", BaseURL: "ftp://x"},
		"page too big": {ShopID: "s", AccessToken: "t", Domain: "x.myshopify.com", PageSize: 251},
		"negative":     {ShopID: "s", AccessToken: "t", Domain: "x.myshopify.com", Headroom: -1},
	} {
		_, err := shopify.Sync(context.Background(), p.in, o)
		require.Error(t, err, name)
	}
}

func TestSyncAndWebhooksCountEachOrderOnce(t *testing.T) {
	orders, refunds, voided := fakeOrders(200)
	f := newFakeAdmin(t, orders)
	p := newPipeline(t)
	h, err := httpapi.New(httpapi.Config{Store: p.store, Ingester: p.in, Logger: quiet,
		Shops: []httpapi.Shop{{ID: "shop-a", WriteKey: "wk_a", ReadKey: "rk_a", ShopifySecret: "whsec_1", ShopifyDomain: "a.myshopify.com"}}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	// The webhooks came for the first 80 orders, both topics, before the
	// sync was ever run.
	for i, body := range orders[:80] {
		for _, topic := range []string{shopify.TopicOrdersCreate, shopify.TopicOrdersPaid} {
			req, err := http.NewRequest("POST", srv.URL+"/webhooks/shopify", bytes.NewReader(body))
			require.NoError(t, err)
			mac := hmac.New(sha256.New, []byte("whsec_1"))
			mac.Write(body)
			req.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			req.Header.Set("X-Shopify-Topic", topic)
			req.Header.Set("X-Shopify-Shop-Domain", "a.myshopify.com")
			req.Header.Set("X-Shopify-Webhook-Id", fmt.Sprintf("wh-%d-%s", i, topic))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
	}
	_, err = shopify.Sync(context.Background(), p.in, syncOptions(f, p))
	require.NoError(t, err)

	q := analytics.Query{ShopID: "shop-a", From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	stats, err := analytics.Stats(context.Background(), p.store, q, analytics.StatsOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 200-voided, stats.Purchases)
	var want int64
	for i := range 200 {
		if i%50 != 49 {
			want += int64((10+i%90)*100 + i%100)
		}
	}
	require.Len(t, stats.Revenue, 1)
	require.Equal(t, "CAD", stats.Revenue[0].Currency)
	require.Equal(t, want, stats.Revenue[0].Total.Minor, "each order's total_price once")
	require.Equal(t, refunds, countByType(t, p.store)[tracking.OrderRefunded])
}

// TestSyncSkipsAnOrderWithLossyText: an order of a page holding a string
// encoding/json would decode with a loss (here its checkout token, which
// becomes the anonymous id, with an unpaired surrogate) is skipped and
// counted, and the sync goes on with the rest of its page and beyond.
func TestSyncSkipsAnOrderWithLossyText(t *testing.T) {
	orders, _, voided := fakeOrders(120)
	bad := strings.Replace(string(orders[7]), `"checkout_token":"tok00000007"`, `"checkout_token":"tok\udbff"`, 1)
	require.NotEqual(t, string(orders[7]), bad)
	orders[7] = []byte(bad)
	f := newFakeAdmin(t, orders)
	p := newPipeline(t)
	res, err := shopify.Sync(context.Background(), p.in, syncOptions(f, p))
	require.NoError(t, err)
	require.Equal(t, 120, res.Orders)
	require.Equal(t, 1, res.Skipped)
	require.Equal(t, 120-voided-1, countByType(t, p.store)[tracking.PurchaseCompleted])
}
