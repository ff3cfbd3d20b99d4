package datagen

import (
	"fmt"

	"github.com/shoplytics/shoplytics/tracking"
)

// product is an item of the shop's catalogue, priced in US cents.
type product struct {
	id, name, category string
	cents              int64
}

// FlashProductID is the product of the flash sale.
const FlashProductID = "p-flash"

var flashProduct = product{FlashProductID, "Limited Edition Sneaker", "shoes", 4999}

// catalog is the shop's products; the first ones are the most popular
// (visitors pick by a skewed distribution).
var catalog = func() []product {
	cats := []struct {
		name  string
		items []string
		base  int64
	}{
		{"shoes", []string{"Trail Runner", "City Sneaker", "Leather Boot", "Canvas Slip-on", "Hiking Boot"}, 5999},
		{"shirts", []string{"Linen Shirt", "Oxford Shirt", "Graphic Tee", "Polo", "Flannel Shirt"}, 2499},
		{"trousers", []string{"Slim Chino", "Denim Jeans", "Cargo Pants", "Joggers"}, 4499},
		{"accessories", []string{"Wool Beanie", "Leather Belt", "Canvas Tote", "Sunglasses", "Socks (3 pack)"}, 1299},
		{"outerwear", []string{"Rain Jacket", "Down Parka", "Denim Jacket"}, 8999},
	}
	// Interleaved by category, so the popular head of the list mixes
	// them: the first item of each, then the second, and so on.
	var out []product
	for j := 0; j < 5; j++ {
		for _, c := range cats {
			if j < len(c.items) {
				// A spread of prices, some ending in .99, some not.
				cents := c.base + int64(j)*750 - int64(j%2)
				out = append(out, product{fmt.Sprintf("p-%s-%d", c.name, j+1), c.items[j], c.name, cents})
			}
		}
	}
	return out
}()

// rates are the fixed exchange rates from US dollars, in thousandths;
// other currencies take the dollar amount as it is.
var rates = map[string]int64{"USD": 1000, "EUR": 920, "GBP": 790, "JPY": 150_000, "CHF": 880, "CAD": 1370, "AUD": 1520}

// price is p's unit price in currency, rounded to its minor unit (to ten
// yen for JPY, as shops price).
func price(cents int64, currency string) tracking.Money {
	rate, ok := rates[currency]
	if !ok {
		rate = 1000
	}
	digits := tracking.MinorDigits(currency)
	scale := int64(1)
	for range digits {
		scale *= 10
	}
	// cents/100 dollars × rate/1000 × scale minor units, rounded half-up.
	num := cents * rate * scale
	den := int64(100 * 1000)
	minor := (num + den/2) / den
	if digits == 0 && minor >= 100 {
		minor = (minor + 5) / 10 * 10
	}
	if minor < 1 {
		minor = 1
	}
	return tracking.Money{Minor: minor, Currency: currency}
}
