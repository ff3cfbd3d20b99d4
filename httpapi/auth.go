package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

type keyKind int

const (
	writeKey keyKind = iota + 1
	readKey
	adminKey
)

type keyEntry struct {
	key  string
	shop string
	kind keyKind
}

// keyring finds keys by their SHA-256, so the lookup's timing says nothing
// about how much of a guessed key was right; the final comparison is
// constant-time too.
type keyring map[[32]byte]keyEntry

func newKeyring(c *Config) keyring {
	k := keyring{}
	add := func(key, shop string, kind keyKind) {
		if key != "" {
			k[sha256.Sum256([]byte(key))] = keyEntry{key, shop, kind}
		}
	}
	for _, s := range c.Shops {
		add(s.WriteKey, s.ID, writeKey)
		add(s.ReadKey, s.ID, readKey)
	}
	add(c.AdminKey, "", adminKey)
	return k
}

func (k keyring) lookup(key string) (keyEntry, bool) {
	if key == "" {
		return keyEntry{}, false
	}
	e, ok := k[sha256.Sum256([]byte(key))]
	if !ok || subtle.ConstantTimeCompare([]byte(e.key), []byte(key)) != 1 {
		return keyEntry{}, false
	}
	return e, true
}

// writeKeyOf finds a write key outside the body: the HTTP Basic user name
// (Segment's way) or ?key=.
func writeKeyOf(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok && user != "" {
		return user
	}
	return r.URL.Query().Get("key")
}

// authorizeWrite resolves the shop events are sent for. bodyKey is the
// body's writeKey, if any.
func (h *handler) authorizeWrite(r *http.Request, bodyKey string) (Principal, error) {
	if h.cfg.Authorize != nil {
		return h.cfg.Authorize(r, AccessWrite)
	}
	key := writeKeyOf(r)
	if key == "" {
		key = bodyKey
	}
	e, ok := h.keys.lookup(key)
	if !ok || e.kind != writeKey {
		return Principal{}, ErrUnauthorized
	}
	return Principal{ShopID: e.shop}, nil
}

// authorizeRead resolves the reader from its bearer key. Write keys are
// public and never read.
func (h *handler) authorizeRead(r *http.Request) (Principal, error) {
	if h.cfg.Authorize != nil {
		return h.cfg.Authorize(r, AccessRead)
	}
	auth := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(auth) <= len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return Principal{}, ErrUnauthorized
	}
	e, ok := h.keys.lookup(strings.TrimSpace(auth[len(prefix):]))
	switch {
	case !ok || e.kind == writeKey:
		return Principal{}, ErrUnauthorized
	case e.kind == adminKey:
		return Principal{Admin: true}, nil
	}
	return Principal{ShopID: e.shop}, nil
}

// authError writes the answer for an authorisation failure; the challenge
// names how the key is sent for that kind of access.
func (h *handler) authError(w http.ResponseWriter, access Access, err error) {
	switch {
	case errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, "this key may not access that shop", "shop")
	default:
		challenge := `Basic realm="shoplytics"`
		if access == AccessRead {
			challenge = `Bearer realm="shoplytics"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, http.StatusUnauthorized, "missing or unknown key", "")
	}
}
