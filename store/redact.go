package store

import (
	"net/url"
	"strings"
)

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
