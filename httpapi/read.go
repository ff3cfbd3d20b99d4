package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// readParams are the parameters every read route shares, parsed once.
type readParams struct {
	ShopID   string
	From, To time.Time
	Location *time.Location
}

// paramError is a 400 naming the parameter at fault.
type paramError struct{ field, msg string }

func (e *paramError) Error() string { return e.field + ": " + e.msg }

// read wraps a read route: it authorises the bearer key, resolves the shop
// and parses the shared parameters, answering 401/403/400 itself.
func (h *handler) read(next func(http.ResponseWriter, *http.Request, readParams)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authorizeRead(r)
		if err != nil {
			h.authError(w, AccessRead, err)
			return
		}
		params, err := h.parseReadParams(r, p)
		if err != nil {
			var pe *paramError
			if errors.As(err, &pe) {
				writeError(w, http.StatusBadRequest, pe.Error(), pe.field)
				return
			}
			h.authError(w, AccessRead, err)
			return
		}
		next(w, r, params)
	}
}

func (h *handler) parseReadParams(r *http.Request, p Principal) (readParams, error) {
	q := r.URL.Query()
	var rp readParams
	shop := q.Get("shop")
	switch {
	case p.Admin && shop == "":
		return rp, &paramError{"shop", "is required with an admin key"}
	case p.Admin:
		rp.ShopID = shop
	case shop != "" && shop != p.ShopID:
		return rp, ErrForbidden
	default:
		rp.ShopID = p.ShopID
	}

	rp.Location = time.UTC
	if tz := q.Get("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil || strings.EqualFold(tz, "local") {
			return rp, &paramError{"tz", fmt.Sprintf("unknown time zone %q", tz)}
		}
		rp.Location = loc
	}
	var err error
	if rp.To, err = parseInstant(q.Get("to"), rp.Location); err != nil {
		return rp, &paramError{"to", err.Error()}
	}
	if rp.From, err = parseInstant(q.Get("from"), rp.Location); err != nil {
		return rp, &paramError{"from", err.Error()}
	}
	if rp.To.IsZero() {
		// Up to now, including what arrived a moment ago: the next
		// microsecond, as stored timestamps have microsecond precision.
		rp.To = h.cfg.Now().UTC().Truncate(time.Microsecond).Add(time.Microsecond)
	}
	if rp.From.IsZero() {
		rp.From = rp.To.Add(-30 * 24 * time.Hour)
	}
	if !rp.From.Before(rp.To) {
		return rp, &paramError{"from", "must be before to"}
	}
	if rp.To.Sub(rp.From) > h.cfg.MaxRange {
		return rp, &paramError{"from", fmt.Sprintf("range longer than %s", h.cfg.MaxRange)}
	}
	return rp, nil
}

// ceilMicro rounds t up to the microsecond. Stored timestamps have
// microsecond precision, so a bound rounded up selects the same events
// however a backend compares finer bounds.
func ceilMicro(t time.Time) time.Time {
	if c := t.Truncate(time.Microsecond); !c.Equal(t) {
		return c.Add(time.Microsecond)
	}
	return t
}

// parseInstant reads RFC 3339 or YYYY-MM-DD (midnight in loc). Empty gives
// the zero time.
func parseInstant(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return ceilMicro(t.UTC()), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
}
