//go:build !linux

package pgstore

import "time"

// setUserTimeout does nothing where TCP_USER_TIMEOUT is not offered; the
// contexts of the Store's calls and keepalive probes still bound a stall.
func setUserTimeout(uintptr, time.Duration) error { return nil }
