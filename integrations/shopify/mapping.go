package shopify

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shoplytics/shoplytics/tracking"
)

// Webhook topics the mapping takes.
const (
	TopicOrdersCreate    = "orders/create"
	TopicOrdersPaid      = "orders/paid"
	TopicRefundsCreate   = "refunds/create"
	TopicCheckoutsCreate = "checkouts/create"
	TopicCustomersCreate = "customers/create"
)

var (
	// ErrUnknownTopic is returned for a webhook topic the mapping has no
	// event for; the webhook is acknowledged and ignored.
	ErrUnknownTopic = errors.New("shopify: topic is not mapped")
	// ErrNothingToRecord is returned for an object that is no event: an
	// order voided before it was paid.
	ErrNothingToRecord = errors.New("shopify: nothing to record")
)

// Event ids are derived from the Shopify object, so the same object seen
// twice (orders/create and orders/paid, a webhook retried, a webhook and the
// historical sync) is one event: the store keeps one event per (shop, id).

// OrderEventID is the id of the purchase_completed event of an order.
func OrderEventID(orderID string) string { return "shopify:order:" + orderID }

// RefundEventID is the id of the order_refunded event of a refund.
func RefundEventID(refundID string) string { return "shopify:refund:" + refundID }

// CheckoutEventID is the id of the checkout_started event of a checkout,
// by its token (or its id when it has no token).
func CheckoutEventID(token string) string { return "shopify:checkout:" + token }

// CustomerEventID is the id of the identify event of a new customer.
func CustomerEventID(customerID string) string { return "shopify:customer:" + customerID }

// WebhookEventID is the id of an event whose object has no id of its own:
// the X-Shopify-Webhook-Id, the same on every retry of one webhook.
func WebhookEventID(webhookID string) string { return "shopify:webhook:" + webhookID }

// Webhook maps the body of a Shopify webhook of topic to its event, with
// ShopID left for the caller. webhookID (X-Shopify-Webhook-Id) is the
// event's id when the object carries no id. It returns ErrUnknownTopic for
// a topic it does not map, ErrNothingToRecord for an object that is no
// event, and an error wrapping a *tracking.ValidationError naming the
// Shopify field for a payload it cannot map.
func Webhook(topic string, body []byte, webhookID string) (tracking.Event, error) {
	var (
		e   tracking.Event
		err error
	)
	switch topic {
	case TopicOrdersCreate, TopicOrdersPaid:
		var o Order
		if err := decode(body, &o); err != nil {
			return tracking.Event{}, err
		}
		e, err = OrderEvent(&o)
	case TopicRefundsCreate:
		var r Refund
		if err := decode(body, &r); err != nil {
			return tracking.Event{}, err
		}
		e, err = RefundEvent(&r, nil)
	case TopicCheckoutsCreate:
		var c Checkout
		if err := decode(body, &c); err != nil {
			return tracking.Event{}, err
		}
		e, err = CheckoutEvent(&c)
	case TopicCustomersCreate:
		var c Customer
		if err := decode(body, &c); err != nil {
			return tracking.Event{}, err
		}
		e, err = CustomerEvent(&c)
	default:
		return tracking.Event{}, fmt.Errorf("%w: %q", ErrUnknownTopic, topic)
	}
	if err != nil && errors.Is(err, errNoID) && webhookID != "" {
		// The object has no natural key: the webhook's id is one.
		err = nil
		e.ID = WebhookEventID(webhookID)
	}
	if err != nil {
		return tracking.Event{}, err
	}
	return e, nil
}

// decode decodes a Shopify object, refusing text encoding/json would
// decode with a loss (see losslessText).
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("shopify: %w", &tracking.ValidationError{Field: te.Field, Reason: "has the wrong type: " + te.Value})
		}
		return fmt.Errorf("shopify: body is not a JSON object: %w", err)
	}
	if err := losslessText(body); err != nil {
		return fmt.Errorf("shopify: %w", err)
	}
	return nil
}

