package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// readParams are the parameters every read route shares, parsed once.
type readParams struct {
	ShopID   string
	From, To time.Time
	Location *time.Location
}

// paramError is an answer naming the parameter at fault: 400, or status
// when it is set.
type paramError struct {
	field, msg string
	status     int
}

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
				if pe.status != 0 {
					writeError(w, pe.status, pe.msg, pe.field)
					return
				}
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
		return rp, &paramError{field: "shop", msg: "is required with an admin key"}
	case p.Admin:
		// An app's own Authorize may serve shops it did not list.
		if !h.shops[shop] && (h.cfg.Authorize == nil || len(h.cfg.Shops) > 0) {
			return rp, &paramError{field: "shop", msg: "unknown shop", status: http.StatusNotFound}
		}
		if !h.shops[shop] {
			// Still a shop id: no event holds another, and the live feed
			// writes it into its stream.
			if err := tracking.CheckShopID(shop); err != nil {
				return rp, &paramError{field: "shop", msg: "not a shop id"}
			}
		}
		rp.ShopID = shop
	case shop != "" && shop != p.ShopID:
		return rp, ErrForbidden
	default:
		rp.ShopID = p.ShopID
	}

	rp.Location = h.zoneOf(rp.ShopID)
	if tz := q.Get("tz"); tz != "" {
		loc, err := loadZone(tz)
		if err != nil {
			return rp, &paramError{field: "tz", msg: err.Error()}
		}
		rp.Location = loc
	}
	var err error
	if rp.To, err = parseInstant(q.Get("to"), rp.Location); err != nil {
		return rp, &paramError{field: "to", msg: err.Error()}
	}
	if rp.From, err = parseInstant(q.Get("from"), rp.Location); err != nil {
		return rp, &paramError{field: "from", msg: err.Error()}
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
		return rp, &paramError{field: "from", msg: "must be before to"}
	}
	if rp.To.Sub(rp.From) > h.cfg.MaxRange {
		return rp, &paramError{field: "from", msg: "range longer than " + durationText(h.cfg.MaxRange)}
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
// the zero time, meaning "not given"; an instant outside the years events
// may have (1970 to 9999) is an error, so that the zero time can never be
// asked for by name.
func parseInstant(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		t = ceilMicro(t.UTC())
	} else if t, err = time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		t = t.UTC()
	} else {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("%q is outside the years 1970 to 9999", s)
	}
	return t, nil
}

// durationText says a duration as people would: "400 days", "36h0m0s".
func durationText(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		if d == day {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
