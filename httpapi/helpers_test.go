package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/store/memstore"
	"github.com/shoplytics/shoplytics/tracking"
)

// prefix is where the tests mount the handler, to prove relative routing.
const prefix = "/analytics"

var shops = []httpapi.Shop{
	{ID: "shop-a", WriteKey: "wk_a", ReadKey: "rk_a"},
	{ID: "shop-b", WriteKey: "wk_b", ReadKey: "rk_b"},
}

const adminKey = "ak_admin"

type env struct {
	t     *testing.T
	url   string // server URL including the mount prefix
	store store.Store
	in    *ingest.Ingester
	now   time.Time
}

type envOptions struct {
	store   store.Store
	ingest  ingest.Options
	config  func(*httpapi.Config)
	noStart bool
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.store == nil {
		o.store = memstore.New()
	}
	o.ingest.Logger = slog.New(slog.DiscardHandler)
	in, err := ingest.New(o.store, o.ingest)
	require.NoError(t, err)
	if !o.noStart {
		in.Start()
	}
	cfg := httpapi.Config{
		Store: o.store, Ingester: in, Shops: shops, AdminKey: adminKey,
		Logger: slog.New(slog.DiscardHandler),
	}
	if o.config != nil {
		o.config(&cfg)
	}
	h, err := httpapi.New(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = in.Shutdown(ctx)
	})
	return &env{t: t, url: srv.URL + prefix, store: o.store, in: in, now: time.Now()}
}

// do sends a request and returns the status, headers and body.
func (e *env) do(method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	require.NoError(e.t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, resp.Header, b
}

// post sends events with the write key as Basic user name.
func (e *env) post(key string, body string) (int, answer) {
	e.t.Helper()
	hdr := map[string]string{"Content-Type": "application/json"}
	req, _ := http.NewRequest("POST", "/", nil)
	req.SetBasicAuth(key, "")
	hdr["Authorization"] = req.Header.Get("Authorization")
	status, _, b := e.do("POST", "/events", []byte(body), hdr)
	var a answer
	require.NoError(e.t, json.Unmarshal(b, &a), string(b))
	return status, a
}

// get reads with a bearer key.
func (e *env) get(key, path string) (int, []byte) {
	e.t.Helper()
	hdr := map[string]string{}
	if key != "" {
		hdr["Authorization"] = "Bearer " + key
	}
	status, _, b := e.do("GET", path, nil, hdr)
	return status, b
}

func (e *env) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(e.t, e.in.Flush(ctx))
}

func (e *env) stored(shop string) []tracking.Event {
	e.t.Helper()
	var out []tracking.Event
	for ev, err := range e.store.Events(context.Background(), store.Filter{ShopID: shop}) {
		require.NoError(e.t, err)
		out = append(out, ev)
	}
	return out
}

type answer struct {
	Accepted      int    `json:"accepted"`
	Duplicates    int    `json:"duplicates"`
	RejectedCount int    `json:"rejected_count"`
	Error         string `json:"error"`
	Field         string `json:"field"`
	Rejected      []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
		Field string `json:"field"`
	} `json:"rejected"`
}
