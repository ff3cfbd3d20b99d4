package tracking

import (
	"errors"
	"math"
	"strconv"
)

// Money is an exact amount of one currency: an integer count of the
// currency's minor unit (cents for USD, yen for JPY, fils for KWD).
//
// Money never passes through float64: it is parsed from decimal text digit by
// digit and summed as integers, so one million purchases of 0.10 add up to
// exactly 100000.00.
type Money struct {
	// Minor is the amount in minor units of Currency.
	Minor int64
	// Currency is the ISO 4217 code, upper case. The zero Money (empty
	// Currency) means "no amount given".
	Currency string
}

// IsZero reports whether m is the zero Money, meaning no amount was given.
func (m Money) IsZero() bool { return m.Currency == "" && m.Minor == 0 }

// String renders m as a decimal with the currency's minor-unit digits:
// "123.45" for USD, "500" for JPY, "1.250" for KWD. The currency code is not
// included.
func (m Money) String() string { return string(m.AppendText(nil)) }

// AppendText appends the decimal text of m to b (see String).
func (m Money) AppendText(b []byte) []byte {
	return AppendDecimal(b, m.Minor, MinorDigits(m.Currency))
}

// AppendDecimal appends v, a count of 10^-digits units, as decimal text.
func AppendDecimal(b []byte, v int64, digits int) []byte {
	if v < 0 {
		b = append(b, '-')
	}
	u := uint64(v)
	if v < 0 {
		u = uint64(-v) // math.MinInt64 wraps to itself, whose uint64 is correct
	}
	if digits == 0 {
		return strconv.AppendUint(b, u, 10)
	}
	p := uint64(1)
	for range digits {
		p *= 10
	}
	b = strconv.AppendUint(b, u/p, 10)
	b = append(b, '.')
	frac := strconv.AppendUint(nil, u%p, 10)
	for range digits - len(frac) {
		b = append(b, '0')
	}
	return append(b, frac...)
}

// currencyDigits lists the ISO 4217 currencies whose minor unit is not 1/100.
var currencyDigits = map[string]int{
	// no minor unit
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	// thousandths
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// four digits
	"CLF": 4, "UYW": 4,
}

// MinorDigits returns how many decimal digits the minor unit of currency has:
// 2 for most, 0 for JPY and KRW, 3 for KWD and BHD.
func MinorDigits(currency string) int {
	if d, ok := currencyDigits[currency]; ok {
		return d
	}
	return 2
}

// ValidCurrency reports whether code has the form of an ISO 4217 code: three
// upper-case ASCII letters.
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := range 3 {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// Errors of ParseMoney. They are wrapped in *ValidationError when they come
// from an event field.
var (
	ErrDecimalSyntax = errors.New("not a decimal number")
	ErrDecimalRange  = errors.New("amount out of range")
)

// ParseMoney parses decimal text ("19.99", "-3", "1e2", "0.125") as an amount
// of currency. Digits finer than the currency's minor unit are rounded half
// away from zero, which turns the binary noise of a JavaScript client
// ("0.30000000000000004") into the amount the client meant ("0.30").
func ParseMoney(text string, currency string) (Money, error) {
	v, err := parseDecimal(text, MinorDigits(currency))
	if err != nil {
		return Money{}, err
	}
	return Money{Minor: v, Currency: currency}, nil
}

// parseDecimal parses JSON-number-like decimal text into a count of
// 10^-digits units, rounding half away from zero, without floating point.
func parseDecimal(s string, digits int) (int64, error) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	// Collect significant digits (leading zeros dropped, also those after
	// the point, so that "0.000…01e60" keeps its digit) and where the
	// decimal point sits relative to them.
	var mant [40]byte
	n := 0     // digits kept in mant
	point := 0 // the value is 0.mant × 10^point
	sawPoint := false
	sawDigit := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if n == 0 && c == '0' {
				if sawPoint {
					point--
				}
				continue
			}
			if n < len(mant) {
				mant[n] = c
				n++
			}
			// Digits beyond mant's capacity only matter when the
			// amount overflows anyway; integer ones still move the point.
			if !sawPoint {
				point++
			}
		case c == '.' && !sawPoint:
			sawPoint = true
		default:
			goto exponent
		}
	}
exponent:
	if !sawDigit {
		return 0, ErrDecimalSyntax
	}
	exp := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return 0, ErrDecimalSyntax
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return 0, ErrDecimalSyntax
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, ErrDecimalSyntax
			}
			if exp < 1e9 { // beyond any text's length: saturate
				exp = exp*10 + int(c-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if n == 0 {
		return 0, nil
	}
	// The value is 0.mant × 10^(point+exp); we want it × 10^digits. mant[0]
	// is not zero, so the loop overflows within 20 rounds if it runs long.
	whole := point + exp + digits // digits of mant that lie before the unit point
	var v uint64
	for k := 0; k < whole; k++ {
		d := uint64(0)
		if k < n {
			d = uint64(mant[k] - '0')
		}
		if v > (math.MaxInt64-d)/10 {
			return 0, ErrDecimalRange
		}
		v = v*10 + d
	}
	if whole >= 0 && whole < n && mant[whole] >= '5' {
		if v == math.MaxInt64 {
			return 0, ErrDecimalRange
		}
		v++
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}
