package tracking

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMoney(t *testing.T) {
	maxUSD := AppendDecimal(nil, math.MaxInt64, 2) // 92233720368547758.07
	for _, tc := range []struct {
		text, currency string
		minor          int64
		err            error
	}{
		{"19.99", "USD", 1999, nil},
		{"19.9", "USD", 1990, nil},
		{"19", "USD", 1900, nil},
		{"0", "USD", 0, nil},
		{"-0", "USD", 0, nil},
		{"0.00", "USD", 0, nil},
		{"007.50", "USD", 750, nil},
		{".5", "USD", 50, nil},
		{"5.", "USD", 500, nil},
		{"+3", "USD", 300, nil},
		{"-3", "USD", -300, nil},
		{"-19.99", "USD", -1999, nil},
		{"500", "JPY", 500, nil},
		{"500.4", "JPY", 500, nil},
		{"500.5", "JPY", 501, nil},
		{"-500.5", "JPY", -501, nil},
		{"1.25", "KWD", 1250, nil},
		{"1.2345", "KWD", 1235, nil},
		{"1.2344", "KWD", 1234, nil},
		{"1.2345", "CLF", 12345, nil},
		// exponents
		{"1e2", "USD", 10000, nil},
		{"1E2", "USD", 10000, nil},
		{"1e+2", "USD", 10000, nil},
		{"1.5E-1", "USD", 15, nil},
		{"15e-3", "USD", 2, nil},
		{"15e-4", "USD", 0, nil},
		{"0e999999999999", "USD", 0, nil},
		{"1e-999999999999", "USD", 0, nil},
		{"0.00000000000000000000000000000000000000000000000001e60", "USD", 1000000000000, nil},
		{"1234567890123456789012345678901234567890123456789e-40", "USD", 12345678901, nil},
		// rounding half away from zero
		{"0.30000000000000004", "USD", 30, nil},
		{"0.1", "USD", 10, nil},
		{"0.005", "USD", 1, nil},
		{"-0.005", "USD", -1, nil},
		{"0.0049999", "USD", 0, nil},
		{"-0.0049999", "USD", 0, nil},
		{"0.015", "USD", 2, nil},
		{"0.025", "USD", 3, nil},
		{"2.675", "USD", 268, nil},
		// boundaries of int64 minor units
		{string(maxUSD), "USD", math.MaxInt64, nil},
		{"-" + string(maxUSD), "USD", -math.MaxInt64, nil},
		{"92233720368547758.074", "USD", math.MaxInt64, nil},
		{"92233720368547758.075", "USD", 0, ErrDecimalRange},
		{"92233720368547758.08", "USD", 0, ErrDecimalRange},
		{strconv.FormatInt(math.MaxInt64, 10), "JPY", math.MaxInt64, nil},
		{"9223372036854775808", "JPY", 0, ErrDecimalRange},
		{"1e17", "USD", 0, ErrDecimalRange},
		{"1e300", "USD", 0, ErrDecimalRange},
		{"99999999999999999999999999999999999999999999999999999", "USD", 0, ErrDecimalRange},
		// syntax
		{"", "USD", 0, ErrDecimalSyntax},
		{"-", "USD", 0, ErrDecimalSyntax},
		{".", "USD", 0, ErrDecimalSyntax},
		{"abc", "USD", 0, ErrDecimalSyntax},
		{"1.2.3", "USD", 0, ErrDecimalSyntax},
		{"--1", "USD", 0, ErrDecimalSyntax},
		{"1e", "USD", 0, ErrDecimalSyntax},
		{"1e+", "USD", 0, ErrDecimalSyntax},
		{"1e2.5", "USD", 0, ErrDecimalSyntax},
		{"e2", "USD", 0, ErrDecimalSyntax},
		{" 1", "USD", 0, ErrDecimalSyntax},
		{"1 ", "USD", 0, ErrDecimalSyntax},
		{"1,5", "USD", 0, ErrDecimalSyntax},
		{"$1", "USD", 0, ErrDecimalSyntax},
		{"NaN", "USD", 0, ErrDecimalSyntax},
		{"Infinity", "USD", 0, ErrDecimalSyntax},
		{"0x10", "USD", 0, ErrDecimalSyntax},
	} {
		t.Run(tc.text+"/"+tc.currency, func(t *testing.T) {
			m, err := ParseMoney(tc.text, tc.currency)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, Money{Minor: tc.minor, Currency: tc.currency}, m)
		})
	}
}

