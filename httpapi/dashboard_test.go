package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store/memstore"
)

func TestDashboardServesItsEmbeddedFiles(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, c := range []struct {
		path, file, contentType string
	}{
		{"/dashboard/", "index.html", "text/html; charset=utf-8"},
		{"/dashboard/index.html", "index.html", "text/html; charset=utf-8"},
		{"/dashboard/app.js", "app.js", "text/javascript; charset=utf-8"},
		{"/dashboard/style.css", "style.css", "text/css; charset=utf-8"},
	} {
		t.Run(c.path, func(t *testing.T) {
			want, err := os.ReadFile("dashboard/" + c.file)
			require.NoError(t, err)

			status, hdr, body := e.do("GET", c.path, nil, map[string]string{"Accept-Encoding": "identity"})
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, c.contentType, hdr.Get("Content-Type"))
			require.Equal(t, "no-cache", hdr.Get("Cache-Control"))
			require.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"))
			require.Empty(t, hdr.Get("Content-Encoding"))
			require.Equal(t, want, body, "the file as committed")
			etag := hdr.Get("ETag")
			require.Regexp(t, `^"[0-9a-f]{24}"$`, etag)

			// Unchanged: 304 and no body, for the tag of either encoding.
			status, hdr, body = e.do("GET", c.path, nil, map[string]string{"If-None-Match": etag, "Accept-Encoding": "identity"})
			require.Equal(t, http.StatusNotModified, status)
			require.Empty(t, body)
			require.Equal(t, etag, hdr.Get("ETag"))
			status, _, _ = e.do("GET", c.path, nil, map[string]string{"If-None-Match": `"other", W/` + etag})
			require.Equal(t, http.StatusNotModified, status)
			status, _, _ = e.do("GET", c.path, nil, map[string]string{"If-None-Match": `"other"`})
			require.Equal(t, http.StatusOK, status)

			// Gzip when asked for, with its own tag.
			status, hdr, body = e.do("GET", c.path, nil, map[string]string{"Accept-Encoding": "br, gzip"})
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "gzip", hdr.Get("Content-Encoding"))
			require.Contains(t, hdr.Values("Vary"), "Accept-Encoding")
			require.Equal(t, strings.TrimSuffix(etag, `"`)+`-gz"`, hdr.Get("ETag"))
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			require.Equal(t, want, plain)
			require.Less(t, len(body), len(want))
			status, hdr, _ = e.do("GET", c.path, nil, map[string]string{"Accept-Encoding": "gzip;q=0"})
			require.Equal(t, http.StatusOK, status)
			require.Empty(t, hdr.Get("Content-Encoding"))
		})
	}

	status, hdr, _ := e.do("GET", "/dashboard/", nil, nil)
	require.Equal(t, http.StatusOK, status)
	csp := hdr.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'")
	require.NotContains(t, csp, "script-src", "scripts only from the page's own files (default-src)")

	status, hdr, body := e.do("GET", "/dashboard/nope.js", nil, nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	require.JSONEq(t, `{"error":"no such file in the dashboard"}`, string(body))

	status, hdr, body = e.do("HEAD", "/dashboard/app.js", nil, map[string]string{"Accept-Encoding": "identity"})
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, hdr.Get("Content-Length"))
	require.Empty(t, body)
}

// noRedirects is a client that hands back redirects instead of following
// them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestDashboardRedirectKeepsTheMountPrefix(t *testing.T) {
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h, err := httpapi.New(httpapi.Config{Store: mem, Ingester: in, Shops: shops, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	for _, mount := range []string{"", "/analytics", "/a/b"} {
		t.Run("mounted at "+mount+"/", func(t *testing.T) {
			mux := http.NewServeMux()
			if mount == "" {
				mux.Handle("/", h)
			} else {
				mux.Handle(mount+"/", http.StripPrefix(mount, h))
			}
			srv := httptest.NewServer(mux)
			defer srv.Close()
			start := srv.URL + mount + "/dashboard?tab=1"
			resp, err := noRedirects.Get(start)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
			require.Equal(t, "dashboard/?tab=1", resp.Header.Get("Location"), "relative, so the prefix survives")
			base, err := url.Parse(start)
			require.NoError(t, err)
			next, err := base.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, mount+"/dashboard/", next.Path)

			resp, err = http.Get(next.String())
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, string(body), "<title>shoplytics dashboard</title>")
		})
	}
}

