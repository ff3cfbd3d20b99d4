//go:build linux

package ingest

import (
	"os"
	"syscall"
)

// syncData forces f's data to disk with fdatasync(2), which also flushes
// the file's size when it changed but skips the other metadata (times):
// writes into the zeros a segment was extended with change no metadata,
// so their flush costs one data write, not a journal commit as well.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
