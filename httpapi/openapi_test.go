package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store/memstore"
)

// TestOpenAPIDescribesEveryRoute holds operations and the routes New
// registers to the same list, and checks the served document.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	mem := memstore.New()
	in, err := ingest.New(mem, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	hh, err := New(Config{Store: mem, Ingester: in, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h := hh.(*handler)
	described := make([]string, 0, len(operations))
	for k := range operations {
		described = append(described, k)
	}
	slices.Sort(described)
	routes := slices.Clone(h.routes)
	slices.Sort(routes)
	require.Equal(t, routes, described, "every route is described, and nothing else")

	rec := httptest.NewRecorder()
	hh.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, "3.0.3", doc.OpenAPI)
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		require.Contains(t, doc.Paths[path], strings.ToLower(method), r)
	}
	var journey struct {
		Parameters []struct{ Name, In string } `json:"parameters"`
		Security   []map[string][]string       `json:"security"`
	}
	require.NoError(t, json.Unmarshal(doc.Paths["/api/users/{id}/journey"]["get"], &journey))
	require.Equal(t, "id", journey.Parameters[0].Name)
	require.Equal(t, "path", journey.Parameters[0].In)
	require.Contains(t, journey.Security[0], "readKey")
}
