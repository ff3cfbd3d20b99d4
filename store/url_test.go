package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
)

func TestRedactHidesEveryPassword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://postgres:s3cret@db:5432/test?sslmode=disable", "postgres://postgres:xxxxx@db:5432/test?sslmode=disable"},
		{"postgres://postgres@db/test", "postgres://postgres@db/test"},
		{"sqlite://shoplytics.db", "sqlite://shoplytics.db"},
		{"redis://:s3cret@r:6379/0?sink=" + "postgres%3A%2F%2Fpostgres%3As3cret%40db%2Ftest", "redis://:xxxxx@r:6379/0?sink=postgres%3A%2F%2Fpostgres%3Axxxxx%40db%2Ftest"},
		{"redis://r:6379/0?sink=redis%3A%2F%2F%3As3cret%40r2%2F1%3Fsink%3Dpostgres%253A%252F%252Fu%253As3cret%2540db", ""},
		{"postgres://postgres:s3cret@db:5432/test?x=%zz", ""},
		{"postgres://postgres:s3cret@db:bad port/x", "postgres://(unparsable URL)"},
		{"::::s3cret", "(unparsable URL)"},
	} {
		got := store.Redact(tc.in)
		require.NotContains(t, got, "s3cret", tc.in)
		if tc.want != "" {
			require.Equal(t, tc.want, got)
		}
	}
}
