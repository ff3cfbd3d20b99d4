package store

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Opener opens a store from a parsed URL. Backends register one per scheme.
// Its errors must not hold the URL's password: name the URL by
// url.URL.Redacted, if at all.
type Opener func(ctx context.Context, u *url.URL) (Store, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a backend available to Open under a URL scheme, like
// database/sql drivers: a backend package calls it from its init function.
// It panics if the scheme is registered twice.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	scheme = strings.ToLower(scheme)
	if _, dup := registry[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes lists the registered URL schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open opens the store a URL names, such as "sqlite://shoplytics.db",
// "postgres://user@host/db" or "memory://". The backend for the scheme must
// be linked in (import it, or store/all for every backend). Its errors,
// and the backends', never hold the URL's password.
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	registryMu.RLock()
	open, ok := registry[scheme]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("store: open: no backend for scheme %q (registered: %s)", u.Scheme, strings.Join(Schemes(), ", "))
	}
	return open(ctx, u)
}
