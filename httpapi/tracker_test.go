package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTrackerStaysUnderFiveKiBGzipped(t *testing.T) {
	js, err := os.ReadFile("tracker.js")
	require.NoError(t, err)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(js)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.Less(t, buf.Len(), 5*1024, "tracker.js is %d bytes gzipped", buf.Len())

	// What is served is that size too.
	e := newEnv(t, envOptions{})
	status, hdr, body := e.do("GET", "/tracker.js", nil, map[string]string{"Accept-Encoding": "gzip"})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "gzip", hdr.Get("Content-Encoding"))
	require.Less(t, len(body), 5*1024)
}

func TestTrackerIsGzippedOnlyWhenTheClientTakesIt(t *testing.T) {
	js, err := os.ReadFile("tracker.js")
	require.NoError(t, err)
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"", false},
		{"gzip", true},
		{"br, gzip;q=0.8", true},
		{"deflate, br", false},
		{"gzip;q=0", false},
		{"GZIP ; Q=0.5", true},
		{"*", true},
		{"identity", false},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.accept != "" {
				hdr["Accept-Encoding"] = tc.accept
			} else {
				hdr["Accept-Encoding"] = "identity" // stop the Go client asking for gzip itself
			}
			status, h, body := e.do("GET", "/tracker.js", nil, hdr)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "Accept-Encoding", h.Get("Vary"))
			require.Equal(t, "text/javascript; charset=utf-8", h.Get("Content-Type"))
			require.Contains(t, h.Get("Cache-Control"), "max-age=")
			require.NotEmpty(t, h.Get("ETag"))
			if !tc.gzip {
				require.Empty(t, h.Get("Content-Encoding"))
				require.Equal(t, js, body)
				return
			}
			require.Equal(t, "gzip", h.Get("Content-Encoding"))
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			require.Equal(t, js, plain)
		})
	}
}

func TestTrackerAnswers304ToTheETagTheClientHas(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, plainHdr, _ := e.do("GET", "/tracker.js", nil, map[string]string{"Accept-Encoding": "identity"})
	_, gzHdr, _ := e.do("GET", "/tracker.js", nil, map[string]string{"Accept-Encoding": "gzip"})
	plainTag, gzTag := plainHdr.Get("ETag"), gzHdr.Get("ETag")
	require.NotEqual(t, plainTag, gzTag, "each encoding is its own representation")

	for _, tc := range []struct {
		name, ifNoneMatch, accept string
		status                    int
	}{
		{"plain tag", plainTag, "identity", http.StatusNotModified},
		{"gzip tag", gzTag, "gzip", http.StatusNotModified},
		{"weak form", "W/" + gzTag, "gzip", http.StatusNotModified},
		{"in a list", `"old", ` + plainTag, "identity", http.StatusNotModified},
		{"star", "*", "gzip", http.StatusNotModified},
		{"an old version", `"0123456789abcdef"`, "gzip", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := e.do("GET", "/tracker.js", nil, map[string]string{"If-None-Match": tc.ifNoneMatch, "Accept-Encoding": tc.accept})
			require.Equal(t, tc.status, status)
			require.NotEmpty(t, h.Get("ETag"))
			require.NotEmpty(t, h.Get("Cache-Control"))
			if status == http.StatusNotModified {
				require.Empty(t, body)
			} else {
				require.NotEmpty(t, body)
			}
		})
	}
}

func TestTrackerAnswersHEADWithoutABody(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, h, body := e.do("HEAD", "/tracker.js", nil, map[string]string{"Accept-Encoding": "identity"})
	require.Equal(t, http.StatusOK, status)
	require.NotEqual(t, "0", h.Get("Content-Length"))
	require.Empty(t, body)
}

// A beacon cannot set headers: its key is ?key=, and its body is
// text/plain JSON. The tracker's fetch sends the same, which keeps it a
// simple request without a CORS preflight.
func TestEventsTakesTheTrackersBeaconBody(t *testing.T) {
	e := newEnv(t, envOptions{})
	sent := time.Now().UTC().Format(time.RFC3339Nano)
	body := `{"batch":[` +
		`{"id":"e1","type":"page_viewed","anonymous_id":"a1","session_id":"s1","url":"https://shop.example/","timestamp":"` + sent + `","properties":{"title":"Home"}},` +
		`{"id":"e2","type":"add_to_cart","anonymous_id":"a1","session_id":"s1","product_id":"p1","price":"19.99","currency":"EUR","timestamp":"` + sent + `"}` +
		`],"sent_at":"` + sent + `"}`
	status, hdr, b := e.do("POST", "/events?key=wk_a", []byte(body), map[string]string{
		"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example"})
	require.Equal(t, http.StatusAccepted, status, string(b))
	require.Equal(t, "https://shop.example", hdr.Get("Access-Control-Allow-Origin"))
	require.Contains(t, string(b), `"accepted":2`)
	e.flush()
	got := e.stored("shop-a")
	require.Len(t, got, 2)
	ids := []string{got[0].ID, got[1].ID}
	require.ElementsMatch(t, []string{"e1", "e2"}, ids)
	for _, ev := range got {
		if ev.ID == "e2" {
			require.Equal(t, "19.99", ev.Price.String())
			require.Equal(t, "EUR", ev.Price.Currency)
		}
	}
}
