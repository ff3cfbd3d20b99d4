package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/internal/serve"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/sqlitestore"
)

// adminAPI serves two pages of orders as Shopify's Admin API does.
func adminAPI(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Shopify-Access-Token") != "shpat_x" {
			http.Error(w, `{"errors":"[API] Invalid API key or access token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", "1/40")
		switch {
		case r.URL.Path == "/admin/api/2025-01/orders/count.json":
			fmt.Fprint(w, `{"count":3}`)
		case r.URL.Path == "/admin/api/2025-01/orders.json" && r.URL.Query().Get("page_info") == "":
			w.Header().Set("Link", `<`+srv.URL+`/admin/api/2025-01/orders.json?limit=250&page_info=p2>; rel="next"`)
			fmt.Fprint(w, `{"orders":[`+order(1)+`,`+order(2)+`]}`)
		case r.URL.Path == "/admin/api/2025-01/orders.json" && r.URL.Query().Get("page_info") == "p2":
			fmt.Fprint(w, `{"orders":[`+order(3)+`]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func order(i int) string {
	return fmt.Sprintf(`{"id":45078946%d,"currency":"USD","total_price":"%d.00","created_at":"2025-01-0%dT10:00:00-05:00","customer":{"id":20711955%d},"line_items":[{"product_id":632910392,"title":"IPod Nano","price":"%d.00","quantity":1}]}`, i, 100+i, i, i, 100+i)
}

func TestShopifySyncFlagImportsOrdersAndPrintsProgress(t *testing.T) {
	api := adminAPI(t)
	st, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: filepath.Join(t.TempDir(), "s.db")})
	require.NoError(t, err)
	defer st.Close()
	keys := serve.Keys{Shops: []httpapi.Shop{{ID: "shop-a", WriteKey: "wk", ReadKey: "rk", ShopifyDomain: "a.myshopify.com"}}}
	quiet := slog.New(slog.DiscardHandler)
	var out bytes.Buffer
	o := shopifySync{shop: "shop-a", token: "shpat_x", apiURL: api.URL, version: "2025-01"}
	require.NoError(t, runShopifySync(context.Background(), st, keys, o, quiet, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	require.Contains(t, lines[0], "shopify sync shop-a: 2/3 orders (66.7%)")
	require.Contains(t, lines[0], "orders/s")
	require.Contains(t, lines[1], "3/3 orders (100.0%)")

	var ids []string
	for e, err := range st.Events(context.Background(), store.Filter{ShopID: "shop-a"}) {
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	require.Equal(t, []string{"shopify:order:450789461", "shopify:order:450789462", "shopify:order:450789463"}, ids)

	o.token = ""
	t.Setenv("SHOPLYTICS_SHOPIFY_TOKEN", "")
	require.ErrorContains(t, runShopifySync(context.Background(), st, keys, o, quiet, &out), "-shopify-token")
	o.token, o.shop = "shpat_x", "nope"
	require.ErrorContains(t, runShopifySync(context.Background(), st, keys, o, quiet, &out), `no shop "nope"`)
	o.token, o.shop = "shpat_wrong", "shop-a"
	require.ErrorContains(t, runShopifySync(context.Background(), st, keys, o, quiet, &out), "401")
}
