package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Dimension is what Breakdown groups events by.
type Dimension string

// Dimensions. Product, category and page are per event; referrer and the
// UTM parameters belong to a session, taken from its landing event.
const (
	ByProduct     Dimension = "product"
	ByCategory    Dimension = "category"
	ByPage        Dimension = "page"
	ByReferrer    Dimension = "referrer"
	ByUTMSource   Dimension = "utm_source"
	ByUTMMedium   Dimension = "utm_medium"
	ByUTMCampaign Dimension = "utm_campaign"
)

// Values for a session without a referrer or a UTM parameter.
const (
	Direct = "(direct)"
	None   = "(none)"
)

// BreakdownOptions configure Breakdown. The zero value breaks down by
// product, ten rows.
type BreakdownOptions struct {
	// Dimension (default ByProduct).
	Dimension Dimension
	// Limit is how many rows (default DefaultLimit, at most MaxLimit).
	Limit int
}

// BreakdownRow is the figures of one value of the dimension.
type BreakdownRow struct {
	Value     string `json:"value"`
	Events    int64  `json:"events"`
	Sessions  int64  `json:"sessions"`
	Users     int64  `json:"users"`
	Purchases int64  `json:"purchases"`
	// Revenue is per currency, by code.
	Revenue []Amount `json:"revenue"`
}

// MarshalJSON keeps revenue a list when it is empty.
func (r BreakdownRow) MarshalJSON() ([]byte, error) {
	type row BreakdownRow
	if r.Revenue == nil {
		r.Revenue = []Amount{}
	}
	return json.Marshal(row(r))
}

// Breakdown groups the range's events by a dimension, most events first
// (ties by value):
//
//   - product and category: the event's product_id or category; a
//     purchase with line items counts under each of its products (or their
//     categories) once, with the line's revenue, as in TopProducts. Events
//     without one are left out.
//   - page: the path of the event's url ("/" when it has none); events
//     without a url are left out.
//   - referrer: the host of the referrer of the session's landing event
//     (its first with a url or a referrer), Direct when it has none; every
//     event of the session counts under it.
//   - utm_source, utm_medium, utm_campaign: the parameter of the landing
//     event's url, None when it has none; every event of the session
//     counts under it.
//
// Purchases and revenue are the purchase_completed events in the row and
// their totals.
func Breakdown(ctx context.Context, s store.Store, q Query, o BreakdownOptions) ([]BreakdownRow, error) {
	r, err := breakdown(ctx, s, q, o)
	if err != nil {
		return nil, fmt.Errorf("analytics: breakdown: %w", err)
	}
	return r, nil
}

type breakdownRow struct {
	events, purchases int64
	sessions          map[int]struct{}
	people            people
	revenue           sums
}

func breakdown(ctx context.Context, s store.Store, q Query, o BreakdownOptions) ([]BreakdownRow, error) {
	switch o.Dimension {
	case "":
		o.Dimension = ByProduct
	case ByProduct, ByCategory, ByPage, ByReferrer, ByUTMSource, ByUTMMedium, ByUTMCampaign:
	default:
		return nil, optionError("dimension", "%q is not product, category, page, referrer, utm_source, utm_medium or utm_campaign", string(o.Dimension))
	}
	limit, err := limitOrDefault(o.Limit, DefaultLimit, MaxLimit)
	if err != nil {
		return nil, err
	}
	ids, err := loadIdentities(ctx, s, q.ShopID)
	if err != nil {
		return nil, err
	}
	rows := map[string]*breakdownRow{}
	row := func(v string) *breakdownRow {
		r := rows[v]
		if r == nil {
			r = &breakdownRow{sessions: map[int]struct{}{}, people: people{}}
			rows[v] = r
		}
		return r
	}
	perSession := o.Dimension == ByReferrer || strings.HasPrefix(string(o.Dimension), "utm_")
	z := newSessionizer()
	var sessionPeople []people // by session, for the session dimensions
	var lines []lineItem
	var values []string
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return nil, err
		}
		ids.learn(&e)
		k := z.add(&e)
		if perSession {
			if k == len(sessionPeople) {
				sessionPeople = append(sessionPeople, people{})
			}
			sessionPeople[k].add(&e)
			continue
		}
		values, lines = eventValues(&e, o.Dimension, values[:0], lines)
		for _, v := range values {
			r := row(v)
			r.events++
			r.sessions[k] = struct{}{}
			r.people.add(&e)
		}
		if e.Type != tracking.PurchaseCompleted {
			continue
		}
		if o.Dimension == ByPage {
			for _, v := range values {
				row(v).purchases++
				row(v).revenue.add(orderAmount(&e))
			}
			continue
		}
		counted := map[string]bool{}
		for _, li := range lines {
			v := li.ProductID
			if o.Dimension == ByCategory {
				v = li.Category
			}
			if v == "" {
				continue
			}
			if !counted[v] {
				row(v).purchases++
				counted[v] = true
			}
			row(v).revenue.add(li.Revenue)
		}
	}
	if perSession {
		for k := range z.sessions {
			ss := &z.sessions[k]
			r := row(sessionValue(ss, o.Dimension))
			r.events += ss.events
			r.purchases += ss.purchases
			r.sessions[k] = struct{}{}
			for p := range sessionPeople[k] {
				r.people[p] = struct{}{}
			}
			r.revenue.merge(ss.revenue)
		}
	}
	out := make([]BreakdownRow, 0, len(rows))
	for v, r := range rows {
		out = append(out, BreakdownRow{Value: v, Events: r.events, Sessions: int64(len(r.sessions)),
			Users: r.people.count(ids), Purchases: r.purchases, Revenue: r.revenue.amounts()})
	}
	slices.SortFunc(out, func(a, b BreakdownRow) int {
		if c := cmp.Compare(b.Events, a.Events); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// eventValues returns the values of a per-event dimension for e, each
// once, and for a purchase its line items.
func eventValues(e *tracking.Event, d Dimension, values []string, lines []lineItem) ([]string, []lineItem) {
	lines = lines[:0]
	switch d {
	case ByPage:
		if e.URL != "" {
			values = append(values, urlPath(e.URL))
		}
		return values, lines
	case ByProduct, ByCategory:
		if e.Type == tracking.PurchaseCompleted {
			lines = orderLines(e, lines)
			for _, li := range lines {
				v := li.ProductID
				if d == ByCategory {
					v = li.Category
				}
				if v != "" && !slices.Contains(values, v) {
					values = append(values, v)
				}
			}
			return values, lines
		}
		v := e.ProductID
		if d == ByCategory {
			v = e.Category
		}
		if v != "" {
			values = append(values, v)
		}
	}
	return values, lines
}

// sessionValue is the value of a session dimension for a session.
func sessionValue(ss *session, d Dimension) string {
	if d == ByReferrer {
		if h := host(ss.landingReferrer); h != "" {
			return h
		}
		return Direct
	}
	if u, err := url.Parse(ss.landingURL); err == nil && ss.landingURL != "" {
		if v := u.Query().Get(string(d)); v != "" {
			return v
		}
	}
	return None
}

// urlPath is the path of a url, "/" for none; text that is not a url is
// taken as it is, up to its query.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		p, _, _ := strings.Cut(raw, "?")
		return p
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// host is the lower-case host of a url (without port), the text itself
// when it has no host, "" when empty.
func host(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return strings.ToLower(u.Hostname())
}
