package store

import (
	"bytes"
	"encoding/json"
	"math"
	"math/bits"
	"strconv"

	"github.com/shoplytics/shoplytics/tracking"
)

// LineItem is one product of an order.
type LineItem struct {
	ProductID, Name, Category string
	// Revenue is price × quantity, in the order's currency.
	Revenue tracking.Money
}

// OrderTotal is the order total of a purchase, in its currency: Revenue,
// or zero of the event's currency (else "USD", the default of events)
// when it has none.
func OrderTotal(e *tracking.Event) tracking.Money {
	m := e.Revenue
	if m.Currency == "" {
		m.Currency = e.Currency
		if m.Currency == "" {
			m.Currency = "USD"
		}
	}
	return m
}

// OrderLines returns what a purchase sold, appended to buf[:0]. An order's line items are
// properties.products (the Segment E-commerce spec's name; each with
// product_id as a string or a number, name or product_name, category,
// price as a number or a decimal string in the order's currency, quantity,
// default 1). Without any, an event naming a product_id sold that product
// for the whole order total. A line without a product id is left out; one
// whose price does not parse as an amount of the currency, or whose
// revenue would overflow, adds no revenue.
func OrderLines(e *tracking.Event, buf []LineItem) []LineItem {
	buf = buf[:0]
	total := OrderTotal(e)
	if len(e.Properties) > 0 && bytes.Contains(e.Properties, []byte(`"products"`)) {
		var props struct {
			Products []struct {
				ProductID   json.RawMessage `json:"product_id"`
				Name        string          `json:"name"`
				ProductName string          `json:"product_name"`
				Category    string          `json:"category"`
				Price       json.RawMessage `json:"price"`
				Quantity    *json.Number    `json:"quantity"`
			} `json:"products"`
		}
		if json.Unmarshal(e.Properties, &props) == nil && len(props.Products) > 0 {
			for _, p := range props.Products {
				id := scalarText(p.ProductID)
				if id == "" {
					continue
				}
				li := LineItem{ProductID: id, Name: p.ProductName, Category: p.Category,
					Revenue: tracking.Money{Currency: total.Currency}}
				if li.Name == "" {
					li.Name = p.Name
				}
				qty := int64(1)
				if p.Quantity != nil {
					if q, err := p.Quantity.Int64(); err == nil && q >= 0 {
						qty = q
					}
				}
				if text := scalarText(p.Price); text != "" {
					if price, err := tracking.ParseMoney(text, total.Currency); err == nil && price.Minor >= 0 {
						hi, lo := bits.Mul64(uint64(price.Minor), uint64(qty))
						if hi == 0 && lo <= math.MaxInt64 {
							li.Revenue.Minor = int64(lo)
						}
					}
				}
				buf = append(buf, li)
			}
			return buf
		}
	}
	if e.ProductID != "" {
		buf = append(buf, LineItem{ProductID: e.ProductID, Name: e.ProductName, Category: e.Category, Revenue: total})
	}
	return buf
}

// scalarText is the text of a JSON string or number, else "".
func scalarText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
		if _, err := strconv.ParseFloat(string(raw), 64); err == nil || isRangeErr(err) {
			return string(raw)
		}
	}
	return ""
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
