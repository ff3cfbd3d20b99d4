package tracking

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Money is an exact amount of one currency: an integer count of the
// currency's minor unit (cents for USD, yen for JPY, fils for KWD).
//
// Money never passes through float64: it is parsed from decimal text digit by
// digit and summed as integers, so one million purchases of 0.10 add up to
// exactly 100000.00. Parsing never rounds an amount to fit: one finer than
// the minor unit ("19.999" in USD) is refused. The exception is the float
// noise of a JSON number a client computed in binary floating point
// ("0.30000000000000004"), taken as the amount it is noise of; ParseMoney
// gives the rule.
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
	// ErrDecimalPlaces is wrapped by the error for an amount finer than its
	// currency's minor unit ("19.999" in USD), which is refused rather
	// than rounded: the stored amount would not be the one sent.
	ErrDecimalPlaces = errors.New("more decimal places than the currency allows")
)

// ParseMoney parses decimal text ("19.99", "-3", "1e2", "0.125") as an exact
// amount of currency.
//
// An amount finer than the currency's minor unit is refused with an error
// wrapping ErrDecimalPlaces ("19.999" in USD, "100.5" in JPY): rounding it
// would store another amount than the one sent. Trailing zeros are exact
// and always fine ("19.990", "1e2"). The one exception is the binary noise
// of a JSON number that a client computed in floating point, such as
// 0.1+0.2 = "0.30000000000000004" or "0.7999999999999999": digits past the
// minor unit are accepted when the amount lies within one part in 10^12 of
// a whole number of minor units (relative to the amount, or to one minor
// unit for amounts below one), and the amount is then rounded to that
// number ("0.30", "0.80"). A float64 carries about 16 significant digits,
// so its noise always passes, and a real sub-cent amount (a price of
// "0.001") never does.
//
// Digit by digit, with D the number of digits the amount has at or above
// the minor unit (D ≤ 0 for amounts under one minor unit): the first
// 12 − max(D, 0) digits past the minor unit (zeros past the end of the text
// count) must be all 0s or all 9s; when 12 − D ≤ 0, any digits past the
// minor unit are noise. The amount is then rounded to the nearest minor
// unit, half away from zero, so all 9s round up. In USD "0.001" and
// "19.999" are refused, "1e-20" is 0, and "12345678901234.567" (D = 16) is
// 1234567890123457. The arithmetic is done on the digits, never in
// floating point.
//
// A currency that is not an ISO 4217 code is parsed with two decimal
// places (see MinorDigits); whether it is one is for ValidCurrency to say.
func ParseMoney(text string, currency string) (Money, error) {
	digits := MinorDigits(currency)
	v, err := parseDecimal(text, digits)
	if err != nil {
		if errors.Is(err, ErrDecimalPlaces) {
			return Money{}, &placesError{text: text, currency: currency, digits: digits}
		}
		return Money{}, err
	}
	return Money{Minor: v, Currency: currency}, nil
}

// placesError is ParseMoney's error for an amount finer than its currency
// allows; it names the amount and the currency's number of decimals.
type placesError struct {
	text, currency string
	digits         int
}

func (e *placesError) Error() string {
	text := e.text
	if len(text) > 40 { // syntax is checked, so this is ASCII
		text = text[:37] + "..."
	}
	currency := e.currency
	if currency == "" {
		currency = "the currency"
	}
	return fmt.Sprintf("%s has more decimal places than %s allows (%d)", text, currency, e.digits)
}

func (e *placesError) Unwrap() error { return ErrDecimalPlaces }

// noiseDigits is how many digits an amount has, from its first significant
// digit on, before what follows may be float noise: one part in 10^12.
// float64 is exact to about 16 digits, so its noise lies further out.
const noiseDigits = 12

// parseDecimal parses JSON-number-like decimal text into a count of
// 10^-digits units without floating point. Finer digits are refused with
// ErrDecimalPlaces unless they are float noise (see ParseMoney), which is
// rounded half away from zero.
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
	for mant[n-1] == '0' {
		n-- // trailing zeros are exact; mant[0] is not zero
	}
	if n > whole { // a digit other than 0 lies past the minor unit
		if !floatNoise(mant[:n], whole) {
			return 0, ErrDecimalPlaces
		}
		if whole >= 0 && mant[whole] >= '5' {
			if v == math.MaxInt64 {
				return 0, ErrDecimalRange
			}
			v++
		}
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// floatNoise reports whether the digits of mant past the minor unit, which
// lies after its first whole digits (before them when whole < 0, with
// -whole zeros in between), are the noise of a binary float: the first
// noiseDigits - max(whole, 0) of them all 0s or all 9s. mant starts and
// ends with a digit other than 0, and has digits past the minor unit.
func floatNoise(mant []byte, whole int) bool {
	k := noiseDigits - max(whole, 0)
	if k <= 0 {
		return true
	}
	if whole < 0 {
		return -whole >= k // k zeros before mant[0], which is not 0
	}
	if whole+k > len(mant) {
		// The k digits reach past mant's last digit, which is not 0,
		// to the zeros after it: neither all 0s nor all 9s.
		return false
	}
	d := mant[whole]
	if d != '0' && d != '9' {
		return false
	}
	for _, c := range mant[whole+1 : whole+k] {
		if c != d {
			return false
		}
	}
	return true
}
