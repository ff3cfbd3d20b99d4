package store

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// ProductHourKey identifies a product rollup row: a shop, a UTC hour, a
// product and a currency ("" for views and adds, the order's currency for
// what orders sold).
type ProductHourKey struct {
	ShopID    string
	Hour      time.Time
	ProductID string
	Currency  string
}

// ProductHour is the rollup of one product in one hour and currency:
// product_viewed and add_to_cart events naming it (in the "" row), the
// orders that sold it (once per order) and what its lines sold for, in
// minor units of Currency. Name is the latest non-empty name the hour's
// events gave it, NameAt and NameID the time and id of the event that gave
// it (the latest by time, then id, wins), NameAt zero when none did.
type ProductHour struct {
	ProductHourKey
	Views, Adds, Purchases, RevenueMinor int64
	Name                                 string
	NameAt                               time.Time
	NameID                               string
}

// NameKey encodes the name with (NameAt, NameID) as text that sorts
// bytewise in (NameAt, NameID) order, for SQL stores that keep the latest
// name with max(): the time as 16 hex digits, the id with the bytes 0 to 2
// escaped, 0x01 and the name. "" when no name was given.
func (r *ProductHour) NameKey() string {
	if r.NameAt.IsZero() {
		return ""
	}
	b := fmt.Appendf(nil, "%016x", uint64(r.NameAt.UnixMicro())^1<<63)
	for i := 0; i < len(r.NameID); i++ {
		if c := r.NameID[i]; c <= 2 {
			b = append(b, 2, '0'+c)
		} else {
			b = append(b, c)
		}
	}
	b = append(b, 1)
	return string(append(b, r.Name...))
}

// SetNameKey sets Name, NameAt and NameID from a NameKey.
func (r *ProductHour) SetNameKey(key string) error {
	r.Name, r.NameAt, r.NameID = "", time.Time{}, ""
	if key == "" {
		return nil
	}
	bad := fmt.Errorf("store: malformed product name key %q", key)
	if len(key) < 17 {
		return bad
	}
	u, err := strconv.ParseUint(key[:16], 16, 64)
	if err != nil {
		return bad
	}
	var id []byte
	for i := 16; i < len(key); i++ {
		switch c := key[i]; {
		case c == 1:
			r.Name, r.NameAt, r.NameID = key[i+1:], time.UnixMicro(int64(u^1<<63)).UTC(), string(id)
			return nil
		case c == 2 && i+1 < len(key):
			i++
			id = append(id, key[i]-'0')
		default:
			id = append(id, c)
		}
	}
	return bad
}

// NameAfter reports whether r's name was given after o's.
func (r *ProductHour) NameAfter(o *ProductHour) bool {
	if r.NameAt.IsZero() {
		return false
	}
	return o.NameAt.IsZero() || r.NameAt.After(o.NameAt) || r.NameAt.Equal(o.NameAt) && r.NameID >= o.NameID
}

// Merge adds o, a row of the same product, into r.
func (r *ProductHour) Merge(o *ProductHour) {
	r.Views += o.Views
	r.Adds += o.Adds
	r.Purchases += o.Purchases
	r.RevenueMinor += o.RevenueMinor
	if o.NameAfter(r) {
		r.Name, r.NameAt, r.NameID = o.Name, o.NameAt, o.NameID
	}
}

// ProductHours accumulates the product rollup of events, for backends
// that keep a ProductReader's table as they append and for callers rolling
// up raw events alike. The zero value is empty and ready.
type ProductHours struct {
	rows  map[ProductHourKey]*ProductHour
	lines []LineItem
}

func (p *ProductHours) row(k ProductHourKey) *ProductHour {
	if p.rows == nil {
		p.rows = map[ProductHourKey]*ProductHour{}
	}
	r := p.rows[k]
	if r == nil {
		r = &ProductHour{ProductHourKey: k}
		p.rows[k] = r
	}
	return r
}

// name gives r the name n of event e, if it is later than r's.
func name(r *ProductHour, n string, e *tracking.Event) {
	if n == "" {
		return
	}
	c := ProductHour{Name: n, NameAt: e.Timestamp, NameID: e.ID}
	if c.NameAfter(r) {
		r.Name, r.NameAt, r.NameID = n, e.Timestamp, e.ID
	}
}

// Add rolls e up: a product_viewed or add_to_cart naming a product, or a
// purchase_completed through its line items (OrderLines).
func (p *ProductHours) Add(e *tracking.Event) {
	hour := e.Timestamp.UTC().Truncate(time.Hour)
	switch e.Type {
	case tracking.ProductViewed, tracking.AddToCart:
		if e.ProductID == "" {
			return
		}
		r := p.row(ProductHourKey{e.ShopID, hour, e.ProductID, ""})
		if e.Type == tracking.ProductViewed {
			r.Views++
		} else {
			r.Adds++
		}
		name(r, e.ProductName, e)
	case tracking.PurchaseCompleted:
		p.lines = OrderLines(e, p.lines)
		for i, li := range p.lines {
			r := p.row(ProductHourKey{e.ShopID, hour, li.ProductID, li.Revenue.Currency})
			if !slices.ContainsFunc(p.lines[:i], func(l LineItem) bool { return l.ProductID == li.ProductID }) {
				r.Purchases++ // an order counts once per product
			}
			r.RevenueMinor += li.Revenue.Minor
			name(r, li.Name, e)
		}
	}
}

// Keys returns the keys of the rows in (shop, hour, product, currency)
// order.
func (p *ProductHours) Keys() []ProductHourKey {
	keys := slices.Collect(maps.Keys(p.rows))
	slices.SortFunc(keys, func(a, b ProductHourKey) int {
		return cmp.Or(cmp.Compare(a.ShopID, b.ShopID), a.Hour.Compare(b.Hour),
			cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Currency, b.Currency))
	})
	return keys
}

// Row returns the row of k.
func (p *ProductHours) Row(k ProductHourKey) ProductHour { return *p.rows[k] }

// Rows returns the rows of one shop, in key order.
func (p *ProductHours) Rows(shopID string) []ProductHour {
	var out []ProductHour
	for _, k := range p.Keys() {
		if k.ShopID == shopID {
			out = append(out, *p.rows[k])
		}
	}
	return out
}

// Len is the number of rows.
func (p *ProductHours) Len() int { return len(p.rows) }