// losslessText checks valid JSON text for strings that encoding/json
// would decode with a loss, replacing it by U+FFFD: invalid UTF-8 and the
// \u escape of an unpaired UTF-16 surrogate. Two ids that differ only
// there ("o\ud800", "o\udbff") would become one, and the second order
// would be dropped as a duplicate of the first. The error is a
// *tracking.ValidationError naming the nearest key before the string.
func losslessText(b []byte) error {
	key := ""
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		reason := ""
		j := i + 1
		for ; j < len(b) && b[j] != '"'; j++ {
			switch c := b[j]; {
			case c == '\\' && j+5 < len(b) && b[j+1] == 'u':
				switch r := hex4(b[j+2:]); {
				case r >= 0xD800 && r <= 0xDBFF:
					if j+11 < len(b) && b[j+6] == '\\' && b[j+7] == 'u' {
						if lo := hex4(b[j+8:]); lo >= 0xDC00 && lo <= 0xDFFF {
							j += 6 // the pair's low half
							break
						}
					}
					reason = "contains an unpaired UTF-16 surrogate"
				case r >= 0xDC00 && r <= 0xDFFF:
					reason = "contains an unpaired UTF-16 surrogate"
				}
				j += 5
			case c == '\\':
				j++ // the escaped character
			case c >= utf8.RuneSelf:
				r, size := utf8.DecodeRune(b[j:])
				if r == utf8.RuneError && size == 1 {
					reason = "not valid UTF-8"
				}
				j += size - 1
			}
		}
		k := j + 1
		for k < len(b) && strings.IndexByte(" \t\r\n", b[k]) >= 0 {
			k++
		}
		if reason != "" {
			return &tracking.ValidationError{Field: key, Reason: reason}
		}
		if k < len(b) && b[k] == ':' {
			key = string(b[i+1 : j])
		}
		i = j
	}
	return nil
}

// hex4 reads four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	r := rune(0)
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

// errNoID marks an event mapped in full but for its id, which the object
// did not carry: Webhook gives it the webhook's id.
var errNoID = &tracking.ValidationError{Field: "id", Reason: "is required"}

