//go:build unix

package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store/sqlitestore"
)

// TestUnwritableDirectoryOrFileIsNamedWithItsCause: SQLite says only
// "unable to open database file"; the error names the path and why.
func TestUnwritableDirectoryOrFileIsNamedWithItsCause(t *testing.T) {
	dir := t.TempDir()
	// Permissions do not stop root: as root, the opens are made by a copy
	// of this test binary running as nobody.
	open := openAsOtherUser(t, dir)
	readOnly := filepath.Join(dir, "ro")
	require.NoError(t, os.Mkdir(readOnly, 0o555))
	path := filepath.Join(readOnly, "x.db")
	msg, denied := open(path)
	require.Equal(t, "sqlitestore: open "+path+": cannot create files in directory "+readOnly+": permission denied", msg)
	require.True(t, denied, "the error wraps os.ErrPermission")

	writable := filepath.Join(dir, "rw")
	require.NoError(t, os.Mkdir(writable, 0o777))
	require.NoError(t, os.Chmod(writable, 0o777)) // whatever the umask
	path = filepath.Join(writable, "x.db")
	require.NoError(t, os.WriteFile(path, nil, 0o444))
	msg, denied = open(path)
	require.Equal(t, "sqlitestore: open "+path+": permission denied", msg)
	require.True(t, denied)
}

// openAsUserEnv names the path a run of the test binary opens, instead of
// running the tests, printing its error (see TestMain).
const openAsUserEnv = "SQLITESTORE_TEST_OPEN"

func TestMain(m *testing.M) {
	if path := os.Getenv(openAsUserEnv); path != "" {
		_, err := sqlitestore.New(context.Background(), sqlitestore.Options{Path: path})
		fmt.Printf("%v\n%v", err, errors.Is(err, os.ErrPermission))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openAsOtherUser returns a function that opens a store at a path and
// returns the error's text and whether it wraps os.ErrPermission: in this
// process, or, when it runs as root, whom permissions do not stop, in a
// copy of the test binary in dir running as nobody.
func openAsOtherUser(t *testing.T, dir string) func(path string) (string, bool) {
	if os.Geteuid() != 0 {
		return func(path string) (string, bool) {
			_, err := sqlitestore.New(testCtx(t), sqlitestore.Options{Path: path})
			require.Error(t, err)
			return err.Error(), errors.Is(err, os.ErrPermission)
		}
	}
	// nobody must reach dir and run the copy.
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	b, err := os.ReadFile(exe)
	require.NoError(t, err)
	bin := filepath.Join(dir, "sqlitestore.test")
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	return func(path string) (string, bool) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), openAsUserEnv+"="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.Output()
		require.NoError(t, err, "%s", out)
		msg, denied, _ := strings.Cut(string(out), "\n")
		return msg, denied == "true"
	}
}
