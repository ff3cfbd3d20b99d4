package datagen

import "github.com/shoplytics/shoplytics/tracking"

// Product is an item of the generated shop's catalogue, as a shop would
// list it.
type Product struct {
	ID, Name, Category string
	// Price is the unit price in the currency Products was asked for.
	Price tracking.Money
}

// Products returns the catalogue the generated traffic browses and buys
// (the flash-sale product last), priced in currency at the generator's
// fixed rates, so that a shop selling these products adds its own
// events to the same products as the generated ones.
func Products(currency string) []Product {
	all := append(append([]product(nil), catalog...), flashProduct)
	out := make([]Product, len(all))
	for i, p := range all {
		out[i] = Product{ID: p.id, Name: p.name, Category: p.category, Price: price(p.cents, currency)}
	}
	return out
}
