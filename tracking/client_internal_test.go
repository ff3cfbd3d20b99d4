package tracking

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"2.0", 2 * time.Second}, // Shopify's form
		{"0.25", 250 * time.Millisecond},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"-5", 0},
		{"86400", maxRetryAfter},
		{"soon", 0},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, retryAfter(tc.header, now), tc.header)
	}
}
