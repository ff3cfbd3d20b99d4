package tracking

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var currencies = [...]string{"USD", "JPY", "KWD", "CLF"}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{
		"0", "19.99", "-19.99", "0.005", "-0.005", "0.30000000000000004", "1e2",
		"19.999", "19.990000", "0.7999999999999999", "1004.9999999999999", "1e-20", "1e-14",
		"0.00999999999999", "12345678901234.565", "1.2505",
		"1.5E-1", "92233720368547758.07", "92233720368547758.075", "-9223372036854775807",
		"9223372036854775808", "1e-400", "0.0000000000000000000000000000000000000000000000001e60",
		"", ".", "-", "1e", "+.5e+3", "00000000000000000000000000000000000000000000001",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, text string, cur uint8) {
		currency := currencies[int(cur)%len(currencies)]
		m, err := ParseMoney(text, currency)
		want, wantErr := referenceDecimal(text, MinorDigits(currency))
		switch {
		case wantErr != nil:
			require.ErrorIs(t, err, wantErr, "%q", text)
		default:
			require.NoError(t, err, "%q", text)
			require.Equal(t, want, m.Minor, "%q", text)
		}
		if err != nil {
			return
		}
		// What it renders, it parses back to the same amount.
		again, err := ParseMoney(m.String(), currency)
		require.NoError(t, err)
		require.Equal(t, m, again)
	})
}

var decimalSyntax = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$`)

// referenceDecimal is ParseMoney's arithmetic done the slow, obvious way with
// math/big: the amount in minor units is q + r/d, its finer part r/d must be
// within 10^-k of 0 or of 1, k being 12 less the digits of q, and is rounded
// half away from zero.
func referenceDecimal(s string, digits int) (int64, error) {
	p := decimalSyntax.FindStringSubmatch(s)
	if p == nil || p[2]+p[3] == "" {
		return 0, ErrDecimalSyntax
	}
	mant, _ := new(big.Int).SetString(p[2]+p[3], 10)
	if mant.Sign() == 0 {
		return 0, nil
	}
	exp := new(big.Int)
	if p[4] != "" {
		exp.SetString(strings.TrimPrefix(p[4], "+"), 10)
	}
	// value = mant × 10^scale, in minor units
	scale := exp.Add(exp, big.NewInt(int64(digits-len(p[3]))))
	ten := big.NewInt(10)
	switch {
	case scale.Cmp(big.NewInt(40)) > 0:
		return 0, ErrDecimalRange // mant ≥ 1
	case scale.Sign() >= 0:
		mant.Mul(mant, new(big.Int).Exp(ten, scale, nil))
	case scale.Cmp(big.NewInt(int64(-len(p[2]+p[3])-13))) < 0:
		return 0, nil // below 10^-12 of a minor unit: noise
	default:
		d := new(big.Int).Exp(ten, new(big.Int).Neg(scale), nil)
		q, r := mant.QuoRem(mant, d, new(big.Int))
		if r.Sign() != 0 {
			k := 12
			if q.Sign() > 0 {
				k -= len(q.String())
			}
			if k > 0 {
				tenK := new(big.Int).Exp(ten, big.NewInt(int64(k)), nil)
				zeros := new(big.Int).Mul(r, tenK).Cmp(d) < 0                       // r/d < 10^-k
				nines := new(big.Int).Mul(new(big.Int).Sub(d, r), tenK).Cmp(d) <= 0 // r/d ≥ 1 - 10^-k
				if !zeros && !nines {
					return 0, ErrDecimalPlaces
				}
			}
		}
		if r.Lsh(r, 1).Cmp(d) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		mant = q
	}
	if !mant.IsInt64() || mant.Int64() == math.MinInt64 {
		return 0, ErrDecimalRange
	}
	v := mant.Int64()
	if p[1] == "-" {
		v = -v
	}
	return v, nil
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"type":"page_viewed","anonymous_id":"a"}`,
		`[{"type":"view","userId":7,"product_id":"p","price":"1.5","currency":"jpy"},1,{"type":5}]`,
		`{"batch":[{"event":"purchase","anonymousId":"a","total":10.005,"properties":{"a":[1,{"b":null}]}}],"writeKey":"k","sentAt":"2025-03-14T15:00:00Z"}`,
		"{\"type\":\"x\",\"session_id\":\"s\"}\n{\"type\":\"y\"}\n",
		`{"type":"x","anonymous_id":"a\u2028\ud800","timestamp":"2025-03-14T15:00:00.1234567+01:00","sent_at":"2025-03-14T18:00:00Z"}`,
		`{"type":"x","anonymous_id":"a","properties":{ "k" : "v" }, "quantity":"2"}`,
		`[{"type":"x","session_id":"s\ud800"},{"type":"x","session_id":"s\udbff"}]`,
		"{\"type\":\"x\",\"userId\":\"u\xff\"}", `{"type":"x","anonymous_id":"a","price":19.999,"currency":"USD"}`,
		`[]`, `{}`, ``, `nul`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, ndjson bool) {
		checkDecodeBody(t, data, ndjson)
	})
}

