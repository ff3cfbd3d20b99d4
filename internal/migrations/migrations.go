// Package migrations reads a SQL backend's embedded schema steps: files
// named NNNN_name.sql, applied in version order. Each backend applies them
// its own way (locking, version table); the files' rules are shared.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step. A step, once released, never changes: a
// new need gets a new file.
type Migration struct {
	Version int
	Name    string // the file name without .sql
	SQL     string
}

// Load returns the steps matching pattern (such as "migrations/*.sql") in
// fsys, in version order. A name without a positive leading number, or two
// files with one version, is an error.
func Load(fsys fs.FS, pattern string) ([]Migration, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	out := make([]Migration, 0, len(names))
	for _, p := range names {
		name := strings.TrimSuffix(path.Base(p), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number", p)
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}
