package tracking

import (
	"math"
	"strconv"
	"strings"
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
		{"19.990000", "USD", 1999, nil},
		{"500", "JPY", 500, nil},
		{"100", "JPY", 100, nil},
		{"500.000", "JPY", 500, nil},
		{"1.25", "KWD", 1250, nil},
		{"1.250", "KWD", 1250, nil},
		{"1.2345", "CLF", 12345, nil},
		// finer than the minor unit: refused, not rounded
		{"19.999", "USD", 0, ErrDecimalPlaces},
		{"0.001", "USD", 0, ErrDecimalPlaces},
		{"-0.001", "USD", 0, ErrDecimalPlaces},
		{"0.005", "USD", 0, ErrDecimalPlaces},
		{"0.0049999", "USD", 0, ErrDecimalPlaces},
		{"2.675", "USD", 0, ErrDecimalPlaces},
		{"19.9900000001", "USD", 0, ErrDecimalPlaces},
		{"100.5", "JPY", 0, ErrDecimalPlaces},
		{"500.4", "JPY", 0, ErrDecimalPlaces},
		{"-500.5", "JPY", 0, ErrDecimalPlaces},
		{"1.2505", "KWD", 0, ErrDecimalPlaces},
		{"1.2344", "KWD", 0, ErrDecimalPlaces},
		{"1.23456", "CLF", 0, ErrDecimalPlaces},
		{"15e-3", "USD", 0, ErrDecimalPlaces},
		{"15e-4", "USD", 0, ErrDecimalPlaces},
		{"1e-14", "USD", 0, ErrDecimalPlaces},
		{"0.0099999999999", "USD", 0, ErrDecimalPlaces},
		{"1234567890123456789012345678901234567890123456789e-40", "USD", 0, ErrDecimalPlaces},
		// float noise: within one part in 10^12 of whole minor units
		{"0.30000000000000004", "USD", 30, nil},
		{"-0.30000000000000004", "USD", -30, nil},
		{"3.0000000000000004e-1", "USD", 30, nil},
		{"0.7999999999999999", "USD", 80, nil},
		{"3.3000000000000003", "USD", 330, nil},
		{"1004.9999999999999", "USD", 100500, nil},
		{"19.99000000001", "USD", 1999, nil},
		{"0.00999999999999", "USD", 1, nil},
		{"99.99999999999999", "JPY", 100, nil},
		{"1.2500000000001", "KWD", 1250, nil},
		{"1e-15", "USD", 0, nil},
		{"1e-20", "USD", 0, nil},
		{"-1e-20", "USD", 0, nil},
		{"12345678901234.567", "USD", 1234567890123457, nil},
		{"12345678901234.565", "USD", 1234567890123457, nil},
		{"12345678901234.564", "USD", 1234567890123456, nil},
		// exponents
		{"1e2", "USD", 10000, nil},
		{"1E2", "USD", 10000, nil},
		{"1e+2", "USD", 10000, nil},
		{"1.5E-1", "USD", 15, nil},
		{"0e999999999999", "USD", 0, nil},
		{"1e-999999999999", "USD", 0, nil},
		{"0.00000000000000000000000000000000000000000000000001e60", "USD", 1000000000000, nil},
		{"1234567890123456789012345678901234567890123456789e-38", "USD", 1234567890123, nil},
		{"0.1", "USD", 10, nil},
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

// The error for an amount finer than the minor unit names the amount and
// what the currency allows; the decoder puts the field in front.
func TestParseMoneyTooManyDecimalPlaces(t *testing.T) {
	for _, tc := range []struct{ text, currency, want string }{
		{"19.999", "USD", "19.999 has more decimal places than USD allows (2)"},
		{"100.5", "JPY", "100.5 has more decimal places than JPY allows (0)"},
		{"1.2505", "KWD", "1.2505 has more decimal places than KWD allows (3)"},
		{"1e-3", "USD", "1e-3 has more decimal places than USD allows (2)"},
		{"0.001", "", "0.001 has more decimal places than the currency allows (2)"},
		{"19.99900000000000000000000000000000000000000000001", "USD", "19.9990000000000000000000000000000000... has more decimal places than USD allows (2)"},
	} {
		_, err := ParseMoney(tc.text, tc.currency)
		require.ErrorIs(t, err, ErrDecimalPlaces, tc.text)
		require.EqualError(t, err, tc.want)
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

func TestMinorDigits(t *testing.T) {
	for want, codes := range map[int][]string{
		0: {"JPY", "KRW", "ISK", "UGX", "VND", "CLP", "PYG", "XAF", "XOF", "XPF", "BIF", "DJF", "GNF", "KMF", "RWF", "UYI", "VUV"},
		2: {"USD", "EUR", "GBP", "CHF", "XCD", "XCG", "ZWG", "SLE", "MRU", "VES", "VED", "STN",
			"XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", // no minor unit in ISO 4217: kept to 2
			"XYZ", "XTS", "XXX", "", "usd"}, // not ISO 4217 currencies: 2, for want of one
		3: {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"},
		4: {"CLF", "UYW"},
	} {
		for _, code := range codes {
			require.Equal(t, want, MinorDigits(code), code)
		}
	}
}

func TestValidCurrencyIsISO4217(t *testing.T) {
	for _, code := range []string{"USD", "EUR", "JPY", "KWD", "CLF", "UYW", "CHE", "CHW", "BOV", "COU", "MXV", "USN", "UYI",
		"XAF", "XOF", "XPF", "XCD", "XCG", "XAD", "XDR", "XAU", "XAG", "XPT", "XPD", "XSU", "XUA", "XBA", "XBD"} {
		require.True(t, ValidCurrency(code), code)
	}
	for _, code := range []string{"XYZ", "XTS", "XXX", "AAA", "ZZZ", "HRK", "usd", "Usd", "US", "USDX", "U$D", "", "\x00SD"} {
		require.False(t, ValidCurrency(code), code)
	}
}

// Every ISO 4217 code parses and renders its amounts with its own minor
// unit, and every one of them is valid.
func TestEveryCurrencyRoundTrips(t *testing.T) {
	n := 0
	for _, g := range iso4217 {
		for _, code := range strings.Fields(g.codes) {
			n++
			require.True(t, ValidCurrency(code), code)
			require.Equal(t, g.digits, MinorDigits(code), code)
			m := Money{Minor: 123456, Currency: code}
			got, err := ParseMoney(m.String(), code)
			require.NoError(t, err, code)
			require.Equal(t, m, got)
		}
	}
	require.Greater(t, n, 170, "List One has some 180 codes")
}
