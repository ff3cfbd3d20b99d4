//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package ingest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// lockDir takes an exclusive flock on dir's LOCK file, so two processes (or
// two Ingesters in one process) never write one spool. The kernel drops the
// lock when the process dies, so a crash leaves no stale lock behind. The
// file also keeps the holder's pid, for the error of the next one, and the
// next sequence number when the spool is left empty.
func lockDir(dir string) (*os.File, []byte, error) {
	path := dir + string(os.PathSeparator) + lockName
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: spool: open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		content, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if pid, ok := lockField(content, "pid"); ok {
				holder = "process " + pid
			}
			return nil, nil, fmt.Errorf("ingest: spool: %s is used by %s: %w", dir, holder, ErrSpoolLocked)
		}
		return nil, nil, fmt.Errorf("ingest: spool: lock %s: %w", path, err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("ingest: spool: read %s: %w", path, err)
	}
	return f, content, nil
}

func unlockDir(f *os.File) error {
	return f.Close() // closing the only descriptor releases the flock
}

// lockField returns the value of "name value" in a LOCK file's content.
func lockField(content []byte, name string) (string, bool) {
	for line := range strings.Lines(string(content)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return v, true
		}
	}
	return "", false
}
