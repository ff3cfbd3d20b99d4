package datagen_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/tracking"
)

func TestProductsAreTheOnesTheTrafficBuys(t *testing.T) {
	products := datagen.Products("EUR")
	byID := map[string]datagen.Product{}
	for _, p := range products {
		require.NotEmpty(t, p.Name)
		require.NotEmpty(t, p.Category)
		require.Equal(t, "EUR", p.Price.Currency)
		require.Positive(t, p.Price.Minor)
		require.NotContains(t, byID, p.ID, "ids are unique")
		byID[p.ID] = p
	}
	require.Contains(t, byID, datagen.FlashProductID)

	// Every product the generated traffic views is in the list, at the
	// price the traffic pays in that currency.
	seen := 0
	for _, e := range datagen.Generate(datagen.Options{Days: 1, Visitors: 50, Currencies: []datagen.Currency{{Code: "EUR", Weight: 1}}}) {
		if e.Type != tracking.ProductViewed {
			continue
		}
		p, ok := byID[e.ProductID]
		require.True(t, ok, "%s is not listed", e.ProductID)
		require.Equal(t, p.Price, e.Price, e.ProductID)
		seen++
	}
	require.Positive(t, seen)
}
