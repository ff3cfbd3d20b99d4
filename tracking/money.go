package tracking

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
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

// iso4217 is ISO 4217 List One as published for 2026-01-01: the codes of
// current currencies and funds, by how many decimal digits their minor unit
// has. Codes withdrawn from the list (HRK, ANG, BGN, SLL, ZWL, CUC, ...)
// and XTS and XXX (testing, no currency) are not in it.
//
// ISO 4217 gives the precious metals (XAU, XAG, XPT, XPD), the SDR (XDR),
// the Sucre (XSU), the ADB unit of account (XUA) and the bond market units
// (XBA-XBD) no minor unit. They are kept to two decimal places, the default
// of CLDR and ICU and what amounts in them have always been stored with:
// stores keep minor units, so a different scale would change the meaning of
// amounts already stored.
var iso4217 = [...]struct {
	digits int
	codes  string
}{
	{0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"},
	{2, "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD " +
		"BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP " +
		"DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF " +
		"IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL " +
		"MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR " +
		"NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP " +
		"SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD " +
		"USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG"},
	{2, "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XUA"}, // no minor unit in ISO 4217
	{3, "BHD IQD JOD KWD LYD OMR TND"},
	{4, "CLF UYW"},
}

// currencyDigits holds, for each three-letter code (by currencyIndex), 1 +
// the decimal digits of its minor unit, or 0 when it is not an ISO 4217
// code. An array indexed by the letters is faster than a map on the hot
// path, where every event with an amount looks its currency up.
var currencyDigits = func() (t [26 * 26 * 26]uint8) {
	for _, g := range iso4217 {
		for _, code := range strings.Fields(g.codes) {
			i, ok := currencyIndex(code)
			if !ok || t[i] != 0 {
				panic("tracking: bad or repeated currency " + code)
			}
			t[i] = uint8(1 + g.digits)
		}
	}
	return t
}()

// currencyIndex maps three upper-case ASCII letters to 0..26³-1.
func currencyIndex(code string) (int, bool) {
	if len(code) != 3 {
		return 0, false
	}
	i := 0
	for k := range 3 {
		c := code[k]
		if c < 'A' || c > 'Z' {
			return 0, false
		}
		i = i*26 + int(c-'A')
	}
	return i, true
}

// MinorDigits returns how many decimal digits the minor unit of currency has:
// 2 for most, 0 for JPY and KRW, 3 for KWD and BHD, 4 for CLF. It is 2 for
// codes without a minor unit in ISO 4217 (XAU, XDR, ...; see iso4217) and
// for anything that is not an ISO 4217 code.
func MinorDigits(currency string) int {
	if i, ok := currencyIndex(currency); ok && currencyDigits[i] != 0 {
		return int(currencyDigits[i]) - 1
	}
	return 2
}

// ValidCurrency reports whether code is a current ISO 4217 currency code
// (List One, funds codes included; XTS and XXX, which name no currency, are
// not), in upper case. Amounts in anything else could not be reported
// sensibly next to real currencies.
func ValidCurrency(code string) bool {
	i, ok := currencyIndex(code)
	return ok && currencyDigits[i] != 0
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
// so the noise of a few operations on amounts lies well past that bound,
// while a real sub-cent amount (a price of "0.001") never comes near it.
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
