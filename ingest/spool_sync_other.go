//go:build !linux

package ingest

import "os"

// syncData forces f's data to disk: (*os.File).Sync where fdatasync(2) is
// not used (on macOS it is F_FULLFSYNC, the one call that reaches the
// platter).
func syncData(f *os.File) error { return f.Sync() }
