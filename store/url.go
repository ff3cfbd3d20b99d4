package store

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ParseURL is url.Parse for store URLs, whose userinfo may hold a password:
// its error never quotes the URL or a piece of it. url.Parse's own error
// holds the whole URL, and its reason may quote the part that failed (an
// escape, a port), which can be the password itself. The error wraps
// ErrInvalid.
func ParseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err == nil {
		return u, nil
	}
	reason := err.Error()
	if ue, ok := errors.AsType[*url.Error](err); ok {
		reason = ue.Err.Error()
	}
	what := "URL"
	if scheme, _, ok := strings.Cut(rawURL, "://"); ok && validScheme(scheme) {
		what = scheme + " URL"
	}
	return nil, fmt.Errorf("%w: malformed %s: %s", ErrInvalid, what, unquote(reason))
}

// validScheme reports whether s is a URL scheme (RFC 3986), and so safe to
// name in a message.
func validScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// unquote drops the double-quoted parts of a message (net/url quotes the
// piece of the URL it refused), so "invalid URL escape \"%zz\"" becomes
// "invalid URL escape".
func unquote(msg string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(msg); i++ {
		switch c := msg[i]; {
		case c == '"':
			in = !in
		case in && c == '\\':
			i++ // an escaped character inside the quotes
		case !in:
			b.WriteByte(c)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// RedactSecret returns msg with every occurrence of the password of u's
// userinfo, raw or escaped, replaced by "xxxxx", for messages built from
// driver errors that may echo what they were given.
func RedactSecret(msg string, u *url.URL) string {
	if u == nil || u.User == nil {
		return msg
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return msg
	}
	for _, s := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

// Redact returns a store URL fit for a log line or an error: the password
// of its user is replaced by "xxxxx", and so is the password of any URL in
// its query (such as the Redis stream's sink=postgres://user:pass@host/db,
// query-escaped), at any depth. Text that does not parse as a URL is
// returned up to its scheme only, since where its password sits cannot be
// known.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		scheme, _, found := strings.Cut(raw, "://")
		if !found || strings.ContainsAny(scheme, "/@:?#") {
			return "(unparsable URL)"
		}
		return scheme + "://(unparsable URL)"
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = "(unparsable query)"
		} else {
			changed := false
			for _, vs := range q {
				for i, v := range vs {
					if strings.Contains(v, "://") {
						if r := Redact(v); r != v {
							vs[i], changed = r, true
						}
					}
				}
			}
			if changed {
				u.RawQuery = q.Encode()
			}
		}
	}
	return u.Redacted()
}
