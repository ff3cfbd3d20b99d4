package shoplytics_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/shoplytics/shoplytics"

// mayLinkDrivers lists the packages that may depend on a database driver:
// the backends, the test helpers that talk to the services, and the
// programs. Every other package of the module, including any added later,
// is core and must not.
var mayLinkDrivers = []string{
	"store/sqlitestore", "store/pgstore", "store/redisstore", "store/all",
	"internal/pgtest", "internal/redistest",
	"examples/",
}

// TestCorePackagesImportNoDatabaseDriver keeps the core free of drivers.
// The packages come from go list ./..., so none is skipped or made up.
func TestCorePackagesImportNoDatabaseDriver(t *testing.T) {
	drivers := []string{"github.com/mattn/go-sqlite3", "github.com/lib/pq", "github.com/redis/go-redis", "github.com/jmoiron/sqlx", "database/sql/driver"}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...").CombinedOutput()
	require.NoError(t, err, string(out))
	core := map[string]bool{}
	matched := map[string]bool{} // the entries of mayLinkDrivers that name packages
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		allowed := false
		for _, a := range mayLinkDrivers {
			if rel == strings.TrimSuffix(a, "/") || strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a) {
				allowed = true
				matched[a] = true
			}
		}
		if allowed {
			continue
		}
		core[rel] = true
		for _, dep := range fields[1:] {
			for _, d := range drivers {
				require.False(t, strings.HasPrefix(dep, d), "%s depends on %s", pkg, dep)
			}
		}
	}
	for _, a := range mayLinkDrivers {
		require.True(t, matched[a], "mayLinkDrivers lists %q, which go list does not know", a)
	}
	for _, want := range []string{"", "tracking", "ingest", "store", "store/memstore", "analytics", "insights", "httpapi"} {
		require.True(t, core[want], "core package %q was checked", want)
	}
}