func invalid(field, format string, args ...any) error {
	return &tracking.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// OrderEvent maps an order to its purchase_completed event: revenue is
// total_price exactly, in the order's currency; the customer's id is the
// user id and the checkout token the anonymous id (so the order joins the
// checkout_started of the same checkout, and a guest's order has a
// person); the line items are properties.products, as analytics reads
// them for top products; the time is processed_at, else created_at. An
// order voided without payment is ErrNothingToRecord.
func OrderEvent(o *Order) (tracking.Event, error) {
	if o.FinancialStatus == "voided" {
		return tracking.Event{}, fmt.Errorf("%w: order %s was voided", ErrNothingToRecord, o.ID)
	}
	e := tracking.Event{Type: tracking.PurchaseCompleted, OrderID: string(o.ID), Currency: strings.ToUpper(o.Currency),
		URL: o.LandingSite, Referrer: o.ReferringSite}
	fail := func(err error) (tracking.Event, error) {
		return e, fmt.Errorf("shopify: order %s: %w", o.ID, err)
	}
	if e.Currency == "" {
		return fail(invalid("currency", "is required"))
	}
	if o.TotalPrice == "" {
		return fail(invalid("total_price", "is required"))
	}
	total, err := tracking.ParseMoney(string(o.TotalPrice), e.Currency)
	if err != nil {
		return fail(invalid("total_price", "%v", err))
	}
	e.Revenue = total
	if e.Timestamp, err = firstTime("processed_at", o.ProcessedAt, "created_at", o.CreatedAt); err != nil {
		return fail(err)
	}
	if o.Customer != nil {
		e.UserID = string(o.Customer.ID)
	}
	e.AnonymousID = o.CheckoutToken
	if e.UserID == "" && e.AnonymousID == "" {
		e.AnonymousID = "shopify-order:" + string(o.ID)
	}
	props := map[string]any{"source": "shopify"}
	set := func(k, v string) {
		if v != "" {
			props[k] = v
		}
	}
	set("order_name", o.Name)
	set("order_number", string(o.OrderNumber))
	set("financial_status", o.FinancialStatus)
	set("subtotal", string(o.SubtotalPrice))
	set("tax", string(o.TotalTax))
	set("discount", string(o.TotalDiscounts))
	set("source_name", o.SourceName)
	if o.Test {
		props["test"] = true
	}
	if e.Properties, err = withProducts(props, o.LineItems); err != nil {
		return fail(err)
	}
	if o.ID == "" {
		return e, fmt.Errorf("shopify: order: %w", errNoID)
	}
	e.ID = OrderEventID(string(o.ID))
	return e, nil
}

// RefundEvent maps a refund to its order_refunded event. The amount is
// what the refund's successful refund transactions gave back; a refund
// without any transaction (goods returned, no money moved yet) is valued at
// its refunded lines, subtotal and tax. order, when known (the historical
// sync reads refunds inside their order), gives the customer, else the
// refund's own customer when its payload carries one; a webhook's refund
// that names only its order has the order as its person
// ("shopify-order:<id>" as anonymous id). The refund's user_id (the staff
// member who made it) is never the customer.
func RefundEvent(r *Refund, order *Order) (tracking.Event, error) {
	e := tracking.Event{Type: tracking.OrderRefunded, OrderID: string(r.OrderID)}
	fail := func(err error) (tracking.Event, error) {
		return e, fmt.Errorf("shopify: refund %s: %w", r.ID, err)
	}
	var sum int64
	currency := ""
	add := func(field string, a Amount, cur string) error {
		if a == "" {
			return nil
		}
		cur = strings.ToUpper(cur)
		if cur == "" {
			return invalid(field, "has no currency")
		}
		if currency == "" {
			currency = cur
		} else if cur != currency {
			return invalid(field, "is in %s, the refund's other amounts in %s", cur, currency)
		}
		m, err := tracking.ParseMoney(string(a), cur)
		if err != nil {
			return invalid(field, "%v", err)
		}
		if m.Minor < 0 {
			m.Minor = -m.Minor
		}
		if sum > math.MaxInt64-m.Minor {
			return invalid(field, "the refund's total is out of range")
		}
		sum += m.Minor
		return nil
	}
	orderCurrency := ""
	if order != nil {
		orderCurrency = order.Currency
	}
	moved := false
	for i, t := range r.Transactions {
		if t.Kind != "refund" || t.Status != "" && t.Status != "success" {
			continue
		}
		moved = true
		if err := add(fmt.Sprintf("transactions[%d].amount", i), t.Amount, firstNonEmpty(t.Currency, orderCurrency)); err != nil {
			return fail(err)
		}
	}
	if !moved {
		for i, li := range r.RefundLineItems {
			cur := firstNonEmpty(li.SubtotalSet.ShopMoney.CurrencyCode, orderCurrency)
			if err := add(fmt.Sprintf("refund_line_items[%d].subtotal", i), li.Subtotal, cur); err != nil {
				return fail(err)
			}
			if err := add(fmt.Sprintf("refund_line_items[%d].total_tax", i), li.TotalTax, cur); err != nil {
				return fail(err)
			}
		}
	}
	if currency == "" {
		currency = strings.ToUpper(orderCurrency)
	}
	if currency == "" {
		return fail(invalid("transactions", "name no currency, and no refunded line does"))
	}
	e.Currency = currency
	e.Revenue = tracking.Money{Minor: sum, Currency: currency}
	var err error
	if e.Timestamp, err = firstTime("processed_at", r.ProcessedAt, "created_at", r.CreatedAt); err != nil {
		return fail(err)
	}
	if order != nil {
		if order.Customer != nil {
			e.UserID = string(order.Customer.ID)
		}
		e.AnonymousID = order.CheckoutToken
	}
	if e.UserID == "" && r.Customer != nil {
		e.UserID = string(r.Customer.ID)
	}
	if e.UserID == "" && e.AnonymousID == "" {
		if r.OrderID == "" {
			return fail(invalid("order_id", "is required"))
		}
		e.AnonymousID = "shopify-order:" + string(r.OrderID)
	}
	props := map[string]any{"source": "shopify"}
	if r.Note != "" {
		props["note"] = r.Note
	}
	if r.Restock {
		props["restock"] = true
	}
	lines := make([]LineItem, 0, len(r.RefundLineItems))
	for _, li := range r.RefundLineItems {
		l := li.LineItem
		l.Quantity = li.Quantity
		lines = append(lines, l)
	}
	if e.Properties, err = withProducts(props, lines); err != nil {
		return fail(err)
	}
	if r.ID == "" {
		return e, fmt.Errorf("shopify: refund: %w", errNoID)
	}
	e.ID = RefundEventID(string(r.ID))
	return e, nil
}

// CheckoutEvent maps a checkout to its checkout_started event: the
// customer's id as user id, the checkout's token as anonymous id (the
// order it becomes carries it as checkout_token), its lines as
// properties.products and its total as properties.total.
func CheckoutEvent(c *Checkout) (tracking.Event, error) {
	e := tracking.Event{Type: tracking.CheckoutStarted, Currency: strings.ToUpper(c.Currency),
		URL: c.LandingSite, Referrer: c.ReferringSite, AnonymousID: c.Token}
	fail := func(err error) (tracking.Event, error) {
		return e, fmt.Errorf("shopify: checkout %s: %w", firstNonEmpty(c.Token, string(c.ID)), err)
	}
	if c.Customer != nil {
		e.UserID = string(c.Customer.ID)
	}
	if e.AnonymousID == "" {
		e.AnonymousID = c.CartToken
	}
	if e.UserID == "" && e.AnonymousID == "" && c.ID != "" {
		e.AnonymousID = "shopify-checkout:" + string(c.ID)
	}
	var err error
	if e.Timestamp, err = firstTime("created_at", c.CreatedAt, "", ""); err != nil {
		return fail(err)
	}
	props := map[string]any{"source": "shopify"}
	if c.TotalPrice != "" {
		if e.Currency == "" {
			return fail(invalid("currency", "is required with total_price"))
		}
		if _, err := tracking.ParseMoney(string(c.TotalPrice), e.Currency); err != nil {
			return fail(invalid("total_price", "%v", err))
		}
		props["total"] = string(c.TotalPrice)
	}
	if e.Properties, err = withProducts(props, c.LineItems); err != nil {
		return fail(err)
	}
	key := firstNonEmpty(c.Token, string(c.ID))
	if key == "" {
		return e, fmt.Errorf("shopify: checkout: %w", errNoID)
	}
	e.ID = CheckoutEventID(key)
	return e, nil
}

// CustomerEvent maps a new customer to an identify event of its id, at
// its creation time. Nothing personal (name, e-mail, address) is kept.
func CustomerEvent(c *Customer) (tracking.Event, error) {
	e := tracking.Event{Type: tracking.Identify, UserID: string(c.ID)}
	var err error
	if e.Timestamp, err = firstTime("created_at", c.CreatedAt, "updated_at", c.UpdatedAt); err != nil {
		return e, fmt.Errorf("shopify: customer %s: %w", c.ID, err)
	}
	props := map[string]any{"source": "shopify"}
	if c.State != "" {
		props["state"] = c.State
	}
	if e.Properties, err = json.Marshal(props); err != nil {
		return e, fmt.Errorf("shopify: customer %s: %w", c.ID, err)
	}
	if c.ID == "" {
		// Without an id there is no user to identify either.
		return e, fmt.Errorf("shopify: customer: %w", invalid("id", "is required"))
	}
	e.ID = CustomerEventID(string(c.ID))
	return e, nil
}

// product is a line item as analytics reads properties.products.
type product struct {
	ProductID string `json:"product_id"`
	VariantID string `json:"variant_id,omitempty"`
	SKU       string `json:"sku,omitempty"`
	Name      string `json:"name,omitempty"`
	Price     string `json:"price,omitempty"`
	Quantity  int64  `json:"quantity"`
}

// withProducts encodes props with the line items as "products". A line
// without a product (a custom item) is named by its SKU, else left out.
// Properties are capped at tracking.MaxPropertiesLen: an order too large
// keeps its lines without variant and SKU, then only as many lines as fit,
// with "products_total" counting them all.
func withProducts(props map[string]any, lines []LineItem) (json.RawMessage, error) {
	ps := make([]product, 0, len(lines))
	for i, li := range lines {
		id := firstNonEmpty(string(li.ProductID), li.SKU)
		if id == "" {
			continue
		}
		if li.Quantity < 0 {
			return nil, invalid(fmt.Sprintf("line_items[%d].quantity", i), "is negative")
		}
		ps = append(ps, product{ProductID: id, VariantID: string(li.VariantID), SKU: li.SKU,
			Name: firstNonEmpty(li.Title, li.Name), Price: string(li.Price), Quantity: li.Quantity})
	}
	if len(ps) > 0 {
		props["products"] = ps
	}
	b, err := json.Marshal(props)
	if err != nil || len(b) <= tracking.MaxPropertiesLen {
		return b, err
	}
	for i := range ps {
		ps[i].VariantID, ps[i].SKU = "", ""
	}
	props["products_total"] = len(ps)
	for n := len(ps); n > 0; n = n * 9 / 10 {
		props["products"] = ps[:n]
		if b, err = json.Marshal(props); err != nil || len(b) <= tracking.MaxPropertiesLen {
			return b, err
		}
	}
	delete(props, "products")
	return json.Marshal(props)
}

// firstTime parses the first non-empty of two Shopify timestamps (RFC 3339
// with an offset); none is the zero time (the receipt time, once
// normalised).
func firstTime(field, value, field2, value2 string) (time.Time, error) {
	if value == "" {
		field, value = field2, value2
	}
	if value == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, invalid(field, "is not an RFC 3339 time: %q", value)
	}
	return t.UTC(), nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
