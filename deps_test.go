package shoplytics_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCorePackagesImportNoDatabaseDriver keeps the core free of drivers:
// only the backends under store/ may link them.
func TestCorePackagesImportNoDatabaseDriver(t *testing.T) {
	core := []string{"tracking", "ingest", "store", "analytics", "insights", "httpapi"}
	drivers := []string{"github.com/mattn/go-sqlite3", "github.com/lib/pq", "github.com/redis/go-redis", "github.com/jmoiron/sqlx", "database/sql/driver"}
	for _, pkg := range core {
		path := "github.com/shoplytics/shoplytics/" + pkg
		out, err := exec.Command("go", "list", "-e", "-deps", "-f", "{{if .Error}}ERROR {{.Error}}{{else}}{{.ImportPath}}{{end}}", "./"+pkg).CombinedOutput()
		if strings.Contains(string(out), "directory not found") || strings.Contains(string(out), "no Go files") {
			continue // not written yet
		}
		require.NoError(t, err, string(out))
		for _, dep := range strings.Fields(string(out)) {
			for _, d := range drivers {
				require.False(t, strings.HasPrefix(dep, d), "%s depends on %s", path, dep)
			}
		}
	}
}
