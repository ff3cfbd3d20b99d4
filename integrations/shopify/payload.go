package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ID is a Shopify object id. Shopify sends ids as JSON numbers as large as
// 2^63 (820982911946154508), beyond what a float64 holds exactly, so an ID
// keeps the digits as text; a string id ("gid://…" or digits) is taken as
// it is. null and absent are "".
type ID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	if err != nil {
		return fmt.Errorf("id: %w", err)
	}
	*id = ID(s)
	return nil
}

// Amount is a decimal amount as Shopify sends it: a string ("199.00") in
// most places, a JSON number (195.67) in a few (refund line items). Its
// text is kept exactly, to be parsed with tracking.ParseMoney; it never
// passes through float64.
type Amount string

// UnmarshalJSON implements json.Unmarshaler.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	if err != nil {
		return fmt.Errorf("amount: %w", err)
	}
	*a = Amount(s)
	return nil
}

// scalar returns the text of a JSON string or number, "" for null.
func scalar(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
	return "", fmt.Errorf("want a string or a number, got %.20s", b)
}

// Order is the part of a Shopify order (the orders/* webhooks' body, and
// each element of the Admin API's orders.json) that the mapping reads.
type Order struct {
	ID              ID         `json:"id"`
	Name            string     `json:"name"` // "#1001"
	OrderNumber     ID         `json:"order_number"`
	CreatedAt       string     `json:"created_at"`
	ProcessedAt     string     `json:"processed_at"`
	CancelledAt     string     `json:"cancelled_at"`
	Currency        string     `json:"currency"`
	TotalPrice      Amount     `json:"total_price"`
	SubtotalPrice   Amount     `json:"subtotal_price"`
	TotalTax        Amount     `json:"total_tax"`
	TotalDiscounts  Amount     `json:"total_discounts"`
	FinancialStatus string     `json:"financial_status"`
	Test            bool       `json:"test"`
	CheckoutToken   string     `json:"checkout_token"`
	LandingSite     string     `json:"landing_site"`
	ReferringSite   string     `json:"referring_site"`
	SourceName      string     `json:"source_name"`
	Customer        *Customer  `json:"customer"`
	LineItems       []LineItem `json:"line_items"`
	// Refunds are the order's refunds; the Admin API's orders.json
	// embeds them, the orders/* webhooks too.
	Refunds []Refund `json:"refunds"`
}

// LineItem is one line of an order or a checkout.
type LineItem struct {
	ID        ID     `json:"id"`
	ProductID ID     `json:"product_id"`
	VariantID ID     `json:"variant_id"`
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	Name      string `json:"name"`
	Vendor    string `json:"vendor"`
	Quantity  int64  `json:"quantity"`
	Price     Amount `json:"price"`
}

// Customer is the part of a Shopify customer the mapping reads.
type Customer struct {
	ID        ID     `json:"id"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	State     string `json:"state"`
	Currency  string `json:"currency"`
	// AcceptsMarketing is kept as Shopify sends it (older API versions).
	AcceptsMarketing *bool `json:"accepts_marketing"`
}

// Refund is a Shopify refund (the refunds/create webhook's body, and the
// elements of an order's refunds).
type Refund struct {
	ID               ID               `json:"id"`
	OrderID          ID               `json:"order_id"`
	CreatedAt        string           `json:"created_at"`
	ProcessedAt      string           `json:"processed_at"`
	Note             string           `json:"note"`
	Restock          bool             `json:"restock"`
	RefundLineItems  []RefundLineItem `json:"refund_line_items"`
	Transactions     []Transaction    `json:"transactions"`
	OrderAdjustments []struct {
		Amount    Amount   `json:"amount"`
		TaxAmount Amount   `json:"tax_amount"`
		Kind      string   `json:"kind"`
		AmountSet moneySet `json:"amount_set"`
	} `json:"order_adjustments"`
	// Customer is the order's customer, when the payload carries one.
	// Shopify's documented refunds/create payload does not; its user_id
	// is the staff member who made the refund, never read as the
	// customer.
	Customer *Customer `json:"customer"`
}

// RefundLineItem is one refunded line of a refund.
type RefundLineItem struct {
	ID          ID       `json:"id"`
	LineItemID  ID       `json:"line_item_id"`
	Quantity    int64    `json:"quantity"`
	Subtotal    Amount   `json:"subtotal"`
	TotalTax    Amount   `json:"total_tax"`
	SubtotalSet moneySet `json:"subtotal_set"`
	LineItem    LineItem `json:"line_item"`
}

// Transaction is a money movement of an order; a refund's transactions of
// kind "refund" and status "success" are the money given back.
type Transaction struct {
	ID       ID     `json:"id"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Amount   Amount `json:"amount"`
	Currency string `json:"currency"`
}

// moneySet is Shopify's amount in the shop's and the buyer's currency.
type moneySet struct {
	ShopMoney struct {
		Amount       Amount `json:"amount"`
		CurrencyCode string `json:"currency_code"`
	} `json:"shop_money"`
}

// Checkout is the part of a Shopify checkout (checkouts/create) the
// mapping reads.
type Checkout struct {
	ID            ID         `json:"id"`
	Token         string     `json:"token"`
	CartToken     string     `json:"cart_token"`
	CreatedAt     string     `json:"created_at"`
	Currency      string     `json:"currency"`
	TotalPrice    Amount     `json:"total_price"`
	SubtotalPrice Amount     `json:"subtotal_price"`
	LandingSite   string     `json:"landing_site"`
	ReferringSite string     `json:"referring_site"`
	Customer      *Customer  `json:"customer"`
	LineItems     []LineItem `json:"line_items"`
}
