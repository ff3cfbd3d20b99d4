//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package ingest

import (
	"errors"
	"fmt"
	"os"
)

// lockDir refuses: without flock a crashed process would leave a lock that
// cannot be told from a live one.
func lockDir(dir string) (*os.File, []byte, error) {
	return nil, nil, fmt.Errorf("ingest: spool: %s: locking a spool directory is not supported here: %w", dir, errors.ErrUnsupported)
}

func unlockDir(f *os.File) error { return f.Close() }

func lockField(content []byte, name string) (string, bool) { return "", false }
