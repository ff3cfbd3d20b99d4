package httpapi_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// newHandler returns a handler over a memory store, for tests that call
// ServeHTTP directly.
func newHandler(t *testing.T, config func(*httpapi.Config)) http.Handler {
	t.Helper()
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	cfg := httpapi.Config{Store: mem, Ingester: in, Shops: shops, AdminKey: adminKey, Logger: slog.New(slog.DiscardHandler)}
	if config != nil {
		config(&cfg)
	}
	h, err := httpapi.New(cfg)
	require.NoError(t, err)
	return h
}

// watchedBody is a request body that counts the bytes read from it.
type watchedBody struct {
	r    *bytes.Reader
	read atomic.Int64
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func TestPostEventsRefusesAWrongKeyBeforeReadingTheBody(t *testing.T) {
	h := newHandler(t, nil)
	for _, tc := range []struct {
		name, path string
		basicUser  string
	}{
		{"unknown basic user", "/events", "nope"},
		{"unknown query key", "/events?key=nope", ""},
		{"read key as basic user", "/events", "rk_a"},
		{"read key on the query", "/events?key=rk_a", ""},
		{"admin key on the query", "/events?key=" + adminKey, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &watchedBody{r: bytes.NewReader([]byte(`{"writeKey":"wk_a","type":"page_viewed","anonymous_id":"a"}`))}
			req := httptest.NewRequest("POST", tc.path, body)
			if tc.basicUser != "" {
				req.SetBasicAuth(tc.basicUser, "")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			require.Zero(t, body.read.Load(), "a key outside the body is checked before the body is read, and the body's key does not rescue it")
		})
	}
	t.Run("an Authorize hook refusing", func(t *testing.T) {
		h := newHandler(t, func(c *httpapi.Config) {
			c.Authorize = func(*http.Request, httpapi.Access) (httpapi.Principal, error) {
				return httpapi.Principal{}, httpapi.ErrUnauthorized
			}
		})
		body := &watchedBody{r: bytes.NewReader([]byte(pv))}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/events", body))
		require.Equal(t, http.StatusUnauthorized, w.Code)
		require.Zero(t, body.read.Load())
	})
}

func TestPostEventsListsAtMostMaxRejections(t *testing.T) {
	e := newEnv(t, envOptions{})
	bad := `{"type":"Not A Type","anonymous_id":"a"}`
	many := strings.Repeat(bad+",", tracking.MaxBatchLen-1)

	status, a := e.post("wk_a", "["+many+pv+"]")
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, 1, a.Accepted)
	require.Len(t, a.Rejected, 100, "the first 100 by index")
	require.Equal(t, tracking.MaxBatchLen-1, a.RejectedCount)
	for i, r := range a.Rejected {
		require.Equal(t, i, r.Index)
		require.Equal(t, "type", r.Field)
	}

	status, a = e.post("wk_a", "["+many+bad+"]")
	require.Equal(t, http.StatusBadRequest, status, "nothing valid")
	require.Equal(t, "type", a.Field)
	require.Len(t, a.Rejected, 100)
	require.Equal(t, tracking.MaxBatchLen, a.RejectedCount)

	status, a = e.post("wk_a", "["+bad+","+pv+"]")
	require.Equal(t, http.StatusAccepted, status)
	require.Len(t, a.Rejected, 1)
	require.Equal(t, 1, a.RejectedCount)

	e = newEnv(t, envOptions{config: func(c *httpapi.Config) { c.MaxRejections = 3 }})
	status, a = e.post("wk_a", "["+strings.Repeat(bad+",", 10)+pv+"]")
	require.Equal(t, http.StatusAccepted, status)
	require.Len(t, a.Rejected, 3)
	require.Equal(t, 10, a.RejectedCount)
}

func TestPostEventsBodyOfTooManyEventsIs413(t *testing.T) {
	e := newEnv(t, envOptions{})
	for name, body := range map[string]string{
		"zeros":  "[" + strings.Repeat("0,", 500_000) + "0]",
		"events": "[" + strings.Repeat(`{},`, tracking.MaxBatchLen) + "{}]",
		"batch":  `{"batch":[` + strings.Repeat(`{},`, tracking.MaxBatchLen) + "{}]}",
		"ndjson": strings.Repeat("{}\n", tracking.MaxBatchLen+1),
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/events?key=wk_a", "/events"} {
				status, _, b := e.do("POST", path, []byte(body), map[string]string{"Content-Type": map[bool]string{true: "application/x-ndjson", false: "application/json"}[name == "ndjson"]})
				require.Equal(t, http.StatusRequestEntityTooLarge, status, string(b))
				require.JSONEq(t, fmt.Sprintf(`{"error":"more than %d events in one body: send smaller batches"}`, tracking.MaxBatchLen), string(b))
			}
		})
	}
}
