package pgstore

import (
	"strconv"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// copyText encodes rows in the text format of COPY FROM STDIN: columns
// separated by tabs, \N for NULL, backslash escapes for the characters the
// format reserves. Encoding a batch here and handing it to the driver in one
// piece avoids a database/sql call and 20 value conversions per row.
type copyText struct{ b []byte }

func (c *copyText) sep() { c.b = append(c.b, '\t') }

func (c *copyText) text(s string) {
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\':
			c.b = append(c.b, '\\', '\\')
		case '\n':
			c.b = append(c.b, '\\', 'n')
		case '\r':
			c.b = append(c.b, '\\', 'r')
		case '\t':
			c.b = append(c.b, '\\', 't')
		default:
			c.b = append(c.b, ch)
		}
	}
}

func (c *copyText) null() { c.b = append(c.b, '\\', 'N') }

func (c *copyText) optText(s string) {
	if s == "" {
		c.null()
		return
	}
	c.text(s)
}

func (c *copyText) money(m tracking.Money) {
	if m.IsZero() {
		c.null()
		return
	}
	c.b = strconv.AppendInt(c.b, m.Minor, 10)
}

func (c *copyText) time(t time.Time) {
	if t.IsZero() {
		c.null()
		return
	}
	c.b = t.UTC().AppendFormat(c.b, time.RFC3339Nano)
}

// row appends e as one line (without its newline), in columns order.
func (c *copyText) row(e *tracking.Event) {
	c.text(e.ShopID)
	c.sep()
	c.text(e.ID)
	c.sep()
	c.text(e.Type)
	c.sep()
	c.optText(e.UserID)
	c.sep()
	c.optText(e.AnonymousID)
	c.sep()
	c.optText(e.SessionID)
	c.sep()
	c.optText(e.ProductID)
	c.sep()
	c.optText(e.ProductName)
	c.sep()
	c.optText(e.Category)
	c.sep()
	c.money(e.Price)
	c.sep()
	c.b = strconv.AppendInt(c.b, e.Quantity, 10)
	c.sep()
	c.money(e.Revenue)
	c.sep()
	c.optText(e.Currency)
	c.sep()
	c.optText(e.OrderID)
	c.sep()
	c.optText(e.URL)
	c.sep()
	c.optText(e.Referrer)
	c.sep()
	c.optText(e.UserAgent)
	c.sep()
	c.optText(string(e.Properties))
	c.sep()
	c.time(e.Timestamp)
	c.sep()
	c.time(e.ReceivedAt)
}