// TestDashboardUsesOnlyRelativeURLs keeps the page mountable anywhere and
// working offline: no absolute path, no other host.
func TestDashboardUsesOnlyRelativeURLs(t *testing.T) {
	html, err := os.ReadFile("dashboard/index.html")
	require.NoError(t, err)
	attrs := regexp.MustCompile(`(?:src|href|action)="([^"]*)"`).FindAllStringSubmatch(string(html), -1)
	require.NotEmpty(t, attrs)
	for _, a := range attrs {
		require.False(t, strings.HasPrefix(a[1], "/") || strings.Contains(a[1], "//"), "index.html: %s", a[0])
	}
	for _, f := range []string{"dashboard/app.js", "dashboard/style.css"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NotRegexp(t, `['"\x60]/(api|events|tracker|dashboard)`, string(b), "%s names an absolute path", f)
		require.NotRegexp(t, `(?:url\(|['"])(?:https?:)?//`, string(b), "%s loads from another host", f)
	}
}

// postSVGData stores two days of a shop-a funnel: three sessions view p1,
// two add it to the cart, one checks out and buys.
func postSVGData(t *testing.T, e *env) {
	t.Helper()
	body := `[
	{"type":"product_viewed","session_id":"s1","product_id":"p1","timestamp":"2026-03-02T10:00:00Z"},
	{"type":"add_to_cart","session_id":"s1","product_id":"p1","timestamp":"2026-03-02T10:01:00Z"},
	{"type":"checkout_started","session_id":"s1","timestamp":"2026-03-02T10:02:00Z"},
	{"type":"purchase_completed","session_id":"s1","revenue":"20.00","currency":"EUR","timestamp":"2026-03-02T10:03:00Z"},
	{"type":"product_viewed","session_id":"s2","product_id":"p1","timestamp":"2026-03-03T09:00:00Z"},
	{"type":"add_to_cart","session_id":"s2","product_id":"p1","timestamp":"2026-03-03T09:05:00Z"},
	{"type":"product_viewed","session_id":"s3","product_id":"p1","timestamp":"2026-03-03T11:00:00Z"}
	]`
	status, a := e.post("wk_a", body)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, 7, a.Accepted)
	e.flush()
}

func svgTextsOf(t *testing.T, b []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	in := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return texts
		}
		require.NoError(t, err, "well-formed SVG")
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "text"
		case xml.CharData:
			if in {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			in = false
		}
	}
}

func TestChartRoutesDrawTheDataAsSVG(t *testing.T) {
	e := newEnv(t, envOptions{})
	postSVGData(t, e)
	const rng = "from=2026-03-02&to=2026-03-04"
	for _, c := range []struct {
		name, path string
		want       []string
	}{
		{"events per day", "/api/charts/timeseries.svg?" + rng, []string{"Events per day", "Events", "Day", "Mar 2", "Mar 3"}},
		{"revenue names its currency", "/api/charts/timeseries.svg?metric=revenue&" + rng, []string{"Revenue (EUR) per day", "Revenue (EUR)"}},
		{"hours in a zone", "/api/charts/timeseries.svg?metric=sessions&interval=hour&tz=Europe/Berlin&from=2026-03-03&to=2026-03-04",
			[]string{"Sessions per hour", "Hour (Europe/Berlin)", "2026-03-03 00:00 to 2026-03-03 23:00 · time zone Europe/Berlin"}},
		{"funnel of the default steps", "/api/charts/funnel.svg?" + rng, []string{"Funnel by session", "Product viewed", "Add to cart",
			"Checkout started", "Purchase completed", "3 · 100%", "2 · 66.7%", "1 · 33.3%", "Sessions"}},
		{"funnel of named steps", "/api/charts/funnel.svg?steps=product_viewed,add_to_cart&by=session&window=2m&" + rng,
			[]string{"Funnel by session", "Product viewed", "Add to cart", "33.3% reach Add to cart within 2m0s"}},
		{"empty range", "/api/charts/timeseries.svg?from=2026-01-01&to=2026-01-08", []string{"No data in this range", "Events per day"}},
		{"empty funnel", "/api/charts/funnel.svg?from=2026-01-01&to=2026-01-08", []string{"No data in this range"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, b := e.do("GET", c.path, nil, map[string]string{"Authorization": "Bearer rk_a"})
			require.Equal(t, http.StatusOK, status, string(b))
			require.Equal(t, "image/svg+xml", hdr.Get("Content-Type"))
			require.Equal(t, "private, no-cache", hdr.Get("Cache-Control"))
			require.Contains(t, hdr.Get("Content-Security-Policy"), "default-src 'none'")
			require.True(t, bytes.HasPrefix(b, []byte("<svg")), "%.80s", b)
			texts := svgTextsOf(t, b)
			for _, w := range c.want {
				require.Contains(t, texts, w)
			}
		})
	}

	// The size asked for is the size drawn.
	status, b := e.get("rk_a", "/api/charts/funnel.svg?width=360&height=240&"+rng)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(b), `viewBox="0 0 360 240"`)
}

func TestChartRoutesCheckKeysAndParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, route := range []string{"/api/charts/timeseries.svg", "/api/charts/funnel.svg"} {
		for _, c := range []struct {
			name, key, query string
			status           int
			field            string
		}{
			{"own shop", "rk_a", "", 200, ""},
			{"admin names the shop", adminKey, "shop=shop-b", 200, ""},
			{"no key", "", "", 401, ""},
			{"unknown key", "rk_nope", "", 401, ""},
			{"write key", "wk_a", "", 401, ""},
			{"another shop", "rk_a", "shop=shop-b", 403, "shop"},
			{"admin without shop", adminKey, "", 400, "shop"},
			{"admin with unknown shop", adminKey, "shop=nope", 404, "shop"},
			{"bad zone", "rk_a", "tz=Mars/Base", 400, "tz"},
			{"too narrow", "rk_a", "width=10", 400, "width"},
			{"too tall", "rk_a", "height=99999", 400, "height"},
			{"width not a number", "rk_a", "width=wide", 400, "width"},
		} {
			t.Run(route+"/"+c.name, func(t *testing.T) {
				status, hdr, b := e.do("GET", route+"?"+c.query, nil, map[string]string{"Authorization": "Bearer " + c.key})
				require.Equal(t, c.status, status, string(b))
				if status == 200 {
					require.Equal(t, "image/svg+xml", hdr.Get("Content-Type"))
					return
				}
				require.Equal(t, "application/json", hdr.Get("Content-Type"))
				var eb struct{ Error, Field string }
				require.NoError(t, json.Unmarshal(b, &eb), string(b))
				require.Equal(t, c.field, eb.Field)
				if status == 401 {
					require.Equal(t, `Bearer realm="shoplytics"`, hdr.Get("WWW-Authenticate"))
				}
			})
		}
	}
	for _, c := range []struct{ path, field string }{
		{"/api/charts/timeseries.svg?metric=profit", "metric"},
		{"/api/charts/timeseries.svg?interval=fortnight", "interval"},
		{"/api/charts/funnel.svg?by=device", "by"},
		{"/api/charts/funnel.svg?window=soon", "window"},
	} {
		status, b := e.get("rk_a", c.path)
		require.Equal(t, http.StatusBadRequest, status, c.path)
		var eb struct{ Field string }
		require.NoError(t, json.Unmarshal(b, &eb))
		require.Equal(t, c.field, eb.Field, c.path)
	}
}

func TestShopsListsWhatTheKeyMayRead(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *httpapi.Config) {
		c.Shops = []httpapi.Shop{shops[0], {ID: "shop-b", WriteKey: "wk_b", ReadKey: "rk_b", Timezone: "Europe/Berlin"}}
	}})
	for _, c := range []struct {
		key    string
		status int
		want   string
	}{
		{"rk_a", 200, `{"admin":false,"shops":[{"id":"shop-a","timezone":"UTC"}]}`},
		{"rk_b", 200, `{"admin":false,"shops":[{"id":"shop-b","timezone":"Europe/Berlin"}]}`},
		{adminKey, 200, `{"admin":true,"shops":[{"id":"shop-a","timezone":"UTC"},{"id":"shop-b","timezone":"Europe/Berlin"}]}`},
		{"", 401, `{"error":"missing or unknown key"}`},
		{"wk_a", 401, `{"error":"missing or unknown key"}`},
	} {
		status, b := e.get(c.key, "/api/shops")
		require.Equal(t, c.status, status, c.key)
		require.JSONEq(t, c.want, string(b), c.key)
	}
}

func TestDashboardAndTrackerReadAcceptEncodingAlike(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"identity", false},
		{"gzip", true},
		{"br, gzip;q=0.8", true},
		{"gzip;q=0", false},
		{"gzip;q=0;level=9", false},
		{"GZIP ; Q=0.5", true},
		{"x-gzip", true},
		{"*", true},
		{"deflate, br", false},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			for _, path := range []string{"/tracker.js", "/dashboard/app.js"} {
				status, h, _ := e.do("GET", path, nil, map[string]string{"Accept-Encoding": tc.accept})
				require.Equal(t, http.StatusOK, status, path)
				if tc.gzip {
					require.Equal(t, "gzip", h.Get("Content-Encoding"), path)
				} else {
					require.Empty(t, h.Get("Content-Encoding"), path)
				}
			}
		})
	}
}