func TestMoneyString(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{Money{12345, "USD"}, "123.45"},
		{Money{5, "USD"}, "0.05"},
		{Money{-5, "USD"}, "-0.05"},
		{Money{-12345, "EUR"}, "-123.45"},
		{Money{0, "USD"}, "0.00"},
		{Money{100000000, "USD"}, "1000000.00"},
		{Money{500, "JPY"}, "500"},
		{Money{-500, "JPY"}, "-500"},
		{Money{1250, "KWD"}, "1.250"},
		{Money{1, "KWD"}, "0.001"},
		{Money{12345, "CLF"}, "1.2345"},
		{Money{math.MaxInt64, "USD"}, "92233720368547758.07"},
		{Money{math.MinInt64, "USD"}, "-92233720368547758.08"},
		{Money{math.MinInt64, "JPY"}, "-9223372036854775808"},
		{Money{7, ""}, "0.07"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, tc.m.String())
			require.Equal(t, "x"+tc.want, string(tc.m.AppendText([]byte("x"))))
		})
	}
}

func TestAppendDecimal(t *testing.T) {
	for _, tc := range []struct {
		v      int64
		digits int
		want   string
	}{
		{0, 0, "0"},
		{0, 3, "0.000"},
		{1, 4, "0.0001"},
		{-1, 4, "-0.0001"},
		{123456, 3, "123.456"},
		{math.MaxInt64, 0, "9223372036854775807"},
		{math.MaxInt64, 18, "9.223372036854775807"},
	} {
		require.Equal(t, tc.want, string(AppendDecimal(nil, tc.v, tc.digits)))
	}
}

func TestMoneyRoundTripsThroughText(t *testing.T) {
	for _, cur := range []string{"USD", "JPY", "KWD", "CLF"} {
		for _, v := range []int64{0, 1, -1, 9, 10, 99, 100, 101, 123456789, -987654321, math.MaxInt64, -math.MaxInt64} {
			m := Money{Minor: v, Currency: cur}
			got, err := ParseMoney(m.String(), cur)
			require.NoError(t, err)
			require.Equal(t, m, got)
		}
	}
}

// One million purchases of 0.10, as a JavaScript client sends them, add up
// to exactly 100000.00: the sum is of integers.
func TestMoneySumIsExact(t *testing.T) {
	var sum int64
	var fsum float64
	for range 1_000_000 {
		m, err := ParseMoney("0.10", "USD")
		require.NoError(t, err)
		sum += m.Minor
		fsum += 0.10
	}
	require.Equal(t, "100000.00", Money{Minor: sum, Currency: "USD"}.String())
	require.NotEqual(t, 100000.0, fsum, "float64 would have drifted")
}

func TestMinorDigitsAndValidCurrency(t *testing.T) {
	require.Equal(t, 2, MinorDigits("USD"))
	require.Equal(t, 2, MinorDigits("EUR"))
	require.Equal(t, 2, MinorDigits("XYZ"))
	require.Equal(t, 0, MinorDigits("JPY"))
	require.Equal(t, 0, MinorDigits("KRW"))
	require.Equal(t, 3, MinorDigits("KWD"))
	require.Equal(t, 3, MinorDigits("BHD"))
	for code, ok := range map[string]bool{"USD": true, "EUR": true, "usd": false, "US": false, "USDX": false, "U$D": false, "": false} {
		require.Equal(t, ok, ValidCurrency(code), code)
	}
}