// checkDecodeBody decodes data and checks the promises of DecodeBody and
// Events; it returns the outcome for comparison.
func checkDecodeBody(t *testing.T, data []byte, ndjson bool) ([]Event, []Rejection) {
	b, err := DecodeBody(data, ndjson)
	if err != nil {
		require.ErrorIs(t, err, ErrBody)
		return nil, nil
	}
	require.LessOrEqual(t, b.Len(), MaxBatchLen)
	events, rejected := b.Events(NormalizeOptions{Now: testNow, ShopID: "shop1"})
	require.Equal(t, b.Len(), len(events)+len(rejected), "every index once")
	last := -1
	for _, r := range rejected {
		require.Greater(t, r.Index, last)
		require.Less(t, r.Index, b.Len())
		last = r.Index
		var ve *ValidationError
		require.ErrorAs(t, r.Err, &ve)
	}
	for _, e := range events {
		require.NoError(t, Validate(&e))
		out := e.AppendJSON(nil)
		require.True(t, json.Valid(out), "%s", out)
		got, err := DecodeStored(out)
		require.NoError(t, err, "%s", out)
		requireSameEvent(t, e, got)
	}
	return events, rejected
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("id", "name", "https://x/?a=1&b=2", `{"a":1}`)
	f.Add("\"\\", "\x00\x1f\x7f", "\u2028\u2029", `{"a":"\u2028"}`)
	f.Add("\xff", "\xed\xa0\x80", "日本😀", `{}`)
	f.Fuzz(func(t *testing.T, id, name, url, props string) {
		e := fullEvent()
		e.ID, e.ProductName, e.URL, e.Category = id, name, url, name+url
		e.Properties = nil
		if json.Valid([]byte(props)) && strings.HasPrefix(strings.TrimSpace(props), "{") {
			var buf bytes.Buffer
			require.NoError(t, json.Compact(&buf, []byte(props)))
			e.Properties = buf.Bytes()
		}
		out := e.AppendJSON(nil)
		require.True(t, json.Valid(out), "%s", out)
		got, err := DecodeStored(out)
		require.NoError(t, err)
		want := e
		want.ID, want.ProductName, want.URL, want.Category = viaJSON(id), viaJSON(name), viaJSON(url), viaJSON(name+url)
		requireSameEvent(t, want, got)
		marshalled, err := json.Marshal(e)
		require.NoError(t, err)
		var escaped bytes.Buffer
		json.HTMLEscape(&escaped, out)
		require.Equal(t, escaped.String(), string(marshalled))
	})
}

// viaJSON is what s becomes after encoding/json encodes and decodes it.
func viaJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// FuzzExceeds checks the element count that refuses an over-long body
// against encoding/json, with small limits (of at least one, as
// MaxBatchLen is): for valid JSON, exceeds is
// true exactly when the top-level array, or the array of a top-level key
// encoding/json takes for "batch", has more elements than allowed.
func FuzzExceeds(f *testing.F) {
	for _, s := range []string{
		`[]`, `[0]`, `[0,1]`, `[0,[1,2,3],{"a":[4,5]},"6,7"]`, `[" \" ,]", 1, 2]`,
		`{"batch":[1,2,3]}`, `{"a":[1,2,3],"batch":[1]}`, `{"BaTcH":[1,2,3]}`, `{"b\u0061tch":[1,2,3]}`,
		`{"batch":[1,2,3],"batch":[]}`, `{"batch":{"a":1,"b":2,"c":3}}`, `{"x":"\"batch\":[1,2,3]"}`, `{}`, `0`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			return
		}
		if !json.Valid(data) {
			for max := 1; max <= 3; max++ {
				require.False(t, exceeds(data, max), "%q is not JSON", data)
			}
			return
		}
		longest := 0
		var items []json.RawMessage
		switch data[0] {
		case '[':
			require.NoError(t, json.Unmarshal(data, &items))
			longest = len(items)
		case '{':
			dec := json.NewDecoder(bytes.NewReader(data))
			_, err := dec.Token()
			require.NoError(t, err)
			for dec.More() {
				key, err := dec.Token()
				require.NoError(t, err)
				var v json.RawMessage
				require.NoError(t, dec.Decode(&v))
				if strings.EqualFold(key.(string), "batch") && v[0] == '[' {
					require.NoError(t, json.Unmarshal(v, &items))
					longest = max(longest, len(items))
				}
			}
		}
		for max := 1; max <= 3; max++ {
			require.Equal(t, longest > max, exceeds(data, max), "%q with at most %d", data, max)
		}
	})
}
